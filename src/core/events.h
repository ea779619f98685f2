// What the pool and the client report when the application asks: events,
// the reasons behind them, and running counters. The values equal the SC_*
// constants of the extension header (the C shim checks this at compile time).
#ifndef SC_CORE_EVENTS_H
#define SC_CORE_EVENTS_H

#include <cstdint>

namespace sc {

enum class Reason : int {
  kNone = 0,
  kByApplication = 1,
  kExpired = 2,
  kBacklog = 3,
  kBadAuth = 4,
  kUnknownSession = 5,
  kWindowExceeded = 6,
  kMalformed = 7,
  kTimedOut = 8,
  kTooManyHandshakes = 9,
  kNoResources = 10,
  kEvicted = 11,
  kPoolFull = 12,
  kNotSupported = 13,
  kBusy = 14,
  kRejected = 15,
  kProtocolError = 16,
};
constexpr int kMaxReason = 16;

const char *reason_string(int reason);

enum class PoolEventType : int {
  kSessionOpened = 1,
  kSessionResumed = 2,
  kSessionDetached = 3,
  kSessionClosed = 4,
  kHandshakeRefused = 5,
};

struct PoolEvent {
  PoolEventType type = PoolEventType::kSessionOpened;
  int version = 0;  // of the session, or of the refused request (0: not known yet)
  int id = 0;
  int fd = -1;
  int old_fd = -1;
  Reason reason = Reason::kNone;
  uint64_t resent_bytes = 0;
  uint64_t detached_ms = 0;
};

struct PoolCounters {
  uint64_t sessions_opened = 0;
  uint64_t reuses = 0;
  uint64_t refused[kMaxReason + 1] = {};
  uint64_t closed[kMaxReason + 1] = {};
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t bytes_resent = 0;
  uint64_t bytes_held = 0;
  uint64_t detaches = 0;
  // Version 2 (also counted in the totals above).
  uint64_t sessions_opened_v2 = 0;
  uint64_t reuses_v2 = 0;
  uint64_t v2_busy = 0;  // requests answered status 0x02, whatever the reason
};

enum class ClientEventType : int {
  kConnected = 11,
  kResumed = 12,
  kRefused = 13,
  kSessionReset = 14,
  kPong = 15,
};

struct ClientEvent {
  ClientEventType type = ClientEventType::kConnected;
  Reason reason = Reason::kNone;
  uint64_t resent_bytes = 0;
  uint64_t lost_bytes = 0;
  uint64_t rtt_ms = 0;  // kPong: the round trip, by the client's clock
};

struct ClientCounters {
  uint64_t sessions_opened = 0;
  uint64_t reuses = 0;
  uint64_t refused = 0;
  uint64_t resets = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t bytes_resent = 0;
  uint64_t pongs = 0;
};

}  // namespace sc

#endif
