// The stream cipher of protocol version 1: an RC4 variant without key
// schedule shuffle, keyed by hash64(key, 0), plus the running 32-bit
// "fingerprint" that reuse requests use to name a position in a stream.
#ifndef SC_V1_STREAM_CIPHER_H
#define SC_V1_STREAM_CIPHER_H

#include <cstddef>
#include <cstdint>

namespace sc {

inline uint32_t fingerprint_step(uint32_t f, uint8_t byte) {
  return ((f << 4) | (f >> 28)) ^ byte;
}

uint32_t fingerprint_update(uint32_t f, const uint8_t *data, size_t n);

class StreamCipher {
 public:
  // Unkeyed (all zero): a placeholder until a key is known, costing no hash.
  StreamCipher() = default;
  explicit StreamCipher(uint64_t key);

  // The fingerprint of an empty stream under this key.
  uint32_t initial_fingerprint() const { return initial_fingerprint_; }

  // XORs the keystream over `in` into `out` (they may be the same buffer).
  // When given, *fp_in runs over the input bytes and *fp_out over the output.
  // With the same buffer for both, *fp_in is taken before it is overwritten.
  void apply(const uint8_t *in, uint8_t *out, size_t n, uint32_t *fp_in = nullptr,
             uint32_t *fp_out = nullptr);

  // Runs of at least this many bytes go through a Wide state.
  static constexpr size_t kWideRun = 512;

  // The cipher's state with 32-bit cells, for a long run in several pieces:
  // on some CPUs (the AMD EPYCs the benchmarks ran on) the loop is about a
  // quarter faster over 32-bit cells than over bytes, while the cipher
  // itself keeps 256 bytes, so that an idle session stays small. Copied
  // from the cipher when made, written back when destroyed; the cipher must
  // not be used directly in between. apply() is the cipher's.
  class Wide {
   public:
    explicit Wide(StreamCipher &cipher);
    ~Wide();
    Wide(const Wide &) = delete;
    Wide &operator=(const Wide &) = delete;
    void apply(const uint8_t *in, uint8_t *out, size_t n, uint32_t *fp_in = nullptr, uint32_t *fp_out = nullptr);

   private:
    StreamCipher &cipher_;
    uint32_t s_[256];
    uint32_t i_, j_;
  };

 private:

  uint8_t s_[256] = {};
  uint8_t i_ = 0;
  uint8_t j_ = 0;
  uint32_t initial_fingerprint_ = 0;
};

}  // namespace sc

#endif
