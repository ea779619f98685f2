#include "core/events.h"

namespace sc {

const char *reason_string(int reason) {
  switch (static_cast<Reason>(reason)) {
    case Reason::kNone: return "none";
    case Reason::kByApplication: return "closed by the application";
    case Reason::kExpired: return "not resumed within the reuse timeout";
    case Reason::kBacklog: return "more unsent data than the window while detached";
    case Reason::kBadAuth: return "auth code did not verify";
    case Reason::kUnknownSession: return "reuse request names no session";
    case Reason::kWindowExceeded: return "peer misses more than is held for resending";
    case Reason::kMalformed: return "handshake bytes break the protocol";
    case Reason::kTimedOut: return "handshake timed out";
    case Reason::kTooManyHandshakes: return "too many sockets in the handshake";
    case Reason::kNoResources: return "out of memory or randomness";
    case Reason::kEvicted: return "detached session ended to make room in the pool's budget";
    case Reason::kPoolFull: return "the pool's budget is taken by sessions with a socket";
    case Reason::kNotSupported: return "the server does not accept this protocol version";
    case Reason::kBusy: return "the server has too many handshakes in progress";
    case Reason::kRejected: return "the request did not verify or broke a rule";
    case Reason::kProtocolError: return "a record or message did not verify or broke the protocol";
  }
  return "unknown reason";
}

}  // namespace sc
