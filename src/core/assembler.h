// Collects a fixed-size message from input that may arrive in any pieces,
// down to one byte per call, or coalesced with what follows it.
#ifndef SC_CORE_ASSEMBLER_H
#define SC_CORE_ASSEMBLER_H

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace sc {

template <size_t kCapacity>
class Assembler {
 public:
  size_t size() const { return have_; }
  const uint8_t *data() const { return buf_; }
  void clear() { have_ = 0; }

  // Moves bytes from the front of [data, data + n) until `want` bytes are
  // held; advances data and n past what it took. True once `want` are held.
  bool fill(const uint8_t *&data, size_t &n, size_t want) {
    if (have_ < want) {
      const size_t take = std::min(n, want - have_);
      std::copy(data, data + take, buf_ + have_);
      have_ = static_cast<uint8_t>(have_ + take);
      data += take;
      n -= take;
    }
    return have_ >= want;
  }

 private:
  static_assert(kCapacity < 256, "the count is kept in one byte");
  uint8_t buf_[kCapacity];
  uint8_t have_ = 0;
};

}  // namespace sc

#endif
