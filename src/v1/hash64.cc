#include "v1/hash64.h"

#include <md5.h>

namespace sc {
namespace {

constexpr uint32_t kMd5Init[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};

void store_le32(uint8_t *p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

}  // namespace

uint64_t hash64(uint64_t x, uint64_t y) {
  const uint32_t words[4] = {static_cast<uint32_t>(x >> 32), static_cast<uint32_t>(x),
                             static_cast<uint32_t>(y >> 32), static_cast<uint32_t>(y)};
  uint8_t block[64];
  for (int i = 0; i < 16; ++i) store_le32(block + 4 * i, words[i % 4]);
  uint32_t state[4] = {kMd5Init[0], kMd5Init[1], kMd5Init[2], kMd5Init[3]};
  MD5Transform(state, block);
  // MD5Transform adds the initial state back in (feed-forward); version 1 does not.
  const uint32_t a = state[0] - kMd5Init[0];
  const uint32_t b = state[1] - kMd5Init[1];
  const uint32_t c = state[2] - kMd5Init[2];
  const uint32_t d = state[3] - kMd5Init[3];
  return (static_cast<uint64_t>(a ^ b) << 32) | (c ^ d);
}

}  // namespace sc
