// Diffie-Hellman over the prime field P = 2^64 - 59 with generator 5, as used
// by protocol version 1. 64 bits give obfuscation, not security.
#ifndef SC_V1_DH64_H
#define SC_V1_DH64_H

#include <cstdint>

namespace sc {
namespace dh64 {

constexpr uint64_t kPrime = 0xffffffffffffffc5ull;  // 2^64 - 59
constexpr uint64_t kGenerator = 5;

// (a * b) mod P for a, b < P.
uint64_t mul_mod(uint64_t a, uint64_t b);

// The same without a 128-bit integer type; mul_mod is this on targets that
// lack one. Exposed so that 64-bit builds test it too.
uint64_t mul_mod_portable(uint64_t a, uint64_t b);

// base^exp mod P. Any base (it is reduced first); exp 0 gives 1.
uint64_t pow_mod(uint64_t base, uint64_t exp);

// G^private_key mod P, from a precomputed table of powers of G.
uint64_t public_key(uint64_t private_key);

inline uint64_t shared_secret(uint64_t other_public, uint64_t private_key) {
  return pow_mod(other_public, private_key);
}

}  // namespace dh64
}  // namespace sc

#endif
