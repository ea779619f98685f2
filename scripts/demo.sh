#!/usr/bin/env bash
# Builds stable-connection (Release, in build/) and runs the TCP demo: a server
# and 8 clients on 127.0.0.1 streaming data both ways while their sockets are
# broken every ~50 ms per client; every byte is verified.
#
#   bash scripts/demo.sh                 # the default run
#   bash scripts/demo.sh --seed 1234     # options go to build/examples/stable_demo
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
exec ./build/examples/stable_demo "$@"
