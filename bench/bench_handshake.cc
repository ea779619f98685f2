// Handshakes through the public C API, client and server work together in one
// thread: complete new connections, and reconnections (reuse) of one session
// among many.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "benchmarks.h"
#include "common.h"
#include "v1/dh64.h"
#include "v1/hash64.h"
#include "v1/stream_cipher.h"

namespace bench {
namespace {

constexpr int kFd = 7;

// A new session from cc_open to cp_send(id, NULL, 0) and cc_close: the
// client's request, the server's answer, the client's auth code, the close.
// Per side a public key, a shared secret, a hash64 and one keyed cipher state
// (copied for the other direction), which BM_V1HandshakeArithmetic does alone.
// With `fixed_random` the keys and challenge come from a counter-based
// generator instead of getrandom (three system calls per handshake).
void BM_NewHandshake(benchmark::State &state, bool fixed_random) {
  if (fixed_random) use_fixed_random(7);
  connection_pool *cp = cp_new();
  sc_pool_stats before{};
  sc_pool_get_stats(cp, &before, sizeof before);
  // Session ids of a new pool count up from 1 (connectionserver.h contract).
  int next_id = 1;
  bool dead = false;
  const uint64_t allocs0 = allocation_count();
  for (auto _ : state) {
    connection *c = cc_open();
    const Moved m = pump(cp, c, kFd);
    dead |= m.client_dead;
    cp_send(cp, next_id++, nullptr, 0);
    pool_message pm;
    while (cp_poll(cp, &pm) != POOL_EMPTY) {
    }
    cc_close(c);
  }
  const uint64_t allocs = allocation_count() - allocs0;
  sc_pool_stats after{};
  sc_pool_get_stats(cp, &after, sizeof after);
  cp_delete(cp);
  if (fixed_random) use_system_random();
  const uint64_t n = static_cast<uint64_t>(state.iterations());
  if (dead || after.sessions_opened - before.sessions_opened != n ||
      after.closed_by_application - before.closed_by_application != n || after.sessions_open != 0) {
    fail(state, "a handshake did not complete");
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  // Both sides' allocations, the client's own object included.
  state.counters["allocs_per_handshake"] = static_cast<double>(allocs) / static_cast<double>(n);
}

// The arithmetic a version 1 new connection cannot do without, and nothing
// else: per side a public key (from the table of powers of the generator), a
// shared secret (one modular power), the auth code's hash64 (computed by the
// client, checked by the server) and one keyed cipher state (a hash64 and an
// S-box fill). The ceiling of BM_NewHandshake.
void BM_V1HandshakeArithmetic(benchmark::State &state) {
  uint64_t x = 0x9e3779b97f4a7c15ull;
  auto next = [&x] {  // splitmix64
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  uint64_t mismatches = 0;
  for (auto _ : state) {
    const uint64_t a = next(), b = next(), challenge = next();
    const uint64_t client_public = sc::dh64::public_key(a);
    const uint64_t server_public = sc::dh64::public_key(b);
    const uint64_t server_secret = sc::dh64::shared_secret(client_public, b);
    const uint64_t client_secret = sc::dh64::shared_secret(server_public, a);
    const uint64_t code = sc::hash64(challenge, client_secret);
    mismatches += !sc::codes_equal(code, sc::hash64(challenge, server_secret));
    sc::StreamCipher client_cipher(client_secret), server_cipher(server_secret);
    benchmark::DoNotOptimize(client_cipher);
    benchmark::DoNotOptimize(server_cipher);
  }
  if (mismatches) {
    fail(state, "the two sides' secrets differ");
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// N established sessions, each with its own client, that have exchanged a
// little data (the client has received 300 bytes, so it can resume, and its
// reuse request names the 256-byte boundary). Built once per N.
struct ReuseWorld {
  explicit ReuseWorld(int n) : size(n) {
    use_fixed_random(1000 + static_cast<uint64_t>(n));
    cp = cp_new();
    clients.reserve(static_cast<size_t>(n));
    fds.reserve(static_cast<size_t>(n));
    for (int k = 0; k < n && ok; ++k) {
      connection *c = cc_open();
      const int fd = fd_pair(k);
      const int id = establish(cp, c, fd);
      clients.push_back(c);
      fds.push_back(fd);
      if (id == 0) {
        ok = false;
        break;
      }
      cp_send(cp, id, payload(300), 300);
      cc_send(c, payload(64), 64);
      const Moved m = pump(cp, c, fd);
      if (m.to_client != 300 || m.to_pool != 64) ok = false;
    }
    use_system_random();
  }
  ~ReuseWorld() {
    for (connection *c : clients) cc_close(c);
    cp_delete(cp);
  }
  ReuseWorld(const ReuseWorld &) = delete;
  ReuseWorld &operator=(const ReuseWorld &) = delete;

  // Session k alternates between two socket numbers of its own.
  static int fd_pair(int k) { return 16 + 2 * k; }

  int size;
  bool ok = true;
  connection_pool *cp = nullptr;
  std::vector<connection *> clients;
  std::vector<int> fds;
  uint64_t cursor = 0;
};

std::unique_ptr<ReuseWorld> g_world;

ReuseWorld &world(int n) {
  if (!g_world || g_world->size != n) {
    g_world.reset();
    g_world = std::make_unique<ReuseWorld>(n);
  }
  return *g_world;
}

// One reconnection per iteration: the client of session k calls cc_handshake
// for a new socket, and the exchange runs until the pool has resumed the
// session on it (and closed the old socket). k rotates over all sessions with
// a large stride, so consecutive lookups land far apart in every table.
//
// A reuse request names a session only by a 32-bit fingerprint at a 256-byte
// boundary (docs/PROTOCOL.md section 4). Among 100k sessions at the same position a few
// share a fingerprint with another one; the pool can then pick the wrong
// session and the auth code does not verify. Such refusals are counted
// ("refused" is the fraction of iterations), not treated as errors: the
// figure is what a pool of that size really does.
void BM_ReuseHandshake(benchmark::State &state) {
  const int n = static_cast<int>(state.range(0));
  ReuseWorld &w = world(n);
  if (!w.ok) {
    fail(state, "setup failed");
    return;
  }
  const uint64_t stride = 7919;  // prime, coprime with every N used
  sc_pool_stats before{};
  sc_pool_get_stats(w.cp, &before, sizeof before);
  bool dead = false;
  for (auto _ : state) {
    const size_t k = static_cast<size_t>((w.cursor++ * stride) % static_cast<uint64_t>(n));
    connection *c = w.clients[k];
    const int fd = w.fds[k] ^ 1;
    w.fds[k] = fd;
    cc_handshake(c);
    const Moved m = pump(w.cp, c, fd);
    dead |= m.client_dead;
    // Refused: the pool closed the new socket and the session stays on the old.
    if (m.fd_closed) w.fds[k] = fd ^ 1;
  }
  sc_pool_stats after{};
  sc_pool_get_stats(w.cp, &after, sizeof after);
  const uint64_t iterations = static_cast<uint64_t>(state.iterations());
  const uint64_t resumed = after.reuses - before.reuses;
  const uint64_t refused = (after.refused_bad_auth - before.refused_bad_auth) +
                           (after.refused_unknown_session - before.refused_unknown_session) +
                           (after.refused_window_exceeded - before.refused_window_exceeded);
  if (dead || resumed + refused != iterations || refused * 100 > iterations) {
    fail(state, "reuse handshakes failed");
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(iterations));
  state.counters["sessions"] = n;
  state.counters["refused"] = static_cast<double>(refused) / static_cast<double>(iterations);
}

// The pool's side of a reuse request alone: the 12-byte request of session k
// arrives on a new socket, the pool finds the session and answers, and the
// socket goes away (an abandoned attempt, which leaves the session as it was).
// No client state is touched, so this is the lookup the pool does per
// reconnection; its cost should not depend on how many sessions there are.
struct LookupWorld {
  explicit LookupWorld(int n) : size(n) {
    ReuseWorld sessions(n);
    ok = sessions.ok;
    std::swap(cp, sessions.cp);  // keep the pool, let the clients go
    std::vector<std::string> by_session(static_cast<size_t>(n));
    for (int k = 0; k < n && ok; ++k) {
      connection *c = sessions.clients[static_cast<size_t>(k)];
      cc_handshake(c);
      connection_message m;
      std::string &request = by_session[static_cast<size_t>(k)];
      for (int t; (t = cc_poll(c, &m)) != MESSAGE_EMPTY;)
        if (t == MESSAGE_OUT) request.append(m.buffer, static_cast<size_t>(m.sz));
      if (request.size() != kRequestSize) ok = false;
    }
    // Laid out in the order the loop visits the sessions: a request arrives
    // in a buffer the server has just read into, so its bytes are in the
    // caches; read in session order, 100k requests (1.2 MB) visited with a
    // large stride would add a miss of the benchmark's own to every lookup.
    for (int i = 0; i < n && ok; ++i) requests += by_session[visit(i, n)];
  }
  static size_t visit(uint64_t i, int n) { return static_cast<size_t>((i * kStride) % static_cast<uint64_t>(n)); }
  ~LookupWorld() { cp_delete(cp); }
  LookupWorld(const LookupWorld &) = delete;
  LookupWorld &operator=(const LookupWorld &) = delete;

  int size;
  bool ok = true;
  static constexpr size_t kRequestSize = 12;
  static constexpr uint64_t kStride = 7919;  // prime, coprime with every N used
  connection_pool *cp = nullptr;
  std::string requests;  // kRequestSize bytes per visit, back to back
  uint64_t cursor = 0;
};

std::unique_ptr<LookupWorld> g_lookup;

void BM_ReuseLookup(benchmark::State &state) {
  const int n = static_cast<int>(state.range(0));
  if (!g_lookup || g_lookup->size != n) {
    g_world.reset();
    g_lookup.reset();
    g_lookup = std::make_unique<LookupWorld>(n);
  }
  LookupWorld &w = *g_lookup;
  if (!w.ok) {
    fail(state, "setup failed");
    return;
  }
  const int fd = 3;  // every attempt uses a fresh socket that then closes
  size_t answered = 0;
  for (auto _ : state) {
    const size_t i = static_cast<size_t>(w.cursor++ % static_cast<uint64_t>(n));
    cp_recv(w.cp, fd, w.requests.data() + i * LookupWorld::kRequestSize, LookupWorld::kRequestSize);
    pool_message m;
    for (int t; (t = cp_poll(w.cp, &m)) != POOL_EMPTY;)
      if (t == POOL_OUT && m.sz == 16) ++answered;
    cp_recv(w.cp, fd, nullptr, 0);
  }
  const uint64_t iterations = static_cast<uint64_t>(state.iterations());
  // A request whose fingerprint another session shares is still answered.
  if (answered != iterations) {
    fail(state, "a reuse request was not answered");
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(iterations));
  state.counters["sessions"] = n;
}

#ifdef SC_WITH_V2
// X25519 operations a version 2 handshake needs, both sides together:
// a new session 3 + 3 (the client's ephemeral key, es, ee; the server's es,
// its ephemeral key, ee), a resume 2 + 2 (each side's ephemeral key, ee).
constexpr double kX25519PerNew = 6, kX25519PerResume = 4;

// The ceiling of a handshake benchmark is measured in its loop: after every
// kSliceHandshakes handshakes, as many bare operations as they needed, with
// the benchmark's timer paused. On a shared machine the rate of the same
// arithmetic drifts by tens of percent within a run, even between 0.1 s
// just before a loop and 0.1 s just after it; interleaved, the handshakes
// and their ceiling see the same machine.
constexpr int kSliceHandshakes = 16;

class Interleaved {
 public:
  explicit Interleaved(double per_handshake) : per_handshake_(per_handshake) {}
  bool ok() const { return bare_.ok(); }
  void start() { t_ = thread_cpu_seconds(); }
  // After each handshake (inside the benchmark's loop).
  void handshake_done(benchmark::State &state) {
    if (++in_slice_ < kSliceHandshakes) return;
    const double t = thread_cpu_seconds();
    seconds_ += t - t_;
    state.PauseTiming();
    const int ops = static_cast<int>(per_handshake_) * in_slice_;
    for (int k = 0; k < ops; ++k) bare_.derive();
    const double t2 = thread_cpu_seconds();
    bare_seconds_ += t2 - t;
    bare_ops_ += static_cast<uint64_t>(ops);
    in_slice_ = 0;
    state.ResumeTiming();
    t_ = thread_cpu_seconds();
  }
  void stop() { seconds_ += thread_cpu_seconds() - t_; }

  void report(benchmark::State &state) const {
    const uint64_t n = static_cast<uint64_t>(state.iterations());
    state.SetItemsProcessed(static_cast<int64_t>(n));
    if (seconds_ <= 0) return;
    const double rate = static_cast<double>(n) / seconds_;
    state.counters["ratio_to_x25519"] = rate / (x25519_rate() / per_handshake_);
    if (bare_.ok() && bare_seconds_ > 0) {
      const double bare = static_cast<double>(bare_ops_) / bare_seconds_;
      state.counters["bare_x25519_beside"] = bare;
      state.counters["ratio_to_bare_x25519"] = rate / (bare / per_handshake_);
    }
  }

 private:
  const double per_handshake_;
  BareX25519 bare_;
  int in_slice_ = 0;
  double t_ = 0, seconds_ = 0, bare_seconds_ = 0;
  uint64_t bare_ops_ = 0;
};

// A new version 2 session from sc_client_open_v2 to its first record (the
// client's ACK, which confirms it), then cp_send(id, NULL, 0) and cc_close.
// The keys come from the fixed generator: the figure is the handshake's
// own work, as the X25519 ceiling is.
void BM_V2NewHandshake(benchmark::State &state) {
  use_fixed_random(77);
  connection_pool *cp = cp_new();
  sc_pool_set_static_key(cp, v2_private_key());
  int next_id = 1;
  bool dead = false;
  Interleaved timing(kX25519PerNew);
  timing.start();
  for (auto _ : state) {
    connection *c = open_v2_client();
    const Moved m = pump(cp, c, kFd);
    dead |= m.client_dead || c == nullptr;
    cp_send(cp, next_id++, nullptr, 0);
    pool_message pm;
    while (cp_poll(cp, &pm) != POOL_EMPTY) {
    }
    cc_close(c);
    timing.handshake_done(state);
  }
  timing.stop();
  sc_pool_stats st{};
  sc_pool_get_stats(cp, &st, sizeof st);
  cp_delete(cp);
  use_system_random();
  const uint64_t n = static_cast<uint64_t>(state.iterations());
  if (dead || st.sessions_opened_v2 != n || st.closed_by_application != n || st.sessions_open != 0) {
    fail(state, "a version 2 handshake did not complete");
    return;
  }
  timing.report(state);
}

// One version 2 session resumed on a new socket per iteration, until its
// first record has moved it (and the old socket is closed).
void BM_V2ResumeHandshake(benchmark::State &state) {
  use_fixed_random(78);
  connection_pool *cp = cp_new();
  sc_pool_set_static_key(cp, v2_private_key());
  connection *c = open_v2_client();
  int fd = 16;
  const int id = c ? establish(cp, c, fd) : 0;
  if (id == 0) {
    cc_close(c);
    cp_delete(cp);
    use_system_random();
    fail(state, "setup failed");
    return;
  }
  cp_send(cp, id, payload(300), 300);
  pump(cp, c, fd);
  sc_pool_stats before{};
  sc_pool_get_stats(cp, &before, sizeof before);
  bool dead = false;
  Interleaved timing(kX25519PerResume);
  timing.start();
  for (auto _ : state) {
    fd ^= 1;
    cc_handshake(c);
    const Moved m = pump(cp, c, fd);
    dead |= m.client_dead || m.fd_closed;
    timing.handshake_done(state);
  }
  timing.stop();
  sc_pool_stats after{};
  sc_pool_get_stats(cp, &after, sizeof after);
  cc_close(c);
  cp_delete(cp);
  use_system_random();
  if (dead || after.reuses_v2 - before.reuses_v2 != static_cast<uint64_t>(state.iterations())) {
    fail(state, "a version 2 resume failed");
    return;
  }
  timing.report(state);
}
#endif

}  // namespace

void register_handshake_benchmarks() {
  benchmark::RegisterBenchmark("BM_V1HandshakeArithmetic", BM_V1HandshakeArithmetic);
  benchmark::RegisterBenchmark("BM_NewHandshake", BM_NewHandshake, false);
  benchmark::RegisterBenchmark("BM_NewHandshakeFixedRandom", BM_NewHandshake, true);
  benchmark::RegisterBenchmark("BM_ReuseHandshake", BM_ReuseHandshake)->Arg(1000)->Arg(10000)->Arg(100000);
  benchmark::RegisterBenchmark("BM_ReuseLookup", BM_ReuseLookup)->Arg(1000)->Arg(10000)->Arg(100000);
#ifdef SC_WITH_V2
  benchmark::RegisterBenchmark("BM_V2NewHandshake", BM_V2NewHandshake);
  benchmark::RegisterBenchmark("BM_V2ResumeHandshake", BM_V2ResumeHandshake);
#endif
}

void release_handshake_state() {
  g_world.reset();
  g_lookup.reset();
}

}  // namespace bench
