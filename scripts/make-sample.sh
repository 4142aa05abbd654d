#!/bin/bash
# make-sample.sh OUT [SIZE_MIB] [tree]: builds the sample GCE image from
# tests/data/sample-root (a Debian-like tree with everything the hardening
# policy fixes): MBR, one ext4 partition, packed like Compute Engine wants
# (OUT ends in .tar.gz) or a raw disk (any other name). No root needed.
set -euo pipefail
out=$1 mib=${2:-1024}
top=$(cd "$(dirname "$0")/.." && pwd)
src=${3:-$top/tests/data/sample-root}
work=$(mktemp -d "${TMPDIR:-/tmp}/gm-sample.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -a "$src" "$work/root"
r=$work/root
# Modes git cannot carry.
chmod 0640 "$r/etc/shadow"; chmod 0600 "$r"/etc/ssh/ssh_host_*_key
chmod 0700 "$r/root"; mkdir -p -m 1777 "$r/tmp"; chmod 1777 "$r/tmp"
mkdir -p "$r/dev" "$r/proc" "$r/sys" "$r/run" "$r/var/log" "$r/lost+found"
rmdir "$r/lost+found"
disk=$work/disk.raw
truncate -s "${mib}M" "$disk"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$disk"
mke2fs -q -F -t ext4 -b 4096 -L root -E offset=1048576 -d "$r" "$disk" $(( (mib*1024 - 1024) ))k
case $out in
  *.tar.gz|*.tgz) tar --format=oldgnu -Sczf "$out" -C "$work" disk.raw ;;
  *) cp --sparse=always "$disk" "$out" ;;
esac
