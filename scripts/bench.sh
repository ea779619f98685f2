#!/usr/bin/env bash
# Builds the benchmark suite (Release, in build-bench/), runs it, and
# regenerates the results table of docs/PERFORMANCE.md from its JSON output.
#
#   bash scripts/bench.sh                 # full run, rewrites the table
#   bash scripts/bench.sh FLAGS...        # any Google Benchmark flags, e.g.
#                                         # --benchmark_filter=Bulk; the
#                                         # document is left alone
#
# The full run takes four to eight minutes on two cores. Missing build
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
source scripts/deps.sh
need_build_tools
need_file /usr/include/benchmark/benchmark.h libbenchmark-dev
need_file "/usr/lib/*/cmake/benchmark/benchmarkConfig.cmake" libbenchmark-dev
# Only the table generator needs Python.
[ "$full_run" = no ] || need_command python3 python3
install_missing

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
