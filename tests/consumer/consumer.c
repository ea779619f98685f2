/* A user's program: a server pool and a client in one process, bytes carried
 * between them by hand. It prints where cp_new was loaded from, so the test
 * can tell the installed copy (shared or linked in) was used. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <connectionclient.h>
#include <connectionserver.h>
#include <stable_connection.h>

static struct connection_pool *pool;
static struct connection *client;
static char server_got[64], client_got[64];
static size_t server_len, client_len;
static int session_id;

static void append(char *dst, size_t *len, const char *src, size_t n) {
	if (*len + n < 64) {
		memcpy(dst + *len, src, n);
		*len += n;
	}
}

/* Moves bytes both ways until neither side has anything to say. */
static void pump(int fd) {
	int moved = 1;
	while (moved) {
		struct connection_message cm;
		struct pool_message pm;
		int t;
		moved = 0;
		while ((t = cc_poll(client, &cm)) != MESSAGE_EMPTY) {
			moved = 1;
			if (t == MESSAGE_OUT)
				cp_recv(pool, fd, cm.buffer, (size_t)cm.sz);
			else if (t == MESSAGE_IN)
				append(client_got, &client_len, cm.buffer, (size_t)cm.sz);
		}
		while ((t = cp_poll(pool, &pm)) != POOL_EMPTY) {
			moved = 1;
			if (t == POOL_OUT && pm.sz > 0)
				cc_recv(client, pm.buffer, (size_t)pm.sz);
			else if (t == POOL_IN) {
				session_id = pm.id;
				append(server_got, &server_len, pm.buffer, (size_t)pm.sz);
			}
		}
	}
}

int main(void) {
	Dl_info info;
	if (!dladdr((void *)cp_new, &info) || !info.dli_fname) {
		fprintf(stderr, "dladdr failed\n");
		return 1;
	}
	printf("header version %s\n", SC_VERSION_STRING);
	printf("library version %s\n", sc_version());
	printf("cp_new from: %s\n", info.dli_fname);

	pool = cp_new();
	client = cc_open();
	if (!pool || !client)
		return 1;
	cc_handshake(client);
	pump(3);
	cc_send(client, "ping", 4);
	pump(3);
	cp_send(pool, session_id, "pong", 4);
	pump(3);
	cc_close(client);
	cp_delete(pool);

	if (server_len != 4 || memcmp(server_got, "ping", 4) != 0 || client_len != 4 ||
	    memcmp(client_got, "pong", 4) != 0) {
		fprintf(stderr, "stream mismatch: server got %zu bytes, client got %zu\n", server_len, client_len);
		return 1;
	}
	printf("ping and pong went through\n");
	return 0;
}
