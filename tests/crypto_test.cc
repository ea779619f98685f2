// The primitives of protocol version 1 against values recorded from the
// reference implementation (tests/data/legacy_primitives.json).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "v1/dh64.h"
#include "v1/hash64.h"
#include "v1/stream_cipher.h"
#include "json.h"

namespace {

using testjson::hex_bytes;
using testjson::hex_u64;

const testjson::Value &primitives() {
  static const testjson::Value v = testjson::load_file(std::string(SC_TEST_DATA_DIR) + "/legacy_primitives.json");
  return v;
}

TEST(Dh64, MatchesReferenceVectors) {
  const auto &cases = primitives()["dh64"]["cases"];
  ASSERT_GT(cases.size(), 10u);
  for (size_t k = 0; k < cases.size(); ++k) {
    const auto &c = cases[k];
    EXPECT_EQ(sc::dh64::pow_mod(hex_u64(c["base"].str()), hex_u64(c["exp"].str())), hex_u64(c["result"].str()))
        << "case " << k << ": " << c["base"].str() << " ^ " << c["exp"].str();
  }
}

TEST(Dh64, ZeroExponentIsOneAndTerminates) {
  EXPECT_EQ(sc::dh64::pow_mod(5, 0), 1u);
  EXPECT_EQ(sc::dh64::pow_mod(0, 0), 1u);
  EXPECT_EQ(sc::dh64::pow_mod(0, 7), 0u);
}

// (a * b) mod P by doubling and adding, one bit of b at a time: slow, but
// needs nothing wider than 64 bits and shares nothing with the code under test.
static uint64_t slow_mul_mod(uint64_t a, uint64_t b) {
  const uint64_t p = sc::dh64::kPrime;
  auto add = [p](uint64_t x, uint64_t y) {
    const uint64_t s = x + y;
    return (s < x || s >= p) ? s - p : s;
  };
  a %= p;
  uint64_t r = 0;
  for (int bit = 63; bit >= 0; --bit) {
    r = add(r, r);
    if ((b >> bit) & 1) r = add(r, a);
  }
  return r;
}

TEST(Dh64, MulModAgreesWithSlowReduction) {
  const uint64_t p = sc::dh64::kPrime;
  std::vector<uint64_t> samples = {0, 1, 2, 58, 59, 60, 0xffffffffull, 0x100000000ull, p - 1, p - 2,
                                   0x8000000000000000ull, 0x123456789abcdefull, 0xfedcba9876543210ull % p};
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 200; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    samples.push_back(x % p);
  }
  for (uint64_t a : samples) {
    for (uint64_t b : samples) {
      const uint64_t want = slow_mul_mod(a, b);
      ASSERT_EQ(sc::dh64::mul_mod(a, b), want) << a << " * " << b;
      ASSERT_EQ(sc::dh64::mul_mod_portable(a, b), want) << a << " * " << b;
    }
  }
}

TEST(Dh64, PublicKeyTableAgreesWithExponentiation) {
  uint64_t x = 0x0123456789abcdefull;
  for (int k = 0; k < 200; ++k) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    ASSERT_EQ(sc::dh64::public_key(x), sc::dh64::pow_mod(sc::dh64::kGenerator, x)) << std::hex << x;
  }
  EXPECT_EQ(sc::dh64::public_key(0), 1u);
  EXPECT_EQ(sc::dh64::public_key(~0ull), sc::dh64::pow_mod(5, ~0ull));
}

TEST(Dh64, KeyExchangeAgrees) {
  const uint64_t a = 0x1234567890abcdefull, b = 0x0fedcba987654321ull;
  EXPECT_EQ(sc::dh64::shared_secret(sc::dh64::public_key(a), b), sc::dh64::shared_secret(sc::dh64::public_key(b), a));
}

TEST(Hash64, MatchesReferenceVectors) {
  const auto &cases = primitives()["hash64"];
  ASSERT_GT(cases.size(), 10u);
  for (size_t k = 0; k < cases.size(); ++k) {
    const auto &c = cases[k];
    EXPECT_EQ(sc::hash64(hex_u64(c["x"].str()), hex_u64(c["y"].str())), hex_u64(c["result"].str()))
        << "case " << k;
  }
}

TEST(StreamCipher, MatchesReferenceVectors) {
  const auto &cases = primitives()["stream"];
  ASSERT_GT(cases.size(), 0u);
  for (size_t k = 0; k < cases.size(); ++k) {
    const auto &c = cases[k];
    const uint64_t key = hex_u64(c["key"].str());
    const std::vector<uint8_t> plain = hex_bytes(c["plaintext"].str());
    const std::vector<uint8_t> cipher = hex_bytes(c["ciphertext"].str());
    ASSERT_EQ(plain.size(), cipher.size());

    sc::StreamCipher enc(key), dec(key);
    EXPECT_EQ(enc.initial_fingerprint(), static_cast<uint32_t>(hex_u64(c["initial_fingerprint"].str())));

    std::vector<uint8_t> out(plain.size()), back(plain.size());
    enc.apply(plain.data(), out.data(), plain.size());
    EXPECT_EQ(out, cipher) << "case " << k;
    dec.apply(cipher.data(), back.data(), cipher.size());
    EXPECT_EQ(back, plain) << "case " << k;

    // Fingerprints over each form at the recorded positions, computed with
    // the cipher's own tracking (one byte at a time, to cross every boundary).
    const auto &positions = c["fingerprint_positions"];
    sc::StreamCipher tracker(key);
    uint32_t fp_plain = tracker.initial_fingerprint(), fp_cipher = fp_plain;
    size_t done = 0;
    for (size_t p = 0; p < positions.size(); ++p) {
      const size_t upto = static_cast<size_t>(positions[p].number);
      std::vector<uint8_t> tmp(upto - done);
      tracker.apply(plain.data() + done, tmp.data(), upto - done, &fp_plain, &fp_cipher);
      done = upto;
      EXPECT_EQ(fp_cipher, static_cast<uint32_t>(hex_u64(c["fingerprint_over_ciphertext"][p].str())))
          << "case " << k << " at " << upto;
      EXPECT_EQ(fp_plain, static_cast<uint32_t>(hex_u64(c["fingerprint_over_plaintext"][p].str())))
          << "case " << k << " at " << upto;
    }
  }
}

// The fingerprint by its definition, one byte at a time.
uint32_t fingerprint_by_definition(uint32_t f, const uint8_t *data, size_t n) {
  for (size_t k = 0; k < n; ++k) f = ((f << 4) | (f >> 28)) ^ data[k];
  return f;
}

TEST(Fingerprint, AnyLengthAndAlignmentMatchesTheDefinition) {
  std::vector<uint8_t> data(600);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto &b : data) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    b = static_cast<uint8_t>(x >> 56);
  }
  for (size_t start = 0; start < 16; ++start) {
    for (size_t n = 0; n + start <= 300; ++n) {
      const uint32_t f0 = 0x12345678u + static_cast<uint32_t>(n);
      ASSERT_EQ(sc::fingerprint_update(f0, data.data() + start, n),
                fingerprint_by_definition(f0, data.data() + start, n))
          << "start " << start << " length " << n;
    }
  }
  // Runs of any sizes chain like one run.
  uint32_t chained = 7, whole = fingerprint_by_definition(7, data.data(), data.size());
  for (size_t at = 0; at < data.size();) {
    const size_t n = std::min<size_t>(data.size() - at, 1 + (at * 5) % 37);
    chained = sc::fingerprint_update(chained, data.data() + at, n);
    at += n;
  }
  EXPECT_EQ(chained, whole);
}

TEST(StreamCipher, FingerprintsInPlaceAndApartTrackBothForms) {
  std::vector<uint8_t> plain(777);
  for (size_t k = 0; k < plain.size(); ++k) plain[k] = static_cast<uint8_t>(k * 31 + 5);
  sc::StreamCipher a(99), b(99);
  std::vector<uint8_t> cipher(plain.size());
  uint32_t fa_in = 1, fa_out = 2;
  // Odd piece sizes, so that word and byte paths meet at every offset.
  for (size_t at = 0; at < plain.size();) {
    const size_t n = std::min<size_t>(plain.size() - at, 1 + (at * 3) % 29);
    a.apply(plain.data() + at, cipher.data() + at, n, &fa_in, &fa_out);
    at += n;
  }
  EXPECT_EQ(fa_in, fingerprint_by_definition(1, plain.data(), plain.size()));
  EXPECT_EQ(fa_out, fingerprint_by_definition(2, cipher.data(), cipher.size()));
  std::vector<uint8_t> buf = plain;
  uint32_t fb_in = 1;
  b.apply(buf.data(), buf.data(), buf.size(), &fb_in, nullptr);  // in place: the input's fingerprint
  EXPECT_EQ(fb_in, fa_in);
  EXPECT_EQ(buf, cipher);
}

// The cipher by its definition, one byte at a time with the S-box in memory.
class PlainStreamCipher {
 public:
  explicit PlainStreamCipher(uint64_t key) {
    const uint64_t k = sc::hash64(key, 0);
    for (unsigned n = 0; n < 256; ++n) s_[n] = static_cast<uint8_t>(n + (k >> (8 * (n % 8))));
  }
  uint8_t next() {
    i_ = static_cast<uint8_t>(i_ + 1);
    const uint8_t a = s_[i_];
    j_ = static_cast<uint8_t>(j_ + a);
    const uint8_t b = s_[j_];
    s_[i_] = b;
    s_[j_] = a;
    return s_[static_cast<uint8_t>(a + b)];
  }

 private:
  uint8_t s_[256];
  uint8_t i_ = 0, j_ = 0;
};

// Long streams in pieces of every size class, from keys whose S-boxes make
// swaps land one and two cells ahead of i (what the cipher reads ahead) many
// times over.
TEST(StreamCipher, LongStreamsMatchTheDefinition) {
  for (uint64_t key : {0ull, 1ull, 42ull, 0x0123456789abcdefull, ~0ull}) {
    sc::StreamCipher cipher(key);
    PlainStreamCipher plain(key);
    std::vector<uint8_t> in(200000), out(in.size());
    for (size_t k = 0; k < in.size(); ++k) in[k] = static_cast<uint8_t>(k * 13 + (k >> 9));
    for (size_t at = 0; at < in.size();) {
      const size_t n = std::min<size_t>(in.size() - at, 1 + (at * 7919) % 5000);
      cipher.apply(in.data() + at, out.data() + at, n);
      at += n;
    }
    for (size_t k = 0; k < in.size(); ++k)
      ASSERT_EQ(out[k], static_cast<uint8_t>(in[k] ^ plain.next())) << "key " << key << " byte " << k;
  }
}

// A wide state taken over several pieces, some of them tiny, hands the
// stream back to the cipher where it stopped; the fingerprints match those
// of the byte state.
TEST(StreamCipher, WideStateContinuesTheStream) {
  for (uint64_t key : {3ull, 0xfedcba9876543210ull}) {
    sc::StreamCipher cipher(key), bytes(key);
    PlainStreamCipher plain(key);
    std::vector<uint8_t> in(60000), out(in.size()), ref(in.size());
    for (size_t k = 0; k < in.size(); ++k) in[k] = static_cast<uint8_t>(k * 31 + (k >> 7));
    uint32_t fp_in = 5, fp_out = 7, ref_in = 5, ref_out = 7;
    size_t at = 0;
    for (int round = 0; at < in.size(); ++round) {
      // Alternately a wide run of pieces of 1 to 300 bytes and a direct
      // piece of under kWideRun bytes.
      if (round % 2 == 0) {
        sc::StreamCipher::Wide wide(cipher);
        for (int p = 0; p < 40 && at < in.size(); ++p) {
          const size_t n = std::min<size_t>(in.size() - at, 1 + (at * 131) % 300);
          wide.apply(in.data() + at, out.data() + at, n, &fp_in, &fp_out);
          at += n;
        }
      } else {
        const size_t n = std::min<size_t>(in.size() - at, 1 + (at * 17) % (sc::StreamCipher::kWideRun - 1));
        cipher.apply(in.data() + at, out.data() + at, n, &fp_in, &fp_out);
        at += n;
      }
    }
    // The byte state alone, in pieces too short for the wide one.
    for (size_t k = 0; k < in.size(); k += 100) {
      const size_t n = std::min<size_t>(in.size() - k, 100);
      bytes.apply(in.data() + k, ref.data() + k, n, &ref_in, &ref_out);
    }
    EXPECT_EQ(out, ref) << "key " << key;
    EXPECT_EQ(fp_in, ref_in);
    EXPECT_EQ(fp_out, ref_out);
    for (size_t k = 0; k < in.size(); ++k)
      ASSERT_EQ(out[k], static_cast<uint8_t>(in[k] ^ plain.next())) << "key " << key << " byte " << k;
  }
}

TEST(StreamCipher, InPlaceAndSplitEqualWhole) {
  std::vector<uint8_t> data(1000);
  for (size_t k = 0; k < data.size(); ++k) data[k] = static_cast<uint8_t>(k * 7 + 3);
  sc::StreamCipher whole(42), split(42);
  std::vector<uint8_t> a(data.size()), b = data;
  whole.apply(data.data(), a.data(), data.size());
  for (size_t at = 0; at < b.size();) {
    const size_t n = std::min<size_t>(b.size() - at, 1 + at % 13);
    split.apply(b.data() + at, b.data() + at, n);
    at += n;
  }
  EXPECT_EQ(a, b);
}

}  // namespace
