// The server's side of a version 1 handshake on one socket: it reads the
// request (new connection or reuse), answers it, and checks the client's
// auth code (docs/PROTOCOL.md sections 3 to 5). Any split of the input, down
// to one byte per call, behaves the same.
#ifndef SC_V1_SERVER_HANDSHAKE_H
#define SC_V1_SERVER_HANDSHAKE_H

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/assembler.h"
#include "core/handshake.h"
#include "v1/wire.h"

namespace sc {
namespace v1 {

// What the handshake needs from its pool.
class ServerHandshakeHost {
 public:
  struct Target {
    int id = 0;             // the session a reuse request names; 0: none
    uint64_t received = 0;  // client->server bytes that session has
  };
  // Where the answer to this socket goes.
  virtual std::vector<uint8_t> &answer_buffer() = 0;
  // The session `request` names, or none with *why set.
  virtual Target find_session(const ReuseRequest &request, Reason *why) = 0;
  // kNone if a new session could be made room for, else why not.
  virtual Reason admit_new_session() = 0;
  // The DH secret of session `id`; false once there is no such session.
  virtual bool session_secret(int id, uint64_t *secret) = 0;

 protected:
  ~ServerHandshakeHost() = default;
};

class ServerHandshake {
 public:
  // Takes the socket's next bytes. A request followed by more bytes in the
  // same call is refused: a client sends nothing until it has the answer.
  HandshakeStep feed(ServerHandshakeHost &host, const uint8_t *data, size_t n);

  // After kNewSession: the DH shared secret the client proved it has.
  uint64_t secret() const { return secret_; }
  // After kResume: the session, the server->client position the client
  // has, and the client->server count the answer gave it.
  int session_id() const { return session_id_; }
  uint64_t client_received() const { return client_received_; }
  uint64_t told_received() const { return told_received_; }

 private:
  enum class Stage : uint8_t { kRequest, kAuth };

  HandshakeStep answer_new(ServerHandshakeHost &host);
  HandshakeStep answer_reuse(ServerHandshakeHost &host);

  Stage stage_ = Stage::kRequest;
  RequestKind kind_ = RequestKind::kNew;
  Assembler<kMaxMessageSize> buf_;
  uint64_t secret_ = 0;  // new connection: the DH shared secret
  uint64_t challenge_ = 0;
  int session_id_ = 0;
  uint64_t client_received_ = 0;
  uint64_t told_received_ = 0;
};

}  // namespace v1
}  // namespace sc

#endif
