# Sourced by the other scripts: checks for the Debian packages a build needs
# and installs the missing ones with apt-get when running as root; otherwise
# prints the exact apt-get line and stops.
#
#   source scripts/deps.sh
#   need_command cmake cmake          # command name, package
#   need_file /usr/include/md5.h libmd-dev   # path (glob allowed), package
#   need_build_tools                  # cmake, g++, make, libmd-dev
#   install_missing

sc_missing=()

need_command() {
  command -v "$1" >/dev/null 2>&1 || sc_missing+=("$2")
}

need_file() {
  compgen -G "$1" >/dev/null || sc_missing+=("$2")
}

need_build_tools() {
  need_command cmake cmake
  { command -v g++ >/dev/null 2>&1 || command -v c++ >/dev/null 2>&1; } || sc_missing+=(g++)
  need_command make make
  need_file /usr/include/md5.h libmd-dev
}

need_gtest() {
  need_file /usr/include/gtest/gtest.h libgtest-dev
  need_file "/usr/lib/*/cmake/GTest/GTestConfig.cmake" libgtest-dev
}

install_missing() {
  [ "${#sc_missing[@]}" -gt 0 ] || return 0
  local packages
  packages=$(printf '%s\n' "${sc_missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing build dependencies: $packages" >&2
    echo "install them as root with:" >&2
    echo "  apt-get install -y --no-install-recommends $packages" >&2
    exit 1
  fi
  echo "installing: $packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  # shellcheck disable=SC2086
  apt-get install -y --no-install-recommends $packages
  sc_missing=()
}
