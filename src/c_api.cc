// The C ABI: the legacy cp_*/cc_* functions and the sc_* extension, each a
// thin noexcept wrapper that checks its arguments, forwards to the C++ core and
// turns any failure into the C convention. No exception leaves this file.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

// The legacy headers declare their twelve functions without noexcept, and C++
// allows no noexcept definition of a function declared without it; the 2014
// headers stay as they are. So they are read with the functions renamed: their
// structs and constants are used as they are, the declarations are never
// defined nor called, and the end of this file checks that each definition
// has the type the header declares, noexcept aside.
#define cp_new legacy_decl_cp_new
#define cp_delete legacy_decl_cp_delete
#define cp_timeout legacy_decl_cp_timeout
#define cp_recv legacy_decl_cp_recv
#define cp_send legacy_decl_cp_send
#define cp_poll legacy_decl_cp_poll
#define cc_open legacy_decl_cc_open
#define cc_close legacy_decl_cc_close
#define cc_handshake legacy_decl_cc_handshake
#define cc_send legacy_decl_cc_send
#define cc_recv legacy_decl_cc_recv
#define cc_poll legacy_decl_cc_poll
#include "../connectionclient.h"
#include "../connectionserver.h"
#undef cp_new
#undef cp_delete
#undef cp_timeout
#undef cp_recv
#undef cp_send
#undef cp_poll
#undef cc_open
#undef cc_close
#undef cc_handshake
#undef cc_send
#undef cc_recv
#undef cc_poll
#include "../include/stable_connection.h"  // and, through it, the export and version headers
#include "../include/stable_connection_testing.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/failure.h"
#include "base/random.h"
#include "client/client.h"
#include "core/events.h"
#include "pool/server.h"
#ifdef SC_WITH_V2
#include "client/client_v2.h"
#include "crypto/primitives.h"
#endif

// The build compiles this file with SC_BUILDING_LIBRARY (and SC_STATIC for the
// static library), which the export header reads.
#if !defined(SC_BUILDING_LIBRARY)
#error "src/c_api.cc is compiled with SC_BUILDING_LIBRARY defined (see CMakeLists.txt)"
#endif

struct connection_pool {
  sc::Server server;
};

// A client of either version: exactly one of the two is set.
struct connection {
  std::unique_ptr<sc::Client> v1;
#ifdef SC_WITH_V2
  std::unique_ptr<sc::ClientV2> v2;
  uint64_t pings = 0;  // the token of the last PING
#endif
};

namespace {

// Calls f with the client of whichever version c holds.
template <typename F>
decltype(auto) on_client(connection *c, F &&f) {
#ifdef SC_WITH_V2
  if (c->v2) return f(*c->v2);
#endif
  return f(*c->v1);
}

int version_of(const connection *c) {
#ifdef SC_WITH_V2
  if (c->v2) return SC_PROTOCOL_2;
#endif
  (void)c;
  return SC_PROTOCOL_1;
}

// Failure on the client side (no memory, no randomness) leaves the connection
// unusable: report it dead, as the legacy API can.
void drop_quietly(connection *c) noexcept {
  SC_TRY {
    on_client(c, [](auto &client) { client.drop(); });
  } SC_CATCH_ALL {
  }
}

const uint8_t *bytes(const char *p) { return reinterpret_cast<const uint8_t *>(p); }
const char *chars(const uint8_t *p) { return reinterpret_cast<const char *>(p); }

}  // namespace

// ------------------------------------------------------------------ server

extern "C" SC_EXPORT struct connection_pool *cp_new(void) noexcept {
  SC_TRY {
    return new connection_pool();
  } SC_CATCH_ALL {
    return nullptr;
  }
}

extern "C" SC_EXPORT void cp_delete(struct connection_pool *cp) noexcept { delete cp; }

extern "C" SC_EXPORT void cp_timeout(struct connection_pool *cp) noexcept {
  if (!cp) return;
  SC_TRY {
    cp->server.timeout();
  } SC_CATCH_ALL {
    // Out of memory while collecting overdue entries: retried on the next call.
  }
}

extern "C" SC_EXPORT void cp_recv(struct connection_pool *cp, int fd, const char *buffer, size_t sz) noexcept {
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

extern "C" SC_EXPORT void cp_send(struct connection_pool *cp, int id, const char *buffer, size_t sz) noexcept {
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

// The event structs as they were before version 2: what sc_pool_poll() and
// sc_client_poll() fill, for callers built with those headers.
constexpr size_t kPoolEventFirstSize = offsetof(sc_pool_event, detached_ms) + sizeof(uint64_t);
constexpr size_t kClientEventFirstSize = offsetof(sc_client_event, lost_bytes) + sizeof(uint64_t);

// Copies at most `size` bytes of a filled struct out: callers built against an
// older, shorter struct get the fields they know.
template <typename T>
void copy_prefix(const T &full, void *out, size_t size) {
  std::memcpy(out, &full, size < sizeof full ? size : sizeof full);
}

void to_c(const sc::PoolEvent &e, sc_pool_event *ev, size_t ev_size) {
  sc_pool_event full{};
  full.type = static_cast<int>(e.type);
  full.id = e.id;
  full.fd = e.fd;
  full.old_fd = e.old_fd;
  full.reason = static_cast<int>(e.reason);
  full.resent_bytes = e.resent_bytes;
  full.detached_ms = e.detached_ms;
  full.version = e.version;
  copy_prefix(full, ev, ev_size);
}

int pool_poll(connection_pool *cp, pool_message *m, sc_pool_event *ev, size_t ev_size) {
  const sc::Server::Message msg = cp->server.poll(ev != nullptr);
  switch (msg.kind) {
    case sc::Server::Kind::kIn:
    case sc::Server::Kind::kOut:
      m->id = msg.id;
      m->sz = msg.size;
      m->buffer = chars(msg.data);
      return msg.kind == sc::Server::Kind::kIn ? POOL_IN : POOL_OUT;
    case sc::Server::Kind::kEvent:
      to_c(msg.event, ev, ev_size);
      return SC_POOL_EVENT;
    case sc::Server::Kind::kEmpty:
      break;
  }
  return POOL_EMPTY;
}

}  // namespace

extern "C" SC_EXPORT int cp_poll(struct connection_pool *cp, struct pool_message *m) noexcept {
  if (!cp || !m) return POOL_EMPTY;
  SC_TRY {
    return pool_poll(cp, m, nullptr, 0);
  } SC_CATCH_ALL {
    return POOL_EMPTY;
  }
}

// ------------------------------------------------------------------ client

extern "C" SC_EXPORT struct connection *cc_open(void) noexcept {
  SC_TRY {
    std::unique_ptr<connection> c(new connection);
    c->v1.reset(new sc::Client(sc::kDefaultWindow));
    return c.release();
  } SC_CATCH_ALL {
    return nullptr;
  }
}

extern "C" SC_EXPORT void cc_close(struct connection *c) noexcept { delete c; }

extern "C" SC_EXPORT void cc_handshake(struct connection *c) noexcept {
  if (!c) return;
  SC_TRY {
    on_client(c, [](auto &client) { client.handshake(); });
  } SC_CATCH_ALL {
    drop_quietly(c);
  }
}

extern "C" SC_EXPORT void cc_send(struct connection *c, const char *buffer, size_t sz) noexcept {
  if (!c) return;
  SC_TRY {
    on_client(c, [&](auto &client) { client.send(bytes(buffer), sz); });
  } SC_CATCH_ALL {
    drop_quietly(c);
  }
}

extern "C" SC_EXPORT void cc_recv(struct connection *c, const char *buffer, size_t sz) noexcept {
  if (!c) return;
  SC_TRY {
    // Size 0 drops the connection, whatever the buffer, as in the 2014 module.
    if (sz == 0)
      on_client(c, [](auto &client) { client.drop(); });
    else if (buffer)
      on_client(c, [&](auto &client) { client.receive(bytes(buffer), sz); });
  } SC_CATCH_ALL {
    drop_quietly(c);
  }
}

namespace {

int client_poll(connection *c, connection_message *m, sc_client_event *ev, size_t ev_size) {
  const sc::Client::Message msg = on_client(c, [&](auto &client) { return client.poll(ev != nullptr); });
  switch (msg.kind) {
    case sc::Client::Kind::kIn:
    case sc::Client::Kind::kOut:
      m->sz = static_cast<int>(msg.size);
      m->buffer = chars(msg.data);
      return msg.kind == sc::Client::Kind::kIn ? MESSAGE_IN : MESSAGE_OUT;
    case sc::Client::Kind::kEvent: {
      sc_client_event full{};
      full.type = static_cast<int>(msg.event.type);
      full.reason = static_cast<int>(msg.event.reason);
      full.resent_bytes = msg.event.resent_bytes;
      full.lost_bytes = msg.event.lost_bytes;
      full.rtt_ms = msg.event.rtt_ms;
      full.version = version_of(c);
      copy_prefix(full, ev, ev_size);
      return SC_MESSAGE_EVENT;
    }
    case sc::Client::Kind::kEmpty:
      break;
  }
  return MESSAGE_EMPTY;
}

}  // namespace

extern "C" SC_EXPORT int cc_poll(struct connection *c, struct connection_message *m) noexcept {
  if (!c || !m) return MESSAGE_EMPTY;
  SC_TRY {
    return client_poll(c, m, nullptr, 0);
  } SC_CATCH_ALL {
    return MESSAGE_EMPTY;
  }
}

// ------------------------------------------------------------------ extension

extern "C" SC_EXPORT const char *sc_version(void) noexcept { return SC_VERSION_STRING; }

extern "C" SC_EXPORT const char *sc_strerror(int code) noexcept {
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
    case SC_ERR_NOT_SUPPORTED:
      return "not supported (built without protocol version 2, or not in version 1)";
    case SC_ERR_CRYPTO:
      return "the crypto library failed";
    default:
      return "unknown error code";
  }
}

extern "C" SC_EXPORT int sc_pool_set_handshake_timeout(struct connection_pool *cp, uint64_t ms) noexcept {
  if (!cp || ms == 0) return SC_ERR_INVALID_ARGUMENT;
  cp->server.set_handshake_timeout(ms);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_pool_set_reuse_timeout(struct connection_pool *cp, uint64_t ms) noexcept {
  if (!cp) return SC_ERR_INVALID_ARGUMENT;
  cp->server.set_reuse_timeout(ms);
  return SC_OK;
}

static_assert(SC_DEFAULT_WINDOW == sc::kDefaultWindow && SC_DEFAULT_WINDOW_V2 == sc::kDefaultWindowV2,
              "a default window differs from the core's");

extern "C" SC_EXPORT int sc_pool_set_window(struct connection_pool *cp, size_t bytes) noexcept {
  if (!cp || !sc::valid_window(bytes)) return SC_ERR_INVALID_ARGUMENT;
  cp->server.set_window(bytes);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_pool_set_max_handshakes(struct connection_pool *cp, size_t n) noexcept {
  if (!cp) return SC_ERR_INVALID_ARGUMENT;
  cp->server.set_max_handshakes(n);
  return SC_OK;
}

// A pool gains a budget by remembering in which order its sessions detach,
// which takes memory the first time: without it, nothing changes.
extern "C" SC_EXPORT int sc_pool_set_max_sessions(struct connection_pool *cp, size_t n) noexcept {
  if (!cp) return SC_ERR_INVALID_ARGUMENT;
  SC_TRY {
    cp->server.set_max_sessions(n);
    return SC_OK;
  } SC_CATCH_ALL {
    return SC_ERR_NO_MEMORY;
  }
}

extern "C" SC_EXPORT int sc_pool_set_max_bytes(struct connection_pool *cp, uint64_t bytes) noexcept {
  if (!cp) return SC_ERR_INVALID_ARGUMENT;
  SC_TRY {
    cp->server.set_max_bytes(bytes);
    return SC_OK;
  } SC_CATCH_ALL {
    return SC_ERR_NO_MEMORY;
  }
}

extern "C" SC_EXPORT int sc_pool_socket_opened(struct connection_pool *cp, int fd) noexcept {
  if (!cp || fd < 0) return SC_ERR_INVALID_ARGUMENT;
  SC_TRY {
    cp->server.socket_opened(fd);
    return SC_OK;
  } SC_CATCH_ALL {
    // Forgetting a socket allocates nothing.
    cp->server.socket_closed(fd);
    return SC_ERR_NO_MEMORY;
  }
}

extern "C" SC_EXPORT int sc_pool_set_clock(struct connection_pool *cp, sc_clock_fn clock, void *user_data) noexcept {
  if (!cp) return SC_ERR_INVALID_ARGUMENT;
  cp->server.set_clock(clock, user_data);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_client_set_window(struct connection *c, size_t bytes) noexcept {
  if (!c || !sc::valid_window(bytes)) return SC_ERR_INVALID_ARGUMENT;
#ifdef SC_WITH_V2
  if (c->v2 && !sc::v2::window_in_range(bytes)) return SC_ERR_INVALID_ARGUMENT;
#endif
  return on_client(c, [&](auto &client) { return client.set_window(bytes); }) ? SC_OK : SC_ERR_INVALID_STATE;
}

// ------------------------------------------------------------------ version 2

extern "C" SC_EXPORT int sc_keypair_generate(uint8_t private_key[SC_KEY_SIZE], uint8_t public_key[SC_KEY_SIZE]) noexcept {
  if (!private_key || !public_key) return SC_ERR_INVALID_ARGUMENT;
#ifdef SC_WITH_V2
  static_assert(SC_KEY_SIZE == sc::noise::kDhSize, "SC_KEY_SIZE differs from the core's key size");
  static_assert(SC_MIN_WINDOW_V2 == sc::v2::kMinWindow && SC_MAX_WINDOW == sc::v2::kMaxWindow,
                "the version 2 window range differs from the core's");
  uint8_t priv[SC_KEY_SIZE], pub[SC_KEY_SIZE];
  bool ok = false;
  SC_TRY {
    // The system's randomness, whatever a test installed for the sessions.
    ok = sc::crypto::random_bytes(priv, sizeof priv) && sc::crypto::x25519_public(priv, pub);
  } SC_CATCH_ALL {
    ok = false;
  }
  if (ok) {
    std::memcpy(private_key, priv, sizeof priv);
    std::memcpy(public_key, pub, sizeof pub);
  }
  sc::crypto::cleanse(priv, sizeof priv);
  return ok ? SC_OK : SC_ERR_CRYPTO;
#else
  return SC_ERR_NOT_SUPPORTED;
#endif
}

extern "C" SC_EXPORT int sc_public_key(const uint8_t private_key[SC_KEY_SIZE], uint8_t public_key[SC_KEY_SIZE]) noexcept {
  if (!private_key || !public_key) return SC_ERR_INVALID_ARGUMENT;
#ifdef SC_WITH_V2
  uint8_t pub[SC_KEY_SIZE];
  if (!sc::crypto::x25519_public(private_key, pub)) return SC_ERR_CRYPTO;
  std::memcpy(public_key, pub, sizeof pub);
  return SC_OK;
#else
  return SC_ERR_NOT_SUPPORTED;
#endif
}

extern "C" SC_EXPORT int sc_pool_set_static_key(struct connection_pool *cp, const uint8_t key[SC_KEY_SIZE]) noexcept {
  if (!cp || !key) return SC_ERR_INVALID_ARGUMENT;
#ifdef SC_WITH_V2
  return cp->server.set_static_key(key) ? SC_OK : SC_ERR_CRYPTO;
#else
  return SC_ERR_NOT_SUPPORTED;
#endif
}

extern "C" SC_EXPORT int sc_pool_set_server_id(struct connection_pool *cp, uint16_t id) noexcept {
  if (!cp) return SC_ERR_INVALID_ARGUMENT;
#ifdef SC_WITH_V2
  cp->server.set_server_id(id);
  return SC_OK;
#else
  (void)id;
  return SC_ERR_NOT_SUPPORTED;
#endif
}

extern "C" SC_EXPORT int sc_pool_set_versions(struct connection_pool *cp, unsigned versions) noexcept {
  constexpr unsigned kKnown = SC_PROTOCOL_1 | SC_PROTOCOL_2;
  if (!cp || versions == 0 || (versions & ~kKnown) != 0) return SC_ERR_INVALID_ARGUMENT;
  const bool v1 = (versions & SC_PROTOCOL_1) != 0, v2 = (versions & SC_PROTOCOL_2) != 0;
#ifndef SC_WITH_V2
  if (v2) return SC_ERR_NOT_SUPPORTED;
#endif
  return cp->server.set_versions(v1, v2) ? SC_OK : SC_ERR_INVALID_STATE;
}

extern "C" SC_EXPORT int sc_client_open_v2(const uint8_t server_key[SC_KEY_SIZE], struct connection **out) noexcept {
  if (!server_key || !out) return SC_ERR_INVALID_ARGUMENT;
#ifdef SC_WITH_V2
  SC_TRY {
    std::unique_ptr<connection> c(new connection);
    c->v2.reset(new sc::ClientV2(server_key, sc::kDefaultWindowV2));
    *out = c.release();
    return SC_OK;
  } SC_CATCH_ALL {
    return SC_ERR_NO_MEMORY;
  }
#else
  return SC_ERR_NOT_SUPPORTED;
#endif
}

extern "C" SC_EXPORT int sc_client_close_session(struct connection *c) noexcept {
  if (!c) return SC_ERR_INVALID_ARGUMENT;
#ifdef SC_WITH_V2
  if (!c->v2) return SC_ERR_NOT_SUPPORTED;
  SC_TRY {
    c->v2->close();
  } SC_CATCH_ALL {
    drop_quietly(c);
  }
  return SC_OK;
#else
  return SC_ERR_NOT_SUPPORTED;
#endif
}

extern "C" SC_EXPORT int sc_client_ping(struct connection *c) noexcept {
  if (!c) return SC_ERR_INVALID_ARGUMENT;
#ifdef SC_WITH_V2
  if (!c->v2) return SC_ERR_NOT_SUPPORTED;
  SC_TRY {
    return c->v2->ping(++c->pings) ? SC_OK : SC_ERR_INVALID_STATE;
  } SC_CATCH_ALL {
    drop_quietly(c);
    return SC_ERR_NO_MEMORY;
  }
#else
  return SC_ERR_NOT_SUPPORTED;
#endif
}

extern "C" SC_EXPORT int sc_client_set_clock(struct connection *c, sc_clock_fn clock, void *user_data) noexcept {
  if (!c) return SC_ERR_INVALID_ARGUMENT;
#ifdef SC_WITH_V2
  if (c->v2) c->v2->set_clock(clock, user_data);
#else
  (void)clock;
  (void)user_data;
#endif
  return SC_OK;
}

extern "C" SC_EXPORT int sc_testing_set_random(int side, sc_random_fn fn, void *user_data) noexcept {
  if (side != SC_RANDOM_SERVER && side != SC_RANDOM_CLIENT) return SC_ERR_INVALID_ARGUMENT;
  sc::set_random_source(side == SC_RANDOM_SERVER ? sc::RandomSide::kServer : sc::RandomSide::kClient, fn,
                        user_data);
  return SC_OK;
}

// ------------------------------------------------------------------ events and counters

// The shim converts reasons and event types with a static_cast: every value
// of the header must equal the core's. Each table lists all of them, in order.
namespace values {

template <typename E>
struct Pair {
  int header;
  E core;
};

template <typename E, size_t N>
constexpr bool all_equal(const Pair<E> (&table)[N]) {
  for (const Pair<E> &p : table)
    if (p.header != static_cast<int>(p.core)) return false;
  return true;
}

// Consecutive values from `first`, with no gap and none twice.
template <typename E, size_t N>
constexpr bool consecutive(const Pair<E> (&table)[N], int first) {
  for (size_t k = 0; k < N; ++k)
    if (table[k].header != first + static_cast<int>(k)) return false;
  return true;
}

constexpr Pair<sc::Reason> kReasons[] = {
    {SC_REASON_NONE, sc::Reason::kNone},
    {SC_REASON_BY_APPLICATION, sc::Reason::kByApplication},
    {SC_REASON_EXPIRED, sc::Reason::kExpired},
    {SC_REASON_BACKLOG, sc::Reason::kBacklog},
    {SC_REASON_BAD_AUTH, sc::Reason::kBadAuth},
    {SC_REASON_UNKNOWN_SESSION, sc::Reason::kUnknownSession},
    {SC_REASON_WINDOW_EXCEEDED, sc::Reason::kWindowExceeded},
    {SC_REASON_MALFORMED, sc::Reason::kMalformed},
    {SC_REASON_TIMED_OUT, sc::Reason::kTimedOut},
    {SC_REASON_TOO_MANY_HANDSHAKES, sc::Reason::kTooManyHandshakes},
    {SC_REASON_NO_RESOURCES, sc::Reason::kNoResources},
    {SC_REASON_EVICTED, sc::Reason::kEvicted},
    {SC_REASON_POOL_FULL, sc::Reason::kPoolFull},
    {SC_REASON_NOT_SUPPORTED, sc::Reason::kNotSupported},
    {SC_REASON_BUSY, sc::Reason::kBusy},
    {SC_REASON_REJECTED, sc::Reason::kRejected},
    {SC_REASON_PROTOCOL_ERROR, sc::Reason::kProtocolError},
};
static_assert(all_equal(kReasons), "an SC_REASON_* value differs from its sc::Reason");
static_assert(consecutive(kReasons, SC_REASON_NONE) && SC_REASON_NONE == 0, "SC_REASON_* values are 0, 1, 2, ...");
static_assert(sizeof kReasons / sizeof kReasons[0] == SC_REASON_MAX + 1 && SC_REASON_MAX == sc::kMaxReason,
              "a reason is missing from this table, or SC_REASON_MAX differs from sc::kMaxReason");

constexpr Pair<sc::PoolEventType> kPoolEvents[] = {
    {SC_EVENT_SESSION_OPENED, sc::PoolEventType::kSessionOpened},
    {SC_EVENT_SESSION_RESUMED, sc::PoolEventType::kSessionResumed},
    {SC_EVENT_SESSION_DETACHED, sc::PoolEventType::kSessionDetached},
    {SC_EVENT_SESSION_CLOSED, sc::PoolEventType::kSessionClosed},
    {SC_EVENT_HANDSHAKE_REFUSED, sc::PoolEventType::kHandshakeRefused},
};
constexpr Pair<sc::PoolEventType> kPoolEventAliases[] = {
    {SC_EVENT_POOL_SESSION_OPENED, sc::PoolEventType::kSessionOpened},
    {SC_EVENT_POOL_SESSION_RESUMED, sc::PoolEventType::kSessionResumed},
    {SC_EVENT_POOL_SESSION_DETACHED, sc::PoolEventType::kSessionDetached},
    {SC_EVENT_POOL_SESSION_CLOSED, sc::PoolEventType::kSessionClosed},
    {SC_EVENT_POOL_HANDSHAKE_REFUSED, sc::PoolEventType::kHandshakeRefused},
};
static_assert(all_equal(kPoolEvents) && all_equal(kPoolEventAliases),
              "an SC_EVENT_* pool event value differs from its sc::PoolEventType");
static_assert(consecutive(kPoolEvents, 1), "pool events are 1 to 5");

constexpr Pair<sc::ClientEventType> kClientEvents[] = {
    {SC_EVENT_CONNECTED, sc::ClientEventType::kConnected},
    {SC_EVENT_RESUMED, sc::ClientEventType::kResumed},
    {SC_EVENT_REFUSED, sc::ClientEventType::kRefused},
    {SC_EVENT_SESSION_RESET, sc::ClientEventType::kSessionReset},
    {SC_EVENT_CLIENT_PONG, sc::ClientEventType::kPong},
};
constexpr Pair<sc::ClientEventType> kClientEventAliases[] = {
    {SC_EVENT_CLIENT_CONNECTED, sc::ClientEventType::kConnected},
    {SC_EVENT_CLIENT_RESUMED, sc::ClientEventType::kResumed},
    {SC_EVENT_CLIENT_REFUSED, sc::ClientEventType::kRefused},
    {SC_EVENT_CLIENT_SESSION_RESET, sc::ClientEventType::kSessionReset},
};
static_assert(all_equal(kClientEvents) && all_equal(kClientEventAliases),
              "an SC_EVENT_* client event value differs from its sc::ClientEventType");
static_assert(consecutive(kClientEvents, 11), "client events are 11 to 15");

}  // namespace values

extern "C" SC_EXPORT const char *sc_reason_string(int reason) noexcept { return sc::reason_string(reason); }

extern "C" SC_EXPORT int sc_pool_enable_events(struct connection_pool *cp, int enable) noexcept {
  if (!cp) return SC_ERR_INVALID_ARGUMENT;
  cp->server.enable_events(enable != 0);
  return SC_OK;
}

// The legacy-size polls are the sized ones with the structs' first size.
extern "C" SC_EXPORT int sc_pool_poll_sized(struct connection_pool *cp, struct pool_message *m,
                                            struct sc_pool_event *ev, size_t ev_size) noexcept {
  if (!cp || !m || !ev) return SC_ERR_INVALID_ARGUMENT;
  SC_TRY {
    return pool_poll(cp, m, ev, ev_size);
  } SC_CATCH_ALL {
    return POOL_EMPTY;
  }
}

extern "C" SC_EXPORT int sc_pool_poll(struct connection_pool *cp, struct pool_message *m,
                                      struct sc_pool_event *ev) noexcept {
  return sc_pool_poll_sized(cp, m, ev, kPoolEventFirstSize);
}

extern "C" SC_EXPORT int sc_client_enable_events(struct connection *c, int enable) noexcept {
  if (!c) return SC_ERR_INVALID_ARGUMENT;
  on_client(c, [&](auto &client) { client.enable_events(enable != 0); });
  return SC_OK;
}

extern "C" SC_EXPORT int sc_client_poll_sized(struct connection *c, struct connection_message *m,
                                              struct sc_client_event *ev, size_t ev_size) noexcept {
  if (!c || !m || !ev) return SC_ERR_INVALID_ARGUMENT;
  SC_TRY {
    return client_poll(c, m, ev, ev_size);
  } SC_CATCH_ALL {
    return MESSAGE_EMPTY;
  }
}

extern "C" SC_EXPORT int sc_client_poll(struct connection *c, struct connection_message *m,
                                        struct sc_client_event *ev) noexcept {
  return sc_client_poll_sized(c, m, ev, kClientEventFirstSize);
}

extern "C" SC_EXPORT int sc_pool_get_stats(struct connection_pool *cp, struct sc_pool_stats *st, size_t size) noexcept {
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
  full.closed_evicted = k.closed[SC_REASON_EVICTED];
  full.refused_pool_full = k.refused[SC_REASON_POOL_FULL];
  full.bytes_budgeted = server.footprint();
  full.sessions_v2 = server.v2_session_count();
  full.sessions_unconfirmed = server.unconfirmed_count();
  full.sessions_opened_v2 = k.sessions_opened_v2;
  full.reuses_v2 = k.reuses_v2;
  full.refused_not_supported = k.refused[SC_REASON_NOT_SUPPORTED];
  full.refused_busy = k.v2_busy;
  full.refused_rejected = k.refused[SC_REASON_REJECTED];
  full.protocol_errors = k.refused[SC_REASON_PROTOCOL_ERROR];
  full.closed_unconfirmed = k.closed[SC_REASON_TIMED_OUT];
  copy_prefix(full, st, size);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_pool_session_info(struct connection_pool *cp, int id, struct sc_session_info *info,
                                              size_t size) noexcept {
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
  full.version = s.version;
  if (s.version == SC_PROTOCOL_2) {
    full.unconfirmed = s.confirmed ? 0 : 1;
    full.bytes_acked = s.acked;
    static_assert(sizeof full.session_id == sizeof s.sid, "SC_SESSION_ID_SIZE differs from the core's");
    std::memcpy(full.session_id, s.sid, sizeof full.session_id);
  }
  copy_prefix(full, info, size);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_pool_session_backlog(struct connection_pool *cp, int id, uint64_t *bytes) noexcept {
  if (!cp || !bytes) return SC_ERR_INVALID_ARGUMENT;
  sc::Server::SessionInfo s;
  if (!cp->server.session_info(id, &s)) return SC_ERR_NOT_FOUND;
  *bytes = s.backlog;
  return SC_OK;
}

namespace {

int client_state(sc::Client::State st) {
  switch (st) {
    case sc::Client::State::kOpening: return SC_CLIENT_OPENING;
    case sc::Client::State::kResuming: return SC_CLIENT_RESUMING;
    case sc::Client::State::kEstablished: return SC_CLIENT_ESTABLISHED;
    case sc::Client::State::kDead: break;
  }
  return SC_CLIENT_DEAD;
}

#ifdef SC_WITH_V2
int client_state(sc::ClientV2::State st) {
  switch (st) {
    case sc::ClientV2::State::kOpening: return SC_CLIENT_OPENING;
    case sc::ClientV2::State::kResuming: return SC_CLIENT_RESUMING;
    case sc::ClientV2::State::kEstablished: return SC_CLIENT_ESTABLISHED;
    case sc::ClientV2::State::kBroken: return SC_CLIENT_BROKEN;
    case sc::ClientV2::State::kDead: break;
  }
  return SC_CLIENT_DEAD;
}
#endif

}  // namespace

extern "C" SC_EXPORT int sc_client_get_stats(struct connection *c, struct sc_client_stats *st, size_t size) noexcept {
  if (!c || !st) return SC_ERR_INVALID_ARGUMENT;
  struct sc_client_stats full{};
  on_client(c, [&](const auto &client) {
    const sc::ClientCounters &k = client.counters();
    full.state = client_state(client.state());
    full.sessions_opened = k.sessions_opened;
    full.reuses = k.reuses;
    full.refused = k.refused;
    full.resets = k.resets;
    full.bytes_in = k.bytes_in;
    full.bytes_out = k.bytes_out;
    full.bytes_resent = k.bytes_resent;
    full.bytes_held = client.held();
    full.last_failure = static_cast<int>(client.last_failure());
    full.pongs = k.pongs;
  });
#ifdef SC_WITH_V2
  if (c->v2) full.last_rtt_ms = c->v2->last_rtt_ms();
#endif
  full.version = version_of(c);
  copy_prefix(full, st, size);
  return SC_OK;
}

extern "C" SC_EXPORT int sc_client_backlog(struct connection *c, uint64_t *bytes) noexcept {
  if (!c || !bytes) return SC_ERR_INVALID_ARGUMENT;
  *bytes = on_client(c, [](const auto &client) { return static_cast<uint64_t>(client.backlog()); });
  return SC_OK;
}

// ------------------------------------------------------------------ the legacy declarations

namespace {

template <typename F>
struct WithoutNoexcept;
template <typename R, typename... A>
struct WithoutNoexcept<R(A...) noexcept> {
  using type = R(A...);
};

template <typename Declared, typename Defined>
constexpr bool same_as_header = std::is_same<Declared, typename WithoutNoexcept<Defined>::type>::value;

}  // namespace

#define SC_SAME_AS_HEADER(name)                                          \
  static_assert(same_as_header<decltype(legacy_decl_##name), decltype(name)>, \
                #name " differs from its declaration in the legacy header")
SC_SAME_AS_HEADER(cp_new);
SC_SAME_AS_HEADER(cp_delete);
SC_SAME_AS_HEADER(cp_timeout);
SC_SAME_AS_HEADER(cp_recv);
SC_SAME_AS_HEADER(cp_send);
SC_SAME_AS_HEADER(cp_poll);
SC_SAME_AS_HEADER(cc_open);
SC_SAME_AS_HEADER(cc_close);
SC_SAME_AS_HEADER(cc_handshake);
SC_SAME_AS_HEADER(cc_send);
SC_SAME_AS_HEADER(cc_recv);
SC_SAME_AS_HEADER(cc_poll);
#undef SC_SAME_AS_HEADER
