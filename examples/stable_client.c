/*
 * stable_client: one stable connection over TCP that survives its sockets
 * being broken. Read it as an integration guide; the parts that only serve the
 * demo (the test streams, breaking sockets on purpose) are marked "demo".
 *
 *   stable_client --port N [--size BYTES] [--seed N] [--index N]
 *                 [--window BYTES] [--kill-interval MS] [--report-ms MS]
 *                 [--max-seconds S] [--server-key HEX]
 *
 * With --server-key (the server's public key, 64 hexadecimal digits, as
 * stableconn-keygen or the server's "listening" line prints it) it speaks
 * protocol version 2: sc_client_open_v2() instead of cc_open(), and nothing
 * else changes in the loop below.
 *
 * It connects to stable_server on 127.0.0.1, streams `size` bytes to it and
 * checks the `size` bytes it streams back (see demo_stream.h). With
 * --kill-interval it breaks its own socket at random moments (on average every
 * MS milliseconds, sometimes in the middle of a reconnect) and reconnects.
 * Exit status 0 means every byte in both directions was verified.
 *
 * How the pieces fit (one struct connection per stable connection):
 *
 *   start        c = cc_open() (it queues the new-connection handshake),
 *                optionally sc_client_set_window(), connect a socket, drain.
 *   drain        sc_client_poll() (or cc_poll()) until MESSAGE_EMPTY after
 *                EVERY cc_recv, cc_send and cc_handshake:
 *                  MESSAGE_OUT      write to the socket; keep what it does not
 *                                   take and write it, in order, when the
 *                                   socket is writable again.
 *                  MESSAGE_IN sz>0  data from the server.
 *                  MESSAGE_IN sz=0  the connection is dead for good.
 *   readable     read(), then cc_recv(c, buf, n) for n > 0 and drain.
 *   EOF/error    close the socket and forget its unwritten bytes. Do NOT pass
 *                the end of file on: cc_recv with size 0 (whatever the
 *                buffer, as in the 2014 module) gives the connection up. Instead
 *                connect a new socket, call cc_handshake(c), and drain: both
 *                sides resend what the other one missed.
 *   to send      cc_send(c, buf, n) at any time; while reconnecting it waits.
 *
 * A client that has received nothing on its session cannot resume it (a limit
 * of protocol version 1): a reconnect opens a new session and what was sent on
 * the old one is lost. The demo therefore breaks nothing before the first
 * bytes from the server arrived, and the server sends those at once.
 *
 * Version 2 adds one case: a refusal that keeps the session (the server was
 * busy, or a record did not verify) leaves the socket useless
 * (SC_CLIENT_BROKEN): close it and reconnect as after any lost socket.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connectionclient.h"
#include "connectionserver.h" /* stable_connection.h names both message structs */
#include "stable_connection.h"
#include "demo_stream.h"

/* A break this early in a socket lands in the reuse handshake or the resends. */
#define EARLY_BYTES 48

static struct {
	struct connection *c;
	int fd;                /* -1 while disconnected */
	int connects;          /* sockets connected so far */
	uint16_t port;
	uint64_t window;
	char *out;             /* bytes cc_poll gave us that the socket has not taken */
	size_t out_off, out_len, out_cap;
	uint64_t reconnect_at; /* when to connect again */
	int failed_resumes;    /* sockets in a row that did not get the session back */
	int dead, failed;
	/* Demo: breaking sockets. */
	struct demo_rng rng;
	uint64_t kill_mean, kill_at, kill_after_bytes, wire;
	uint64_t kills_timed, kills_early, kills_in_handshake;
	/* Demo: the streams. */
	uint64_t index, seed, size, cap, c2s_key, s2c_key;
	uint64_t c2s_pos, c2s_hash, s2c_pos, s2c_hash;
	unsigned char trailer[DEMO_TRAILER_SIZE];
	size_t trailer_len;
	int bye_sent;
	/* From the events. */
	uint64_t opened, reuses, resets, refused, resent;
} C;

static void drain(void);

static size_t pending(void) { return C.out_len - C.out_off; }

/* Demo: stream bytes flow only after the server's first bytes arrived, and
 * sockets are broken only then (before it, a break would cost the session). */
static int may_kill(void) {
	return C.kill_mean && C.s2c_pos > 0 && C.trailer_len < DEMO_TRAILER_SIZE;
}

/* The socket is gone: close it and drop what was waiting for it. The library
 * still holds those bytes and resends them after cc_handshake(). */
static void lost_socket(void) {
	/* Reconnect at once after a socket that resumed; after sockets that did
	 * not, wait longer each time (5 ms doubling up to a second, with jitter),
	 * so that a server that is busy or out of descriptors is not hammered. */
	uint64_t wait = 5;
	int k;
	for (k = 0; k < C.failed_resumes && wait < 1000; ++k) wait *= 2;
	if (wait > 1000) wait = 1000;
	close(C.fd);
	C.fd = -1;
	C.out_off = C.out_len = 0;
	C.reconnect_at = demo_now_ms() + (C.failed_resumes == 0 ? demo_between(&C.rng, 0, 5)
	                                                         : demo_between(&C.rng, wait / 2, wait));
}

/* Demo: break the socket the way networks do: FIN, RST or a plain close. */
static void kill_socket(uint64_t *counter) {
	uint64_t how = demo_rand(&C.rng) % 3;
	struct sc_client_stats st;
	memset(&st, 0, sizeof st);
	sc_client_get_stats(C.c, &st, sizeof st);
	if (st.state == SC_CLIENT_RESUMING) ++C.kills_in_handshake;
	++*counter;
	if (how == 1) shutdown(C.fd, SHUT_RDWR);
	if (how == 2) {
		struct linger l = {1, 0};
		setsockopt(C.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	}
	lost_socket();
}

/* Demo: a break once this socket has carried `kill_after_bytes` bytes. */
static void check_bytes_trigger(void) {
	if (C.fd >= 0 && may_kill() && C.wire >= C.kill_after_bytes) kill_socket(&C.kills_early);
}

static void connect_socket(void) {
	struct sockaddr_in addr;
	int one = 1, buf = demo_sockbuf(C.window);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("socket");
		exit(2);
	}
	/* Buffer sizes before connect(), so that TCP window scaling agrees. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons(C.port);
	/* A blocking connect is fine on loopback; elsewhere connect non-blocking
	 * and wait for writability, or this blocks the whole loop. */
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		fprintf(stderr, "client %" PRIu64 ": connect: %s\n", C.index, strerror(errno));
		close(fd);
		C.reconnect_at = demo_now_ms() + 50;
		return;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	C.fd = fd;
	C.wire = 0;
	/* The first socket carries the handshake cc_open() queued. Every later
	 * one needs cc_handshake(): it discards output meant for the old socket
	 * and queues a reuse request. */
	if (C.connects++ > 0) {
		/* A server that refuses a reuse request just closes the socket, which
		 * looks like any other failure. After many in a row (about 45 s with
		 * the waits in lost_socket), give up: the connection is dead (cc_recv
		 * with size 0 says so); a real client would start over with
		 * cc_open(). */
		if (++C.failed_resumes > 50) {
			fprintf(stderr, "client %" PRIu64 ": %d reconnects in a row did not resume, giving up\n", C.index,
			        C.failed_resumes - 1);
			cc_recv(C.c, NULL, 0);
		}
		cc_handshake(C.c);
	}

	/* Demo: when to break this socket. Mostly at a random moment; sometimes
	 * within its first EARLY_BYTES bytes, which cover the whole reuse
	 * handshake (its messages are laid out in docs/PROTOCOL.md section 4),
	 * or a little later, while the two sides resend what the other missed. */
	C.kill_at = C.kill_after_bytes = UINT64_MAX;
	if (C.kill_mean) {
		uint64_t pick = demo_rand(&C.rng) % 8;
		C.kill_at = demo_now_ms() + demo_between(&C.rng, 0, 2 * C.kill_mean);
		if (C.connects > 1 && pick == 0) C.kill_after_bytes = demo_between(&C.rng, 0, EARLY_BYTES);
		if (C.connects > 1 && pick == 1) C.kill_after_bytes = demo_between(&C.rng, EARLY_BYTES + 1, 65536);
	}
	drain();
}

/* Writes client output; whatever the socket does not take waits, in order. */
static void write_out(const char *p, size_t n) {
	if (C.fd < 0) return; /* no socket: the library resends after cc_handshake */
	if (pending() == 0) {
		ssize_t w = send(C.fd, p, n, MSG_NOSIGNAL);
		if (w >= 0) {
			p += w;
			n -= (size_t)w;
			C.wire += (uint64_t)w;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			lost_socket();
			return;
		}
	}
	if (n == 0) return;
	if (C.out_off > 0 && C.out_off == C.out_len) C.out_off = C.out_len = 0;
	if (C.out_len + n > C.out_cap) {
		size_t cap = C.out_cap ? C.out_cap : 4096;
		while (cap < C.out_len + n) cap *= 2;
		C.out = realloc(C.out, cap);
		if (!C.out) {
			perror("realloc");
			exit(2);
		}
		C.out_cap = cap;
	}
	memcpy(C.out + C.out_len, p, n);
	C.out_len += n;
}

/* Socket writable: write some of what waits (demo: in random pieces, so that
 * partial writes and breaks between them happen). */
static void flush_out(void) {
	size_t n = pending();
	ssize_t w;
	if (n > 1 && demo_rand(&C.rng) % 16 == 0) n = (size_t)demo_between(&C.rng, 1, n);
	w = send(C.fd, C.out + C.out_off, n, MSG_NOSIGNAL);
	if (w < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) lost_socket();
		return;
	}
	C.out_off += (size_t)w;
	C.wire += (uint64_t)w;
}

static void on_data(const unsigned char *p, size_t n) {
	if (C.s2c_pos < C.size) {
		size_t k = n < C.size - C.s2c_pos ? n : (size_t)(C.size - C.s2c_pos);
		size_t bad = demo_stream_check(C.s2c_key, C.s2c_pos, p, k);
		if (bad < k) {
			fprintf(stderr, "client %" PRIu64 ": MISMATCH: server->client byte %" PRIu64 "\n", C.index,
			        C.s2c_pos + bad);
			C.failed = 1;
		}
		C.s2c_hash = demo_hash(C.s2c_hash, p, k);
		C.s2c_pos += k;
		p += k;
		n -= k;
	}
	while (n > 0 && C.trailer_len < DEMO_TRAILER_SIZE) {
		C.trailer[C.trailer_len++] = *p++;
		--n;
	}
	if (n > 0) {
		fprintf(stderr, "client %" PRIu64 ": %zu bytes past the trailer\n", C.index, n);
		C.failed = 1;
	}
}

/* The server's account of the two streams must match ours, byte for byte. */
static void check_trailer(void) {
	const unsigned char *t = C.trailer;
	if (memcmp(t, DEMO_TRAILER_MAGIC, 8) != 0 || demo_get64(t + 8) != C.size ||
	    demo_get64(t + 16) != C.c2s_hash || demo_get64(t + 24) != C.s2c_hash || demo_get64(t + 32) != 0) {
		fprintf(stderr,
		        "client %" PRIu64 ": the server's account differs: received %" PRIu64 " of %" PRIu64
		        " bytes, hashes %016" PRIx64 "/%016" PRIx64 " (ours %016" PRIx64 "/%016" PRIx64
		        "), first bad byte %" PRIu64 "\n",
		        C.index, demo_get64(t + 8), C.size, demo_get64(t + 16), demo_get64(t + 24), C.c2s_hash,
		        C.s2c_hash, demo_get64(t + 32));
		C.failed = 1;
	}
}

static void on_event(const struct sc_client_event *ev) {
	switch (ev->type) {
	case SC_EVENT_CONNECTED:
		++C.opened;
		C.failed_resumes = 0;
		break;
	case SC_EVENT_RESUMED:
		++C.reuses;
		C.failed_resumes = 0;
		C.resent += ev->resent_bytes;
		break;
	case SC_EVENT_REFUSED: {
		/* Version 1: the server's position is outside our window. Version 2:
		 * see sc_reason_string; BUSY and PROTOCOL_ERROR keep the session. */
		struct sc_client_stats st;
		memset(&st, 0, sizeof st);
		sc_client_get_stats(C.c, &st, sizeof st);
		++C.refused;
		fprintf(stderr, "client %" PRIu64 ": session refused (%s)\n", C.index, sc_reason_string(ev->reason));
		if (st.state == SC_CLIENT_BROKEN && C.fd >= 0) {
			++C.failed_resumes;
			lost_socket();
		}
		break;
	}
	case SC_EVENT_SESSION_RESET:
		/* Demo: cannot happen, since nothing is broken before the first
		 * received byte; if it did, the server would see a new session
		 * without the stream's header, and the check would fail. */
		++C.resets;
		fprintf(stderr, "client %" PRIu64 ": session reset, %" PRIu64 " bytes lost\n", C.index, ev->lost_bytes);
		C.failed = 1;
		break;
	}
}

/* Empties the client's queue: the one place where its output is handled. */
static void drain(void) {
	struct connection_message m;
	struct sc_client_event ev;
	int r;
	while ((r = sc_client_poll(C.c, &m, &ev)) != MESSAGE_EMPTY) {
		if (r == MESSAGE_OUT) {
			write_out(m.buffer, (size_t)m.sz);
		} else if (r == MESSAGE_IN && m.sz > 0) {
			on_data((const unsigned char *)m.buffer, (size_t)m.sz);
		} else if (r == MESSAGE_IN && C.bye_sent) {
			/* Version 2: the server ended the session with a CLOSE, as asked. */
			C.dead = 1;
		} else if (r == MESSAGE_IN) {
			fprintf(stderr, "client %" PRIu64 ": the connection is dead\n", C.index);
			C.dead = C.failed = 1;
		} else if (r == SC_MESSAGE_EVENT) {
			on_event(&ev);
		}
	}
}

/* Produces client->server data while there is room (see demo_send_cap).
 *
 * Protocol version 1 has no acknowledgements: the client learns how much the
 * server received only when it resumes. Everything sent since may have to be
 * sent again, and it must fit in the window. So produce only while the
 * session is established on a socket, and only once what waits to be written
 * (after a reuse, the resend) has gone into the socket. Queueing more data at
 * every reconnect attempt instead would grow what the server misses each
 * time a new socket breaks before its resend got through. */
static void pump(void) {
	static unsigned char buf[32768];
	uint64_t budget = C.cap; /* per turn of the loop, so that reading keeps up */
	while (C.fd >= 0 && C.s2c_pos > 0 && C.c2s_pos < C.size && budget > 0) {
		struct sc_client_stats st;
		uint64_t backlog = 0;
		size_t n;
		memset(&st, 0, sizeof st);
		sc_client_get_stats(C.c, &st, sizeof st);
		if (st.state != SC_CLIENT_ESTABLISHED) return;
		sc_client_backlog(C.c, &backlog);
		if (backlog + pending() >= C.cap) return;
		n = demo_chunk(&C.rng, C.size - C.c2s_pos, demo_chunk_max(C.window));
		demo_stream_fill(C.c2s_key, C.c2s_pos, buf, n);
		C.c2s_hash = demo_hash(C.c2s_hash, buf, n);
		C.c2s_pos += n;
		budget = budget > n ? budget - n : 0;
		cc_send(C.c, (const char *)buf, n);
		drain();
	}
	if (C.trailer_len == DEMO_TRAILER_SIZE && !C.bye_sent) {
		char bye = DEMO_BYE;
		check_trailer();
		C.bye_sent = 1;
		cc_send(C.c, &bye, 1); /* the server then ends the session */
		drain();
	}
}

static void report(const char *tag) {
	struct sc_client_stats st;
	memset(&st, 0, sizeof st);
	sc_client_get_stats(C.c, &st, sizeof st);
	printf("%s index=%" PRIu64 " ok=%d c2s=%" PRIu64 " s2c=%" PRIu64 " size=%" PRIu64 " c2s_hash=%016" PRIx64
	       " s2c_hash=%016" PRIx64 " connects=%d kills_timed=%" PRIu64 " kills_early=%" PRIu64
	       " kills_in_handshake=%" PRIu64 " opened=%" PRIu64 " reuses=%" PRIu64 " resets=%" PRIu64
	       " refused=%" PRIu64 " resent=%" PRIu64 " version=%d\n",
	       tag, C.index, !C.failed && C.bye_sent, C.c2s_pos, C.s2c_pos, C.size, C.c2s_hash, C.s2c_hash,
	       C.connects, C.kills_timed, C.kills_early, C.kills_in_handshake, C.opened, C.reuses, C.resets,
	       C.refused, st.bytes_resent, st.version);
	fflush(stdout);
}

static void usage(void) {
	fprintf(stderr, "usage: stable_client --port N [--size BYTES] [--seed N] [--index N] [--window BYTES]\n"
	                "                     [--kill-interval MS] [--report-ms MS] [--max-seconds S]\n"
	                "                     [--server-key HEX]\n");
	exit(2);
}

int main(int argc, char **argv) {
	uint64_t report_ms = 0, max_seconds = 60, start, next_report;
	unsigned char hdr[DEMO_HEADER_SIZE], server_key[SC_KEY_SIZE];
	const char *key_hex = NULL;
	int i;

	C.fd = -1;
	C.size = 1024 * 1024;
	C.seed = 1;
	C.window = 1024 * 1024;
	for (i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--port")) C.port = (uint16_t)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--size")) { if (demo_parse_size(v, &C.size)) usage(); }
		else if (!strcmp(a, "--seed")) C.seed = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--index")) C.index = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--window")) { if (demo_parse_size(v, &C.window)) usage(); }
		else if (!strcmp(a, "--kill-interval")) C.kill_mean = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--report-ms")) report_ms = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--max-seconds")) max_seconds = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--server-key")) key_hex = v;
		else usage();
	}
	if (i != argc || C.port == 0) usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	C.rng.s = C.seed ^ 0x2545f4914f6cdd1dull;
	C.cap = demo_send_cap(C.window);
	C.c2s_key = demo_stream_key(C.seed, DEMO_DIR_C2S);
	C.s2c_key = demo_stream_key(C.seed, DEMO_DIR_S2C);
	C.c2s_hash = C.s2c_hash = DEMO_HASH_INIT;

	/* cc_open() queues the handshake; the window must be set before any
	 * data is sent. Data sent now waits for the handshake. */
	if (key_hex) {
		int rc;
		for (i = 0; i < SC_KEY_SIZE; ++i) {
			unsigned v;
			if (strlen(key_hex) != 2 * SC_KEY_SIZE || sscanf(key_hex + 2 * i, "%2x", &v) != 1) {
				fprintf(stderr, "client: --server-key takes 64 hexadecimal digits\n");
				return 2;
			}
			server_key[i] = (unsigned char)v;
		}
		rc = sc_client_open_v2(server_key, &C.c);
		if (rc != SC_OK) {
			fprintf(stderr, "client: sc_client_open_v2: %s\n", sc_strerror(rc));
			return 2;
		}
	} else {
		C.c = cc_open();
		if (!C.c) {
			fprintf(stderr, "cc_open failed\n");
			return 2;
		}
	}
	if (sc_client_set_window(C.c, (size_t)C.window) != SC_OK) {
		fprintf(stderr, "client: window %" PRIu64 " out of range\n", C.window);
		return 2;
	}
	sc_client_enable_events(C.c, 1);
	memcpy(hdr, DEMO_HEADER_MAGIC, 8);
	demo_put64(hdr + 8, C.index);
	demo_put64(hdr + 16, C.seed);
	demo_put64(hdr + 24, C.size);
	cc_send(C.c, (const char *)hdr, sizeof hdr);

	start = demo_now_ms();
	next_report = report_ms ? start + report_ms : UINT64_MAX;
	while (!C.dead && !C.failed) {
		uint64_t now = demo_now_ms(), next = next_report, wait;
		struct pollfd pfd;

		if (now - start >= max_seconds * 1000) {
			fprintf(stderr, "client %" PRIu64 ": --max-seconds reached\n", C.index);
			C.failed = 1;
			break;
		}
		if (now >= next_report) {
			report("progress");
			next_report = now + report_ms;
		}
		if (C.fd < 0) {
			if (C.bye_sent) break; /* the server ended the session: done */
			if (now < C.reconnect_at) {
				usleep((useconds_t)(C.reconnect_at - now) * 1000);
				continue;
			}
			connect_socket();
			check_bytes_trigger();
			continue;
		}
		pump();
		if (C.fd >= 0 && may_kill() && now >= C.kill_at) kill_socket(&C.kills_timed);
		if (C.fd < 0) continue;
		if (may_kill() && C.kill_at < next) next = C.kill_at;
		wait = next > now ? next - now : 0;

		pfd.fd = C.fd;
		pfd.events = (short)(POLLIN | (pending() ? POLLOUT : 0));
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)(wait < 1000 ? wait : 1000)) <= 0) continue;
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			static char buf[16384]; /* at most a quarter of a 64 KiB or larger window: version 2 acknowledges per call */
			/* Demo: reads of random sizes, now and then tiny ones. */
			size_t want = demo_rand(&C.rng) % 32 == 0 ? (size_t)demo_between(&C.rng, 1, 16) : sizeof buf;
			ssize_t n = recv(C.fd, buf, want, 0);
			if (n > 0) {
				C.wire += (uint64_t)n;
				cc_recv(C.c, buf, (size_t)n);
				drain();
				check_bytes_trigger();
			} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
				lost_socket(); /* EOF or error: reconnect (never cc_recv(.., 0) here) */
				continue;
			}
		}
		if (C.fd >= 0 && (pfd.revents & POLLOUT)) {
			flush_out();
			check_bytes_trigger();
		}
	}

	if (C.fd >= 0) close(C.fd);
	if (!C.bye_sent) C.failed = 1;
	report("result");
	cc_close(C.c);
	free(C.out);
	return C.failed ? 1 : 0;
}
