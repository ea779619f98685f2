// Time as the pool sees it: milliseconds from a monotonic clock, or from the
// caller's clock when one was installed (tests, simulations).
#ifndef SC_BASE_CLOCK_H
#define SC_BASE_CLOCK_H

#include <cstdint>

namespace sc {

using ClockFn = uint64_t (*)(void *user_data);

uint64_t monotonic_ms();

class Clock {
 public:
  uint64_t now() const { return fn_ ? fn_(user_data_) : monotonic_ms(); }
  void set(ClockFn fn, void *user_data) {
    fn_ = fn;
    user_data_ = fn ? user_data : nullptr;
  }

 private:
  ClockFn fn_ = nullptr;
  void *user_data_ = nullptr;
};

}  // namespace sc

#endif
