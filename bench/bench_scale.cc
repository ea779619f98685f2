// Many sessions at once: each of N version 1 sessions first fills its resend
// window (twice the window sent server -> client), then 4 KiB messages go to
// the sessions in turn, each delivered to its own client. With one session
// this is the bulk benchmark; with 10,000 every message touches a session, a
// resend ring and index entries that are far apart in memory, so the ratio of
// the two rates shows what the pool's size costs.
#include <cstdint>
#include <vector>

#include "benchmarks.h"
#include "common.h"

namespace bench {
namespace {

constexpr size_t kMessage = 4096;

struct Party {
  connection *client = nullptr;
  int fd = 0;
  int id = 0;
};

void BM_ScaleRoundRobin(benchmark::State &state) {
  const size_t count = static_cast<size_t>(state.range(0));
  use_fixed_random(23);
  connection_pool *cp = cp_new();
  std::vector<Party> parties(count);
  bool ok = cp != nullptr;
  for (size_t k = 0; k < count && ok; ++k) {
    Party &p = parties[k];
    p.fd = 16 + static_cast<int>(k);
    p.client = cc_open();
    p.id = p.client ? establish(cp, p.client, p.fd) : 0;
    if (p.id == 0) ok = false;
    size_t got = 0;
    for (size_t sent = 0; ok && sent < 2 * SC_DEFAULT_WINDOW; sent += kMessage) {
      cp_send(cp, p.id, payload(kMessage), kMessage);
      got += pump(cp, p.client, p.fd).to_client;
    }
    if (got != 2 * SC_DEFAULT_WINDOW) ok = false;
  }
  use_system_random();
  if (ok) {
    const char *data = payload(kMessage);
    uint64_t delivered = 0;
    size_t next = 0;
    const StreamCeilings before = stream_ceilings(1, kMessage, beside_seconds(state));
    const uint64_t allocs0 = allocation_count();
    const double t0 = thread_cpu_seconds();
    for (auto _ : state) {
      Party &p = parties[next];
      next = next + 1 == count ? 0 : next + 1;
      cp_send(cp, p.id, data, kMessage);
      delivered += pump(cp, p.client, p.fd).to_client;
    }
    const double seconds = thread_cpu_seconds() - t0;
    const uint64_t allocs = allocation_count() - allocs0;
    const StreamCeilings beside = average(before, stream_ceilings(1, kMessage, beside_seconds(state)));
    const uint64_t messages = static_cast<uint64_t>(state.iterations());
    if (delivered != messages * kMessage)
      fail(state, "bytes lost");
    else
      report_stream(state, seconds, delivered, messages, allocs, &beside);
  } else {
    fail(state, "setup failed");
  }
  for (Party &p : parties) cc_close(p.client);
  cp_delete(cp);
}

}  // namespace

void register_scale_benchmarks() {
  for (int n : {1, 10000}) benchmark::RegisterBenchmark("BM_ScaleRoundRobin", BM_ScaleRoundRobin)->Arg(n)->MinTime(1.0);
}

}  // namespace bench
