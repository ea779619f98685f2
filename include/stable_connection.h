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
#define SC_ERR_NOT_SUPPORTED (-5)    /* built without protocol version 2, or not in version 1 */
#define SC_ERR_CRYPTO (-6)           /* the crypto library failed (no randomness, an unusable key) */

/* Defaults used when the matching setter is never called. */
#define SC_DEFAULT_HANDSHAKE_TIMEOUT_MS 30000u
#define SC_DEFAULT_REUSE_TIMEOUT_MS 300000u
#define SC_DEFAULT_WINDOW 65536u /* version 1 sessions, as in the 2014 module */
/* Version 2 sessions of a pool or client whose window was never set. A version
 * 2 sender has at most its window unacknowledged, so the window bounds what a
 * session moves per round trip; memory follows what is in flight. */
#define SC_DEFAULT_WINDOW_V2 262144u
/* Accepted range of a resend window, in bytes. */
#define SC_MIN_WINDOW 1u
#define SC_MAX_WINDOW (1u << 30)
/* The smallest window of a version 2 session; a pool's smaller window is
 * raised to it for its version 2 sessions. */
#define SC_MIN_WINDOW_V2 4096u

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
 * Bytes each session opened from now on keeps for resending, both versions
 * (version 2 sessions: at least SC_MIN_WINDOW_V2). Until it is called,
 * version 1 sessions get SC_DEFAULT_WINDOW and version 2 sessions
 * SC_DEFAULT_WINDOW_V2.
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

/* ------------------------------------------------------------------------
 * Protocol version 2 (docs/PROTOCOL-V2.md): authenticated encryption, forward
 * secrecy, acknowledgements and routable session ids, beside version 1 on the
 * same sockets. A pool accepts it once it has a static key; a client speaks
 * it when opened with sc_client_open_v2() and the server's public key. A
 * build without version 2 (SC_WITH_V2=OFF) returns SC_ERR_NOT_SUPPORTED from
 * each of these calls that only version 2 has (after the argument checks:
 * a NULL argument is SC_ERR_INVALID_ARGUMENT in any build);
 * SC_HAVE_PROTOCOL_2 in stable_connection_version.h says which build it is.
 * ------------------------------------------------------------------------ */

#define SC_KEY_SIZE 32        /* an X25519 private or public key */
#define SC_SESSION_ID_SIZE 16 /* a version 2 session id: server id (2 bytes, little-endian), then random */

/* Protocol versions, as bits for sc_pool_set_versions() and as values in
 * events and statistics. */
#define SC_PROTOCOL_1 1
#define SC_PROTOCOL_2 2

/*
 * A new key pair for a server: `private_key` goes to sc_pool_set_static_key(),
 * `public_key` to the clients (sc_client_open_v2()). Wipe the private key when
 * done with it.
 *   SC_OK                    both written
 *   SC_ERR_INVALID_ARGUMENT  a pointer is NULL
 *   SC_ERR_NOT_SUPPORTED     built without version 2
 *   SC_ERR_CRYPTO            no randomness; nothing written
 */
SC_EXPORT int sc_keypair_generate(uint8_t private_key[SC_KEY_SIZE], uint8_t public_key[SC_KEY_SIZE]) SC_NOEXCEPT;

/*
 * The public key of `private_key`.
 *   SC_OK                    written
 *   SC_ERR_INVALID_ARGUMENT  a pointer is NULL
 *   SC_ERR_NOT_SUPPORTED     built without version 2
 *   SC_ERR_CRYPTO            the crypto library refused the key; nothing written
 */
SC_EXPORT int sc_public_key(const uint8_t private_key[SC_KEY_SIZE], uint8_t public_key[SC_KEY_SIZE]) SC_NOEXCEPT;

/*
 * The pool's static private key (a copy is kept, wiped when the pool is
 * deleted or the key replaced). From now on the pool accepts version 2 as
 * well as the versions it accepted, unless sc_pool_set_versions() chose
 * before; sessions already open keep their keys.
 * Without a key the pool answers version 2 requests "not supported".
 *   SC_OK                    set
 *   SC_ERR_INVALID_ARGUMENT  cp or key is NULL
 *   SC_ERR_NOT_SUPPORTED     built without version 2
 *   SC_ERR_CRYPTO            the crypto library refused the key; nothing changed
 */
SC_EXPORT int sc_pool_set_static_key(struct connection_pool *cp, const uint8_t key[SC_KEY_SIZE]) SC_NOEXCEPT;

/*
 * The server id, the first two bytes of every version 2 session id this pool
 * makes from now on (0 by default), so that a front end can route a resume to
 * the process that holds the session.
 *   SC_OK                    set
 *   SC_ERR_INVALID_ARGUMENT  cp is NULL
 *   SC_ERR_NOT_SUPPORTED     built without version 2
 */
SC_EXPORT int sc_pool_set_server_id(struct connection_pool *cp, uint16_t id) SC_NOEXCEPT;

/*
 * Which versions new sockets may speak: SC_PROTOCOL_1, SC_PROTOCOL_2 or both
 * ORed (the default: version 1, and version 2 once a key is set; after this
 * call a new key no longer changes the choice). A request
 * of a version not accepted is refused (SC_REASON_NOT_SUPPORTED; version 2
 * with status 0x01, version 1 by closing the socket). Sessions already open
 * are not affected.
 *   SC_OK                    set
 *   SC_ERR_INVALID_ARGUMENT  cp is NULL, or versions is 0 or has other bits
 *   SC_ERR_NOT_SUPPORTED     SC_PROTOCOL_2 asked of a build without version 2
 *   SC_ERR_INVALID_STATE     SC_PROTOCOL_2 asked before a static key was set
 */
SC_EXPORT int sc_pool_set_versions(struct connection_pool *cp, unsigned versions) SC_NOEXCEPT;

/*
 * Opens a version 2 client that trusts the server whose static public key is
 * `server_key`, and stores it in *out. Every cc_* and sc_client_* call works
 * on it; cc_close() frees it. The new-session request is queued at the first
 * cc_poll(), so sc_client_set_window() may still be called before that.
 *   SC_OK                    *out is the new client
 *   SC_ERR_INVALID_ARGUMENT  server_key or out is NULL
 *   SC_ERR_NOT_SUPPORTED     built without version 2
 *   SC_ERR_NO_MEMORY         no memory; *out is left alone
 */
SC_EXPORT int sc_client_open_v2(const uint8_t server_key[SC_KEY_SIZE], struct connection **out) SC_NOEXCEPT;

/*
 * Ends a version 2 client's session for good: a CLOSE goes out after the data
 * already sent, the server ends the session (SC_REASON_BY_APPLICATION), and
 * the client is dead (a final MESSAGE_IN of size 0). Poll and write out what
 * is queued before closing the socket. Without an established connection the
 * client is dead at once, and the server's session expires.
 *   SC_OK                    done
 *   SC_ERR_INVALID_ARGUMENT  c is NULL
 *   SC_ERR_NOT_SUPPORTED     c speaks version 1, which has no CLOSE
 */
SC_EXPORT int sc_client_close_session(struct connection *c) SC_NOEXCEPT;

/*
 * Sends a PING on a version 2 client's connection; its PONG gives an
 * SC_EVENT_CLIENT_PONG event with the round trip in rtt_ms, by the client's
 * clock (sc_client_set_clock()). A newer PING replaces an unanswered one.
 *   SC_OK                    queued
 *   SC_ERR_INVALID_ARGUMENT  c is NULL
 *   SC_ERR_NOT_SUPPORTED     c speaks version 1
 *   SC_ERR_INVALID_STATE     the client has no established connection
 *   SC_ERR_NO_MEMORY         the record could not be made; the client is
 *                            dead (a final MESSAGE_IN of size 0)
 */
SC_EXPORT int sc_client_ping(struct connection *c) SC_NOEXCEPT;

/*
 * Replaces the monotonic clock a client measures round trips with; a NULL
 * clock restores the system clock.
 *   SC_OK                    set (a version 1 client, which has no round
 *                            trips to measure, ignores it)
 *   SC_ERR_INVALID_ARGUMENT  c is NULL
 */
SC_EXPORT int sc_client_set_clock(struct connection *c, sc_clock_fn clock, void *user_data) SC_NOEXCEPT;

/*
 * Client settings. The window can only change while the client has not yet
 * sent application data on its session: call it right after cc_open(). (Data
 * cc_send() queues while the first handshake is in flight is not sent yet.)
 * A version 2 client takes SC_MIN_WINDOW_V2..SC_MAX_WINDOW, until its first
 * cc_poll(). Defaults: SC_DEFAULT_WINDOW (version 1), SC_DEFAULT_WINDOW_V2
 * (version 2).
 *   SC_OK                    set
 *   SC_ERR_INVALID_ARGUMENT  c is NULL, or bytes is outside SC_MIN_WINDOW..SC_MAX_WINDOW
 *                            (SC_MIN_WINDOW_V2..SC_MAX_WINDOW for version 2)
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
#define SC_EVENT_SESSION_CLOSED 4    /* id, reason: BY_APPLICATION (also a version 2
                                        client's CLOSE), EXPIRED, BACKLOG, NO_RESOURCES,
                                        EVICTED, or TIMED_OUT (a version 2 session never
                                        confirmed) */
#define SC_EVENT_HANDSHAKE_REFUSED 5 /* fd, reason: BAD_AUTH, UNKNOWN_SESSION,
                                        WINDOW_EXCEEDED, MALFORMED, TIMED_OUT,
                                        TOO_MANY_HANDSHAKES, NO_RESOURCES, POOL_FULL;
                                        version 2 also NOT_SUPPORTED, REJECTED and
                                        PROTOCOL_ERROR (a record that did not verify,
                                        on a socket not yet attached) */

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
  /* Filled by sc_pool_poll_sized() only (sc_pool_poll() fills the fields
   * above, the struct as it was before version 2): */
  int version; /* SC_PROTOCOL_1 or _2: the session's version, or the refused
                  request's (0 when refused before its first 8 bytes) */
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

/*
 * Like sc_pool_poll(), filling at most `ev_size` bytes of *ev (pass sizeof
 * *ev): every field, version included.
 *   as sc_pool_poll()
 */
SC_EXPORT int sc_pool_poll_sized(struct connection_pool *cp, struct pool_message *m, struct sc_pool_event *ev,
                                 size_t ev_size) SC_NOEXCEPT;

/* Client events. */
#define SC_MESSAGE_EVENT 3 /* returned by sc_client_poll() next to MESSAGE_IN / MESSAGE_OUT */

#define SC_EVENT_CONNECTED 11     /* a new session is established */
#define SC_EVENT_RESUMED 12       /* the session moved to the new socket; resent_bytes */
#define SC_EVENT_REFUSED 13       /* reason: version 1 WINDOW_EXCEEDED, the connection is
                                     dead; version 2 see SC_EVENT_CLIENT_REFUSED */
#define SC_EVENT_SESSION_RESET 14 /* a reconnect had to open a new session; lost_bytes */
#define SC_EVENT_CLIENT_PONG 15   /* version 2: the answer to sc_client_ping(); rtt_ms */

/* The same values, named for the client (see SC_EVENT_POOL_* above). */
#define SC_EVENT_CLIENT_CONNECTED SC_EVENT_CONNECTED
#define SC_EVENT_CLIENT_RESUMED SC_EVENT_RESUMED
#define SC_EVENT_CLIENT_REFUSED SC_EVENT_REFUSED /* version 2 also: NOT_SUPPORTED, BUSY,
                                                  UNKNOWN_SESSION, REJECTED, PROTOCOL_ERROR
                                                  (see sc_client_stats.state) */
#define SC_EVENT_CLIENT_SESSION_RESET SC_EVENT_SESSION_RESET

struct sc_client_event {
  int type;   /* SC_EVENT_CONNECTED .. SC_EVENT_CLIENT_PONG */
  int reason; /* REFUSED: SC_REASON_* */
  /* RESUMED: client->server bytes sent again. */
  uint64_t resent_bytes;
  /* SESSION_RESET: bytes sent on the abandoned session, which the server may
   * or may not have received (version 1 cannot resume a session on which the
   * client has received nothing). */
  uint64_t lost_bytes;
  /* Filled by sc_client_poll_sized() only (sc_client_poll() fills the fields
   * above, the struct as it was before version 2): */
  uint64_t rtt_ms; /* PONG: the round trip in milliseconds */
  int version;     /* SC_PROTOCOL_1 or _2: the client's */
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
 * Like sc_client_poll(), filling at most `ev_size` bytes of *ev (pass sizeof
 * *ev): every field, rtt_ms and version included.
 *   as sc_client_poll()
 */
SC_EXPORT int sc_client_poll_sized(struct connection *c, struct connection_message *m, struct sc_client_event *ev,
                                   size_t ev_size) SC_NOEXCEPT;

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
  /* Version 2. */
  uint64_t sessions_v2;          /* now: of sessions_open */
  uint64_t sessions_unconfirmed; /* now: version 2 sessions answered whose client has not yet
                                    confirmed them with its first record (of sessions_open;
                                    they count as handshakes until then) */
  uint64_t sessions_opened_v2;   /* of sessions_opened */
  uint64_t reuses_v2;            /* of reuses */
  uint64_t refused_not_supported; /* a version the pool does not accept */
  uint64_t refused_busy;          /* version 2 requests over the handshake cap (status 0x02) */
  uint64_t refused_rejected;      /* version 2 requests that did not verify or broke a rule */
  uint64_t protocol_errors;       /* version 2 records that did not verify or broke a rule:
                                     that socket closed, its session detached */
  uint64_t closed_unconfirmed;    /* unconfirmed sessions ended by the handshake timeout */
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
  int version;             /* SC_PROTOCOL_1 or _2 */
  /* Version 2 (0 for version 1). */
  int unconfirmed;         /* 1: answered, the client's first record not seen yet */
  uint64_t bytes_acked;    /* server->client bytes the client acknowledged */
  uint8_t session_id[SC_SESSION_ID_SIZE]; /* its server id first */
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
/* Version 2: this socket is of no more use (the server was busy, or sent a
 * record that did not verify), the session is kept: connect a new socket
 * and call cc_handshake(). */
#define SC_CLIENT_BROKEN 5

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
  int version;          /* SC_PROTOCOL_1 or _2 */
  int last_failure;     /* SC_REASON_* of the last REFUSED event, 0 if none */
  uint64_t pongs;       /* version 2: PONG events */
  uint64_t last_rtt_ms; /* version 2: the round trip of the last PONG */
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
