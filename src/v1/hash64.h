// hash64: the 64-bit keyed digest of protocol version 1 (the reference called
// it "hmac"). One MD5 compression without the final feed-forward.
#ifndef SC_V1_HASH64_H
#define SC_V1_HASH64_H

#include <cstdint>

namespace sc {

uint64_t hash64(uint64_t x, uint64_t y);

// Compares two auth codes in time independent of where they differ.
inline bool codes_equal(uint64_t a, uint64_t b) {
  volatile uint64_t diff = a ^ b;
  return diff == 0;
}

}  // namespace sc

#endif
