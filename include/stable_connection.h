/*
 * Extension API of stable-connection.
 *
 * Everything here is optional: a program that only uses connectionserver.h and
 * connectionclient.h gets the legacy behaviour with the defaults listed below.
 * Functions return SC_OK (0) or a negative SC_ERR_* code; sc_strerror() names it.
 * Error codes and constants are never renumbered.
 */
#ifndef STABLE_CONNECTION_H
#define STABLE_CONNECTION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct connection_pool;
struct connection;
struct pool_message;       /* connectionserver.h */
struct connection_message; /* connectionclient.h */

#define SC_VERSION_MAJOR 1
#define SC_VERSION_MINOR 0
#define SC_VERSION_PATCH 0

/* Error codes. */
#define SC_OK 0
#define SC_ERR_INVALID_ARGUMENT (-1) /* NULL handle or a value out of range */
#define SC_ERR_INVALID_STATE (-2)    /* the call is not allowed in the object's current state */
#define SC_ERR_NO_MEMORY (-3)        /* an allocation failed; nothing was changed */
#define SC_ERR_NOT_FOUND (-4)        /* no session with that id */

/* Defaults used when the matching setter is never called. */
#define SC_DEFAULT_HANDSHAKE_TIMEOUT_MS 30000u
#define SC_DEFAULT_REUSE_TIMEOUT_MS 300000u
#define SC_DEFAULT_WINDOW 65536u
/* Accepted range of a resend window, in bytes. */
#define SC_MIN_WINDOW 1u
#define SC_MAX_WINDOW (1u << 30)

/*
 * A monotonic clock in milliseconds. The pool only compares differences of its
 * values, so any origin works; it must never go backwards.
 */
typedef uint64_t (*sc_clock_fn)(void *user_data);

/* "1.0.0": the library's version, for logs. */
const char *sc_version(void);

/* A short English description of an SC_* code; never NULL. */
const char *sc_strerror(int code);

/*
 * Server pool settings. Each may be called at any time; timeouts take effect at
 * the next cp_timeout(), a window applies to sessions opened after the call.
 */
/* Sockets still in the handshake after `ms` are closed by cp_timeout(). ms > 0. */
int sc_pool_set_handshake_timeout(struct connection_pool *cp, uint64_t ms);
/* Sessions without a socket for `ms` are freed by cp_timeout(); 0 keeps them forever. */
int sc_pool_set_reuse_timeout(struct connection_pool *cp, uint64_t ms);
/* Bytes each session keeps for resending, SC_MIN_WINDOW..SC_MAX_WINDOW. */
int sc_pool_set_window(struct connection_pool *cp, size_t bytes);
/*
 * At most `n` sockets may be in the handshake at once; the socket that would
 * exceed it is closed at once (POOL_OUT size 0). 0, the default, sets no limit.
 * Each socket in the handshake costs a fixed amount of memory (README) until
 * it completes, fails, or cp_timeout() closes it.
 */
int sc_pool_set_max_handshakes(struct connection_pool *cp, size_t n);
/* Replaces the monotonic clock cp_timeout() reads; NULL restores the system clock. */
int sc_pool_set_clock(struct connection_pool *cp, sc_clock_fn clock, void *user_data);

/*
 * Client settings. The window can only change before the client has sent any
 * application data (SC_ERR_INVALID_STATE afterwards); call it right after cc_open().
 */
int sc_client_set_window(struct connection *c, size_t bytes);

/* ------------------------------------------------------------------------
 * Events, reasons and counters (opt-in).
 *
 * Events are off by default. Once enabled with sc_pool_enable_events() or
 * sc_client_enable_events(), they are queued with the incoming data, in the
 * order things happened, and handed out by sc_pool_poll() / sc_client_poll(),
 * which return the legacy message types plus SC_POOL_EVENT / SC_MESSAGE_EVENT.
 * cp_poll() and cc_poll() never return an event: they skip queued events.
 * ------------------------------------------------------------------------ */

/* Why a session ended or a handshake was refused. Stable values. */
#define SC_REASON_NONE 0
#define SC_REASON_BY_APPLICATION 1  /* cp_send(cp, id, NULL, 0) */
#define SC_REASON_EXPIRED 2         /* detached longer than the reuse timeout */
#define SC_REASON_BACKLOG 3         /* more unsent data than the window while detached */
#define SC_REASON_BAD_AUTH 4        /* the auth code did not verify */
#define SC_REASON_UNKNOWN_SESSION 5 /* a reuse request that names no session */
#define SC_REASON_WINDOW_EXCEEDED 6 /* the peer misses more than is held for resending */
#define SC_REASON_MALFORMED 7       /* bytes that break the handshake rules */
#define SC_REASON_TIMED_OUT 8       /* the handshake took longer than the timeout */
#define SC_REASON_TOO_MANY_HANDSHAKES 9 /* over the cap set with sc_pool_set_max_handshakes */
#define SC_REASON_NO_RESOURCES 10   /* memory or randomness ran out while handling it */
#define SC_REASON_MAX 10

/* A short English name of an SC_REASON_* value; never NULL. */
const char *sc_reason_string(int reason);

/* Server events. */
#define SC_POOL_EVENT 3 /* returned by sc_pool_poll() next to POOL_IN / POOL_OUT */

#define SC_EVENT_SESSION_OPENED 1    /* id, fd */
#define SC_EVENT_SESSION_RESUMED 2   /* id, old_fd (-1: none), fd, resent_bytes, detached_ms */
#define SC_EVENT_SESSION_DETACHED 3  /* id, fd: its socket is gone, the session waits */
#define SC_EVENT_SESSION_CLOSED 4    /* id, reason: BY_APPLICATION, EXPIRED, BACKLOG or
                                        NO_RESOURCES */
#define SC_EVENT_HANDSHAKE_REFUSED 5 /* fd, reason: BAD_AUTH, UNKNOWN_SESSION,
                                        WINDOW_EXCEEDED, MALFORMED, TIMED_OUT,
                                        TOO_MANY_HANDSHAKES or NO_RESOURCES */

struct sc_pool_event {
  int type;   /* SC_EVENT_* */
  int id;     /* session id, 0 for HANDSHAKE_REFUSED */
  int fd;     /* the socket concerned, -1 if none */
  int old_fd; /* RESUMED: the socket the session left, -1 if it had none */
  int reason; /* CLOSED, HANDSHAKE_REFUSED: SC_REASON_* */
  /* RESUMED: server->client bytes sent again. (The client->server bytes the
   * client resends are known only to the client: see sc_client_event.) */
  uint64_t resent_bytes;
  uint64_t detached_ms; /* RESUMED: how long the session had no socket */
};

/* Turns event delivery on (nonzero) or off; events already queued stay. */
int sc_pool_enable_events(struct connection_pool *cp, int enable);

/*
 * Like cp_poll(), and also returns SC_POOL_EVENT with *ev filled in. Both m
 * and ev are required. Returns POOL_EMPTY, POOL_IN, POOL_OUT, SC_POOL_EVENT,
 * or SC_ERR_INVALID_ARGUMENT.
 */
int sc_pool_poll(struct connection_pool *cp, struct pool_message *m, struct sc_pool_event *ev);

/* Client events. */
#define SC_MESSAGE_EVENT 3 /* returned by sc_client_poll() next to MESSAGE_IN / MESSAGE_OUT */

#define SC_EVENT_CONNECTED 11     /* a new session is established */
#define SC_EVENT_RESUMED 12       /* the session moved to the new socket; resent_bytes */
#define SC_EVENT_REFUSED 13       /* reason (WINDOW_EXCEEDED); the connection is dead */
#define SC_EVENT_SESSION_RESET 14 /* a reconnect had to open a new session; lost_bytes */

struct sc_client_event {
  int type;   /* SC_EVENT_CONNECTED .. SC_EVENT_SESSION_RESET */
  int reason; /* REFUSED: SC_REASON_* */
  /* RESUMED: client->server bytes sent again. */
  uint64_t resent_bytes;
  /* SESSION_RESET: bytes sent on the abandoned session, which the server may
   * or may not have received (version 1 cannot resume a session on which the
   * client has received nothing). */
  uint64_t lost_bytes;
};

int sc_client_enable_events(struct connection *c, int enable);
/* Like cc_poll(), and also returns SC_MESSAGE_EVENT with *ev filled in. */
int sc_client_poll(struct connection *c, struct connection_message *m, struct sc_client_event *ev);

/*
 * Counters. Each *_get_stats call fills at most `size` bytes of the struct (pass
 * sizeof): fields are only ever appended, so old callers keep working.
 * "Backlog" is data the application gave the library that has not been handed
 * to a socket yet (still queued, or produced while there was no socket). A
 * session whose backlog exceeds its window while it has no socket cannot be
 * resumed: watch it to slow down in time. Bytes handed to a socket may still
 * be lost in flight; version 1 only learns the peer's position at a reuse.
 */
struct sc_pool_stats {
  uint64_t sessions_open;     /* now: attached and detached */
  uint64_t sessions_detached; /* now */
  uint64_t handshakes_pending;
  uint64_t sessions_opened;   /* new-connection handshakes completed */
  uint64_t reuses;            /* reuse handshakes completed */
  uint64_t refused_bad_auth;
  uint64_t refused_unknown_session;
  uint64_t refused_window_exceeded;
  uint64_t refused_malformed;
  uint64_t refused_timed_out;
  uint64_t closed_by_application;
  uint64_t closed_expired;
  uint64_t closed_backlog;
  uint64_t bytes_in;     /* application bytes delivered (decrypted) */
  uint64_t bytes_out;    /* application bytes accepted by cp_send */
  uint64_t bytes_resent; /* server->client bytes sent again after reuses */
  uint64_t bytes_held;   /* now: bytes kept for resending, all sessions */
  uint64_t detaches;     /* sessions that lost their socket */
  uint64_t refused_too_many_handshakes;
  uint64_t refused_no_resources;
  uint64_t closed_no_resources; /* sessions ended because their data could not be kept */
};
int sc_pool_get_stats(struct connection_pool *cp, struct sc_pool_stats *st, size_t size);

#define SC_SESSION_ATTACHED 1
#define SC_SESSION_DETACHED 2

struct sc_session_info {
  int state;            /* SC_SESSION_* */
  int fd;               /* -1 when detached */
  uint64_t bytes_held;  /* kept for resending */
  uint64_t backlog;     /* see above */
  uint64_t detached_ms; /* 0 when attached */
  uint64_t bytes_sent;     /* server->client stream position */
  uint64_t bytes_received; /* client->server stream position */
};
/* SC_ERR_NOT_FOUND for an id that is not a session. */
int sc_pool_session_info(struct connection_pool *cp, int id, struct sc_session_info *info, size_t size);
/* The session's backlog in *bytes (see above). */
int sc_pool_session_backlog(struct connection_pool *cp, int id, uint64_t *bytes);

#define SC_CLIENT_OPENING 1     /* new-connection handshake in flight */
#define SC_CLIENT_RESUMING 2    /* reuse handshake in flight */
#define SC_CLIENT_ESTABLISHED 3
#define SC_CLIENT_DEAD 4

struct sc_client_stats {
  int state; /* SC_CLIENT_* */
  uint64_t sessions_opened; /* new sessions established */
  uint64_t reuses;          /* reuse handshakes completed */
  uint64_t refused;
  uint64_t resets;          /* SESSION_RESET events */
  uint64_t bytes_in;
  uint64_t bytes_out;
  uint64_t bytes_resent; /* client->server bytes sent again after reuses */
  uint64_t bytes_held;
};
int sc_client_get_stats(struct connection *c, struct sc_client_stats *st, size_t size);
/* The client's backlog in *bytes (see above). */
int sc_client_backlog(struct connection *c, uint64_t *bytes);

#ifdef __cplusplus
}
#endif

#endif
