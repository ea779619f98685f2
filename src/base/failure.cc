#include "base/failure.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace sc {

void resource_failure(const char *what) {
#if SC_HAS_EXCEPTIONS
  throw std::runtime_error(what);
#else
  std::fprintf(stderr, "stable-connection: %s\n", what);
  std::abort();
#endif
}

}  // namespace sc
