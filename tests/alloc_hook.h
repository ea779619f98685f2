// Replaces the global operator new/delete of the test binary that includes
// alloc_hook.cc: counts live heap bytes and allocations made while "armed",
// and can make the n-th armed allocation throw std::bad_alloc (in the style of
// a failmalloc test).
#ifndef SC_TESTS_ALLOC_HOOK_H
#define SC_TESTS_ALLOC_HOOK_H

#include <cstddef>
#include <cstdint>

namespace alloc_hook {

// Heap bytes currently allocated through operator new (whole process).
int64_t live_bytes();
// Allocations made while armed since the last reset_count().
int64_t armed_allocations();
void reset_count();

// Allocation number `n` (1-based, counted while armed) throws; 0 disables.
void fail_at(int64_t n);
// True once the planned failure happened.
bool failed();

// Counts (and may fail) allocations while an Armed object lives.
class Armed {
 public:
  Armed();
  ~Armed();
  Armed(const Armed &) = delete;
  Armed &operator=(const Armed &) = delete;
};

}  // namespace alloc_hook

#endif
