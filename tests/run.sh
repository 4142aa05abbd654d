#!/bin/bash
# Test runner for `make check`: cmocka unit programs given as arguments, then
# every tests/it_*.sh integration script. Each script runs in its own temp
# directory; exit 0 = pass, 77 = skipped (it prints why), anything else = fail.
# Ends with the line "N passed, N failed, N skipped".
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
export GM_TOP="$top"
# Debian's own tools first: e2fsprogs in /sbin, and the system python3 (a
# pyenv shim costs a second per call).
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
export GM_BIN="$top/${BUILD:-build}/gcemount"
unit=1 integ=1
case "${1:-}" in
  --unit-only) unit=1 integ=0; shift ;;
  --integration-only) unit=0 integ=1; shift ;;
esac
pass=0 fail=0 skip=0 failed=()
log_dir=$(mktemp -d "${TMPDIR:-/tmp}/gm-tests.XXXXXX")

run_one() {   # name, command...
  local name=$1; shift
  local t0=$SECONDS rc
  local wd; wd=$(mktemp -d "$log_dir/wd.XXXXXX")
  (cd "$wd" && timeout 900 "$@") >"$log_dir/$name.log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    pass=$((pass+1)); printf 'PASS  %-40s %3ds\n' "$name" $((SECONDS-t0))
  elif [ $rc -eq 77 ]; then
    skip=$((skip+1)); printf 'SKIP  %-40s %s\n' "$name" "$(grep -m1 '^SKIP:' "$log_dir/$name.log" | cut -c7-)"
  else
    fail=$((fail+1)); failed+=("$name")
    printf 'FAIL  %-40s %3ds (exit %d)\n' "$name" $((SECONDS-t0)) $rc
    sed 's/^/      | /' "$log_dir/$name.log" | tail -40
  fi
  rm -rf "$wd"
}

if [ $unit = 1 ]; then
  for b in "$@"; do
    run_one "$(basename "$b")" "$top/$b"
  done
fi
if [ $integ = 1 ]; then
  for s in "$here"/it_*.sh; do
    [ -e "$s" ] || continue
    if [ -n "${GM_TEST_FILTER:-}" ] && [[ "$(basename "$s")" != *$GM_TEST_FILTER* ]]; then continue; fi
    run_one "$(basename "$s" .sh)" bash "$s"
  done
fi
echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]} (logs in $log_dir)"
[ $fail -eq 0 ] && rm -rf "$log_dir"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
