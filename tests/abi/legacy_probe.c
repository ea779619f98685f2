/*
 * Stand-in for libstableconn with only the legacy functions, built in
 * variants that each break the ABI in one way, so the ABI tests can show
 * that the check notices. The declarations are a copy of
 * connectionserver.h and connectionclient.h on purpose: a variant has to
 * change them, and the unchanged variant is itself checked against the
 * baseline, which keeps the copy honest.
 *
 * SC_ABI_PROBE selects the variant:
 *   0  unchanged
 *   1  struct pool_message gains a field
 *   2  cp_send takes an int where it took a size_t
 *   3  cc_handshake is missing
 *   4  sc_version returns int instead of const char *
 */
#include <stddef.h>

#ifndef SC_ABI_PROBE
#define SC_ABI_PROBE 0
#endif

struct connection_pool;
struct connection;

struct pool_message {
  int id;
  size_t sz;
  const char *buffer;
#if SC_ABI_PROBE == 1
  int flags;
#endif
};

struct connection_message {
  int sz;
  const char *buffer;
};

/* The probes are only read by abidiff, never run. */
struct connection_pool *cp_new(void) { return NULL; }
void cp_delete(struct connection_pool *cp) { (void)cp; }
void cp_timeout(struct connection_pool *cp) { (void)cp; }
void cp_recv(struct connection_pool *cp, int fd, const char *buffer, size_t sz) {
  (void)cp; (void)fd; (void)buffer; (void)sz;
}
#if SC_ABI_PROBE == 2
void cp_send(struct connection_pool *cp, int id, const char *buffer, int sz) {
#else
void cp_send(struct connection_pool *cp, int id, const char *buffer, size_t sz) {
#endif
  (void)cp; (void)id; (void)buffer; (void)sz;
}
int cp_poll(struct connection_pool *cp, struct pool_message *m) {
  (void)cp;
  return m ? m->id : 0;
}

struct connection *cc_open(void) { return NULL; }
void cc_close(struct connection *c) { (void)c; }
#if SC_ABI_PROBE != 3
void cc_handshake(struct connection *c) { (void)c; }
#endif
void cc_send(struct connection *c, const char *buffer, size_t sz) { (void)c; (void)buffer; (void)sz; }
void cc_recv(struct connection *c, const char *buffer, size_t sz) { (void)c; (void)buffer; (void)sz; }
int cc_poll(struct connection *c, struct connection_message *m) {
  (void)c;
  return m ? m->sz : 0;
}

#if SC_ABI_PROBE == 4
int sc_version(void) { return 1; }
#endif
