// Software prefetch: starts loading the cache line that holds an address,
// without waiting for it. A hint only, correct to drop.
//
// GCC treats __builtin_prefetch as having no effect at all, so a loop whose
// only work is prefetching (one over the lines of a range) is deleted as
// dead code unless something else in it (a division that might trap) keeps
// it alive. On x86 the instruction is therefore written out, which the
// compiler must keep.
#ifndef SC_BASE_PREFETCH_H
#define SC_BASE_PREFETCH_H

#include <cstddef>

namespace sc {

// Bytes one prefetch loads.
constexpr size_t kCacheLine = 64;

inline void prefetch(const void *p) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __asm__ __volatile__("prefetcht0 %0" : : "m"(*static_cast<const char *>(p)));
#elif defined(__GNUC__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

}  // namespace sc

#endif
