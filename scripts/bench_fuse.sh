#!/bin/bash
# bench_fuse.sh [GCEMOUNT] — the FUSE mount against fuse2fs on the same disk:
# mount-to-first-ls (cold cache: includes extracting the tar.gz; warm), then
# sequential write and read MiB/s of one big file (page cache dropped before
# reading), and the unmount (write-back) time. Needs root (drop_caches) and
# fuse2fs (Debian package fuse2fs) for the comparison. Not a pass/fail test.
#   SIZE_MIB=1024 scripts/bench_fuse.sh build/gcemount
set -euo pipefail
gm=$(readlink -f "${1:-build/gcemount}")
top=$(cd "$(dirname "$0")/.." && pwd)
size=${SIZE_MIB:-1024}
[ "$(id -u)" = 0 ] || { echo "bench_fuse: needs root (drop_caches)"; exit 1; }
[ -e /dev/fuse ] || { echo "bench_fuse: no /dev/fuse"; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/gm-bench-fuse.XXXXXX")
mp=$dir/mnt
cleanup() {
  mountpoint -q "$mp" && { "$gm" -u "$mp" 2>/dev/null || umount -l "$mp"; }
  rm -rf "$dir"; [ -n "${src:-}" ] && rm -f "$src"
}
trap cleanup EXIT
cd "$dir"; mkdir "$mp"
export XDG_CACHE_HOME=$dir/cache
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
mibs() { python3 -c "print(f'{$size / ($2 - $1):.0f}')"; }

disk_mib=$((size * 2 + 512))
if [ -x "$top/scripts/make-sample.sh" ]; then
  echo "== the sample image (scripts/make-sample.sh), ${disk_mib} MiB disk"
  "$top/scripts/make-sample.sh" image.tar.gz "$disk_mib"
else
  echo "== sample: ${disk_mib} MiB sparse disk, ext4 with a copy of /usr/share/doc (tar.gz)"
  truncate -s ${disk_mib}M disk.raw
  printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q disk.raw
  mke2fs -q -F -t ext4 -b 4096 -E offset=1048576 -d /usr/share/doc disk.raw $(( (disk_mib - 1) * 1024 ))k
  mkdir t; mv disk.raw t/; tar --format=oldgnu -Sczf image.tar.gz -C t disk.raw; rm -rf t
fi

# Incompressible data, from tmpfs when there is one (not a bottleneck).
src=$dir/random.bin; [ -w /dev/shm ] && src=$(mktemp /dev/shm/gm-bench.XXXXXX)
head -c ${size}M /dev/urandom > "$src"

run_one() {  # name, mount command..., then the timings
  local name=$1; shift
  sync; echo 3 > /proc/sys/vm/drop_caches
  local t0 t1 t2 t3 t4 t5 t6
  t0=$(now); "$@"; ls "$mp" >/dev/null; t1=$(now)
  dd if="$src" of="$mp/big" bs=1M count="$size" conv=fsync status=none; t2=$(now)
  sync; echo 3 > /proc/sys/vm/drop_caches
  t3=$(now); dd if="$mp/big" of=/dev/null bs=1M status=none; t4=$(now)
  t5=$(now); unmount_$name; t6=$(now)
  printf '%-10s mount+ls %6ss   write %5s MiB/s   read %5s MiB/s   unmount %6ss\n' \
    "$name" "$(secs "$t0" "$t1")" "$(mibs "$t1" "$t2")" "$(mibs "$t3" "$t4")" "$(secs "$t5" "$t6")"
}
unmount_gcemount() { "$gm" -u -q "$mp"; }
unmount_fuse2fs() { umount "$mp"; }

echo "== gcemount (tar.gz, cold cache: extraction included; unmount = write-back)"
run_one gcemount "$gm" -q image.tar.gz "$mp"
echo "== gcemount again (warm: unchanged cache reused, if the container keeps it)"
t0=$(now); "$gm" -q image.tar.gz "$mp"; ls "$mp" >/dev/null; t1=$(now)
printf '%-10s mount+ls %6ss\n' "warm" "$(secs "$t0" "$t1")"
"$gm" -u -q "$mp"
if command -v fuse2fs >/dev/null; then
  echo "== fuse2fs on the same disk.raw (raw: no extraction, no write-back)"
  mkdir x; tar -xSzf image.tar.gz -C x; mv x/disk.raw disk.raw; rm -rf x
  run_one fuse2fs fuse2fs disk.raw "$mp" -o fakeroot,offset=1048576
  echo "== gcemount on the same raw disk.raw"
  run_one gcemount "$gm" -q disk.raw "$mp"
else
  echo "(fuse2fs not installed: apt-get install fuse2fs for the comparison)"
fi
