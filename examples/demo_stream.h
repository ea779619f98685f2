/*
 * demo_stream.h: the test data of the TCP demo, shared by stable_server,
 * stable_client and stable_demo. None of this is needed to use the library;
 * it is how the demo proves that every byte arrived, once and in order.
 *
 * Each client streams `size` bytes to the server and the server streams
 * `size` bytes back. Both streams are pseudo-random bytes computed from the
 * client's seed, so a receiver can check every byte at its position without
 * the sender's help, and both ends also keep a 64-bit FNV-1a hash of each
 * stream, which they compare at the end.
 *
 * The client->server stream, as the server's application sees it:
 *   header (32 bytes): "SCDEMO1\0", LE64 client index, LE64 seed, LE64 size
 *   `size` bytes of stream data
 *   one byte DEMO_BYE once the client has checked the trailer
 * The server->client stream:
 *   `size` bytes of stream data (the first ones double as a greeting)
 *   trailer (40 bytes): "SCDONE1\0", LE64 bytes received from the client,
 *   LE64 hash of them, LE64 hash of the bytes the server sent,
 *   LE64 0 if every received byte matched (else 1 + first bad offset)
 */
#ifndef STABLE_DEMO_STREAM_H
#define STABLE_DEMO_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEMO_HEADER_SIZE 32
#define DEMO_TRAILER_SIZE 40
#define DEMO_HEADER_MAGIC "SCDEMO1" /* 8 bytes with its NUL */
#define DEMO_TRAILER_MAGIC "SCDONE1"
#define DEMO_BYE 0x21
#define DEMO_DIR_C2S 0
#define DEMO_DIR_S2C 1
#define DEMO_HASH_INIT 0xcbf29ce484222325ull

static inline uint64_t demo_mix(uint64_t z) { /* splitmix64's finaliser */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The key of one direction of one client's streams. */
static inline uint64_t demo_stream_key(uint64_t seed, int dir) {
	return demo_mix(seed + 0x9e3779b97f4a7c15ull * (uint64_t)(dir + 1));
}

/* Byte `pos` of a stream is byte pos % 8 of the 64-bit word number pos / 8. */
static inline uint64_t demo_stream_word(uint64_t key, uint64_t word) {
	return demo_mix(key ^ (word * 0xd1342543de82ef95ull + 1));
}

static inline void demo_stream_fill(uint64_t key, uint64_t pos, unsigned char *buf, size_t n) {
	size_t k = 0;
	while (k < n) {
		uint64_t w = demo_stream_word(key, (pos + k) / 8);
		unsigned shift = (unsigned)((pos + k) % 8);
		for (; shift < 8 && k < n; ++shift, ++k) buf[k] = (unsigned char)(w >> (8 * shift));
	}
}

/* Returns the index of the first byte that differs from the stream, or n. */
static inline size_t demo_stream_check(uint64_t key, uint64_t pos, const unsigned char *buf, size_t n) {
	size_t k = 0;
	while (k < n) {
		uint64_t w = demo_stream_word(key, (pos + k) / 8);
		unsigned shift = (unsigned)((pos + k) % 8);
		for (; shift < 8 && k < n; ++shift, ++k)
			if (buf[k] != (unsigned char)(w >> (8 * shift))) return k;
	}
	return n;
}

/* FNV-1a, 64 bits: a running hash over a whole stream. */
static inline uint64_t demo_hash(uint64_t h, const unsigned char *p, size_t n) {
	size_t k;
	for (k = 0; k < n; ++k) h = (h ^ p[k]) * 0x100000001b3ull;
	return h;
}

static inline void demo_put64(unsigned char *p, uint64_t v) {
	int k;
	for (k = 0; k < 8; ++k) p[k] = (unsigned char)(v >> (8 * k));
}

static inline uint64_t demo_get64(const unsigned char *p) {
	uint64_t v = 0;
	int k;
	for (k = 7; k >= 0; --k) v = (v << 8) | p[k];
	return v;
}

/* The random choices (timing, sizes, kill methods): splitmix64. */
struct demo_rng {
	uint64_t s;
};

static inline uint64_t demo_rand(struct demo_rng *r) {
	r->s += 0x9e3779b97f4a7c15ull;
	return demo_mix(r->s);
}

/* Uniform in [lo, hi]. */
static inline uint64_t demo_between(struct demo_rng *r, uint64_t lo, uint64_t hi) {
	return hi <= lo ? lo : lo + demo_rand(r) % (hi - lo + 1);
}

/* A random message size: mostly kilobytes, sometimes a handful of bytes;
 * at most `max` (at least 1024) and `remaining`. */
static inline size_t demo_chunk(struct demo_rng *r, uint64_t remaining, uint64_t max) {
	uint64_t n, pick = demo_rand(r) % 16;
	if (pick == 0)
		n = demo_between(r, 1, 16);
	else if (pick < 4)
		n = demo_between(r, 17, 1024);
	else
		n = demo_between(r, 1025, max);
	return (size_t)(n < remaining ? n : remaining);
}

static inline uint64_t demo_now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "4M", "256K", "65536", "1G" (binary units). Returns 0 on success. */
static inline int demo_parse_size(const char *s, uint64_t *out) {
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t mul = 1;
	if (end == s || s[0] == '-') return -1;
	if (*end == 'K' || *end == 'k') mul = 1024u, ++end;
	else if (*end == 'M' || *end == 'm') mul = 1024u * 1024u, ++end;
	else if (*end == 'G' || *end == 'g') mul = 1024u * 1024u * 1024u, ++end;
	if (*end == 'i') ++end;
	if (*end == 'B') ++end;
	if (*end != '\0' || v > UINT64_MAX / mul) return -1;
	*out = (uint64_t)v * mul;
	return 0;
}

/*
 * Socket buffer sizes and flow control limits for a resend window of `window`
 * bytes. The bytes one side can lose at a break are those in flight: in its
 * own unwritten buffer, in both kernels' socket buffers (Linux doubles the
 * sizes set here), and what the library holds unsent. Keeping that sum well
 * below the window is what guarantees that every reconnect can resume.
 */
static inline int demo_sockbuf(uint64_t window) {
	uint64_t b = window / 16;
	if (b < 4096) b = 4096;
	if (b > 256 * 1024) b = 256 * 1024;
	return (int)b;
}

/* Sender limit: library backlog plus our own unwritten bytes. */
static inline uint64_t demo_send_cap(uint64_t window) {
	uint64_t b = window / 8;
	if (b > 512 * 1024) b = 512 * 1024;
	return b;
}

/* The largest message (so that one message cannot overshoot the limits). */
static inline uint64_t demo_chunk_max(uint64_t window) {
	uint64_t b = window / 16;
	if (b < 1024) b = 1024;
	if (b > 32768) b = 32768;
	return b;
}

#endif
