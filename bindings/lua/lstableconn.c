/*
 * The Lua 5.3 / 5.4 C module of stable-connection.
 *
 * One shared object, stableconn.so, opens three modules:
 *
 *   require "stableconn.server"   the 2014 calling conventions: a constructor;
 *   require "stableconn.client"   objects with send, recv, poll (and handshake)
 *   require "stableconn"          the same objects with the extension API
 *
 * Lua's all-in-one C loader finds luaopen_stableconn_server in stableconn.so
 * when no stableconn/server.so exists, so one file serves the three names.
 *
 * Pools and clients are full userdata holding the C handle. Every string a
 * poll returns is a copy (lua_pushlstring): the library's buffer is only valid
 * until its next poll. No Lua error is ever raised while the library is on
 * the C stack: arguments are checked before each call, results pushed after.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include <connectionclient.h>
#include <connectionserver.h>
#include <stable_connection.h>

#if LUA_VERSION_NUM < 503
#error "the stableconn Lua module needs Lua 5.3 or later (LuaJIT: use bindings/luajit)"
#endif

#if defined(__GNUC__)
#define SCL_EXPORT __attribute__((visibility("default")))
#else
#define SCL_EXPORT
#endif

#if LUA_VERSION_NUM >= 504
#define scl_newudata(L, size) lua_newuserdatauv((L), (size), 0)
#else
#define scl_newudata(L, size) lua_newuserdata((L), (size))
#endif

/* One metatable name per kind of object: a pool and a client can live in
 * the same Lua state. */
#define SCL_POOL "stableconn.pool"
#define SCL_CLIENT "stableconn.client"

/* A clock set from Lua (set_clock), for a pool or a client. */
struct scl_clock {
  int manual;      /* the library reads now_ms, not the system clock */
  uint64_t now_ms; /* its reading */
};

struct scl_pool {
  struct connection_pool *cp; /* NULL once closed */
  int events;                 /* poll() hands out events too */
  struct scl_clock clock;
};

struct scl_client {
  struct connection *c; /* NULL once closed */
  int events;
  struct scl_clock clock;
};

/* ------------------------------------------------------------------ helpers */

/* Raises the library's error `code` as a Lua error with sc_strerror's text. */
static int scl_fail(lua_State *L, int code) { return luaL_error(L, "stableconn: %s (%d)", sc_strerror(code), code); }

static void scl_check(lua_State *L, int code) {
  if (code < 0) scl_fail(L, code);
}

/* The largest value of a C size_t that a Lua integer can carry. */
static lua_Integer scl_size_max(void) {
  if ((uintmax_t)SIZE_MAX < (uintmax_t)LUA_MAXINTEGER) return (lua_Integer)SIZE_MAX;
  return LUA_MAXINTEGER;
}

/* The integer at `idx`, between lo and hi, named `what` in errors. Strict:
 * strings and fractions are refused. */
static lua_Integer scl_integer(lua_State *L, int idx, const char *what, lua_Integer lo, lua_Integer hi) {
  int is_integer = 0;
  lua_Integer v = 0;
  if (lua_type(L, idx) == LUA_TNUMBER) v = lua_tointegerx(L, idx, &is_integer);
  if (!is_integer) luaL_error(L, "stableconn: %s must be an integer, got %s", what, luaL_typename(L, idx));
  if (v < lo || v > hi) luaL_error(L, "stableconn: %s %I is out of range (%I to %I)", what, v, lo, hi);
  return v;
}

static int scl_int(lua_State *L, int idx, const char *what) { return (int)scl_integer(L, idx, what, INT_MIN, INT_MAX); }

static uint64_t scl_u64(lua_State *L, int idx, const char *what) {
  return (uint64_t)scl_integer(L, idx, what, 0, LUA_MAXINTEGER);
}

static size_t scl_size(lua_State *L, int idx, const char *what) {
  return (size_t)scl_integer(L, idx, what, 0, scl_size_max());
}

/* The string at `idx` (never converted from a number). */
static const char *scl_string(lua_State *L, int idx, const char *what, size_t *len) {
  if (lua_type(L, idx) != LUA_TSTRING)
    luaL_error(L, "stableconn: %s must be a string, got %s", what, luaL_typename(L, idx));
  return lua_tolstring(L, idx, len);
}

/* A 32-byte key. */
static const uint8_t *scl_key(lua_State *L, int idx, const char *what) {
  size_t len = 0;
  const char *key = scl_string(L, idx, what, &len);
  if (len != SC_KEY_SIZE) luaL_error(L, "stableconn: %s must be %d bytes, got %d", what, SC_KEY_SIZE, (int)len);
  return (const uint8_t *)key;
}

/* A boolean setting: true/false, or nil for false. */
static int scl_bool(lua_State *L, int idx, const char *what) {
  int t = lua_type(L, idx);
  if (t != LUA_TBOOLEAN && t != LUA_TNIL)
    luaL_error(L, "stableconn: %s must be a boolean, got %s", what, luaL_typename(L, idx));
  return lua_toboolean(L, idx);
}

static void scl_field_integer(lua_State *L, const char *name, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, name);
}

static void scl_field_u64(lua_State *L, const char *name, uint64_t v) {
  /* Counters stay far below 2^63; clamp rather than wrap if one did not. */
  scl_field_integer(L, name, v > (uint64_t)LUA_MAXINTEGER ? LUA_MAXINTEGER : (lua_Integer)v);
}

static void scl_field_string(lua_State *L, const char *name, const char *s) {
  lua_pushstring(L, s);
  lua_setfield(L, -2, name);
}

/* Pushes the bytes of a message, a copy; "" for none (buffer may be NULL). */
static void scl_push_bytes(lua_State *L, const char *buffer, size_t size) {
  if (size == 0 || buffer == NULL)
    lua_pushliteral(L, "");
  else
    lua_pushlstring(L, buffer, size);
}

static uint64_t scl_clock_read(void *user_data) { return ((struct scl_clock *)user_data)->now_ms; }

/* set_clock's argument at `idx`: a number of milliseconds is the manual
 * clock's new reading (it must not go back) and returns 1; nil returns 0,
 * for the system clock. The caller installs or removes the hook. */
static int scl_clock_arg(lua_State *L, int idx, const struct scl_clock *clock, uint64_t *ms) {
  if (lua_isnil(L, idx)) return 0;
  *ms = scl_u64(L, idx, "clock");
  if (clock->manual && *ms < clock->now_ms)
    luaL_error(L, "stableconn: the clock must not go back (%I after %I)", (lua_Integer)*ms,
               (lua_Integer)clock->now_ms);
  return 1;
}

/* for ... in obj:messages(): the iterator `poll` over the object at 1. */
static int scl_iterator(lua_State *L, lua_CFunction poll) {
  lua_pushcfunction(L, poll);
  lua_pushvalue(L, 1);
  return 2;
}

/* -------------------------------------------------------------------- pools */

static struct scl_pool *scl_pool_arg(lua_State *L) {
  struct scl_pool *p = (struct scl_pool *)luaL_checkudata(L, 1, SCL_POOL);
  if (p->cp == NULL) luaL_error(L, "stableconn: the pool is closed");
  return p;
}

/* Creates a pool: a userdata first, so that a Lua memory error cannot leak
 * the C object. */
static struct scl_pool *scl_pool_new(lua_State *L) {
  struct scl_pool *p = (struct scl_pool *)scl_newudata(L, sizeof *p);
  memset(p, 0, sizeof *p);
  luaL_setmetatable(L, SCL_POOL);
  p->cp = cp_new();
  if (p->cp == NULL) luaL_error(L, "stableconn: cp_new failed (out of memory)");
  return p;
}

/* pool:send(id, data): as cp_send; "" ends the session, as in 2014. */
static int scl_pool_send(lua_State *L) {
  struct scl_pool *p = scl_pool_arg(L);
  int id = scl_int(L, 2, "session id");
  size_t size = 0;
  const char *data = scl_string(L, 3, "data", &size);
  cp_send(p->cp, id, size ? data : NULL, size);
  return 0;
}

/* pool:recv(fd, data): as cp_recv; "" says the socket is gone. */
static int scl_pool_recv(lua_State *L) {
  struct scl_pool *p = scl_pool_arg(L);
  int fd = scl_int(L, 2, "fd");
  size_t size = 0;
  const char *data = scl_string(L, 3, "data", &size);
  cp_recv(p->cp, fd, size ? data : NULL, size);
  return 0;
}

static const char *scl_pool_event_name(int type) {
  switch (type) {
    case SC_EVENT_SESSION_OPENED:
      return "session_opened";
    case SC_EVENT_SESSION_RESUMED:
      return "session_resumed";
    case SC_EVENT_SESSION_DETACHED:
      return "session_detached";
    case SC_EVENT_SESSION_CLOSED:
      return "session_closed";
    case SC_EVENT_HANDSHAKE_REFUSED:
      return "handshake_refused";
    default:
      return "unknown";
  }
}

/* pool:poll() -> nothing, or type, id, data; with events on, also
 * POOL_EVENT, id, event table. */
static int scl_pool_poll(lua_State *L) {
  struct scl_pool *p = scl_pool_arg(L);
  struct pool_message m;
  struct sc_pool_event ev;
  int t;
  memset(&m, 0, sizeof m);
  if (p->events) {
    memset(&ev, 0, sizeof ev);
    t = sc_pool_poll_sized(p->cp, &m, &ev, sizeof ev);
  } else {
    t = cp_poll(p->cp, &m);
  }
  if (t == POOL_EMPTY) return 0;
  scl_check(L, t);
  lua_pushinteger(L, t);
  if (t == SC_POOL_EVENT) {
    lua_pushinteger(L, ev.id);
    lua_createtable(L, 0, 10);
    scl_field_string(L, "type", scl_pool_event_name(ev.type));
    scl_field_integer(L, "code", ev.type);
    scl_field_integer(L, "id", ev.id);
    scl_field_integer(L, "fd", ev.fd);
    scl_field_integer(L, "old_fd", ev.old_fd);
    scl_field_integer(L, "reason", ev.reason);
    scl_field_string(L, "reason_name", sc_reason_string(ev.reason));
    scl_field_u64(L, "resent_bytes", ev.resent_bytes);
    scl_field_u64(L, "detached_ms", ev.detached_ms);
    scl_field_integer(L, "version", ev.version);
    return 3;
  }
  lua_pushinteger(L, m.id);
  scl_push_bytes(L, m.buffer, m.sz);
  return 3;
}

/* for t, id, data in pool:messages() do ... end */
static int scl_pool_messages(lua_State *L) {
  scl_pool_arg(L);
  return scl_iterator(L, scl_pool_poll);
}

static int scl_pool_timeout(lua_State *L) {
  cp_timeout(scl_pool_arg(L)->cp);
  return 0;
}

static int scl_pool_socket_opened(lua_State *L) {
  struct scl_pool *p = scl_pool_arg(L);
  scl_check(L, sc_pool_socket_opened(p->cp, scl_int(L, 2, "fd")));
  return 0;
}

static int scl_pool_socket_closed(lua_State *L) {
  struct scl_pool *p = scl_pool_arg(L);
  cp_recv(p->cp, scl_int(L, 2, "fd"), NULL, 0);
  return 0;
}

static int scl_pool_close_session(lua_State *L) {
  struct scl_pool *p = scl_pool_arg(L);
  cp_send(p->cp, scl_int(L, 2, "session id"), NULL, 0);
  return 0;
}

/* The pool's settings, each from the value at `idx`: the methods take it at
 * 2, pool:settings{...} from its table. */
static void scl_pool_set_window_at(lua_State *L, struct scl_pool *p, int idx) {
  scl_check(L, sc_pool_set_window(p->cp, scl_size(L, idx, "window")));
}
static void scl_pool_set_handshake_timeout_at(lua_State *L, struct scl_pool *p, int idx) {
  scl_check(L, sc_pool_set_handshake_timeout(p->cp, scl_u64(L, idx, "handshake_timeout")));
}
static void scl_pool_set_reuse_timeout_at(lua_State *L, struct scl_pool *p, int idx) {
  scl_check(L, sc_pool_set_reuse_timeout(p->cp, scl_u64(L, idx, "reuse_timeout")));
}
static void scl_pool_set_max_handshakes_at(lua_State *L, struct scl_pool *p, int idx) {
  scl_check(L, sc_pool_set_max_handshakes(p->cp, scl_size(L, idx, "max_handshakes")));
}
static void scl_pool_set_max_sessions_at(lua_State *L, struct scl_pool *p, int idx) {
  scl_check(L, sc_pool_set_max_sessions(p->cp, scl_size(L, idx, "max_sessions")));
}
static void scl_pool_set_max_bytes_at(lua_State *L, struct scl_pool *p, int idx) {
  scl_check(L, sc_pool_set_max_bytes(p->cp, scl_u64(L, idx, "max_bytes")));
}
static void scl_pool_set_static_key_at(lua_State *L, struct scl_pool *p, int idx) {
  scl_check(L, sc_pool_set_static_key(p->cp, scl_key(L, idx, "static_key")));
}
static void scl_pool_set_server_id_at(lua_State *L, struct scl_pool *p, int idx) {
  scl_check(L, sc_pool_set_server_id(p->cp, (uint16_t)scl_integer(L, idx, "server_id", 0, 0xFFFF)));
}
static void scl_pool_set_versions_at(lua_State *L, struct scl_pool *p, int idx) {
  scl_check(L, sc_pool_set_versions(p->cp, (unsigned)scl_integer(L, idx, "versions", 0, UINT_MAX)));
}
static void scl_pool_enable_events_at(lua_State *L, struct scl_pool *p, int idx) {
  int on = scl_bool(L, idx, "events");
  scl_check(L, sc_pool_enable_events(p->cp, on));
  p->events = on;
}
/* A number sets a manual clock to that many milliseconds (it must not go
 * back); nil returns to the system clock. */
static void scl_pool_set_clock_at(lua_State *L, struct scl_pool *p, int idx) {
  uint64_t ms = 0;
  if (!scl_clock_arg(L, idx, &p->clock, &ms)) {
    scl_check(L, sc_pool_set_clock(p->cp, NULL, NULL));
    p->clock.manual = 0;
    return;
  }
  p->clock.now_ms = ms;
  if (!p->clock.manual) {
    scl_check(L, sc_pool_set_clock(p->cp, scl_clock_read, &p->clock));
    p->clock.manual = 1;
  }
}

typedef void (*scl_pool_setter)(lua_State *L, struct scl_pool *p, int idx);

/* In the order pool:settings() applies them: the key before the versions. */
static const struct {
  const char *name;
  scl_pool_setter set;
} scl_pool_settings[] = {
    {"window", scl_pool_set_window_at},
    {"handshake_timeout", scl_pool_set_handshake_timeout_at},
    {"reuse_timeout", scl_pool_set_reuse_timeout_at},
    {"max_handshakes", scl_pool_set_max_handshakes_at},
    {"max_sessions", scl_pool_set_max_sessions_at},
    {"max_bytes", scl_pool_set_max_bytes_at},
    {"static_key", scl_pool_set_static_key_at},
    {"server_id", scl_pool_set_server_id_at},
    {"versions", scl_pool_set_versions_at},
    {"events", scl_pool_enable_events_at},
    {"clock", scl_pool_set_clock_at},
};
#define SCL_POOL_SETTINGS (sizeof scl_pool_settings / sizeof scl_pool_settings[0])

/* Applies the table at `idx`; an unknown name is an error (before anything
 * is set). */
static void scl_pool_apply(lua_State *L, struct scl_pool *p, int idx) {
  size_t i;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    int known = 0;
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *name = lua_tostring(L, -1);
      for (i = 0; i < SCL_POOL_SETTINGS && !known; i++) known = strcmp(name, scl_pool_settings[i].name) == 0;
    }
    if (!known) luaL_error(L, "stableconn: unknown pool setting '%s'", luaL_tolstring(L, -1, NULL));
  }
  for (i = 0; i < SCL_POOL_SETTINGS; i++) {
    lua_getfield(L, idx, scl_pool_settings[i].name);
    if (!lua_isnil(L, -1)) scl_pool_settings[i].set(L, p, lua_gettop(L));
    lua_pop(L, 1);
  }
}

#define SCL_POOL_SETTER(fn)               \
  static int fn(lua_State *L) {           \
    struct scl_pool *p = scl_pool_arg(L); \
    luaL_checkany(L, 2);                  \
    fn##_at(L, p, 2);                     \
    return 0;                             \
  }
SCL_POOL_SETTER(scl_pool_set_window)
SCL_POOL_SETTER(scl_pool_set_handshake_timeout)
SCL_POOL_SETTER(scl_pool_set_reuse_timeout)
SCL_POOL_SETTER(scl_pool_set_max_handshakes)
SCL_POOL_SETTER(scl_pool_set_max_sessions)
SCL_POOL_SETTER(scl_pool_set_max_bytes)
SCL_POOL_SETTER(scl_pool_set_static_key)
SCL_POOL_SETTER(scl_pool_set_server_id)
SCL_POOL_SETTER(scl_pool_set_versions)
SCL_POOL_SETTER(scl_pool_set_clock)

static int scl_pool_enable_events(lua_State *L) {
  struct scl_pool *p = scl_pool_arg(L);
  if (lua_isnone(L, 2)) lua_pushboolean(L, 1); /* enable_events() turns them on */
  scl_pool_enable_events_at(L, p, 2);
  return 0;
}

static int scl_pool_settings_method(lua_State *L) {
  struct scl_pool *p = scl_pool_arg(L);
  scl_pool_apply(L, p, 2);
  lua_settop(L, 1);
  return 1;
}

static int scl_pool_stats(lua_State *L) {
  struct scl_pool *p = scl_pool_arg(L);
  struct sc_pool_stats st;
  memset(&st, 0, sizeof st);
  scl_check(L, sc_pool_get_stats(p->cp, &st, sizeof st));
  lua_createtable(L, 0, 33);
#define F(name) scl_field_u64(L, #name, st.name)
  F(sessions_open);
  F(sessions_detached);
  F(handshakes_pending);
  F(sessions_opened);
  F(reuses);
  F(refused_bad_auth);
  F(refused_unknown_session);
  F(refused_window_exceeded);
  F(refused_malformed);
  F(refused_timed_out);
  F(closed_by_application);
  F(closed_expired);
  F(closed_backlog);
  F(bytes_in);
  F(bytes_out);
  F(bytes_resent);
  F(bytes_held);
  F(detaches);
  F(refused_too_many_handshakes);
  F(refused_no_resources);
  F(closed_no_resources);
  F(closed_evicted);
  F(refused_pool_full);
  F(bytes_budgeted);
  F(sessions_v2);
  F(sessions_unconfirmed);
  F(sessions_opened_v2);
  F(reuses_v2);
  F(refused_not_supported);
  F(refused_busy);
  F(refused_rejected);
  F(protocol_errors);
  F(closed_unconfirmed);
#undef F
  return 1;
}

static int scl_pool_session_info(lua_State *L) {
  struct scl_pool *p = scl_pool_arg(L);
  int id = scl_int(L, 2, "session id");
  struct sc_session_info info;
  memset(&info, 0, sizeof info);
  scl_check(L, sc_pool_session_info(p->cp, id, &info, sizeof info));
  lua_createtable(L, 0, 11);
  scl_field_string(L, "state", info.state == SC_SESSION_ATTACHED ? "attached" : "detached");
  scl_field_integer(L, "fd", info.fd);
  scl_field_u64(L, "bytes_held", info.bytes_held);
  scl_field_u64(L, "backlog", info.backlog);
  scl_field_u64(L, "detached_ms", info.detached_ms);
  scl_field_u64(L, "bytes_sent", info.bytes_sent);
  scl_field_u64(L, "bytes_received", info.bytes_received);
  scl_field_integer(L, "version", info.version);
  lua_pushboolean(L, info.unconfirmed);
  lua_setfield(L, -2, "unconfirmed");
  scl_field_u64(L, "bytes_acked", info.bytes_acked);
  if (info.version == SC_PROTOCOL_2) {
    lua_pushlstring(L, (const char *)info.session_id, SC_SESSION_ID_SIZE);
    lua_setfield(L, -2, "session_id");
  }
  return 1;
}

static int scl_pool_session_backlog(lua_State *L) {
  struct scl_pool *p = scl_pool_arg(L);
  int id = scl_int(L, 2, "session id");
  uint64_t bytes = 0;
  scl_check(L, sc_pool_session_backlog(p->cp, id, &bytes));
  lua_pushinteger(L, (lua_Integer)bytes);
  return 1;
}

/* pool:close(), __gc, __close: frees the pool once; later calls on it raise
 * an error, closing again does nothing. */
static int scl_pool_close(lua_State *L) {
  struct scl_pool *p = (struct scl_pool *)luaL_checkudata(L, 1, SCL_POOL);
  struct connection_pool *cp = p->cp;
  p->cp = NULL;
  cp_delete(cp);
  return 0;
}

static int scl_pool_closed(lua_State *L) {
  struct scl_pool *p = (struct scl_pool *)luaL_checkudata(L, 1, SCL_POOL);
  lua_pushboolean(L, p->cp == NULL);
  return 1;
}

static int scl_pool_tostring(lua_State *L) {
  struct scl_pool *p = (struct scl_pool *)luaL_checkudata(L, 1, SCL_POOL);
  if (p->cp == NULL)
    lua_pushliteral(L, SCL_POOL " (closed)");
  else
    lua_pushfstring(L, SCL_POOL " (%p)", (void *)p->cp);
  return 1;
}

static const luaL_Reg scl_pool_methods[] = {
    /* the 2014 methods */
    {"send", scl_pool_send},
    {"recv", scl_pool_recv},
    {"poll", scl_pool_poll},
    /* the rest of the legacy API, and the extension */
    {"messages", scl_pool_messages},
    {"timeout", scl_pool_timeout},
    {"close", scl_pool_close},
    {"closed", scl_pool_closed},
    {"socket_opened", scl_pool_socket_opened},
    {"socket_closed", scl_pool_socket_closed},
    {"close_session", scl_pool_close_session},
    {"settings", scl_pool_settings_method},
    {"set_window", scl_pool_set_window},
    {"set_handshake_timeout", scl_pool_set_handshake_timeout},
    {"set_reuse_timeout", scl_pool_set_reuse_timeout},
    {"set_max_handshakes", scl_pool_set_max_handshakes},
    {"set_max_sessions", scl_pool_set_max_sessions},
    {"set_max_bytes", scl_pool_set_max_bytes},
    {"set_static_key", scl_pool_set_static_key},
    {"set_server_id", scl_pool_set_server_id},
    {"set_versions", scl_pool_set_versions},
    {"set_clock", scl_pool_set_clock},
    {"enable_events", scl_pool_enable_events},
    {"stats", scl_pool_stats},
    {"session_info", scl_pool_session_info},
    {"session_backlog", scl_pool_session_backlog},
    {NULL, NULL},
};

/* ------------------------------------------------------------------ clients */

static struct scl_client *scl_client_arg(lua_State *L) {
  struct scl_client *c = (struct scl_client *)luaL_checkudata(L, 1, SCL_CLIENT);
  if (c->c == NULL) luaL_error(L, "stableconn: the client is closed");
  return c;
}

/* A version 1 client, or version 2 with the server's public key. */
static struct scl_client *scl_client_new(lua_State *L, const uint8_t *server_key) {
  struct scl_client *c = (struct scl_client *)scl_newudata(L, sizeof *c);
  memset(c, 0, sizeof *c);
  luaL_setmetatable(L, SCL_CLIENT);
  if (server_key != NULL) {
    struct connection *opened = NULL;
    scl_check(L, sc_client_open_v2(server_key, &opened));
    c->c = opened;
  } else {
    c->c = cc_open();
    if (c->c == NULL) luaL_error(L, "stableconn: cc_open failed (out of memory or randomness)");
  }
  return c;
}

static int scl_client_handshake(lua_State *L) {
  cc_handshake(scl_client_arg(L)->c);
  return 0;
}

/* client:send(data): as cc_send ("" is a handshake, as in 2014). */
static int scl_client_send(lua_State *L) {
  struct scl_client *c = scl_client_arg(L);
  size_t size = 0;
  const char *data = scl_string(L, 2, "data", &size);
  cc_send(c->c, data, size);
  return 0;
}

/* client:recv(data): as cc_recv ("" gives the connection up, as in 2014). */
static int scl_client_recv(lua_State *L) {
  struct scl_client *c = scl_client_arg(L);
  size_t size = 0;
  const char *data = scl_string(L, 2, "data", &size);
  cc_recv(c->c, size ? data : NULL, size);
  return 0;
}

static int scl_client_abandon(lua_State *L) {
  cc_recv(scl_client_arg(L)->c, NULL, 0);
  return 0;
}

static const char *scl_client_event_name(int type) {
  switch (type) {
    case SC_EVENT_CONNECTED:
      return "connected";
    case SC_EVENT_RESUMED:
      return "resumed";
    case SC_EVENT_REFUSED:
      return "refused";
    case SC_EVENT_SESSION_RESET:
      return "session_reset";
    case SC_EVENT_CLIENT_PONG:
      return "pong";
    default:
      return "unknown";
  }
}

/* client:poll() -> nothing, or type, data; with events on, also
 * MESSAGE_EVENT, event table. */
static int scl_client_poll(lua_State *L) {
  struct scl_client *c = scl_client_arg(L);
  struct connection_message m;
  struct sc_client_event ev;
  int t;
  memset(&m, 0, sizeof m);
  if (c->events) {
    memset(&ev, 0, sizeof ev);
    t = sc_client_poll_sized(c->c, &m, &ev, sizeof ev);
  } else {
    t = cc_poll(c->c, &m);
  }
  if (t == MESSAGE_EMPTY) return 0;
  scl_check(L, t);
  lua_pushinteger(L, t);
  if (t == SC_MESSAGE_EVENT) {
    lua_createtable(L, 0, 8);
    scl_field_string(L, "type", scl_client_event_name(ev.type));
    scl_field_integer(L, "code", ev.type);
    scl_field_integer(L, "reason", ev.reason);
    scl_field_string(L, "reason_name", sc_reason_string(ev.reason));
    scl_field_u64(L, "resent_bytes", ev.resent_bytes);
    scl_field_u64(L, "lost_bytes", ev.lost_bytes);
    scl_field_u64(L, "rtt_ms", ev.rtt_ms);
    scl_field_integer(L, "version", ev.version);
    return 2;
  }
  scl_push_bytes(L, m.buffer, m.sz > 0 ? (size_t)m.sz : 0);
  return 2;
}

static int scl_client_messages(lua_State *L) {
  scl_client_arg(L);
  return scl_iterator(L, scl_client_poll);
}

static int scl_client_set_window(lua_State *L) {
  struct scl_client *c = scl_client_arg(L);
  scl_check(L, sc_client_set_window(c->c, scl_size(L, 2, "window")));
  return 0;
}

static int scl_client_backlog(lua_State *L) {
  struct scl_client *c = scl_client_arg(L);
  uint64_t bytes = 0;
  scl_check(L, sc_client_backlog(c->c, &bytes));
  lua_pushinteger(L, (lua_Integer)bytes);
  return 1;
}

static int scl_client_enable_events(lua_State *L) {
  struct scl_client *c = scl_client_arg(L);
  int on = lua_isnone(L, 2) ? 1 : scl_bool(L, 2, "events");
  scl_check(L, sc_client_enable_events(c->c, on));
  c->events = on;
  return 0;
}

static int scl_client_close_session(lua_State *L) {
  scl_check(L, sc_client_close_session(scl_client_arg(L)->c));
  return 0;
}

static int scl_client_ping(lua_State *L) {
  scl_check(L, sc_client_ping(scl_client_arg(L)->c));
  return 0;
}

static int scl_client_set_clock(lua_State *L) {
  struct scl_client *c = scl_client_arg(L);
  uint64_t ms = 0;
  luaL_checkany(L, 2);
  if (!scl_clock_arg(L, 2, &c->clock, &ms)) {
    scl_check(L, sc_client_set_clock(c->c, NULL, NULL));
    c->clock.manual = 0;
    return 0;
  }
  c->clock.now_ms = ms;
  if (!c->clock.manual) {
    scl_check(L, sc_client_set_clock(c->c, scl_clock_read, &c->clock));
    c->clock.manual = 1;
  }
  return 0;
}

static const char *scl_client_state_name(int state) {
  switch (state) {
    case SC_CLIENT_OPENING:
      return "opening";
    case SC_CLIENT_RESUMING:
      return "resuming";
    case SC_CLIENT_ESTABLISHED:
      return "established";
    case SC_CLIENT_DEAD:
      return "dead";
    case SC_CLIENT_BROKEN:
      return "broken";
    default:
      return "unknown";
  }
}

static int scl_client_stats(lua_State *L) {
  struct scl_client *c = scl_client_arg(L);
  struct sc_client_stats st;
  memset(&st, 0, sizeof st);
  scl_check(L, sc_client_get_stats(c->c, &st, sizeof st));
  lua_createtable(L, 0, 13);
  scl_field_string(L, "state", scl_client_state_name(st.state));
  scl_field_integer(L, "version", st.version);
  scl_field_integer(L, "last_failure", st.last_failure);
#define F(name) scl_field_u64(L, #name, st.name)
  F(sessions_opened);
  F(reuses);
  F(refused);
  F(resets);
  F(bytes_in);
  F(bytes_out);
  F(bytes_resent);
  F(bytes_held);
  F(pongs);
  F(last_rtt_ms);
#undef F
  return 1;
}

static int scl_client_close(lua_State *L) {
  struct scl_client *c = (struct scl_client *)luaL_checkudata(L, 1, SCL_CLIENT);
  struct connection *conn = c->c;
  c->c = NULL;
  cc_close(conn);
  return 0;
}

static int scl_client_closed(lua_State *L) {
  struct scl_client *c = (struct scl_client *)luaL_checkudata(L, 1, SCL_CLIENT);
  lua_pushboolean(L, c->c == NULL);
  return 1;
}

static int scl_client_tostring(lua_State *L) {
  struct scl_client *c = (struct scl_client *)luaL_checkudata(L, 1, SCL_CLIENT);
  if (c->c == NULL)
    lua_pushliteral(L, SCL_CLIENT " (closed)");
  else
    lua_pushfstring(L, SCL_CLIENT " (%p)", (void *)c->c);
  return 1;
}

static const luaL_Reg scl_client_methods[] = {
    /* the 2014 methods */
    {"handshake", scl_client_handshake},
    {"send", scl_client_send},
    {"recv", scl_client_recv},
    {"poll", scl_client_poll},
    /* the rest */
    {"messages", scl_client_messages},
    {"close", scl_client_close},
    {"closed", scl_client_closed},
    {"abandon", scl_client_abandon},
    {"set_window", scl_client_set_window},
    {"backlog", scl_client_backlog},
    {"enable_events", scl_client_enable_events},
    {"close_session", scl_client_close_session},
    {"ping", scl_client_ping},
    {"set_clock", scl_client_set_clock},
    {"stats", scl_client_stats},
    {NULL, NULL},
};

/* ------------------------------------------------------------------ modules */

static void scl_metatable(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction close,
                          lua_CFunction tostring) {
  if (luaL_newmetatable(L, name)) {
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "__close");
#endif
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
}

/* Each module registers both kinds, whichever is required first. */
static void scl_register_types(lua_State *L) {
  scl_metatable(L, SCL_POOL, scl_pool_methods, scl_pool_close, scl_pool_tostring);
  scl_metatable(L, SCL_CLIENT, scl_client_methods, scl_client_close, scl_client_tostring);
}

/* require "stableconn.server": the constructor itself, pool = server(). */
static int scl_legacy_server(lua_State *L) {
  scl_pool_new(L);
  return 1;
}

/* require "stableconn.client": the constructor itself, c = client(). */
static int scl_legacy_client(lua_State *L) {
  scl_client_new(L, NULL);
  return 1;
}

/* stableconn.pool([settings]) */
static int scl_new_pool(lua_State *L) {
  int has_settings = !lua_isnoneornil(L, 1);
  if (has_settings) luaL_checktype(L, 1, LUA_TTABLE);
  struct scl_pool *p = scl_pool_new(L);
  if (has_settings) scl_pool_apply(L, p, 1);
  return 1;
}

/* stableconn.client([server_key | {server_key=, window=, events=}]) */
static int scl_new_client(lua_State *L) {
  const uint8_t *key = NULL;
  int t = lua_type(L, 1);
  if (t == LUA_TSTRING) {
    key = scl_key(L, 1, "server key");
  } else if (t == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
      const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
      lua_pop(L, 1);
      if (strcmp(name, "server_key") != 0 && strcmp(name, "window") != 0 && strcmp(name, "events") != 0)
        luaL_error(L, "stableconn: unknown client option '%s'", luaL_tolstring(L, -1, NULL));
    }
    lua_getfield(L, 1, "server_key");
    if (!lua_isnil(L, -1)) key = scl_key(L, -1, "server_key");
    /* key points into a string the options table keeps alive */
    lua_pop(L, 1);
    lua_getfield(L, 1, "window");
    if (!lua_isnil(L, -1)) scl_size(L, -1, "window");
    lua_getfield(L, 1, "events");
    scl_bool(L, -1, "events");
    lua_pop(L, 2);
  } else if (t != LUA_TNONE && t != LUA_TNIL) {
    luaL_error(L, "stableconn: client() takes a server key or an options table, got %s", luaL_typename(L, 1));
  }
  struct scl_client *c = scl_client_new(L, key);
  int obj = lua_gettop(L);
  if (t == LUA_TTABLE) {
    lua_getfield(L, 1, "window");
    if (!lua_isnil(L, -1)) scl_check(L, sc_client_set_window(c->c, scl_size(L, -1, "window")));
    lua_getfield(L, 1, "events");
    if (lua_toboolean(L, -1)) {
      scl_check(L, sc_client_enable_events(c->c, 1));
      c->events = 1;
    }
    lua_settop(L, obj);
  }
  return 1;
}

/* stableconn.keypair() -> private, public (32-byte strings) */
static int scl_keypair(lua_State *L) {
  uint8_t priv[SC_KEY_SIZE], pub[SC_KEY_SIZE];
  int rc = sc_keypair_generate(priv, pub);
  if (rc < 0) {
    memset(priv, 0, sizeof priv);
    return scl_fail(L, rc);
  }
  lua_pushlstring(L, (const char *)priv, sizeof priv);
  lua_pushlstring(L, (const char *)pub, sizeof pub);
  memset(priv, 0, sizeof priv);
  return 2;
}

static int scl_public_key(lua_State *L) {
  const uint8_t *priv = scl_key(L, 1, "private key");
  uint8_t pub[SC_KEY_SIZE];
  scl_check(L, sc_public_key(priv, pub));
  lua_pushlstring(L, (const char *)pub, sizeof pub);
  return 1;
}

static int scl_version(lua_State *L) {
  lua_pushstring(L, sc_version());
  return 1;
}

static int scl_strerror(lua_State *L) {
  lua_pushstring(L, sc_strerror(scl_int(L, 1, "code")));
  return 1;
}

static int scl_reason_string(lua_State *L) {
  lua_pushstring(L, sc_reason_string(scl_int(L, 1, "reason")));
  return 1;
}

/* The file the running libstableconn was loaded from, or nil. */
static int scl_library_path(lua_State *L) {
  /* ISO C has no conversion of a function pointer to void *: a union does it. */
  union {
    const char *(*fn)(void);
    void *address;
  } symbol;
  Dl_info info;
  symbol.address = NULL;
  symbol.fn = sc_version;
  if (dladdr(symbol.address, &info) && info.dli_fname != NULL)
    lua_pushstring(L, info.dli_fname);
  else
    lua_pushnil(L);
  return 1;
}

static const luaL_Reg scl_functions[] = {
    {"pool", scl_new_pool},
    {"client", scl_new_client},
    {"keypair", scl_keypair},
    {"public_key", scl_public_key},
    {"version", scl_version},
    {"strerror", scl_strerror},
    {"reason_string", scl_reason_string},
    {"library_path", scl_library_path},
    {NULL, NULL},
};

static const struct {
  const char *name;
  lua_Integer value;
} scl_constants[] = {
    {"POOL_EMPTY", POOL_EMPTY},
    {"POOL_IN", POOL_IN},
    {"POOL_OUT", POOL_OUT},
    {"POOL_EVENT", SC_POOL_EVENT},
    {"MESSAGE_EMPTY", MESSAGE_EMPTY},
    {"MESSAGE_IN", MESSAGE_IN},
    {"MESSAGE_OUT", MESSAGE_OUT},
    {"MESSAGE_EVENT", SC_MESSAGE_EVENT},
    {"PROTOCOL_1", SC_PROTOCOL_1},
    {"PROTOCOL_2", SC_PROTOCOL_2},
    {"KEY_SIZE", SC_KEY_SIZE},
    {"SESSION_ID_SIZE", SC_SESSION_ID_SIZE},
    {"DEFAULT_WINDOW", SC_DEFAULT_WINDOW},
    {"DEFAULT_WINDOW_V2", SC_DEFAULT_WINDOW_V2},
    {"MIN_WINDOW", SC_MIN_WINDOW},
    {"MAX_WINDOW", SC_MAX_WINDOW},
    {"MIN_WINDOW_V2", SC_MIN_WINDOW_V2},
    {"DEFAULT_HANDSHAKE_TIMEOUT_MS", SC_DEFAULT_HANDSHAKE_TIMEOUT_MS},
    {"DEFAULT_REUSE_TIMEOUT_MS", SC_DEFAULT_REUSE_TIMEOUT_MS},
    {"ERR_INVALID_ARGUMENT", SC_ERR_INVALID_ARGUMENT},
    {"ERR_INVALID_STATE", SC_ERR_INVALID_STATE},
    {"ERR_NO_MEMORY", SC_ERR_NO_MEMORY},
    {"ERR_NOT_FOUND", SC_ERR_NOT_FOUND},
    {"ERR_NOT_SUPPORTED", SC_ERR_NOT_SUPPORTED},
    {"ERR_CRYPTO", SC_ERR_CRYPTO},
    {"REASON_NONE", SC_REASON_NONE},
    {"REASON_BY_APPLICATION", SC_REASON_BY_APPLICATION},
    {"REASON_EXPIRED", SC_REASON_EXPIRED},
    {"REASON_BACKLOG", SC_REASON_BACKLOG},
    {"REASON_BAD_AUTH", SC_REASON_BAD_AUTH},
    {"REASON_UNKNOWN_SESSION", SC_REASON_UNKNOWN_SESSION},
    {"REASON_WINDOW_EXCEEDED", SC_REASON_WINDOW_EXCEEDED},
    {"REASON_MALFORMED", SC_REASON_MALFORMED},
    {"REASON_TIMED_OUT", SC_REASON_TIMED_OUT},
    {"REASON_TOO_MANY_HANDSHAKES", SC_REASON_TOO_MANY_HANDSHAKES},
    {"REASON_NO_RESOURCES", SC_REASON_NO_RESOURCES},
    {"REASON_EVICTED", SC_REASON_EVICTED},
    {"REASON_POOL_FULL", SC_REASON_POOL_FULL},
    {"REASON_NOT_SUPPORTED", SC_REASON_NOT_SUPPORTED},
    {"REASON_BUSY", SC_REASON_BUSY},
    {"REASON_REJECTED", SC_REASON_REJECTED},
    {"REASON_PROTOCOL_ERROR", SC_REASON_PROTOCOL_ERROR},
};

SCL_EXPORT int luaopen_stableconn(lua_State *L) {
  size_t i;
  scl_register_types(L);
  luaL_newlib(L, scl_functions);
  for (i = 0; i < sizeof scl_constants / sizeof scl_constants[0]; i++) {
    lua_pushinteger(L, scl_constants[i].value);
    lua_setfield(L, -2, scl_constants[i].name);
  }
  lua_pushboolean(L, SC_HAVE_PROTOCOL_2);
  lua_setfield(L, -2, "HAVE_PROTOCOL_2");
  lua_pushliteral(L, SC_VERSION_STRING);
  lua_setfield(L, -2, "VERSION");
  return 1;
}

SCL_EXPORT int luaopen_stableconn_server(lua_State *L) {
  scl_register_types(L);
  lua_pushcfunction(L, scl_legacy_server);
  return 1;
}

SCL_EXPORT int luaopen_stableconn_client(lua_State *L) {
  scl_register_types(L);
  lua_pushcfunction(L, scl_legacy_client);
  return 1;
}
