// The benchmark suite of stable-connection. Run through scripts/bench.sh, which
// also turns the JSON output into the table of docs/PERFORMANCE.md; any Google
// Benchmark flag works (--benchmark_filter=..., --benchmark_min_time=...).
#include <benchmark/benchmark.h>
#include <sys/utsname.h>

#include <fstream>
#include <string>

#include "benchmarks.h"
#include "common.h"

namespace {

// The CPU model as /proc/cpuinfo names it, for the report.
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, 10, "model name") == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t start = line.find_first_not_of(" \t", colon + 1);
        return start == std::string::npos ? std::string() : line.substr(start);
      }
    }
  }
  return "unknown";
}

}  // namespace

int main(int argc, char **argv) {
  // The largest payload any benchmark sends, created before anything is timed.
  bench::payload(1 << 17);
  bench::register_memory_benchmarks();
  bench::register_cipher_benchmarks();
  bench::register_stream_benchmarks();
  bench::register_handshake_benchmarks();
  bench::register_scale_benchmarks();
  bench::register_tcp_benchmarks();

  benchmark::AddCustomContext("sc_version", sc_version());
  benchmark::AddCustomContext("cpu_model", cpu_model());
  struct utsname u;
  if (uname(&u) == 0) {
    benchmark::AddCustomContext("kernel", std::string(u.sysname) + " " + u.release + " " + u.machine);
  }
#if defined(__clang__)
  benchmark::AddCustomContext("compiler", "clang " __clang_version__);
#elif defined(__GNUC__)
  benchmark::AddCustomContext("compiler", "gcc " __VERSION__);
#endif
#if defined(NDEBUG)
  benchmark::AddCustomContext("sc_build", "optimised (NDEBUG)");
#else
  benchmark::AddCustomContext("sc_build", "assertions on");
#endif

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  bench::release_handshake_state();
  return bench::any_failed() ? 1 : 0;
}
