/*
 * stable_demo: stable connections over real TCP that survive forced
 * disconnects, in one command.
 *
 *   stable_demo [--clients N] [--size BYTES] [--kill-interval MS]
 *               [--window BYTES] [--seed N] [--max-seconds S]
 *               [--protocol 1|2|mixed]
 *
 * It starts stable_server on 127.0.0.1 (a free port) and N stable_client
 * processes (both live next to this program). Each client streams --size
 * bytes to the server in random-size messages while the server streams as
 * many back, and both ends check every byte and hash each stream. Sockets are
 * broken at random moments, on average every --kill-interval ms per client,
 * half of the time by the client and half by the server (FIN, RST or a plain
 * close), sometimes in the middle of a reuse handshake or of a resend. The
 * clients reconnect and resume their sessions.
 *
 * It prints a progress line about once a second and a summary at the end. Exit
 * status 0 means every byte was verified in both directions, no session was
 * refused or reset, and everything finished within --max-seconds.
 *
 * --protocol chooses the wire protocol: mixed (the default) gives the server
 * a fresh version 2 key and runs every other client with version 2 and the
 * rest with version 1, on the same port; 2 runs all clients with version 2
 * against a server that accepts nothing else; 1 runs version 1 only.
 *
 * The seed is printed first; --seed replays the same data and the same random
 * choices (the timing of real sockets varies from run to run).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "demo_stream.h"

struct proc {
	const char *name;
	pid_t pid;
	int fd;        /* its stdout */
	char buf[4096];
	size_t len;
	int exited, status;
	char progress[4096], result[4096]; /* the last lines of each kind */
};

static struct proc server, *clients;
static int nclients;
static uint16_t port;
static char public_key[80]; /* the server's, in hex, when it has one */

/* The value of key=... in a line of a child's report. */
static uint64_t kv(const char *line, const char *key) {
	size_t kl = strlen(key);
	const char *p = line;
	while ((p = strstr(p, key)) != NULL) {
		if ((p == line || p[-1] == ' ') && p[kl] == '=') return strtoull(p + kl + 1, NULL, 10);
		p += kl;
	}
	return 0;
}

static void spawn(struct proc *p, char **argv) {
	int fds[2];
	pid_t parent = getpid();
	if (pipe2(fds, O_CLOEXEC) < 0) {
		perror("pipe2");
		exit(2);
	}
	p->pid = fork();
	if (p->pid < 0) {
		perror("fork");
		exit(2);
	}
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the demo */
		if (getppid() != parent) _exit(1);
		dup2(fds[1], 1);
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	p->fd = fds[0];
}

static void on_line(struct proc *p, char *line) {
	if (p == &server && strncmp(line, "listening ", 10) == 0) {
		const char *k = strstr(line, " public_key=");
		port = (uint16_t)kv(line, "port");
		if (k) snprintf(public_key, sizeof public_key, "%.64s", k + 12);
	} else if (strncmp(line, "stats ", 6) == 0 || strncmp(line, "progress ", 9) == 0) {
		snprintf(p->progress, sizeof p->progress, "%s", line);
	} else if (strncmp(line, "final ", 6) == 0 || strncmp(line, "result ", 7) == 0) {
		snprintf(p->result, sizeof p->result, "%s", line);
		snprintf(p->progress, sizeof p->progress, "%s", line);
	} else {
		printf("%s: %s\n", p->name, line);
	}
}

/* Reads what a child wrote; returns 0 at EOF. */
static int read_lines(struct proc *p) {
	ssize_t n = read(p->fd, p->buf + p->len, sizeof p->buf - 1 - p->len);
	char *nl;
	if (n < 0 && errno == EINTR) return 1;
	if (n <= 0) {
		close(p->fd);
		p->fd = -1;
		return 0;
	}
	p->len += (size_t)n;
	p->buf[p->len] = '\0';
	while ((nl = strchr(p->buf, '\n')) != NULL) {
		*nl = '\0';
		on_line(p, p->buf);
		p->len -= (size_t)(nl + 1 - p->buf);
		memmove(p->buf, nl + 1, p->len + 1);
	}
	if (p->len == sizeof p->buf - 1) p->len = 0; /* an overlong line: drop it */
	return 1;
}

static void reap(struct proc *p) {
	int st;
	if (!p->exited && p->pid > 0 && waitpid(p->pid, &st, WNOHANG) == p->pid) {
		p->exited = 1;
		p->status = st;
	}
}

static void reap_wait(struct proc *p) {
	int st;
	if (!p->exited && p->pid > 0 && waitpid(p->pid, &st, 0) == p->pid) {
		p->exited = 1;
		p->status = st;
	}
}

static void kill_all(void) {
	int i;
	for (i = 0; i < nclients; ++i)
		if (!clients[i].exited) kill(clients[i].pid, SIGKILL);
	if (!server.exited) kill(server.pid, SIGKILL);
}

static double mib(uint64_t b) { return (double)b / (1024.0 * 1024.0); }

static const char *exit_text(const struct proc *p) {
	static char s[64];
	if (!p->exited) return "still running";
	if (WIFEXITED(p->status)) snprintf(s, sizeof s, "exit status %d", WEXITSTATUS(p->status));
	else snprintf(s, sizeof s, "killed by signal %d", WTERMSIG(p->status));
	return s;
}

static int exited_ok(const struct proc *p) {
	return p->exited && WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0;
}

static void usage(void) {
	fprintf(stderr, "usage: stable_demo [--clients N] [--size BYTES] [--kill-interval MS] [--window BYTES]\n"
	                "                   [--seed N] [--max-seconds S] [--protocol 1|2|mixed]\n"
	                "defaults: --clients 8 --size 24M --kill-interval 50 --window 1M --max-seconds 120\n"
	                "          --protocol mixed\n");
	exit(2);
}

int main(int argc, char **argv) {
	uint64_t size = 24u << 20, window = 1u << 20, kill_ms = 50, seed = 0, max_seconds = 120;
	uint64_t start, now, deadline, next_progress, end;
	uint64_t c2s = 0, s2c = 0, reconnects = 0, kills_c = 0, kills_early = 0, kills_hs = 0;
	uint64_t resent_c = 0, reuses_c = 0, resets = 0, refused_c = 0, passed = 0;
	char dir[PATH_MAX], server_path[PATH_MAX + 32], client_path[PATH_MAX + 32], *slash;
	char a_window[32], a_kill[32], a_seed[32], a_max[32], a_port[16], a_size[32], a_index[16];
	int i, failed = 0, timed_out = 0, seed_given = 0, protocol = 0; /* 0: mixed */
	uint64_t by_version[3][4] = {{0}}; /* [version]: clients, passed, reconnects, verified bytes */
	ssize_t dl;

	nclients = 8;
	for (i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--clients")) nclients = atoi(v);
		else if (!strcmp(a, "--size")) { if (demo_parse_size(v, &size)) usage(); }
		else if (!strcmp(a, "--kill-interval")) kill_ms = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--window")) { if (demo_parse_size(v, &window)) usage(); }
		else if (!strcmp(a, "--seed")) { seed = strtoull(v, NULL, 0); seed_given = 1; }
		else if (!strcmp(a, "--max-seconds")) max_seconds = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--protocol")) {
			if (!strcmp(v, "1")) protocol = 1;
			else if (!strcmp(v, "2")) protocol = 2;
			else if (!strcmp(v, "mixed")) protocol = 0;
			else usage();
		} else usage();
	}
	if (i != argc) usage();
	if (!seed_given) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = demo_mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid()) % 1000000000u;
	}
	if (nclients < 1 || nclients > 1000 || size == 0 || max_seconds == 0) usage();
	if (window < 65536 || window > (1u << 30)) {
		fprintf(stderr, "stable_demo: --window must be between 64K and 1G\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);

	/* The server and client programs live next to this one. */
	dl = readlink("/proc/self/exe", dir, sizeof dir - 1);
	if (dl <= 0) {
		perror("readlink /proc/self/exe");
		return 2;
	}
	dir[dl] = '\0';
	slash = strrchr(dir, '/');
	if (slash) *slash = '\0';
	snprintf(server_path, sizeof server_path, "%s/stable_server", dir);
	snprintf(client_path, sizeof client_path, "%s/stable_client", dir);

	printf("stable_demo: seed %" PRIu64 " (replay with --seed %" PRIu64 ")\n", seed, seed);
	printf("%d clients, %.2f MiB each way per client, a break every ~%" PRIu64
	       " ms per client (half by the client, half by the server), window %.2f MiB, protocol %s\n",
	       nclients, mib(size), kill_ms, mib(window),
	       protocol == 1 ? "version 1" : protocol == 2 ? "version 2" : "versions 1 and 2 (every other client)");

	/* Each side breaks sockets every 2 * kill_ms on average: together every kill_ms. */
	snprintf(a_window, sizeof a_window, "%" PRIu64, window);
	snprintf(a_kill, sizeof a_kill, "%" PRIu64, kill_ms * 2);
	snprintf(a_max, sizeof a_max, "%" PRIu64, max_seconds + 10);
	snprintf(a_size, sizeof a_size, "%" PRIu64, size);
	snprintf(a_seed, sizeof a_seed, "%" PRIu64, demo_mix(seed ^ 0x5e77e7u));
	{
		char *av[] = {server_path, "--window", a_window, "--kill-interval", a_kill, "--seed", a_seed,
		              "--report-ms", "250", "--max-seconds", a_max, NULL, NULL, NULL, NULL};
		/* Version 2: a key made for this run; with --protocol 2 nothing else. */
		if (protocol != 1) av[11] = "--ephemeral-key";
		if (protocol == 2) {
			av[12] = "--protocols";
			av[13] = "2";
		}
		server.name = "server";
		spawn(&server, av);
	}
	/* Wait for the port it picked. */
	deadline = demo_now_ms() + 10000;
	while (port == 0 && server.fd >= 0 && demo_now_ms() < deadline) {
		struct pollfd pfd = {server.fd, POLLIN, 0};
		if (poll(&pfd, 1, 100) > 0) read_lines(&server);
	}
	if (port == 0) {
		fprintf(stderr, "stable_demo: the server did not start\n");
		kill_all();
		return 1;
	}
	if (protocol != 1 && !public_key[0]) {
		fprintf(stderr, "stable_demo: the server printed no public key (built without version 2?)\n");
		kill_all();
		return 1;
	}
	printf("server listening on 127.0.0.1:%u%s%s\n", (unsigned)port, public_key[0] ? ", public key " : "",
	       public_key);

	clients = calloc((size_t)nclients, sizeof *clients);
	if (!clients) return 2;
	snprintf(a_port, sizeof a_port, "%u", (unsigned)port);
	start = demo_now_ms();
	for (i = 0; i < nclients; ++i) {
		char *av[] = {client_path, "--port", a_port, "--size", a_size, "--seed", a_seed, "--index", a_index,
		              "--window", a_window, "--kill-interval", a_kill, "--report-ms", "250",
		              "--max-seconds", a_max, NULL, NULL, NULL};
		if (protocol == 2 || (protocol == 0 && i % 2 == 1)) {
			av[17] = "--server-key";
			av[18] = public_key;
		}
		snprintf(a_index, sizeof a_index, "%d", i);
		snprintf(a_seed, sizeof a_seed, "%" PRIu64, demo_mix(seed + (uint64_t)i + 1));
		clients[i].name = "client";
		spawn(&clients[i], av);
	}

	/* Follow the children's reports until every client is done. */
	deadline = start + max_seconds * 1000;
	next_progress = start + 1000;
	for (;;) {
		struct pollfd pfds[1001];
		struct proc *who[1001];
		int n = 0, running = 0;
		for (i = 0; i < nclients; ++i) {
			reap(&clients[i]);
			if (clients[i].fd >= 0) {
				pfds[n].fd = clients[i].fd;
				pfds[n].events = POLLIN;
				who[n++] = &clients[i];
			}
			if (clients[i].fd >= 0 || !clients[i].exited) ++running;
		}
		reap(&server);
		if (server.fd >= 0) {
			pfds[n].fd = server.fd;
			pfds[n].events = POLLIN;
			who[n++] = &server;
		}
		if (running == 0) break;
		now = demo_now_ms();
		if (server.exited) {
			fprintf(stderr, "stable_demo: the server stopped (%s)\n", exit_text(&server));
			failed = 1;
			break;
		}
		if (now >= deadline) {
			fprintf(stderr, "stable_demo: TIMEOUT after %" PRIu64 " s\n", max_seconds);
			timed_out = failed = 1;
			break;
		}
		if (now >= next_progress) {
			uint64_t done_s2c = 0, rc = 0, resent = kv(server.progress, "resent");
			for (i = 0; i < nclients; ++i) {
				done_s2c += kv(clients[i].progress, "s2c");
				rc += kv(clients[i].progress, "connects") ? kv(clients[i].progress, "connects") - 1 : 0;
				resent += kv(clients[i].progress, "resent");
			}
			printf("[%5.1fs] client->server %7.2f MiB  server->client %7.2f MiB  of %.2f MiB each"
			       "  reconnects %5" PRIu64 "  resent %6.2f MiB  refused %" PRIu64 "\n",
			       (double)(now - start) / 1000.0, mib(kv(server.progress, "c2s")), mib(done_s2c),
			       mib(size * (uint64_t)nclients), rc, mib(resent), kv(server.progress, "refused"));
			next_progress += 1000;
			if (next_progress <= now) next_progress = now + 1000;
		}
		{
			uint64_t wake = next_progress < deadline ? next_progress : deadline;
			int k, r = poll(pfds, (nfds_t)n, (int)(wake > now ? (wake - now < 100 ? wake - now : 100) : 0));
			for (k = 0; r > 0 && k < n; ++k)
				if (pfds[k].revents) read_lines(who[k]);
		}
	}
	end = demo_now_ms();

	if (failed) {
		kill_all();
	} else {
		kill(server.pid, SIGTERM); /* the server prints its totals and exits */
	}
	for (i = 0; i < nclients; ++i) {
		while (clients[i].fd >= 0) read_lines(&clients[i]);
		reap_wait(&clients[i]);
	}
	while (server.fd >= 0) read_lines(&server);
	reap_wait(&server);

	/* ---- the summary ---- */
	for (i = 0; i < nclients; ++i) {
		const char *r = clients[i].result;
		int ok = r[0] && kv(r, "ok") == 1 && kv(r, "c2s") == size && kv(r, "s2c") == size &&
		         exited_ok(&clients[i]);
		{
			int v = kv(r, "version") == 2 ? 2 : 1;
			++by_version[v][0];
			by_version[v][1] += ok;
			by_version[v][2] += kv(r, "connects") ? kv(r, "connects") - 1 : 0;
			by_version[v][3] += ok ? 2 * size : 0;
		}
		if (ok) ++passed;
		else if (!timed_out)
			printf("client %d FAILED (%s): %s\n", i, exit_text(&clients[i]), r[0] ? r : "no result");
		c2s += kv(r, "c2s");
		s2c += kv(r, "s2c");
		reconnects += kv(r, "connects") ? kv(r, "connects") - 1 : 0;
		kills_c += kv(r, "kills_timed") + kv(r, "kills_early");
		kills_early += kv(r, "kills_early");
		kills_hs += kv(r, "kills_in_handshake");
		reuses_c += kv(r, "reuses");
		resets += kv(r, "resets");
		refused_c += kv(r, "refused");
		resent_c += kv(r, "resent");
	}
	{
		const char *f = server.result;
		double secs = (double)(end - start) / 1000.0;
		uint64_t refused = kv(f, "refused") + refused_c;
		uint64_t abnormal = kv(f, "closed_expired") + kv(f, "closed_backlog");
		int server_ok = f[0] && exited_ok(&server) && kv(f, "mismatches") == 0 && kv(f, "open") == 0 &&
		                kv(f, "c2s") == size * (uint64_t)nclients;

		printf("\nsummary (seed %" PRIu64 ")\n", seed);
		printf("  clients            %" PRIu64 " of %d finished with every byte verified\n", passed, nclients);
		printf("  client -> server   %.2f MiB sent, %.2f MiB verified by the server (byte by byte and hash)\n",
		       mib(c2s), mib(kv(f, "c2s")));
		printf("  server -> client   %.2f MiB sent, %.2f MiB verified by the clients (byte by byte and hash)\n",
		       mib(kv(f, "s2c")), mib(s2c));
		printf("  forced breaks      %" PRIu64 ": %" PRIu64 " by clients (%" PRIu64
		       " within a reconnect's first bytes, %" PRIu64 " during a reuse handshake), %" PRIu64
		       " by the server (%" PRIu64 " right after a resume)\n",
		       kills_c + kv(f, "kills") + kv(f, "kills_resend"), kills_c, kills_early, kills_hs,
		       kv(f, "kills") + kv(f, "kills_resend"), kv(f, "kills_resend"));
		printf("  reconnects         %" PRIu64 " (sessions resumed: %" PRIu64 " by the server's count, %" PRIu64
		       " by the clients'); sessions opened %" PRIu64 ", reset %" PRIu64 "\n",
		       reconnects, kv(f, "reuses"), reuses_c, kv(f, "opened"), resets);
		printf("  bytes resent       client -> server %.2f MiB, server -> client %.2f MiB\n", mib(resent_c),
		       mib(kv(f, "resent")));
		printf("  sessions refused   %" PRIu64 " (closed for backlog or expiry: %" PRIu64 ")\n", refused,
		       abnormal);
		for (i = 1; i <= 2; ++i)
			if (by_version[i][0])
				printf("  version %d          %" PRIu64 " of %" PRIu64 " clients verified, %" PRIu64
				       " reconnects, %.2f MiB verified\n",
				       i, by_version[i][1], by_version[i][0], by_version[i][2], mib(by_version[i][3]));
		printf("  elapsed            %.2f s, %.1f MiB/s of verified data (both directions)\n", secs,
		       secs > 0 ? mib(kv(f, "c2s") + s2c) / secs : 0.0);
		if (!server_ok && !timed_out) printf("server FAILED (%s): %s\n", exit_text(&server), f[0] ? f : "no totals");
		if (timed_out || !server_ok || passed != (uint64_t)nclients || refused || abnormal || resets) failed = 1;
	}
	if (failed) {
		printf("FAIL%s (replay with --seed %" PRIu64 ")\n", timed_out ? ": timed out" : "", seed);
		return 1;
	}
	printf("PASS: every byte verified, %" PRIu64 " reconnects, 0 sessions refused", reconnects);
	for (i = 1; i <= 2; ++i)
		if (by_version[i][0]) printf("; version %d: %" PRIu64 " clients, %" PRIu64 " reconnects", i, by_version[i][0], by_version[i][2]);
	printf("\n");
	free(clients);
	return 0;
}
