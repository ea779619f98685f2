#!/usr/bin/env bash
# Builds the benchmark suite (Release, in build-bench/), runs it, and
# regenerates the results table of docs/PERFORMANCE.md from its JSON output.
#
#   bash scripts/bench.sh                 # full run, rewrites the table
#   bash scripts/bench.sh FLAGS...        # any Google Benchmark flags, e.g.
#                                         # --benchmark_filter=Bulk; the
#                                         # document is left alone
#
# The full run takes about a minute and a half on two cores. Missing build
# tools are installed with apt-get when run as root; otherwise the script stops
# and prints the command to run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# SC_BENCH_BUILD_DIR overrides the build directory.
build_dir=${SC_BENCH_BUILD_DIR:-build-bench}
json="$build_dir/bench.json"
full_run=yes
[ "$#" -eq 0 ] || full_run=no

# ---- dependencies (Debian package names) ----
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
{ command -v g++ >/dev/null 2>&1 || command -v c++ >/dev/null 2>&1; } || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
[ -f /usr/include/md5.h ] || missing+=(libmd-dev)
benchmark_config=no
for f in /usr/lib/*/cmake/benchmark/benchmarkConfig.cmake /usr/lib/cmake/benchmark/benchmarkConfig.cmake; do
  if [ -f "$f" ]; then benchmark_config=yes; fi
done
if [ ! -f /usr/include/benchmark/benchmark.h ] || [ "$benchmark_config" = no ]; then
  missing+=(libbenchmark-dev)
fi
# Only the table generator needs Python.
if [ "$full_run" = yes ] && ! command -v python3 >/dev/null 2>&1; then
  missing+=(python3)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  install=(apt-get install -y --no-install-recommends "${missing[@]}")
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing dependencies: ${missing[*]}" >&2
    echo "install them as root with:" >&2
    echo "  ${install[*]}" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  "${install[@]}"
fi

# ---- build ----
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DSC_BUILD_BENCH=ON \
  -DSC_BUILD_TESTS=OFF -DSC_BUILD_EXAMPLES=OFF
cmake --build "$build_dir" --target sc_bench -j"$(nproc 2>/dev/null || echo 2)"

# ---- run ----
if [ "$full_run" = no ]; then
  exec "$build_dir/bench/sc_bench" "$@"
fi
# Three repetitions of each timed benchmark; the table uses the medians.
rm -f "$json"
status=0
"$build_dir/bench/sc_bench" \
  --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true \
  --benchmark_out="$json" \
  --benchmark_out_format=json || status=$?

# ---- report ----
# A benchmark that failed shows as "not measured" in the table; the script
# still exits nonzero.
if [ -s "$json" ]; then
  python3 scripts/perf_table.py "$json" docs/PERFORMANCE.md
  echo "results: $json; table: docs/PERFORMANCE.md"
fi
if [ "$status" -ne 0 ]; then
  echo "the benchmark run failed (exit status $status)" >&2
fi
exit "$status"
