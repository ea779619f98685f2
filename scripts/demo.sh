#!/usr/bin/env bash
# Builds stable-connection (Release, in build/) and runs the reconnect demo:
# a client and a server in one process surviving reconnects with data lost in
# flight.
#
#   bash scripts/demo.sh
#
# Missing build tools are installed with apt-get when run as root; otherwise
# the script stops and prints the command to run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

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

# ---- build and run ----
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2
./build/examples/reconnect_demo
