// Established sessions moving application data through the public C API, one
// client and one pool in the same process:
//   server -> client: cp_send -> cp_poll -> cc_recv -> cc_poll
//   client -> server: cc_send -> cc_poll -> cp_recv -> cp_poll
#include <cstdint>

#include "benchmarks.h"
#include "common.h"

namespace bench {
namespace {

constexpr int kFd = 7;
// Data pushed through before timing, so that resend buffers and fingerprint
// tables have reached their steady-state size (twice the default window).
constexpr size_t kWarmupBytes = 2 * SC_DEFAULT_WINDOW;
constexpr int kBatch = 32;  // small messages sent between two polls

enum class Direction { kToClient, kToServer };

// One established session with its client, of protocol version 1 or 2.
class Link {
 public:
  explicit Link(int version = 1) {
    use_fixed_random(42);
    cp_ = cp_new();
#ifdef SC_WITH_V2
    if (version == 2) {
      if (cp_ && sc_pool_set_static_key(cp_, v2_private_key()) == SC_OK) c_ = open_v2_client();
    } else {
      c_ = cc_open();
    }
#else
    (void)version;
    c_ = cc_open();
#endif
    id_ = (cp_ && c_) ? establish(cp_, c_, kFd) : 0;
    use_system_random();
  }
  ~Link() {
    cc_close(c_);
    cp_delete(cp_);
  }
  Link(const Link &) = delete;
  Link &operator=(const Link &) = delete;

  bool ok() const { return id_ != 0; }

  // Sends n bytes one way and delivers them; returns the bytes delivered.
  size_t send(Direction d, const char *data, size_t n) {
    if (d == Direction::kToClient)
      cp_send(cp_, id_, data, n);
    else
      cc_send(c_, data, n);
    return deliver(d);
  }
  void queue(Direction d, const char *data, size_t n) {
    if (d == Direction::kToClient)
      cp_send(cp_, id_, data, n);
    else
      cc_send(c_, data, n);
  }
  size_t deliver(Direction d) {
    const Moved m = pump(cp_, c_, kFd);
    return d == Direction::kToClient ? m.to_client : m.to_pool;
  }
  void warm_up(Direction d, size_t message) {
    for (size_t done = 0; done < kWarmupBytes; done += message) send(d, payload(message), message);
  }

  connection_pool *pool() { return cp_; }
  connection *client() { return c_; }
  int id() const { return id_; }

 private:
  connection_pool *cp_ = nullptr;
  connection *c_ = nullptr;
  int id_ = 0;
};

// Bulk: one message of state.range(0) bytes per iteration, sent and delivered.
template <Direction D, int V>
void BM_Bulk(benchmark::State &state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Link link(V);
  if (!link.ok()) {
    fail(state, "handshake failed");
    return;
  }
  link.warm_up(D, n);
  const char *data = payload(n);
  uint64_t delivered = 0;
  const StreamCeilings before = stream_ceilings(V, n, beside_seconds(state));
  const uint64_t allocs0 = allocation_count();
  const double t0 = thread_cpu_seconds();
  for (auto _ : state) delivered += link.send(D, data, n);
  const double seconds = thread_cpu_seconds() - t0;
  const uint64_t allocs = allocation_count() - allocs0;
  const StreamCeilings beside = average(before, stream_ceilings(V, n, beside_seconds(state)));
  const uint64_t messages = static_cast<uint64_t>(state.iterations());
  if (delivered != messages * n) {
    fail(state, "bytes lost");
    return;
  }
#ifdef SC_WITH_V2
  if (V == 2) {
    report_stream_v2(state, seconds, delivered, messages, allocs, n, &beside);
    return;
  }
#endif
  report_stream(state, seconds, delivered, messages, allocs, &beside);
}

// Small messages: kBatch messages of 64 bytes queued, then one delivery, as an
// application that writes several messages per turn of its event loop.
template <Direction D, int V>
void BM_SmallMessages(benchmark::State &state) {
  const size_t n = 64;
  Link link(V);
  if (!link.ok()) {
    fail(state, "handshake failed");
    return;
  }
  link.warm_up(D, n);
  const char *data = payload(n);
  auto batch = [&] {
    for (int k = 0; k < kBatch; ++k) link.queue(D, data, n);
    return link.deliver(D);
  };
  // A few batches first, so that buffers have grown to the batch's size.
  for (int k = 0; k < 16; ++k) batch();
  uint64_t delivered = 0;
  const uint64_t allocs0 = allocation_count();
  const double t0 = thread_cpu_seconds();
  for (auto _ : state) delivered += batch();
  const double seconds = thread_cpu_seconds() - t0;
  const uint64_t allocs = allocation_count() - allocs0;
  const uint64_t messages = static_cast<uint64_t>(state.iterations()) * kBatch;
  if (delivered != messages * n) {
    fail(state, "bytes lost");
    return;
  }
#ifdef SC_WITH_V2
  if (V == 2) {
    // One record carries the batch: compare with a seal of its size.
    report_stream_v2(state, seconds, delivered, messages, allocs, n * kBatch);
    return;
  }
#endif
  report_stream(state, seconds, delivered, messages, allocs);
}

// Echo: the client sends 64 bytes, the server sends them back as soon as it
// reads them, the client reads the answer. Items are round trips; each moves
// two messages (allocs_per_message counts both).
template <int V>
void BM_Echo64(benchmark::State &state) {
  const size_t n = 64;
  Link link(V);
  if (!link.ok()) {
    fail(state, "handshake failed");
    return;
  }
  link.warm_up(Direction::kToClient, 1024);
  link.warm_up(Direction::kToServer, 1024);
  connection_pool *cp = link.pool();
  connection *c = link.client();
  const int id = link.id();
  const char *data = payload(n);
  auto round_trip = [&] {
    uint64_t got = 0;
    cc_send(c, data, n);
    connection_message cm;
    pool_message pm;
    while (cc_poll(c, &cm) == MESSAGE_OUT) cp_recv(cp, kFd, cm.buffer, static_cast<size_t>(cm.sz));
    for (int r; (r = cp_poll(cp, &pm)) != POOL_EMPTY;) {
      if (r == POOL_IN)
        cp_send(cp, id, pm.buffer, pm.sz);
      else if (pm.id == kFd && pm.sz > 0)
        cc_recv(c, pm.buffer, pm.sz);
    }
    // (A version 2 client answers data with an ACK record: it goes out too.)
    for (int r; (r = cc_poll(c, &cm)) != MESSAGE_EMPTY;) {
      if (r == MESSAGE_IN) got += static_cast<uint64_t>(cm.sz);
      if (r == MESSAGE_OUT) cp_recv(cp, kFd, cm.buffer, static_cast<size_t>(cm.sz));
    }
    return got;
  };
  for (int k = 0; k < 64; ++k) round_trip();  // buffers settle at this pattern's sizes
  uint64_t echoed = 0;
  const uint64_t allocs0 = allocation_count();
  for (auto _ : state) echoed += round_trip();
  const uint64_t allocs = allocation_count() - allocs0;
  const uint64_t trips = static_cast<uint64_t>(state.iterations());
  if (echoed != trips * n) {
    fail(state, "bytes lost");
    return;
  }
  state.SetItemsProcessed(static_cast<int64_t>(trips));
  state.SetBytesProcessed(static_cast<int64_t>(2 * echoed));
  state.counters["allocs_per_message"] = trips ? static_cast<double>(allocs) / (2.0 * static_cast<double>(trips)) : 0.0;
}

}  // namespace

void register_stream_benchmarks() {
  const int sizes[] = {64, 1024, 4096, 16384, 65536};
  for (int n : sizes) benchmark::RegisterBenchmark("BM_BulkServerToClient", BM_Bulk<Direction::kToClient, 1>)->Arg(n);
  for (int n : sizes) benchmark::RegisterBenchmark("BM_BulkClientToServer", BM_Bulk<Direction::kToServer, 1>)->Arg(n);
  benchmark::RegisterBenchmark("BM_SmallMessagesServerToClient", BM_SmallMessages<Direction::kToClient, 1>);
  benchmark::RegisterBenchmark("BM_SmallMessagesClientToServer", BM_SmallMessages<Direction::kToServer, 1>);
  benchmark::RegisterBenchmark("BM_Echo64", BM_Echo64<1>);
#ifdef SC_WITH_V2
  for (int n : sizes) benchmark::RegisterBenchmark("BM_V2BulkServerToClient", BM_Bulk<Direction::kToClient, 2>)->Arg(n);
  for (int n : sizes) benchmark::RegisterBenchmark("BM_V2BulkClientToServer", BM_Bulk<Direction::kToServer, 2>)->Arg(n);
  benchmark::RegisterBenchmark("BM_V2SmallMessagesServerToClient", BM_SmallMessages<Direction::kToClient, 2>);
  benchmark::RegisterBenchmark("BM_V2SmallMessagesClientToServer", BM_SmallMessages<Direction::kToServer, 2>);
  benchmark::RegisterBenchmark("BM_V2Echo64", BM_Echo64<2>);
#endif
}

}  // namespace bench
