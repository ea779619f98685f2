#!/usr/bin/env bash
# stableconn-keygen as an operator runs it: the private key file's mode and
# format, the public key it prints (checked against RFC 7748's test key),
# refusing to overwrite, --force, --public, and the errors.
#
#   bash tests/tools/keygen_test.sh KEYGEN WITH_V2(0|1)
set -uo pipefail

keygen="$1"
with_v2="$2"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
failures=0

fail() {
  echo "keygen_test: FAILED: $*" >&2
  failures=$((failures + 1))
}

# expect STATUS CMD...: runs CMD, output in $dir/out and $dir/err.
expect() {
  local want="$1"
  shift
  "$@" >"$dir/out" 2>"$dir/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    fail "'$*' exited $got, expected $want; stderr: $(cat "$dir/err")"
    return 1
  fi
  return 0
}

expect 0 "$keygen" --help && grep -q -- "--public FILE" "$dir/out" || fail "--help does not describe --public"
expect 0 "$keygen" --version && grep -q "^stableconn-keygen [0-9]*\.[0-9]*\.[0-9]*$" "$dir/out" || fail "--version"
expect 2 "$keygen" && grep -q "no FILE given" "$dir/err" || fail "no FILE: no clear message"
expect 2 "$keygen" --bogus "$dir/k" && grep -q "unknown option --bogus" "$dir/err" || fail "unknown option"
expect 2 "$keygen" "$dir/a" "$dir/b" && grep -q "one FILE only" "$dir/err" || fail "two files"

if [ "$with_v2" = 0 ]; then
  expect 1 "$keygen" "$dir/k" && grep -q "built without protocol version 2" "$dir/err" || fail "no clear message without version 2"
  [ ! -e "$dir/k" ] || fail "a key file was written without version 2"
  [ "$failures" -eq 0 ] && echo "keygen_test: OK (without version 2)"
  exit $((failures > 0))
fi

# A new key, even under a umask that would take the owner's write bit.
(umask 0277 && "$keygen" "$dir/k" >"$dir/out" 2>"$dir/err") || fail "generating a key: $(cat "$dir/err")"
[ "$(stat -c %a "$dir/k")" = 600 ] || fail "private key file mode is $(stat -c %a "$dir/k"), not 600"
[ "$(wc -c <"$dir/k")" -eq 65 ] || fail "private key file is $(wc -c <"$dir/k") bytes, not 65"
grep -Eq '^[0-9a-f]{64}$' "$dir/k" || fail "private key file is not 64 hex digits"
pub_hex="$(sed -n 's/^public key: \([0-9a-f]\{64\}\)$/\1/p' "$dir/out")"
[ -n "$pub_hex" ] || fail "no hex public key printed"
grep -q "^static const unsigned char server_public_key\[32\] = {$" "$dir/out" || fail "no C array printed"
# The C array holds the same 32 bytes as the hex line.
array_hex="$(sed -n '/= {$/,/^};$/p' "$dir/out" | grep -o '0x[0-9a-f]\{2\}' | sed 's/0x//' | tr -d '\n')"
[ "$array_hex" = "$pub_hex" ] || fail "the C array ($array_hex) differs from the hex line ($pub_hex)"
grep -q "$(cat "$dir/k")" "$dir/out" "$dir/err" && fail "the private key was printed"

# --public gives the same public key back.
expect 0 "$keygen" --public "$dir/k" || true
[ "$(sed -n 's/^public key: //p' "$dir/out")" = "$pub_hex" ] || fail "--public disagrees with the key printed at creation"

# Never overwritten without --force.
before="$(cat "$dir/k")"
expect 1 "$keygen" "$dir/k" && grep -q "exists" "$dir/err" || fail "an existing key file: no clear refusal"
[ "$(cat "$dir/k")" = "$before" ] || fail "an existing key file was changed"
expect 0 "$keygen" --force "$dir/k" || true
[ "$(cat "$dir/k")" != "$before" ] || fail "--force did not write a new key"
[ "$(stat -c %a "$dir/k")" = 600 ] || fail "mode after --force is $(stat -c %a "$dir/k")"

# A symbolic link in its place is not followed.
ln -s "$dir/target" "$dir/link"
expect 1 "$keygen" "$dir/link" || true
[ ! -e "$dir/target" ] || fail "the key was written through a symbolic link"

# RFC 7748 section 6.1: Alice's private key and its public key.
printf '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a\n' >"$dir/alice"
expect 0 "$keygen" --public "$dir/alice" || true
[ "$(sed -n 's/^public key: //p' "$dir/out")" = 8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a ] ||
  fail "the public key of RFC 7748's test key is wrong: $(cat "$dir/out")"

# Files that are not private keys.
printf 'not a key\n' >"$dir/bad1"
printf '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c\n' >"$dir/bad2"  # 62 digits
printf '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a00\n' >"$dir/bad3"  # 66
for f in bad1 bad2 bad3; do
  expect 1 "$keygen" --public "$dir/$f" && grep -q "is not a private key file" "$dir/err" || fail "$f: no clear error"
done
expect 1 "$keygen" --public "$dir/missing" && grep -q "cannot open" "$dir/err" || fail "missing file: no clear error"
expect 2 "$keygen" --public --force "$dir/k" || true

if [ "$failures" -eq 0 ]; then
  echo "keygen_test: OK"
  exit 0
fi
exit 1
