#include "v2/link.h"

#include <algorithm>

#include "core/message_queue.h"

namespace sc {
namespace v2 {

void Link::prepare(Streams &s, uint64_t peer_base, bool ack_first_in) {
  (void)s;
  peer_pos_ = peer_base;
  ack_first_in_ = ack_first_in;
}

void Link::start_output(Streams &s, uint64_t resend_from, bool ack_first_out) {
  s.out.restart_from(resend_from);
  ack_first_out_ = ack_first_out;
  // The handshake gave the peer this side's count, which acknowledges like
  // an ACK: only what arrives beyond it needs one.
  s.in.acked = std::min(s.in.received, peer_pos_);
}

bool Link::write(Streams &s, std::vector<uint8_t> &out, bool force_ack) {
  if (close_sent_) return true;
  bool need_ack = ack_first_out_ || (s.in.unacknowledged() > 0 && (force_ack || s.in.ack_due(s.peer_window)));
  size_t next_pong = 0;
  {
    // The whole output at once, so that the buffer grows once (if at all)
    // and to its exact size: a kept buffer then serves the next message.
    const uint64_t data = s.out.sendable();
    const uint64_t frames = data + kAckSize + pongs_.size() * kPongSize + kPingSize + kCloseSize;
    const uint64_t records = frames / kMaxDataPerFrame + 1;
    const uint64_t overhead = records * (kRecordHeaderSize + noise::kTagSize + kDataHeaderSize);
    grow_for(out, static_cast<size_t>(frames + overhead));
  }
  while (need_ack || next_pong < pongs_.size() || ping_pending_ || s.out.sendable() > 0 || close_pending_) {
    writer_.begin(out);
    if (need_ack) {
      write_ack(writer_.extend(out, kAckSize), s.in.received);
      s.in.acked = s.in.received;
      need_ack = ack_first_out_ = false;
    }
    for (; next_pong < pongs_.size() && writer_.room(out) >= kPongSize; ++next_pong)
      write_pong(writer_.extend(out, kPongSize), pongs_[next_pong]);
    if (next_pong == pongs_.size()) pongs_.clear();
    if (ping_pending_ && writer_.room(out) >= kPingSize) {
      write_ping(writer_.extend(out, kPingSize), ping_token_);
      ping_pending_ = false;
    }
    for (uint64_t left; (left = s.out.sendable()) > 0 && writer_.room(out) > kDataHeaderSize;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(left, writer_.room(out) - kDataHeaderSize));
      uint8_t *p = writer_.extend(out, kDataHeaderSize + n);
      write_data_header(p, n);
      s.out.take(p + kDataHeaderSize, n);
    }
    if (close_pending_ && s.out.sendable() == 0 && writer_.room(out) >= kCloseSize) {
      write_close(writer_.extend(out, kCloseSize), close_reason_);
      close_pending_ = false;
      close_sent_ = true;
    }
    if (!writer_.finish(out)) return false;
    if (close_sent_) break;
  }
  return true;
}

// The rules a record must meet as a whole, before anything in it counts.
bool Link::check(const Streams &s, const uint8_t *plain, size_t n) const {
  FrameReader frames(plain, n);
  Frame f;
  bool first = true;
  uint64_t acked = s.out.acked(), pos = peer_pos_, received = s.in.received;
  while (frames.next(f) == FrameReader::Result::kFrame) {
    if (first && ack_first_in_ && f.type != FrameType::kAck) return false;
    first = false;
    switch (f.type) {
      case FrameType::kAck:
        if (f.value < acked || f.value > s.out.sent()) return false;
        acked = f.value;
        break;
      case FrameType::kData:
        // The peer resends from the count it was given: never beyond what
        // this side received, so the stream has no gap.
        if (pos > received) return false;
        pos += f.n;
        received = std::max(received, pos);
        break;
      default:
        break;
    }
  }
  return true;
}

void Link::apply(Streams &s, const uint8_t *plain, size_t n, LinkEvents &events, bool *got_data) {
  FrameReader frames(plain, n);
  Frame f;
  ack_first_in_ = false;
  while (frames.next(f) == FrameReader::Result::kFrame) {
    switch (f.type) {
      case FrameType::kData: {
        const uint64_t end = peer_pos_ + f.n;
        if (end > s.in.received) {  // the part already received is dropped
          const size_t skip = static_cast<size_t>(s.in.received - peer_pos_);
          // Delivered first: if that fails (no memory), nothing is counted
          // as received, and a resume gets the bytes again.
          events.data(f.data + skip, f.n - skip);
          s.in.received = end;
          *got_data = true;
        }
        peer_pos_ = end;
        break;
      }
      case FrameType::kAck:
        s.out.ack(f.value);  // checked above
        break;
      case FrameType::kPing:
        pongs_.push_back(f.value);
        break;
      case FrameType::kPong:
        events.pong(f.value);
        break;
      case FrameType::kClose:
        closed_ = true;
        closed_reason_ = static_cast<uint16_t>(f.value);
        break;
    }
  }
}

Link::Read Link::read(Streams &s, const uint8_t *p, size_t n, LinkEvents &events, bool *got_data) {
  *got_data = false;
  if (closed_) return Read::kClosed;
  bool bad = false;
  const RecordReader::Result r = reader_.read(p, n, [&](const uint8_t *plain, size_t len) {
    if (!check(s, plain, len)) {
      bad = true;
      return false;
    }
    if (first_in_) {
      first_in_ = false;
      events.first_record();
    }
    apply(s, plain, len, events, got_data);
    return !closed_;
  });
  if (r == RecordReader::Result::kError || bad) return Read::kError;
  return closed_ ? Read::kClosed : Read::kOk;
}

}  // namespace v2
}  // namespace sc
