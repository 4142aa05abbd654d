#!/bin/bash
# it_enospc.sh — a full filesystem is an answer, never damage (issue 9 §1).
#   - put running out of space at many points (new files, replaced files,
#     1 KiB and 4 KiB blocks): exit 1, the image untouched, the cache byte
#     for byte as before, the old file's content kept;
#   - apply on a full disk: exit 1, nothing written;
#   - the last-block delete: a file holding the filesystem's last block
#     removed with rm and through the mount (libext2fs 1.47.0's ext2fs_punch
#     fails there), 1 KiB and 4 KiB blocks;
#   - a mount filled up with files of random sizes, some deleted, filled
#     again, unmounted: e2fsck -fn clean and the written tree (debugfs rdump)
#     equal to what the mount showed;
#   - an inconsistency during a mount: write-back refused (exit 4) until
#     --resume repairs it.
. "$GM_TOP/tests/lib.sh"
[ -x "$GM_BIN" ] || skip "no $GM_BIN"

# ---------------------------------------------------------------- helpers
# small_disk OUT BLOCKSIZE: a 16 MiB disk with an 8 MiB ext4 (a few files).
small_disk() {
  local out=$1 bs=$2
  rm -rf tree; mkdir -p tree/etc tree/srv
  echo host > tree/etc/hostname; seq 1 3000 > tree/srv/keep.txt
  rm -f "$out"; truncate -s 16M "$out"
  printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q "$out"
  mke2fs -q -F -t ext4 -b "$bs" -E offset=$GM_PART_OFFSET -d tree "$out" 8M || fail "mke2fs"
}
spec_of() { echo "$1?offset=$GM_PART_OFFSET"; }
free_bytes() {   # free_bytes DISK: free blocks x block size of its ext4
  dumpe2fs -h "$(spec_of "$1")" 2>/dev/null | awk -F: '/^Free blocks/{f=$2} /^Block size/{b=$2} END{print f*b}'
}
cache_disk() { ls "$XDG_CACHE_HOME"/gcemount/*"$1"/disk.raw; }
unpack() { rm -rf x; mkdir x; tar -xSzf "$1" -C x; }    # quick: x/disk.raw
# manifest DIR: every path below DIR with its type, size and content hash
manifest() {
  python3 - "$1" <<'PY'
import hashlib, os, sys
top = sys.argv[1]
for d, dirs, files in os.walk(top):
    dirs.sort()
    for n in sorted(dirs + files):
        p = os.path.join(d, n); r = os.path.relpath(p, top)
        if r.startswith("lost+found"):
            continue
        if os.path.islink(p):
            print("l", r, os.readlink(p))
        elif os.path.isdir(p):
            print("d", r)
        else:
            h = hashlib.sha256(open(p, "rb").read()).hexdigest()
            print("f", r, os.path.getsize(p), h)
PY
}
# image_manifest DISK: the same, of the written filesystem (debugfs rdump)
image_manifest() {
  rm -rf dump; mkdir dump
  debugfs -R "rdump / dump" "$(spec_of "$1")" >/dev/null 2>&1 || fail "debugfs rdump"
  manifest dump
}
# one_space_line: last.err is one "gcemount: " line about space
one_space_line() {
  [ "$(wc -l < last.err)" -eq 1 ] && grep -q '^gcemount: ' last.err && grep -qi 'space\|allocate' last.err \
    || { cat last.err; fail "$1: not one line about space"; }
}

# ------------------------------------------------------------------- put
# IMG is a tar.gz (1 KiB blocks: the cache must come back byte for byte and
# clean) or a raw disk (4 KiB blocks: the disk itself must).
for bs in 1024 4096; do
  note "put out of space at many points, ${bs}-byte blocks"
  small_disk p.raw $bs
  free=$(free_bytes p.raw)
  if [ $bs = 1024 ]; then img=p.tar.gz; make_targz p.raw $img; gm ls $img / >/dev/null
  else img=p.raw; fi
  head -c $((free + 2 * 1048576)) /dev/urandom > pool.bin
  n=0
  for size in $((free + 1048576)) $((free + 3 * bs)) $((free + bs)) $free $((free - bs)) $((free - 4 * bs)); do
    head -c "$size" pool.bin > f.bin
    for target in /srv/new.bin /srv/keep.txt /srv/; do
      if [ $img = p.raw ]; then cp --sparse=always p.raw before.raw
      else cp --sparse=always "$(cache_disk $img)" before.raw; sha0=$(sha $img); fi
      set +e; gm put $img f.bin "$target" >last.out 2>last.err; rc=$?; set -e
      if [ $rc -eq 0 ]; then   # it fitted: check it, then take it out again
        dst=$target; [ "$target" = /srv/ ] && dst=/srv/f.bin
        gm cat $img "$dst" | cmp -s - f.bin || fail "put $size bytes to $target: content differs"
        if [ "$target" = /srv/keep.txt ]; then seq 1 3000 > keep.txt; gm put $img keep.txt /srv/keep.txt
        else gm rm $img "$dst"; fi
        continue
      fi
      n=$((n + 1))
      [ $rc -eq 1 ] || { cat last.err; fail "put $size bytes to $target: exit $rc, expected 0 or 1"; }
      one_space_line "put $size bytes to $target"
      if [ $img = p.raw ]; then
        cmp -s before.raw p.raw || fail "failed put ($size bytes to $target) changed the raw disk"
      else
        [ "$(sha $img)" = "$sha0" ] || fail "failed put ($size bytes to $target) changed the image"
        cmp -s before.raw "$(cache_disk $img)" || fail "failed put ($size bytes to $target) changed the cache"
        grep -qs '^status=clean' "$XDG_CACHE_HOME"/gcemount/*$img/state \
          || fail "failed put left the cache marked dirty"
      fi
      gm cat $img /srv/keep.txt | cmp -s - <(seq 1 3000) || fail "the replaced file lost its content"
    done
  done
  [ $n -ge 6 ] || fail "only $n puts ran out of space: the test did not test"
  if [ $img = p.raw ]; then e2fsck_clean p.raw; else extract_disk $img x; e2fsck_clean x/disk.raw; fi
  rm -rf x p.raw p.tar.gz before.raw
done

# ------------------------------------------------------- the last block
# fill_to_last RAW: puts /big.bin as large as fits (a failed put changes
# nothing: step down), so that it holds the filesystem's last block.
fill_to_last() {
  local raw=$1 step size last ino
  size=$(free_bytes "$raw")
  head -c $((size + 1048576)) /dev/urandom > pool.bin
  for step in 262144 16384 1024; do
    while :; do
      head -c "$size" pool.bin > big.bin
      set +e; gm put "$raw" big.bin /big.bin >/dev/null 2>&1; rc=$?; set -e
      [ $rc -eq 0 ] && break
      [ $rc -eq 1 ] || fail "put big.bin: exit $rc"
      size=$((size - step))
    done
    [ $step -eq 1024 ] && break
    gm rm "$raw" /big.bin; size=$((size + step))
  done
  last=$(( $(dumpe2fs -h "$(spec_of "$raw")" 2>/dev/null | awk -F: '/^Block count/{print $2}') - 1 ))
  ino=$(debugfs -R "icheck $last" "$(spec_of "$raw")" 2>/dev/null | awk 'NR==2{print $2}')
  [ "$ino" = "$(debugfs -R 'stat /big.bin' "$(spec_of "$raw")" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')" ] \
    || fail "fixture: /big.bin does not hold the last block $last (owner: $ino)"
}
for bs in 1024 4096; do
  note "rm of a file holding the last block, ${bs}-byte blocks (tar.gz and raw)"
  small_disk l.raw $bs
  fill_to_last l.raw
  make_targz l.raw l.tar.gz
  expect_exit 0 gm rm l.raw /big.bin
  e2fsck_clean l.raw
  expect_exit 0 gm rm l.tar.gz /big.bin
  extract_disk l.tar.gz x; e2fsck_clean x/disk.raw
  debugfs -R 'stat /big.bin' "$(spec_of x/disk.raw)" 2>&1 | grep -q 'File not found' || fail "big.bin still there"
  rm -rf x l.raw l.tar.gz
done

# ------------------------------------------------------------------ apply
note "apply on a full disk: exit 1, nothing written"
make_disk ap.raw "$GM_TOP/tests/data/sample-root" 64
size=$(free_bytes ap.raw) i=0
head -c "$size" /dev/zero > zero.bin
while [ $size -ge 1024 ]; do     # every block taken (failed puts change nothing)
  head -c $size zero.bin > z.bin
  set +e; gm put ap.raw z.bin /fill$i >/dev/null 2>&1; rc=$?; set -e
  if [ $rc -eq 0 ]; then i=$((i + 1)); else size=$((size / 2)); fi
done
make_targz ap.raw ap.tar.gz; rm -f ap.raw ap.raw.offset zero.bin z.bin
gm ls ap.tar.gz / >/dev/null
cp --sparse=always "$(cache_disk ap.tar.gz)" before.raw
sha0=$(sha ap.tar.gz)
# ssh and sysctl only add and grow files (gce-hardening would free blocks first)
set +e; gm apply ap.tar.gz ssh sysctl >last.out 2>last.err; rc=$?; set -e
[ $rc -eq 1 ] || { cat last.err; fail "apply on a full disk: exit $rc, expected 1"; }
grep -qi 'space\|allocate' last.err || { cat last.err; fail "apply: no word about space"; }
grep -q 'nothing written' last.err || { cat last.err; fail "apply: does not say nothing was written"; }
[ "$(sha ap.tar.gz)" = "$sha0" ] || fail "failed apply changed the image"
cmp -s before.raw "$(cache_disk ap.tar.gz)" || fail "failed apply changed the cache"
expect_exit 0 gm ls ap.tar.gz /etc    # and no interrupted session left behind
rm -f before.raw

# ------------------------------------------------------------------ mount
if [ ! -e /dev/fuse ] || [ "$(id -u)" != 0 ]; then
  note "mount cases skipped (need root and /dev/fuse)"
  echo ok; exit 0
fi
export XDG_RUNTIME_DIR=$PWD/run; mkdir -m 0700 run
mp=$PWD/mnt; mkdir "$mp"
cleanup() { if mountpoint -q "$mp"; then gm -u "$mp" || fusermount3 -u -z "$mp" || umount -l "$mp"; fi; }
trap cleanup EXIT

for bs in 1024 4096; do
  note "mount: fill up with random sizes, delete, fill again, ${bs}-byte blocks"
  small_disk m.raw $bs; make_targz m.raw m$bs.tar.gz; rm -f m.raw
  gm -q m$bs.tar.gz "$mp"
  seed=$((RANDOM))
  echo "seed $seed"
  python3 - "$mp" "$seed" > written.txt <<'PY' || fail "fill-up loop (seed $seed)"
# Prints "ok NAME SHA256" for every file whose writes and fsync succeeded
# (its content is known), "failed NAME" for the others.
import errno, hashlib, os, random, sys
mp, rnd = sys.argv[1], random.Random(int(sys.argv[2]))
d = os.path.join(mp, "fill")
os.makedirs(d, exist_ok=True)
state = {}
def write(name, data, mode="wb"):
    p = os.path.join(d, name)
    try:
        with open(p, mode) as f:
            f.write(data)
            os.fsync(f.fileno())
        return True
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        return False
def fill(tag):
    full = 0
    for i in range(400):
        name = "%s%03d" % (tag, i)
        size = rnd.choice([rnd.randrange(1, 4096), rnd.randrange(1, 1 << 20), rnd.randrange(1 << 20, 6 << 20)])
        data = os.urandom(size)
        if write(name, data):
            state[name] = data
        else:
            state[name] = None
            full += 1
            if full >= 3:
                return
fill("a")
for n in rnd.sample(sorted(state), len(state) // 2):
    os.unlink(os.path.join(d, n)); del state[n]
fill("b")
for n in sorted(state)[:2]:      # appends on a full disk
    more = os.urandom(3 << 20)
    if write(n, more, "ab") and state[n] is not None:
        state[n] += more
    else:
        state[n] = None
names = sorted(state)
if len(names) > 2:               # a rename over another file
    os.rename(os.path.join(d, names[0]), os.path.join(d, names[1]))
    state[names[1]] = state.pop(names[0])
# room again: the biggest file goes, a new one must fit
big = max(state, key=lambda n: os.path.getsize(os.path.join(d, n)))
os.unlink(os.path.join(d, big)); del state[big]
data = os.urandom(10000)
if not write("c000", data):
    sys.exit("a small file does not fit after deleting the biggest")
state["c000"] = data
for n in sorted(state):
    print("ok %s %s" % (n, hashlib.sha256(state[n]).hexdigest()) if state[n] is not None else "failed " + n)
PY
  grep -q '^failed' written.txt || fail "nothing ran out of space: the test did not test"
  grep -q '^ok' written.txt || fail "nothing was written: the test did not test"
  echo small > "$mp/after-full.txt" || fail "a small write after the disk was full"
  # What the mount shows once the kernel's caches are gone (its page cache
  # keeps the data of writes that failed late, with the write-back cache).
  sync; echo 3 > /proc/sys/vm/drop_caches
  manifest "$mp" > expected.txt
  expect_exit 0 gm -u "$mp"
  extract_disk m$bs.tar.gz x; e2fsck_clean x/disk.raw
  image_manifest x/disk.raw > got.txt
  diff expected.txt got.txt > manifest.diff || { head -20 manifest.diff; fail "the written tree differs from what the mount showed"; }
  # every file written successfully holds exactly what was written
  while read -r what name sum; do
    [ "$what" = ok ] || continue
    grep -q "^f fill/$name [0-9]* $sum\$" got.txt || fail "fill/$name: not what was written (seed $seed)"
  done < written.txt
  grep -q '^f after-full.txt 6 ' got.txt || fail "after-full.txt"
  rm -rf x dump

  note "mount: rm of a file holding the last block, ${bs}-byte blocks"
  small_disk ml.raw $bs
  fill_to_last ml.raw
  make_targz ml.raw ml$bs.tar.gz; rm -f ml.raw
  gm -q ml$bs.tar.gz "$mp"
  rm "$mp/big.bin" || fail "rm through the mount"
  echo again > "$mp/again.txt"
  expect_exit 0 gm -u "$mp"
  grep -qi 'written back' last.err || { cat last.err; fail "-u: not written back"; }
  extract_disk ml$bs.tar.gz x; e2fsck_clean x/disk.raw
  debugfs -R 'cat /again.txt' "$(spec_of x/disk.raw)" 2>/dev/null | grep -qx again || fail "again.txt"
  rm -rf x
done

note "apply --run on a raw disk: a failing script is undone in place"
small_disk run.raw 4096
cp --sparse=always run.raw run.before
printf '#!/bin/sh\nhead -c 3000000 /dev/urandom > "$1/srv/junk"; rm "$1/srv/keep.txt"; mkdir "$1/new"; exit 3\n' > bad.sh
chmod +x bad.sh
expect_exit 1 gm apply run.raw --run ./bad.sh
cmp -s run.raw run.before || fail "a failing script's edits stayed on the raw disk"
e2fsck_clean run.raw

note "mount: an inconsistency refuses the write-back until --resume repairs it"
make_disk bad.raw "" 64 mbr -O ^metadata_csum
echo data > data.txt
debugfs -w -R "write data.txt /bad.txt" "$(fs_spec bad.raw)" >/dev/null 2>&1
# the first extent of /bad.txt points far past the end of the filesystem
python3 - bad.raw "$(fs_spec bad.raw)" <<'PY'
import re, subprocess, struct, sys
disk, spec = sys.argv[1], sys.argv[2]
off = int(spec.split("offset=")[1])
out = subprocess.run(["debugfs", "-R", "imap /bad.txt", spec], capture_output=True, text=True).stdout
blk, o = re.search(r"block (\d+), offset 0x([0-9a-f]+)", out).groups()
at = off + int(blk) * 4096 + int(o, 16)
with open(disk, "r+b") as f:
    f.seek(at + 40 + 12 + 6); f.write(struct.pack("<HI", 0x7FFF, 0xFFFFFF00))
PY
make_targz bad.raw bad.tar.gz; rm -f bad.raw bad.raw.offset
sha0=$(sha bad.tar.gz)
gm -q bad.tar.gz "$mp"
if rm "$mp/bad.txt" 2>rm.err; then fail "rm of a file with a bad extent succeeded"; fi
grep -qi 'structure needs cleaning\|input/output' rm.err || { cat rm.err; fail "rm: unexpected error"; }
[ -e "$mp/bad.txt" ] || fail "the failed rm removed the name"
echo more > "$mp/more.txt"
expect_exit 4 gm -u "$mp"
[ "$(sha bad.tar.gz)" = "$sha0" ] || fail "a refused write-back changed the image"
grep -q 'resume' last.err || { cat last.err; fail "-u does not say how to repair"; }
grep -rqs 'unlink' "$XDG_CACHE_HOME"/gcemount/mounts/*.log || fail "the log does not name the failed operation"
expect_exit 6 gm ls bad.tar.gz /
expect_exit 0 gm repack --resume bad.tar.gz
extract_disk bad.tar.gz x; e2fsck_clean x/disk.raw
debugfs -R 'cat /more.txt' "$(fs_spec x/disk.raw)" 2>/dev/null | grep -qx more || fail "the session's other edit was lost"
rm -rf x
echo ok
