#!/bin/bash
# make bench: gcemount against the tools a user would otherwise use, measured
# in the same run on the same data, printed as ratios. Not a pass/fail test.
#   1. open a 10 GiB sparse image (1 GiB of data) vs `tar -xSzf` (GNU tar)
#   2. write it back vs `tar --format=oldgnu -Sczf` (GNU tar + gzip)
#   3. output size vs GNU tar's
#   4. the FUSE mount vs fuse2fs (scripts/bench_fuse.sh, when present)
set -euo pipefail
gm=$(readlink -f "${1:-build/gcemount}")
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/gm-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"
export XDG_CACHE_HOME=$dir/cache
now() { date +%s.%N; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a:8.2f}s vs {b:8.2f}s  ratio {a/b:5.2f}x' if b>0 else 'n/a')" "$1" "$2"; }

echo "== building a 10 GiB sparse disk with 1 GiB of data (compressible + random)"
mkdir tree
head -c 512M /dev/urandom > tree/random.bin
python3 -c "
import sys
line = b'gcemount benchmark text line, moderately compressible 0123456789\n'
with open('tree/text.txt','wb') as f:
    for i in range(512*1024*1024 // len(line)): f.write(line)
"
truncate -s 10G disk.raw
printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q disk.raw
mke2fs -q -F -t ext4 -b 4096 -E offset=1048576 -d tree disk.raw $((10*1024*1024 - 1024))k
rm -rf tree
mkdir src && mv disk.raw src/
t0=$(now); tar --format=oldgnu -Sczf gnu.tar.gz -C src disk.raw; t1=$(now)
gnu_pack=$(python3 -c "print($t1 - $t0)")
mkdir x; t0=$(now); tar -xSzf gnu.tar.gz -C x; t1=$(now)
gnu_unpack=$(python3 -c "print($t1 - $t0)"); rm -rf x src

echo "== open (extract to cache) + read one file"
t0=$(now); "$gm" ls -q gnu.tar.gz / >/dev/null; t1=$(now)
gm_open=$(python3 -c "print($t1 - $t0)")
t0=$(now); "$gm" ls -q gnu.tar.gz / >/dev/null; t1=$(now)
gm_reopen=$(python3 -c "print($t1 - $t0)")
echo "== write back (repack) after one edit"
echo hello > h.txt
t0=$(now); "$gm" put -q gnu.tar.gz h.txt /h.txt --output gm.tar.gz; t1=$(now)
gm_pack=$(python3 -c "print($t1 - $t0)")

printf '\n%-44s %s\n' "open (gcemount) vs tar -xSzf:" "$(ratio "$gm_open" "$gnu_unpack")"
printf '%-44s %8.2fs\n' "re-open with a warm cache:" "$gm_reopen"
printf '%-44s %s\n' "write back (gcemount) vs tar -Sczf:" "$(ratio "$gm_pack" "$gnu_pack")"
gs=$(stat -c %s gnu.tar.gz); ms=$(stat -c %s gm.tar.gz)
printf '%-44s %d vs %d bytes  ratio %s\n' "output size (gcemount vs GNU tar):" "$ms" "$gs" \
  "$(python3 -c "print(f'{$ms/$gs:.3f}x')")"
rm -f gnu.tar.gz gm.tar.gz
if [ -x "$top/scripts/bench_fuse.sh" ]; then
  echo; echo "== FUSE: gcemount vs fuse2fs"
  "$top/scripts/bench_fuse.sh" "$gm" || echo "(FUSE benchmark unavailable here)"
fi
