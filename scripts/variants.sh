#!/usr/bin/env bash
# Builds and tests the library the ways mobile and game clients build it:
#
#   bash scripts/variants.sh                 # m32, no-exceptions, clang, libcxx and no-v2, in turn
#   bash scripts/variants.sh m32             # 32-bit x86 (size_t is 4 bytes), build-m32/
#   bash scripts/variants.sh armhf           # 32-bit ARM, run under qemu-user, build-armhf/
#                                            # (on demand: Debian's ARM cross compiler
#                                            # and gcc-multilib cannot be installed
#                                            # together, so installing one removes the other)
#   bash scripts/variants.sh no-exceptions   # -fno-exceptions -fno-rtti, build-noexcept/
#   bash scripts/variants.sh clang           # clang and clang++, OpenSSL without its deprecated
#                                            # functions, build-clang/
#   bash scripts/variants.sh libcxx          # clang++ with -stdlib=libc++, build-libcxx/
#   bash scripts/variants.sh no-v2           # without protocol version 2 (no OpenSSL), build-nov2/
#
# Each builds everything (library, examples, tests) and runs the whole suite.
# The libcxx build leaves out the GoogleTest suites (Debian's GoogleTest is
# built for libstdc++) and runs the rest: the C programs, the exports, ABI and
# visibility checks, the TCP demo, and the installed copy used through
# find_package and pkg-config (--static), whose programs must end up with
# libc++ and not libstdc++.
# Missing packages are installed with apt-get when run as root (the 32-bit
# builds add Debian's i386 or armhf architecture for libmd and GoogleTest).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

variants=("$@")
[ "${#variants[@]}" -gt 0 ] || variants=(m32 no-exceptions clang libcxx no-v2)

source scripts/deps.sh
need_build_tools
need_gtest
need_test_tools
for v in "${variants[@]}"; do
  case "$v" in
    m32) need_i386 ;;
    armhf)
      need_armhf
      if ! command -v arm-linux-gnueabihf-g++ >/dev/null 2>&1 && dpkg -s gcc-multilib >/dev/null 2>&1; then
        echo "note: installing the ARM cross compiler removes gcc-multilib (the m32 build installs it again)" >&2
      fi
      ;;
    clang) need_command clang++ clang ;;
    libcxx) need_libcxx ;;
    no-exceptions | no-v2) ;;
    *)
      echo "unknown variant '$v' (m32, armhf, no-exceptions, clang, libcxx, no-v2)" >&2
      exit 2
      ;;
  esac
done
install_missing

run_variant() {
  local dir="$1"
  shift
  echo "== $dir: $*"
  cmake -S . -B "$dir" "$@"
  cmake --build "$dir" -j2
  (cd "$dir" && ctest --output-on-failure -j2)
}

for v in "${variants[@]}"; do
  case "$v" in
    # The fuzz targets' seed corpora replay as tests too: every bad input the
    # fuzzers start from goes through the 32-bit and the exception-free library.
    m32) run_variant build-m32 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/linux-i386.cmake -DSC_BUILD_FUZZERS=ON -DSC_BUILD_LUA=OFF ;;
    armhf) run_variant build-armhf -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/linux-armhf.cmake -DSC_BUILD_FUZZERS=ON -DSC_BUILD_LUA=OFF ;;
    no-exceptions) run_variant build-noexcept -DSC_NO_EXCEPTIONS=ON -DSC_BUILD_FUZZERS=ON ;;
    # Also built as if libcrypto had no deprecated functions: SHA-256 then
    # goes through EVP, the other way the library has of computing it.
    clang) CC=clang CXX=clang++ run_variant build-clang -DCMAKE_CXX_FLAGS=-DOPENSSL_NO_DEPRECATED ;;
    libcxx) CC=clang CXX=clang++ run_variant build-libcxx -DCMAKE_CXX_FLAGS=-stdlib=libc++ ;;
    # Every version 2 call must then say "not supported", and version 1 work as before.
    no-v2) run_variant build-nov2 -DSC_WITH_V2=OFF -DSC_BUILD_FUZZERS=ON ;;
  esac
done
