#include "random.h"

#include <sys/random.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <stdexcept>

namespace sc {
namespace {

struct Override {
  RandomFn fn = nullptr;
  void *user_data = nullptr;
};

// The only process-wide mutable state of the library: test overrides of the
// random source. The atomic flag keeps the normal path free of the lock.
std::atomic<bool> g_overridden{false};
std::mutex g_mutex;
Override g_override[2];

uint64_t system_random() {
  uint64_t value = 0;
  auto *p = reinterpret_cast<unsigned char *>(&value);
  size_t got = 0;
  while (got < sizeof value) {
    const ssize_t n = getrandom(p + got, sizeof value - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      throw std::runtime_error("getrandom failed");
    }
  }
  return value;
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

void set_random_source(RandomSide side, RandomFn fn, void *user_data) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_override[static_cast<int>(side)] = Override{fn, user_data};
  g_overridden.store(g_override[0].fn != nullptr || g_override[1].fn != nullptr,
                     std::memory_order_release);
}

}  // namespace sc
