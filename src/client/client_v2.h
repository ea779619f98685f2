// The client side of a version 2 session: a new session with Noise NK
// against the server's pinned public key, resumes with Noise NNpsk0 and the
// session's resume secret, and between them the records of v2/link.h. Sans-IO
// like everything else: the same calls and messages as the version 1 client
// (client.h), plus CLOSE and PING.
#ifndef SC_CLIENT_CLIENT_V2_H
#define SC_CLIENT_CLIENT_V2_H

#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/clock.h"
#include "base/config.h"
#include "client/client.h"
#include "noise/noise.h"
#include "v2/link.h"
#include "v2/wire.h"

namespace sc {

class ClientV2 {
 public:
  using Queue = Client::Queue;
  using Message = Queue::Polled;
  enum class State {
    kOpening,      // a new-session request is out, waiting for the answer
    kResuming,     // a resume request is out
    kEstablished,  // records flow
    kBroken,       // this socket is useless (busy, a protocol error): connect another
    kDead,         // the session is over
  };

  // A new-session request goes out with the first poll() (so that the
  // window can still be set). `server_key`: the server's static public key,
  // 32 bytes.
  ClientV2(const uint8_t *server_key, size_t window = kDefaultWindowV2);
  ~ClientV2();
  ClientV2(const ClientV2 &) = delete;
  ClientV2 &operator=(const ClientV2 &) = delete;

  // A new socket: output meant for the old one is dropped, and a resume
  // request (or, before any session was opened, a new-session request) goes out.
  void handshake();
  void send(const uint8_t *data, size_t n);
  void receive(const uint8_t *data, size_t n);
  // The application gives up: one final IN message of size 0, input ignored.
  void drop();
  // Ends the session with CLOSE (after the data already in records).
  void close();
  // A PING on the current connection; false (nothing sent) unless the
  // session is established. Its PONG gives an event with the round trip by
  // the client's clock; a PONG for an earlier PING is ignored.
  bool ping(uint64_t token);
  // The clock round trips are measured with (the monotonic clock by default).
  void set_clock(ClockFn fn, void *user_data) { clock_.set(fn, user_data); }
  uint64_t pongs() const { return counters_.pongs; }
  Message poll(bool with_events = false);

  // Takes over a session opened elsewhere (an earlier run of the
  // application, or a test): the next request resumes it. False once a
  // session exists.
  bool adopt_session(const v2::SessionId &id, const uint8_t *resume_secret);
  // False once the first request was made: it carries the window.
  bool set_window(size_t bytes);
  void enable_events(bool on) { events_enabled_ = on; }

  State state() const { return state_; }
  uint64_t sent() const { return streams_.out.sent(); }
  uint64_t received() const { return streams_.in.received; }
  uint64_t held() const { return streams_.out.held(); }
  uint64_t in_flight() const { return streams_.out.in_flight(); }
  uint64_t backlog() const { return streams_.out.backlog(); }
  bool has_session() const { return has_session_; }
  const v2::SessionId &session_id() const { return id_; }
  // The last failure: its reason (SC_REASON_* values).
  Reason last_failure() const { return last_failure_; }
  uint64_t last_rtt_ms() const { return last_rtt_ms_; }
  const ClientCounters &counters() const { return counters_; }

 private:
  class Events;
  void request();
  void on_answer();
  void start_link(uint64_t peer_base, uint64_t resend_from);
  void write_out(bool force_ack);
  void fail(Reason why, bool session_lost);
  void emit(const ClientEvent &e);
  void deliver(const uint8_t *data, size_t n);

  State state_ = State::kOpening;
  uint8_t server_key_[noise::kDhSize];
  uint32_t window_;
  bool request_due_ = true;    // the first request waits for the first poll
  bool write_due_ = false;     // sent to since the last write
  uint64_t resume_count_ = 0;  // the count the resume request gave
  bool has_session_ = false;
  v2::SessionId id_;
  uint8_t secret_[v2::kResumeSecretSize] = {};
  v2::StorageCache stream_storage_;  // before the streams that use it
  v2::Streams streams_;
  std::unique_ptr<noise::HandshakeState> hs_;
  std::unique_ptr<v2::Link> link_;
  uint8_t answer_[v2::kNewAnswerSize] = {};
  size_t answer_have_ = 0;
  uint64_t ping_token_ = 0, ping_sent_ms_ = 0, last_rtt_ms_ = 0;
  bool ping_out_ = false;
  Clock clock_;
  Reason last_failure_ = Reason::kNone;
  bool events_enabled_ = false;
  ClientCounters counters_;
  Queue queue_;
};

}  // namespace sc

#endif
