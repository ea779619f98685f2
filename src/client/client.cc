#include "client/client.h"

#include <algorithm>

namespace sc {

Client::Client(size_t window) : window_(window), out_(window) { start_new_session(); }

bool Client::set_window(size_t bytes) {
  if (out_.sent() > 0) return false;
  window_ = bytes;
  out_.reset(bytes);
  return true;
}

void Client::emit(const ClientEvent &e) {
  if (events_enabled_) queue_.push_event(0, e);
}

std::vector<uint8_t> &Client::out_buffer() { return queue_.output_for(-1, nullptr); }

void Client::mark_out_end() {
  if (queue_.has_output()) queue_.last_output().stream_end = out_.sent();
}

void Client::start_new_session() {
  const v1::NewRequest request = hs_.start_new();
  has_session_ = false;
  state_ = State::kOpening;
  request.encode(out_buffer());
}

void Client::handshake() {
  if (state_ == State::kDead) return;
  queue_.drop_output();
  // A reuse request that says "received 0" would read as a new connection, so
  // a client that has received nothing must start over (docs/PROTOCOL.md 6).
  if (!has_session_ || received_ == 0) {
    if (has_session_) {
      ++counters_.resets;
      ClientEvent e;
      e.type = ClientEventType::kSessionReset;
      e.lost_bytes = out_.sent();
      emit(e);
    }
    start_new_session();
    return;
  }
  state_ = State::kResuming;
  hs_.start_reuse(received_, fp_boundary_).encode(out_buffer());
}

void Client::send(const uint8_t *data, size_t n) {
  if (state_ == State::kDead) return;
  if (n == 0) {
    handshake();
    return;
  }
  if (!data) return;
  if (state_ == State::kEstablished)
    encrypt_and_queue(data, n);
  else
    pending_.insert(pending_.end(), data, data + n);
  counters_.bytes_out += n;
}

void Client::encrypt_and_queue(const uint8_t *data, size_t n) {
  while (n > 0) {
    std::vector<uint8_t> &out = out_buffer();
    const size_t chunk = std::min(n, kMaxMessage - out.size());
    const size_t at = out.size();
    out.resize(at + chunk);
    encoder_.apply(data, out.data() + at, chunk);
    out_.resend().append(out.data() + at, chunk);
    mark_out_end();
    data += chunk;
    n -= chunk;
  }
}

void Client::flush_pending() {
  if (pending_.empty()) return;
  std::vector<uint8_t> pending;
  pending.swap(pending_);
  encrypt_and_queue(pending.data(), pending.size());
}

void Client::receive(const uint8_t *data, size_t n) {
  if (state_ == State::kDead || n == 0 || !data) return;
  if (state_ != State::kEstablished) {
    if (!hs_.feed(data, n)) return;
    if (state_ == State::kOpening)
      on_new_reply();
    else
      on_reuse_reply();
    if (state_ != State::kEstablished) return;
  }
  if (n > 0) deliver(data, n);
}

void Client::on_new_reply() {
  const v1::NewReply reply = hs_.new_reply();
  secret_ = hs_.shared_secret(reply);
  // Both directions start from the same keyed state: built once, copied.
  encoder_ = StreamCipher(secret_);
  decoder_ = encoder_;
  fp_running_ = fp_boundary_ = decoder_.initial_fingerprint();
  out_.reset(window_);
  received_ = 0;
  has_session_ = true;
  state_ = State::kEstablished;
  v1::ClientHandshake::write_auth(reply.challenge, secret_, out_buffer());
  ++counters_.sessions_opened;
  ClientEvent e;
  e.type = ClientEventType::kConnected;
  emit(e);
  flush_pending();
}

void Client::on_reuse_reply() {
  const v1::ReuseReply reply = hs_.reuse_reply();
  // The server must be missing only bytes we still hold.
  if (!out_.can_resend_from(reply.received)) {
    die(Reason::kWindowExceeded);
    return;
  }
  state_ = State::kEstablished;
  out_.restart_from(reply.received);
  std::vector<uint8_t> &out = out_buffer();
  v1::ClientHandshake::write_auth(reply.challenge, secret_, out);
  const ResendBuffer::Span missed = out_.resend().range_from(reply.received);
  out.insert(out.end(), missed.first, missed.first + missed.first_size);
  out.insert(out.end(), missed.second, missed.second + missed.second_size);
  mark_out_end();
  const uint64_t resent = missed.first_size + missed.second_size;
  ++counters_.reuses;
  counters_.bytes_resent += resent;
  ClientEvent e;
  e.type = ClientEventType::kResumed;
  e.resent_bytes = resent;
  emit(e);
  flush_pending();
}

void Client::deliver(const uint8_t *data, size_t n) {
  counters_.bytes_in += n;
  while (n > 0) {
    std::vector<uint8_t> &dst = queue_.input_for(0);
    const size_t take = std::min(n, kMaxMessage - dst.size());
    size_t at = dst.size();
    dst.resize(at + take);
    // One pass of the cipher, then the fingerprint in pieces that end on
    // 256-byte boundaries of the stream, where the one a later reuse
    // request names is taken.
    uint8_t *plain = dst.data() + at;
    decoder_.apply(data, plain, take);
    const uint8_t *tracked = form_ == FingerprintForm::kCiphertext ? data : plain;
    for (size_t done = 0; done < take;) {
      const size_t room = static_cast<size_t>(kBoundary - received_ % kBoundary);
      const size_t chunk = std::min(room, take - done);
      fp_running_ = fingerprint_update(fp_running_, tracked + done, chunk);
      received_ += chunk;
      if (received_ % kBoundary == 0) fp_boundary_ = fp_running_;
      done += chunk;
    }
    data += take;
    n -= take;
  }
}

void Client::die(Reason why) {
  if (why != Reason::kNone) {
    last_failure_ = why;
    ++counters_.refused;
    ClientEvent e;
    e.type = ClientEventType::kRefused;
    e.reason = why;
    emit(e);
  }
  state_ = State::kDead;
  queue_.drop_output();
  pending_.clear();
  queue_.push_end();  // the empty IN message that reports the end
}

void Client::drop() {
  if (state_ == State::kDead) return;
  die(Reason::kNone);
}

Client::Message Client::poll(bool with_events) {
  return queue_.poll(with_events, [this](const OutMessage &o, bool handed_out) {
    if (handed_out) out_.handed_out_to(o.stream_end);
  });
}

}  // namespace sc
