#!/bin/bash
# Finding the filesystem through the CLI: GCE's GPT layout (14 BIOS boot,
# 15 EFI, 1 root), two ext partitions, a bare filesystem, no ext at all, a
# journal that needs recovery. Oracles: debugfs and e2fsck -fn.
. "$GM_TOP/tests/lib.sh"
[ -x "$GM_BIN" ] || skip "build/gcemount not built"

mkdir -p tree/etc; printf 'gce-root\n' > tree/etc/hostname

note "GCE GPT layout: partition 1 is found behind 14 and 15"
truncate -s 64M gce.raw
printf 'label: gpt\ngce.raw14 : start=2048, size=4MiB, type=21686148-6449-6E6F-744E-656564454649\ngce.raw15 : start=10240, size=8MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\ngce.raw1 : start=26624, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' \
  | sfdisk -q gce.raw
off=$((26624 * 512))
mke2fs -q -F -t ext4 -b 4096 -d tree -E offset=$off gce.raw 40M
make_targz gce.raw gce.tar.gz
gm cat gce.tar.gz /etc/hostname | grep -qx gce-root || fail "cat on the GCE GPT layout"
expect_exit 2 gm cat --partition 15 gce.raw /etc/hostname
grep -q 'partition 15 has no filesystem' last.err || { cat last.err; fail "--partition 15 not explained"; }

note "two ext partitions: the largest, and --partition N"
truncate -s 64M two.raw
printf 'label: dos\nstart=2048, size=16MiB, type=83\nstart=34816, type=83\n' | sfdisk -q two.raw
mkdir -p t1/etc; printf 'small\n' > t1/etc/hostname
mke2fs -q -F -t ext4 -d t1 -E offset=1048576 two.raw 16M
mke2fs -q -F -t ext4 -d tree -E offset=17825792 two.raw 47M
gm cat two.raw /etc/hostname | grep -qx gce-root || fail "largest ext partition not taken"
gm cat --partition 1 two.raw /etc/hostname | grep -qx small || fail "--partition 1"

note "bare filesystem"
make_disk bare.raw tree 16 bare
gm cat bare.raw /etc/hostname | grep -qx gce-root || fail "cat on a bare filesystem"

note "no ext filesystem: a clear error"
truncate -s 16M swap.raw
printf 'label: dos\nstart=2048, type=82\n' | sfdisk -q swap.raw
truncate -s 8M sw.img; mkswap sw.img >/dev/null 2>&1
dd if=sw.img of=swap.raw bs=1M seek=1 conv=notrunc status=none
expect_exit 2 gm ls swap.raw /
grep -q 'partition 1 is swap' last.err || { cat last.err; fail "no-ext error does not say what was found"; }
truncate -s 16M empty.raw
expect_exit 2 gm ls empty.raw /
grep -q 'no partition table and no filesystem' last.err || { cat last.err; fail "empty disk error"; }

note "journal needs recovery: reads work, writes are refused, nothing changes"
make_disk rec.raw tree 32 mbr
debugfs -w -R 'feature needs_recovery' "$(fs_spec rec.raw)" >/dev/null 2>&1
before=$(sha rec.raw)
gm cat rec.raw /etc/hostname | grep -qx gce-root || fail "read-only access to a needs_recovery fs"
printf 'x\n' > x
set +e; gm put rec.raw x /etc/x >last.out 2>last.err; rc=$?; set -e
[ $rc -ne 0 ] || fail "put on a needs_recovery fs succeeded"
grep -q 'journal needs recovery' last.err || { cat last.err; fail "needs_recovery refusal not explained"; }
[ "$(sha rec.raw)" = "$before" ] || fail "the needs_recovery image changed"
echo ok
