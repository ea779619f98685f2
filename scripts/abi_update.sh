#!/usr/bin/env bash
# Regenerates the committed ABI descriptions in abi/ from fresh builds, after
# an intended change to the sc_* extension API (see abi/README.md).
#
#   bash scripts/abi_update.sh              # abi/stableconn-x86_64.abi and abi/stableconn-i386.abi
#   bash scripts/abi_update.sh x86_64       # one of them (x86_64 or i386)
#
# Builds afresh in build-abi/ and build-abi-i386/ with the settings the
# descriptions assume (gcc, RelWithDebInfo, default options), writes the
# files with the abi_update target and runs the ABI tests against them. Needs
# abigail-tools; for i386 also gcc-multilib, g++-multilib, libmd-dev:i386 and
# libgtest-dev:i386. Review `git diff abi/`: the legacy part (cp_*, cc_*,
# struct pool_message, struct connection_message) must not change.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

archs=("$@")
if [ ${#archs[@]} -eq 0 ]; then
  archs=(x86_64 i386)
fi

for tool in abidw abidiff; do
  if ! command -v "$tool" >/dev/null; then
    echo "$tool not found: apt-get install abigail-tools" >&2
    exit 1
  fi
done

for arch in "${archs[@]}"; do
  case "$arch" in
    x86_64)
      build_dir=build-abi
      extra_args=()
      ;;
    i386)
      build_dir=build-abi-i386
      extra_args=(-DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/linux-i386.cmake)
      ;;
    *)
      echo "usage: bash scripts/abi_update.sh [x86_64|i386]..." >&2
      exit 2
      ;;
  esac
  # A fresh build directory: a kept cache could hold other settings, and
  # CMake forgets the toolchain file when it has to drop a cache for another
  # compiler. gcc: from clang's DWARF 5, libabigail 2.2 cannot tell that the
  # structs behind the handles are private (abi_update then refuses to write).
  rm -rf "$build_dir"
  cmake -S . -B "$build_dir" -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSC_BUILD_TESTS=ON -DSC_BUILD_EXAMPLES=OFF \
    "${extra_args[@]}"
  cmake --build "$build_dir" -j2 --target abi_update
  # Reconfigure: the checks are only registered once a description exists.
  cmake -S . -B "$build_dir" >/dev/null
  cmake --build "$build_dir" -j2 --target stableconn
  (cd "$build_dir" && ctest --output-on-failure -R '^abi_(legacy|whole)$')
done

git status --short -- abi/ || true
