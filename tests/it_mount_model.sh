#!/bin/bash
# it_mount_model.sh — model-based random test (tests/tools/model_test.py) as
# root: 3,000 random create/write/truncate/rename/unlink/mkdir/rmdir/symlink/
# link/chmod operations on the mount and on a plain directory, with a seed
# printed (GM_MODEL_SEED=N replays one); trees compared at the end, again
# after unmount + remount, and e2fsck -fn clean on the written image.
source "$GM_TOP/tests/lib.sh"
export XDG_RUNTIME_DIR=$PWD/run; mkdir -m 0700 run   # where mounts keep lock + status
[ -e /dev/fuse ] || skip "no /dev/fuse"
[ "$(id -u)" = 0 ] || skip "runs as root (it_mount_user.sh runs the model as nobody)"

mp=$PWD/mnt
mkdir "$mp"
# The model lives on tmpfs when there is one: no disk flushes in its timing.
if [ -w /dev/shm ]; then model=$(mktemp -d /dev/shm/gm-model.XXXXXX); else model=$PWD/model; mkdir "$model"; fi
cleanup() {
  if mountpoint -q "$mp"; then gm -u "$mp" || fusermount3 -u -z "$mp" || umount -l "$mp"; fi
  rm -rf "$model"
}
trap cleanup EXIT

make_disk disk.raw "" 256 mbr
make_targz disk.raw image.tar.gz
rm -f disk.raw
seed=${GM_MODEL_SEED:-$RANDOM}
gm image.tar.gz "$mp"
mkdir "$mp/model"
python3 "$GM_TOP/tests/tools/model_test.py" run "$seed" 3000 "$mp/model" "$model" 1 \
  || fail "model test (replay: GM_MODEL_SEED=$seed)"
gm -u "$mp"
extract_disk image.tar.gz out
e2fsck_clean out/disk.raw
gm image.tar.gz "$mp"
python3 "$GM_TOP/tests/tools/model_test.py" compare "$mp/model" "$model" 1 \
  || fail "tree differs after remount (replay: GM_MODEL_SEED=$seed)"
gm -u "$mp"
echo ok
