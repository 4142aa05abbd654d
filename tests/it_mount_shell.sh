#!/bin/bash
# it_mount_shell.sh — `gcemount shell IMAGE [-- CMD...]`: CMD runs at the
# image root with GCEMOUNT_ROOT set; exit 0 writes back (debugfs, e2fsck),
# any other status writes nothing (exit 1, the image byte-identical); the
# default command is $SHELL (reading stdin); Ctrl-C (SIGINT to the
# foreground process group) stops CMD, not the session: nothing written, no
# mount left; without a usable /dev/fuse it exits 5 naming the no-FUSE verbs.
source "$GM_TOP/tests/lib.sh"
export XDG_RUNTIME_DIR=$PWD/run; mkdir -m 0700 run
[ -e /dev/fuse ] || skip "no /dev/fuse"
[ "$(id -u)" = 0 ] || skip "needs root (the FUSE refusal runs as nobody)"
export TMPDIR=$PWD/tmp; mkdir -m 0755 tmp     # where shell makes its mount point
cleanup() {
  local m
  for m in $(grep -o " $TMPDIR/gcemount-run[^ ]*" /proc/mounts); do umount -l "$m"; done
}
trap cleanup EXIT

mkdir -p tree/etc; echo v1 > tree/etc/version
make_disk disk.raw tree 64 mbr
make_targz disk.raw image.tar.gz
rm -f disk.raw

note "CMD exits 0: written back"
gm shell -q image.tar.gz -- sh -c 'test "$PWD" = "$GCEMOUNT_ROOT" && test -f etc/version &&
  echo v2 > etc/version && mkdir srv' || fail "shell -- CMD"
extract_disk image.tar.gz out; e2fsck_clean out/disk.raw
[ "$(debugfs -R 'cat /etc/version' "$(fs_spec out/disk.raw)" 2>/dev/null)" = v2 ] || fail "not written back"
rm -rf out
[ -z "$(ls "$TMPDIR")" ] || fail "mount point left behind: $(ls "$TMPDIR")"

note "CMD fails: nothing written, exit 1"
before=$(sha image.tar.gz)
expect_exit 1 gm shell -q image.tar.gz -- sh -c 'echo v3 > etc/version; exit 3'
grep -q 'exited with status 3: nothing written back' last.err || fail "message: $(cat last.err)"
[ "$(sha image.tar.gz)" = "$before" ] || fail "a failed CMD changed the image"
gm shell -q image.tar.gz -- sh -c 'test "$(cat etc/version)" = v2' || fail "the failed run's edits were kept"

note "no CMD: \$SHELL, reading stdin"
echo 'echo v4 > etc/version' | SHELL=/bin/sh gm shell -q image.tar.gz || fail "default shell"
gm shell -q image.tar.gz -- grep -q v4 etc/version || fail "\$SHELL's edit"

note "Ctrl-C stops CMD, not the session: nothing written, no mount left"
before=$(sha image.tar.gz)
setsid "$GM_BIN" shell -q image.tar.gz -- sh -c 'echo v5 > etc/version; touch "$TMPDIR/ready"; exec sleep 600' \
  2>int.err & pid=$!
for _ in $(seq 600); do [ -e "$TMPDIR/ready" ] && break; sleep 0.1; done
[ -e "$TMPDIR/ready" ] || fail "the command never started: $(cat int.err)"
kill -INT -- -$pid
set +e; wait $pid; rc=$?; set -e
[ $rc = 1 ] || fail "Ctrl-C: exit $rc, expected 1: $(cat int.err)"
grep -q 'exited with status 130' int.err || fail "Ctrl-C message: $(cat int.err)"
[ "$(sha image.tar.gz)" = "$before" ] || fail "Ctrl-C: the image changed"
grep -q " $TMPDIR/gcemount-run" /proc/mounts && fail "Ctrl-C: a mount is left"

note "no usable /dev/fuse: exit 5, naming the verbs that need none"
devfuse_lock
[ "$(stat -c %a /dev/fuse)" = 600 ] || skip "/dev/fuse is not 0600 here"
u=$(mktemp -d /tmp/gm-shell.XXXXXX); chmod 0755 "$u"; cp image.tar.gz "$u/"
chown -R 65534:65534 "$u"
set +e
setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$u" TMPDIR="$u" \
  "$GM_BIN" shell "$u/image.tar.gz" -- true >last.out 2>last.err; rc=$?
set -e
rm -rf "$u"
[ $rc = 5 ] || fail "no FUSE: exit $rc: $(cat last.err)"
[ "$(wc -l < last.err)" = 1 ] || fail "more than one line: $(cat last.err)"
grep -q '/dev/fuse' last.err && grep -q "gcemount apply" last.err && grep -q "ls|cat|put" last.err \
  || fail "message: $(cat last.err)"
echo ok
