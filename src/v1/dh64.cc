#include "v1/dh64.h"

namespace sc {
namespace dh64 {
namespace {

// 2^64 = 59 (mod P), so the high half of a product folds back in times 59.
constexpr uint64_t kFold = 59;

struct Wide {
  uint64_t hi, lo;
};

// The full 128-bit product from 32-bit halves, for targets without a 128-bit
// integer type (32-bit ARM and x86).
Wide mul_wide_halves(uint64_t a, uint64_t b) {
  const uint64_t a0 = a & 0xffffffffu, a1 = a >> 32;
  const uint64_t b0 = b & 0xffffffffu, b1 = b >> 32;
  const uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
  return Wide{p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32), (p00 & 0xffffffffu) | (mid << 32)};
}

#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 u128;
Wide mul_wide(uint64_t a, uint64_t b) {
  const u128 t = static_cast<u128>(a) * b;
  return Wide{static_cast<uint64_t>(t >> 64), static_cast<uint64_t>(t)};
}
#else
Wide mul_wide(uint64_t a, uint64_t b) { return mul_wide_halves(a, b); }
#endif

// t = hi * 2^64 + lo = lo + hi * 59 (mod P), folded until it fits 64 bits.
template <Wide (*Multiply)(uint64_t, uint64_t)>
uint64_t reduce(Wide t) {
  const Wide folded = Multiply(t.hi, kFold);  // folded.hi < 59
  const uint64_t sum = t.lo + folded.lo;
  const uint64_t top = folded.hi + (sum < t.lo ? 1 : 0);  // < 60
  uint64_t x = sum + top * kFold;
  if (x < sum) x += kFold;  // wrapped past 2^64: x is small, adding 59 cannot wrap
  if (x >= kPrime) x -= kPrime;
  return x;
}

}  // namespace

uint64_t mul_mod(uint64_t a, uint64_t b) { return reduce<mul_wide>(mul_wide(a, b)); }

uint64_t mul_mod_portable(uint64_t a, uint64_t b) { return reduce<mul_wide_halves>(mul_wide_halves(a, b)); }

uint64_t pow_mod(uint64_t base, uint64_t exp) {
  base %= kPrime;
  // Fixed 4-bit window: 16 precomputed powers, then 4 squarings and at most one
  // multiplication per nibble, from the most significant end.
  uint64_t table[16];
  table[0] = 1;
  for (int i = 1; i < 16; ++i) table[i] = mul_mod(table[i - 1], base);
  uint64_t result = 1;
  for (int shift = 60; shift >= 0; shift -= 4) {
    result = mul_mod(result, result);
    result = mul_mod(result, result);
    result = mul_mod(result, result);
    result = mul_mod(result, result);
    unsigned nibble = static_cast<unsigned>(exp >> shift) & 0xf;
    if (nibble) result = mul_mod(result, table[nibble]);
  }
  return result;
}

namespace {

// Fixed-base table for the generator: kGeneratorPowers[i][d] = G^(d * 16^i).
// A public key is then one product of 16 table entries, no squarings.
struct GeneratorTable {
  uint64_t powers[16][16];
  GeneratorTable() {
    uint64_t base = kGenerator;  // G^(16^i)
    for (int i = 0; i < 16; ++i) {
      powers[i][0] = 1;
      for (int d = 1; d < 16; ++d) powers[i][d] = mul_mod(powers[i][d - 1], base);
      base = mul_mod(powers[i][15], base);
    }
  }
};

}  // namespace

uint64_t public_key(uint64_t private_key) {
  static const GeneratorTable table;
  uint64_t result = 1;
  for (int i = 0; i < 16; ++i) {
    const unsigned digit = static_cast<unsigned>(private_key >> (4 * i)) & 0xf;
    if (digit) result = mul_mod(result, table.powers[i][digit]);
  }
  return result;
}

}  // namespace dh64
}  // namespace sc
