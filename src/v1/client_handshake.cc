#include "v1/client_handshake.h"

#include "base/random.h"
#include "v1/dh64.h"
#include "v1/hash64.h"

namespace sc {
namespace v1 {

NewRequest ClientHandshake::start_new() {
  private_key_ = random_nonzero_u64(RandomSide::kClient);
  kind_ = RequestKind::kNew;
  reply_.clear();
  return NewRequest{dh64::public_key(private_key_)};
}

ReuseRequest ClientHandshake::start_reuse(uint64_t received, uint32_t fingerprint) {
  kind_ = RequestKind::kReuse;
  reply_.clear();
  return ReuseRequest{received, fingerprint};
}

uint64_t ClientHandshake::shared_secret(const NewReply &reply) const {
  return dh64::shared_secret(reply.server_public, private_key_);
}

void ClientHandshake::write_auth(uint64_t challenge, uint64_t secret, std::vector<uint8_t> &out) {
  AuthCode{hash64(challenge, secret)}.encode(out);
}

}  // namespace v1
}  // namespace sc
