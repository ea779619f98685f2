#!/usr/bin/env bash
# Builds stable-connection and runs the whole test suite.
#
#   bash scripts/test.sh              # build/, ctest
#   bash scripts/test.sh --sanitize   # build-asan/ with AddressSanitizer + UBSan
#
# Missing build tools are installed with apt-get when run as root; otherwise
# the script stops and prints the command to run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=build
# The fuzz targets build as replay programs and run their seed corpora.
cmake_args=(-DSC_BUILD_FUZZERS=ON)
case "${1:-}" in
  "") ;;
  --sanitize)
    build_dir=build-asan
    cmake_args+=(-DSC_SANITIZE=ON)
    ;;
  *)
    echo "usage: bash scripts/test.sh [--sanitize]" >&2
    exit 2
    ;;
esac

# ---- build dependencies (Debian package names) ----
source scripts/deps.sh
need_build_tools
need_gtest
need_test_tools
install_missing

# ---- build and test ----
cmake -S . -B "$build_dir" "${cmake_args[@]}"
cmake --build "$build_dir" -j2
cd "$build_dir"
ctest --output-on-failure -j2
