// Shared helpers of the benchmark suite: an in-process "network" between one
// connection_pool and its clients through the public C API, allocation and
// memory probes, a deterministic random source, and the cipher ceiling that
// every throughput figure is compared with.
#ifndef SC_BENCH_COMMON_H
#define SC_BENCH_COMMON_H

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>

// libcrypto's key types, for BareX25519 (version 2 builds only).
struct evp_pkey_st;
struct evp_pkey_ctx_st;

#include "connectionclient.h"
#include "connectionserver.h"
#include "stable_connection.h"
#include "stable_connection_testing.h"

namespace bench {

// ------------------------------------------------------------- allocations

// Calls of any form of operator new since the process started (the benchmark
// binary replaces the global allocation functions). The suite is
// single-threaded, so the counter is a plain integer.
uint64_t allocation_count();

// ------------------------------------------------------------------ memory

// Bytes malloc reports in use (mallinfo2: arena chunks in use plus mmapped
// chunks), headers included.
size_t heap_in_use();
// Resident set size of the process, from /proc/self/statm.
size_t resident_bytes();

// ------------------------------------------------------------------ random

// Installs a fixed splitmix64 sequence as the random source of both sides, so
// that setups are reproducible and cost no system calls.
void use_fixed_random(uint64_t seed);
// Restores the operating system's source (getrandom), as in production.
void use_system_random();

// ------------------------------------------------------------------ timing

// CPU time of the calling thread, in seconds: the clock Google Benchmark
// divides rates by (it reports CPU time unless told otherwise).
double thread_cpu_seconds();

// Bytes per second of one pass of the yardstick cipher (yardstick_v1.h) with
// one fingerprint: the last value measured by its benchmark in this run, or a
// short calibration when that benchmark did not run (e.g. filtered out).
double cipher_ceiling();
void set_cipher_ceiling(double bytes_per_second);

// The ceilings of a stream benchmark measured beside its own loop, for a
// short while just before and just after it, and averaged: on a shared
// machine the same arithmetic drifts by a fifth within minutes, so a ceiling
// measured at another moment of the run moves a ratio by as much.
struct StreamCeilings {
  double yardstick = 0;  // bytes/s of the yardstick pass over 4 KiB blocks
  double aead = 0;       // bytes/s of seals of the benchmark's message size (version 2)
  double ack_seals = 0;  // seals/s of records that carry an acknowledgement alone (version 2)
};
// Measured now, for about `cpu_seconds` each; version 1 measures the
// yardstick only.
StreamCeilings stream_ceilings(int version, size_t n, double cpu_seconds);
StreamCeilings average(const StreamCeilings &a, const StreamCeilings &b);
// How long to measure beside a loop: 0.1 s for a run of many iterations (the
// one Google Benchmark reports), a moment for the short runs it makes first
// to choose the count.
double beside_seconds(const benchmark::State &state);

// Sets the counters every stream benchmark reports: throughput against half
// the cipher ceiling (every byte is ciphered once by each side), against
// half the yardstick measured beside the loop when `beside` is given, and
// heap allocations per message in the timed loop.
void report_stream(benchmark::State &state, double cpu_seconds, uint64_t bytes, uint64_t messages, uint64_t allocations,
                   const StreamCeilings *beside = nullptr);

// Protocol version 2 (a build with SC_WITH_V2; the version 2 benchmarks are
// registered only there). Bytes per second of one ChaCha20-Poly1305 seal of
// `n`-byte plaintexts through the same library (the AEAD benchmark of this
// run, or a short calibration), and X25519 operations per second likewise.
double aead_ceiling(size_t n);
void set_aead_ceiling(size_t n, double bytes_per_second);
double x25519_rate();
void set_x25519_rate(double operations_per_second);
// X25519 through libcrypto alone, the ceiling of the handshakes: a private
// key, a peer key and their derivation context made once, so that each
// derive() is one scalar multiplication and the library's call around it.
class BareX25519 {
 public:
  BareX25519();
  ~BareX25519();
  BareX25519(const BareX25519 &) = delete;
  BareX25519 &operator=(const BareX25519 &) = delete;
  bool ok() const { return ok_; }
  // One operation; false (and from then on) if the library failed.
  bool derive();

 private:
  evp_pkey_st *mine_ = nullptr;
  evp_pkey_st *theirs_ = nullptr;
  evp_pkey_ctx_st *ctx_ = nullptr;
  uint8_t out_[32] = {};
  bool ok_ = false;
};
// Like report_stream, for version 2: ratio_to_aead_half compares with half
// the AEAD ceiling of `n`-byte records (each byte is sealed once and opened
// once); with `beside`, ratio_beside does so with the seals measured beside
// the loop, which are reported too (aead_beside, ack_seals_beside) for the
// table's cap of the loop.
void report_stream_v2(benchmark::State &state, double cpu_seconds, uint64_t bytes, uint64_t messages,
                      uint64_t allocations, size_t n, const StreamCeilings *beside = nullptr);
// A version 2 pool key of the suite's own, its public key, and a version 2
// client of it (nullptr without version 2).
const uint8_t *v2_private_key();
const uint8_t *v2_public_key();
connection *open_v2_client();

// Marks the benchmark as failed (SkipWithError) and remembers it, so that the
// binary exits nonzero and a smoke run catches a broken benchmark.
void fail(benchmark::State &state, const char *why);
bool any_failed();

// ---------------------------------------------------------------- the wire

// What one pump moved.
struct Moved {
  size_t to_client = 0;  // decrypted bytes the client handed out (MESSAGE_IN)
  size_t to_pool = 0;    // decrypted bytes the pool handed out (POOL_IN)
  bool client_dead = false;
  bool fd_closed = false;  // the pool closed `fd`
};

// Delivers everything both sides have to say, until both are quiet: client
// OUT -> cp_recv(fd), pool OUT for `fd` -> cc_recv, IN data counted and
// dropped. Pool OUT for other fds (e.g. the close of a replaced socket) is
// dropped. Uses only cp_poll / cc_poll.
Moved pump(connection_pool *cp, connection *c, int fd);

// Completes the handshake of a fresh client (cc_open) on socket `fd` and
// returns the new session's id, or 0 on failure. Turns pool events on for the
// duration to learn the id, and off again.
int establish(connection_pool *cp, connection *c, int fd);

// A fixed pattern to send; `n` bytes are readable from the result.
const char *payload(size_t n);

}  // namespace bench

#endif
