#!/bin/bash
# Write-back never damages the image: a failing write-back (read-only or full
# filesystem, missing directory) leaves the target untouched and no temp file;
# SIGKILL at any moment of a write-back leaves the old or the new image, both
# valid, and the next open removes a leftover temp file.
. "$GM_TOP/tests/lib.sh"

PY=$(command -v /usr/bin/python3 || command -v python3)
DRV="$GM_TOP/${BUILD:-build}/tests/test_image"
[ -x "$DRV" ] || make -s -C "$GM_TOP" "${BUILD:-build}/tests/test_image" >/dev/null 2>&1 \
  || skip "cannot build $DRV"
export SOURCE_DATE_EPOCH=1700000000
drv() { "$DRV" drive "$@"; }
temps() { ls -a "${1:-.}" | grep -c '^\..*\.gcemount-......$' || true; }
mounts=()
cleanup() { for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done; }
trap cleanup EXIT
can_mount=1
mkdir -p mnt_probe && mount -t tmpfs -o size=64k tmpfs mnt_probe 2>/dev/null && umount mnt_probe || can_mount=0

note "fixture: 64 MiB sparse disk, 8 MiB of random data (slow enough to interrupt)"
truncate -s 64M disk.raw
head -c 8M /dev/urandom | dd of=disk.raw bs=1M seek=8 conv=notrunc status=none
make_targz disk.raw orig.tar.gz
old=$(sha orig.tar.gz)
cp orig.tar.gz ref.tar.gz
t0=$(date +%s%N); drv write ref.tar.gz 4096 "new-content" || fail "reference write-back"
t1=$(date +%s%N); new=$(sha ref.tar.gz)
full_ms=$(( (t1 - t0) / 1000000 )); note "one open+write-back takes ${full_ms} ms"
[ "$old" != "$new" ] || fail "write-back changed nothing"
cp orig.tar.gz ref0.tar.gz; drv repack ref0.tar.gz; old_repacked=$(sha ref0.tar.gz)
new_u=$(zcat ref.tar.gz | sha256sum | cut -d' ' -f1)
old_repacked_u=$(zcat ref0.tar.gz | sha256sum | cut -d' ' -f1)

note "SIGKILL at 12 points of a write-back: old or new image, valid, temp cleaned on next open"
n_old=0 n_new=0 n_temp=0 n_resumed=0
for i in $(seq 1 12); do
  cp orig.tar.gz img.tar.gz
  drv open img.tar.gz --discard >/dev/null || fail "reset cache"
  ms=$(( full_ms * i / 8 ))   # 1/8 .. 1.5 of a full run
  "$DRV" drive write img.tar.gz 4096 "new-content" & pid=$!
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  kill -9 $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
  h=$(sha img.tar.gz)
  if [ "$h" = "$old" ]; then n_old=$((n_old+1))
  elif [ "$h" = "$new" ]; then n_new=$((n_new+1))
  else fail "kill after ${ms} ms left an image that is neither old nor new"; fi
  gzip -t img.tar.gz || fail "kill after ${ms} ms: image not valid gzip"
  t=$(temps); n_temp=$((n_temp + t))
  # the killed session may have left dirty edits: the next open says so, and cleans temps
  set +e; drv open img.tar.gz >/dev/null 2>last.err; rc=$?; set -e
  [ $rc -eq 0 ] || [ $rc -eq 11 ] || { cat last.err; fail "reopen after kill: exit $rc"; }
  [ "$(temps)" = 0 ] || fail "temp file left after the next open"
  if [ $rc -eq 11 ] && [ $n_resumed -lt 3 ]; then  # resume finishes the job: the new image
    n_resumed=$((n_resumed+1))
    drv repack img.tar.gz --resume || fail "resume after kill"
    # new, or (killed between marking dirty and writing) the old disk repacked
    # (compared uncompressed: a resumed session recompresses everything,
    # the reference spliced the original's deflate blocks)
    h=$(zcat img.tar.gz | sha256sum | cut -d' ' -f1)
    [ "$h" = "$new_u" ] || [ "$h" = "$old_repacked_u" ] || fail "resume after kill gave another image"
  fi
done
note "outcomes: $n_old old, $n_new new, $n_temp temp files left by kills (all cleaned)"
rm -rf x; extract_disk img.tar.gz x

note "output directory missing or read-only: clear error, image and cache untouched"
cp orig.tar.gz img.tar.gz; drv open img.tar.gz --discard >/dev/null
expect_exit 2 drv write img.tar.gz 4096 "x" --output no/such/dir/out.tar.gz
grep -q 'img.tar.gz: cannot create a temp file beside no/such/dir/out.tar.gz' last.err \
  || { cat last.err; fail "message for a missing directory"; }
[ "$(sha img.tar.gz)" = "$old" ] || fail "image changed"
if [ $can_mount = 1 ]; then
  mkdir ro; mount -t tmpfs -o size=1m,ro tmpfs ro; mounts+=("$PWD/ro")
  expect_exit 30 drv repack img.tar.gz --resume --output ro/out.tar.gz
  grep -q 'Read-only file system' last.err || { cat last.err; fail "EROFS message"; }
  [ "$(sha img.tar.gz)" = "$old" ] || fail "image changed"

  note "full filesystem (1 MiB tmpfs): ENOSPC, image untouched, no temp, edits kept"
  mkdir full; mount -t tmpfs -o size=1m tmpfs full; mounts+=("$PWD/full")
  truncate -s 16M small.raw; printf 'small' | dd of=small.raw conv=notrunc status=none
  make_targz small.raw full/img.tar.gz
  before=$(sha full/img.tar.gz)
  head -c 3M /dev/urandom > rnd
  expect_exit 28 drv write full/img.tar.gz 8192 @rnd
  grep -q 'no space left writing' last.err || { cat last.err; fail "ENOSPC message"; }
  grep -q 'image is unchanged' last.err || fail "ENOSPC message does not reassure"
  [ "$(sha full/img.tar.gz)" = "$before" ] || fail "image changed by a failed write-back"
  [ "$(temps full)" = 0 ] || fail "temp file left on the full filesystem"
  expect_exit 11 drv open full/img.tar.gz   # the edits are still in the cache
  drv repack full/img.tar.gz --resume --output big.tar.gz || fail "edits lost after ENOSPC"
  extract_disk big.tar.gz bx
  cmp -n $((3<<20)) -i 0:8192 rnd bx/disk.raw || fail "edit missing after ENOSPC + resume"

  note "cache filesystem too small for the disk's data: ENOSPC before extracting"
  mkdir smallcache; mount -t tmpfs -o size=2m tmpfs smallcache; mounts+=("$PWD/smallcache")
  expect_exit 28 drv open big.tar.gz --cache smallcache
  grep -q 'big.tar.gz: disk.raw holds [0-9]* bytes of data but the cache .* has only' last.err \
    || { cat last.err; fail "cache ENOSPC message"; }
else
  note "SKIPPED the tmpfs parts: cannot mount (not root?)"
fi
echo "write-back safety checks passed"
