/*
 * reconnect_demo: one client and one server of stable-connection in a single
 * process, wired together in memory instead of through sockets.
 *
 * It streams data both ways, breaks the "connection" five times (sometimes
 * with bytes lost in flight in one or both directions), reconnects, and checks
 * that each application received every byte exactly once and in order.
 *
 * Read it as a small integration guide. In a real program:
 *
 *   Server (one struct connection_pool for all clients):
 *     - after read(fd) returns n > 0 bytes:  cp_recv(cp, fd, buf, n);
 *       a new fd needs no announcement: its first bytes start a handshake.
 *     - when fd reaches EOF or fails:        cp_recv(cp, fd, NULL, 0);
 *       (any size 0 means this, whatever the buffer: read()'s 0 can be
 *       passed straight on); the session waits (up to the reuse timeout)
 *       for its client to return.
 *     - to send to a session:                cp_send(cp, id, buf, n);
 *     - to end a session:                    cp_send(cp, id, NULL, 0);
 *     - after any of these, loop on cp_poll() until POOL_EMPTY:
 *         POOL_OUT: m.id is a socket fd. Write m.buffer/m.sz to it; if
 *                   m.sz == 0, close(m.id) instead (the pool forgot it).
 *         POOL_IN:  m.id is a session id; m.buffer/m.sz is its data.
 *       m.buffer is valid only until the next cp_poll(): copy what you keep.
 *     - from a timer (say once a second): cp_timeout(cp); it closes sockets
 *       stuck in the handshake and frees sessions whose client never came
 *       back. Its POOL_OUT messages come out of the next cp_poll() calls.
 *
 *   Client (one struct connection per stable connection):
 *     - cc_open(), connect a socket, then loop on cc_poll():
 *         MESSAGE_OUT: write m.buffer/m.sz to the socket.
 *         MESSAGE_IN:  m.sz > 0: data from the server; m.sz == 0: the
 *                      connection is dead for good (server refused it).
 *     - cc_recv(c, buf, n) for what read() returns when n > 0 (a size of 0,
 *       whatever the buffer, gives the connection up for good);
 *       cc_send(c, buf, n) to send.
 *     - when the socket breaks (or the heartbeat goes quiet): connect a new
 *       socket, call cc_handshake(c), and keep polling: both sides resend
 *       what the other missed.
 *
 * Here a "socket" is just an fd number. Bytes polled but not delivered play
 * the part of bytes that died with a broken TCP connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectionclient.h"
#include "connectionserver.h"
#include "stable_connection.h" /* only for the resend counters it prints */

/* Byte k of the client->server (dir 0) or server->client (dir 1) stream. */
static unsigned char stream_byte(int dir, unsigned long k) {
	unsigned long x = k * 2654435761ul + (unsigned long)dir * 97u;
	return (unsigned char)(x ^ (x >> 11) ^ (x >> 19));
}

struct demo {
	struct connection_pool *cp;
	struct connection *c;
	int fd;                    /* the client's current socket */
	int session;               /* the session id the server reported */
	unsigned long sent[2];     /* bytes each application asked to send */
	unsigned long verified[2]; /* bytes each application received and checked */
	int failed;
};

/* A receiving application checks each byte against the pattern. */
static void receive(struct demo *d, int dir, const char *buf, size_t n) {
	size_t k;
	for (k = 0; k < n; ++k) {
		if ((unsigned char)buf[k] != stream_byte(dir, d->verified[dir])) {
			printf("MISMATCH: %s byte %lu\n", dir ? "server->client" : "client->server",
			       d->verified[dir]);
			d->failed = 1;
			return;
		}
		++d->verified[dir];
	}
}

static void client_send(struct demo *d, size_t n) {
	char buf[4096];
	while (n > 0) {
		size_t k, chunk = n < sizeof buf ? n : sizeof buf;
		for (k = 0; k < chunk; ++k) buf[k] = (char)stream_byte(0, d->sent[0]++);
		cc_send(d->c, buf, chunk);
		n -= chunk;
	}
}

static void server_send(struct demo *d, size_t n) {
	char buf[4096];
	while (n > 0) {
		size_t k, chunk = n < sizeof buf ? n : sizeof buf;
		for (k = 0; k < chunk; ++k) buf[k] = (char)stream_byte(1, d->sent[1]++);
		cp_send(d->cp, d->session, buf, chunk);
		n -= chunk;
	}
}

/*
 * The event loop: what a real program does when a socket is readable or
 * writable, squeezed into function calls. Client output goes to the server as
 * input on the current fd and the other way round, until nothing moves.
 */
static void run(struct demo *d) {
	int moved;
	do {
		struct connection_message cm;
		struct pool_message pm;
		int r;
		moved = 0;
		while ((r = cc_poll(d->c, &cm)) != MESSAGE_EMPTY) {
			moved = 1;
			if (r == MESSAGE_OUT) {
				cp_recv(d->cp, d->fd, cm.buffer, (size_t)cm.sz);
			} else if (cm.sz == 0) {
				printf("the server refused the session\n");
				d->failed = 1;
				return;
			} else {
				receive(d, 1, cm.buffer, (size_t)cm.sz);
			}
		}
		while ((r = cp_poll(d->cp, &pm)) != POOL_EMPTY) {
			moved = 1;
			if (r == POOL_IN) {
				if (d->session == 0) {
					d->session = pm.id;
					printf("handshake done: session id %d on fd %d\n", pm.id, d->fd);
				}
				receive(d, 0, pm.buffer, pm.sz);
			} else if (pm.sz == 0) {
				/* Real code: close(pm.id). */
				printf("  server closes fd %d\n", pm.id);
			} else if (pm.id == d->fd) {
				cc_recv(d->c, pm.buffer, pm.sz);
			}
			/* Output for an older fd: that socket is gone, the bytes too. */
		}
	} while (moved && !d->failed);
	cp_timeout(d->cp); /* normally from a timer; here after each burst */
}

/* Bytes each side has sent again after reconnects, from its counters. */
static unsigned long client_resent(struct demo *d) {
	struct sc_client_stats st;
	return sc_client_get_stats(d->c, &st, sizeof st) == SC_OK ? (unsigned long)st.bytes_resent : 0;
}

static unsigned long server_resent(struct demo *d) {
	struct sc_pool_stats st;
	return sc_pool_get_stats(d->cp, &st, sizeof st) == SC_OK ? (unsigned long)st.bytes_resent : 0;
}

/* The client's unsent output dies with its socket. */
static unsigned long lose_client_output(struct demo *d) {
	struct connection_message cm;
	unsigned long lost = 0;
	int r;
	while ((r = cc_poll(d->c, &cm)) != MESSAGE_EMPTY) {
		if (r == MESSAGE_OUT)
			lost += (unsigned long)cm.sz;
		else if (cm.sz > 0)
			receive(d, 1, cm.buffer, (size_t)cm.sz);
	}
	return lost;
}

/* The server's unsent output dies with the socket. */
static unsigned long lose_server_output(struct demo *d) {
	struct pool_message pm;
	unsigned long lost = 0;
	int r;
	while ((r = cp_poll(d->cp, &pm)) != POOL_EMPTY) {
		if (r == POOL_OUT)
			lost += pm.sz;
		else
			receive(d, 0, pm.buffer, pm.sz);
	}
	return lost;
}

int main(void) {
	/* What goes wrong before each reconnect. */
	static const struct {
		int lose_c2s, lose_s2c; /* bytes in flight that are lost */
		int server_notices;     /* the server sees the socket close */
		int sent_detached;      /* server data sent while the session has no socket */
	} breaks[5] = {
		{0, 0, 1, 0},          /* a clean break: nothing in flight */
		{0, 3000, 1, 0},       /* server->client bytes lost */
		{5000, 0, 1, 0},       /* client->server bytes lost */
		{2000, 4000, 1, 1500}, /* both, and the server keeps sending meanwhile */
		{700, 900, 0, 0},      /* the client notices first: the old fd lingers */
	};
	struct demo d;
	unsigned long resent_total[2] = {0, 0};
	int k;

	memset(&d, 0, sizeof d);
	d.cp = cp_new();
	d.c = cc_open(); /* queues the new-connection handshake */
	if (!d.cp || !d.c) {
		printf("out of memory\n");
		return 1;
	}
	d.fd = 3;

	/* Data sent before the handshake completes waits and goes out right after. */
	client_send(&d, 100);
	run(&d);

	for (k = 0; k < 5 && !d.failed; ++k) {
		unsigned long lost_c2s = 0, lost_s2c = 0, resent[2];
		int old_fd = d.fd;

		/* Normal traffic. */
		client_send(&d, 20000);
		server_send(&d, 30000);
		run(&d);

		/* Bytes sent just before the break never arrive. */
		if (breaks[k].lose_c2s) {
			client_send(&d, (size_t)breaks[k].lose_c2s);
			lost_c2s = lose_client_output(&d);
		}
		if (breaks[k].lose_s2c) {
			server_send(&d, (size_t)breaks[k].lose_s2c);
			lost_s2c = lose_server_output(&d);
		}
		/* The server's read() on the old fd returned 0 or an error. */
		if (breaks[k].server_notices) cp_recv(d.cp, old_fd, NULL, 0);
		/* The pool keeps what it sends to a detached session (up to the window). */
		if (breaks[k].sent_detached) server_send(&d, (size_t)breaks[k].sent_detached);

		printf("reconnect %d on fd %d: lost in flight %lu bytes client->server, %lu bytes server->client",
		       k + 1, old_fd + 1, lost_c2s, lost_s2c);
		if (breaks[k].sent_detached)
			printf("; server sent %d bytes while detached", breaks[k].sent_detached);
		if (!breaks[k].server_notices) printf("; the server still had fd %d", old_fd);
		printf("\n");

		/* The client connects a new socket and asks to resume. */
		d.fd = old_fd + 1;
		cc_handshake(d.c);
		run(&d);

		/* On the new socket each side wrote its part of the reuse handshake
		 * (docs/PROTOCOL.md section 4), then what the other side missed: the
		 * counters say how much that was. */
		resent[0] = client_resent(&d) - resent_total[0];
		resent[1] = server_resent(&d) - resent_total[1];
		resent_total[0] += resent[0];
		resent_total[1] += resent[1];
		printf("  server resent %lu bytes, client resent %lu bytes\n", resent[1], resent[0]);
		if (d.verified[0] != d.sent[0] || d.verified[1] != d.sent[1]) {
			printf("  streams out of step after reconnect %d\n", k + 1);
			d.failed = 1;
		}
	}

	/* A last burst on the final socket, then the server ends the session. */
	client_send(&d, 10000);
	server_send(&d, 10000);
	run(&d);
	printf("the server ends session %d\n", d.session);
	cp_send(d.cp, d.session, NULL, 0);
	run(&d);

	printf("totals: client sent %lu bytes, server sent %lu bytes; resent after reconnects: "
	       "%lu by the server, %lu by the client\n",
	       d.sent[0], d.sent[1], resent_total[1], resent_total[0]);
	if (d.failed || d.verified[0] != d.sent[0] || d.verified[1] != d.sent[1]) {
		printf("FAILED: received %lu of %lu client bytes and %lu of %lu server bytes\n",
		       d.verified[0], d.sent[0], d.verified[1], d.sent[1]);
		return 1;
	}
	printf("all %lu bytes verified\n", d.verified[0] + d.verified[1]);

	cc_close(d.c);
	cp_delete(d.cp);
	return 0;
}
