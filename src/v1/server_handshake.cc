#include "v1/server_handshake.h"

#include "base/random.h"
#include "v1/dh64.h"
#include "v1/hash64.h"

namespace sc {
namespace v1 {

HandshakeStep ServerHandshake::feed(ServerHandshakeHost &host, const uint8_t *data, size_t n) {
  if (stage_ == Stage::kRequest) {
    // The first bytes tell the kind, and so the size, of the request.
    if (!buf_.fill(data, n, kKindSize)) return HandshakeStep::more();
    kind_ = request_kind(buf_.data());
    const size_t size = request_size(kind_);
    if (buf_.size() + n > size) return HandshakeStep::refused(Reason::kMalformed);
    if (!buf_.fill(data, n, size)) return HandshakeStep::more();
    return kind_ == RequestKind::kNew ? answer_new(host) : answer_reuse(host);
  }
  if (!buf_.fill(data, n, AuthCode::kSize)) return HandshakeStep::more();
  const uint64_t code = AuthCode::decode(buf_.data()).code;
  if (kind_ == RequestKind::kNew) {
    if (!codes_equal(code, hash64(challenge_, secret_))) return HandshakeStep::refused(Reason::kBadAuth);
    return HandshakeStep::done(HandshakeStep::Kind::kNewSession, data, n);
  }
  // The session may have ended since the answer.
  uint64_t secret = 0;
  if (!host.session_secret(session_id_, &secret)) return HandshakeStep::refused(Reason::kUnknownSession);
  if (!codes_equal(code, hash64(challenge_, secret))) return HandshakeStep::refused(Reason::kBadAuth);
  return HandshakeStep::done(HandshakeStep::Kind::kResume, data, n);
}

HandshakeStep ServerHandshake::answer_new(ServerHandshakeHost &host) {
  // Refused before any work when the session could not be kept anyway.
  const Reason full = host.admit_new_session();
  if (full != Reason::kNone) return HandshakeStep::refused(full);
  uint64_t client_public = NewRequest::decode(buf_.data()).client_public;
  if (client_public == 0) client_public = 1;
  const uint64_t private_key = random_nonzero_u64(RandomSide::kServer);
  challenge_ = random_u64(RandomSide::kServer);
  secret_ = dh64::shared_secret(client_public, private_key);
  stage_ = Stage::kAuth;
  buf_.clear();
  NewReply{dh64::public_key(private_key), challenge_}.encode(host.answer_buffer());
  return HandshakeStep::more();
}

HandshakeStep ServerHandshake::answer_reuse(ServerHandshakeHost &host) {
  const ReuseRequest request = ReuseRequest::decode(buf_.data());
  Reason why = Reason::kUnknownSession;
  const ServerHandshakeHost::Target target = host.find_session(request, &why);
  if (target.id == 0) return HandshakeStep::refused(why);
  challenge_ = random_u64(RandomSide::kServer);
  // Only what the lookup read is used: the session itself stays out of the
  // cache until the client proves it owns it.
  session_id_ = target.id;
  client_received_ = request.received;
  told_received_ = target.received;
  stage_ = Stage::kAuth;
  buf_.clear();
  ReuseReply{told_received_, challenge_}.encode(host.answer_buffer());
  return HandshakeStep::more();
}

}  // namespace v1
}  // namespace sc
