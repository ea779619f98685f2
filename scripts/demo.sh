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
source scripts/deps.sh
need_build_tools
need_gtest
install_missing

# ---- build and run ----
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2
exec ./build/examples/stable_demo "$@"
