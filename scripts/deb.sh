#!/usr/bin/env bash
# Builds the Debian packages (libstableconn1, libstableconn-dev,
# stableconn-tools, lua-stableconn) from a copy of the source, checks them
# with lintian, and tests them installed into a directory tree
# (tests/deb/test_packages.sh).
#
#   bash scripts/deb.sh [OUTPUT_DIR]    # default: build-deb/ in the source tree
#
# The copy holds the files git knows of (committed or not, ignored ones left
# out), as they are in the working tree; nothing is written to the source
# tree but OUTPUT_DIR. That receives the .debs, the .changes and .buildinfo
# files, and the logs of the build and of lintian, replacing those of an
# earlier run. Missing build tools are installed with apt-get when run as root;
# otherwise the script stops and prints the command to run.
set -euo pipefail

source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

# OUTPUT_DIR relative to where the script is started from.
out="$(realpath -m "${1:-$source_dir/build-deb}")"
cd "$source_dir"
case "$out/" in
  "$source_dir/"*)
    # Inside the tree only where git ignores it.
    rel="${out#"$source_dir"/}"
    if [ "$out" = "$source_dir" ] || ! git check-ignore -q "$rel/" 2>/dev/null; then
      echo "deb.sh: $out is inside the source tree and not ignored by git" >&2
      exit 2
    fi
    ;;
esac
mkdir -p "$out"

# ---- build dependencies (Debian package names) ----
source scripts/deps.sh
need_deb_tools
install_missing

start=$SECONDS
step() {
  echo "==> $* ($((SECONDS - start)) s)"
}

# ---- the copy of the source ----
work="$(mktemp -d)"
cleanup() {
  if [ "${keep_work:-0}" = 1 ]; then
    echo "deb.sh: the build directory is left in $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
version="$(dpkg-parsechangelog -l debian/changelog -S Version)"
copy="$work/stable-connection-${version%%-*}"
mkdir "$copy"
step "copying the source to $copy"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do
    # Tracked files deleted in the working tree are left out.
    if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
  done |
  tar -c --null -T - -f - | tar -x -C "$copy" -f -

# ---- build ----
# nocheck: the project's own suite is not built here (CI runs it before, and
# the packages are tested below); noautodbgsym: no -dbgsym packages.
step "dpkg-buildpackage (log: $out/build.log)"
find "$out" -mindepth 1 -maxdepth 1 \( -name '*.deb' -o -name '*.changes' -o -name '*.buildinfo' \
  -o -name '*.log' \) -delete
keep_work=1
if ! (cd "$copy" &&
      DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=2" \
        dpkg-buildpackage -us -uc -b -Pnocheck) >"$out/build.log" 2>&1; then
  tail -n 60 "$out/build.log" >&2
  echo "deb.sh: dpkg-buildpackage FAILED (the whole log: $out/build.log)" >&2
  exit 1
fi
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out/"
changes="$(cd "$out" && ls ./*.changes)"
changes="$out/${changes#./}"

# ---- lintian ----
# Every tag up to the pedantic ones is shown; errors, warnings and info tags
# fail (debian/*.lintian-overrides give the reason for any overridden one).
step "lintian (log: $out/lintian.log)"
if ! lintian --display-info --pedantic --display-experimental --show-overrides \
    --fail-on error,warning,info "$changes" >"$out/lintian.log" 2>&1; then
  cat "$out/lintian.log" >&2
  echo "deb.sh: lintian FAILED" >&2
  exit 1
fi
if grep -v 'running with root privileges' "$out/lintian.log"; then :; else
  echo "lintian: no tags, pedantic and experimental ones included"
fi

# ---- the installed packages ----
step "testing the packages installed into a directory tree"
bash tests/deb/test_packages.sh "$out"
keep_work=0

step "done"
echo "the packages are in $out:"
(cd "$out" && ls -1 ./*.deb | sed 's|^\./|  |')
