#!/bin/bash
# The splice write-back (docs/performance.md) against the full one: for many
# edit patterns and for tarballs compressed in different ways, the spliced
# gzip is valid (gzip -t), its uncompressed stream is byte-identical to the
# --no-splice write-back's, GNU tar and Python tarfile extract the same
# disk.raw, equal to the edited disk, and e2fsck -fn finds the filesystem
# clean. Also: the splice really copied (or, when most changed, fell back),
# a chain of write-backs onto the image itself splices from gzout's own
# index, and tarballs as other tools write them (manifest.json before a
# non-sparse disk.raw, concatenated gzip members, pax sparse 1.0) keep every
# member in its order. SPLICE_ROUNDS=N adds N random patterns (make
# check-splice); correctness only, never timings.
. "$GM_TOP/tests/lib.sh"

DRV="$GM_TOP/${BUILD:-build}/tests/test_splice"
[ -x "$DRV" ] || make -s -C "$GM_TOP" "${BUILD:-build}/tests/test_splice" >/dev/null 2>&1 \
  || skip "cannot build $DRV"
export SOURCE_DATE_EPOCH=1700000000
PY=/usr/bin/python3
cache_disk() { ls "$XDG_CACHE_HOME"/gcemount/*-"$(basename "$1")"/disk.raw; }
ustream() { zcat "$1" | sha256sum | cut -d' ' -f1; }

note "fixture: 32 MiB disk, ext4 with text, random and already-compressed files"
mkdir -p tree/etc tree/usr/share/doc tree/var
for i in $(seq 1 40); do seq $((i * 1000)) $((i * 1000 + 1500)) > "tree/usr/share/doc/f$i.txt"; done
head -c 3M /dev/urandom > tree/var/blob
head -c 1M /dev/urandom | gzip -1 > tree/var/blob.gz
cp -r "$GM_TOP/tests/data/sample-root/etc/." tree/etc/ 2>/dev/null || true
make_disk disk.raw tree 32 mbr
size=$(stat -c %s disk.raw)
spec=$(fs_spec disk.raw)
first=$(debugfs -R "bmap /var/blob 0" "$spec" 2>/dev/null)
last=$(debugfs -R "bmap /var/blob 767" "$spec" 2>/dev/null)
[ $((last - first)) = 767 ] || fail "blob not contiguous ($first..$last)"
blob=$(( GM_PART_OFFSET + first * 4096 ))        # 3 MiB of file data: safe to overwrite
free=$(( size - 4 * 1048576 ))                   # free space near the end (ext4 leaves it empty)

# compressions of the same tar stream
tar --format=oldgnu -Scf plain.tar disk.raw
gzip -6 -n -c plain.tar > gz6.tar.gz
gzip -1 -n -c plain.tar > gz1.tar.gz
gzip -9 -n -c plain.tar > gz9.tar.gz
pigz -6 -n -c plain.tar > pigz.tar.gz
"$PY" - plain.tar <<'PY'
import gzip, sys
data = open(sys.argv[1], "rb").read()
open("stored.tar.gz", "wb").write(gzip.compress(data, compresslevel=0, mtime=0))
# three members, cut at odd places (a tar header and data span the cuts)
cuts = [0, 1234567, 5 * 1048576 + 77, len(data)]
with open("members.tar.gz", "wb") as f:
    for a, b in zip(cuts, cuts[1:]):
        f.write(gzip.compress(data[a:b], compresslevel=6, mtime=0))
PY
rm plain.tar

# run IMG NAME [edits...]: the spliced and the full write-back of the same
# edits; every check above. Prints the splice's stats.
run() {
  local img=$1 name=$2; shift 2
  rm -rf "$XDG_CACHE_HOME"
  "$DRV" drive "$img" "$name.s.tar.gz" "$@" > "$name.stats" || fail "$name: spliced write-back"
  "$DRV" drive "$img" "$name.f.tar.gz" --no-splice "$@" >/dev/null || fail "$name: full write-back"
  gzip -t "$name.s.tar.gz" || fail "$name: gzip -t"
  [ "$(ustream "$name.s.tar.gz")" = "$(ustream "$name.f.tar.gz")" ] \
    || fail "$name: uncompressed stream differs from --no-splice"
  rm -rf "x.$name"; extract_disk "$name.s.tar.gz" "x.$name"
  same_bytes "x.$name/disk.raw" "$(cache_disk "$img")" >/dev/null || fail "$name: disk.raw is not the edited disk"
  e2fsck_clean "x.$name/disk.raw"
  rm -rf "x.$name" "$name.f.tar.gz"
  copied=$(sed -n 's/.*copied=\([0-9]*\).*/\1/p' "$name.stats")
  tarb=$(sed -n 's/tar=\([0-9]*\).*/\1/p' "$name.stats")
}
spliced() { [ "$copied" -gt $((tarb / 2)) ] || fail "$1: expected a splice, copied $copied of $tarb"; }
# located NAME: the splice's block boundaries were found near its junctions
# from the access points of the first open (no whole zlib pass)
located() { grep -q 'index=located' "$1.stats" || { cat "$1.stats"; fail "$1: boundaries not located from the access points"; }; }

# the edits: --edit OFF:LEN:SEED (SEED 0: zeros)
E_first="--edit 0:1:7"
E_last="--edit $((size - 1)):1:8"
E_lastblock="--edit $((size - 512)):512:9"
E_blob="--edit $((blob + 5)):1:1 --edit $((blob + 40000)):70000:2 --edit $((blob + 1048576)):32768:3 --edit $((blob + 2*1048576 + 33)):200000:4"
E_window=""; for k in 1 2 3 4 5 6; do E_window="$E_window --edit $((blob + k * 300000 + k * 32768 - 3)):$((k * 11)):$((10 + k))"; done
E_holes="--edit $free:4096:21 --edit $((free + 65536)):100:22"
E_ext1=""; for k in $(seq 0 11); do E_ext1="$E_ext1 --edit $((free + k * 16384)):4096:$((30 + k))"; done
E_ext3=""; for k in $(seq 0 59); do E_ext3="$E_ext3 --edit $((free + 8192 + k * 32768)):512:$((50 + k))"; done
E_zero="--edit $((blob + 65536)):131072:0"
E_most="--edit $blob:$((3 * 1048576)):99 --edit $((GM_PART_OFFSET + 8 * 1048576)):$((12 * 1048576)):98"

note "edit patterns on a gzip -6 image"
E_ends="$E_first $E_last"
E_holes="$E_holes $E_zero"
for p in ends lastblock blob window holes ext1 ext3; do
  v=E_$p; run gz6.tar.gz "$p" ${!v}; spliced "$p"; located "$p"
done
"$PY" - ext3.s.tar.gz <<'PY' || fail "ext3: the sparse map did not grow past several extension blocks"
import sys, tarfile
m = tarfile.open(sys.argv[1], "r:gz").getmember("disk.raw")
assert len(m.sparse) > 4 + 2 * 21, len(m.sparse)
PY
run gz6.tar.gz most $E_most
[ "$copied" -lt $((tarb / 2)) ] || fail "most: expected the full path, copied $copied of $tarb"

note "other compressions: gzip -1, -9, pigz, stored blocks, concatenated members"
for img in gz1 gz9 pigz stored members; do
  run $img.tar.gz "$img" $E_blob $E_first $E_ext1 $E_lastblock; spliced "$img"; located "$img"
done

note "write-backs onto the image itself: the next splice uses gzout's own index"
for mode in s f; do
  cp gz6.tar.gz chain.$mode.tar.gz
  rm -rf "$XDG_CACHE_HOME"
  extra=; [ $mode = f ] && extra=--no-splice
  "$DRV" drive chain.$mode.tar.gz chain.$mode.tar.gz $extra $E_blob >/dev/null || fail "chain 1 ($mode)"
  "$DRV" drive chain.$mode.tar.gz chain.$mode.tar.gz $extra $E_holes $E_first > chain.$mode.stats \
    || fail "chain 2 ($mode)"
  "$DRV" drive chain.$mode.tar.gz chain.$mode.tar.gz $extra $E_window > chain.$mode.stats \
    || fail "chain 3 ($mode)"
done
grep -q 'copied=[1-9]' chain.s.stats || fail "chain: the third write-back did not splice"
grep -q 'index=saved' chain.s.stats || fail "chain: the third write-back did not use the index the second one saved"
gzip -t chain.s.tar.gz || fail "chain: gzip -t"
[ "$(ustream chain.s.tar.gz)" = "$(ustream chain.f.tar.gz)" ] || fail "chain: streams differ"
rm -rf xc; extract_disk chain.s.tar.gz xc; e2fsck_clean xc/disk.raw

note "through the CLI: put, then --no-splice, --fast"
rm -rf "$XDG_CACHE_HOME"
echo hello > hello.txt
gm put -q gz6.tar.gz hello.txt /etc/hello --output cli.s.tar.gz || fail "put"
rm -rf "$XDG_CACHE_HOME"
gm put -q gz6.tar.gz hello.txt /etc/hello --output cli.f.tar.gz --no-splice || fail "put --no-splice"
[ "$(ustream cli.s.tar.gz)" = "$(ustream cli.f.tar.gz)" ] || fail "put: streams differ"
rm -rf "$XDG_CACHE_HOME"
gm put -q gz6.tar.gz hello.txt /etc/hello --output cli.x.tar.gz --fast --no-splice || fail "put --fast"
[ "$(ustream cli.x.tar.gz)" = "$(ustream cli.f.tar.gz)" ] || fail "--fast: streams differ"
rm -rf xcli; extract_disk cli.s.tar.gz xcli; e2fsck_clean xcli/disk.raw
[ "$(debugfs -R "cat /etc/hello" "$(fs_spec xcli/disk.raw)" 2>/dev/null)" = hello ] || fail "put: content"

note "kill -9 during spliced write-backs onto the image: old or new image"
cp gz6.tar.gz k.tar.gz; rm -rf "$XDG_CACHE_HOME"
"$DRV" drive k.tar.gz k.tar.gz $E_blob > /dev/null || fail "kill: reference"
new=$(sha k.tar.gz); old=$(sha gz6.tar.gz)
for ms in 5 20 40 80 150; do
  cp gz6.tar.gz k.tar.gz; rm -rf "$XDG_CACHE_HOME"
  "$DRV" drive k.tar.gz scratch.tar.gz > /dev/null || fail "kill: warm the cache"   # extract + index
  "$DRV" drive k.tar.gz k.tar.gz $E_blob > /dev/null 2>&1 & pid=$!
  sleep "0.$(printf %03d $ms)"; kill -9 $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
  h=$(sha k.tar.gz)
  [ "$h" = "$old" ] || [ "$h" = "$new" ] || fail "kill after $ms ms: neither old nor new"
  gzip -t k.tar.gz || fail "kill after $ms ms: invalid gzip"
done

note "tarballs other tools write: exporter-like (manifest.json first, not sparse, concatenated members), pax sparse 1.0"
cp disk.raw exp.raw
"$PY" - exp.raw <<'PY'
import gzip, io, json, tarfile, time
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
    m = json.dumps({"exported": "disk.raw", "format": "raw"}).encode()
    ti = tarfile.TarInfo("manifest.json"); ti.size = len(m); ti.mtime = 1700000000
    t.addfile(ti, io.BytesIO(m))
    t.add("exp.raw", arcname="disk.raw")   # not sparse
    ti = tarfile.TarInfo("notes/after.txt"); d = b"kept after disk.raw\n"; ti.size = len(d)
    t.addfile(ti, io.BytesIO(d))
data = buf.getvalue()
step = len(data) // 4 + 333
with open("exporter.tar.gz", "wb") as f:
    for a in range(0, len(data), step):
        f.write(gzip.compress(data[a:a + step], compresslevel=3, mtime=0))
PY
rm -f exp.raw
run exporter.tar.gz exp $E_blob
"$PY" - exp.s.tar.gz <<'PY' || fail "exporter: members not kept in order"
import sys, tarfile
t = tarfile.open(sys.argv[1], "r:gz")
names = t.getnames()
assert names == ["manifest.json", "disk.raw", "notes/after.txt"], names
assert b'"exported"' in t.extractfile("manifest.json").read()
assert t.extractfile("notes/after.txt").read() == b"kept after disk.raw\n"
PY
[ "$copied" -gt 0 ] || fail "exporter: nothing copied (members before disk.raw)"
# and a later write-back of it (now old-GNU sparse) splices
mkdir pax; cp --sparse=always disk.raw pax/disk.raw
tar --format=pax --sparse-version=1.0 -Sczf pax.tar.gz -C pax disk.raw
rm -rf "$XDG_CACHE_HOME"
gm check --json pax.tar.gz > pax.json 2>/dev/null || true
grep -q 'pax format' pax.json || fail "check does not flag the pax sparse tarball"
run pax.tar.gz pax $E_blob
tarfmt=$("$PY" -c "import tarfile,sys; t=tarfile.open(sys.argv[1]); m=t.getmember('disk.raw'); print(m.type)" pax.s.tar.gz)
[ "$tarfmt" = "b'S'" ] || fail "pax: not written back as an old-GNU sparse entry ($tarfmt)"

rounds=${SPLICE_ROUNDS:-0}
if [ "$rounds" -gt 0 ]; then
  note "$rounds random patterns"
  for r in $(seq 1 "$rounds"); do
    args=$("$PY" - $r $blob $free $size <<'PY'
import random, sys
r, blob, free, size = map(int, sys.argv[1:])
rnd = random.Random(r)
out = []
for _ in range(rnd.randint(1, 12)):
    where = rnd.choice(["blob", "free", "tail"])
    n = rnd.choice([1, 7, 512, 4096, 32767, 32768, 32769, 65536, 200000])
    if where == "blob": off = blob + rnd.randrange(0, 3 * 1048576 - n)
    elif where == "free": off = free + rnd.randrange(0, 3 * 1048576 - n)
    else: off = size - n
    out.append(f"--edit {off}:{n}:{rnd.choice([0, rnd.randint(1, 10**6)])}")
print(" ".join(out))
PY
)
    img=$(printf '%s\n' gz6 gz1 gz9 pigz stored members | shuf -n1 --random-source=<(yes $r))
    run $img.tar.gz "rnd$r" $args
  done
fi
echo "splice checks passed"
