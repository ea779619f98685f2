// The ceiling: the stream cipher alone, as each side runs it on every byte.
#include <cstdint>
#include <vector>

#include "benchmarks.h"
#include "common.h"
#include "v1/stream_cipher.h"

namespace bench {
namespace {

// One pass with one fingerprint, as the client runs it both ways: the figure
// every throughput ratio divides by.
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
  if (n == kCeilingBlock && seconds > 0) set_cipher_ceiling(static_cast<double>(bytes) / seconds);
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

}  // namespace

void register_cipher_benchmarks() {
  // Every ratio divides by the ceiling: give it a longer run than the rest.
  benchmark::RegisterBenchmark("BM_CipherPass", BM_CipherPass)->Arg(kCeilingBlock)->MinTime(1.0);
  benchmark::RegisterBenchmark("BM_CipherPassTwoFingerprints", BM_CipherPassTwoFingerprints)
      ->Arg(kCeilingBlock)
      ->MinTime(1.0);
}

}  // namespace bench
