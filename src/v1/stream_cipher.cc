#include "v1/stream_cipher.h"

#include "v1/hash64.h"

namespace sc {

uint32_t fingerprint_update(uint32_t f, const uint8_t *data, size_t n) {
  for (size_t k = 0; k < n; ++k) f = fingerprint_step(f, data[k]);
  return f;
}

StreamCipher::StreamCipher(uint64_t key) {
  const uint64_t k = hash64(key, 0);
  initial_fingerprint_ = static_cast<uint32_t>(k ^ (k >> 32));
  // s[n] = n + byte (n mod 8) of k, mod 256: eight bytes at a time, each
  // block the bytes 8b .. 8b+7 plus the key bytes, added bytewise without
  // carries between bytes (the low seven bits add, the top bits xor in).
  constexpr uint64_t kLow = 0x7f7f7f7f7f7f7f7full, kHigh = 0x8080808080808080ull;
  uint64_t index = 0x0706050403020100ull;  // bytes n = 0 .. 7, little-endian
  for (unsigned b = 0; b < 256 / 8; ++b, index += 0x0808080808080808ull) {
    const uint64_t sum = ((index & kLow) + (k & kLow)) ^ ((index ^ k) & kHigh);
    for (unsigned m = 0; m < 8; ++m) s_[8 * b + m] = static_cast<uint8_t>(sum >> (8 * m));
  }
}

template <bool kTrackIn, bool kTrackOut>
void StreamCipher::apply_impl(const uint8_t *in, uint8_t *out, size_t n, uint32_t *fp_in,
                              uint32_t *fp_out) {
  uint8_t i = i_;
  uint8_t j = j_;
  uint32_t f_in = kTrackIn ? *fp_in : 0;
  uint32_t f_out = kTrackOut ? *fp_out : 0;
  for (size_t k = 0; k < n; ++k) {
    i = static_cast<uint8_t>(i + 1);
    const uint8_t si = s_[i];
    j = static_cast<uint8_t>(j + si);
    const uint8_t sj = s_[j];
    s_[i] = sj;
    s_[j] = si;
    const uint8_t c = in[k];
    const uint8_t o = static_cast<uint8_t>(c ^ s_[static_cast<uint8_t>(si + sj)]);
    out[k] = o;
    if (kTrackIn) f_in = fingerprint_step(f_in, c);
    if (kTrackOut) f_out = fingerprint_step(f_out, o);
  }
  i_ = i;
  j_ = j;
  if (kTrackIn) *fp_in = f_in;
  if (kTrackOut) *fp_out = f_out;
}

void StreamCipher::apply(const uint8_t *in, uint8_t *out, size_t n, uint32_t *fp_in,
                         uint32_t *fp_out) {
  if (fp_in && fp_out)
    apply_impl<true, true>(in, out, n, fp_in, fp_out);
  else if (fp_in)
    apply_impl<true, false>(in, out, n, fp_in, fp_out);
  else if (fp_out)
    apply_impl<false, true>(in, out, n, fp_in, fp_out);
  else
    apply_impl<false, false>(in, out, n, fp_in, fp_out);
}

}  // namespace sc
