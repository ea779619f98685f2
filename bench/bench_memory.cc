// Memory: heap bytes (mallinfo2 deltas, malloc headers included) and resident
// bytes (/proc/self/statm deltas) per pool, per client and per session. Each
// figure is an average over many objects, so that allocator caches and page
// granularity wash out. The times these benchmarks report mean nothing.
#include <malloc.h>

#include <vector>

#include "benchmarks.h"
#include "common.h"

namespace bench {
namespace {

// Frees what the allocator holds on to, then takes the baseline.
struct Probe {
  Probe() {
    malloc_trim(0);
    heap = heap_in_use();
    rss = resident_bytes();
  }
  size_t heap;
  size_t rss;
};

double per(size_t before, size_t after, size_t count) {
  return (static_cast<double>(after) - static_cast<double>(before)) / static_cast<double>(count);
}

void set_counters(benchmark::State &state, const Probe &before, const Probe &after, size_t count) {
  state.counters["heap_bytes"] = per(before.heap, after.heap, count);
  state.counters["rss_bytes"] = per(before.rss, after.rss, count);
  state.counters["objects"] = static_cast<double>(count);
}

void BM_MemoryPoolNew(benchmark::State &state) {
  constexpr size_t kPools = 1024;
  for (auto _ : state) {
    std::vector<connection_pool *> pools(kPools, nullptr);
    const Probe before;
    for (auto &cp : pools) cp = cp_new();
    const Probe after;
    set_counters(state, before, after, kPools);
    for (auto *cp : pools) cp_delete(cp);
  }
}

void BM_MemoryClientOpen(benchmark::State &state) {
  constexpr size_t kClients = 1024;
  use_fixed_random(3);
  for (auto _ : state) {
    std::vector<connection *> clients(kClients, nullptr);
    const Probe before;
    for (auto &c : clients) c = cc_open();
    const Probe after;
    set_counters(state, before, after, kClients);
    for (auto *c : clients) cc_close(c);
  }
  use_system_random();
}

enum class SessionShape { kIdleAttached, kIdleDetached, kFullWindow, kSentOneMiB };

// Sessions on one pool, each opened by its own client, which is closed once
// the session is in the wanted shape: only the pool's memory remains.
//   idle: 64 bytes each way, then nothing (attached, or its socket gone);
//   full window: twice the window sent server -> client, so the session holds
//   a full window for resending (version 1);
//   sent 1 MiB: 1 MiB server -> client, all of it acknowledged (version 2).
// `version` 2: the pool has a key and the clients speak version 2.
void BM_MemorySession(benchmark::State &state, SessionShape shape, int version, size_t count) {
  use_fixed_random(11);
  for (auto _ : state) {
    connection_pool *cp = cp_new();
#ifdef SC_WITH_V2
    if (version == 2) sc_pool_set_static_key(cp, v2_private_key());
#endif
    const Probe before;
    bool ok = true;
    for (size_t k = 0; k < count && ok; ++k) {
      const int fd = 16 + static_cast<int>(k);
#ifdef SC_WITH_V2
      connection *c = version == 2 ? open_v2_client() : cc_open();
#else
      connection *c = cc_open();
#endif
      const int id = establish(cp, c, fd);
      if (id == 0) ok = false;
      if (shape == SessionShape::kFullWindow) {
        constexpr size_t kPiece = 4096;
        for (size_t sent = 0; sent < 2 * SC_DEFAULT_WINDOW; sent += kPiece) {
          cp_send(cp, id, payload(kPiece), kPiece);
          pump(cp, c, fd);
        }
      } else if (shape == SessionShape::kSentOneMiB) {
        constexpr size_t kPiece = 16384;
        size_t got = 0;
        for (size_t sent = 0; sent < (size_t{1} << 20); sent += kPiece) {
          cp_send(cp, id, payload(kPiece), kPiece);
          got += pump(cp, c, fd).to_client;
        }
        if (got != (size_t{1} << 20)) ok = false;
      } else {
        cp_send(cp, id, payload(64), 64);
        cc_send(c, payload(64), 64);
        const Moved m = pump(cp, c, fd);
        if (m.to_client != 64 || m.to_pool != 64) ok = false;
      }
      cc_close(c);
      if (shape == SessionShape::kIdleDetached) cp_recv(cp, fd, nullptr, 0);
    }
    const Probe after;
    sc_pool_stats st{};
    sc_pool_get_stats(cp, &st, sizeof st);
    cp_delete(cp);
    if (!ok || st.sessions_open != count) {
      fail(state, "setup failed");
      break;
    }
    set_counters(state, before, after, count);
    state.counters["held_bytes"] = static_cast<double>(st.bytes_held) / static_cast<double>(count);
  }
  use_system_random();
}

}  // namespace

void register_memory_benchmarks() {
  benchmark::RegisterBenchmark("BM_MemoryPoolNew", BM_MemoryPoolNew)->Iterations(1)->Repetitions(1);
  benchmark::RegisterBenchmark("BM_MemoryClientOpen", BM_MemoryClientOpen)->Iterations(1)->Repetitions(1);
  struct Shape {
    const char *name;
    SessionShape shape;
    int version;
    size_t count;
  };
  // 10,000 sessions of each kind; a full window also with few sessions, where
  // the pool's tables are small.
  const Shape shapes[] = {
      {"BM_MemorySessionIdleAttached", SessionShape::kIdleAttached, 1, 10000},
      {"BM_MemorySessionIdleDetached", SessionShape::kIdleDetached, 1, 10000},
      {"BM_MemorySessionFullWindow", SessionShape::kFullWindow, 1, 64},
      {"BM_MemorySessionFullWindow10k", SessionShape::kFullWindow, 1, 10000},
#ifdef SC_WITH_V2
      {"BM_V2MemorySessionIdleAttached", SessionShape::kIdleAttached, 2, 10000},
      {"BM_V2MemorySessionIdleDetached", SessionShape::kIdleDetached, 2, 10000},
      {"BM_V2MemorySessionSentOneMiB", SessionShape::kSentOneMiB, 2, 256},
      {"BM_V2MemorySessionSentOneMiB10k", SessionShape::kSentOneMiB, 2, 10000},
#endif
  };
  for (const Shape &sh : shapes)
    benchmark::RegisterBenchmark(sh.name, BM_MemorySession, sh.shape, sh.version, sh.count)
        ->Iterations(1)
        ->Repetitions(1);
}

}  // namespace bench
