# tests/lib.sh — shared helpers for integration scripts (source it).
# Fixtures are built at run time, without root: truncate + sfdisk + mke2fs -d
# + GNU tar. Scripts run in a fresh temp directory (the cwd).
# No pipefail: checks read "producer | grep -q PATTERN || fail ...", and with
# pipefail a grep that stops reading at its first match kills the producer
# with SIGPIPE (exit 141) now and then. Where a producer's own exit status
# matters, run it through expect_exit.
set -eu
: "${GM_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${GM_BIN:=$GM_TOP/build/gcemount}"
export GM_TOP GM_BIN
export XDG_CACHE_HOME="$PWD/.cache"
GM_PART_OFFSET=1048576    # first partition at sector 2048

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "--- $*"; }

# make_disk OUT TREE SIZE_MIB [mbr|gpt|bare] [extra mke2fs args...]
# An ext4 filesystem (4 KiB blocks) built from TREE, inside partition 1 of a
# sparse disk (or the whole disk for "bare").
make_disk() {
  local out=$1 tree=$2 mib=$3 table=${4:-mbr}; shift 4 2>/dev/null || shift $#
  rm -f "$out"; truncate -s "${mib}M" "$out"
  local off=0 kib
  case $table in
    mbr) printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$out"; off=$GM_PART_OFFSET ;;
    gpt) printf 'label: gpt\nstart=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' | sfdisk -q "$out"; off=$GM_PART_OFFSET ;;
    bare) off=0 ;;
    *) fail "make_disk: unknown table $table" ;;
  esac
  if [ "$table" = bare ]; then kib=$(( mib*1024 / 4 * 4 ))
  else   # the partition as sfdisk made it (it aligns the end)
    local sectors
    sectors=$(sfdisk -d "$out" | sed -n 's/.*size= *\([0-9]*\).*/\1/p' | head -1)
    kib=$(( sectors / 2 / 4 * 4 ))
  fi
  mke2fs -q -F -t ext4 -b 4096 -E offset=$off ${tree:+-d "$tree"} "$@" "$out" "${kib}k" \
    || fail "mke2fs failed"
  echo $off > "$out.offset"
}

# make_targz DISK OUT [tar format]: the GCE layout, sparse disk.raw.
make_targz() {
  local disk=$1 out=$2 fmt=${3:-oldgnu} d
  d=$(mktemp -d "$PWD/tgz.XXXX")
  cp --sparse=always "$disk" "$d/disk.raw"
  tar --format="$fmt" -Sczf "$out" -C "$d" disk.raw
  rm -rf "$d"
}

# fs_spec DISK: the "file?offset=N" spec for e2fsck/debugfs of its ext4.
fs_spec() {
  local off
  off=$(python3 "$GM_TOP/tests/tools/partoffset.py" "$1") || fail "no partition in $1"
  echo "$1?offset=$off"
}

# e2fsck_clean DISK: e2fsck -fn reports a clean filesystem.
e2fsck_clean() {
  local spec; spec=$(fs_spec "$1")
  e2fsck -fn "$spec" >e2fsck.log 2>&1 || { cat e2fsck.log >&2; fail "e2fsck -fn $spec not clean"; }
}

# extract_disk TARGZ DIR: GNU tar AND Python tarfile each extract disk.raw;
# both must be byte-identical; the GNU tar copy ends in DIR/disk.raw.
extract_disk() {
  local tgz=$1 dir=$2
  mkdir -p "$dir/gnu" "$dir/py"
  tar -xSzf "$tgz" -C "$dir/gnu" disk.raw || fail "GNU tar cannot extract $tgz"
  python3 - "$tgz" "$dir/py" <<'PY' || fail "Python tarfile cannot extract $1"
import sys, tarfile
with tarfile.open(sys.argv[1], "r:gz") as t:
    t.extract("disk.raw", sys.argv[2], filter="fully_trusted") if hasattr(tarfile, "data_filter") else t.extract("disk.raw", sys.argv[2])
PY
  python3 "$GM_TOP/tests/tools/sparsecmp.py" "$dir/gnu/disk.raw" "$dir/py/disk.raw" \
    || fail "GNU tar and Python tarfile disagree on $tgz"
  mv "$dir/gnu/disk.raw" "$dir/disk.raw"; rm -rf "$dir/gnu" "$dir/py"
}

gm() { "$GM_BIN" "$@"; }

# devfuse_lock: a test that changes /dev/fuse's mode holds this machine-wide
# lock for its whole run (fd 9), so two test runs at once (two checkouts, or
# make check beside make asan) never record each other's temporary 0666 as
# "the old mode" and leave the device open to everyone.
devfuse_lock() {
  exec 9>"${TMPDIR:-/tmp}/gcemount-devfuse.lock"
  flock 9
}

# expect_exit N CMD...: runs CMD, asserts its exit status is N; stderr kept in last.err
expect_exit() {
  local want=$1; shift
  set +e; "$@" >last.out 2>last.err; local rc=$?; set -e
  [ "$rc" -eq "$want" ] || { cat last.err >&2; fail "'$*' exited $rc, expected $want"; }
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
# snapshot FILE / unchanged FILE: a sparse copy now, compared later (fast on
# big sparse disks where sha256sum reads every hole).
snapshot() { cp --sparse=always "$1" "$1.snapshot"; }
unchanged() { python3 "$GM_TOP/tests/tools/sparsecmp.py" "$1" "$1.snapshot" >/dev/null; }
# same_bytes A B: equal size and content (sparse-aware, fast on huge disks).
same_bytes() { python3 "$GM_TOP/tests/tools/sparsecmp.py" "$1" "$2"; }

# wait_stopped PID: true once PID stopped itself (GM_TEST_STOP_AT), false if it ended
wait_stopped() {
  local i s
  for i in $(seq 6000); do
    s=$(cut -d' ' -f3 /proc/$1/stat 2>/dev/null) || return 1
    case $s in T) return 0 ;; Z|X|'') return 1 ;; esac
    sleep 0.01
  done
  return 1
}
