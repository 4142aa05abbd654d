#!/bin/bash
# bench_fuse.sh [GCEMOUNT [IMAGE]] — the FUSE mount against fuse2fs on the
# same disk: sequential write and read of a 1 GiB file (page cache dropped
# before reading), then create + stat of 10,000 small files. Medians of RUNS
# runs, printed as markdown table rows (scripts/bench.sh collects them).
# Needs root (drop_caches) and fuse2fs. Not a pass/fail test.
#   SIZE_MIB=1024 FILES=10000 RUNS=3 scripts/bench_fuse.sh build/gcemount build/bench/image.tar.gz
set -uo pipefail
gm=$(readlink -f "${1:-build/gcemount}")
top=$(cd "$(dirname "$0")/.." && pwd)
img=$(readlink -f "${2:-$top/build/bench/image.tar.gz}")
size=${SIZE_MIB:-1024} files=${FILES:-10000} runs=${RUNS:-3}
[ "$(id -u)" = 0 ] || { echo "bench_fuse: needs root (drop_caches)"; exit 1; }
[ -e /dev/fuse ] || { echo "bench_fuse: no /dev/fuse"; exit 1; }
command -v fuse2fs >/dev/null || { echo "bench_fuse: fuse2fs not installed"; exit 1; }
[ -s "$img" ] || { echo "bench_fuse: no image $img (run scripts/bench.sh first)"; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/gm-bench-fuse.XXXXXX")
mp=$dir/mnt
cleanup() {
  mountpoint -q "$mp" && { "$gm" -u -q "$mp" 2>/dev/null || umount -l "$mp"; }
  rm -rf "$dir"; [ -n "${src:-}" ] && rm -f "$src"
}
trap cleanup EXIT
cd "$dir" || exit 1; mkdir "$mp"
export XDG_CACHE_HOME=$dir/cache
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

mkdir x; tar -xSzf "$img" -C x && mv x/disk.raw disk.raw; rm -rf x
cp --sparse=always disk.raw pristine.raw
src=$dir/random.bin; [ -w /dev/shm ] && src=$(mktemp /dev/shm/gm-bench.XXXXXX)
head -c "${size}M" /dev/urandom > "$src"

mount_gcemount() { "$gm" -q disk.raw "$mp"; }
umount_gcemount() { "$gm" -u -q "$mp"; }
mount_fuse2fs() { fuse2fs disk.raw "$mp" -o fakeroot,offset=1048576; }
umount_fuse2fs() { umount "$mp"; }

one() {   # name: prints "write read small" seconds
  local n=$1 t0 t1 t2 t3 t4 t5
  cp --sparse=always pristine.raw disk.raw
  sync; echo 3 > /proc/sys/vm/drop_caches
  mount_$n || return 1
  t0=$(now); dd if="$src" of="$mp/big" bs=1M count="$size" conv=fsync status=none; t1=$(now)
  sync; echo 3 > /proc/sys/vm/drop_caches
  t2=$(now); dd if="$mp/big" of=/dev/null bs=1M status=none; t3=$(now)
  mkdir "$mp/small"
  t4=$(now)
  python3 - "$mp/small" "$files" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(f"{d}/f{i}", "w") as f: f.write("x" * (i % 300))
for i in range(n): os.stat(f"{d}/f{i}")
PY
  t5=$(now)
  umount_$n
  python3 -c "print($t1-$t0, $t3-$t2, $t5-$t4)"
}

for n in gcemount fuse2fs; do
  for ((i = 0; i < runs; i++)); do one $n; done > "$n.times"
done
col() { awk -v c="$2" '{print $c}' "$1.times" | median; }
for k in 1 2 3; do
  g=$(col gcemount $k) f=$(col fuse2fs $k)
  case $k in
    1) what="FUSE: sequential write ${size} MiB (fsync)"; unit=mibs ;;
    2) what="FUSE: sequential read ${size} MiB (cold page cache)"; unit=mibs ;;
    3) what="FUSE: create + stat $files small files"; unit=s ;;
  esac
  if [ $unit = mibs ]; then
    python3 -c "import sys; g,f,s=map(float,sys.argv[1:4]); print(f'| {sys.argv[4]} | {s/g:.0f} MiB/s | fuse2fs {s/f:.0f} MiB/s | {f/g:.2f}× (target ≥ 1×) | |')" "$g" "$f" "$size" "$what"
  else
    python3 -c "import sys; g,f=map(float,sys.argv[1:3]); print(f'| {sys.argv[3]} | {g:.2f} s | fuse2fs {f:.2f} s | {f/g:.2f}× (target ≥ 1×) | |')" "$g" "$f" "$what"
  fi
done
