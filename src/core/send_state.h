// One direction of a session's stream as its sender sees it: the position of
// the next byte, the bytes held for resending, and how far the stream has
// been handed to a socket. It owns the two rules every protocol version and
// both sides share: what the backlog is, and from where the stream can still
// be sent again.
#ifndef SC_CORE_SEND_STATE_H
#define SC_CORE_SEND_STATE_H

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/resend_buffer.h"

namespace sc {

class SendState {
 public:
  explicit SendState(size_t window) : resend_(window) {}

  // Stream position of the next byte; bytes ever placed in the stream.
  uint64_t sent() const { return resend_.end(); }
  size_t held() const { return resend_.held(); }
  size_t window() const { return resend_.window(); }
  ResendBuffer &resend() { return resend_; }
  const ResendBuffer &resend() const { return resend_; }

  // True when the stream can be sent again from `pos`.
  bool can_resend_from(uint64_t pos) const { return resend_.holds_from(pos); }

  // Polling a message for a socket hands the stream out up to `pos`.
  void handed_out_to(uint64_t pos) { handed_out_ = std::max(handed_out_, pos); }
  // After a reconnect the peer has the stream up to `pos` and the rest goes
  // out again.
  void restart_from(uint64_t pos) { handed_out_ = pos; }
  uint64_t handed_out() const { return handed_out_; }

  // Data the application gave that has not been handed to a socket yet: in
  // the stream but not polled, plus `not_in_stream` bytes still waiting to
  // be placed in it (a client's data queued during its handshake).
  uint64_t backlog(uint64_t not_in_stream = 0) const { return sent() - handed_out_ + not_in_stream; }
  // While there is no socket, everything from handed_out() on is what the
  // peer will miss: once that is no longer held the session cannot resume.
  bool backlog_resendable() const { return can_resend_from(handed_out_); }

  // An empty stream with a (possibly) new window.
  void reset(size_t window) {
    resend_.reset(window);
    handed_out_ = 0;
  }

 private:
  ResendBuffer resend_;
  uint64_t handed_out_ = 0;
};

}  // namespace sc

#endif
