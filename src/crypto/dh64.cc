#include "crypto/dh64.h"

namespace sc {
namespace dh64 {
namespace {

__extension__ typedef unsigned __int128 u128;

// 2^64 = 59 (mod P), so the high half of a product folds back in times 59.
constexpr uint64_t kFold = 59;

uint64_t reduce128(u128 t) {
  u128 r = static_cast<u128>(static_cast<uint64_t>(t)) + static_cast<u128>(static_cast<uint64_t>(t >> 64)) * kFold;
  // r < 2^70 now; one more fold leaves r < 2^64 + 2^12.
  r = static_cast<u128>(static_cast<uint64_t>(r)) + static_cast<u128>(static_cast<uint64_t>(r >> 64)) * kFold;
  uint64_t x = static_cast<uint64_t>(r);
  if (r >> 64) x += kFold;  // r - 2^64 + 59, small: cannot overflow
  if (x >= kPrime) x -= kPrime;
  return x;
}

}  // namespace

uint64_t mul_mod(uint64_t a, uint64_t b) { return reduce128(static_cast<u128>(a) * b); }

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
