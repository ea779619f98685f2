// The server's side of a version 2 handshake on one socket: it reads the
// request (new session or resume) in any pieces, answers with the status byte
// and, when accepted, the second Noise message, and hands the pool the
// transport keys. Everything the pool decides (the handshake cap, the budget,
// which sessions exist) it asks its host.
#ifndef SC_V2_SERVER_HANDSHAKE_H
#define SC_V2_SERVER_HANDSHAKE_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/handshake.h"
#include "noise/noise.h"
#include "v2/link.h"
#include "v2/wire.h"

namespace sc {
namespace v2 {

class ServerHandshakeHost {
 public:
  struct Target {
    int id = 0;                              // 0: no such session
    const uint8_t *resume_secret = nullptr;  // kResumeSecretSize bytes
    uint64_t acked = 0;                      // the highest count the client acknowledged
    uint64_t sent = 0;                       // server->client bytes ever placed in records
    uint64_t received = 0;                   // client->server bytes the session has
  };
  // Where the answer to this socket goes.
  virtual std::vector<uint8_t> &answer_buffer() = 0;
  // The pool's static private key (made into a key object once), server id,
  // and the window of its new sessions.
  virtual const crypto::DhKey &static_key() = 0;
  virtual uint16_t server_id() = 0;
  virtual uint32_t window() = 0;
  // False if the pool does not accept version 2 (no key, or refused by its
  // settings): a complete request is then answered "not supported".
  virtual bool accepting() { return true; }
  // True if the handshake cap leaves no room for this complete request.
  virtual bool busy() = 0;
  // kNone if a new session can be made room for.
  virtual Reason admit_new_session() = 0;
  virtual bool session_id_taken(const SessionId &id) = 0;
  virtual Target find_session(const SessionId &id) = 0;

 protected:
  ~ServerHandshakeHost() = default;
};

class ServerHandshake {
 public:
  ServerHandshake() = default;
  ~ServerHandshake();
  ServerHandshake(const ServerHandshake &) = delete;
  ServerHandshake &operator=(const ServerHandshake &) = delete;

  // Takes the socket's next bytes, from its very first (the preamble). On
  // kRefused the status byte, if the contract gives one, is already in the
  // answer buffer: the pool sends it, then closes. On kNewSession and kResume
  // the answer is queued; `rest` is the first bytes of records.
  HandshakeStep feed(ServerHandshakeHost &host, const uint8_t *data, size_t n);

  // After kNewSession: the new session's id, resume secret and the client's window.
  const SessionId &session_id() const { return session_id_; }
  const uint8_t *resume_secret() const { return resume_secret_; }
  uint32_t client_window() const { return client_window_; }
  // After kResume: the session, and the counts the two messages gave (the
  // client's received, the server's).
  int resumed_id() const { return resumed_id_; }
  uint64_t client_received() const { return client_received_; }
  uint64_t told_received() const { return told_received_; }
  // After either: the transport keys, into a link's two cipher states.
  bool split(Link &link);
  // The status byte of the last refusal that had one (kAccepted if none).
  Status refused_with() const { return refused_with_; }

 private:
  HandshakeStep answer_new(ServerHandshakeHost &host);
  HandshakeStep answer_resume(ServerHandshakeHost &host);
  HandshakeStep refuse(ServerHandshakeHost &host, Status status, Reason why);
  // Queues status 0 and the second message with `payload`.
  bool answer(ServerHandshakeHost &host, const uint8_t *payload, size_t n);

  uint8_t buf_[kMaxRequestSize] = {};
  size_t have_ = 0;
  bool answered_ = false;
  std::unique_ptr<noise::HandshakeState> hs_;
  SessionId session_id_;
  uint8_t resume_secret_[kResumeSecretSize] = {};
  uint32_t client_window_ = 0;
  int resumed_id_ = 0;
  uint64_t client_received_ = 0, told_received_ = 0;
  Status refused_with_ = Status::kAccepted;
};

}  // namespace v2
}  // namespace sc

#endif
