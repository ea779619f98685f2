// The C ABI: the legacy cp_*/cc_* functions and the sc_* extension, each a
// thin noexcept wrapper that checks its arguments, forwards to the C++ core and
// turns any failure into the C convention. No exception leaves this file.
#include <cstdint>
#include <cstring>
#include <new>

#include "../connectionclient.h"
#include "../connectionserver.h"
#include "../include/stable_connection.h"
#include "../include/stable_connection_testing.h"
#include "client/client.h"
#include "base/config.h"
#include "base/failure.h"
#include "core/events.h"
#include "base/random.h"
#include "pool/server.h"

#if defined(SC_BUILDING_STATIC)
#define SC_EXPORT
#else
#define SC_EXPORT __attribute__((visibility("default")))
#endif

struct connection_pool {
  sc::Server server;
};

struct connection {
  explicit connection(size_t window) : client(window) {}
  sc::Client client;
};

namespace {

// Failure on the client side (no memory, no randomness) leaves the connection
// unusable: report it dead, as the legacy API can.
void drop_quietly(connection *c) noexcept {
  SC_TRY {
    c->client.drop();
  } SC_CATCH_ALL {
  }
}

const uint8_t *bytes(const char *p) { return reinterpret_cast<const uint8_t *>(p); }
const char *chars(const uint8_t *p) { return reinterpret_cast<const char *>(p); }

}  // namespace

// ------------------------------------------------------------------ server

extern "C" SC_EXPORT struct connection_pool *cp_new(void) {
  SC_TRY {
    return new connection_pool();
  } SC_CATCH_ALL {
    return nullptr;
  }
}

extern "C" SC_EXPORT void cp_delete(struct connection_pool *cp) { delete cp; }

extern "C" SC_EXPORT void cp_timeout(struct connection_pool *cp) {
  if (!cp) return;
  SC_TRY {
    cp->server.timeout();
  } SC_CATCH_ALL {
    // Out of memory while collecting overdue entries: retried on the next call.
  }
}

extern "C" SC_EXPORT void cp_recv(struct connection_pool *cp, int fd, const char *buffer, size_t sz) {
  if (!cp) return;
  SC_TRY {
    // Size 0 means the socket is gone, whatever the buffer: the 2014 module
    // read it that way, and callers pass read()'s result straight through.
    if (sz == 0)
      cp->server.socket_closed(fd);
    else if (buffer)
      cp->server.receive(fd, bytes(buffer), sz);
  } SC_CATCH_ALL {
    // The input could not be processed (no memory or no randomness): the
    // socket it came from can no longer be trusted to be in step.
    SC_TRY {
      cp->server.abandon_socket(fd);
    } SC_CATCH_ALL {
    }
  }
}

extern "C" SC_EXPORT void cp_send(struct connection_pool *cp, int id, const char *buffer, size_t sz) {
  if (!cp) return;
  SC_TRY {
    if (sz == 0)
      cp->server.close_session(id);
    else if (buffer)
      cp->server.send(id, bytes(buffer), sz);
  } SC_CATCH_ALL {
    // Data that cannot be kept leaves a hole in the stream: end the session.
    SC_TRY {
      cp->server.abandon_session(id);
    } SC_CATCH_ALL {
    }
  }
}

namespace {

void to_c(const sc::PoolEvent &e, sc_pool_event *ev) {
  ev->type = static_cast<int>(e.type);
  ev->id = e.id;
  ev->fd = e.fd;
  ev->old_fd = e.old_fd;
  ev->reason = static_cast<int>(e.reason);
  ev->resent_bytes = e.resent_bytes;
  ev->detached_ms = e.detached_ms;
}

int pool_poll(connection_pool *cp, pool_message *m, sc_pool_event *ev) {
  const sc::Server::Message msg = cp->server.poll(ev != nullptr);
  switch (msg.kind) {
    case sc::Server::Kind::kIn:
    case sc::Server::Kind::kOut:
      m->id = msg.id;
      m->sz = msg.size;
      m->buffer = chars(msg.data);
      return msg.kind == sc::Server::Kind::kIn ? POOL_IN : POOL_OUT;
    case sc::Server::Kind::kEvent:
      to_c(msg.event, ev);
      return SC_POOL_EVENT;
    case sc::Server::Kind::kEmpty:
      break;
  }
  return POOL_EMPTY;
}

}  // namespace

extern "C" SC_EXPORT int cp_poll(struct connection_pool *cp, struct pool_message *m) {
  if (!cp || !m) return POOL_EMPTY;
  SC_TRY {
    return pool_poll(cp, m, nullptr);
  } SC_CATCH_ALL {
    return POOL_EMPTY;
  }
}

// ------------------------------------------------------------------ client

extern "C" SC_EXPORT struct connection *cc_open(void) {
  SC_TRY {
    return new connection(sc::kDefaultWindow);
  } SC_CATCH_ALL {
    return nullptr;
  }
}

extern "C" SC_EXPORT void cc_close(struct connection *c) { delete c; }

extern "C" SC_EXPORT void cc_handshake(struct connection *c) {
  if (!c) return;
  SC_TRY {
    c->client.handshake();
  } SC_CATCH_ALL {
    drop_quietly(c);
  }
}

extern "C" SC_EXPORT void cc_send(struct connection *c, const char *buffer, size_t sz) {
  if (!c) return;
  SC_TRY {
    c->client.send(bytes(buffer), sz);
  } SC_CATCH_ALL {
    drop_quietly(c);
  }
}

extern "C" SC_EXPORT void cc_recv(struct connection *c, const char *buffer, size_t sz) {
  if (!c) return;
  SC_TRY {
    // Size 0 drops the connection, whatever the buffer, as in the 2014 module.
    if (sz == 0)
      c->client.drop();
    else if (buffer)
      c->client.receive(bytes(buffer), sz);
  } SC_CATCH_ALL {
    drop_quietly(c);
  }
}

namespace {

int client_poll(connection *c, connection_message *m, sc_client_event *ev) {
  const sc::Client::Message msg = c->client.poll(ev != nullptr);
  switch (msg.kind) {
    case sc::Client::Kind::kIn:
    case sc::Client::Kind::kOut:
      m->sz = static_cast<int>(msg.size);
      m->buffer = chars(msg.data);
      return msg.kind == sc::Client::Kind::kIn ? MESSAGE_IN : MESSAGE_OUT;
    case sc::Client::Kind::kEvent:
      ev->type = static_cast<int>(msg.event.type);
      ev->reason = static_cast<int>(msg.event.reason);
      ev->resent_bytes = msg.event.resent_bytes;
      ev->lost_bytes = msg.event.lost_bytes;
      return SC_MESSAGE_EVENT;
    case sc::Client::Kind::kEmpty:
      break;
  }
  return MESSAGE_EMPTY;
}

}  // namespace

extern "C" SC_EXPORT int cc_poll(struct connection *c, struct connection_message *m) {
  if (!c || !m) return MESSAGE_EMPTY;
  SC_TRY {
    return client_poll(c, m, nullptr);
  } SC_CATCH_ALL {
    return MESSAGE_EMPTY;
  }
}

// ------------------------------------------------------------------ extension

extern "C" SC_EXPORT const char *sc_version(void) { return "1.0.0"; }

extern "C" SC_EXPORT const char *sc_strerror(int code) {
  switch (code) {
    case SC_OK:
      return "success";
    case SC_ERR_INVALID_ARGUMENT:
      return "invalid argument";
    case SC_ERR_INVALID_STATE:
      return "not allowed in the current state";
    case SC_ERR_NO_MEMORY:
      return "out of memory";
    case SC_ERR_NOT_FOUND:
      return "no such session";
    default:
      return "unknown error code";
  }
}

extern "C" SC_EXPORT int sc_pool_set_handshake_timeout(struct connection_pool *cp, uint64_t ms) {
  if (!cp || ms == 0) return SC_ERR_INVALID_ARGUMENT;
  cp->server.set_handshake_timeout(ms);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_pool_set_reuse_timeout(struct connection_pool *cp, uint64_t ms) {
  if (!cp) return SC_ERR_INVALID_ARGUMENT;
  cp->server.set_reuse_timeout(ms);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_pool_set_window(struct connection_pool *cp, size_t bytes) {
  if (!cp || !sc::valid_window(bytes)) return SC_ERR_INVALID_ARGUMENT;
  cp->server.set_window(bytes);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_pool_set_max_handshakes(struct connection_pool *cp, size_t n) {
  if (!cp) return SC_ERR_INVALID_ARGUMENT;
  cp->server.set_max_handshakes(n);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_pool_set_clock(struct connection_pool *cp, sc_clock_fn clock, void *user_data) {
  if (!cp) return SC_ERR_INVALID_ARGUMENT;
  cp->server.set_clock(clock, user_data);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_client_set_window(struct connection *c, size_t bytes) {
  if (!c || !sc::valid_window(bytes)) return SC_ERR_INVALID_ARGUMENT;
  return c->client.set_window(bytes) ? SC_OK : SC_ERR_INVALID_STATE;
}

extern "C" SC_EXPORT int sc_testing_set_random(int side, sc_random_fn fn, void *user_data) {
  if (side != SC_RANDOM_SERVER && side != SC_RANDOM_CLIENT) return SC_ERR_INVALID_ARGUMENT;
  sc::set_random_source(side == SC_RANDOM_SERVER ? sc::RandomSide::kServer : sc::RandomSide::kClient, fn,
                        user_data);
  return SC_OK;
}

// ------------------------------------------------------------------ events and counters

static_assert(SC_REASON_BACKLOG == static_cast<int>(sc::Reason::kBacklog) &&
                  SC_REASON_TIMED_OUT == static_cast<int>(sc::Reason::kTimedOut) &&
                  SC_REASON_MAX == sc::kMaxReason,
              "reason values must match the extension header");
static_assert(SC_EVENT_SESSION_OPENED == static_cast<int>(sc::PoolEventType::kSessionOpened) &&
                  SC_EVENT_HANDSHAKE_REFUSED == static_cast<int>(sc::PoolEventType::kHandshakeRefused) &&
                  SC_EVENT_CONNECTED == static_cast<int>(sc::ClientEventType::kConnected) &&
                  SC_EVENT_SESSION_RESET == static_cast<int>(sc::ClientEventType::kSessionReset),
              "event values must match the extension header");

namespace {

// Copies at most `size` bytes of a filled struct out: callers built against an
// older, shorter struct get the fields they know.
template <typename T>
void copy_prefix(const T &full, void *out, size_t size) {
  std::memcpy(out, &full, size < sizeof full ? size : sizeof full);
}

}  // namespace

extern "C" SC_EXPORT const char *sc_reason_string(int reason) { return sc::reason_string(reason); }

extern "C" SC_EXPORT int sc_pool_enable_events(struct connection_pool *cp, int enable) {
  if (!cp) return SC_ERR_INVALID_ARGUMENT;
  cp->server.enable_events(enable != 0);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_pool_poll(struct connection_pool *cp, struct pool_message *m, struct sc_pool_event *ev) {
  if (!cp || !m || !ev) return SC_ERR_INVALID_ARGUMENT;
  SC_TRY {
    return pool_poll(cp, m, ev);
  } SC_CATCH_ALL {
    return POOL_EMPTY;
  }
}

extern "C" SC_EXPORT int sc_client_enable_events(struct connection *c, int enable) {
  if (!c) return SC_ERR_INVALID_ARGUMENT;
  c->client.enable_events(enable != 0);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_client_poll(struct connection *c, struct connection_message *m,
                                        struct sc_client_event *ev) {
  if (!c || !m || !ev) return SC_ERR_INVALID_ARGUMENT;
  SC_TRY {
    return client_poll(c, m, ev);
  } SC_CATCH_ALL {
    return MESSAGE_EMPTY;
  }
}

extern "C" SC_EXPORT int sc_pool_get_stats(struct connection_pool *cp, struct sc_pool_stats *st, size_t size) {
  if (!cp || !st) return SC_ERR_INVALID_ARGUMENT;
  const sc::Server &server = cp->server;
  const sc::PoolCounters &k = server.counters();
  struct sc_pool_stats full{};
  full.sessions_open = server.session_count();
  full.sessions_detached = server.detached_count();
  full.handshakes_pending = server.handshake_count();
  full.sessions_opened = k.sessions_opened;
  full.reuses = k.reuses;
  full.refused_bad_auth = k.refused[SC_REASON_BAD_AUTH];
  full.refused_unknown_session = k.refused[SC_REASON_UNKNOWN_SESSION];
  full.refused_window_exceeded = k.refused[SC_REASON_WINDOW_EXCEEDED];
  full.refused_malformed = k.refused[SC_REASON_MALFORMED];
  full.refused_timed_out = k.refused[SC_REASON_TIMED_OUT];
  full.closed_by_application = k.closed[SC_REASON_BY_APPLICATION];
  full.closed_expired = k.closed[SC_REASON_EXPIRED];
  full.closed_backlog = k.closed[SC_REASON_BACKLOG];
  full.bytes_in = k.bytes_in;
  full.bytes_out = k.bytes_out;
  full.bytes_resent = k.bytes_resent;
  full.bytes_held = k.bytes_held;
  full.detaches = k.detaches;
  full.refused_too_many_handshakes = k.refused[SC_REASON_TOO_MANY_HANDSHAKES];
  full.refused_no_resources = k.refused[SC_REASON_NO_RESOURCES];
  full.closed_no_resources = k.closed[SC_REASON_NO_RESOURCES];
  copy_prefix(full, st, size);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_pool_session_info(struct connection_pool *cp, int id, struct sc_session_info *info,
                                              size_t size) {
  if (!cp || !info) return SC_ERR_INVALID_ARGUMENT;
  sc::Server::SessionInfo s;
  if (!cp->server.session_info(id, &s)) return SC_ERR_NOT_FOUND;
  sc_session_info full{};
  full.state = s.fd >= 0 ? SC_SESSION_ATTACHED : SC_SESSION_DETACHED;
  full.fd = s.fd;
  full.bytes_held = s.held;
  full.backlog = s.backlog;
  full.detached_ms = s.detached_ms;
  full.bytes_sent = s.sent;
  full.bytes_received = s.received;
  copy_prefix(full, info, size);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_pool_session_backlog(struct connection_pool *cp, int id, uint64_t *bytes) {
  if (!cp || !bytes) return SC_ERR_INVALID_ARGUMENT;
  sc::Server::SessionInfo s;
  if (!cp->server.session_info(id, &s)) return SC_ERR_NOT_FOUND;
  *bytes = s.backlog;
  return SC_OK;
}

extern "C" SC_EXPORT int sc_client_get_stats(struct connection *c, struct sc_client_stats *st, size_t size) {
  if (!c || !st) return SC_ERR_INVALID_ARGUMENT;
  const sc::Client &client = c->client;
  const sc::ClientCounters &k = client.counters();
  struct sc_client_stats full{};
  switch (client.state()) {
    case sc::Client::State::kOpening: full.state = SC_CLIENT_OPENING; break;
    case sc::Client::State::kResuming: full.state = SC_CLIENT_RESUMING; break;
    case sc::Client::State::kEstablished: full.state = SC_CLIENT_ESTABLISHED; break;
    case sc::Client::State::kDead: full.state = SC_CLIENT_DEAD; break;
  }
  full.sessions_opened = k.sessions_opened;
  full.reuses = k.reuses;
  full.refused = k.refused;
  full.resets = k.resets;
  full.bytes_in = k.bytes_in;
  full.bytes_out = k.bytes_out;
  full.bytes_resent = k.bytes_resent;
  full.bytes_held = client.held();
  copy_prefix(full, st, size);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_client_backlog(struct connection *c, uint64_t *bytes) {
  if (!c || !bytes) return SC_ERR_INVALID_ARGUMENT;
  *bytes = c->client.backlog();
  return SC_OK;
}
