// The source of private keys and challenges: the kernel's CSPRNG, unless a
// test installed its own (stable_connection_testing.h).
#ifndef SC_BASE_RANDOM_H
#define SC_BASE_RANDOM_H

#include <cstddef>
#include <cstdint>

namespace sc {

enum class RandomSide { kServer = 0, kClient = 1 };

using RandomFn = uint64_t (*)(void *user_data);

// Throws std::runtime_error when the operating system gives no randomness.
uint64_t random_u64(RandomSide side);

// A nonzero value, as DH private keys must be.
uint64_t random_nonzero_u64(RandomSide side);

// Fills `p` with n random bytes, taken 8 at a time (little-endian) from the
// same source as random_u64, so that tests inject bytes through it too.
void random_fill(RandomSide side, uint8_t *p, size_t n);

void set_random_source(RandomSide side, RandomFn fn, void *user_data);

}  // namespace sc

#endif
