#include "base/random.h"

#include <pthread.h>
#include <sys/random.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "base/failure.h"

namespace sc {
namespace {

struct Override {
  RandomFn fn = nullptr;
  void *user_data = nullptr;
};

// The only process-wide mutable state of the library: the random source. Test
// overrides sit behind an atomic flag so the normal path takes no lock.
std::atomic<bool> g_overridden{false};
std::mutex g_mutex;
Override g_override[2];

// Values are read from the kernel a block at a time, one block per thread, so
// a handshake costs no system call. A fork must not hand the child the same
// values as the parent: the generation moves on in the child, and every
// thread's block is discarded when it sees a new generation.
std::atomic<uint64_t> g_generation{1};
std::once_flag g_atfork_once;

struct Block {
  uint64_t generation = 0;
  size_t next = 0;
  uint64_t values[32];
};
thread_local Block t_block;

void refill(Block &b) {
  auto *p = reinterpret_cast<unsigned char *>(b.values);
  size_t got = 0;
  while (got < sizeof b.values) {
    const ssize_t n = getrandom(p + got, sizeof b.values - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      resource_failure("getrandom failed");
    }
  }
  b.next = 0;
}

uint64_t system_random() {
  std::call_once(g_atfork_once, [] {
    pthread_atfork(nullptr, nullptr, [] { g_generation.fetch_add(1); });
  });
  Block &b = t_block;
  const uint64_t generation = g_generation.load(std::memory_order_relaxed);
  if (b.generation != generation || b.next == 32) {
    refill(b);
    b.generation = generation;
  }
  const uint64_t v = b.values[b.next];
  b.values[b.next++] = 0;  // a value is never handed out twice
  return v;
}

}  // namespace

uint64_t random_u64(RandomSide side) {
  if (g_overridden.load(std::memory_order_acquire)) {
    Override o;
    {
      std::lock_guard<std::mutex> lock(g_mutex);
      o = g_override[static_cast<int>(side)];
    }
    if (o.fn) return o.fn(o.user_data);
  }
  return system_random();
}

uint64_t random_nonzero_u64(RandomSide side) {
  for (;;) {
    const uint64_t v = random_u64(side);
    if (v != 0) return v;
  }
}

void random_fill(RandomSide side, uint8_t *p, size_t n) {
  while (n > 0) {
    uint64_t v = random_u64(side);
    for (int k = 0; k < 8 && n > 0; ++k, --n) {
      *p++ = static_cast<uint8_t>(v);
      v >>= 8;
    }
  }
}

void set_random_source(RandomSide side, RandomFn fn, void *user_data) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_override[static_cast<int>(side)] = Override{fn, user_data};
  g_overridden.store(g_override[0].fn != nullptr || g_override[1].fn != nullptr, std::memory_order_release);
}

}  // namespace sc
