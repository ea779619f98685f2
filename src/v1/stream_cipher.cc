#include "v1/stream_cipher.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "v1/hash64.h"

namespace sc {
namespace {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr bool kLittleEndian = true;
#else
constexpr bool kLittleEndian = false;
#endif

inline uint64_t load64(const uint8_t *p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store64(uint8_t *p, uint64_t v) { std::memcpy(p, &v, sizeof v); }

inline uint64_t byte_swap64(uint64_t v) {
  v = ((v & 0x00ff00ff00ff00ffull) << 8) | ((v >> 8) & 0x00ff00ff00ff00ffull);
  v = ((v & 0x0000ffff0000ffffull) << 16) | ((v >> 16) & 0x0000ffff0000ffffull);
  return (v << 32) | (v >> 32);
}

// The low byte of each 16-bit lane, packed into 32 bits (lane m to byte m).
inline uint32_t pack_even_bytes(uint64_t v) {
  v &= 0x00ff00ff00ff00ffull;
  v = (v | (v >> 8)) & 0x0000ffff0000ffffull;
  return static_cast<uint32_t>(v | (v >> 16));
}

inline uint32_t rotl32(uint32_t v, unsigned r) { return (v << r) | (v >> (32 - r)); }

// What eight bytes, loaded little-endian as `word`, add to a fingerprint.
// Each step rotates by 4 bits, so eight steps rotate by 32: a whole turn.
// The byte k of eight (first k = 0) thus ends up rotated by 4 * (7 - k)
// whatever came before, and the fingerprint of a run of words is the old one
// xor this of the words' xor (it is linear). With the bytes reversed, the odd
// ones k = 7, 5, 3, 1 sit in the low bytes of the 16-bit lanes and go to
// bits 0, 8, 16, 24; the even ones k = 6, 4, 2, 0 go to bits 4, 12, 20, 28.
inline uint32_t fold_word(uint64_t word) {
  const uint64_t reversed = byte_swap64(word);
  return pack_even_bytes(reversed) ^ rotl32(pack_even_bytes(reversed >> 8), 4);
}

}  // namespace

uint32_t fingerprint_update(uint32_t f, const uint8_t *data, size_t n) {
  size_t k = 0;
  if (kLittleEndian && n >= 8) {
    // The words' xor, two or four at a time: one chain of xors would wait
    // a cycle for each word.
    uint64_t acc = 0;
#if defined(__SSE2__)
    __m128i a = _mm_setzero_si128(), b = _mm_setzero_si128();
    for (; k + 32 <= n; k += 32) {
      a = _mm_xor_si128(a, _mm_loadu_si128(reinterpret_cast<const __m128i *>(data + k)));
      b = _mm_xor_si128(b, _mm_loadu_si128(reinterpret_cast<const __m128i *>(data + k + 16)));
    }
    a = _mm_xor_si128(a, b);
    uint64_t halves[2];
    _mm_storeu_si128(reinterpret_cast<__m128i *>(halves), a);
    acc = halves[0] ^ halves[1];
#else
    uint64_t b = 0;
    for (; k + 16 <= n; k += 16) {
      acc ^= load64(data + k);
      b ^= load64(data + k + 8);
    }
    acc ^= b;
#endif
    for (; k + 8 <= n; k += 8) acc ^= load64(data + k);
    f ^= fold_word(acc);
  }
  for (; k < n; ++k) f = fingerprint_step(f, data[k]);
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

namespace {

// XORs the keystream of the state (cells s, positions i, j) over `in`
// into `out`: the same steps whatever the width of a cell.
//
// Each step reads the cell at i + 1, which the swaps of the steps before may
// have just written: read from memory, the CPU could not start it until
// their addresses were known, and each byte would wait for the one before.
// So the cells at i + 1 and i + 2 are read ahead, before the swaps of the
// steps before them, and corrected in registers when a swap hits them (its
// j is i + 1 or i + 2): a0 and a1 always hold s[i + 1], s[i + 2].
//
// What is left between one step and the next is j: the next j is j plus
// the new s[i + 1], which is known only once this step's j was compared
// with i + 1 (s[i] if the swap moved it there, else s[i + 1] as it was).
// Both sums are formed beside the compare, which then only picks one; j and
// i run unmasked (they matter mod 256, compared by their low bytes, masked
// where they address a cell), so no mask lies on that path either. Here j
// is always the next step's.
template <typename Cell>
void run(Cell *s, uint32_t &i_ref, uint32_t &j_ref, const uint8_t *in, uint8_t *out, size_t n) {
  uint32_t i = i_ref;
  uint32_t a0 = s[(i + 1) & 0xff], a1 = s[(i + 2) & 0xff];
  uint32_t j = j_ref + a0;
  // One keystream byte: the state's next swap and the byte it selects.
  auto next = [s, &i, &j, &a0, &a1]() -> uint64_t {
    i = i + 1;
    const uint32_t si = a0;
    const uint32_t jm = j & 0xff;
    const uint32_t sj = s[jm];
    const uint32_t a2 = s[(i + 2) & 0xff];
    s[i & 0xff] = static_cast<Cell>(sj);
    s[jm] = static_cast<Cell>(si);
    const bool hits_next = static_cast<uint8_t>(j) == static_cast<uint8_t>(i + 1);
    const bool hits_after = static_cast<uint8_t>(j) == static_cast<uint8_t>(i + 2);
    const uint32_t j_if_hit = j + si, j_else = j + a1;
    a0 = hits_next ? si : a1;
    a1 = hits_after ? si : a2;
    j = hits_next ? j_if_hit : j_else;
    return s[(si + sj) & 0xff];
  };
  size_t k = 0;
  if (kLittleEndian) {
    // Eight keystream bytes into one word, xored over eight input bytes at
    // once: unrolled, the swaps of consecutive bytes overlap in the CPU.
    for (; k + 8 <= n; k += 8) {
      uint64_t ks = next();
      ks |= next() << 8;
      ks |= next() << 16;
      ks |= next() << 24;
      ks |= next() << 32;
      ks |= next() << 40;
      ks |= next() << 48;
      ks |= next() << 56;
      store64(out + k, load64(in + k) ^ ks);
    }
  }
  for (; k < n; ++k) out[k] = static_cast<uint8_t>(in[k] ^ next());
  i_ref = i & 0xff;
  j_ref = (j - a0) & 0xff;  // this step's j, as the state keeps it
}

}  // namespace

void StreamCipher::apply(const uint8_t *in, uint8_t *out, size_t n, uint32_t *fp_in, uint32_t *fp_out) {
  if (n >= kWideRun) {
    Wide(*this).apply(in, out, n, fp_in, fp_out);
    return;
  }
  // The fingerprints are taken apart from the cipher: a fold of whole words
  // costs far less than a step per byte inside its loop.
  if (fp_in) *fp_in = fingerprint_update(*fp_in, in, n);
  uint32_t i = i_, j = j_;
  run(s_, i, j, in, out, n);
  i_ = static_cast<uint8_t>(i);
  j_ = static_cast<uint8_t>(j);
  if (fp_out) *fp_out = fingerprint_update(*fp_out, out, n);
}

StreamCipher::Wide::Wide(StreamCipher &cipher) : cipher_(cipher), i_(cipher.i_), j_(cipher.j_) {
  for (size_t k = 0; k < 256; ++k) s_[k] = cipher.s_[k];
}

StreamCipher::Wide::~Wide() {
  for (size_t k = 0; k < 256; ++k) cipher_.s_[k] = static_cast<uint8_t>(s_[k]);
  cipher_.i_ = static_cast<uint8_t>(i_);
  cipher_.j_ = static_cast<uint8_t>(j_);
}

void StreamCipher::Wide::apply(const uint8_t *in, uint8_t *out, size_t n, uint32_t *fp_in, uint32_t *fp_out) {
  if (fp_in) *fp_in = fingerprint_update(*fp_in, in, n);
  run(s_, i_, j_, in, out, n);
  if (fp_out) *fp_out = fingerprint_update(*fp_out, out, n);
}

}  // namespace sc
