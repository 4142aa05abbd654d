#!/bin/bash
# Lazy open (issue 13 §2, docs/performance.md): a verb or a mount starts
# while the image is still being read, and every read or write of the disk
# waits for its bytes. A test gate holds the disk data from a given offset
# back until a file exists (GM_TEST_EXTRACT_GATE=OFFSET:PATH, tar_read.c),
# so the late blocks provably arrive after the reads and writes that need
# them, whatever the machine's speed; nothing here measures time. Checked:
# listings and reads before the data arrive, late reads and in-place writes
# through a mount (the reading never writes over them), a damaged stream
# found after an early listing (exit 2, one line, nothing written back; a
# mount logs it and fails its reads), interrupted reads (kill -9, SIGTERM),
# the undo log while the image arrives (a put killed -9 in its operation is
# undone by the next open; a put failing for space is undone byte for byte,
# its saves having waited for their data; a mount killed -9 keeps its
# committed writes for --resume, which reads the rest, and loses the request
# in flight), GPT images with a damaged or zeroed backup (or primary).
. "$GM_TOP/tests/lib.sh"
[ "$(uname -m)" = x86_64 ] || skip "reads system call numbers of x86-64 from /proc"

note "fixture: 64 MiB disk; /etc early in the stream, /zz/late*.bin last"
mkdir -p tree/etc tree/zz
echo lazyhost > tree/etc/hostname
printf 'Port 22\nPermitRootLogin yes\n' > tree/etc/sshd_config
head -c 3M /dev/urandom > tree/zz/late.bin
head -c 1M /dev/urandom > tree/zz/late2.bin
make_disk disk.raw tree 64 mbr
spec=$(fs_spec disk.raw)
first_block() { debugfs -R "stat $1" "$spec" 2>/dev/null | sed -n '/EXTENTS/{n;s/.*:\([0-9]*\)-.*/\1/p;s/^(0):\([0-9]*\)$/\1/p}' | head -1; }
late=$(first_block /zz/late.bin)
etc=$(first_block /etc/hostname)
[ -n "$late" ] && [ -n "$etc" ] && [ "$etc" -lt "$late" ] || fail "fixture: /etc not before /zz/late.bin ($etc, $late)"
[ "$(first_block /zz/late2.bin)" -gt "$late" ] || fail "fixture: late2.bin not after late.bin"
gate_at=$(( GM_PART_OFFSET + late * 4096 ))
make_targz disk.raw image.tar.gz
cp tree/zz/late.bin late.ref; cp tree/zz/late2.bin late2.ref; rm -rf tree
mv disk.raw disk.ref
gate=$PWD/gate.open
mp=$PWD/mnt
# whatever happens, nothing is left waiting at the gate or mounted
cleanup() {
  touch "$gate"
  if mountpoint -q "$mp" 2>/dev/null; then gm -u "$mp" || fusermount3 -u -z "$mp" || umount -l "$mp"; fi
}
trap cleanup EXIT
closed() { rm -f "$gate"; rm -rf "$XDG_CACHE_HOME"; export GM_TEST_EXTRACT_GATE="$gate_at:$gate"; }
open_gate() { touch "$gate"; }
nogate() { unset GM_TEST_EXTRACT_GATE; }
cache() { ls -d "$XDG_CACHE_HOME"/gcemount/*-"$1" 2>/dev/null; }
# until CMD PID: polls CMD (true once it holds) while PID runs; a hang guard,
# not a measure
until_true() {
  local i
  for i in $(seq 6000); do eval "$1" && return 0; kill -0 "$2" 2>/dev/null || { eval "$1"; return; }; sleep 0.01; done
  return 1
}
alive() { kill -0 "$1" 2>/dev/null || fail "$2"; }
# in_syscall PID NR: PID is in system call NR (x86-64: 0 read, 74 fsync, 202 futex)
in_syscall() { [ "$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)" = "$2" ]; }
# gated PID: a thread of PID sleeps (x86-64: 230 clock_nanosleep), which in
# a reading held at the test gate only its loop does: all before the gate
# has arrived
gated() {
  local t
  for t in /proc/$1/task/*; do [ "$(cut -d' ' -f1 "$t/syscall" 2>/dev/null)" = 230 ] && return 0; done
  return 1
}
temps() { ls -a . | grep -c '^\..*\.gcemount-......$' || true; }

note "ls: the listing comes before the late data, the exit only after the whole image"
closed
"$GM_BIN" ls image.tar.gz /etc > ls.out 2> ls.err & pid=$!
until_true "grep -q hostname ls.out" $pid || { cat ls.err; fail "no listing"; }
alive $pid "ls ended before the image was all read (the gzip trailer is checked last)"
open_gate; wait $pid || { cat ls.err; fail "ls failed"; }
[ "$(cat ls.out)" = "$(printf 'hostname\nsshd_config')" ] || fail "ls: wrong listing: $(cat ls.out)"
[ ! -s ls.err ] || { cat ls.err; fail "ls printed errors"; }

note "cat of a file whose data has not arrived: it waits, then reads the right bytes"
closed
"$GM_BIN" cat image.tar.gz /zz/late.bin > late.got 2> cat.err & pid=$!
until_true "ls $XDG_CACHE_HOME/gcemount/*/disk.raw >/dev/null 2>&1" $pid
alive $pid "cat ended before the late data arrived"
open_gate; wait $pid || { cat cat.err; fail "cat failed"; }
cmp late.got late.ref || fail "cat: the late file's bytes differ"

note "put while the image arrives: the write-back waits, the result holds both"
closed
echo "motd while reading" > motd
"$GM_BIN" put -q image.tar.gz motd /etc/motd --output put.tar.gz 2> put.err & pid=$!
until_true "grep -qs '^status=dirty' $XDG_CACHE_HOME/gcemount/*/state" $pid || { cat put.err; fail "put never wrote"; }
alive $pid "put ended before the image was all read"
grep -qs '^partial=1' "$XDG_CACHE_HOME"/gcemount/*/state || fail "a write while reading: the state does not say how far the image was read"
open_gate; wait $pid || { cat put.err; fail "put failed"; }
rm -rf x; extract_disk put.tar.gz x; e2fsck_clean x/disk.raw
xs=$(fs_spec x/disk.raw)
[ "$(debugfs -R 'cat /etc/motd' "$xs" 2>/dev/null)" = "motd while reading" ] || fail "put: the edit is missing"
debugfs -R 'dump /zz/late.bin late.back' "$xs" >/dev/null 2>&1; cmp late.back late.ref || fail "put: the late file changed"
rm -rf x late.back

if [ -e /dev/fuse ] && [ "$(id -u)" = 0 ]; then
  export XDG_RUNTIME_DIR=$PWD/run; mkdir -m 0700 run; mkdir "$mp"

  note "mount: a late read waits (one mount), an in-place write of a late block waits and is not written over (another)"
  # (one at a time: the mount serves one request at a time, the others
  # wait behind one that waits for its data)
  cp image.tar.gz m.tar.gz; closed
  gm -q m.tar.gz "$mp" || fail "mount"
  [ "$(cat "$mp/etc/hostname")" = lazyhost ] || fail "mount: early read"
  dd if="$mp/zz/late.bin" of=late.got bs=1M status=none 2> rd.err & rpid=$!
  until_true "in_syscall $rpid 0" $rpid || fail "mount: the late read was not seen waiting"
  alive $rpid "mount: the late read ended before its data arrived"
  open_gate
  wait $rpid || { cat rd.err; fail "mount: the late read failed"; }
  cmp late.got late.ref || fail "mount: a late read returned wrong bytes"
  gm -u "$mp" || fail "unmount"
  cp image.tar.gz m.tar.gz; closed
  gm -q m.tar.gz "$mp" || fail "mount (2)"
  head -c 4096 /dev/urandom > patch
  # the write made durable: fsync takes it to the server, which waits
  dd if=patch of="$mp/zz/late2.bin" bs=4096 seek=100 conv=notrunc,fsync status=none 2> dd.err & wpid=$!
  until_true "in_syscall $wpid 74" $wpid || fail "mount: the late write was not seen waiting"
  alive $wpid "mount: the late write ended before its block arrived"
  open_gate
  wait $wpid || { cat dd.err; fail "mount: the late write failed"; }
  gm -u "$mp" || fail "unmount / write-back"
  rm -rf x; extract_disk m.tar.gz x; e2fsck_clean x/disk.raw; xs=$(fs_spec x/disk.raw)
  debugfs -R 'dump /zz/late2.bin l2' "$xs" >/dev/null 2>&1
  python3 - late2.ref l2 patch <<'PY' || fail "mount: late2.bin is not the original with the patch at block 100"
import sys
ref, got, patch = (open(p, "rb").read() for p in sys.argv[1:])
want = ref[:100 * 4096] + patch + ref[101 * 4096:]
sys.exit(0 if got == want else 1)
PY
  debugfs -R 'dump /zz/late.bin l1' "$xs" >/dev/null 2>&1; cmp l1 late.ref || fail "mount: late.bin changed"
  rm -rf x l1 l2
else
  note "SKIPPED the mount parts: they run as root with /dev/fuse"
fi

note "a damaged stream found after the listing: exit 2, one line, nothing written back"
python3 - image.tar.gz bad.tar.gz <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[-8] ^= 0x5a            # the trailer's CRC-32
open(sys.argv[2], "wb").write(d)
PY
bad_sha=$(sha bad.tar.gz)
closed
"$GM_BIN" ls bad.tar.gz /etc > ls.out 2> ls.err & pid=$!
until_true "grep -q hostname ls.out" $pid || fail "damaged: no early listing"
open_gate; set +e; wait $pid; rc=$?; set -e
[ $rc = 2 ] || { cat ls.err; fail "damaged: ls exited $rc, expected 2"; }
[ "$(wc -l < ls.err)" = 1 ] && grep -q 'CRC32 mismatch.*what was printed may be wrong' ls.err \
  || { cat ls.err; fail "damaged: not one line saying the listing may be wrong"; }
[ -z "$(cache bad.tar.gz)" ] || [ ! -e "$(cache bad.tar.gz)/state" ] || fail "damaged: a cache state was kept"
nogate; rm -rf "$XDG_CACHE_HOME"
expect_exit 2 gm put bad.tar.gz motd /etc/motd
[ "$(wc -l < last.err)" = 1 ] || { cat last.err; fail "damaged put: not one line"; }
expect_exit 2 gm apply bad.tar.gz ssh --output applied.tar.gz
[ ! -e applied.tar.gz ] || fail "damaged: apply wrote an output"
[ "$(sha bad.tar.gz)" = "$bad_sha" ] && [ "$(temps)" = 0 ] || fail "damaged: the image changed or a temp file was left"
if [ -d "$mp" ]; then
  closed
  gm -q bad.tar.gz "$mp" || fail "damaged: the mount (the damage is not known yet)"
  [ "$(cat "$mp/etc/hostname")" = lazyhost ] || fail "damaged mount: early read"
  log=$(ls "$XDG_CACHE_HOME"/gcemount/mounts/*.log)
  open_gate
  until_true "grep -q 'CRC32 mismatch' '$log'" $$ || { cat "$log"; fail "damaged mount: the damage is not logged"; }
  if cat "$mp/zz/late2.bin" > /dev/null 2>&1; then fail "damaged mount: a read succeeded after the damage"; fi
  set +e; gm -u "$mp" 2> u.err; rc=$?; set -e
  [ $rc = 2 ] || { cat u.err "$log"; fail "damaged mount: unmount exited $rc, expected 2"; }
  grep -q 'nothing was written back' "$log" || { cat "$log"; fail "damaged mount: the log does not say nothing was written back"; }
  [ "$(sha bad.tar.gz)" = "$bad_sha" ] || fail "damaged mount: the image changed"
fi

note "interrupted reading: kill -9 and SIGTERM mid-image, then the next open reads it again"
closed
"$GM_BIN" ls image.tar.gz /etc > ls.out 2>/dev/null & pid=$!
until_true "grep -q hostname ls.out" $pid || fail "no listing before kill -9"
kill -9 $pid; wait $pid 2>/dev/null || true
c=$(cache image.tar.gz)
[ ! -e "$c/state" ] || fail "kill -9 while reading: a state claims the partial cache"
nogate
expect_exit 0 gm ls image.tar.gz /zz
[ "$(cat last.out)" = "$(printf 'late.bin\nlate2.bin')" ] || fail "reopen after kill -9: wrong listing"
grep -q '^status=clean' "$c/state" || fail "reopen after kill -9: the cache is not clean"
ino=$(stat -c %i "$c/disk.raw")
expect_exit 0 gm cat image.tar.gz /zz/late.bin; cmp last.out late.ref || fail "reopen: late.bin"
[ "$(stat -c %i "$c/disk.raw")" = "$ino" ] || fail "the second open of an unchanged image read it again"
[ -z "$(ls -a "$c" | grep '\.tmp$')" ] || fail "litter in the cache: $(ls -a "$c")"
closed
env --default-signal=TERM "$GM_BIN" ls image.tar.gz /etc > ls.out 2> ls.err & pid=$!
until_true "grep -q hostname ls.out" $pid || fail "no listing before SIGTERM"
kill -TERM $pid; set +e; wait $pid; rc=$?; set -e
[ $rc = 143 ] && [ "$(wc -l < ls.err)" = 1 ] || { cat ls.err; fail "SIGTERM while reading: exit $rc"; }
c=$(cache image.tar.gz)
[ ! -e "$c/disk.raw" ] && [ ! -e "$c/state" ] || fail "SIGTERM while reading: the partial cache disk was left"
nogate; expect_exit 0 gm ls image.tar.gz /etc

note "a put killed -9 while the image arrives: its operation is undone at the next open, no edit waits, the image is read again"
# A verb is one operation of the undo log (it_crash): killed before its
# commit, nothing of it stays. Here the log holds bytes saved while the
# image was still arriving (each save waited for its range), and the next
# open replays them onto the partial cache before anything else.
# Each time the cache first holds another image's state, clean or dirty
# (edits a failed write-back left: dropped with --discard): the cache read
# anew must not take it for the state before the put (its undo gives back
# "none", and the next open reads the image again).
for point in undo-save:1 undo-save:3 wait; do
  closed; nogate; cp put.tar.gz r.tar.gz; discard=
  if [ $point = undo-save:1 ]; then gm ls r.tar.gz / >/dev/null || fail "ls of the other image"
  else
    set +e; "$GM_BIN" put -q r.tar.gz motd /etc/motd2 --output - 2>/dev/null | head -c 1 >/dev/null
    rc=${PIPESTATUS[0]}; set -e
    [ $rc = 4 ] || fail "a write-back to a closed pipe: exit $rc"
    grep -qs '^status=dirty' "$(cache r.tar.gz)/state" || fail "no dirty cache to discard"
    discard=--discard
  fi
  cp image.tar.gz r.tar.gz; rm -f "$gate"; export GM_TEST_EXTRACT_GATE="$gate_at:$gate"
  if [ $point = wait ]; then
    "$GM_BIN" put -q $discard r.tar.gz motd /etc/motd 2>/dev/null & pid=$!
    # killed once its edit is made and it waits for the rest of the image
    # (its main thread asleep in a futex: nothing else of the put sleeps there)
    until_true "grep -qs '^partial=1' $XDG_CACHE_HOME/gcemount/*-r.tar.gz/state && in_syscall $pid 202" $pid \
      || fail "the put made no edit while reading"
  else
    GM_TEST_STOP_AT=$point "$GM_BIN" put -q $discard r.tar.gz motd /etc/motd 2>/dev/null & pid=$!
    wait_stopped $pid || fail "put ended before $point"
  fi
  [ -e "$(cache r.tar.gz)/undo" ] || fail "killed at $point: no undo log"
  grep -qs '^status=clean' "$(cache r.tar.gz)/state" && fail "killed at $point: a clean state before the image was read"
  kill -9 $pid; wait $pid 2>/dev/null || true
  nogate
  expect_exit 0 gm ls r.tar.gz /etc                 # not 6: nothing committed waits
  grep -q motd last.out && fail "killed at $point: the unfinished put shows"
  [ "$(sha r.tar.gz)" = "$(sha image.tar.gz)" ] || fail "killed at $point: the image changed"
  grep -q '^status=clean' "$(cache r.tar.gz)/state" || fail "killed at $point: the cache is not clean"
  same_bytes disk.ref "$(cache r.tar.gz)/disk.raw" || fail "killed at $point: the cache is not the image's disk"
  e2fsck_clean "$(cache r.tar.gz)/disk.raw"
done

note "a put failing (no space) while the image arrives: the old bytes it saved had arrived first, its undo gives the cache back byte for byte"
# It replaces /zz/late.bin with more than the disk holds: late.bin's blocks,
# freed and allocated again, have their old bytes saved (a verb's undo is
# exact) before the gate lets them arrive — a save must wait for them, or
# the undo would write back what was there before (a hole).
head -c 80M /dev/urandom > huge.bin
cp image.tar.gz f.tar.gz; closed
"$GM_BIN" put -q f.tar.gz huge.bin /zz/late.bin 2> f.err & pid=$!
# the reading parked at the gate (everything before it has arrived) and the
# put asleep in a futex: it waits for a late range
until_true "gated $pid && in_syscall $pid 202" $pid || { cat f.err; fail "the put never waited for late data"; }
open_gate; set +e; wait $pid; rc=$?; set -e
[ $rc = 1 ] && grep -q 'no space' f.err || { cat f.err; fail "put of a file larger than the disk: exit $rc"; }
[ "$(sha f.tar.gz)" = "$(sha image.tar.gz)" ] || fail "the failed put changed the image"
same_bytes disk.ref "$(cache f.tar.gz)/disk.raw" || fail "the failed put's undo did not give the cache back"
e2fsck_clean "$(cache f.tar.gz)/disk.raw"
nogate; expect_exit 0 gm cat f.tar.gz /zz/late.bin; cmp -s last.out late.ref || fail "late.bin differs after the failed put"
rm -f huge.bin

if [ -d "$mp" ]; then
  note "a mount killed -9 while the image arrives: committed writes wait (exit 6), the request in progress is undone, --resume reads the rest without writing over them"
  cp image.tar.gz r.tar.gz; closed; rm -f armed
  GM_TEST_STOP_AT=undo-save@$PWD/armed gm -q r.tar.gz "$mp" || fail "mount"
  echo one > "$mp/etc/one"; sync "$mp/etc/one"
  grep -qs '^partial=1' "$(cache r.tar.gz)/state" || fail "a committed write while reading: the state does not say how far the image was read"
  pid=$(sed -n 3p run/gcemount/*.status)
  [ -n "$pid" ] && kill -0 "$pid" || fail "no server pid in the status file"
  touch armed
  mv "$mp/etc/sshd_config" "$mp/etc/renamed" 2>/dev/null & mvpid=$!
  wait_stopped "$pid" || fail "the rename never reached the server"
  kill -9 "$pid"; wait $mvpid 2>/dev/null || true
  gm -u "$mp" >/dev/null 2>&1 || true
  mountpoint -q "$mp" && { fusermount3 -u -z "$mp" || umount -l "$mp"; }
  nogate
  [ "$(sha r.tar.gz)" = "$(sha image.tar.gz)" ] || fail "a killed session changed the image"
  expect_exit 6 gm ls r.tar.gz /etc
  grep -q 'while the image was still being read' last.err || { cat last.err; fail "exit 6 does not say how the edits were made"; }
  expect_exit 0 gm repack --resume r.tar.gz
  rm -rf x; extract_disk r.tar.gz x; e2fsck_clean x/disk.raw; xs=$(fs_spec x/disk.raw)
  [ "$(debugfs -R 'cat /etc/one' "$xs" 2>/dev/null)" = one ] || fail "--resume: the committed write is missing"
  debugfs -R 'dump /etc/sshd_config sc' "$xs" >/dev/null 2>&1
  [ "$(cat sc)" = "$(printf 'Port 22\nPermitRootLogin yes')" ] || fail "--resume: the killed rename was not undone"
  debugfs -R 'stat /etc/renamed' "$xs" 2>&1 | grep -q 'File not found' || fail "--resume: the killed rename shows"
  debugfs -R 'dump /zz/late.bin l1' "$xs" >/dev/null 2>&1; cmp l1 late.ref || fail "--resume: late.bin differs"
  debugfs -R 'dump /zz/late2.bin l2' "$xs" >/dev/null 2>&1; cmp l2 late2.ref || fail "--resume: late2.bin differs"
  rm -rf x l1 l2 sc
fi

note "GPT: a zeroed backup, a damaged primary"
mkdir -p gtree/etc; echo gpthost > gtree/etc/hostname
make_disk g.raw gtree 64 gpt
python3 - g.raw <<'PY'
import os, sys
f = open(sys.argv[1], "r+b"); size = os.path.getsize(sys.argv[1])
f.seek(size - 33 * 512); f.write(bytes(33 * 512))   # the backup entries and header
PY
make_targz g.raw gz-backup.tar.gz
rm -rf "$XDG_CACHE_HOME"
expect_exit 0 gm ls gz-backup.tar.gz /etc
[ "$(cat last.out)" = hostname ] || fail "zeroed backup: wrong listing"
grep -q 'note: .*backup GPT header.*missing or damaged' last.err || { cat last.err; fail "zeroed backup: not said"; }
gm check gz-backup.tar.gz > check.out 2>&1 || true
grep -q 'backup GPT header' check.out || { cat check.out; fail "check does not name the damaged backup"; }
make_disk g2.raw gtree 64 gpt
python3 - g2.raw <<'PY'
import sys
f = open(sys.argv[1], "r+b"); f.seek(512 + 16); c = f.read(1); f.seek(512 + 16)
f.write(bytes([c[0] ^ 0xff]))                        # the primary header's CRC
PY
make_targz g2.raw gz-primary.tar.gz
expect_exit 0 gm ls gz-primary.tar.gz /etc
[ "$(cat last.out)" = hostname ] || { cat last.err; fail "damaged primary: wrong listing"; }
grep -q 'note: .*primary GPT header is damaged' last.err || { cat last.err; fail "damaged primary: not said"; }
echo "lazy open checks passed"
