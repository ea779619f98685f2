// The C ABI: the legacy cp_*/cc_* functions and the sc_* extension, each a
// thin noexcept wrapper that checks its arguments, forwards to the C++ core and
// turns any failure into the C convention. No exception leaves this file.
#include <cstdint>
#include <new>

#include "../connectionclient.h"
#include "../connectionserver.h"
#include "../include/stable_connection.h"
#include "../include/stable_connection_testing.h"
#include "client.h"
#include "config.h"
#include "random.h"
#include "server.h"

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
  try {
    c->client.drop();
  } catch (...) {
  }
}

const uint8_t *bytes(const char *p) { return reinterpret_cast<const uint8_t *>(p); }
const char *chars(const uint8_t *p) { return reinterpret_cast<const char *>(p); }

}  // namespace

// ------------------------------------------------------------------ server

extern "C" SC_EXPORT struct connection_pool *cp_new(void) {
  try {
    return new connection_pool();
  } catch (...) {
    return nullptr;
  }
}

extern "C" SC_EXPORT void cp_delete(struct connection_pool *cp) { delete cp; }

extern "C" SC_EXPORT void cp_timeout(struct connection_pool *cp) {
  if (!cp) return;
  try {
    cp->server.timeout();
  } catch (...) {
    // Out of memory while collecting overdue entries: retried on the next call.
  }
}

extern "C" SC_EXPORT void cp_recv(struct connection_pool *cp, int fd, const char *buffer, size_t sz) {
  if (!cp) return;
  try {
    if (!buffer && sz == 0)
      cp->server.socket_closed(fd);
    else if (buffer)
      cp->server.receive(fd, bytes(buffer), sz);
  } catch (...) {
    // The input could not be processed (no memory or no randomness): the
    // socket it came from can no longer be trusted to be in step.
    try {
      cp->server.abandon_socket(fd);
    } catch (...) {
    }
  }
}

extern "C" SC_EXPORT void cp_send(struct connection_pool *cp, int id, const char *buffer, size_t sz) {
  if (!cp) return;
  try {
    if (sz == 0)
      cp->server.close_session(id);
    else if (buffer)
      cp->server.send(id, bytes(buffer), sz);
  } catch (...) {
    // Data that cannot be kept leaves a hole in the stream: end the session.
    try {
      cp->server.close_session(id);
    } catch (...) {
    }
  }
}

extern "C" SC_EXPORT int cp_poll(struct connection_pool *cp, struct pool_message *m) {
  if (!cp || !m) return POOL_EMPTY;
  const sc::Server::Message msg = cp->server.poll();
  switch (msg.kind) {
    case sc::Server::Kind::kIn:
      m->id = msg.id;
      m->sz = msg.size;
      m->buffer = chars(msg.data);
      return POOL_IN;
    case sc::Server::Kind::kOut:
      m->id = msg.id;
      m->sz = msg.size;
      m->buffer = chars(msg.data);
      return POOL_OUT;
    case sc::Server::Kind::kEmpty:
      break;
  }
  return POOL_EMPTY;
}

// ------------------------------------------------------------------ client

extern "C" SC_EXPORT struct connection *cc_open(void) {
  try {
    return new connection(sc::kDefaultWindow);
  } catch (...) {
    return nullptr;
  }
}

extern "C" SC_EXPORT void cc_close(struct connection *c) { delete c; }

extern "C" SC_EXPORT void cc_handshake(struct connection *c) {
  if (!c) return;
  try {
    c->client.handshake();
  } catch (...) {
    drop_quietly(c);
  }
}

extern "C" SC_EXPORT void cc_send(struct connection *c, const char *buffer, size_t sz) {
  if (!c) return;
  try {
    c->client.send(bytes(buffer), sz);
  } catch (...) {
    drop_quietly(c);
  }
}

extern "C" SC_EXPORT void cc_recv(struct connection *c, const char *buffer, size_t sz) {
  if (!c) return;
  try {
    if (!buffer && sz == 0)
      c->client.drop();
    else if (buffer)
      c->client.receive(bytes(buffer), sz);
  } catch (...) {
    drop_quietly(c);
  }
}

extern "C" SC_EXPORT int cc_poll(struct connection *c, struct connection_message *m) {
  if (!c || !m) return MESSAGE_EMPTY;
  const sc::Client::Message msg = c->client.poll();
  if (msg.kind == sc::Client::Kind::kEmpty) return MESSAGE_EMPTY;
  m->sz = static_cast<int>(msg.size);
  m->buffer = chars(msg.data);
  return msg.kind == sc::Client::Kind::kOut ? MESSAGE_OUT : MESSAGE_IN;
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
