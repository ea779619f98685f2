# Sourced by the other scripts: checks for the Debian packages a build needs
# and installs the missing ones with apt-get when running as root; otherwise
# prints the exact apt-get line and stops.
#
#   source scripts/deps.sh
#   need_command cmake cmake          # command name, package
#   need_file /usr/include/md5.h libmd-dev   # path (glob allowed), package
#   need_package build-essential     # an installed Debian package, by name
#   need_build_tools                  # cmake, g++, make, libmd-dev, libssl-dev
#   need_test_tools                   # what the packaging tests use
#   need_i386                         # 32-bit compilers and i386 libraries
#   need_armhf                        # ARM cross compilers, qemu-user, armhf libraries
#   need_libcxx                       # clang with LLVM's libc++ and libc++abi
#   need_deb_tools                    # what building and testing the .debs takes
#   install_missing

sc_missing=()

need_command() {
  command -v "$1" >/dev/null 2>&1 || sc_missing+=("$2")
}

need_file() {
  compgen -G "$1" >/dev/null || sc_missing+=("$2")
}

need_package() {
  dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q ' installed$' || sc_missing+=("$1")
}

need_build_tools() {
  need_command cmake cmake
  { command -v g++ >/dev/null 2>&1 || command -v c++ >/dev/null 2>&1; } || sc_missing+=(g++)
  need_command make make
  need_file /usr/include/md5.h libmd-dev
  need_file /usr/include/openssl/evp.h libssl-dev
}

need_gtest() {
  need_file /usr/include/gtest/gtest.h libgtest-dev
  need_file "/usr/lib/*/cmake/GTest/GTestConfig.cmake" libgtest-dev
}

# The packaging tests: pkg-config for the consumer project, abidiff for the
# ABI check, Python, LuaJIT, Lua and LuaSocket for the bindings.
need_test_tools() {
  need_command pkg-config pkgconf
  need_command abidiff abigail-tools
  need_command abidw abigail-tools
  need_command luajit luajit
  need_command lua5.4 lua5.4
  need_command lua5.3 lua5.3
  need_file /usr/include/lua5.4/lua.h liblua5.4-dev
  need_file /usr/include/lua5.3/lua.h liblua5.3-dev
  need_file "/usr/lib/*/lua/5.4/socket/core.so" lua-socket
  need_command python3 python3
}

# scripts/deb.sh: dpkg-buildpackage with debhelper and the Build-Depends of
# debian/control (without the test suite's: the nocheck profile), lintian,
# and what the package test runs (the Lua and Python interpreters, LuaJIT).
need_deb_tools() {
  need_build_tools
  need_package build-essential
  need_command dpkg-buildpackage dpkg-dev
  need_command dh debhelper
  need_command fakeroot fakeroot
  need_command lintian lintian
  need_command pkg-config pkgconf
  need_file /usr/include/lua5.4/lua.h liblua5.4-dev
  need_file /usr/include/lua5.3/lua.h liblua5.3-dev
  need_command lua5.4 lua5.4
  need_command lua5.3 lua5.3
  need_command luajit luajit
  need_command python3 python3
}

# Debian architectures to add before installing (for :i386 or :armhf packages).
sc_foreign_arches=()
need_foreign_arch() {
  if ! dpkg --print-foreign-architectures 2>/dev/null | grep -qx "$1"; then
    sc_foreign_arches+=("$1")
  fi
}

need_i386() {
  need_file "/usr/lib/gcc/x86_64-linux-gnu/*/32/libstdc++.so" g++-multilib
  need_file "/usr/lib/gcc/x86_64-linux-gnu/*/32/libgcc.a" gcc-multilib
  need_file /usr/lib/i386-linux-gnu/libmd.so libmd-dev:i386
  need_file /usr/lib/i386-linux-gnu/libcrypto.so libssl-dev:i386
  need_file /usr/lib/i386-linux-gnu/cmake/GTest/GTestConfig.cmake libgtest-dev:i386
  need_foreign_arch i386
}

need_armhf() {
  need_command arm-linux-gnueabihf-g++ crossbuild-essential-armhf
  need_command qemu-arm qemu-user
  need_file /usr/lib/arm-linux-gnueabihf/libmd.so libmd-dev:armhf
  need_file /usr/lib/arm-linux-gnueabihf/libcrypto.so libssl-dev:armhf
  need_file /usr/lib/arm-linux-gnueabihf/cmake/GTest/GTestConfig.cmake libgtest-dev:armhf
  need_foreign_arch armhf
}

# clang building against libc++ (-stdlib=libc++) instead of libstdc++, with the
# static archives a statically linked C program takes.
need_libcxx() {
  need_command clang++ clang
  need_file "/usr/lib/llvm-*/include/c++/v1/vector" libc++-dev
  need_file "/usr/lib/llvm-*/lib/libc++.a" libc++-dev
  need_file "/usr/lib/llvm-*/lib/libc++abi.a" libc++abi-dev
}

install_missing() {
  [ "${#sc_missing[@]}" -gt 0 ] || return 0
  local packages
  packages=$(printf '%s\n' "${sc_missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing build dependencies: $packages" >&2
    echo "install them as root with:" >&2
    local arch
    for arch in "${sc_foreign_arches[@]}"; do
      echo "  dpkg --add-architecture $arch" >&2
    done
    [ "${#sc_foreign_arches[@]}" -eq 0 ] || echo "  apt-get update" >&2
    echo "  apt-get install -y --no-install-recommends $packages" >&2
    exit 1
  fi
  echo "installing: $packages"
  export DEBIAN_FRONTEND=noninteractive
  local arch
  for arch in "${sc_foreign_arches[@]}"; do
    dpkg --add-architecture "$arch"
  done
  # A mirror in the middle of a sync fails one index now and then; what the
  # install needs is usually there all the same, and the install says if not.
  apt-get update || echo "apt-get update reported errors; installing anyway" >&2
  # shellcheck disable=SC2086
  apt-get install -y --no-install-recommends $packages
  sc_missing=()
}
