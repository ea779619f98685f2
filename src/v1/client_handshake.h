// The client's side of a version 1 handshake: it writes the request (a new
// connection with a fresh key, or a reuse request naming the client's
// position) and collects the server's reply, whatever pieces it comes in
// (docs/PROTOCOL.md sections 3 and 4).
#ifndef SC_V1_CLIENT_HANDSHAKE_H
#define SC_V1_CLIENT_HANDSHAKE_H

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/assembler.h"
#include "v1/wire.h"

namespace sc {
namespace v1 {

class ClientHandshake {
 public:
  // Draws a new private key; returns the new-connection request to send.
  NewRequest start_new();
  // The reuse request of a client that has received `received` bytes, with
  // `fingerprint` at the last 256-byte boundary not above that.
  ReuseRequest start_reuse(uint64_t received, uint32_t fingerprint);

  RequestKind kind() const { return kind_; }
  // Takes reply bytes from the front of [data, data + n), advancing past
  // them; true once the whole reply is there.
  bool feed(const uint8_t *&data, size_t &n) { return reply_.fill(data, n, kReplySize); }
  // The reply, once feed() returned true.
  NewReply new_reply() const { return NewReply::decode(reply_.data()); }
  ReuseReply reuse_reply() const { return ReuseReply::decode(reply_.data()); }

  // The DH shared secret with the server of a NewReply.
  uint64_t shared_secret(const NewReply &reply) const;
  // The auth code that answers `challenge`, for a session with `secret`.
  static void write_auth(uint64_t challenge, uint64_t secret, std::vector<uint8_t> &out);

 private:
  RequestKind kind_ = RequestKind::kNew;
  uint64_t private_key_ = 0;
  Assembler<kReplySize> reply_;
};

}  // namespace v1
}  // namespace sc

#endif
