// Resource failures (no memory, no kernel randomness, no free session id) are
// the only errors the core reports by exception: normal operation, including
// every bad input, never throws. The C shim turns them into the C convention.
//
// Built with -fno-exceptions (as game engines often are), there is nothing to
// catch: the SC_TRY blocks simply run, and a resource failure ends the process
// the way the standard library's own allocation failures do there.
#ifndef SC_BASE_FAILURE_H
#define SC_BASE_FAILURE_H

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define SC_HAS_EXCEPTIONS 1
#define SC_TRY try
#define SC_CATCH_ALL catch (...)
#define SC_RETHROW throw
#else
#define SC_HAS_EXCEPTIONS 0
#define SC_TRY if (true)
#define SC_CATCH_ALL else
#define SC_RETHROW ((void)0)
#endif

namespace sc {

// Throws std::runtime_error(what), or prints `what` and aborts without
// exceptions.
[[noreturn]] void resource_failure(const char *what);

}  // namespace sc

#endif
