/*
 * The extension header seen from a C99 program: the version macros and
 * sc_version(), the event names of both sides, and every return value that
 * include/stable_connection.h documents for each sc_* function, produced by
 * calling the function that way.
 *
 * Built twice by the test suite, against the shared and against the static
 * library. Exits 0 and prints an OK line, or prints what failed and exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectionclient.h"
#include "connectionserver.h"
#include "stable_connection.h"
#include "stable_connection_testing.h"

/* ------------------------------------------------------------ compile time */

#if !defined(SC_VERSION_MAJOR) || !defined(SC_VERSION_MINOR) || !defined(SC_VERSION_PATCH) || \
    !defined(SC_VERSION_STRING)
#error "stable_connection.h must give the version macros"
#endif

/* The values are stable; the side-named aliases equal the original names. */
#if SC_EVENT_SESSION_OPENED != 1 || SC_EVENT_SESSION_RESUMED != 2 || SC_EVENT_SESSION_DETACHED != 3 || \
    SC_EVENT_SESSION_CLOSED != 4 || SC_EVENT_HANDSHAKE_REFUSED != 5
#error "pool event values changed"
#endif
#if SC_EVENT_CONNECTED != 11 || SC_EVENT_RESUMED != 12 || SC_EVENT_REFUSED != 13 || SC_EVENT_SESSION_RESET != 14
#error "client event values changed"
#endif
#if SC_EVENT_POOL_SESSION_OPENED != SC_EVENT_SESSION_OPENED ||     \
    SC_EVENT_POOL_SESSION_RESUMED != SC_EVENT_SESSION_RESUMED ||   \
    SC_EVENT_POOL_SESSION_DETACHED != SC_EVENT_SESSION_DETACHED || \
    SC_EVENT_POOL_SESSION_CLOSED != SC_EVENT_SESSION_CLOSED ||     \
    SC_EVENT_POOL_HANDSHAKE_REFUSED != SC_EVENT_HANDSHAKE_REFUSED
#error "an SC_EVENT_POOL_* alias differs from its original"
#endif
#if SC_EVENT_CLIENT_CONNECTED != SC_EVENT_CONNECTED || SC_EVENT_CLIENT_RESUMED != SC_EVENT_RESUMED || \
    SC_EVENT_CLIENT_REFUSED != SC_EVENT_REFUSED || SC_EVENT_CLIENT_SESSION_RESET != SC_EVENT_SESSION_RESET
#error "an SC_EVENT_CLIENT_* alias differs from its original"
#endif
#if SC_OK != 0 || SC_ERR_INVALID_ARGUMENT != -1 || SC_ERR_INVALID_STATE != -2 || SC_ERR_NO_MEMORY != -3 || \
    SC_ERR_NOT_FOUND != -4 || SC_ERR_NOT_SUPPORTED != -5 || SC_ERR_CRYPTO != -6
#error "error codes changed"
#endif
#if SC_EVENT_CLIENT_PONG != 15 || SC_CLIENT_BROKEN != 5 || SC_PROTOCOL_1 != 1 || SC_PROTOCOL_2 != 2 || \
    SC_KEY_SIZE != 32 || SC_SESSION_ID_SIZE != 16
#error "version 2 constants changed"
#endif
#if !defined(SC_HAVE_PROTOCOL_2) || (SC_HAVE_PROTOCOL_2 != 0 && SC_HAVE_PROTOCOL_2 != 1)
#error "the version header must say whether protocol version 2 is built"
#endif

/* ------------------------------------------------------------ reporting */

static int checks;

static void fail(const char *file, int line, const char *what) {
  fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
  exit(1);
}

#define CHECK(cond)                               \
  do {                                            \
    ++checks;                                     \
    if (!(cond)) fail(__FILE__, __LINE__, #cond); \
  } while (0)

/* ------------------------------------------------------------ version */

static void check_version(void) {
  char expect[64];
  snprintf(expect, sizeof expect, "%d.%d.%d", SC_VERSION_MAJOR, SC_VERSION_MINOR, SC_VERSION_PATCH);
  CHECK(strcmp(SC_VERSION_STRING, expect) == 0);
  CHECK(sc_version() != NULL);
  CHECK(strcmp(sc_version(), SC_VERSION_STRING) == 0);
#ifdef SC_TEST_EXPECT_VERSION
  /* The version of the project() call the build was configured with. */
  CHECK(strcmp(sc_version(), SC_TEST_EXPECT_VERSION) == 0);
#endif
}

/* ------------------------------------------------------------ a session in memory */

static uint64_t clock_now = 1000;
static uint64_t read_clock(void *user_data) {
  (void)user_data;
  return clock_now;
}

struct seen {
  int pool_events[8];
  int npool;
  int client_events[8];
  int nclient;
  int session;
};

static int has(const int *events, int n, int type) {
  int k;
  for (k = 0; k < n; ++k)
    if (events[k] == type) return 1;
  return 0;
}

/* Carries bytes both ways over "socket" fd until neither side has any. */
static void pump(struct connection_pool *cp, struct connection *c, int fd, struct seen *s) {
  int moved = 1;
  while (moved) {
    struct connection_message cm;
    struct sc_client_event cev;
    struct pool_message pm;
    struct sc_pool_event pev;
    int t;
    moved = 0;
    while ((t = sc_client_poll(c, &cm, &cev)) != MESSAGE_EMPTY) {
      CHECK(t == MESSAGE_OUT || t == MESSAGE_IN || t == SC_MESSAGE_EVENT);
      moved = 1;
      if (t == MESSAGE_OUT) cp_recv(cp, fd, cm.buffer, (size_t)cm.sz);
      if (t == SC_MESSAGE_EVENT && s->nclient < 8) s->client_events[s->nclient++] = cev.type;
    }
    while ((t = sc_pool_poll(cp, &pm, &pev)) != POOL_EMPTY) {
      CHECK(t == POOL_OUT || t == POOL_IN || t == SC_POOL_EVENT);
      moved = 1;
      if (t == POOL_OUT && pm.id == fd && pm.sz > 0) cc_recv(c, pm.buffer, pm.sz);
      if (t == POOL_IN) s->session = pm.id;
      if (t == SC_POOL_EVENT) {
        if (s->npool < 8) s->pool_events[s->npool++] = pev.type;
        if (pev.type == SC_EVENT_POOL_SESSION_OPENED) s->session = pev.id;
      }
    }
  }
}

/* ------------------------------------------------------------ the documented returns */

static void check_settings(struct connection_pool *cp) {
  CHECK(sc_pool_set_handshake_timeout(cp, 10000) == SC_OK);
  CHECK(sc_pool_set_handshake_timeout(NULL, 10000) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_pool_set_handshake_timeout(cp, 0) == SC_ERR_INVALID_ARGUMENT);

  CHECK(sc_pool_set_reuse_timeout(cp, 0) == SC_OK);
  CHECK(sc_pool_set_reuse_timeout(cp, SC_DEFAULT_REUSE_TIMEOUT_MS) == SC_OK);
  CHECK(sc_pool_set_reuse_timeout(NULL, 1) == SC_ERR_INVALID_ARGUMENT);

  CHECK(sc_pool_set_window(cp, SC_MIN_WINDOW) == SC_OK);
  CHECK(sc_pool_set_window(cp, SC_MAX_WINDOW) == SC_OK);
  CHECK(sc_pool_set_window(cp, SC_DEFAULT_WINDOW) == SC_OK);
  CHECK(sc_pool_set_window(cp, SC_DEFAULT_WINDOW_V2) == SC_OK);
  CHECK(SC_DEFAULT_WINDOW_V2 >= SC_MIN_WINDOW_V2 && SC_DEFAULT_WINDOW_V2 <= SC_MAX_WINDOW);
  CHECK(sc_pool_set_window(NULL, SC_DEFAULT_WINDOW) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_pool_set_window(cp, SC_MIN_WINDOW - 1) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_pool_set_window(cp, (size_t)SC_MAX_WINDOW + 1) == SC_ERR_INVALID_ARGUMENT);

  CHECK(sc_pool_set_max_handshakes(cp, 0) == SC_OK);
  CHECK(sc_pool_set_max_handshakes(NULL, 4) == SC_ERR_INVALID_ARGUMENT);

  CHECK(sc_pool_set_clock(cp, NULL, NULL) == SC_OK);
  CHECK(sc_pool_set_clock(cp, read_clock, NULL) == SC_OK);
  CHECK(sc_pool_set_clock(NULL, read_clock, NULL) == SC_ERR_INVALID_ARGUMENT);

  CHECK(sc_pool_enable_events(cp, 1) == SC_OK);
  CHECK(sc_pool_enable_events(NULL, 1) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_enable_events(NULL, 1) == SC_ERR_INVALID_ARGUMENT);

  CHECK(sc_testing_set_random(SC_RANDOM_SERVER, NULL, NULL) == SC_OK);
  CHECK(sc_testing_set_random(SC_RANDOM_CLIENT, NULL, NULL) == SC_OK);
  CHECK(sc_testing_set_random(SC_RANDOM_CLIENT + 1, NULL, NULL) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_testing_set_random(-1, NULL, NULL) == SC_ERR_INVALID_ARGUMENT);
}

static void check_names(void) {
  int code, reason;
  for (code = -10; code <= 10; ++code) CHECK(sc_strerror(code) != NULL);
  CHECK(strcmp(sc_strerror(1), "unknown error code") == 0);
  CHECK(strcmp(sc_strerror(SC_ERR_CRYPTO - 1), "unknown error code") == 0);
  CHECK(strcmp(sc_strerror(SC_ERR_NOT_SUPPORTED), "unknown error code") != 0);
  CHECK(strcmp(sc_strerror(SC_ERR_CRYPTO), "unknown error code") != 0);
  CHECK(strcmp(sc_strerror(SC_ERR_NO_MEMORY), "unknown error code") != 0);
  for (reason = SC_REASON_NONE; reason <= SC_REASON_MAX; ++reason) {
    CHECK(sc_reason_string(reason) != NULL);
    CHECK(strcmp(sc_reason_string(reason), "unknown reason") != 0);
  }
  CHECK(strcmp(sc_reason_string(SC_REASON_MAX + 1), "unknown reason") == 0);
  CHECK(strcmp(sc_reason_string(-1), "unknown reason") == 0);
}

static void check_null_polls(struct connection_pool *cp, struct connection *c) {
  struct pool_message pm;
  struct sc_pool_event pev;
  struct connection_message cm;
  struct sc_client_event cev;
  CHECK(sc_pool_poll(NULL, &pm, &pev) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_pool_poll(cp, NULL, &pev) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_pool_poll(cp, &pm, NULL) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_poll(NULL, &cm, &cev) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_poll(c, NULL, &cev) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_poll(c, &cm, NULL) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_pool_poll_sized(NULL, &pm, &pev, sizeof pev) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_pool_poll_sized(cp, NULL, &pev, sizeof pev) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_pool_poll_sized(cp, &pm, NULL, sizeof pev) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_poll_sized(NULL, &cm, &cev, sizeof cev) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_poll_sized(c, NULL, &cev, sizeof cev) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_poll_sized(c, &cm, NULL, sizeof cev) == SC_ERR_INVALID_ARGUMENT);
}

static int all_bytes(const void *p, size_t n, unsigned char value) {
  const unsigned char *b = (const unsigned char *)p;
  size_t k;
  for (k = 0; k < n; ++k)
    if (b[k] != value) return 0;
  return 1;
}

static void check_queries(struct connection_pool *cp, struct connection *c, int session) {
  struct sc_pool_stats pst;
  struct sc_session_info info;
  struct sc_client_stats cst;
  uint64_t bytes = 12345;

  CHECK(sc_pool_get_stats(cp, &pst, sizeof pst) == SC_OK);
  CHECK(pst.sessions_open == 1);
  CHECK(sc_pool_get_stats(cp, &pst, 0) == SC_OK);
  CHECK(sc_pool_get_stats(NULL, &pst, sizeof pst) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_pool_get_stats(cp, NULL, sizeof pst) == SC_ERR_INVALID_ARGUMENT);

  CHECK(sc_pool_session_info(cp, session, &info, sizeof info) == SC_OK);
  CHECK(info.state == SC_SESSION_ATTACHED);
  CHECK(sc_pool_session_info(NULL, session, &info, sizeof info) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_pool_session_info(cp, session, NULL, sizeof info) == SC_ERR_INVALID_ARGUMENT);
  memset(&info, 0xab, sizeof info);
  CHECK(sc_pool_session_info(cp, session + 1, &info, sizeof info) == SC_ERR_NOT_FOUND);
  CHECK(sc_pool_session_info(cp, 0, &info, sizeof info) == SC_ERR_NOT_FOUND);
  CHECK(all_bytes(&info, sizeof info, 0xab)); /* left alone */

  CHECK(sc_pool_session_backlog(cp, session, &bytes) == SC_OK);
  CHECK(bytes == 0);
  CHECK(sc_pool_session_backlog(NULL, session, &bytes) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_pool_session_backlog(cp, session, NULL) == SC_ERR_INVALID_ARGUMENT);
  bytes = 12345;
  CHECK(sc_pool_session_backlog(cp, -1, &bytes) == SC_ERR_NOT_FOUND);
  CHECK(bytes == 12345); /* left alone */

  CHECK(sc_client_get_stats(c, &cst, sizeof cst) == SC_OK);
  CHECK(cst.state == SC_CLIENT_ESTABLISHED);
  CHECK(sc_client_get_stats(c, &cst, 0) == SC_OK);
  CHECK(sc_client_get_stats(NULL, &cst, sizeof cst) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_get_stats(c, NULL, sizeof cst) == SC_ERR_INVALID_ARGUMENT);

  CHECK(sc_client_backlog(c, &bytes) == SC_OK);
  CHECK(bytes == 0);
  CHECK(sc_client_backlog(NULL, &bytes) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_backlog(c, NULL) == SC_ERR_INVALID_ARGUMENT);
}

static void check_session(void) {
  struct connection_pool *cp = cp_new();
  struct connection *c = cc_open();
  struct seen s;
  CHECK(cp != NULL && c != NULL);
  memset(&s, 0, sizeof s);
  check_settings(cp);
  check_null_polls(cp, c);
  CHECK(sc_client_enable_events(c, 1) == SC_OK);

  /* The window may change until the client has sent application data: data
   * queued during the first handshake has not been sent yet. */
  CHECK(sc_client_set_window(c, SC_MIN_WINDOW - 1) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_set_window(c, (size_t)SC_MAX_WINDOW + 1) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_set_window(NULL, SC_DEFAULT_WINDOW) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_set_window(c, 2 * SC_DEFAULT_WINDOW) == SC_OK);
  cc_send(c, "early", 5);
  CHECK(sc_client_set_window(c, SC_DEFAULT_WINDOW) == SC_OK);

  pump(cp, c, 3, &s);
  CHECK(s.session > 0);
  CHECK(has(s.pool_events, s.npool, SC_EVENT_POOL_SESSION_OPENED));
  CHECK(has(s.client_events, s.nclient, SC_EVENT_CLIENT_CONNECTED));
  cp_send(cp, s.session, "hello", 5); /* the client has received something: it can resume */
  pump(cp, c, 3, &s);
  CHECK(sc_client_set_window(c, SC_DEFAULT_WINDOW) == SC_ERR_INVALID_STATE);
  check_queries(cp, c, s.session);

  /* A new socket: each side reports the resume under its own name. */
  s.npool = s.nclient = 0;
  cp_recv(cp, 3, NULL, 0);
  cc_handshake(c);
  pump(cp, c, 4, &s);
  CHECK(has(s.pool_events, s.npool, SC_EVENT_POOL_SESSION_DETACHED));
  CHECK(has(s.pool_events, s.npool, SC_EVENT_POOL_SESSION_RESUMED));
  CHECK(has(s.client_events, s.nclient, SC_EVENT_CLIENT_RESUMED));
  CHECK(!has(s.pool_events, s.npool, SC_EVENT_CLIENT_RESUMED));
  CHECK(!has(s.client_events, s.nclient, SC_EVENT_POOL_SESSION_RESUMED));

  /* The application ends it. */
  s.npool = 0;
  cp_send(cp, s.session, NULL, 0);
  pump(cp, c, 4, &s);
  CHECK(has(s.pool_events, s.npool, SC_EVENT_POOL_SESSION_CLOSED));

  cc_close(c);
  cp_delete(cp);
}

/* ------------------------------------------------------------ version 2 */

/* Like pump(), with the sized polls: the events' version and round trip. */
static void pump_v2(struct connection_pool *cp, struct connection *c, int fd, struct seen *s, uint64_t *rtt,
                    int *version) {
  int moved = 1;
  while (moved) {
    struct connection_message cm;
    struct sc_client_event cev;
    struct pool_message pm;
    struct sc_pool_event pev;
    int t;
    moved = 0;
    while ((t = sc_client_poll_sized(c, &cm, &cev, sizeof cev)) != MESSAGE_EMPTY) {
      moved = 1;
      if (t == MESSAGE_OUT) cp_recv(cp, fd, cm.buffer, (size_t)cm.sz);
      if (t == SC_MESSAGE_EVENT) {
        if (s->nclient < 8) s->client_events[s->nclient++] = cev.type;
        CHECK(cev.version == SC_PROTOCOL_2);
        if (cev.type == SC_EVENT_CLIENT_PONG) *rtt = cev.rtt_ms;
      }
    }
    while ((t = sc_pool_poll_sized(cp, &pm, &pev, sizeof pev)) != POOL_EMPTY) {
      moved = 1;
      if (t == POOL_OUT && pm.id == fd && pm.sz > 0) cc_recv(c, pm.buffer, pm.sz);
      if (t == SC_POOL_EVENT) {
        if (s->npool < 8) s->pool_events[s->npool++] = pev.type;
        if (pev.type == SC_EVENT_POOL_SESSION_OPENED) s->session = pev.id;
        *version = pev.version;
      }
    }
  }
}

static void check_v2(void) {
  uint8_t priv[SC_KEY_SIZE], pub[SC_KEY_SIZE], again[SC_KEY_SIZE];
  struct connection_pool *cp = cp_new();
  struct connection *c = NULL, *v1 = cc_open();
  struct seen s;
  uint64_t rtt = 99;
  int version = 0;
  memset(&s, 0, sizeof s);
  CHECK(sc_keypair_generate(NULL, pub) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_public_key(NULL, again) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_pool_set_static_key(NULL, priv) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_pool_set_server_id(NULL, 1) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_pool_set_versions(cp, 0) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_open_v2(NULL, &c) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_close_session(NULL) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_ping(NULL) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_set_clock(NULL, NULL, NULL) == SC_ERR_INVALID_ARGUMENT);
  CHECK(sc_client_close_session(v1) == SC_ERR_NOT_SUPPORTED); /* version 1 has no CLOSE */
  CHECK(sc_client_ping(v1) == SC_ERR_NOT_SUPPORTED);
  memset(priv, 0, sizeof priv);
#if SC_HAVE_PROTOCOL_2
  CHECK(sc_pool_set_versions(cp, SC_PROTOCOL_2) == SC_ERR_INVALID_STATE); /* no key yet */
  CHECK(sc_keypair_generate(priv, pub) == SC_OK);
  CHECK(sc_public_key(priv, again) == SC_OK);
  CHECK(memcmp(again, pub, sizeof pub) == 0);
  CHECK(sc_pool_set_static_key(cp, priv) == SC_OK);
  CHECK(sc_pool_set_server_id(cp, 7) == SC_OK);
  CHECK(sc_pool_set_versions(cp, SC_PROTOCOL_1 | SC_PROTOCOL_2) == SC_OK);
  CHECK(sc_pool_enable_events(cp, 1) == SC_OK);
  CHECK(sc_client_open_v2(pub, &c) == SC_OK);
  CHECK(c != NULL);
  CHECK(sc_client_enable_events(c, 1) == SC_OK);
  CHECK(sc_client_set_clock(c, read_clock, NULL) == SC_OK);
  CHECK(sc_client_ping(c) == SC_ERR_INVALID_STATE); /* no session yet */
  pump_v2(cp, c, 5, &s, &rtt, &version);
  CHECK(s.session > 0);
  CHECK(version == SC_PROTOCOL_2);
  CHECK(has(s.client_events, s.nclient, SC_EVENT_CLIENT_CONNECTED));
  {
    struct sc_client_stats cst;
    struct sc_session_info info;
    struct sc_pool_stats pst;
    CHECK(sc_client_get_stats(c, &cst, sizeof cst) == SC_OK);
    CHECK(cst.version == SC_PROTOCOL_2 && cst.state == SC_CLIENT_ESTABLISHED);
    CHECK(sc_pool_session_info(cp, s.session, &info, sizeof info) == SC_OK);
    CHECK(info.version == SC_PROTOCOL_2 && info.session_id[0] == 7 && info.session_id[1] == 0);
    CHECK(sc_pool_get_stats(cp, &pst, sizeof pst) == SC_OK);
    CHECK(pst.sessions_v2 == 1 && pst.sessions_opened_v2 == 1);
  }
  clock_now = 2000;
  CHECK(sc_client_ping(c) == SC_OK);
  pump_v2(cp, c, 5, &s, &rtt, &version);
  CHECK(has(s.client_events, s.nclient, SC_EVENT_CLIENT_PONG));
  CHECK(rtt == 0); /* the clock did not move */
  s.npool = 0;
  CHECK(sc_client_close_session(c) == SC_OK);
  pump_v2(cp, c, 5, &s, &rtt, &version);
  CHECK(has(s.pool_events, s.npool, SC_EVENT_POOL_SESSION_CLOSED));
  cc_close(c);
#else
  CHECK(sc_keypair_generate(priv, pub) == SC_ERR_NOT_SUPPORTED);
  CHECK(sc_public_key(priv, again) == SC_ERR_NOT_SUPPORTED);
  CHECK(sc_pool_set_static_key(cp, priv) == SC_ERR_NOT_SUPPORTED);
  CHECK(sc_pool_set_server_id(cp, 7) == SC_ERR_NOT_SUPPORTED);
  CHECK(sc_pool_set_versions(cp, SC_PROTOCOL_2) == SC_ERR_NOT_SUPPORTED);
  CHECK(sc_client_open_v2(pub, &c) == SC_ERR_NOT_SUPPORTED);
  CHECK(c == NULL);
  (void)pump_v2;
#endif
  CHECK(sc_pool_set_versions(cp, SC_PROTOCOL_1) == SC_OK);
  cc_close(v1);
  cp_delete(cp);
}

int main(void) {
  check_version();
  check_names();
  check_session();
  check_v2();
  printf("c_ext_test: OK, %d checks\n", checks);
  return 0;
}
