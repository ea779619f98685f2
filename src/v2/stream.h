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
#include <cstring>
#include <memory>

namespace sc {
namespace v2 {

class Outbound {
 public:
  explicit Outbound(uint32_t window) : window_(window) {}

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
    active_ = true;
    reserve(static_cast<size_t>(held()) + n);
    size_t at = index(written_);
    const size_t first = std::min(n, cap_ - at);
    std::memcpy(buf_.get() + at, p, first);
    std::memcpy(buf_.get(), p + first, n - first);
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
    std::memcpy(dst, buf_.get() + at, first);
    std::memcpy(dst + first, buf_.get(), n - first);
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
    return true;
  }

  // Gives a drained buffer larger than kKeptWhenEmpty back, unless the
  // application appended since the last call (or `now`): a stream that keeps
  // flowing keeps its storage (no allocation per message), an idle one
  // shrinks. The pool calls it from its timeout sweep and at a detach.
  void trim(bool now = false) {
    if ((now || !active_) && held() == 0 && cap_ > kKeptWhenEmpty) release();
    active_ = false;
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
    std::unique_ptr<uint8_t[]> bigger(new uint8_t[cap]);
    const size_t n = static_cast<size_t>(held());
    const size_t first = std::min(n, cap_ - head_);
    if (n) {
      std::memcpy(bigger.get(), buf_.get() + head_, first);
      std::memcpy(bigger.get() + first, buf_.get(), n - first);
    }
    buf_ = std::move(bigger);
    cap_ = cap;
    head_ = 0;
  }

  void release() {
    buf_.reset();
    cap_ = 0;
    head_ = 0;
  }

  uint32_t window_;
  uint64_t acked_ = 0, next_ = 0, sent_ = 0, written_ = 0;
  std::unique_ptr<uint8_t[]> buf_;
  size_t cap_ = 0;       // a power of two, or 0
  size_t head_ = 0;      // where offset acked_ sits
  bool active_ = false;  // appended to since the last trim()
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
