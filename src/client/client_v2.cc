#include "client/client_v2.h"

#include <algorithm>
#include <cstring>

#include "base/copy.h"
#include "base/failure.h"
#include "base/random.h"
#include "crypto/primitives.h"

namespace sc {

class ClientV2::Events final : public v2::LinkEvents {
 public:
  explicit Events(ClientV2 &c) : c_(c) {}
  void data(const uint8_t *p, size_t n) override { c_.deliver(p, n); }
  void pong(uint64_t token) override {
    if (!c_.ping_out_ || token != c_.ping_token_) return;  // one nobody asked for
    c_.ping_out_ = false;
    ++c_.counters_.pongs;
    const uint64_t now = c_.clock_.now();
    c_.last_rtt_ms_ = now >= c_.ping_sent_ms_ ? now - c_.ping_sent_ms_ : 0;
    ClientEvent e;
    e.type = ClientEventType::kPong;
    e.rtt_ms = c_.last_rtt_ms_;
    c_.emit(e);
  }

 private:
  ClientV2 &c_;
};

namespace {
uint32_t clamp_window(size_t w) {
  return static_cast<uint32_t>(std::min<size_t>(std::max<size_t>(w, v2::kMinWindow), v2::kMaxWindow));
}
}  // namespace

ClientV2::ClientV2(const uint8_t *server_key, size_t window)
    : window_(clamp_window(window)), streams_(clamp_window(window), 0, &stream_storage_) {
  std::memcpy(server_key_, server_key, sizeof server_key_);
}

ClientV2::~ClientV2() { crypto::cleanse(secret_, sizeof secret_); }

bool ClientV2::set_window(size_t bytes) {
  if (!request_due_ || has_session_ || bytes < v2::kMinWindow || bytes > v2::kMaxWindow) return false;
  window_ = static_cast<uint32_t>(bytes);
  streams_.out = v2::Outbound(window_);
  return true;
}

bool ClientV2::adopt_session(const v2::SessionId &id, const uint8_t *resume_secret) {
  if (has_session_ || state_ == State::kDead) return false;
  has_session_ = true;
  id_ = id;
  std::memcpy(secret_, resume_secret, sizeof secret_);
  if (state_ == State::kOpening) state_ = State::kResuming;
  return true;
}

// The request for this socket: a resume once a session exists, else a new session.
void ClientV2::request() {
  request_due_ = false;
  ping_out_ = false;  // a PING on the old connection gets no answer now
  link_.reset();
  answer_have_ = 0;
  hs_.reset(new noise::HandshakeState);
  uint8_t msg[v2::kMaxRequestSize], plain[v2::NewRequestPayload::kSize], e[noise::kDhSize];
  random_fill(RandomSide::kClient, e, sizeof e);
  bool ok;
  size_t size;
  if (!has_session_) {
    const size_t pro = v2::write_prologue(msg, v2::Kind::kNew, nullptr);
    v2::NewRequestPayload{window_, 0}.encode(plain);
    ok = hs_->initialize(noise::Pattern::kNK, true, msg, pro, nullptr, server_key_, nullptr) &&
         hs_->write_message(e, plain, v2::NewRequestPayload::kSize, msg + pro);
    size = v2::kNewRequestSize;
    state_ = State::kOpening;
  } else {
    const size_t pro = v2::write_prologue(msg, v2::Kind::kResume, &id_);
    resume_count_ = streams_.in.received;
    v2::ResumePayload{resume_count_}.encode(plain);
    ok = hs_->initialize(noise::Pattern::kNNpsk0, true, msg, pro, nullptr, nullptr, secret_) &&
         hs_->write_message(e, plain, v2::ResumePayload::kSize, msg + pro);
    size = v2::kResumeRequestSize;
    state_ = State::kResuming;
  }
  crypto::cleanse(e, sizeof e);
  if (!ok) {
    fail(Reason::kNoResources, true);
    return;
  }
  std::vector<uint8_t> &out = queue_.output_for(-1, nullptr);
  out.insert(out.end(), msg, msg + size);
}

void ClientV2::handshake() {
  if (state_ == State::kDead) return;
  queue_.drop_output();
  request();
}

void ClientV2::send(const uint8_t *data, size_t n) {
  if (state_ == State::kDead) return;
  if (n == 0) {
    handshake();
    return;
  }
  if (!data) return;
  streams_.out.append(data, n);
  counters_.bytes_out += n;
  // Records are made at the next poll: what is sent between two polls
  // travels in as few records as fit.
  write_due_ = true;
}

void ClientV2::receive(const uint8_t *data, size_t n) {
  if (state_ == State::kDead || state_ == State::kBroken || n == 0 || !data) return;
  if (request_due_) return;  // nothing was sent on this socket yet
  if (state_ == State::kOpening || state_ == State::kResuming) {
    if (answer_have_ == 0) {
      answer_[answer_have_++] = *data++;
      --n;
      switch (v2::status_from_byte(answer_[0])) {
        case v2::Status::kAccepted:
          break;
        case v2::Status::kNotSupported:
          fail(Reason::kNotSupported, true);
          return;
        case v2::Status::kBusy:
          fail(Reason::kBusy, false);  // the session is kept: try another socket later
          return;
        case v2::Status::kUnknownSession:
          // In answer to a new-session request it reads as a rejection.
          fail(state_ == State::kOpening ? Reason::kRejected : Reason::kUnknownSession, true);
          return;
        case v2::Status::kRejected:
          fail(Reason::kRejected, true);
          return;
      }
    }
    const size_t want = state_ == State::kOpening ? v2::kNewAnswerSize : v2::kResumeAnswerSize;
    const size_t take = std::min(n, want - answer_have_);
    std::memcpy(answer_ + answer_have_, data, take);
    answer_have_ += take;
    data += take;
    n -= take;
    if (answer_have_ < want) return;
    on_answer();
    if (state_ != State::kEstablished) return;
  }
  if (n == 0) return;
  Events events(*this);
  bool got_data = false;
  const v2::Link::Read r = link_->read(streams_, data, n, events, &got_data);
  if (r == v2::Link::Read::kError) {
    fail(Reason::kProtocolError, false);  // this connection only: resume on another
    return;
  }
  if (r == v2::Link::Read::kClosed) {
    // The server ended the session: its data came first, then the end.
    state_ = State::kDead;
    queue_.drop_output();
    queue_.push_end();
    return;
  }
  write_out(link_->acknowledge_all(got_data));
}

void ClientV2::on_answer() {
  uint8_t plain[v2::NewAnswerPayload::kSize];
  const size_t want = state_ == State::kOpening ? v2::kNewAnswerSize : v2::kResumeAnswerSize;
  if (!hs_->read_message(answer_ + v2::kStatusSize, want - v2::kStatusSize, plain)) {
    // A new session may try again; a resume keeps its session.
    fail(Reason::kProtocolError, false);
    return;
  }
  if (state_ == State::kOpening) {
    const v2::NewAnswerPayload a = v2::NewAnswerPayload::decode(plain);
    if (!v2::window_in_range(a.window)) {
      fail(Reason::kProtocolError, false);
      return;
    }
    has_session_ = true;
    id_ = a.id;
    std::memcpy(secret_, a.resume_secret, sizeof secret_);
    streams_.peer_window = a.window;
    start_link(0, 0);
    if (!link_) return;
    ++counters_.sessions_opened;
    ClientEvent e;
    e.type = ClientEventType::kConnected;
    emit(e);
  } else {
    const uint64_t theirs = v2::ResumePayload::decode(plain).received;
    // The server's count must lie between its last acknowledgement and what
    // was sent; otherwise the session cannot go on.
    if (!streams_.out.ack(theirs)) {
      fail(Reason::kProtocolError, true);
      return;
    }
    const uint64_t resent = streams_.out.sent() - theirs;
    start_link(resume_count_, theirs);
    if (!link_) return;
    ++counters_.reuses;
    counters_.bytes_resent += resent;
    ClientEvent e;
    e.type = ClientEventType::kResumed;
    e.resent_bytes = resent;
    emit(e);
  }
  crypto::cleanse(plain, sizeof plain);
  // The first record: an ACK, the resend, then the backlog.
  write_out(false);
}

void ClientV2::start_link(uint64_t peer_base, uint64_t resend_from) {
  link_.reset(new v2::Link);
  if (!hs_->split(link_->send_cipher(), link_->receive_cipher())) {
    link_.reset();
    fail(Reason::kNoResources, false);
    return;
  }
  hs_.reset();
  link_->start(streams_, peer_base, resend_from, true, false);
  state_ = State::kEstablished;
}

void ClientV2::write_out(bool force_ack) {
  if (!link_ || !link_->wants_write(streams_, force_ack)) return;
  if (!link_->write(streams_, queue_.output_for(-1, nullptr), force_ack)) fail(Reason::kNoResources, false);
}

void ClientV2::close() {
  if (state_ == State::kDead) return;
  if (state_ == State::kEstablished && link_) {
    // What was sent since the last poll goes into records first.
    if (write_due_) {
      write_due_ = false;
      write_out(false);
    }
    link_->close(streams_, 0);
    write_out(false);
  }
  // The CLOSE stays queued for the socket; then the end.
  state_ = State::kDead;
  queue_.push_end();
}

bool ClientV2::ping(uint64_t token) {
  if (state_ != State::kEstablished || !link_) return false;
  ping_token_ = token;
  ping_out_ = true;
  ping_sent_ms_ = clock_.now();
  link_->ping(token);
  write_out(false);
  return true;
}

void ClientV2::fail(Reason why, bool session_lost) {
  last_failure_ = why;
  link_.reset();
  hs_.reset();
  queue_.drop_output();
  ++counters_.refused;
  ClientEvent e;
  e.type = ClientEventType::kRefused;
  e.reason = why;
  emit(e);
  if (session_lost) {
    state_ = State::kDead;
    queue_.push_end();
  } else {
    state_ = State::kBroken;
  }
}

void ClientV2::drop() {
  if (state_ == State::kDead) return;
  state_ = State::kDead;
  link_.reset();
  queue_.drop_output();
  queue_.push_end();
}

void ClientV2::deliver(const uint8_t *data, size_t n) {
  counters_.bytes_in += n;
  while (n > 0) {
    std::vector<uint8_t> &dst = queue_.input_for(0);
    const size_t take = std::min(n, Queue::max_message() - dst.size());
    grow_for(dst, take);
    append_bytes(dst, data, take);
    data += take;
    n -= take;
  }
}

void ClientV2::emit(const ClientEvent &e) {
  if (events_enabled_) queue_.push_event(0, e);
}

ClientV2::Message ClientV2::poll(bool with_events) {
  if (request_due_ && (state_ == State::kOpening || state_ == State::kResuming)) request();
  if (write_due_ && state_ == State::kEstablished) {
    write_due_ = false;
    SC_TRY {
      write_out(false);
    }
    SC_CATCH_ALL {
      drop();  // no memory for the records: the connection is given up, as a failed send does
    }
  }
  return queue_.poll(with_events, [](const OutMessage &, bool) {});
}

}  // namespace sc
