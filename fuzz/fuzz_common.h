// Shared pieces of the fuzz targets: a fixed random source (so an input
// replays the same way every time) and a manual clock.
#ifndef SC_FUZZ_COMMON_H
#define SC_FUZZ_COMMON_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "stable_connection.h"
#include "stable_connection_testing.h"

namespace fuzz {

struct FixedRandom {
  uint64_t server = 0, client = 0;
  static uint64_t next(void *p) {
    uint64_t &s = *static_cast<uint64_t *>(p);
    s += 0x9e3779b97f4a7c15ull;
    uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  FixedRandom() : client(1ull << 40) {
    sc_testing_set_random(SC_RANDOM_SERVER, next, &server);
    sc_testing_set_random(SC_RANDOM_CLIENT, next, &client);
  }
  ~FixedRandom() {
    sc_testing_set_random(SC_RANDOM_SERVER, nullptr, nullptr);
    sc_testing_set_random(SC_RANDOM_CLIENT, nullptr, nullptr);
  }
};

// The pool's version 2 key in every target and seed, so that recorded
// version 2 exchanges replay (with FixedRandom's draws) and their records
// verify.
inline const uint8_t *server_private_key() {
  static uint8_t key[SC_KEY_SIZE];
  for (int k = 0; k < SC_KEY_SIZE; ++k) key[k] = static_cast<uint8_t>(0x11 * (k + 1));
  return key;
}
// False in a build without version 2.
inline bool server_public_key(uint8_t out[SC_KEY_SIZE]) { return sc_public_key(server_private_key(), out) == SC_OK; }

struct Clock {
  uint64_t now = 1000;
  static uint64_t read(void *p) { return static_cast<Clock *>(p)->now; }
};

// An invariant broke: report and crash so the fuzzer keeps the input.
[[noreturn]] inline void violation(const char *what) {
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

// Reads the fuzz input as a sequence of small records.
class Reader {
 public:
  Reader(const uint8_t *data, size_t size) : p_(data), end_(data + size) {}
  bool done() const { return p_ >= end_; }
  uint8_t byte() { return done() ? 0 : *p_++; }
  // Up to n bytes; fewer at the end of the input.
  size_t take(size_t n, const uint8_t **out) {
    const size_t left = static_cast<size_t>(end_ - p_);
    if (n > left) n = left;
    *out = p_;
    p_ += n;
    return n;
  }

 private:
  const uint8_t *p_;
  const uint8_t *end_;
};

}  // namespace fuzz

#endif
