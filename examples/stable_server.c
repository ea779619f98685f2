/*
 * stable_server: a stable-connection server over TCP, one process, one epoll
 * loop, any number of clients. Read it as an integration guide; the parts that
 * only serve the demo (checking the test streams, killing sockets on purpose)
 * are marked "demo".
 *
 *   stable_server [--port N] [--window BYTES] [--kill-interval MS] [--seed N]
 *                 [--report-ms MS] [--max-seconds S] [--verbose]
 *                 [--handshake-timeout MS] [--reuse-timeout MS]
 *                 [--max-handshakes N] [--max-sessions N] [--max-bytes BYTES]
 *                 [--log-rate LINES] [--trim-seconds S]
 *                 [--key-file FILE | --ephemeral-key] [--server-id N]
 *                 [--protocols 1|2|both]
 *
 * Protocol version 2 needs the server's static private key: --key-file reads
 * one written by stableconn-keygen (64 hexadecimal digits), --ephemeral-key
 * makes a new one at start (the demo's way; clients must then learn the
 * public key, which the "listening" line prints as public_key=HEX). With a
 * key the server accepts both versions unless --protocols says otherwise.
 *
 * It listens on 127.0.0.1 (port 0, the default, picks a free port and prints
 * it), serves the test streams of demo_stream.h to every stable_client, and
 * runs until SIGINT or SIGTERM. Then it prints its totals and exits with 0 if
 * every byte it received matched and no handshake was refused.
 *
 * How the pieces fit (one struct connection_pool for all clients):
 *
 *   accept           sc_pool_socket_opened(cp, fd), then drain. The socket's
 *                    handshake clock starts now, so one that never sends a
 *                    byte is closed by cp_timeout like any slow handshake.
 *                    (A legacy server says nothing: the first bytes start the
 *                    handshake, and a silent socket is never timed out.)
 *   socket readable  read() what is there, cp_recv(cp, fd, buf, n), drain.
 *   EOF or error     close(fd) and tell the pool: cp_recv(cp, fd, NULL, 0).
 *                    Any size 0 says so, whatever the buffer, so passing
 *                    read()'s 0 straight on does the same. The session
 *                    detaches and waits for its client.
 *   drain            sc_pool_poll() (or cp_poll()) until POOL_EMPTY, after
 *                    EVERY cp_recv, cp_send, cp_timeout and socket_opened:
 *                      POOL_OUT sz > 0  write to fd m.id (a socket, not a
 *                                       session). What the socket does not
 *                                       take now is kept, in order, and
 *                                       written when it becomes writable.
 *                      POOL_OUT sz == 0 close fd m.id. The pool has forgotten
 *                                       it: do NOT call cp_recv(.., 0) for it.
 *                      POOL_IN          data from session m.id.
 *                      SC_POOL_EVENT    opened/resumed/detached/closed/refused.
 *   to send          cp_send(cp, id, buf, n); to end a session cp_send(.., 0).
 *   periodically     cp_timeout(cp), then drain (here every second, or a
 *                    quarter of the handshake timeout if that is shorter).
 *
 * Flow control: the pool accepts whatever you cp_send, and keeps it for a
 * detached session until its window overflows (then the session is freed).
 * So, like here, look at sc_pool_session_backlog() plus your own unwritten
 * bytes before producing more.
 *
 * Under attack. Version 1 sessions are not authenticated, so anyone who can
 * reach the port can open sessions, hold sockets and send garbage. What keeps
 * this server serving its real clients, each of which a production server
 * needs as well:
 *   - the pool's defences, all options here with defaults a real server can
 *     start from: a short handshake timeout, a reuse timeout, a cap on sockets
 *     in the handshake, a session cap and a byte budget (when full, the pool
 *     ends the sessions detached the longest first, and only then refuses new
 *     ones); see docs/ROBUSTNESS.md for sizing;
 *   - the descriptor limit raised to its hard maximum at start, and a reserve
 *     descriptor: out of descriptors (EMFILE, ENFILE), the server closes the
 *     reserve, accepts the waiting connection, closes it, and opens the
 *     reserve again. Without it the listener stays readable and a
 *     level-triggered loop spins at full CPU doing nothing. If even the
 *     reserve cannot be had, the listener is paused for a moment;
 *   - per-session state in a hash table and a list of the sessions that
 *     stream, so that the cost of a loop turn follows the live sessions, not
 *     every id ever issued;
 *   - log lines limited per kind and per second (--log-rate), with a count of
 *     what was left out;
 *   - glibc keeps freed memory for reuse, so after a flood the resident size
 *     stays high although nothing leaked; malloc_trim() every --trim-seconds
 *     (when sessions were freed) gives it back to the system.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "connectionserver.h"
#include "connectionclient.h" /* stable_connection.h names both message structs */
#include "stable_connection.h"
#include "demo_stream.h"

/* One per open socket, indexed by fd (so bounded by the descriptor limit). */
struct conn {
	int open;
	unsigned gen;   /* bumped at each close, so stale epoll events are ignored */
	int session;    /* session id, 0 while the socket is in its handshake */
	int broken;     /* a write failed: close it once the drain is over */
	int doomed;     /* demo: kill it once the drain is over */
	int want_out;   /* EPOLLOUT is registered */
	char *out;      /* bytes cp_poll gave us that the socket has not taken */
	size_t out_off, out_len, out_cap;
};

/* One per live session, from SESSION_OPENED to SESSION_CLOSED: the demo's
 * view of the two streams. */
struct session {
	int id, fd;
	long stream_slot; /* index in S.streams, -1 when not streaming */
	unsigned char hdr[DEMO_HEADER_SIZE];
	size_t hdr_len;
	uint64_t index, size, c2s_key, s2c_key;
	uint64_t c2s_pos, c2s_hash, c2s_bad; /* received and checked */
	uint64_t s2c_pos, s2c_hash;          /* sent */
	uint64_t s2c_confirmed;              /* received by the client, as of its last reuse */
	int trailer_sent, bye, ended, foreign;
	uint64_t kill_at;
};

/* Log kinds, each limited to --log-rate lines a second. */
enum { LOG_ACCEPT, LOG_REFUSED, LOG_CLOSED, LOG_FOREIGN, LOG_MISMATCH, LOG_OTHER, LOG_KINDS };
static const char *const log_kind_name[LOG_KINDS] = {"accept", "refused", "closed", "foreign", "mismatch",
                                                     "other"};

static struct {
	struct connection_pool *cp;
	int ep, listener, sigfd, reserve;
	int listener_paused;
	uint64_t listener_resume_at;
	struct conn *conns;
	int nconns;
	/* Sessions: an open-addressing table by id, and the streaming ones in a
	 * dense array that the loop walks. */
	struct session **tab;
	size_t tab_cap, tab_len;
	struct session **streams;
	size_t nstreams, streams_cap;
	int *dropq; /* fds to close after the current drain */
	int ndrop;
	int *endq; /* sessions to end after the current drain */
	size_t nend, end_cap;
	struct demo_rng rng;
	uint64_t window, kill_mean, cap, chunk_max;
	int verbose;
	/* Logs. */
	uint64_t log_rate, log_second;
	uint64_t log_printed[LOG_KINDS], log_suppressed[LOG_KINDS], log_suppressed_total;
	/* Totals. */
	uint64_t c2s, s2c, opened, reuses, detaches, refused, resent, freed_since_trim;
	uint64_t closed[SC_REASON_MAX + 1];
	uint64_t kills, kills_resend, mismatches, accepted, shed, foreign;
} S;

#define TAG_LISTENER UINT64_MAX
#define TAG_SIGNAL (UINT64_MAX - 1)

static void drain(void);

static void die(const char *what) {
	perror(what);
	exit(2);
}

static void *xrealloc(void *p, size_t n) {
	p = realloc(p, n);
	if (!p) die("realloc");
	return p;
}

/* ---------------------------------------------------------------- logs */

/* A log line of `kind`, unless that kind already printed --log-rate lines in
 * this second; what is left out is counted and reported once a second. */
static void log_roll(uint64_t now) {
	uint64_t second = now / 1000;
	int k;
	if (second == S.log_second) return;
	for (k = 0; k < LOG_KINDS; ++k) {
		if (S.log_suppressed[k])
			printf("server: %" PRIu64 " more '%s' lines left out\n", S.log_suppressed[k], log_kind_name[k]);
		S.log_suppressed[k] = S.log_printed[k] = 0;
	}
	S.log_second = second;
}

static void log_line(int kind, const char *fmt, ...) {
	va_list ap;
	log_roll(demo_now_ms());
	if (S.log_printed[kind] >= S.log_rate) {
		++S.log_suppressed[kind];
		++S.log_suppressed_total;
		return;
	}
	++S.log_printed[kind];
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- sessions */

static size_t tab_slot(int id) { return ((uint32_t)id * 2654435761u) & (S.tab_cap - 1); }

static struct session *session_find(int id) {
	size_t i;
	if (S.tab_cap == 0) return NULL;
	for (i = tab_slot(id); S.tab[i]; i = (i + 1) & (S.tab_cap - 1))
		if (S.tab[i]->id == id) return S.tab[i];
	return NULL;
}

static void tab_put(struct session *s) {
	size_t i = tab_slot(s->id);
	while (S.tab[i]) i = (i + 1) & (S.tab_cap - 1);
	S.tab[i] = s;
}

static struct session *session_new(int id) {
	struct session *s = calloc(1, sizeof *s);
	if (!s) die("calloc");
	s->id = id;
	s->fd = -1;
	s->stream_slot = -1;
	if (2 * (S.tab_len + 1) > S.tab_cap) { /* at most half full */
		struct session **old = S.tab;
		size_t i, n = S.tab_cap;
		S.tab_cap = n ? 2 * n : 64;
		S.tab = calloc(S.tab_cap, sizeof *S.tab);
		if (!S.tab) die("calloc");
		for (i = 0; i < n; ++i)
			if (old[i]) tab_put(old[i]);
		free(old);
	}
	tab_put(s);
	++S.tab_len;
	return s;
}

static void stream_add(struct session *s) {
	if (S.nstreams == S.streams_cap) {
		S.streams_cap = S.streams_cap ? 2 * S.streams_cap : 64;
		S.streams = xrealloc(S.streams, S.streams_cap * sizeof *S.streams);
	}
	s->stream_slot = (long)S.nstreams;
	S.streams[S.nstreams++] = s;
}

static void stream_remove(struct session *s) {
	size_t i = (size_t)s->stream_slot;
	if (s->stream_slot < 0) return;
	S.streams[i] = S.streams[--S.nstreams];
	S.streams[i]->stream_slot = (long)i;
	s->stream_slot = -1;
}

/* Forgets a session: out of the stream list, out of the table (closing the
 * gap it leaves so that every other id stays reachable), freed. */
static void session_free(struct session *s) {
	size_t i, j, mask = S.tab_cap - 1;
	stream_remove(s);
	for (i = tab_slot(s->id); S.tab[i] != s; i = (i + 1) & mask) {
	}
	S.tab[i] = NULL;
	for (j = (i + 1) & mask; S.tab[j]; j = (j + 1) & mask) {
		size_t home = tab_slot(S.tab[j]->id);
		/* Move the entry back into the gap unless its home lies after the gap,
		 * up to where it sits (cyclically). */
		int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (!stays) {
			S.tab[i] = S.tab[j];
			S.tab[j] = NULL;
			i = j;
		}
	}
	--S.tab_len;
	free(s);
	++S.freed_since_trim;
}

/* Ends a session after the current drain (not from inside the poll loop). */
static void session_end_later(int id) {
	if (S.nend == S.end_cap) {
		S.end_cap = S.end_cap ? 2 * S.end_cap : 64;
		S.endq = xrealloc(S.endq, S.end_cap * sizeof *S.endq);
	}
	S.endq[S.nend++] = id;
}

static uint64_t kill_delay(void) { /* demo: uniform, mean kill_mean */
	return demo_between(&S.rng, 0, 2 * S.kill_mean);
}

/* ---------------------------------------------------------------- sockets */

static void epoll_set(int fd, int op, uint32_t events) {
	struct epoll_event ev;
	memset(&ev, 0, sizeof ev);
	ev.events = events;
	ev.data.u64 = ((uint64_t)S.conns[fd].gen << 32) | (uint32_t)fd;
	if (epoll_ctl(S.ep, op, fd, &ev) < 0) die("epoll_ctl");
}

static void listener_watch(int on) {
	struct epoll_event ev;
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.u64 = TAG_LISTENER;
	if (epoll_ctl(S.ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, S.listener, &ev) < 0) die("epoll_ctl");
	S.listener_paused = !on;
}

/* Out of descriptors: take the waiting connection with the reserve's slot and
 * close it, so that the listener stops being readable. Returns 0 if the
 * listener had to be paused instead. */
static int shed_one(void) {
	int fd;
	if (S.reserve >= 0) {
		close(S.reserve);
		S.reserve = -1;
	}
	fd = accept4(S.listener, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		++S.shed;
	}
	S.reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && S.reserve >= 0) return 1;
	/* Not even the reserve: wait a little for descriptors to come back. */
	log_line(LOG_ACCEPT, "server: out of descriptors, listener paused for 100 ms\n");
	listener_watch(0);
	S.listener_resume_at = demo_now_ms() + 100;
	return 0;
}

static void accept_all(void) {
	int k;
	for (k = 0; k < 256; ++k) { /* bounded: sockets already open get their turn too */
		int fd = accept4(S.listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				log_line(LOG_ACCEPT, "server: accept: %s; shedding connections\n", strerror(errno));
				if (!shed_one()) return;
				continue;
			}
			log_line(LOG_ACCEPT, "server: accept: %s\n", strerror(errno));
			return;
		}
		/* Handshake messages are small: do not let Nagle hold them back. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (fd >= S.nconns) {
			int n = S.nconns ? S.nconns : 256;
			while (n <= fd) n *= 2;
			S.conns = xrealloc(S.conns, (size_t)n * sizeof *S.conns);
			S.dropq = xrealloc(S.dropq, (size_t)n * sizeof *S.dropq);
			memset(S.conns + S.nconns, 0, (size_t)(n - S.nconns) * sizeof *S.conns);
			S.nconns = n;
		}
		S.conns[fd].open = 1;
		S.conns[fd].session = 0;
		epoll_set(fd, EPOLL_CTL_ADD, EPOLLIN);
		++S.accepted;
		/* Start the socket's handshake clock. The pool may refuse it at once
		 * (handshake cap, budget): the drain then closes it. */
		if (sc_pool_socket_opened(S.cp, fd) != SC_OK) {
			log_line(LOG_ACCEPT, "server: no memory to record a new socket\n");
			epoll_ctl(S.ep, EPOLL_CTL_DEL, fd, NULL);
			close(fd);
			S.conns[fd].open = 0;
			++S.conns[fd].gen;
			continue;
		}
		drain();
	}
}

/* Closes the socket. The caller tells the pool, unless the pool asked for it. */
static void conn_close(int fd) {
	struct conn *c = &S.conns[fd];
	epoll_ctl(S.ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = c->out_cap = 0;
	c->open = c->broken = c->doomed = c->want_out = 0;
	c->session = 0;
	++c->gen;
}

/* We close a socket ourselves (EOF, error, or a demo kill): tell the pool. */
static void conn_drop(int fd) {
	conn_close(fd);
	cp_recv(S.cp, fd, NULL, 0);
}

/* Marks a socket to be dropped once the current drain is over. */
static void conn_mark(int fd) {
	struct conn *c = &S.conns[fd];
	if (!c->broken && !c->doomed) S.dropq[S.ndrop++] = fd;
}

static size_t conn_pending(int fd) {
	return S.conns[fd].out_len - S.conns[fd].out_off;
}

/* Writes pool output to a socket; what it does not take waits, in order. */
static void conn_write(int fd, const char *p, size_t n) {
	struct conn *c;
	if (fd < 0 || fd >= S.nconns || !S.conns[fd].open) {
		log_line(LOG_OTHER, "server: output for fd %d, which is not open\n", fd);
		return;
	}
	c = &S.conns[fd];
	if (c->broken) return; /* it dies with the socket; the session resends it */
	if (conn_pending(fd) == 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL); /* MSG_NOSIGNAL: EPIPE, not SIGPIPE */
		if (w >= 0) {
			p += w;
			n -= (size_t)w;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_mark(fd);
			c->broken = 1;
			return;
		}
	}
	if (n == 0) return;
	if (c->out_off > 0 && c->out_off == c->out_len) c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + n) cap *= 2;
		c->out = xrealloc(c->out, cap);
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	if (!c->want_out) {
		c->want_out = 1;
		epoll_set(fd, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT);
	}
}

/* The socket is writable again: write what waits. */
static void conn_flush(int fd) {
	struct conn *c = &S.conns[fd];
	while (conn_pending(fd) > 0) {
		ssize_t w = send(fd, c->out + c->out_off, conn_pending(fd), MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR) continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) return;
			conn_drop(fd);
			drain();
			return;
		}
		c->out_off += (size_t)w;
	}
	/* A socket that once took a burst keeps no big buffer afterwards. */
	if (c->out_cap > 65536) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	c->out_off = c->out_len = 0;
	c->want_out = 0;
	epoll_set(fd, EPOLL_CTL_MOD, EPOLLIN);
}

/* Demo: break a socket on purpose, in one of the ways networks do. */
static void conn_kill(int fd) {
	uint64_t how = demo_rand(&S.rng) % 3;
	if (how == 1) shutdown(fd, SHUT_RDWR); /* FIN both ways */
	if (how == 2) { /* RST: unread and unsent bytes are thrown away */
		struct linger l = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	}
	conn_drop(fd);
}

static void conn_readable(int fd) {
	static char buf[16384]; /* at most a quarter of a 64 KiB or larger window: version 2 acknowledges per call */
	unsigned gen = S.conns[fd].gen;
	int k;
	for (k = 0; k < 2; ++k) { /* bounded, so that one busy socket cannot starve the rest */
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n > 0) {
			cp_recv(S.cp, fd, buf, (size_t)n);
			drain();
			if (!S.conns[fd].open || S.conns[fd].gen != gen) return; /* closed meanwhile */
			continue;
		}
		if (n < 0 && errno == EINTR) continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
		conn_drop(fd); /* EOF or error */
		drain();
		return;
	}
}

/* ---------------------------------------------------------------- the demo streams */

static void session_data(int id, const unsigned char *p, size_t n) {
	struct session *s = session_find(id);
	if (!s) {
		log_line(LOG_OTHER, "server: data for session %d, which is not open\n", id);
		return;
	}
	if (s->foreign) return; /* being ended */
	while (n > 0 && s->hdr_len < DEMO_HEADER_SIZE) {
		s->hdr[s->hdr_len++] = *p++;
		--n;
		if (s->hdr_len == DEMO_HEADER_SIZE) {
			if (memcmp(s->hdr, DEMO_HEADER_MAGIC, 8) != 0) {
				/* Not a demo client. A real server ends a session that does
				 * not speak its application protocol, and counts it. */
				log_line(LOG_FOREIGN, "server: session %d: not a demo client, ending it\n", id);
				++S.foreign;
				s->foreign = 1;
				session_end_later(id);
				return;
			}
			s->index = demo_get64(s->hdr + 8);
			s->c2s_key = demo_stream_key(demo_get64(s->hdr + 16), DEMO_DIR_C2S);
			s->s2c_key = demo_stream_key(demo_get64(s->hdr + 16), DEMO_DIR_S2C);
			s->size = demo_get64(s->hdr + 24);
			s->c2s_hash = s->s2c_hash = DEMO_HASH_INIT;
			stream_add(s);
		}
	}
	if (n > 0 && s->c2s_pos < s->size) {
		size_t k = n < s->size - s->c2s_pos ? n : (size_t)(s->size - s->c2s_pos);
		size_t bad = demo_stream_check(s->c2s_key, s->c2s_pos, p, k);
		if (bad < k && s->c2s_bad == 0) {
			s->c2s_bad = s->c2s_pos + bad + 1;
			++S.mismatches;
			log_line(LOG_MISMATCH, "server: MISMATCH: client %" PRIu64 " (session %d), byte %" PRIu64 "\n",
			         s->index, id, s->c2s_pos + bad);
		}
		s->c2s_hash = demo_hash(s->c2s_hash, p, k);
		s->c2s_pos += k;
		S.c2s += k;
		p += k;
		n -= k;
	}
	if (n > 0) {
		if (n != 1 || p[0] != DEMO_BYE || s->bye) {
			log_line(LOG_MISMATCH, "server: session %d: %zu bytes past the end of its stream\n", id, n);
			++S.mismatches;
		}
		s->bye = 1;
	}
}

static void on_event(const struct sc_pool_event *ev) {
	struct session *s;
	switch (ev->type) {
	case SC_EVENT_SESSION_OPENED:
		s = session_new(ev->id);
		s->fd = ev->fd;
		s->kill_at = demo_now_ms() + kill_delay();
		S.conns[ev->fd].session = ev->id;
		++S.opened;
		if (S.verbose) printf("session %d opened on fd %d\n", ev->id, ev->fd);
		break;
	case SC_EVENT_SESSION_RESUMED:
		s = session_find(ev->id);
		++S.reuses;
		S.resent += ev->resent_bytes;
		S.conns[ev->fd].session = ev->id;
		if (!s) break;
		s->fd = ev->fd;
		s->kill_at = demo_now_ms() + kill_delay();
		/* What the pool resends is what the client missed: so it had the rest. */
		s->s2c_confirmed = s->s2c_pos - ev->resent_bytes;
		if (S.verbose)
			printf("session %d resumed on fd %d (old fd %d), %" PRIu64 " bytes resent, detached %" PRIu64
			       " ms\n", ev->id, ev->fd, ev->old_fd, ev->resent_bytes, ev->detached_ms);
		/* Demo: sometimes break the new socket right away, with the resend on its way. */
		if (S.kill_mean && ev->resent_bytes > 0 && !s->trailer_sent && demo_rand(&S.rng) % 4 == 0) {
			conn_mark(ev->fd);
			S.conns[ev->fd].doomed = 1;
		}
		break;
	case SC_EVENT_SESSION_DETACHED:
		if ((s = session_find(ev->id)) != NULL) s->fd = -1;
		++S.detaches;
		if (S.verbose) printf("session %d detached from fd %d\n", ev->id, ev->fd);
		break;
	case SC_EVENT_SESSION_CLOSED:
		if ((s = session_find(ev->id)) != NULL) session_free(s);
		if (ev->reason >= 0 && ev->reason <= SC_REASON_MAX) ++S.closed[ev->reason];
		if (S.verbose || ev->reason != SC_REASON_BY_APPLICATION)
			log_line(LOG_CLOSED, "session %d closed: %s\n", ev->id, sc_reason_string(ev->reason));
		break;
	case SC_EVENT_HANDSHAKE_REFUSED:
		++S.refused;
		log_line(LOG_REFUSED, "handshake on fd %d refused: %s\n", ev->fd, sc_reason_string(ev->reason));
		break;
	}
}

/* Empties the pool's queue: the one place where pool output is handled. */
static void drain(void) {
	for (;;) {
		struct pool_message m;
		struct sc_pool_event ev;
		int r;
		while ((r = sc_pool_poll(S.cp, &m, &ev)) != POOL_EMPTY) {
			if (r == POOL_OUT && m.sz == 0) {
				conn_close(m.id); /* already forgotten by the pool */
			} else if (r == POOL_OUT) {
				conn_write(m.id, m.buffer, m.sz);
			} else if (r == POOL_IN) {
				session_data(m.id, (const unsigned char *)m.buffer, m.sz);
			} else if (r == SC_POOL_EVENT) {
				on_event(&ev);
			} else {
				fprintf(stderr, "sc_pool_poll: %s\n", sc_strerror(r));
				exit(2);
			}
		}
		/* Sockets that failed (or that the demo breaks), and sessions to end,
		 * are dealt with only now, outside the loop above: each close is
		 * reported to the pool, each end is a cp_send of size 0. */
		if (S.ndrop == 0 && S.nend == 0) return;
		while (S.ndrop > 0) {
			int fd = S.dropq[--S.ndrop];
			if (!S.conns[fd].open) continue;
			if (S.conns[fd].doomed && !S.conns[fd].broken) {
				++S.kills_resend;
				conn_kill(fd);
			} else {
				conn_drop(fd);
			}
		}
		while (S.nend > 0) cp_send(S.cp, S.endq[--S.nend], NULL, 0);
	}
}

/* Produces server->client data for every streaming session that has room for
 * it, at most S.cap bytes each per turn of the event loop, so that reading
 * keeps up. Walks only the sessions that stream, not every id. */
static void pump(void) {
	size_t i;
	for (i = 0; i < S.nstreams; ++i) {
		struct session *s = S.streams[i];
		int id = s->id;
		uint64_t budget = S.cap;
		if (s->ended) continue;
		if (s->bye) { /* the client is done: end the session, the pool closes its socket */
			s->ended = 1;
			cp_send(S.cp, id, NULL, 0);
			drain();
			/* The session is freed by now, and another one moved into slot i. */
			--i;
			continue;
		}
		while (s->s2c_pos < s->size && budget > 0) {
			static unsigned char buf[32768];
			uint64_t backlog = 0;
			size_t n;
			sc_pool_session_backlog(S.cp, id, &backlog);
			if (s->fd >= 0) backlog += conn_pending(s->fd);
			if (backlog >= S.cap) break;
			n = demo_chunk(&S.rng, s->size - s->s2c_pos, S.chunk_max);
			/* Without a socket, only as much as the client is known to be able
			 * to take back: protocol version 1 has no acknowledgements, so
			 * what it may have missed is everything since its last reuse. A
			 * server that kept filling a detached session each time a
			 * reconnect failed early would push it past the window. */
			if (s->fd < 0 && s->s2c_pos + n - s->s2c_confirmed > S.window / 2) break;
			demo_stream_fill(s->s2c_key, s->s2c_pos, buf, n);
			s->s2c_hash = demo_hash(s->s2c_hash, buf, n);
			s->s2c_pos += n;
			S.s2c += n;
			budget = budget > n ? budget - n : 0;
			cp_send(S.cp, id, (const char *)buf, n);
			drain();
			if (session_find(id) != s) break; /* closed meanwhile (backlog, eviction) */
		}
		if (session_find(id) != s) {
			if (i < S.nstreams && S.streams[i] != s) --i; /* slot i holds another one now */
			continue;
		}
		if (!s->trailer_sent && s->s2c_pos == s->size && s->c2s_pos == s->size) {
			unsigned char t[DEMO_TRAILER_SIZE];
			memcpy(t, DEMO_TRAILER_MAGIC, 8);
			demo_put64(t + 8, s->c2s_pos);
			demo_put64(t + 16, s->c2s_hash);
			demo_put64(t + 24, s->s2c_hash);
			demo_put64(t + 32, s->c2s_bad);
			s->trailer_sent = 1;
			cp_send(S.cp, id, (const char *)t, sizeof t);
			drain();
			if (i < S.nstreams && S.streams[i] != s) --i;
		}
	}
}

/* Demo: break sockets of sessions whose time has come. Only once the client has
 * started its stream (so it has received something and can resume) and before
 * the trailer (so that the end of the session is orderly). */
static uint64_t kill_due(uint64_t now) {
	uint64_t next = UINT64_MAX;
	size_t i;
	for (i = 0; i < S.nstreams && S.kill_mean; ++i) {
		struct session *s = S.streams[i];
		if (s->fd < 0 || s->c2s_pos == 0 || s->trailer_sent) continue;
		if (now >= s->kill_at) {
			++S.kills;
			conn_kill(s->fd);
			drain(); /* the pool reports the session detached */
			if (i < S.nstreams && S.streams[i] != s) --i;
		} else if (s->kill_at < next) {
			next = s->kill_at;
		}
	}
	return next;
}

static void print_totals(const char *tag) {
	struct sc_pool_stats st;
	memset(&st, 0, sizeof st);
	sc_pool_get_stats(S.cp, &st, sizeof st);
	printf("%s c2s=%" PRIu64 " s2c=%" PRIu64 " accepted=%" PRIu64 " opened=%" PRIu64 " reuses=%" PRIu64
	       " detaches=%" PRIu64 " refused=%" PRIu64 " resent=%" PRIu64 " kills=%" PRIu64
	       " kills_resend=%" PRIu64 " closed_app=%" PRIu64 " closed_expired=%" PRIu64
	       " closed_backlog=%" PRIu64 " closed_evicted=%" PRIu64 " refused_pool_full=%" PRIu64
	       " refused_timed_out=%" PRIu64 " refused_handshakes=%" PRIu64 " shed=%" PRIu64 " foreign=%" PRIu64
	       " open=%" PRIu64 " detached=%" PRIu64 " handshakes=%" PRIu64 " budgeted=%" PRIu64
	       " log_suppressed=%" PRIu64 " mismatches=%" PRIu64 " v2_open=%" PRIu64 " v2_opened=%" PRIu64
	       " v2_reuses=%" PRIu64 " v2_unconfirmed=%" PRIu64 " v2_protocol_errors=%" PRIu64 "\n",
	       tag, S.c2s, S.s2c, S.accepted, S.opened, S.reuses, S.detaches, S.refused, st.bytes_resent,
	       S.kills, S.kills_resend, S.closed[SC_REASON_BY_APPLICATION], S.closed[SC_REASON_EXPIRED],
	       S.closed[SC_REASON_BACKLOG], st.closed_evicted, st.refused_pool_full, st.refused_timed_out,
	       st.refused_too_many_handshakes, S.shed, S.foreign, st.sessions_open, st.sessions_detached,
	       st.handshakes_pending, st.bytes_budgeted, S.log_suppressed_total, S.mismatches, st.sessions_v2,
	       st.sessions_opened_v2, st.reuses_v2, st.sessions_unconfirmed, st.protocol_errors);
	fflush(stdout);
}

static void usage(int status) {
	fprintf(status ? stderr : stdout,
	        "usage: stable_server [--port N] [--window BYTES] [--kill-interval MS] [--seed N]\n"
	        "                     [--report-ms MS] [--max-seconds S] [--verbose]\n"
	        "                     [--handshake-timeout MS] [--reuse-timeout MS] [--max-handshakes N]\n"
	        "                     [--max-sessions N] [--max-bytes BYTES] [--log-rate LINES]\n"
	        "                     [--trim-seconds S] [--key-file FILE | --ephemeral-key]\n"
	        "                     [--server-id N] [--protocols 1|2|both]\n"
	        "  defaults: --handshake-timeout 5000 --reuse-timeout 120000 --max-handshakes 4096\n"
	        "            --max-sessions 20000 --max-bytes 800M --log-rate 20 --trim-seconds 10\n"
	        "  (0 turns a cap, the reuse timeout or trimming off)\n");
	exit(status);
}

/* Reads a private key file as stableconn-keygen writes it: 64 hexadecimal
 * digits, then white space. Returns 0 on success. */
static int read_key_file(const char *path, uint8_t key[SC_KEY_SIZE]) {
	char text[2 * SC_KEY_SIZE + 8];
	size_t n, k;
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "server: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(text, 1, sizeof text, f);
	fclose(f);
	for (k = 0; k < SC_KEY_SIZE && n >= 2 * SC_KEY_SIZE; ++k) {
		unsigned v;
		char two[3] = {text[2 * k], text[2 * k + 1], 0};
		if (!isxdigit((unsigned char)two[0]) || !isxdigit((unsigned char)two[1]) || sscanf(two, "%2x", &v) != 1) break;
		key[k] = (uint8_t)v;
	}
	memset(text, 0, sizeof text);
	if (k != SC_KEY_SIZE) {
		fprintf(stderr, "server: %s is not a private key file (stableconn-keygen writes them)\n", path);
		return -1;
	}
	return 0;
}

/* Sets the pool's version 2 key from --key-file or a fresh pair, and prints
 * the public key into `hex` (empty without version 2). */
static int setup_v2(const char *key_file, int ephemeral, uint64_t server_id, const char *protocols, char *hex) {
	uint8_t priv[SC_KEY_SIZE], pub[SC_KEY_SIZE];
	unsigned versions = SC_PROTOCOL_1;
	int rc = SC_OK, k;
	hex[0] = '\0';
	if (key_file && read_key_file(key_file, priv) != 0) return -1;
	if (!key_file && ephemeral) rc = sc_keypair_generate(priv, pub);
	if (rc == SC_OK && (key_file || ephemeral)) {
		rc = sc_pool_set_static_key(S.cp, priv);
		if (rc == SC_OK) rc = sc_public_key(priv, pub);
		versions |= SC_PROTOCOL_2;
	}
	memset(priv, 0, sizeof priv);
	if (rc != SC_OK) {
		fprintf(stderr, "server: version 2 key: %s\n", sc_strerror(rc));
		return -1;
	}
	if (key_file || ephemeral) {
		for (k = 0; k < SC_KEY_SIZE; ++k) sprintf(hex + 2 * k, "%02x", pub[k]);
		if (server_id > 0xffff || sc_pool_set_server_id(S.cp, (uint16_t)server_id) != SC_OK) {
			fprintf(stderr, "server: --server-id must be 0..65535\n");
			return -1;
		}
	}
	if (protocols) {
		if (!strcmp(protocols, "1")) versions = SC_PROTOCOL_1;
		else if (!strcmp(protocols, "2")) versions = SC_PROTOCOL_2;
		else if (!strcmp(protocols, "both")) versions = SC_PROTOCOL_1 | SC_PROTOCOL_2;
		else {
			fprintf(stderr, "server: --protocols is 1, 2 or both\n");
			return -1;
		}
	}
	rc = sc_pool_set_versions(S.cp, versions);
	if (rc != SC_OK) {
		fprintf(stderr, "server: --protocols %s: %s%s\n", protocols ? protocols : "1", sc_strerror(rc),
		        rc == SC_ERR_INVALID_STATE ? " (version 2 needs --key-file or --ephemeral-key)" : "");
		return -1;
	}
	return 0;
}

/* Every descriptor the hard limit allows: each client needs one. */
static void raise_fd_limit(void) {
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) perror("setrlimit");
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) printf("descriptors: %llu\n", (unsigned long long)rl.rlim_cur);
}

int main(int argc, char **argv) {
	uint64_t port = 0, seed = 1, report_ms = 0, max_seconds = 0, now, start, next_timeout, next_report;
	uint64_t handshake_timeout = 5000, reuse_timeout = 120000, max_handshakes = 4096, max_sessions = 20000;
	uint64_t max_bytes = 800ull * 1024 * 1024, trim_seconds = 10, next_trim, tick, server_id = 0;
	const char *key_file = NULL, *protocols = NULL;
	char public_hex[2 * SC_KEY_SIZE + 1];
	int ephemeral_key = 0;
	struct sockaddr_in addr;
	socklen_t alen = sizeof addr;
	sigset_t sigs;
	int i, one = 1, buf, stop = 0, status;

	S.window = 1024 * 1024;
	S.log_rate = 20;
	for (i = 1; i < argc; ++i) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--verbose")) { S.verbose = 1; continue; }
		if (!strcmp(a, "--ephemeral-key")) { ephemeral_key = 1; continue; }
		if (!strcmp(a, "--help")) usage(0);
		if (!v) usage(2);
		++i;
		if (!strcmp(a, "--port")) port = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--window")) { if (demo_parse_size(v, &S.window)) usage(2); }
		else if (!strcmp(a, "--kill-interval")) S.kill_mean = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--report-ms")) report_ms = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--max-seconds")) max_seconds = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--handshake-timeout")) handshake_timeout = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--reuse-timeout")) reuse_timeout = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--max-handshakes")) max_handshakes = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--max-sessions")) max_sessions = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--max-bytes")) { if (demo_parse_size(v, &max_bytes)) usage(2); }
		else if (!strcmp(a, "--log-rate")) S.log_rate = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--trim-seconds")) trim_seconds = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--key-file")) key_file = v;
		else if (!strcmp(a, "--server-id")) server_id = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--protocols")) protocols = v;
		else usage(2);
	}
	if (handshake_timeout == 0) usage(2);
	S.rng.s = seed;
	S.cap = demo_send_cap(S.window);
	S.chunk_max = demo_chunk_max(S.window);
	setvbuf(stdout, NULL, _IOLBF, 0);
	raise_fd_limit();
	/* The reserve descriptor, given up for a moment when the others run out. */
	S.reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (S.reserve < 0) die("open /dev/null");

	/* The pool: a resend window per session, its defences, events for the log. */
	S.cp = cp_new();
	if (!S.cp) die("cp_new");
	if (sc_pool_set_window(S.cp, (size_t)S.window) != SC_OK) {
		fprintf(stderr, "server: window %" PRIu64 " out of range\n", S.window);
		return 2;
	}
	if (sc_pool_set_handshake_timeout(S.cp, handshake_timeout) != SC_OK ||
	    sc_pool_set_reuse_timeout(S.cp, reuse_timeout) != SC_OK ||
	    sc_pool_set_max_handshakes(S.cp, (size_t)max_handshakes) != SC_OK ||
	    sc_pool_set_max_sessions(S.cp, (size_t)max_sessions) != SC_OK ||
	    sc_pool_set_max_bytes(S.cp, max_bytes) != SC_OK) {
		fprintf(stderr, "server: could not set the pool's defences\n");
		return 2;
	}
	sc_pool_enable_events(S.cp, 1);
	if (setup_v2(key_file, ephemeral_key, server_id, protocols, public_hex) != 0) return 2;

	/* A non-blocking listening socket on loopback. Accepted sockets inherit
	 * its buffer sizes (see demo_sockbuf in demo_stream.h for why they matter). */
	S.listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (S.listener < 0) die("socket");
	setsockopt(S.listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	buf = demo_sockbuf(S.window);
	setsockopt(S.listener, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
	setsockopt(S.listener, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((uint16_t)port);
	if (bind(S.listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
	if (listen(S.listener, SOMAXCONN) < 0) die("listen");
	if (getsockname(S.listener, (struct sockaddr *)&addr, &alen) < 0) die("getsockname");
	if (public_hex[0])
		printf("listening 127.0.0.1 port=%u public_key=%s\n", (unsigned)ntohs(addr.sin_port), public_hex);
	else
		printf("listening 127.0.0.1 port=%u\n", (unsigned)ntohs(addr.sin_port));

	/* SIGINT and SIGTERM arrive through the epoll loop as well. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	S.sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	S.ep = epoll_create1(EPOLL_CLOEXEC);
	if (S.sigfd < 0 || S.ep < 0) die("signalfd/epoll_create1");
	listener_watch(1);
	{
		struct epoll_event ev;
		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN;
		ev.data.u64 = TAG_SIGNAL;
		if (epoll_ctl(S.ep, EPOLL_CTL_ADD, S.sigfd, &ev) < 0) die("epoll_ctl");
	}

	/* cp_timeout often enough that a handshake never outlives its timeout by
	 * more than a quarter of it. */
	tick = handshake_timeout / 4 < 1000 ? handshake_timeout / 4 : 1000;
	if (tick == 0) tick = 1;
	start = now = demo_now_ms();
	next_timeout = now + tick;
	next_report = report_ms ? now + report_ms : UINT64_MAX;
	next_trim = trim_seconds ? now + trim_seconds * 1000 : UINT64_MAX;
	while (!stop) {
		struct epoll_event evs[64];
		uint64_t next = next_timeout, wait;
		int n, k;

		now = demo_now_ms();
		if (now >= next_timeout) { /* the pool's timers: handshake and reuse timeouts */
			cp_timeout(S.cp);
			drain();
			next_timeout = now + tick;
		}
		if (S.listener_paused && now >= S.listener_resume_at) {
			if (S.reserve < 0) S.reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
			listener_watch(1);
		}
		if (now >= next_trim) {
#ifdef __GLIBC__
			if (S.freed_since_trim > 0) malloc_trim(0); /* give freed memory back */
#endif
			S.freed_since_trim = 0;
			next_trim = now + trim_seconds * 1000;
		}
		log_roll(now); /* the counts of lines left out, once a second */
		if (now >= next_report) {
			print_totals("stats");
			next_report = now + report_ms;
		}
		if (max_seconds && now - start >= max_seconds * 1000) {
			fprintf(stderr, "server: --max-seconds reached\n");
			break;
		}
		pump();
		{
			uint64_t kd = kill_due(now);
			if (kd < next) next = kd;
		}
		if (next_report < next) next = next_report;
		if (S.listener_paused && S.listener_resume_at < next) next = S.listener_resume_at;
		wait = next > now ? next - now : 0;
		n = epoll_wait(S.ep, evs, 64, (int)(wait < 1000 ? wait : 1000));
		if (n < 0 && errno != EINTR) die("epoll_wait");
		for (k = 0; k < n; ++k) {
			uint64_t tag = evs[k].data.u64;
			int fd = (int)(uint32_t)tag;
			if (tag == TAG_LISTENER) {
				if (!S.listener_paused) accept_all();
			} else if (tag == TAG_SIGNAL) {
				stop = 1;
			} else if (fd < S.nconns && S.conns[fd].open && S.conns[fd].gen == (unsigned)(tag >> 32)) {
				unsigned gen = S.conns[fd].gen;
				if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) conn_readable(fd);
				if ((evs[k].events & EPOLLOUT) && S.conns[fd].open && S.conns[fd].gen == gen)
					conn_flush(fd);
			}
		}
	}

	print_totals("final");
	status = (S.mismatches == 0 && S.refused == 0 && S.closed[SC_REASON_EXPIRED] == 0 &&
	          S.closed[SC_REASON_BACKLOG] == 0) ? 0 : 1;
	for (i = 0; i < S.nconns; ++i)
		if (S.conns[i].open) conn_close(i);
	cp_delete(S.cp); /* frees every session; it emits nothing */
	{
		size_t j;
		for (j = 0; j < S.tab_cap; ++j) free(S.tab[j]);
	}
	close(S.listener);
	close(S.sigfd);
	close(S.ep);
	if (S.reserve >= 0) close(S.reserve);
	free(S.tab);
	free(S.streams);
	free(S.endq);
	free(S.conns);
	free(S.dropq);
	return status;
}
