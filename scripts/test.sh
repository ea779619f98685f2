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
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
{ command -v g++ >/dev/null 2>&1 || command -v c++ >/dev/null 2>&1; } || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
gtest_config=no
for f in /usr/lib/*/cmake/GTest/GTestConfig.cmake /usr/lib/cmake/GTest/GTestConfig.cmake; do
  if [ -f "$f" ]; then gtest_config=yes; fi
done
if [ ! -f /usr/include/gtest/gtest.h ] || [ "$gtest_config" = no ]; then
  missing+=(libgtest-dev)
fi
[ -f /usr/include/md5.h ] || missing+=(libmd-dev)
if [ "${#missing[@]}" -gt 0 ]; then
  install=(apt-get install -y --no-install-recommends "${missing[@]}")
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing build dependencies: ${missing[*]}" >&2
    echo "install them as root with:" >&2
    echo "  ${install[*]}" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  "${install[@]}"
fi

# ---- build and test ----
cmake -S . -B "$build_dir" "${cmake_args[@]}"
cmake --build "$build_dir" -j2
cd "$build_dir"
ctest --output-on-failure -j2
