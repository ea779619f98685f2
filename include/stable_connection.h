/*
 * Extension API of stable-connection.
 *
 * Everything here is optional: a program that only uses connectionserver.h and
 * connectionclient.h gets the legacy behaviour with the defaults listed below.
 * Functions return SC_OK (0) or a negative SC_ERR_* code; sc_strerror() names it.
 * The comment above each function lists what it returns and when. Error codes
 * and constants are never renumbered or removed.
 */
#ifndef STABLE_CONNECTION_H
#define STABLE_CONNECTION_H

#include <stddef.h>
#include <stdint.h>

#include "stable_connection_export.h"
#include "stable_connection_version.h" /* SC_VERSION_MAJOR, _MINOR, _PATCH, _STRING */

#ifdef __cplusplus
extern "C" {
#endif

struct connection_pool;
struct connection;
struct pool_message;       /* connectionserver.h */
struct connection_message; /* connectionclient.h */

/* Error codes. */
#define SC_OK 0
#define SC_ERR_INVALID_ARGUMENT (-1) /* NULL handle or a value out of range */
#define SC_ERR_INVALID_STATE (-2)    /* the call is not allowed in the object's current state */
#define SC_ERR_NO_MEMORY (-3)        /* an allocation failed (only where a function says so) */
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

/*
 * The version of the library that is running, "MAJOR.MINOR.PATCH" (for logs).
 * Never NULL. SC_VERSION_STRING is the version of the header a program was
 * compiled with; the two differ when it runs with another 1.x library.
 */
SC_EXPORT const char *sc_version(void) SC_NOEXCEPT;

/*
 * A short English description of an SC_OK or SC_ERR_* code. Never NULL: any
 * other value gives "unknown error code".
 */
SC_EXPORT const char *sc_strerror(int code) SC_NOEXCEPT;

/*
 * Server pool settings. Each may be called at any time; timeouts take effect at
 * the next cp_timeout(), a window applies to sessions opened after the call.
 * On an error nothing is changed.
 */

/*
 * Sockets still in the handshake after `ms` are closed by cp_timeout().
 *   SC_OK                    set
 *   SC_ERR_INVALID_ARGUMENT  cp is NULL, or ms is 0
 */
SC_EXPORT int sc_pool_set_handshake_timeout(struct connection_pool *cp, uint64_t ms) SC_NOEXCEPT;

/*
 * Sessions without a socket for `ms` are freed by cp_timeout(); 0 keeps them
 * until their backlog overflows the window or the application ends them.
 *   SC_OK                    set
 *   SC_ERR_INVALID_ARGUMENT  cp is NULL
 */
SC_EXPORT int sc_pool_set_reuse_timeout(struct connection_pool *cp, uint64_t ms) SC_NOEXCEPT;

/*
 * Bytes each session opened from now on keeps for resending.
 *   SC_OK                    set
 *   SC_ERR_INVALID_ARGUMENT  cp is NULL, or bytes is outside SC_MIN_WINDOW..SC_MAX_WINDOW
 */
SC_EXPORT int sc_pool_set_window(struct connection_pool *cp, size_t bytes) SC_NOEXCEPT;

/*
 * At most `n` sockets may be in the handshake at once; the socket that would
 * exceed it is closed at once (POOL_OUT size 0). 0, the default, sets no limit.
 * Each socket in the handshake costs a fixed amount of memory (README) until
 * it completes, fails, or cp_timeout() closes it.
 *   SC_OK                    set
 *   SC_ERR_INVALID_ARGUMENT  cp is NULL
 */
SC_EXPORT int sc_pool_set_max_handshakes(struct connection_pool *cp, size_t n) SC_NOEXCEPT;

/*
 * The pool's budget. At most `n` sessions (attached and detached), and at
 * most `bytes` as sc_pool_stats.bytes_budgeted counts them: the bytes every
 * session holds for resending, plus a fixed cost per session and per socket
 * in the handshake. 0, the default, sets no limit. When a new session, a new
 * socket or more data would pass a cap, the pool ends the sessions detached
 * the longest first (SC_EVENT_SESSION_CLOSED, SC_REASON_EVICTED); when no
 * detached session is left, it refuses new sockets and new-connection
 * requests (SC_EVENT_HANDSHAKE_REFUSED, SC_REASON_POOL_FULL; a request is
 * refused before it is answered). Data for a session with a socket is never
 * refused: it may take the pool past the byte cap, and then only new
 * sessions are turned away. A lower cap takes effect at the next event that
 * checks it. Sizing: docs/ROBUSTNESS.md.
 *   SC_OK                    set
 *   SC_ERR_INVALID_ARGUMENT  cp is NULL
 *   SC_ERR_NO_MEMORY         giving a pool without a budget its first cap
 *                            needs memory, which was not there; nothing changed
 */
SC_EXPORT int sc_pool_set_max_sessions(struct connection_pool *cp, size_t n) SC_NOEXCEPT;
SC_EXPORT int sc_pool_set_max_bytes(struct connection_pool *cp, uint64_t bytes) SC_NOEXCEPT;

/*
 * The application has just accepted socket `fd`. Its handshake clock starts
 * now, so cp_timeout() closes it (POOL_OUT size 0, SC_REASON_TIMED_OUT) if it
 * has not completed its handshake within the handshake timeout, even if it
 * never sends a byte. It counts against the handshake cap and the budget at
 * once, and may be refused at once (POOL_OUT size 0 on the next poll). If the
 * pool still knows `fd`, that socket is taken as gone first, as after
 * cp_recv(cp, fd, NULL, 0). Without this call a socket is known from its
 * first byte, as in the 2014 module.
 *   SC_OK                    noted (or refused: see above)
 *   SC_ERR_INVALID_ARGUMENT  cp is NULL or fd is negative
 *   SC_ERR_NO_MEMORY         the socket could not be recorded; the pool does
 *                            not know fd (as after cp_recv(cp, fd, NULL, 0))
 */
SC_EXPORT int sc_pool_socket_opened(struct connection_pool *cp, int fd) SC_NOEXCEPT;

/*
 * Replaces the monotonic clock cp_timeout() reads; a NULL clock restores the
 * system clock.
 *   SC_OK                    set
 *   SC_ERR_INVALID_ARGUMENT  cp is NULL
 */
SC_EXPORT int sc_pool_set_clock(struct connection_pool *cp, sc_clock_fn clock, void *user_data) SC_NOEXCEPT;

/*
 * Client settings. The window can only change while the client has not yet
 * sent application data on its session: call it right after cc_open(). (Data
 * cc_send() queues while the first handshake is in flight is not sent yet.)
 *   SC_OK                    set
 *   SC_ERR_INVALID_ARGUMENT  c is NULL, or bytes is outside SC_MIN_WINDOW..SC_MAX_WINDOW
 *   SC_ERR_INVALID_STATE     the client has already sent application data
 */
SC_EXPORT int sc_client_set_window(struct connection *c, size_t bytes) SC_NOEXCEPT;

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
#define SC_REASON_EVICTED 11        /* detached, ended to make room in the pool's budget */
#define SC_REASON_POOL_FULL 12      /* the budget is taken by sessions that have a socket */
/* Version 2 (a client learns them from the server's status byte). */
#define SC_REASON_NOT_SUPPORTED 13  /* the server does not accept this protocol version */
#define SC_REASON_BUSY 14           /* the server has too many handshakes in progress; try later */
#define SC_REASON_REJECTED 15       /* the request did not verify (wrong key or secret) or broke a rule */
#define SC_REASON_PROTOCOL_ERROR 16 /* a record or message that did not verify or broke the protocol */
#define SC_REASON_MAX 16

/* A short English name of an SC_REASON_* value. Never NULL: any other value
 * gives "unknown reason". */
SC_EXPORT const char *sc_reason_string(int reason) SC_NOEXCEPT;

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

/*
 * The same values under names that say which side reports them: the pool's
 * SC_EVENT_POOL_* (struct sc_pool_event) and the client's SC_EVENT_CLIENT_*
 * (struct sc_client_event). SC_EVENT_POOL_SESSION_RESUMED and
 * SC_EVENT_CLIENT_RESUMED are the two ends of one resume.
 */
#define SC_EVENT_POOL_SESSION_OPENED SC_EVENT_SESSION_OPENED
#define SC_EVENT_POOL_SESSION_RESUMED SC_EVENT_SESSION_RESUMED
#define SC_EVENT_POOL_SESSION_DETACHED SC_EVENT_SESSION_DETACHED
#define SC_EVENT_POOL_SESSION_CLOSED SC_EVENT_SESSION_CLOSED
#define SC_EVENT_POOL_HANDSHAKE_REFUSED SC_EVENT_HANDSHAKE_REFUSED

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

/*
 * Turns event delivery on (nonzero) or off; events already queued stay.
 *   SC_OK                    done
 *   SC_ERR_INVALID_ARGUMENT  cp is NULL
 */
SC_EXPORT int sc_pool_enable_events(struct connection_pool *cp, int enable) SC_NOEXCEPT;

/*
 * Like cp_poll(), and also hands out the queued events. Both m and ev are
 * required; *m is filled in for POOL_IN and POOL_OUT, *ev for SC_POOL_EVENT.
 *   POOL_IN, POOL_OUT        a message, as from cp_poll()
 *   SC_POOL_EVENT            an event
 *   POOL_EMPTY               nothing is queued; also when memory ran out while
 *                            handing out the next message (as cp_poll() does)
 *   SC_ERR_INVALID_ARGUMENT  cp, m or ev is NULL
 */
SC_EXPORT int sc_pool_poll(struct connection_pool *cp, struct pool_message *m, struct sc_pool_event *ev) SC_NOEXCEPT;

/* Client events. */
#define SC_MESSAGE_EVENT 3 /* returned by sc_client_poll() next to MESSAGE_IN / MESSAGE_OUT */

#define SC_EVENT_CONNECTED 11     /* a new session is established */
#define SC_EVENT_RESUMED 12       /* the session moved to the new socket; resent_bytes */
#define SC_EVENT_REFUSED 13       /* reason (WINDOW_EXCEEDED); the connection is dead */
#define SC_EVENT_SESSION_RESET 14 /* a reconnect had to open a new session; lost_bytes */

/* The same values, named for the client (see SC_EVENT_POOL_* above). */
#define SC_EVENT_CLIENT_CONNECTED SC_EVENT_CONNECTED
#define SC_EVENT_CLIENT_RESUMED SC_EVENT_RESUMED
#define SC_EVENT_CLIENT_REFUSED SC_EVENT_REFUSED
#define SC_EVENT_CLIENT_SESSION_RESET SC_EVENT_SESSION_RESET

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

/*
 * Turns event delivery on (nonzero) or off; events already queued stay.
 *   SC_OK                    done
 *   SC_ERR_INVALID_ARGUMENT  c is NULL
 */
SC_EXPORT int sc_client_enable_events(struct connection *c, int enable) SC_NOEXCEPT;

/*
 * Like cc_poll(), and also hands out the queued events. Both m and ev are
 * required; *m is filled in for MESSAGE_IN and MESSAGE_OUT, *ev for
 * SC_MESSAGE_EVENT.
 *   MESSAGE_IN, MESSAGE_OUT  a message, as from cc_poll()
 *   SC_MESSAGE_EVENT         an event
 *   MESSAGE_EMPTY            nothing is queued; also when memory ran out while
 *                            handing out the next message (as cc_poll() does)
 *   SC_ERR_INVALID_ARGUMENT  c, m or ev is NULL
 */
SC_EXPORT int sc_client_poll(struct connection *c, struct connection_message *m,
                             struct sc_client_event *ev) SC_NOEXCEPT;

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
  uint64_t closed_evicted;      /* detached sessions ended to make room (the budget) */
  uint64_t refused_pool_full;   /* sockets and requests refused: the budget was taken */
  uint64_t bytes_budgeted;      /* now: what counts against sc_pool_set_max_bytes */
};
/*
 * Fills the first `size` bytes of *st (at most sizeof(struct sc_pool_stats)).
 *   SC_OK                    filled in (nothing with size 0)
 *   SC_ERR_INVALID_ARGUMENT  cp or st is NULL
 */
SC_EXPORT int sc_pool_get_stats(struct connection_pool *cp, struct sc_pool_stats *st, size_t size) SC_NOEXCEPT;

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
/*
 * Fills the first `size` bytes of *info (at most sizeof(struct sc_session_info))
 * with the state of session `id`.
 *   SC_OK                    filled in (nothing with size 0)
 *   SC_ERR_INVALID_ARGUMENT  cp or info is NULL
 *   SC_ERR_NOT_FOUND         no session has that id (never opened, or ended);
 *                            *info is left alone
 */
SC_EXPORT int sc_pool_session_info(struct connection_pool *cp, int id, struct sc_session_info *info,
                                   size_t size) SC_NOEXCEPT;

/*
 * Stores the backlog of session `id` (see above) in *bytes.
 *   SC_OK                    stored
 *   SC_ERR_INVALID_ARGUMENT  cp or bytes is NULL
 *   SC_ERR_NOT_FOUND         no session has that id; *bytes is left alone
 */
SC_EXPORT int sc_pool_session_backlog(struct connection_pool *cp, int id, uint64_t *bytes) SC_NOEXCEPT;

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
/*
 * Fills the first `size` bytes of *st (at most sizeof(struct sc_client_stats)).
 *   SC_OK                    filled in (nothing with size 0)
 *   SC_ERR_INVALID_ARGUMENT  c or st is NULL
 */
SC_EXPORT int sc_client_get_stats(struct connection *c, struct sc_client_stats *st, size_t size) SC_NOEXCEPT;

/*
 * Stores the client's backlog (see above) in *bytes.
 *   SC_OK                    stored
 *   SC_ERR_INVALID_ARGUMENT  c or bytes is NULL
 */
SC_EXPORT int sc_client_backlog(struct connection *c, uint64_t *bytes) SC_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
