#include "v2/server_handshake.h"

#include <cstring>

#include "base/random.h"
#include "crypto/primitives.h"

namespace sc {
namespace v2 {

namespace {
// Session ids are drawn again while the pool has them, this many times.
constexpr int kSessionIdDraws = 16;
}  // namespace

ServerHandshake::~ServerHandshake() {
  crypto::cleanse(resume_secret_, sizeof resume_secret_);
  crypto::cleanse(buf_, sizeof buf_);
}

HandshakeStep ServerHandshake::refuse(ServerHandshakeHost &host, Status status, Reason why) {
  refused_with_ = status;
  host.answer_buffer().push_back(static_cast<uint8_t>(status));
  return HandshakeStep::refused(why);
}

HandshakeStep ServerHandshake::feed(ServerHandshakeHost &host, const uint8_t *data, size_t n) {
  // After the answer only records come, and the pool reads those itself.
  if (answered_) return HandshakeStep::refused(Reason::kMalformed);
  // The preamble: a version this library does not speak is answered at once.
  while (have_ < kPreambleSize && n > 0) {
    buf_[have_++] = *data++;
    --n;
  }
  if (have_ < kPreambleSize) return HandshakeStep::more();
  if (classify(buf_) != FirstBytes::kV2) return refuse(host, Status::kNotSupported, Reason::kNotSupported);
  if (have_ == kPreambleSize) {
    if (n == 0) return HandshakeStep::more();
    buf_[have_++] = *data++;
    --n;
  }
  const uint8_t kind = buf_[kKindOffset];
  size_t size;
  if (kind == static_cast<uint8_t>(Kind::kNew))
    size = kNewRequestSize;
  else if (kind == static_cast<uint8_t>(Kind::kResume))
    size = kResumeRequestSize;
  else
    return HandshakeStep::refused(Reason::kMalformed);  // an unknown kind: closed, no status
  // A client sends nothing after its request until it has the answer.
  if (have_ + n > size) return HandshakeStep::refused(Reason::kMalformed);
  std::memcpy(buf_ + have_, data, n);
  have_ += n;
  if (have_ < size) return HandshakeStep::more();
  answered_ = true;
  // Answered once the whole request is in, so that the client reads the
  // status before the close (unread input would turn the close into a reset).
  if (!host.accepting()) return refuse(host, Status::kNotSupported, Reason::kNotSupported);
  return kind == static_cast<uint8_t>(Kind::kNew) ? answer_new(host) : answer_resume(host);
}

HandshakeStep ServerHandshake::answer_new(ServerHandshakeHost &host) {
  if (host.busy()) return refuse(host, Status::kBusy, Reason::kTooManyHandshakes);
  hs_.reset(new noise::HandshakeState);
  uint8_t plain[NewAnswerPayload::kSize];
  if (!hs_->initialize_responder(buf_, kNewPrologueSize, host.static_key()))
    return refuse(host, Status::kBusy, Reason::kNoResources);
  if (!hs_->read_message(buf_ + kNewPrologueSize, kNewRequestSize - kNewPrologueSize, plain))
    return refuse(host, Status::kRejected, Reason::kRejected);
  const NewRequestPayload request = NewRequestPayload::decode(plain);
  if (!window_in_range(request.window)) return refuse(host, Status::kRejected, Reason::kRejected);
  // Nothing is drawn for a session the pool could not keep.
  const Reason full = host.admit_new_session();
  if (full != Reason::kNone) return refuse(host, Status::kBusy, full);
  client_window_ = request.window;
  // The draws, in this order: the session id's random bytes (again while
  // the pool has that id), the resume secret, the ephemeral key.
  int draws = 0;
  do {
    if (++draws > kSessionIdDraws) return refuse(host, Status::kBusy, Reason::kNoResources);
    uint8_t random[kSessionIdRandomSize];
    random_fill(RandomSide::kServer, random, sizeof random);
    session_id_ = SessionId::make(host.server_id(), random);
  } while (host.session_id_taken(session_id_));
  random_fill(RandomSide::kServer, resume_secret_, sizeof resume_secret_);
  NewAnswerPayload payload;
  payload.id = session_id_;
  std::memcpy(payload.resume_secret, resume_secret_, kResumeSecretSize);
  payload.window = host.window();
  payload.encode(plain);
  const bool ok = answer(host, plain, NewAnswerPayload::kSize);
  crypto::cleanse(plain, sizeof plain);
  if (!ok) return HandshakeStep::refused(Reason::kNoResources);
  return HandshakeStep::done(HandshakeStep::Kind::kNewSession, nullptr, 0);
}

HandshakeStep ServerHandshake::answer_resume(ServerHandshakeHost &host) {
  if (host.busy()) return refuse(host, Status::kBusy, Reason::kTooManyHandshakes);
  SessionId id;
  std::memcpy(id.bytes.data(), buf_ + kSessionIdOffset, kSessionIdSize);
  const ServerHandshakeHost::Target target = host.find_session(id);
  if (target.id == 0) return refuse(host, Status::kUnknownSession, Reason::kUnknownSession);
  hs_.reset(new noise::HandshakeState);
  uint8_t plain[ResumePayload::kSize];
  if (!hs_->initialize(noise::Pattern::kNNpsk0, false, buf_, kResumePrologueSize, nullptr, nullptr,
                       target.resume_secret))
    return refuse(host, Status::kBusy, Reason::kNoResources);
  if (!hs_->read_message(buf_ + kResumePrologueSize, kResumeRequestSize - kResumePrologueSize, plain))
    return refuse(host, Status::kRejected, Reason::kRejected);  // the session is untouched
  const uint64_t received = ResumePayload::decode(plain).received;
  if (received < target.acked || received > target.sent) return refuse(host, Status::kRejected, Reason::kRejected);
  resumed_id_ = target.id;
  session_id_ = id;
  client_received_ = received;
  told_received_ = target.received;
  ResumePayload{told_received_}.encode(plain);
  if (!answer(host, plain, ResumePayload::kSize)) return HandshakeStep::refused(Reason::kNoResources);
  return HandshakeStep::done(HandshakeStep::Kind::kResume, nullptr, 0);
}

bool ServerHandshake::answer(ServerHandshakeHost &host, const uint8_t *payload, size_t n) {
  uint8_t e[noise::kDhSize];
  random_fill(RandomSide::kServer, e, sizeof e);
  uint8_t msg[kNewAnswerSize];
  msg[0] = static_cast<uint8_t>(Status::kAccepted);
  const bool ok = hs_->write_message(e, payload, n, msg + kStatusSize);
  crypto::cleanse(e, sizeof e);
  if (!ok) return false;
  std::vector<uint8_t> &out = host.answer_buffer();
  out.insert(out.end(), msg, msg + kStatusSize + noise::HandshakeState::message_size(n));
  return true;
}

bool ServerHandshake::split(Link &link) { return hs_ && hs_->split(link.receive_cipher(), link.send_cipher()); }

}  // namespace v2
}  // namespace sc
