#!/usr/bin/env bash
# The Debian packages, tested the way their users take them: each .deb is
# unpacked into one fresh directory tree, as if installed there, and
# everything below runs against that tree only.
#
#   bash tests/deb/test_packages.sh DIR     # DIR holds the four .debs
#
# 1. Each package holds exactly the files listed below (no test programs, no
#    stray files, the headers in the -dev package only), and their control
#    fields say what they should.
# 2. The shared library's SONAME and exports (the C API, nothing else).
# 3. The consumer project (tests/consumer), through tests/cmake/consumer.cmake
#    as the suite runs it against `cmake --install`, with the tree as the
#    prefix: find_package and pkg-config, shared and static, and what the
#    packaged CMake and pkg-config files say the static library needs.
# 4. stableconn-keygen: --version, then tests/tools/keygen_test.sh.
# 5. The Lua module with lua5.4 and lua5.3, found through each interpreter's
#    own default package.cpath moved into the tree (so also by a plain
#    require "stableconn" once installed), running tests/bindings/test_lua.lua
#    and lua_2014_style.lua; the Python and LuaJIT bindings, with their tests.
# The dependencies of the packages (libmd, libcrypto, libstdc++, their -dev
# packages) come from the system, as an install would take them.
# Exits non-zero, after running everything, if anything failed.
set -uo pipefail

debs_dir="${1:?usage: bash tests/deb/test_packages.sh DIR_WITH_DEBS}"
debs_dir="$(cd "$debs_dir" && pwd)"
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
arch="$(dpkg-architecture -qDEB_HOST_ARCH)"
packages=(libstableconn1 libstableconn-dev stableconn-tools lua-stableconn)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir "$root"

failures=0
fail() {
  echo "package test: FAILED: $*" >&2
  failures=$((failures + 1))
}
pass() {
  echo "package test: ok: $*"
}

# ---- 1. the packages and their files -------------------------------------
declare -A deb_of
for p in "${packages[@]}"; do
  found=("$debs_dir/${p}_"*"_$arch.deb")
  if [ "${#found[@]}" -ne 1 ] || [ ! -f "${found[0]}" ]; then
    echo "package test: no single ${p}_*_$arch.deb in $debs_dir" >&2
    exit 1
  fi
  deb_of[$p]="${found[0]}"
done
# Debug symbol packages (-dbgsym), if built, are not looked at.
others=$(find "$debs_dir" -maxdepth 1 -name '*.deb' ! -name '*-dbgsym_*' | wc -l)
[ "$others" -eq "${#packages[@]}" ] ||
  fail "$debs_dir holds $others .deb files, expected the ${#packages[@]} packages"

deb_version="$(dpkg-deb -f "${deb_of[libstableconn1]}" Version)"
version="${deb_version%%-*}"
soversion="${version%%.*}"
lib="usr/lib/$multiarch"

# What each package must hold, exactly: every path that is not a directory.
expected_files() {
  local doc="usr/share/doc/$1"
  case "$1" in
    libstableconn1)
      printf '%s\n' "$lib/libstableconn.so.$soversion" "$lib/libstableconn.so.$version"
      ;;
    libstableconn-dev)
      local h
      for h in connectionclient.h connectionserver.h stable_connection.h \
               stable_connection_export.h stable_connection_testing.h stable_connection_version.h; do
        echo "usr/include/stable-connection/$h"
      done
      printf '%s\n' "$lib/libstableconn.a" "$lib/libstableconn.so" \
        "$lib/cmake/stableconn/stableconnConfig.cmake" \
        "$lib/cmake/stableconn/stableconnConfigVersion.cmake" \
        "$lib/cmake/stableconn/stableconnTargets.cmake" \
        "$lib/cmake/stableconn/stableconnTargets-none.cmake" \
        "$lib/pkgconfig/stableconn.pc" \
        usr/share/stableconn/python/stableconn.py
      ;;
    stableconn-tools)
      printf '%s\n' usr/bin/stableconn-keygen usr/share/man/man1/stableconn-keygen.1.gz
      ;;
    lua-stableconn)
      printf '%s\n' "$lib/lua/5.3/stableconn.so" "$lib/lua/5.4/stableconn.so" \
        usr/share/stableconn/luajit/stableconn.lua
      ;;
  esac
  printf '%s\n' "$doc/changelog.gz" "$doc/copyright"
}

for p in "${packages[@]}"; do
  deb="${deb_of[$p]}"
  # Paths without the leading "./", directories (ending in /) left out.
  dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./||' | grep -v '/$' | grep -v '^$' | sort \
    >"$work/$p.files"
  expected_files "$p" | sort >"$work/$p.expected"
  if diff -u "$work/$p.expected" "$work/$p.files" >"$work/$p.diff"; then
    pass "$p holds exactly the expected $(wc -l <"$work/$p.files") files"
  else
    fail "$p's files differ from the expected ones (- expected, + in the package):"
    sed -n '3,$p' "$work/$p.diff" >&2
  fi
  [ "$(dpkg-deb -f "$deb" Package)" = "$p" ] || fail "$deb is not package $p"
  [ "$(dpkg-deb -f "$deb" Version)" = "$deb_version" ] || fail "$p is not version $deb_version"
  dpkg-deb -x "$deb" "$root"
done

depends_on() {  # PACKAGE DEPENDENCY-REGEX
  dpkg-deb -f "${deb_of[$1]}" Depends | tr ',' '\n' | sed 's/^ *//' | grep -Eqx "$2" ||
    fail "$1 does not depend on $2 (Depends: $(dpkg-deb -f "${deb_of[$1]}" Depends))"
}
depends_on libstableconn-dev "libstableconn1 \(= ${deb_version//./\\.}\)"
depends_on libstableconn-dev "libmd-dev"
depends_on libstableconn-dev "libssl-dev.*"
depends_on stableconn-tools "libstableconn1 \(>= .*\)"
depends_on lua-stableconn "libstableconn1 \(>= .*\)"
pass "the packages depend on what they use"

# ---- 2. the shared library -------------------------------------------------
libdir="$root/$lib"
so="$libdir/libstableconn.so.$version"
soname="$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[ "$soname" = "libstableconn.so.$soversion" ] || fail "the library's SONAME is '$soname'"
others=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -Ev '^(cp|cc|sc)_' || true)
if [ -n "$others" ]; then
  fail "the library exports more than the C API: $others"
else
  pass "libstableconn.so.$version: SONAME $soname, exports $(nm -D --defined-only "$so" | wc -l) C functions and nothing else"
fi

for v in 5.4 5.3; do
  mod="$libdir/lua/$v/stableconn.so"
  others=$(nm -D --defined-only "$mod" | awk '{print $3}' | grep -v '^luaopen_stableconn' || true)
  [ -z "$others" ] || fail "the Lua $v module exports more than its luaopen_* functions: $others"
  readelf -d "$mod" | grep -q "NEEDED.*\[libstableconn\.so\.$soversion\]" ||
    fail "the Lua $v module does not load libstableconn.so.$soversion"
done
pass "the Lua modules export their luaopen_* functions only and load libstableconn.so.$soversion"

# ---- 3. the consumer project against the tree ----------------------------
# pkg-config sees only the tree's .pc file and the system's libcrypto.pc.
dep_pc_dir="/usr/lib/$multiarch/pkgconfig"
run_consumer() {  # MODE [LINK]
  local name="consumer-$1${2:+-$2}"
  if cmake -DMODE="$1" -DLINK="${2:-}" -DPREFIX="$root/usr" -DLIBDIR="$libdir" \
      -DWORK="$work/$name" -DCC="${CC:-cc}" -DVERSION="$version" -DSOVERSION="$soversion" \
      -DDEP_PC_DIR="$dep_pc_dir" -DWITH_V2=ON \
      -DCXX_RUNTIME_LIBS=stdc++ -DCXX_RUNTIME_LDFLAGS=-lstdc++ \
      -P "$source_dir/tests/cmake/consumer.cmake" >"$work/$name.log" 2>&1; then
    pass "$name"
  else
    fail "$name:"
    cat "$work/$name.log" >&2
  fi
}
# Built with Debian's g++: the static library needs libstdc++.
run_consumer package
run_consumer other_major
for mode in find_package pkgconfig; do
  for link in shared static; do
    run_consumer "$mode" "$link"
  done
done

# ---- 4. stableconn-keygen ------------------------------------------------
keygen="$root/usr/bin/stableconn-keygen"
got="$(LD_LIBRARY_PATH="$libdir" "$keygen" --version 2>&1)"
[ "$got" = "stableconn-keygen $version" ] && pass "stableconn-keygen --version: $got" ||
  fail "stableconn-keygen --version printed '$got'"
loaded="$(LD_LIBRARY_PATH="$libdir" ldd "$keygen" | sed -n 's/.*libstableconn\.so[^ ]* => \([^ ]*\).*/\1/p')"
[ "$(realpath "$loaded")" = "$(realpath "$so")" ] || fail "stableconn-keygen loads '$loaded', not $so"
if LD_LIBRARY_PATH="$libdir" bash "$source_dir/tests/tools/keygen_test.sh" "$keygen" 1 >"$work/keygen.log" 2>&1; then
  pass "stableconn-keygen: key generation (tests/tools/keygen_test.sh)"
else
  fail "tests/tools/keygen_test.sh:"
  cat "$work/keygen.log" >&2
fi

# ---- 5. the Lua module and the bindings ----------------------------------
run_script() {  # WHAT COMMAND... (environment set by the caller)
  local what="$1"
  shift
  if "$@" >"$work/script.log" 2>&1; then
    pass "$what: $(tail -n 1 "$work/script.log")"
  else
    fail "$what:"
    cat "$work/script.log" >&2
  fi
}
for v in 5.4 5.3; do
  interp="lua$v"
  # The interpreter's own C module path, each absolute template moved into
  # the tree; the relative ones (./?.so) left out.
  default_cpath="$(env -u LUA_CPATH -u "LUA_CPATH_${v/./_}" "$interp" -e 'io.write(package.cpath)')"
  cpath=""
  IFS=';' read -r -a templates <<<"$default_cpath"
  for t in "${templates[@]}"; do
    case "$t" in /*) cpath="${cpath:+$cpath;}$root$t" ;; esac
  done
  moddir="$libdir/lua/$v"
  case ";$default_cpath;" in
    *";/$lib/lua/$v/?.so;"*) pass "$interp looks for C modules in /$lib/lua/$v" ;;
    *) fail "$interp's package.cpath ($default_cpath) does not search /$lib/lua/$v" ;;
  esac
  export "LUA_CPATH_${v/./_}=$cpath" "LUA_CPATH=$cpath"
  LD_LIBRARY_PATH="$libdir" run_script "$interp test_lua.lua" \
    "$interp" "$source_dir/tests/bindings/test_lua.lua" "$moddir" "$libdir"
  LD_LIBRARY_PATH="$libdir" run_script "$interp lua_2014_style.lua" \
    "$interp" "$source_dir/tests/bindings/lua_2014_style.lua"
  unset "LUA_CPATH_${v/./_}" LUA_CPATH
done

bindings="$root/usr/share/stableconn"
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$bindings/python" STABLECONN_LIBRARY="$libdir/libstableconn.so.$soversion" \
  run_script "python3 test_python.py" python3 "$source_dir/tests/bindings/test_python.py" \
    --module-dir "$bindings/python" --library "$libdir/libstableconn.so.$soversion"
LUA_PATH="$bindings/luajit/?.lua" STABLECONN_LIBRARY="$libdir/libstableconn.so.$soversion" \
  run_script "luajit test_luajit.lua" luajit "$source_dir/tests/bindings/test_luajit.lua" \
    "$bindings/luajit" "$libdir/libstableconn.so.$soversion"

if [ "$failures" -ne 0 ]; then
  echo "package test: $failures check(s) FAILED" >&2
  exit 1
fi
echo "package test: all checks passed"
