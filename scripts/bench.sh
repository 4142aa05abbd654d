#!/bin/bash
# make bench: gcemount against the tools a user would otherwise use, on a
# realistic image, measured in the same run, medians of RUNS runs, printed as
# ratios in one table (also written to docs/performance.md with the core
# count and the date unless BENCH_NO_DOC=1). Not a pass/fail test.
#
# The image (built once, cached in build/bench/image.tar.gz): a 10 GiB sparse
# disk, MBR + ext4, holding tests/data/sample-root (the Debian-like /etc the
# policies edit) and >= 400 MB of the host's /usr (binaries, libraries,
# Python, headers, compressed man pages), packed with
# tar --format=oldgnu -Sczf like Compute Engine's guide says.
#   RUNS=5 scripts/bench.sh build/gcemount
set -uo pipefail
gm=$(readlink -f "${1:-build/gcemount}")
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
bench=$top/build/bench
img=$bench/image.tar.gz
mkdir -p "$bench"
work=$(mktemp -d "${TMPDIR:-/tmp}/gm-bench.XXXXXX")
mp=$work/mnt
cleanup() {
  mountpoint -q "$mp" 2>/dev/null && { fusermount3 -u "$mp" 2>/dev/null || umount -l "$mp"; }
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$mp"
export XDG_CACHE_HOME=$work/cache
unset SOURCE_DATE_EPOCH
cd "$work" || exit 1

# ---------------------------------------------------------------- the image
if [ ! -s "$img" ]; then
  echo "== building $img (once; cached)"
  t=$bench/tree; rm -rf "$t"; mkdir -p "$t/usr"
  cp -a "$top/tests/data/sample-root/." "$t/"
  chmod 0640 "$t/etc/shadow"; chmod 0600 "$t"/etc/ssh/ssh_host_*_key
  want=$((450 * 1024 * 1024)) got=0
  for d in /usr/bin /usr/lib/python3.11 /usr/include /usr/share/man /usr/share/doc \
           /usr/lib/x86_64-linux-gnu /usr/share/locale /usr/lib/gcc; do
    [ -d "$d" ] || continue
    [ $got -ge $want ] && break
    rel=${d#/usr/}; mkdir -p "$t/usr/$(dirname "$rel")"
    cp -a "$d" "$t/usr/$(dirname "$rel")/" 2>/dev/null
    got=$(du -sb "$t" | cut -f1)
  done
  echo "   tree: $((got >> 20)) MiB"
  rm -f "$bench/disk.raw"; truncate -s 10G "$bench/disk.raw"
  printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$bench/disk.raw"
  mke2fs -q -F -t ext4 -b 4096 -L root -E offset=1048576 -d "$t" "$bench/disk.raw" \
    $((10 * 1024 * 1024 - 1024))k || exit 1
  tar --format=oldgnu -Sczf "$img.tmp" -C "$bench" disk.raw && mv "$img.tmp" "$img"
  rm -rf "$t" "$bench/disk.raw"
fi

now() { date +%s.%N; }
# med CMD...: runs CMD (a shell function or command) RUNS times, prints the
# median wall time; PRE (a command) runs untimed before each run.
med() {
  local ts=() i t0 t1
  for ((i = 0; i < runs; i++)); do
    [ -n "${PRE:-}" ] && eval "$PRE" >/dev/null 2>&1
    t0=$(now); "$@" >/dev/null 2>&1; t1=$(now)
    ts+=("$(python3 -c "print($t1 - $t0)")")
  done
  printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
# rss CMD...: peak RSS of one run, in MiB (GNU time)
# medout CMD...: like med, but CMD prints the seconds to count itself
medout() {
  local ts=() i
  for ((i = 0; i < runs; i++)); do
    [ -n "${PRE:-}" ] && eval "$PRE" >/dev/null 2>&1
    ts+=("$("$@" 2>/dev/null | tail -1)")
  done
  printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.0f", $1/1024}'; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}')" "$1" "$2"; }
rows=()
row() { rows+=("$(printf '| %s | %s | %s | %s | %s |' "$@")"); }
fmt() { python3 -c "import sys; print(f'{float(sys.argv[1]):.2f} s')" "$1"; }
mib() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1048576:.1f} MiB')" "$1"; }

echo "== reading the image: igzip -dc, gzip -dc, pigz -dc"
t_igzip=$(med sh -c "igzip -dc '$img' > /dev/null")
t_gzip=$(med sh -c "gzip -dc '$img' > /dev/null")
t_pigz=$(med sh -c "pigz -dc '$img' > /dev/null")
echo "   igzip $t_igzip s, gzip $t_gzip s, pigz $t_pigz s"

echo "== apply gce-hardening --output (cold: no cache; warm: the image checked before)"
apply() { "$gm" apply -q "$img" gce-hardening --output "$work/out.tar.gz"; }
PRE="rm -rf '$XDG_CACHE_HOME'" t_cold=$(med apply)
# warm: the image checked before (check reads it whole and indexes its
# deflate blocks; ls and cat take a quick look and do not)
PRE="rm -rf '$XDG_CACHE_HOME'; '$gm' check -q '$img'" t_warm=$(med apply)
unset PRE
rm -rf "$XDG_CACHE_HOME"; r_cold=$(rss "$gm" apply -q "$img" gce-hardening --output "$work/out.tar.gz")
s_out=$(stat -c %s "$work/out.tar.gz")
"$gm" check -q "$img" >/dev/null 2>&1; r_warm=$(rss "$gm" apply -q "$img" gce-hardening --output "$work/out.tar.gz")
echo "   cold $t_cold s, warm $t_warm s"

pipeline() {   # what a user scripts without gcemount (root, FUSE)
  rm -rf "$work/p"; mkdir -p "$work/p/x" "$work/p/m"
  tar -xSzf "$img" -C "$work/p/x" || return 1
  fuse2fs "$work/p/x/disk.raw" "$work/p/m" -o fakeroot,offset=1048576 || return 1
  local r=$work/p/m
  sed -i -e 's/^#\?PermitRootLogin.*/PermitRootLogin no/' \
         -e 's/^#\?PasswordAuthentication.*/PasswordAuthentication no/' "$r/etc/ssh/sshd_config"
  rm -f "$r"/etc/ssh/ssh_host_*; : > "$r/etc/machine-id"
  printf 'net.ipv4.tcp_syncookies = 1\nkernel.randomize_va_space = 2\n' > "$r/etc/sysctl.d/60-gce.conf"
  ln -sf /usr/share/zoneinfo/UTC "$r/etc/localtime"
  umount "$work/p/m" || return 1
  tar --format=oldgnu -Sczf "$work/p/out.tar.gz" -C "$work/p/x" disk.raw
  rm -rf "$work/p"
}
t_pipe=na
if [ "$(id -u)" = 0 ] && command -v fuse2fs >/dev/null && [ -e /dev/fuse ]; then
  echo "== the scripted pipeline (tar -xSzf, fuse2fs, sed/rm/ln, tar -Sczf)"
  t_pipe=$(med pipeline)
  echo "   $t_pipe s"
fi

echo "== mount, first ls (cold) vs tar -xSzf + fuse2fs + ls"
t_mount=na t_mount2=na
if [ -e /dev/fuse ]; then
  # (until the listing is there; the unmount is not counted)
  mountls() {
    local t0 t1; t0=$(now)
    "$gm" -q "$img" "$mp" && ls "$mp/etc" >/dev/null; t1=$(now)
    "$gm" -u -q "$mp"; python3 -c "print($t1 - $t0)"
  }
  PRE="rm -rf '$XDG_CACHE_HOME'" t_mount=$(medout mountls)
  mountls2() {
    local t0 t1; t0=$(now)
    rm -rf "$work/q"; mkdir -p "$work/q"; tar -xSzf "$img" -C "$work/q" &&
    fuse2fs "$work/q/disk.raw" "$mp" -o ro,fakeroot,offset=1048576 && ls "$mp/etc" >/dev/null
    t1=$(now); umount "$mp" 2>/dev/null; rm -rf "$work/q"; python3 -c "print($t1 - $t0)"
  }
  [ "$(id -u)" = 0 ] && command -v fuse2fs >/dev/null && t_mount2=$(medout mountls2)
fi
# ls: the listing shows while the image is still read (lazy open); the
# verb exits once all is read and every trailer checked
first_line() {   # IMAGE: seconds until ls prints its first line, then until it exits
  python3 - "$gm" "$1" <<'PY'
import subprocess, sys, time
t0 = time.time()
p = subprocess.Popen([sys.argv[1], "ls", "-q", sys.argv[2], "/etc"], stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL)
p.stdout.readline(); t1 = time.time()
p.stdout.read(); p.wait(); t2 = time.time()
print(f"{t1 - t0:.3f} {t2 - t0:.3f}")
PY
}
medfirst() {   # IMAGE: medians of first line / exit over RUNS cold runs
  local i out=()
  for ((i = 0; i < runs; i++)); do rm -rf "$XDG_CACHE_HOME"; out+=("$(first_line "$1")"); done
  printf '%s\n' "${out[@]}" | python3 -c "
import sys, statistics
r = [l.split() for l in sys.stdin if l.strip()]
print(statistics.median(float(a) for a, b in r), statistics.median(float(b) for a, b in r))"
}
read -r t_ls1 t_ls <<<"$(medfirst "$img")"
# (PRE=... t=$(...) with no command leaves PRE set: the mount rows above set
# it to drop the cache; the second open must find the cache)
unset PRE
"$gm" ls -q "$img" /etc >/dev/null 2>&1
t_ls2=$(med "$gm" ls -q "$img" /etc)
echo "   mount+ls $t_mount s, tar+fuse2fs $t_mount2 s, ls: first line $t_ls1 s, exit $t_ls s, second open $t_ls2 s"

# the same first listing on a bigger image (~2 GB of data in a 20 GiB
# disk; built once, cached): the listing does not wait for the size
big=$bench/big.tar.gz
if [ "${BENCH_BIG:-1}" = 1 ]; then
  if [ ! -s "$big" ]; then
    echo "== building $big (once; cached)"
    t=$bench/bigtree; rm -rf "$t"; mkdir -p "$t"
    cp -a "$top/tests/data/sample-root/." "$t/"
    for k in 1 2 3 4; do
      for d in /usr/bin /usr/lib/python3.11 /usr/include /usr/share/man /usr/share/doc \
               /usr/lib/x86_64-linux-gnu /usr/share/locale /usr/lib/gcc; do
        [ -d "$d" ] || continue
        rel=${d#/usr/}; mkdir -p "$t/srv$k/$(dirname "$rel")"
        cp -a "$d" "$t/srv$k/$(dirname "$rel")/" 2>/dev/null
        [ "$(du -sb "$t/srv$k" | cut -f1)" -ge $((500 * 1024 * 1024)) ] && break
      done
    done
    truncate -s 20G "$bench/big.raw"
    printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$bench/big.raw"
    mke2fs -q -F -t ext4 -b 4096 -L root -E offset=1048576 -d "$t" "$bench/big.raw" \
      $((20 * 1024 * 1024 - 1024))k && mv "$bench/big.raw" "$bench/disk.raw" \
      && tar --format=oldgnu -Sczf "$big.tmp" -C "$bench" disk.raw && mv "$big.tmp" "$big"
    rm -rf "$t" "$bench/disk.raw" "$bench/big.raw"
  fi
  if [ -s "$big" ]; then
    read -r t_big1 t_big <<<"$(medfirst "$big")"
    s_big=$(stat -c %s "$big")
    echo "   big image: first line $t_big1 s, exit $t_big s"
  fi
fi

echo "== repack (full path) vs tar -Sczf and tar -Sc | pigz"
"$gm" ls -q "$img" / >/dev/null
t_repack=$(med "$gm" repack -q "$img" --output "$work/rp.tar.gz")
s_repack=$(stat -c %s "$work/rp.tar.gz"); r_repack=$(rss "$gm" repack -q "$img" --output "$work/rp.tar.gz")
t_fast=$(med "$gm" repack -q --fast "$img" --output "$work/rpf.tar.gz")
s_fast=$(stat -c %s "$work/rpf.tar.gz")
mkdir -p "$work/g"; tar -xSzf "$img" -C "$work/g"
t_gtar=$(med tar --format=oldgnu -Sczf "$work/g.tar.gz" -C "$work/g" disk.raw)
s_gtar=$(stat -c %s "$work/g.tar.gz")
t_ptar=$(med sh -c "tar --format=oldgnu -Scf - -C '$work/g' disk.raw | pigz -6 > '$work/p.tar.gz'")
s_ptar=$(stat -c %s "$work/p.tar.gz")
rm -rf "$work/g"
s_in=$(stat -c %s "$img")

row "apply --output, cold" "$(fmt "$t_cold")" "igzip -dc $(fmt "$t_igzip")" "$(ratio "$t_cold" "$t_igzip")× (target ≤ 1.5×)" "$r_cold MiB"
[ "$t_pipe" != na ] && row "apply --output, cold vs the pipeline" "$(fmt "$t_cold")" "pipeline $(fmt "$t_pipe")" "$(ratio "$t_pipe" "$t_cold")× faster (target ≥ 25×)" ""
row "apply --output, warm" "$(fmt "$t_warm")" "igzip -dc $(fmt "$t_igzip")" "$(ratio "$t_warm" "$t_igzip")× (target ≤ 0.25×)" "$r_warm MiB"
row "apply, cold vs gzip -dc / pigz -dc" "$(fmt "$t_cold")" "$(fmt "$t_gzip") / $(fmt "$t_pigz")" "$(ratio "$t_cold" "$t_gzip")× / $(ratio "$t_cold" "$t_pigz")×" ""
[ "$t_mount" != na ] && row "mount → first ls (cold)" "$(fmt "$t_mount")" "tar -xSzf + fuse2fs $( [ "$t_mount2" != na ] && fmt "$t_mount2")" "$( [ "$t_mount2" != na ] && ratio "$t_mount" "$t_mount2")× (target ≤ 1 s)" ""
row "ls IMG /etc (cold): first line" "$(fmt "$t_ls1")" "exit (all read, verified) $(fmt "$t_ls")" "(target ≤ 1 s)" ""
[ -n "${t_big1:-}" ] && row "ls IMG /etc (cold), ~2 GB of data: first line" "$(fmt "$t_big1")" "exit $(fmt "$t_big"), image $(mib "$s_big")" "(target ≤ 1 s)" ""
row "ls IMG /etc, second open (unchanged)" "$(fmt "$t_ls2")" "" "(instant)" ""
row "repack (full path, level 6)" "$(fmt "$t_repack")" "tar -Sczf $(fmt "$t_gtar") / tar \| pigz $(fmt "$t_ptar")" "$(ratio "$t_repack" "$t_gtar")× / $(ratio "$t_repack" "$t_ptar")×" "$r_repack MiB"
row "repack --fast" "$(fmt "$t_fast")" "tar -Sczf $(fmt "$t_gtar")" "$(ratio "$t_fast" "$t_gtar")×" ""
row "size: input / apply output (spliced)" "$(mib "$s_out")" "$(mib "$s_in")" "$(ratio "$s_out" "$s_in")× (target ≤ 1.01× + edits)" ""
row "size: repack / --fast" "$(mib "$s_repack") / $(mib "$s_fast")" "tar -Sczf $(mib "$s_gtar"), pigz $(mib "$s_ptar")" "$(ratio "$s_repack" "$s_gtar")× / $(ratio "$s_fast" "$s_gtar")× (target ≤ 1.01×)" ""

fuse_rows=""
if [ -x "$top/scripts/bench_fuse.sh" ] && [ "$(id -u)" = 0 ]; then
  echo "== FUSE: sequential 1 GiB, 10,000 small files, gcemount vs fuse2fs"
  fuse_rows=$(RUNS=$runs "$top/scripts/bench_fuse.sh" "$gm" "$img" 2>&1 | grep '^|') || true
fi

table=$( {
  echo "| measure | gcemount | compared with | ratio | peak RSS |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  [ -n "$fuse_rows" ] && printf '%s\n' "$fuse_rows"
} )
hdr="$(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), load average at the start $(cut -d' ' -f1 /proc/loadavg), medians of $runs runs; image: $(mib "$s_in") tar.gz, 10 GiB disk"
echo; echo "$hdr"; echo "$table"
if [ "${BENCH_NO_DOC:-0}" != 1 ] && [ -f "$top/docs/performance.md" ]; then
  python3 - "$top/docs/performance.md" "$hdr" "$table" <<'PY'
import sys
p, hdr, table = sys.argv[1:]
s = open(p).read()
a, b = "<!-- bench:begin -->", "<!-- bench:end -->"
if a in s and b in s:
    s = s[:s.index(a) + len(a)] + "\n" + hdr + "\n\n" + table + "\n" + s[s.index(b):]
    open(p, "w").write(s)
PY
  echo "(table written to docs/performance.md)"
fi
