#!/usr/bin/env bash
# Builds the fuzz targets with clang + libFuzzer + ASan/UBSan in build-fuzz/
# and runs each one for a while, starting from seed corpora made from the
# recorded sessions.
#
#   bash scripts/fuzz.sh            # 60 seconds per target
#   bash scripts/fuzz.sh 3600       # an hour per target
#   bash scripts/fuzz.sh 60 -jobs=2 -workers=2   # extra flags go to libFuzzer
#
# Crashes are written to build-fuzz/crashes/<target>/; replay one with
#   build-fuzz/fuzz/<target> <file>
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-60}"
shift || true

source scripts/deps.sh
need_build_tools
need_command clang++ clang
need_file "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" libclang-rt-dev
install_missing

CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSC_BUILD_FUZZERS=ON -DSC_SANITIZE=ON -DSC_BUILD_TESTS=OFF -DSC_BUILD_EXAMPLES=OFF
cmake --build build-fuzz -j2 --target server_fuzzer client_fuzzer api_fuzzer fuzz_seeds

status=0
for target in server_fuzzer client_fuzzer api_fuzzer; do
  corpus="build-fuzz/corpus/$target"
  crashes="build-fuzz/crashes/$target"
  mkdir -p "$corpus" "$crashes"
  cp -n build-fuzz/fuzz/seeds/"$target"/* "$corpus"/ 2>/dev/null || true
  cp -n fuzz/regressions/"$target"/* "$corpus"/ 2>/dev/null || true
  echo "== $target: ${seconds}s"
  log="build-fuzz/$target.log"
  if ! ./build-fuzz/fuzz/"$target" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$crashes/" "$@" "$corpus" >"$log" 2>&1; then
    echo "$target FAILED; see $log and $crashes" >&2
    tail -n 40 "$log" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" "$log" | tail -n 3
done
exit "$status"
