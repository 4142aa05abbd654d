#!/bin/bash
# make-sample.sh OUT [SIZE_MIB] [tree]: builds the sample GCE image from
# tests/data/sample-root (a Debian-like tree with everything the hardening
# policy fixes): MBR with GRUB's BIOS boot code, one ext4 partition, packed like Compute Engine wants
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
# The initramfs update-initramfs would make: the modules the tree's
# /etc/initramfs-tools/modules lists (check looks for =m drivers in it).
for cfg in "$r"/boot/config-*; do
  [ -e "$cfg" ] || continue
  ver=${cfg##*/config-}
  [ -e "$r/boot/initrd.img-$ver" ] || [ ! -f "$r/etc/initramfs-tools/modules" ] ||
  python3 - "$r/boot/initrd.img-$ver" "$ver" "$r/etc/initramfs-tools/modules" <<'PY'
import gzip, sys
def entry(name, data=b""):
    n = name.encode() + b"\0"
    h = b"070701" + b"".join(b"%08X" % v for v in
        (1, 0o100644, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(n), 0))
    out = h + n
    out += b"\0" * (-len(out) % 4) + data
    return out + b"\0" * (-len(out) % 4)
mods = [l.split()[0] for l in open(sys.argv[3]) if l.strip() and not l.lstrip().startswith("#")]
body = b"".join(entry("usr/lib/modules/%s/kernel/%s.ko" % (sys.argv[2], m), b"\x7fELF") for m in mods)
open(sys.argv[1], "wb").write(gzip.compress(body + entry("TRAILER!!!"), mtime=0))
PY
done
mkdir -p "$r/dev" "$r/proc" "$r/sys" "$r/run" "$r/var/log" "$r/lost+found"
rmdir "$r/lost+found"
disk=$work/disk.raw
truncate -s "${mib}M" "$disk"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$disk"
mke2fs -q -F -t ext4 -b 4096 -L root -E offset=1048576 -d "$r" "$disk" $(( (mib*1024 - 1024) ))k
# GRUB's own BIOS boot code, as grub-install --target=i386-pc puts it on an
# MBR disk: boot.img's code (not the partition table) in sector 0, a
# core.img made by grub-mkimage in the gap before partition 1 (boot.img's
# default points at sector 1). The sample has no real kernel, so GRUB would
# stop at its prompt; but the disk's boot path is GRUB's, as check reports.
bootimg=/usr/lib/grub/i386-pc/boot.img
if [ -r "$bootimg" ] && command -v grub-mkimage >/dev/null; then
  grub-mkimage -O i386-pc -p '(hd0,msdos1)/boot/grub' -o "$work/core.img" \
    biosdisk part_msdos ext2
  dd if="$bootimg" of="$disk" bs=440 count=1 conv=notrunc status=none
  dd if="$work/core.img" of="$disk" bs=512 seek=1 conv=notrunc status=none
else
  echo "make-sample.sh: no GRUB BIOS files (package grub-pc-bin): the sample gets no boot code" >&2
fi
case $out in
  *.tar.gz|*.tgz) tar --format=oldgnu -Sczf "$out" -C "$work" disk.raw ;;
  *) cp --sparse=always "$disk" "$out" ;;
esac
