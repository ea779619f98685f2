#include "client/client.h"

#include <algorithm>

#include "base/bytes.h"
#include "v1/dh64.h"
#include "v1/hash64.h"
#include "base/random.h"

namespace sc {

namespace {

constexpr size_t kReplySize = 16;
// connection_message.sz is an int: no message may be larger than this.
constexpr size_t kMaxMessage = size_t{1} << 30;

}  // namespace

Client::Client(size_t window) : window_(window), resend_(window) { start_new_session(); }

bool Client::set_window(size_t bytes) {
  if (resend_.end() > 0) return false;
  window_ = bytes;
  resend_.reset(bytes);
  return true;
}

void Client::emit(const ClientEvent &e) {
  if (events_enabled_) in_.push_back(In{In::What::kEvent, {}, e});
}

std::vector<uint8_t> &Client::out_buffer() {
  if (out_.empty() || out_.back().bytes.size() >= kMaxMessage) {
    out_.push_back(Out{buffers_.take(), 0});  // handshake bytes alone carry no stream position
  }
  return out_.back().bytes;
}

void Client::mark_out_end() {
  if (!out_.empty()) out_.back().stream_end = resend_.end();
}

void Client::start_new_session() {
  private_key_ = random_nonzero_u64(RandomSide::kClient);
  has_session_ = false;
  state_ = State::kOpening;
  reply_have_ = 0;
  std::vector<uint8_t> &out = out_buffer();
  append_le64(out, 0);
  append_le64(out, dh64::public_key(private_key_));
}

void Client::handshake() {
  if (state_ == State::kDead) return;
  out_.clear();
  // A reuse request that says "received 0" would read as a new connection, so
  // a client that has received nothing must start over (PROTOCOL.md 3.3).
  if (!has_session_ || received_ == 0) {
    if (has_session_) {
      ++counters_.resets;
      ClientEvent e;
      e.type = ClientEventType::kSessionReset;
      e.lost_bytes = resend_.end();
      emit(e);
    }
    start_new_session();
    return;
  }
  state_ = State::kResuming;
  reply_have_ = 0;
  std::vector<uint8_t> &out = out_buffer();
  append_le64(out, received_);
  append_le32(out, fp_boundary_);
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
    resend_.append(out.data() + at, chunk);
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
    const size_t take = std::min(n, kReplySize - reply_have_);
    std::copy(data, data + take, reply_ + reply_have_);
    reply_have_ = static_cast<uint8_t>(reply_have_ + take);
    data += take;
    n -= take;
    if (reply_have_ < kReplySize) return;
    if (state_ == State::kOpening)
      on_new_reply();
    else
      on_reuse_reply();
    if (state_ != State::kEstablished) return;
  }
  if (n > 0) deliver(data, n);
}

void Client::on_new_reply() {
  const uint64_t server_public = load_le64(reply_);
  const uint64_t challenge = load_le64(reply_ + 8);
  secret_ = dh64::shared_secret(server_public, private_key_);
  encoder_ = StreamCipher(secret_);
  decoder_ = StreamCipher(secret_);
  fp_running_ = fp_boundary_ = decoder_.initial_fingerprint();
  resend_.reset(window_);
  handed_out_ = 0;
  received_ = 0;
  has_session_ = true;
  state_ = State::kEstablished;
  append_le64(out_buffer(), hash64(challenge, secret_));
  ++counters_.sessions_opened;
  ClientEvent e;
  e.type = ClientEventType::kConnected;
  emit(e);
  flush_pending();
}

void Client::on_reuse_reply() {
  const uint64_t server_received = load_le64(reply_);
  const uint64_t challenge = load_le64(reply_ + 8);
  // The server must be missing only bytes we still hold.
  if (!resend_.holds_from(server_received)) {
    die(Reason::kWindowExceeded);
    return;
  }
  state_ = State::kEstablished;
  handed_out_ = server_received;
  std::vector<uint8_t> &out = out_buffer();
  append_le64(out, hash64(challenge, secret_));
  const ResendBuffer::Span missed = resend_.range_from(server_received);
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
    if (in_.empty() || in_.back().what != In::What::kData || in_.back().bytes.size() >= kMaxMessage)
      in_.push_back(In{In::What::kData, buffers_.take(), {}});
    std::vector<uint8_t> &dst = in_.back().bytes;
    const size_t take = std::min(n, kMaxMessage - dst.size());
    size_t at = dst.size();
    dst.resize(at + take);
    // Decrypt in pieces that end on 256-byte boundaries of the stream, where
    // the fingerprint a later reuse request names is taken.
    for (size_t done = 0; done < take;) {
      const size_t room = static_cast<size_t>(kBoundary - received_ % kBoundary);
      const size_t chunk = std::min(room, take - done);
      if (form_ == FingerprintForm::kCiphertext)
        decoder_.apply(data + done, dst.data() + at, chunk, &fp_running_, nullptr);
      else
        decoder_.apply(data + done, dst.data() + at, chunk, nullptr, &fp_running_);
      received_ += chunk;
      if (received_ % kBoundary == 0) fp_boundary_ = fp_running_;
      done += chunk;
      at += chunk;
    }
    data += take;
    n -= take;
  }
}

void Client::die(Reason why) {
  if (why != Reason::kNone) {
    ++counters_.refused;
    ClientEvent e;
    e.type = ClientEventType::kRefused;
    e.reason = why;
    emit(e);
  }
  state_ = State::kDead;
  out_.clear();
  pending_.clear();
  in_.push_back(In{In::What::kEnd, {}, {}});  // the empty IN message that reports the end
}

void Client::drop() {
  if (state_ == State::kDead) return;
  die(Reason::kNone);
}

Client::Message Client::poll(bool with_events) {
  Message m;
  buffers_.give(std::move(current_));
  current_.clear();
  // Skip a message a failed allocation left empty.
  while (!out_.empty() && out_.front().bytes.empty()) out_.pop_front();
  if (!out_.empty()) {
    Out &o = out_.front();
    current_ = std::move(o.bytes);
    handed_out_ = std::max(handed_out_, o.stream_end);
    out_.pop_front();
    m.kind = Kind::kOut;
    m.data = current_.empty() ? nullptr : current_.data();
    m.size = current_.size();
    return m;
  }
  while (!in_.empty()) {
    In &i = in_.front();
    if (i.what == In::What::kEvent) {
      const ClientEvent e = i.event;
      in_.pop_front();
      if (!with_events) continue;
      m.kind = Kind::kEvent;
      m.event = e;
      return m;
    }
    current_ = std::move(i.bytes);
    in_.pop_front();
    m.kind = Kind::kIn;
    m.data = current_.empty() ? nullptr : current_.data();
    m.size = current_.size();
    return m;
  }
  current_.clear();
  return m;
}

}  // namespace sc
