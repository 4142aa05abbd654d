#!/bin/bash
# The image container (editor/container/image.c): tar.gz in every format GCE users meet,
# sparse extraction, write-back checked by GNU tar AND Python tarfile, the
# cache (reuse, dirty state, recovery), locks, and input validation.
# Driven by build/tests/test_image's "drive" mode (see tests/test_image.c).
. "$GM_TOP/tests/lib.sh"

# python3 via pyenv shims costs ~2 s a call: prefer the system one
PY=$(command -v /usr/bin/python3 || command -v python3)
DRV="$GM_TOP/${BUILD:-build}/tests/test_image"
[ -x "$DRV" ] || make -s -C "$GM_TOP" "${BUILD:-build}/tests/test_image" >/dev/null 2>&1 \
  || skip "cannot build $DRV"
export SOURCE_DATE_EPOCH=1700000000
drv() { "$DRV" drive "$@"; }
step() { note "[${SECONDS}s] $*"; }
cache_disk() { ls "$XDG_CACHE_HOME"/gcemount/*-"$(basename "$1")"/disk.raw; }

scmp() { "$PY" "$GM_TOP/tests/tools/sparsecmp.py" "$@"; }
# extract_both TGZ DIR: like lib.sh's extract_disk (GNU tar AND Python tarfile
# must agree) but compares sparse-aware, so 10 GiB disks cost nothing.
extract_both() {
  local tgz=$1 dir=$2
  mkdir -p "$dir/gnu" "$dir/py"
  tar -xSzf "$tgz" -C "$dir/gnu" disk.raw || fail "GNU tar cannot extract $tgz"
  "$PY" - "$tgz" "$dir/py" <<'PY' || fail "Python tarfile cannot extract $tgz"
import sys, tarfile
with tarfile.open(sys.argv[1], "r:gz") as t:
    kw = {"filter": "fully_trusted"} if hasattr(tarfile, "data_filter") else {}
    t.extract("disk.raw", sys.argv[2], **kw)
PY
  scmp "$dir/gnu/disk.raw" "$dir/py/disk.raw" || fail "GNU tar and Python tarfile disagree on $tgz"
  mv "$dir/gnu/disk.raw" "$dir/disk.raw"; rm -rf "$dir/gnu" "$dir/py"
}

# verify TGZ DISK: GNU tar and Python both give DISK back, the map is exact
# (no zero block stored, every data block in it), tar -tvzf lists it.
verify() {
  local tgz=$1 disk=$2
  rm -rf vx; extract_both "$tgz" vx
  scmp vx/disk.raw "$disk" || fail "$tgz: extracted disk.raw differs from $disk"
  "$PY" "$GM_TOP/tests/tools/tarcheck.py" "$tgz" "$disk" >map.out || fail "$tgz: bad sparse map"
  # holes where the map says: the extracted copy is no bigger on disk than the map
  local stored du_k; stored=$(sed -n 's/.*stored=//p' map.out); du_k=$(du -k vx/disk.raw | cut -f1)
  [ "$du_k" -le $(( stored / 1024 + 64 )) ] || fail "$tgz: extracted disk uses ${du_k}K, map stores $stored"
  tar -tvzf "$tgz" > list.out || fail "tar -tvzf $tgz"
  grep -q ' disk\.raw$' list.out || fail "tar -tvzf does not list disk.raw"
  rm -rf vx
}

step "fixtures: an ext4 disk (MBR, 64 MiB) in oldgnu sparse, plain, gnu, pax, ustar tarballs"
mkdir -p tree/etc; echo hello > tree/etc/motd
make_disk disk.raw tree 64 mbr
for fmt in oldgnu gnu pax; do make_targz disk.raw "$fmt.tar.gz" "$fmt"; done
d=$(mktemp -d "$PWD/p.XXXX"); cp disk.raw "$d/"
tar --format=oldgnu -czf plain.tar.gz -C "$d" disk.raw   # no -S: zeros stored as data
tar --format=ustar -czf ustar.tar.gz -C "$d" disk.raw    # ustar has no sparse entries
rm -rf "$d"

for img in oldgnu gnu pax ustar plain; do
  drv open $img.tar.gz > info.out || fail "open $img.tar.gz"
  grep -qx 'container=targz' info.out || fail "$img: not seen as targz"
  grep -qx "disk_size=$((64<<20))" info.out || fail "$img: wrong disk size"
  want=$img; case $img in gnu|plain) want=oldgnu ;; esac
  grep -qx "format=$want" info.out || { cat info.out; fail "$img: format not $want"; }
  scmp "$(cache_disk $img.tar.gz)" disk.raw || fail "$img: cache disk differs from the source disk"
  # all-zero blocks of the plain (non-sparse) entry must not be written as data
  [ "$(du -k "$(cache_disk $img.tar.gz)" | cut -f1)" -le $(( $(du -k disk.raw | cut -f1) + 64 )) ] \
    || fail "$img: cache disk is not sparse"
  # edit outside the filesystem (MBR gap), write back, check with both tars
  drv write $img.tar.gz 40960 "edited-$img" || fail "write-back of $img"
  verify $img.tar.gz "$(cache_disk $img.tar.gz)"
  drv open $img.tar.gz | grep -qx 'format=oldgnu' || fail "$img: not oldgnu after write-back"
  e2fsck -fn "$(cache_disk $img.tar.gz)?offset=$GM_PART_OFFSET" >e2fsck.log 2>&1 || { cat e2fsck.log; fail "$img: e2fsck"; }
done
grep -qx 'sparse=0' <(drv open plain.tar.gz) || true

step "other members are kept: name, mode, owner, mtime, type, content"
mkdir -p m/docs; cp disk.raw m/; echo "license text" > m/docs/LICENSE; chmod 640 m/docs/LICENSE
ln -s docs/LICENSE m/link; ln m/docs/LICENSE m/hard; long=$(printf 'n%.0s' $(seq 1 150)); echo long > "m/docs/$long"
touch -h -d @1600000000 m/docs/LICENSE m/link m/docs/$long m/docs
tar --format=oldgnu -Sczf members.tar.gz --owner=1234 --group=99 -C m docs/ disk.raw link hard
tar -tv --full-time -zf members.tar.gz | grep -v ' disk\.raw$' > before.lst
tar -tzf members.tar.gz > before.names
drv open members.tar.gz | grep -qx 'members=6' || fail "members not counted"
drv write members.tar.gz 40960 "with-members" || fail "write-back with members"
verify members.tar.gz "$(cache_disk members.tar.gz)"
tar -tv --full-time -zf members.tar.gz | grep -v ' disk\.raw$' > after.lst
diff before.lst after.lst || fail "members changed"
tar -tzf members.tar.gz | diff - before.names || fail "member order changed"
mkdir mx; tar -xzf members.tar.gz -C mx docs link
cmp mx/docs/LICENSE m/docs/LICENSE && cmp "mx/docs/$long" "m/docs/$long" || fail "member content"
[ "$(readlink mx/link)" = docs/LICENSE ] || fail "symlink target"
rm "$(dirname "$(cache_disk members.tar.gz)")"/members/1   # a kept member lost: re-extract
drv repack members.tar.gz || fail "repack after a lost member"
tar -tv --full-time -zf members.tar.gz | grep -v ' disk\.raw$' | diff before.lst - || fail "members after re-extract"

step "a 10 GiB sparse disk, data beyond 8 GiB (base-256), 60 regions (chained extension blocks), ending in a hole"
"$PY" - <<'PY'
import os
with open("big.raw", "wb") as f:
    f.truncate(10 << 30)
    for i in range(60):
        f.seek(i * (170 << 20) + 4096 * (i % 3)); f.write(os.urandom(3000 + i))
PY
d=$(mktemp -d "$PWD/b.XXXX"); mv big.raw "$d/disk.raw"; tar --format=oldgnu -Sczf big.tar.gz -C "$d" disk.raw; rm -rf "$d"
drv open big.tar.gz | grep -qx "disk_size=$((10<<30))" || fail "10 GiB disk size"
drv write big.tar.gz $(( (9<<30) + 512 )) "beyond-8GiB" || fail "big write-back"
verify big.tar.gz "$(cache_disk big.tar.gz)"
"$PY" - big.tar.gz <<'PY' || fail "big map: expected > 25 regions"
import sys, tarfile
m = tarfile.open(sys.argv[1], "r:gz").getmember("disk.raw")
assert len(m.sparse) > 25 and m.size == 10 << 30   # (Python drops the final 0-length entry)
assert any(o >= 8 << 30 for o, n in m.sparse)
PY

step "a disk whose size is not a multiple of 4 KiB, data in its last 512 bytes"
d=$(mktemp -d "$PWD/o.XXXX"); truncate -s $(( (1<<20) + 512 )) "$d/disk.raw"
printf 'tail' | dd of="$d/disk.raw" bs=512 seek=2048 conv=notrunc status=none
tar --format=oldgnu -Sczf odd4k.tar.gz -C "$d" disk.raw; rm -rf "$d"
drv write odd4k.tar.gz 1024 "head" || fail "odd-size write-back"
verify odd4k.tar.gz "$(cache_disk odd4k.tar.gz)"

step "holes: free ranges are dropped where the disk changed, the original's map kept elsewhere; --gnu output; determinism"
drv write oldgnu.tar.gz 1048576 "in-a-free-block" --output a.tar.gz --hole 1048576:8192 || fail "holes"
rm -rf hx; extract_both a.tar.gz hx
[ -z "$(dd if=hx/disk.raw bs=4096 skip=256 count=1 status=none | tr -d '\0')" ] || fail "hole kept data"
# the second free block was not written: it keeps the original's bytes (docs/performance.md)
cmp <(dd if=hx/disk.raw bs=4096 skip=257 count=1 status=none) \
    <(dd if="$(cache_disk oldgnu.tar.gz)" bs=4096 skip=257 count=1 status=none) \
  || fail "an unchanged block outside the edit lost its data"
drv write oldgnu.tar.gz 1048576 "in-a-free-block" --output b.tar.gz --hole 1048576:8192 || fail "holes b"
cmp a.tar.gz b.tar.gz || fail "two write-backs with SOURCE_DATE_EPOCH differ"
drv repack oldgnu.tar.gz --output g.tar.gz --gnu || fail "gnu output"
verify g.tar.gz "$(cache_disk oldgnu.tar.gz)"
# byte-identical to GNU tar for a disk without all-zero data blocks
rm -rf gt; mkdir gt; cp --sparse=always "$(cache_disk big.tar.gz)" gt/disk.raw
chmod 644 gt/disk.raw; touch -d @$SOURCE_DATE_EPOCH gt/disk.raw
tar --format=oldgnu --owner=0 --group=0 -Scf gnu.tar -C gt disk.raw   # ends in a hole: tail entry
drv repack big.tar.gz --output mine.tar.gz
gunzip -c mine.tar.gz | cmp - gnu.tar || fail "uncompressed tar differs from GNU tar's"

step "raw images: write-back is fsync; --output gives a sparse copy or a tar.gz"
cp --sparse=always disk.raw raw.img
drv write raw.img 40960 "raw-edit" || fail "raw write"
[ "$(dd if=raw.img bs=1 skip=40960 count=8 status=none)" = raw-edit ] || fail "raw edit not in place"
drv repack raw.img --output raw.tar.gz && verify raw.tar.gz raw.img
drv repack raw.img --output copy.img && scmp copy.img raw.img || fail "raw sparse copy"
[ "$(du -k copy.img | cut -f1)" -le $(( $(du -k raw.img | cut -f1) + 64 )) ] || fail "raw copy not sparse"

step "cache reuse: a clean cache with the same image identity is not extracted again"
# (the cache disk's ctime changes whenever it is re-created)
t1=$(stat -c %z "$(cache_disk oldgnu.tar.gz)"); sleep 0.01
drv open oldgnu.tar.gz >/dev/null; t2=$(stat -c %z "$(cache_disk oldgnu.tar.gz)")
[ "$t1" = "$t2" ] || fail "clean cache re-extracted"
touch oldgnu.tar.gz   # new identity: must re-extract
drv open oldgnu.tar.gz >/dev/null; t3=$(stat -c %z "$(cache_disk oldgnu.tar.gz)")
[ "$t1" != "$t3" ] || fail "changed image not re-extracted"
printf X | dd of="$(cache_disk oldgnu.tar.gz)" bs=1 seek=100 conv=notrunc status=none
drv open oldgnu.tar.gz >/dev/null; cmp -n 4096 "$(cache_disk oldgnu.tar.gz)" disk.raw \
  || fail "a tampered clean cache was trusted"

step "lock: a second opener gets EBUSY naming the holder; read-only opens share"
coproc HOLD { exec "$DRV" drive hold gnu.tar.gz; }
read -r line <&"${HOLD[0]}"; [ "$line" = ready ] || fail "holder did not start"
expect_exit 16 drv open gnu.tar.gz
grep -q "in use by another gcemount (pid $HOLD_PID)" last.err || { cat last.err; fail "EBUSY message"; }
expect_exit 16 drv open gnu.tar.gz --ro
kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null || true
coproc RO { exec "$DRV" drive hold gnu.tar.gz --ro; }
read -r line <&"${RO[0]}"
drv open gnu.tar.gz --ro >/dev/null || fail "two read-only opens"
expect_exit 16 drv open gnu.tar.gz
kill "$RO_PID"; wait "$RO_PID" 2>/dev/null || true

step "interrupted session: dirty cache -> EAGAIN; --resume keeps, --discard drops"
cp ustar.tar.gz intr.tar.gz
drv write intr.tar.gz 40960 "unsaved" --no-writeback
expect_exit 11 drv open intr.tar.gz
grep -q 'unsaved edits from an interrupted session (pid [0-9]*, 20..-..-.. ..:..:.. UTC)' last.err \
  || { cat last.err; fail "EAGAIN message"; }
grep -q -- '--resume' last.err && grep -q -- '--discard' last.err || fail "message lacks the options"
drv open intr.tar.gz --resume | grep -qx resumed=1 || fail "resume"
drv repack intr.tar.gz --resume || fail "resume + write-back"
rm -rf ix; extract_both intr.tar.gz ix
[ "$(dd if=ix/disk.raw bs=1 skip=40960 count=7 status=none)" = unsaved ] || fail "resumed edit lost"
drv open intr.tar.gz | grep -qx resumed=0 || fail "clean after write-back"
drv write intr.tar.gz 40960 "dropped" --no-writeback
drv open intr.tar.gz --discard >/dev/null || fail "discard"
[ "$(dd if="$(cache_disk intr.tar.gz)" bs=1 skip=40960 count=7 status=none)" = unsaved ] \
  || fail "discard did not re-extract"

step "bad input: one clear line naming the file, exit EINVAL (22) / ENOSPC"
echo "hello" > notgz.tar.gz;            expect_exit 22 drv open notgz.tar.gz
grep -q 'notgz.tar.gz: not gzip' last.err || fail "not gzip message"
head -c -200 big.tar.gz > trunc.tar.gz;  expect_exit 22 drv open trunc.tar.gz
grep -q 'trunc.tar.gz: truncated or corrupt' last.err || { cat last.err; fail "truncated message"; }
echo hi > x; gzip -c x > nottar.tar.gz;  expect_exit 22 drv open nottar.tar.gz
grep -q 'not a tar archive' last.err || { cat last.err; fail "not a tar message"; }
tar -czf nodisk.tar.gz x;                expect_exit 22 drv open nodisk.tar.gz
grep -q 'no disk.raw' last.err || fail "no disk.raw message"
d=$(mktemp -d "$PWD/t.XXXX"); truncate -s 1M "$d/disk.raw"
tar -czf two.tar.gz -C "$d" disk.raw disk.raw; expect_exit 22 drv open two.tar.gz
grep -q 'two disk.raw members' last.err || fail "two disk.raw message"
truncate -s 1000 "$d/disk.raw"; tar -czf odd.tar.gz -C "$d" disk.raw; expect_exit 22 drv open odd.tar.gz
grep -q 'not a multiple of 512' last.err || fail "size message"
truncate -s 3T "$d/disk.raw"; tar --format=oldgnu -Sczf huge.tar.gz -C "$d" disk.raw
expect_exit 22 drv open huge.tar.gz; grep -q 'more than 2 TiB' last.err || fail "2 TiB message"
rm -rf "$d"
echo "all container checks passed"
