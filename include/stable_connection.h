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

#define SC_VERSION_MAJOR 1
#define SC_VERSION_MINOR 0
#define SC_VERSION_PATCH 0

/* Error codes. */
#define SC_OK 0
#define SC_ERR_INVALID_ARGUMENT (-1) /* NULL handle or a value out of range */
#define SC_ERR_INVALID_STATE (-2)    /* the call is not allowed in the object's current state */
#define SC_ERR_NO_MEMORY (-3)        /* an allocation failed; nothing was changed */

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
/* Replaces the monotonic clock cp_timeout() reads; NULL restores the system clock. */
int sc_pool_set_clock(struct connection_pool *cp, sc_clock_fn clock, void *user_data);

/*
 * Client settings. The window can only change before the client has sent any
 * application data (SC_ERR_INVALID_STATE afterwards); call it right after cc_open().
 */
int sc_client_set_window(struct connection *c, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif
