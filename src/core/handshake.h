// What a server handshake tells its pool after each piece of input. Every
// protocol version's server handshake is a state machine that takes the
// socket's bytes as they come (feed()) and answers with one of these; the
// pool does the rest (refusing the socket, creating or moving the session).
#ifndef SC_CORE_HANDSHAKE_H
#define SC_CORE_HANDSHAKE_H

#include <cstddef>
#include <cstdint>

#include "core/events.h"

namespace sc {

struct HandshakeStep {
  enum class Kind : uint8_t {
    kMore,        // waiting for more bytes (an answer may have been queued)
    kRefused,     // close the socket, for `reason`
    kNewSession,  // the client proved it owns a new session
    kResume,      // the client proved it owns the session it named
  };
  Kind kind = Kind::kMore;
  Reason reason = Reason::kNone;
  // kNewSession, kResume: the bytes after the handshake, stream data.
  const uint8_t *rest = nullptr;
  size_t rest_size = 0;

  static HandshakeStep more() { return HandshakeStep{}; }
  static HandshakeStep refused(Reason why) { return HandshakeStep{Kind::kRefused, why, nullptr, 0}; }
  static HandshakeStep done(Kind kind, const uint8_t *rest, size_t n) { return HandshakeStep{kind, Reason::kNone, rest, n}; }
};

}  // namespace sc

#endif
