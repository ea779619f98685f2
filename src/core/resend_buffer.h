// The last `window` bytes of an outgoing (already encrypted) stream, kept so
// that what the peer missed can be sent again unchanged after a reconnect.
// Storage grows on demand up to the window.
#ifndef SC_CORE_RESEND_BUFFER_H
#define SC_CORE_RESEND_BUFFER_H

#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/prefetch.h"

namespace sc {

// The one rule for what can be sent again: a position between the first byte
// still held and the end of the stream. Lookups that read a copy of a
// session's counters apply it to those.
inline bool within_held(uint64_t pos, uint64_t end, uint64_t held) { return pos <= end && pos >= end - held; }

class ResendBuffer {
 public:
  explicit ResendBuffer(size_t window) : window_(window) {}

  size_t window() const { return window_; }
  // Bytes ever appended: the stream position of the next byte.
  uint64_t end() const { return end_; }
  // Bytes still held: positions [end() - held(), end()).
  size_t held() const { return end_ < window_ ? static_cast<size_t>(end_) : window_; }
  uint64_t begin() const { return end_ - held(); }
  // Bytes of storage currently allocated.
  size_t capacity() const { return capacity_; }

  // True when position `from` can still be resent.
  bool holds_from(uint64_t from) const { return within_held(from, end_, held()); }

  // Appends n bytes; returns where they were stored, which stays valid until
  // the next append (the bytes may be split across the end of the ring: `first`
  // and `second`).
  struct Span {
    const uint8_t *first = nullptr;
    size_t first_size = 0;
    const uint8_t *second = nullptr;
    size_t second_size = 0;
  };
  void append(const uint8_t *data, size_t n);
  // Starts loading the storage where the bytes at positions
  // end() + ahead .. end() + ahead + n will go, if it is allocated already.
  // A large pool's rings are cold by the time a session sends again: each
  // piece of a long send is written where the previous one asked for it.
  void prefetch_for_append(size_t ahead, size_t n) const {
    if (capacity_ == 0 || n == 0 || n > capacity_) return;
    const size_t first = offset_of(end_ + ahead);
    const auto line = [&](size_t k) {
      const size_t at = first + k;
      prefetch(data_.get() + (at < capacity_ ? at : at - capacity_));
    };
    for (size_t k = 0; k < n; k += kCacheLine) line(k);
    line(n - 1);
  }

  // The held bytes from position `from` to end(); requires holds_from(from).
  Span range_from(uint64_t from) const;

  // Resets to an empty stream with a (possibly) new window, freeing storage.
  void reset(size_t window);

 private:
  void grow_for(size_t extra);
  size_t offset_of(uint64_t pos) const { return static_cast<size_t>(pos % capacity_); }

  size_t window_;
  uint64_t end_ = 0;
  size_t capacity_ = 0;
  std::unique_ptr<uint8_t[]> data_;
};

}  // namespace sc

#endif
