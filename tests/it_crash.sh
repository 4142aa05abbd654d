#!/bin/bash
# it_crash.sh — a killed gcemount never leaves a half-done operation (issue
# 9 §1, §4): the undo log is on disk and written ahead, so kill -9 at any
# point of a verb leaves the image and the cache as before the verb (a
# tar.gz: unchanged, the next plain run works, no exit 6), a raw disk is
# put back in place by the next open (one line says so), and a mount
# session killed in the middle of a request loses that request only: the
# ones before stay for --resume. The kill points are named stops of the
# process (GM_TEST_STOP_AT: it stops itself there, then gets SIGKILL), every
# save of old bytes of the operation in turn, and the write-back's steps.
# Every result is checked with e2fsck -fn and against the bytes before.
source "$GM_TOP/tests/lib.sh"
[ -x "$GM_BIN" ] || skip "no $GM_BIN"

# kill_at POINT ARGS...: gcemount ARGS stopped at POINT and killed -9.
# False (and nothing killed) when it ended before reaching POINT.
kill_at() {
  local point=$1 pid; shift
  GM_TEST_STOP_AT=$point "$GM_BIN" "$@" >/dev/null 2>kill.err & pid=$!
  if ! wait_stopped $pid; then wait $pid || { cat kill.err; fail "$* failed"; }; return 1; fi
  kill -9 $pid; wait $pid 2>/dev/null || true
  return 0
}

mkdir -p tree/etc tree/home; echo v1 > tree/etc/version
head -c 300000 /dev/urandom > tree/home/blob
for i in $(seq 40); do echo "file $i" > tree/etc/f$i; done
make_disk disk.raw tree 64 mbr
head -c 700000 /dev/urandom > new.bin
cache_disk() { echo "$XDG_CACHE_HOME"/gcemount/*-$1/disk.raw; }

note "tar.gz: put killed -9 at every save of old bytes: image and cache as before, next run plain"
make_targz disk.raw img.tar.gz
gm ls img.tar.gz / >/dev/null
orig=$(sha img.tar.gz); cp img.tar.gz orig.tar.gz
cp --sparse=always "$(cache_disk img.tar.gz)" cache0.raw
n=0
for k in $(seq 200); do
  kill_at undo-save:$k put img.tar.gz new.bin /home/new.bin || { cp orig.tar.gz img.tar.gz; break; }
  [ "$(sha img.tar.gz)" = "$orig" ] || fail "killed at save $k: the image changed"
  expect_exit 0 gm ls img.tar.gz /home                  # not 6: nothing committed waits
  grep -q new.bin last.out && fail "killed at save $k: the unfinished put shows"
  same_bytes cache0.raw "$(cache_disk img.tar.gz)" || fail "killed at save $k: the cache is not as before"
  n=$k
done
[ $n -ge 3 ] || fail "put made only $n saves"
e2fsck_clean "$(cache_disk img.tar.gz)"
note "$n kill points, every one undone"

note "tar.gz: killed in the write-back: before the rename as before, after it the new image"
kill_at output-temp put img.tar.gz new.bin /home/new.bin || fail "no temp file stage"
[ "$(sha img.tar.gz)" = "$orig" ] || fail "killed with a temp file: the image changed"
expect_exit 0 gm ls img.tar.gz /home
grep -q new.bin last.out && fail "killed with a temp file: the unfinished put shows"
ls -a | grep -q '\.img\.tar\.gz\.gcemount-' && fail "temp file left after the next open"
same_bytes cache0.raw "$(cache_disk img.tar.gz)" || fail "killed with a temp file: the cache is not as before"
for point in output-renamed undo-commit; do
  cp orig.tar.gz img.tar.gz
  kill_at $point put img.tar.gz new.bin /home/new.bin || fail "no $point stage"
  [ "$(sha img.tar.gz)" != "$orig" ] || fail "killed at $point: the image is the old one"
  expect_exit 0 gm cat img.tar.gz /home/new.bin
  cmp -s last.out new.bin || fail "killed at $point: the new image (or its cache) lacks the put"
  rm -rf x; extract_disk img.tar.gz x; e2fsck_clean x/disk.raw; rm -rf x
done

note "raw disk: put and rm killed -9 at every save: the next open puts the disk back (one line)"
cp disk.raw raw.img; cp --sparse=always raw.img raw0.img
n=0
for k in $(seq 200); do
  kill_at undo-save:$k put raw.img new.bin /home/new.bin || { cp --sparse=always raw0.img raw.img; break; }
  expect_exit 0 gm ls raw.img /home
  [ "$(grep -c 'undid the unfinished edit of an interrupted gcemount (pid [0-9]*): the disk is as it was before that command' last.err)" = 1 ] \
    || { cat last.err; fail "killed at save $k: no one line saying the disk was put back"; }
  grep -q new.bin last.out && fail "killed at save $k: the unfinished put shows"
  same_bytes raw0.img raw.img || fail "raw disk killed at save $k: not restored byte for byte"
  n=$k
done
[ $n -ge 3 ] || fail "put on the raw disk made only $n saves"
gm put -q raw.img new.bin /home/new.bin; cp --sparse=always raw.img raw1.img
for k in 1 2 4 8 16; do
  kill_at undo-save:$k rm -r raw.img /etc || fail "rm -r made fewer than $k saves"
  expect_exit 0 gm ls raw.img /etc
  same_bytes raw1.img raw.img || fail "rm -r killed at save $k: not restored"
done
e2fsck_clean raw.img
note "$n kill points of put, every one undone in place"

note "raw disk: SIGTERM in the middle puts it back at once (no next open needed)"
GM_TEST_STOP_AT=undo-save:3 env --default-signal=TERM "$GM_BIN" put raw.img new.bin /etc/x 2>sig.err & pid=$!
wait_stopped $pid || fail "put ended before its third save"
kill -TERM $pid; kill -CONT $pid; set +e; wait $pid; rc=$?; set -e
[ $rc = 143 ] || { cat sig.err; fail "exit $rc"; }
grep -q '^gcemount: raw.img: terminated (SIGTERM); the image is unchanged$' sig.err || { cat sig.err; fail "message"; }
same_bytes raw1.img raw.img || fail "SIGTERM left the raw disk changed"

note "a mount session killed -9 in the middle of a request: that request undone, the ones before kept for --resume"
if [ ! -e /dev/fuse ] || [ "$(id -u)" != 0 ]; then
  note "SKIPPED: needs /dev/fuse as root (it_mount_user covers the unprivileged mount)"
  echo "crash checks passed"; exit 0
fi
export XDG_RUNTIME_DIR=$PWD/run; mkdir -m 0700 run
mp=$PWD/mnt; mkdir "$mp"
cleanup() { mountpoint -q "$mp" && { fusermount3 -u -z "$mp" || umount -l "$mp"; }; true; }
trap cleanup EXIT
make_targz disk.raw m.tar.gz; morig=$(sha m.tar.gz)
GM_TEST_STOP_AT=undo-save@$PWD/armed gm m.tar.gz "$mp"
echo one > "$mp/etc/one"; sync "$mp/etc/one"
mkdir "$mp/newdir"; sync "$mp/newdir"
pid=$(sed -n 3p run/gcemount/*.status)
[ -n "$pid" ] && kill -0 "$pid" || fail "no server pid in the status file"
touch armed
mv "$mp/etc/version" "$mp/etc/renamed" 2>/dev/null & mvpid=$!
wait_stopped "$pid" || fail "the rename never reached the server"
kill -9 "$pid"; wait $mvpid 2>/dev/null || true
gm -u "$mp" >/dev/null 2>&1 || true
cleanup
[ "$(sha m.tar.gz)" = "$morig" ] || fail "a killed session changed the image"
expect_exit 6 gm ls m.tar.gz /etc                  # committed requests wait
grep -q -- '--resume' last.err || fail "exit 6 message: $(cat last.err)"
expect_exit 0 gm repack --resume m.tar.gz
rm -rf x; extract_disk m.tar.gz x; e2fsck_clean x/disk.raw
spec=$(fs_spec x/disk.raw)
[ "$(debugfs -R 'cat /etc/one' "$spec" 2>/dev/null)" = one ] || fail "a committed write was lost"
debugfs -R 'stat /newdir' "$spec" 2>/dev/null | grep -q 'Type: directory' || fail "a committed mkdir was lost"
[ "$(debugfs -R 'cat /etc/version' "$spec" 2>/dev/null)" = v1 ] || fail "the killed rename was not undone"
debugfs -R 'stat /etc/renamed' "$spec" 2>&1 | grep -q 'File not found' || fail "the killed rename shows"
echo "crash checks passed"
