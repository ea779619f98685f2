/*
 * The legacy C API seen from a C99 program, exactly as a program written for
 * the 2014 module sees it: only the two root headers, the struct layouts a C
 * compiler gives their field lists, the macro values, and a whole exchange
 * (handshake, data both ways, reconnects with data lost in flight, close).
 *
 * Built twice by the test suite, against the shared and against the static
 * library. Exits 0 and prints an OK line, or prints what failed and exits 1.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectionclient.h"
#include "connectionserver.h"

/* ------------------------------------------------------------ compile time */

#ifndef connection_server_h
#error "connectionserver.h must keep the guard connection_server_h"
#endif
#ifndef connection_client_h
#error "connectionclient.h must keep the guard connection_client_h"
#endif

#if POOL_EMPTY != 0 || POOL_IN != 1 || POOL_OUT != 2
#error "POOL_* values changed"
#endif
#if MESSAGE_EMPTY != 0 || MESSAGE_IN != 1 || MESSAGE_OUT != 2
#error "MESSAGE_* values changed"
#endif

/* The field lists of the reference headers, declared here independently. */
struct ref_pool_message {
	int id;
	size_t sz;
	const char *buffer;
};

struct ref_connection_message {
	int sz;
	const char *buffer;
};

/*
 * The prototypes of the reference, as function pointer types: a changed
 * parameter or return type makes these initialisations incompatible, which
 * the test build turns into an error.
 */
static struct connection_pool *(*const p_cp_new)(void) = cp_new;
static void (*const p_cp_delete)(struct connection_pool *) = cp_delete;
static void (*const p_cp_timeout)(struct connection_pool *) = cp_timeout;
static void (*const p_cp_recv)(struct connection_pool *, int, const char *, size_t) = cp_recv;
static void (*const p_cp_send)(struct connection_pool *, int, const char *, size_t) = cp_send;
static int (*const p_cp_poll)(struct connection_pool *, struct pool_message *) = cp_poll;
static struct connection *(*const p_cc_open)(void) = cc_open;
static void (*const p_cc_close)(struct connection *) = cc_close;
static void (*const p_cc_handshake)(struct connection *) = cc_handshake;
static void (*const p_cc_send)(struct connection *, const char *, size_t) = cc_send;
static void (*const p_cc_recv)(struct connection *, const char *, size_t) = cc_recv;
static int (*const p_cc_poll)(struct connection *, struct connection_message *) = cc_poll;

/* ------------------------------------------------------------ reporting */

static int checks;

static void fail(const char *file, int line, const char *what) {
	fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
	exit(1);
}

#define CHECK(cond)                                            \
	do {                                                       \
		++checks;                                              \
		if (!(cond)) fail(__FILE__, __LINE__, #cond);          \
	} while (0)

/* ------------------------------------------------------------ layouts */

static void check_layouts(void) {
	struct pool_message pm;
	struct connection_message cm;
	/* Field types: each pointer initialisation must be compatible. */
	int *pm_id = &pm.id;
	size_t *pm_sz = &pm.sz;
	const char **pm_buffer = &pm.buffer;
	int *cm_sz = &cm.sz;
	const char **cm_buffer = &cm.buffer;
	(void)pm_id;
	(void)pm_sz;
	(void)pm_buffer;
	(void)cm_sz;
	(void)cm_buffer;

	CHECK(sizeof(struct pool_message) == sizeof(struct ref_pool_message));
	CHECK(offsetof(struct pool_message, id) == offsetof(struct ref_pool_message, id));
	CHECK(offsetof(struct pool_message, sz) == offsetof(struct ref_pool_message, sz));
	CHECK(offsetof(struct pool_message, buffer) == offsetof(struct ref_pool_message, buffer));
	CHECK(sizeof(pm.id) == sizeof(int));
	CHECK(sizeof(pm.sz) == sizeof(size_t));
	CHECK(sizeof(pm.buffer) == sizeof(const char *));

	CHECK(sizeof(struct connection_message) == sizeof(struct ref_connection_message));
	CHECK(offsetof(struct connection_message, sz) == offsetof(struct ref_connection_message, sz));
	CHECK(offsetof(struct connection_message, buffer) == offsetof(struct ref_connection_message, buffer));
	CHECK(sizeof(cm.sz) == sizeof(int));
	CHECK(sizeof(cm.buffer) == sizeof(const char *));

	CHECK(POOL_EMPTY == 0);
	CHECK(POOL_IN == 1);
	CHECK(POOL_OUT == 2);
	CHECK(MESSAGE_EMPTY == 0);
	CHECK(MESSAGE_IN == 1);
	CHECK(MESSAGE_OUT == 2);

	CHECK(p_cp_new && p_cp_delete && p_cp_timeout && p_cp_recv && p_cp_send && p_cp_poll);
	CHECK(p_cc_open && p_cc_close && p_cc_handshake && p_cc_send && p_cc_recv && p_cc_poll);
}

/* ------------------------------------------------------------ byte streams */

struct stream {
	char *data;
	size_t size;
	size_t cap;
};

static void append(struct stream *s, const char *p, size_t n) {
	if (s->size + n > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		char *grown;
		while (cap < s->size + n) cap *= 2;
		grown = realloc(s->data, cap);
		if (!grown) fail(__FILE__, __LINE__, "out of memory");
		s->data = grown;
		s->cap = cap;
	}
	if (n) memcpy(s->data + s->size, p, n);
	s->size += n;
}

/* Deterministic test data: byte k of a direction's stream. */
static char pattern(unsigned direction, size_t k) {
	unsigned long x = (unsigned long)k * 2654435761u + direction * 40503u;
	return (char)((x >> 13) ^ (x >> 5) ^ x);
}

/*
 * One client and one server in the same process. What each application was
 * asked to send is kept in `sent_*`, what it was handed in `got_*`.
 */
struct world {
	struct connection_pool *cp;
	struct connection *c;
	int id;                 /* the session id the server reported */
	int client_dead;        /* the client reported MESSAGE_IN of size 0 */
	int closes[32];         /* fds the server asked to close, in order */
	int nclose;
	struct stream sent_c2s, got_c2s;
	struct stream sent_s2c, got_s2c;
};

static void client_send(struct world *w, size_t n) {
	size_t k;
	char *buf = malloc(n);
	if (!buf) fail(__FILE__, __LINE__, "out of memory");
	for (k = 0; k < n; ++k) buf[k] = pattern(0, w->sent_c2s.size + k);
	append(&w->sent_c2s, buf, n);
	cc_send(w->c, buf, n);
	free(buf);
}

static void server_send(struct world *w, size_t n) {
	size_t k;
	char *buf = malloc(n);
	if (!buf) fail(__FILE__, __LINE__, "out of memory");
	for (k = 0; k < n; ++k) buf[k] = pattern(1, w->sent_s2c.size + k);
	append(&w->sent_s2c, buf, n);
	cp_send(w->cp, w->id, buf, n);
	free(buf);
}

/* Handles one client message that is not delivered anywhere. */
static void client_in(struct world *w, const struct connection_message *m) {
	CHECK(m->sz >= 0);
	if (m->sz == 0)
		w->client_dead = 1;
	else
		append(&w->got_s2c, m->buffer, (size_t)m->sz);
}

static void server_in(struct world *w, const struct pool_message *m) {
	CHECK(m->sz > 0);
	if (w->id == 0) w->id = m->id;
	CHECK(m->id == w->id);
	append(&w->got_c2s, m->buffer, m->sz);
}

static void server_close(struct world *w, int fd) {
	if (w->nclose < (int)(sizeof w->closes / sizeof w->closes[0])) w->closes[w->nclose++] = fd;
}

/*
 * Moves bytes between the two sides over the connection `fd` until nothing
 * moves. Server output for any other fd is thrown away: that socket is gone.
 * Returns the number of bytes the server wrote to `fd`.
 */
static size_t pump(struct world *w, int fd) {
	size_t to_client = 0;
	int moved;
	do {
		struct connection_message cm;
		struct pool_message pm;
		int r;
		moved = 0;
		while ((r = cc_poll(w->c, &cm)) != MESSAGE_EMPTY) {
			moved = 1;
			if (r == MESSAGE_OUT) {
				CHECK(cm.sz > 0);
				cp_recv(w->cp, fd, cm.buffer, (size_t)cm.sz);
			} else {
				CHECK(r == MESSAGE_IN);
				client_in(w, &cm);
			}
		}
		while ((r = cp_poll(w->cp, &pm)) != POOL_EMPTY) {
			moved = 1;
			if (r == POOL_OUT) {
				if (pm.sz == 0) {
					server_close(w, pm.id);
				} else if (pm.id == fd) {
					to_client += pm.sz;
					cc_recv(w->c, pm.buffer, pm.sz);
				}
			} else {
				CHECK(r == POOL_IN);
				server_in(w, &pm);
			}
		}
	} while (moved);
	return to_client;
}

/* The client's pending output dies with its socket. Returns its size. */
static size_t lose_client_output(struct world *w) {
	struct connection_message cm;
	size_t lost = 0;
	int r;
	while ((r = cc_poll(w->c, &cm)) != MESSAGE_EMPTY) {
		if (r == MESSAGE_OUT)
			lost += (size_t)cm.sz;
		else
			client_in(w, &cm);
	}
	return lost;
}

/* The server's pending output dies with its socket. Returns its size. */
static size_t lose_server_output(struct world *w) {
	struct pool_message pm;
	size_t lost = 0;
	int r;
	while ((r = cp_poll(w->cp, &pm)) != POOL_EMPTY) {
		if (r == POOL_OUT) {
			if (pm.sz == 0)
				server_close(w, pm.id);
			else
				lost += pm.sz;
		} else {
			server_in(w, &pm);
		}
	}
	return lost;
}

static int streams_equal(const struct stream *a, const struct stream *b) {
	return a->size == b->size && (a->size == 0 || memcmp(a->data, b->data, a->size) == 0);
}

static void check_in_step(const struct world *w) {
	CHECK(streams_equal(&w->sent_c2s, &w->got_c2s));
	CHECK(streams_equal(&w->sent_s2c, &w->got_s2c));
	CHECK(!w->client_dead);
}

static int closed(const struct world *w, int fd) {
	int k;
	for (k = 0; k < w->nclose; ++k)
		if (w->closes[k] == fd) return 1;
	return 0;
}

/* ------------------------------------------------------------ exchange */

static void check_exchange(void) {
	struct world w;
	struct pool_message pm;
	struct connection_message cm;
	size_t lost;
	memset(&w, 0, sizeof w);

	w.cp = cp_new();
	w.c = cc_open();
	CHECK(w.cp != NULL);
	CHECK(w.c != NULL);

	/* The handshake is queued at cc_open(); data sent before it completes waits. */
	client_send(&w, 5);
	pump(&w, 5);
	CHECK(w.id == 1); /* the first session of a pool is 1 */
	check_in_step(&w);

	/* Data both ways, more than 256 bytes server->client (a reuse must still work). */
	server_send(&w, 1000);
	client_send(&w, 700);
	pump(&w, 5);
	check_in_step(&w);
	server_send(&w, 3000);
	pump(&w, 5);
	check_in_step(&w);

	/* Reconnect 1: bytes lost in flight both ways, the server notices first,
	 * and sends more while the session has no socket. */
	server_send(&w, 300);
	client_send(&w, 400);
	lost = lose_server_output(&w);
	CHECK(lost == 300);
	lost = lose_client_output(&w);
	CHECK(lost == 400);
	cp_recv(w.cp, 5, NULL, 0);
	server_send(&w, 200); /* kept for the client while detached */
	CHECK(cp_poll(w.cp, &pm) == POOL_EMPTY);
	CHECK(w.sent_s2c.size - w.got_s2c.size == 500);
	cc_handshake(w.c);
	pump(&w, 6);
	check_in_step(&w);
	CHECK(w.nclose == 0);

	/* Reconnect 2: the client notices first; the server still has fd 6 and
	 * must ask for it to be closed once the session moves to fd 7. */
	client_send(&w, 1234);
	server_send(&w, 777);
	lose_client_output(&w);
	lose_server_output(&w);
	cc_handshake(w.c);
	client_send(&w, 99); /* sent while resuming: goes out after the resend */
	pump(&w, 7);
	check_in_step(&w);
	CHECK(closed(&w, 6));

	/* A lot of data, so both resend buffers wrap around, then a loss. */
	{
		int k;
		for (k = 0; k < 20; ++k) {
			server_send(&w, 5000);
			client_send(&w, 4000);
			pump(&w, 7);
		}
	}
	check_in_step(&w);
	server_send(&w, 6000);
	client_send(&w, 7000);
	lose_server_output(&w);
	lose_client_output(&w);
	cp_recv(w.cp, 7, NULL, 0);
	cc_handshake(w.c);
	pump(&w, 8);
	check_in_step(&w);

	/* A second client gets the next id, and data to an unknown id is dropped. */
	{
		struct world w2;
		memset(&w2, 0, sizeof w2);
		w2.cp = w.cp;
		w2.c = cc_open();
		CHECK(w2.c != NULL);
		client_send(&w2, 10);
		pump(&w2, 20);
		CHECK(w2.id == 2);
		check_in_step(&w2);
		cp_send(w.cp, 12345, "lost", 4);
		cp_send(w.cp, -1, "lost", 4);
		CHECK(cp_poll(w.cp, &pm) == POOL_EMPTY);
		cc_close(w2.c);
		free(w2.sent_c2s.data);
		free(w2.got_c2s.data);
		free(w2.sent_s2c.data);
		free(w2.got_s2c.data);
	}

	/* cp_timeout leaves an attached session alone. */
	cp_timeout(w.cp);
	server_send(&w, 10);
	pump(&w, 8);
	check_in_step(&w);

	/* cp_send(id, x, 0) ends the session: POOL_OUT of size 0 for its fd. */
	w.nclose = 0;
	cp_send(w.cp, w.id, "x", 0);
	CHECK(cp_poll(w.cp, &pm) == POOL_OUT);
	CHECK(pm.id == 8 && pm.sz == 0);
	CHECK(cp_poll(w.cp, &pm) == POOL_EMPTY);
	cp_send(w.cp, w.id, "gone", 4); /* the id is unknown now */
	CHECK(cp_poll(w.cp, &pm) == POOL_EMPTY);

	/* The client tries to resume the ended session: the server closes the socket. */
	cc_handshake(w.c);
	pump(&w, 9);
	CHECK(closed(&w, 9));
	/* The application gives up: one MESSAGE_IN of size 0, then nothing. */
	cc_recv(w.c, NULL, 0);
	CHECK(cc_poll(w.c, &cm) == MESSAGE_IN);
	CHECK(cm.sz == 0);
	CHECK(cc_poll(w.c, &cm) == MESSAGE_EMPTY);
	cc_recv(w.c, "ignored", 7);
	cc_send(w.c, "ignored", 7);
	CHECK(cc_poll(w.c, &cm) == MESSAGE_EMPTY);

	cc_close(w.c);
	cp_delete(w.cp);
	free(w.sent_c2s.data);
	free(w.got_c2s.data);
	free(w.sent_s2c.data);
	free(w.got_s2c.data);
}

/* An unknown fd starts a handshake; closing it drops the handshake. */
static void check_handshake_dropped(void) {
	struct connection_pool *cp = cp_new();
	struct connection *c = cc_open();
	struct connection_message cm;
	struct pool_message pm;
	CHECK(cp && c);
	CHECK(cc_poll(c, &cm) == MESSAGE_OUT);
	CHECK(cm.sz == 16);
	cp_recv(cp, 3, cm.buffer, (size_t)cm.sz);
	CHECK(cp_poll(cp, &pm) == POOL_OUT);
	CHECK(pm.id == 3 && pm.sz == 16);
	cp_recv(cp, 3, NULL, 0);
	CHECK(cp_poll(cp, &pm) == POOL_EMPTY);
	cc_close(c);
	cp_delete(cp);
}

/*
 * A program written for the 2014 module passes read()'s result straight
 * through: at end of file that is a size of 0 with its own buffer. That means
 * "this fd is gone" exactly as NULL does, and the kernel then hands the same
 * fd number to the next client, which must get a session of its own.
 */
static void check_end_of_file_with_a_buffer(void) {
	struct world w, w2;
	struct pool_message pm;
	struct connection_message cm;
	char buf[64];
	memset(&w, 0, sizeof w);
	memset(&w2, 0, sizeof w2);
	memset(buf, 'z', sizeof buf);
	w.cp = cp_new();
	w.c = cc_open();
	CHECK(w.cp != NULL && w.c != NULL);
	client_send(&w, 300);
	pump(&w, 5);
	CHECK(w.id == 1);
	server_send(&w, 400);
	pump(&w, 5);
	check_in_step(&w);

	/* read() returned 0 on fd 5: the application passes it on, then closes fd 5. */
	cp_recv(w.cp, 5, buf, 0);
	CHECK(cp_poll(w.cp, &pm) == POOL_EMPTY);
	server_send(&w, 100); /* kept for the client while detached */
	CHECK(cp_poll(w.cp, &pm) == POOL_EMPTY);

	/* accept() gives fd 5 again, to a new client: a new session, id 2. */
	w2.cp = w.cp;
	w2.c = cc_open();
	CHECK(w2.c != NULL);
	client_send(&w2, 20);
	pump(&w2, 5);
	CHECK(w2.id == 2);
	server_send(&w2, 30);
	pump(&w2, 5);
	check_in_step(&w2);
	CHECK(w.got_c2s.size == 300); /* nothing of it reached session 1 */

	/* The first client comes back on fd 6 and resumes session 1. */
	cc_handshake(w.c);
	client_send(&w, 50);
	pump(&w, 6);
	check_in_step(&w);
	CHECK(w.nclose == 0 && w2.nclose == 0);

	/* The client side: cc_recv with size 0 and a buffer gives the connection up. */
	cc_recv(w2.c, buf, 0);
	CHECK(cc_poll(w2.c, &cm) == MESSAGE_IN);
	CHECK(cm.sz == 0);
	CHECK(cc_poll(w2.c, &cm) == MESSAGE_EMPTY);
	cc_recv(w2.c, "ignored", 7);
	CHECK(cc_poll(w2.c, &cm) == MESSAGE_EMPTY);

	cc_close(w2.c);
	cc_close(w.c);
	cp_delete(w.cp);
	free(w.sent_c2s.data);
	free(w.got_c2s.data);
	free(w.sent_s2c.data);
	free(w.got_s2c.data);
	free(w2.sent_c2s.data);
	free(w2.got_c2s.data);
	free(w2.sent_s2c.data);
	free(w2.got_s2c.data);
}

/* Every function accepts NULL handles and pointers without crashing. */
static void check_null_arguments(void) {
	struct pool_message pm;
	struct connection_message cm;
	struct connection_pool *cp = cp_new();
	struct connection *c = cc_open();
	CHECK(cp && c);

	cp_delete(NULL);
	cp_timeout(NULL);
	cp_recv(NULL, 1, "x", 1);
	cp_recv(NULL, 1, NULL, 0);
	cp_send(NULL, 1, "x", 1);
	cp_send(NULL, 1, NULL, 0);
	CHECK(cp_poll(NULL, &pm) == POOL_EMPTY);
	CHECK(cp_poll(cp, NULL) == POOL_EMPTY);
	cp_send(cp, 1, NULL, 0); /* no such session */
	cp_recv(cp, 1, NULL, 0); /* no such fd */
	CHECK(cp_poll(cp, &pm) == POOL_EMPTY);

	cc_close(NULL);
	cc_handshake(NULL);
	cc_send(NULL, "x", 1);
	cc_recv(NULL, "x", 1);
	cc_recv(NULL, NULL, 0);
	CHECK(cc_poll(NULL, &cm) == MESSAGE_EMPTY);
	CHECK(cc_poll(c, NULL) == MESSAGE_EMPTY);

	cc_close(c);
	cp_delete(cp);
}

int main(void) {
	check_layouts();
	check_handshake_dropped();
	check_exchange();
	check_end_of_file_with_a_buffer();
	check_null_arguments();
	printf("c_api_test OK: %d checks passed\n", checks);
	return 0;
}
