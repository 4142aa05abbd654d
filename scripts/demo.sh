#!/bin/bash
# make demo: build a sample GCE image from tests/data/sample-root, look inside
# it, check it against Compute Engine's requirements, harden it, check again.
# Everything runs without root and without FUSE.
set -uo pipefail
gm=${1:-build/gcemount}
gm=$(cd "$(dirname "$gm")" && pwd)/$(basename "$gm")
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${GM_DEMO_DIR:-$top/build/demo}
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir" || exit 1
export XDG_CACHE_HOME=$dir/cache SOURCE_DATE_EPOCH=1700000000
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "== gcemount demo (in $dir)"
"$top/scripts/make-sample.sh" sample.tar.gz 2048 || exit 1
step tar -tvzf sample.tar.gz
step "$gm" ls -l sample.tar.gz /etc/ssh
step "$gm" cat sample.tar.gz /etc/ssh/sshd_config.d/50-cloud-init.conf
step "$gm" check sample.tar.gz
echo "(exit status $?: 0 means every *required* check passes; the FAIL rows above are recommendations the sample breaks on purpose)"
step "$gm" apply sample.tar.gz gce-hardening --dry-run | head -60
step "$gm" apply sample.tar.gz gce-hardening --output hardened.tar.gz || exit 1
step "$gm" check hardened.tar.gz
rc=$?
step "$gm" apply hardened.tar.gz gce-hardening --output again.tar.gz || exit 1
step cmp <(zcat hardened.tar.gz) <(zcat again.tar.gz) && echo "(a second apply changes nothing: the same tar stream, byte for byte)"
step ls -ls sample.tar.gz hardened.tar.gz
echo
echo "== demo done: hardened image at $dir/hardened.tar.gz (check exit status $rc)"
exit $rc
