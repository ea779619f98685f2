// The ceilings: version 1's cipher as the plain yardstick runs it and as the
// library runs it on every byte, and version 2's primitives.
#include <cstdint>
#include <vector>

#include "benchmarks.h"
#include "common.h"
#include "v1/stream_cipher.h"
#include "yardstick_v1.h"
#ifdef SC_WITH_V2
#include "crypto/primitives.h"
#include "v2/wire.h"
#endif

namespace bench {
namespace {

// The ceiling every version 1 throughput ratio divides by: one pass of the
// plain yardstick implementation with one fingerprint.
void BM_YardstickPass(benchmark::State &state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const char *why = nullptr;
  if (!yardstick_matches_library(&why)) {
    fail(state, why);
    return;
  }
  YardstickCipher cipher(0x0123456789abcdefull);
  std::vector<uint8_t> in(payload(n), payload(n) + n);
  std::vector<uint8_t> out(n);
  uint32_t fp = cipher.initial_fingerprint();
  const double t0 = thread_cpu_seconds();
  for (auto _ : state) {
    cipher.pass(in.data(), out.data(), n, &fp);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double seconds = thread_cpu_seconds() - t0;
  benchmark::DoNotOptimize(fp);
  const uint64_t bytes = static_cast<uint64_t>(state.iterations()) * n;
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  if (n == kCeilingBlock && seconds > 0) set_cipher_ceiling(static_cast<double>(bytes) / seconds);
}

// The library's own cipher, one pass with one fingerprint, as the client runs
// it on what it receives.
void BM_CipherPass(benchmark::State &state) {
  const size_t n = static_cast<size_t>(state.range(0));
  sc::StreamCipher cipher(0x0123456789abcdefull);
  std::vector<uint8_t> in(payload(n), payload(n) + n);
  std::vector<uint8_t> out(n);
  uint32_t fp = cipher.initial_fingerprint();
  const double t0 = thread_cpu_seconds();
  for (auto _ : state) {
    cipher.apply(in.data(), out.data(), n, nullptr, &fp);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double seconds = thread_cpu_seconds() - t0;
  benchmark::DoNotOptimize(fp);
  const uint64_t bytes = static_cast<uint64_t>(state.iterations()) * n;
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  if (seconds > 0) state.counters["ratio_to_yardstick"] = static_cast<double>(bytes) / seconds / cipher_ceiling();
}

// One pass with both fingerprints (input and output), as the server runs it
// on what it sends: it records the ciphertext and the plaintext forms.
void BM_CipherPassTwoFingerprints(benchmark::State &state) {
  const size_t n = static_cast<size_t>(state.range(0));
  sc::StreamCipher cipher(0x0123456789abcdefull);
  std::vector<uint8_t> in(payload(n), payload(n) + n);
  std::vector<uint8_t> out(n);
  uint32_t fp_in = cipher.initial_fingerprint();
  uint32_t fp_out = fp_in;
  for (auto _ : state) {
    cipher.apply(in.data(), out.data(), n, &fp_in, &fp_out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(fp_in);
  benchmark::DoNotOptimize(fp_out);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

#ifdef SC_WITH_V2
// Version 2's ceilings: one ChaCha20-Poly1305 seal of an n-byte plaintext in
// place (as a record is sealed), through the library's own wrapper of
// libcrypto; and one X25519 operation.

// Seals n bytes with ad_len bytes of associated data per iteration; the CPU
// seconds it took, or a negative value if the benchmark failed.
double seal_loop(benchmark::State &state, size_t n, size_t ad_len) {
  sc::crypto::Aead aead;
  uint8_t key[sc::crypto::kKeySize];
  for (size_t k = 0; k < sizeof key; ++k) key[k] = static_cast<uint8_t>(k * 7 + 1);
  if (!aead.set_key(key)) {
    fail(state, "no AEAD context");
    return -1;
  }
  std::vector<uint8_t> buf(payload(ad_len + n), payload(ad_len + n) + ad_len + n);
  buf.resize(ad_len + n + sc::crypto::kTagSize);
  uint8_t *const text = buf.data() + ad_len;
  uint64_t nonce = 0;
  bool ok = true;
  const double t0 = thread_cpu_seconds();
  for (auto _ : state) {
    ok &= aead.seal(nonce++, buf.data(), ad_len, text, n, text);
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  const double seconds = thread_cpu_seconds() - t0;
  if (!ok) {
    fail(state, "a seal failed");
    return -1;
  }
  return seconds;
}

void BM_AeadSeal(benchmark::State &state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const double seconds = seal_loop(state, n, 0);
  if (seconds < 0) return;
  const uint64_t bytes = static_cast<uint64_t>(state.iterations()) * n;
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  if (seconds > 0) set_aead_ceiling(n, static_cast<double>(bytes) / seconds);
}

// The record that carries an acknowledgement alone, sealed as the data path
// seals it (its header as associated data, one ACK frame): what the contract
// adds to every input that carried data when nothing else goes back. The
// version 2 bulk rows' ceiling for their loop, one message per input, follows
// from it and the seal of their own size.
void BM_AeadSealAck(benchmark::State &state) {
  const double seconds = seal_loop(state, sc::v2::kAckSize, sc::v2::kRecordHeaderSize);
  if (seconds < 0) return;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_X25519(benchmark::State &state) {
  uint8_t priv[sc::crypto::kDhSize], peer[sc::crypto::kDhSize], out[sc::crypto::kDhSize];
  for (size_t k = 0; k < sizeof priv; ++k) priv[k] = static_cast<uint8_t>(k + 3);
  sc::crypto::x25519_public(priv, peer);
  bool ok = true;
  const double t0 = thread_cpu_seconds();
  for (auto _ : state) {
    ok &= sc::crypto::x25519(priv, peer, out);
    benchmark::DoNotOptimize(out);
  }
  const double seconds = thread_cpu_seconds() - t0;
  if (!ok) {
    fail(state, "an X25519 operation failed");
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  if (seconds > 0) set_x25519_rate(static_cast<double>(state.iterations()) / seconds);
}

// X25519 through libcrypto alone (BareX25519): each iteration is one
// EVP_PKEY_derive, a single scalar multiplication. The library's primitive
// above imports its keys for every operation, and an imported private key
// needs its public key computed too.
void BM_X25519Bare(benchmark::State &state) {
  BareX25519 x;
  for (auto _ : state)
    if (!x.derive()) break;
  if (!x.ok()) {
    fail(state, "an X25519 operation failed");
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
#endif

}  // namespace

void register_cipher_benchmarks() {
  // Every ratio divides by the ceiling: give it a longer run than the rest.
  benchmark::RegisterBenchmark("BM_YardstickPass", BM_YardstickPass)->Arg(kCeilingBlock)->MinTime(1.0);
  benchmark::RegisterBenchmark("BM_CipherPass", BM_CipherPass)->Arg(kCeilingBlock)->MinTime(0.5);
  benchmark::RegisterBenchmark("BM_CipherPassTwoFingerprints", BM_CipherPassTwoFingerprints)
      ->Arg(kCeilingBlock)
      ->MinTime(1.0);
#ifdef SC_WITH_V2
  for (int n : {64, 1024, 4096, 16384, 65536})
    benchmark::RegisterBenchmark("BM_AeadSeal", BM_AeadSeal)->Arg(n)->MinTime(0.5);
  benchmark::RegisterBenchmark("BM_AeadSealAck", BM_AeadSealAck)->MinTime(0.5);
  benchmark::RegisterBenchmark("BM_X25519", BM_X25519)->MinTime(0.5);
  benchmark::RegisterBenchmark("BM_X25519Bare", BM_X25519Bare)->MinTime(0.5);
#endif
}

}  // namespace bench
