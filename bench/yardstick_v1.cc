#include "yardstick_v1.h"

#include <vector>

#include "v1/hash64.h"
#include "v1/stream_cipher.h"

namespace bench {

YardstickCipher::YardstickCipher(uint64_t key) {
  const uint64_t h = sc::hash64(key, 0);
  initial_fingerprint_ = static_cast<uint32_t>(h ^ (h >> 32));
  for (unsigned n = 0; n < 256; ++n) s_[n] = static_cast<uint8_t>(n + (h >> (8 * (n % 8))));
}

void YardstickCipher::pass(const uint8_t *in, uint8_t *out, size_t n, uint32_t *fp) {
  uint8_t i = i_, j = j_;
  uint32_t f = *fp;
  for (size_t k = 0; k < n; ++k) {
    i = static_cast<uint8_t>(i + 1);
    const uint8_t a = s_[i];
    j = static_cast<uint8_t>(j + a);
    const uint8_t b = s_[j];
    s_[i] = b;
    s_[j] = a;
    out[k] = static_cast<uint8_t>(in[k] ^ s_[static_cast<uint8_t>(a + b)]);
    f = ((f << 4) | (f >> 28)) ^ out[k];
  }
  i_ = i;
  j_ = j;
  *fp = f;
}

bool yardstick_matches_library(const char **why) {
  const uint64_t key = 0x0123456789abcdefull;
  YardstickCipher plain(key);
  sc::StreamCipher library(key);
  if (plain.initial_fingerprint() != library.initial_fingerprint()) {
    *why = "the yardstick's initial fingerprint differs from the library's";
    return false;
  }
  std::vector<uint8_t> in(10000), a(in.size()), b(in.size());
  for (size_t k = 0; k < in.size(); ++k) in[k] = static_cast<uint8_t>(k * 131 + (k >> 7));
  uint32_t fa = plain.initial_fingerprint(), fb = fa;
  // Pieces of odd sizes on the library's side, one pass on the yardstick's.
  plain.pass(in.data(), a.data(), in.size(), &fa);
  for (size_t at = 0; at < in.size();) {
    const size_t n = in.size() - at < 1000 ? in.size() - at : 1 + at % 997;
    library.apply(in.data() + at, b.data() + at, n, nullptr, &fb);
    at += n;
  }
  if (a != b || fa != fb) {
    *why = "the yardstick and the library's cipher disagree";
    return false;
  }
  return true;
}

}  // namespace bench
