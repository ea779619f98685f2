#include "alloc_hook.h"

#include <malloc.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace alloc_hook {
namespace {

std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_count{0};
std::atomic<int64_t> g_fail_at{0};
std::atomic<bool> g_failed{false};
std::atomic<int> g_armed{0};

void *allocate(size_t n, size_t align = 0) {
  if (g_armed.load(std::memory_order_relaxed) > 0) {
    const int64_t k = ++g_count;
    if (k == g_fail_at.load()) {
      g_failed = true;
      throw std::bad_alloc();
    }
  }
  void *p = nullptr;
  if (align > alignof(std::max_align_t)) {
    if (posix_memalign(&p, align, n ? n : 1) != 0) p = nullptr;
  } else {
    p = std::malloc(n ? n : 1);
  }
  if (!p) throw std::bad_alloc();
  g_live += static_cast<int64_t>(malloc_usable_size(p));
  return p;
}

void release(void *p) noexcept {
  if (!p) return;
  g_live -= static_cast<int64_t>(malloc_usable_size(p));
  std::free(p);
}

}  // namespace

int64_t live_bytes() { return g_live.load(); }
int64_t armed_allocations() { return g_count.load(); }
void reset_count() { g_count = 0; }
void fail_at(int64_t n) {
  g_fail_at = n;
  g_failed = false;
}
bool failed() { return g_failed.load(); }

Armed::Armed() { ++g_armed; }
Armed::~Armed() { --g_armed; }

}  // namespace alloc_hook

void *operator new(size_t n) { return alloc_hook::allocate(n); }
void *operator new[](size_t n) { return alloc_hook::allocate(n); }
void *operator new(size_t n, const std::nothrow_t &) noexcept {
  try {
    return alloc_hook::allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void *operator new[](size_t n, const std::nothrow_t &) noexcept {
  try {
    return alloc_hook::allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void *operator new(size_t n, std::align_val_t al) { return alloc_hook::allocate(n, static_cast<size_t>(al)); }
void *operator new[](size_t n, std::align_val_t al) { return alloc_hook::allocate(n, static_cast<size_t>(al)); }
void operator delete(void *p, std::align_val_t) noexcept { alloc_hook::release(p); }
void operator delete[](void *p, std::align_val_t) noexcept { alloc_hook::release(p); }
void operator delete(void *p, size_t, std::align_val_t) noexcept { alloc_hook::release(p); }
void operator delete[](void *p, size_t, std::align_val_t) noexcept { alloc_hook::release(p); }
void operator delete(void *p) noexcept { alloc_hook::release(p); }
void operator delete[](void *p) noexcept { alloc_hook::release(p); }
void operator delete(void *p, size_t) noexcept { alloc_hook::release(p); }
void operator delete[](void *p, size_t) noexcept { alloc_hook::release(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { alloc_hook::release(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { alloc_hook::release(p); }
