// What a version 2 session keeps of its two streams, across its connections.
//
// Outbound: every byte the application gave that the peer has not
// acknowledged, as plaintext (a resume resends it under new keys), and the
// three positions that govern it:
//
//   acked <= next <= sent <= written
//   acked    the peer's highest acknowledgement; everything before is freed
//   next     the next byte to place in a record on the current connection
//            (a resume moves it back to what the peer says it received)
//   sent     the highest offset ever placed in a record, on any connection
//   written  bytes the application gave
//
// In flight is sent - acked, at most the window; backlog is written - sent.
// Inbound: the count of bytes received, and what this side last
// acknowledged on the current connection.
#ifndef SC_V2_STREAM_H
#define SC_V2_STREAM_H

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/copy.h"

namespace sc {
namespace v2 {

// Storage that drained streams give back and growing ones take, shared by the
// streams of one pool (or of one client): a stream that keeps flowing takes
// back the storage it gave at its last drain, without allocating, and a
// stream with nothing unacknowledged keeps none. Holds a few buffers, at most
// kMaxBytes in all; giving and taking never allocate.
class StorageCache {
 public:
  static constexpr size_t kMaxBytes = size_t{1} << 20;

  StorageCache() = default;
  StorageCache(const StorageCache &) = delete;
  StorageCache &operator=(const StorageCache &) = delete;

  // A kept buffer of at least `need` bytes and at most four times that, or
  // none; *cap is set to its size.
  std::unique_ptr<uint8_t[]> take(size_t need, size_t *cap) {
    size_t best = kSlots;
    for (size_t k = 0; k < kSlots; ++k) {
      const size_t c = kept_[k].cap;
      if (c >= need && c / 4 <= need && (best == kSlots || c < kept_[best].cap)) best = k;
    }
    if (best == kSlots) return nullptr;
    *cap = kept_[best].cap;
    bytes_ -= kept_[best].cap;
    kept_[best].cap = 0;
    return std::move(kept_[best].buf);
  }

  // Keeps `buf` (of `cap` bytes) while there is room, frees it otherwise.
  void give(std::unique_ptr<uint8_t[]> buf, size_t cap) {
    if (!buf || cap > kMaxBytes - bytes_) return;
    for (Kept &k : kept_) {
      if (k.cap == 0) {
        k.buf = std::move(buf);
        k.cap = cap;
        bytes_ += cap;
        return;
      }
    }
  }

  size_t bytes() const { return bytes_; }

 private:
  static constexpr size_t kSlots = 8;
  struct Kept {
    std::unique_ptr<uint8_t[]> buf;
    size_t cap = 0;  // 0: empty slot
  };
  Kept kept_[kSlots];
  size_t bytes_ = 0;
};

class Outbound {
 public:
  // `cache` (may be null: storage is then freed when drained) outlives this.
  explicit Outbound(uint32_t window, StorageCache *cache = nullptr) : window_(window), cache_(cache) {}

  uint32_t window() const { return window_; }
  uint64_t acked() const { return acked_; }
  uint64_t next() const { return next_; }
  uint64_t sent() const { return sent_; }
  uint64_t written() const { return written_; }
  uint64_t in_flight() const { return sent_ - acked_; }
  uint64_t backlog() const { return written_ - sent_; }
  // Bytes kept: unacknowledged and backlog.
  uint64_t held() const { return written_ - acked_; }
  size_t capacity() const { return cap_; }

  // The application's bytes join the stream.
  void append(const uint8_t *p, size_t n) {
    if (n == 0) return;
    reserve(static_cast<size_t>(held()) + n);
    size_t at = index(written_);
    const size_t first = std::min(n, cap_ - at);
    copy_bytes(buf_.get() + at, p, first);
    copy_bytes(buf_.get(), p + first, n - first);
    written_ += n;
  }

  // How many bytes may be placed in records now: what is left to resend on
  // this connection, and new bytes while in flight stays within the window.
  uint64_t sendable() const {
    const uint64_t resend = sent_ - next_;
    const uint64_t limit = acked_ + window_;
    const uint64_t fresh = sent_ < limit ? std::min(written_ - sent_, limit - sent_) : 0;
    return resend + fresh;
  }

  // Copies the next n (<= sendable()) bytes to dst and moves past them.
  void take(uint8_t *dst, size_t n) {
    size_t at = index(next_);
    const size_t first = std::min(n, cap_ - at);
    copy_bytes(dst, buf_.get() + at, first);
    copy_bytes(dst + first, buf_.get(), n - first);
    next_ += n;
    sent_ = std::max(sent_, next_);
  }

  // The peer acknowledged `count`: true and freed if acked() <= count <=
  // sent(), false (a protocol error, nothing changed) otherwise.
  bool ack(uint64_t count) {
    if (count < acked_ || count > sent_) return false;
    const uint64_t freed = count - acked_;
    head_ = cap_ ? (head_ + static_cast<size_t>(freed)) & (cap_ - 1) : 0;
    acked_ = count;
    if (next_ < acked_) next_ = acked_;
    // Drained: storage beyond a small buffer goes back to the cache, where
    // the next message takes it again.
    if (held() == 0 && cap_ > kKeptWhenEmpty) release();
    return true;
  }

  // A new connection: the peer has the stream up to `peer_received`, which
  // the caller checked with ack(); the rest of what was sent goes again.
  void restart_from(uint64_t peer_received) { next_ = std::max(peer_received, acked_); }

  // Ending the session: what was never placed in a record is dropped.
  void drop_backlog() { written_ = sent_; }

 private:
  // A drained stream keeps a small buffer for the next message, and gives a
  // larger one back (idle sessions must stay small).
  static constexpr size_t kKeptWhenEmpty = 512;

  size_t index(uint64_t offset) const { return cap_ ? (head_ + static_cast<size_t>(offset - acked_)) & (cap_ - 1) : 0; }

  void reserve(size_t need) {
    if (need <= cap_) return;
    size_t cap = cap_ ? cap_ : 256;
    while (cap < need) cap *= 2;
    std::unique_ptr<uint8_t[]> bigger = cache_ ? cache_->take(cap, &cap) : nullptr;
    if (!bigger) bigger.reset(new uint8_t[cap]);
    const size_t n = static_cast<size_t>(held());
    const size_t first = std::min(n, cap_ - head_);
    if (n) {
      copy_bytes(bigger.get(), buf_.get() + head_, first);
      copy_bytes(bigger.get() + first, buf_.get(), n - first);
    }
    release();
    buf_ = std::move(bigger);
    cap_ = cap;
  }

  void release() {
    if (cache_) cache_->give(std::move(buf_), cap_);
    buf_.reset();
    cap_ = 0;
    head_ = 0;
  }

  uint32_t window_;
  uint64_t acked_ = 0, next_ = 0, sent_ = 0, written_ = 0;
  StorageCache *cache_;
  std::unique_ptr<uint8_t[]> buf_;
  size_t cap_ = 0;   // a power of two, or 0
  size_t head_ = 0;  // where offset acked_ sits
};

struct Inbound {
  uint64_t received = 0;  // DATA bytes accepted from the peer
  uint64_t acked = 0;     // the count this side last acknowledged

  uint64_t unacknowledged() const { return received - acked; }
  // The contract's rule: an ACK is due once a quarter of the peer's window
  // arrived since the last one.
  bool ack_due(uint32_t peer_window) const { return unacknowledged() >= peer_window / 4; }
};

}  // namespace v2
}  // namespace sc

#endif
