// The fixed yardstick of version 1's throughput: the version 1 cipher written
// the plain way, as anyone would first write it (a byte S-box, one keystream
// byte and one fingerprint step per loop turn), kept here unchanged so that
// the library's figures are compared with the same thing in every run. It is
// not the library's code; the suite checks once that both produce the same
// bytes and fingerprint, so that the comparison is of equal work.
#ifndef SC_BENCH_YARDSTICK_V1_H
#define SC_BENCH_YARDSTICK_V1_H

#include <cstddef>
#include <cstdint>

namespace bench {

class YardstickCipher {
 public:
  // Keyed as version 1 keys its cipher: S-box entry n is n plus byte n mod 8
  // (little-endian) of hash64(key, 0).
  explicit YardstickCipher(uint64_t key);

  uint32_t initial_fingerprint() const { return initial_fingerprint_; }

  // out[k] = in[k] ^ keystream; *fp steps over each output byte.
  void pass(const uint8_t *in, uint8_t *out, size_t n, uint32_t *fp);

 private:
  uint8_t s_[256];
  uint8_t i_ = 0;
  uint8_t j_ = 0;
  uint32_t initial_fingerprint_ = 0;
};

// False (with a message) when the yardstick and the library's cipher disagree
// on a test stream.
bool yardstick_matches_library(const char **why);

}  // namespace bench

#endif
