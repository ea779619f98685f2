// The data path of one version 2 connection: what a session's streams
// (v2/stream.h) become on the wire between the handshake and the end of the
// socket, the same for the pool and the client. Output: an ACK when one is
// due (or asked for), PONGs owed, a PING, the stream's DATA as far as the
// window allows, a CLOSE; coalesced into as few records as fit. Input: each
// record checked whole against the rules (ACKs within range, a first ACK
// where the contract wants one, data contiguous with what came before)
// before any of it takes effect.
#ifndef SC_V2_LINK_H
#define SC_V2_LINK_H

#include <cstddef>
#include <cstdint>
#include <vector>

#include "v2/record.h"
#include "v2/stream.h"

namespace sc {
namespace v2 {

// A session's two streams and its peer's window, which outlive connections.
struct Streams {
  Streams(uint32_t window, uint32_t peer_window_, StorageCache *cache = nullptr)
      : out(window, cache), peer_window(peer_window_) {}
  Outbound out;
  Inbound in;
  uint32_t peer_window;
};

// What the input of a connection told the session, besides the counts.
class LinkEvents {
 public:
  virtual void data(const uint8_t *p, size_t n) = 0;
  virtual void pong(uint64_t token) = 0;
  // The connection's first record verified and met the rules, before any of
  // it takes effect: where the pool moves a resumed session to its new socket.
  virtual void first_record() {}

 protected:
  ~LinkEvents() = default;
};

class Link {
 public:
  enum class Read { kOk, kError, kClosed };

  // The transport keys, from the handshake's split: set these first.
  noise::CipherState &send_cipher() { return writer_.cipher(); }
  noise::CipherState &receive_cipher() { return reader_.cipher(); }

  // A new connection of `s`. The peer's DATA on it starts at `peer_base`
  // (the count this side gave in the handshake: 0 for a new session); this
  // side resends from `resend_from` (the peer's count). `ack_first_out`:
  // this side's first record begins with an ACK (the client);
  // `ack_first_in`: the peer's must (the server).
  void start(Streams &s, uint64_t peer_base, uint64_t resend_from, bool ack_first_out, bool ack_first_in) {
    prepare(s, peer_base, ack_first_in);
    start_output(s, resend_from, ack_first_out);
  }
  // The same in two steps, for a side that reads a connection before its
  // session is moved to it (the pool's resume): prepare() touches only this
  // connection, start_output() the session's outbound stream.
  void prepare(Streams &s, uint64_t peer_base, bool ack_first_in);
  void start_output(Streams &s, uint64_t resend_from, bool ack_first_out);

  // Appends records to `out`. `force_ack` acknowledges everything received
  // (this library does so after every input that carried data); otherwise
  // an ACK goes only when the contract makes one due. False if the cipher
  // failed: the connection is unusable.
  bool write(Streams &s, std::vector<uint8_t> &out, bool force_ack);

  // True if write() would put anything out: the caller then asks for an
  // output buffer, and not otherwise.
  bool wants_write(const Streams &s, bool force_ack) const {
    if (close_sent_) return false;
    return ack_first_out_ || (s.in.unacknowledged() > 0 && (force_ack || s.in.ack_due(s.peer_window))) ||
           !pongs_.empty() || ping_pending_ || s.out.sendable() > 0 || close_pending_;
  }
  // Queues a PING (sent by the next write).
  void ping(uint64_t token) {
    ping_token_ = token;
    ping_pending_ = true;
  }
  // Queues a CLOSE after everything already in records; the backlog is dropped.
  void close(Streams &s, uint16_t reason) {
    s.out.drop_backlog();
    close_reason_ = reason;
    close_pending_ = true;
  }
  bool close_sent() const { return close_sent_; }

  // Takes input. kError: a protocol error, the connection must be closed
  // (nothing of the failing record took effect); kClosed: the peer ended
  // the session with `closed_reason()` (what came before the CLOSE took
  // effect). `*got_data` says whether any DATA arrived.
  Read read(Streams &s, const uint8_t *p, size_t n, LinkEvents &events, bool *got_data);
  uint16_t closed_reason() const { return closed_reason_; }

  // Bytes of an incomplete record waiting for the rest.
  size_t partial_input() const { return reader_.partial(); }

  // This library's rule, beyond the ACKs the contract makes due: after an
  // input that brought DATA (`got_data` from read()) and left no record
  // half-read, as the last input of a burst does, everything received is
  // acknowledged (the next write() with force_ack). Inputs that end inside
  // a record add no ACK of their own.
  bool acknowledge_all(bool got_data) const { return got_data && reader_.partial() == 0; }

 private:
  bool check(const Streams &s, const uint8_t *plain, size_t n) const;
  void apply(Streams &s, const uint8_t *plain, size_t n, LinkEvents &events, bool *got_data);

  RecordWriter writer_;
  RecordReader reader_;
  uint64_t peer_pos_ = 0;  // stream offset of the peer's next DATA byte on this connection
  bool ack_first_out_ = false, ack_first_in_ = false;
  bool ping_pending_ = false, close_pending_ = false, close_sent_ = false, closed_ = false;
  bool first_in_ = true;
  uint64_t ping_token_ = 0;
  uint16_t close_reason_ = 0, closed_reason_ = 0;
  // PONGs owed, each PING answered by the next write (as many records as
  // they take); the storage is kept for the next ones. What a peer can make
  // this hold is bounded by what one read hands in.
  std::vector<uint64_t> pongs_;
};

}  // namespace v2
}  // namespace sc

#endif
