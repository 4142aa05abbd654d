#!/bin/bash
# it_mount_user.sh — the mount as an unprivileged user (nobody, via setpriv):
# with /dev/fuse 0600 the mount is refused with one clear line (exit 5);
# with /dev/fuse 0666 (set for this test, restored by the trap) nobody mounts
# through the setuid fusermount3, edits root-owned files (owner's view), runs
# the model-based random test, unmounts with `gcemount -u` (which waits for
# the write-back), and the remounted tree still matches the model.
source "$GM_TOP/tests/lib.sh"
[ -e /dev/fuse ] || skip "no /dev/fuse"
[ "$(id -u)" = 0 ] || skip "needs root to switch to nobody and to change /dev/fuse's mode"
command -v setpriv >/dev/null || skip "no setpriv"
[ -u /usr/bin/fusermount3 ] || skip "no setuid fusermount3"

devfuse_lock
old_mode=$(stat -c %a /dev/fuse)
u=$(mktemp -d /tmp/gm-user.XXXXXX)
chmod 0755 "$u"; chown 65534:65534 "$u"
mp=$u/mnt
as_nobody() {
  setpriv --reuid=65534 --regid=65534 --clear-groups \
    env HOME="$u" XDG_CACHE_HOME="$u/.cache" XDG_RUNTIME_DIR="$u/run" PATH="$PATH" "$@"
}
cleanup() {
  if mountpoint -q "$mp" 2>/dev/null || [ -n "$(grep " $mp " /proc/mounts)" ]; then
    as_nobody "$GM_BIN" -u "$mp" || umount -l "$mp"
  fi
  chmod "$old_mode" /dev/fuse
  rm -rf "$u"
}
trap cleanup EXIT

mkdir -p tree/etc tree/root
echo myhost > tree/etc/hostname
echo rootonly > tree/root/secret; chmod 0600 tree/root/secret; chmod 0700 tree/root
make_disk "$u/disk.raw" tree 128 mbr
make_targz "$u/disk.raw" "$u/image.tar.gz"
rm -f "$u/disk.raw" "$u/disk.raw.offset"
chown -R 65534:65534 "$u"
as_nobody mkdir "$mp"
as_nobody mkdir -m 0700 "$u/run"

note "/dev/fuse 0600: one clear line, exit 5"
chmod 0600 /dev/fuse
expect_exit 5 as_nobody "$GM_BIN" "$u/image.tar.gz" "$mp"
[ "$(wc -l < last.err)" = 1 ] || fail "more than one line: $(cat last.err)"
grep -q '/dev/fuse' last.err && grep -q 'gcemount ls' last.err || fail "message: $(cat last.err)"
[ -d "$u/.cache/gcemount" ] && [ -n "$(ls "$u/.cache/gcemount" | grep -v mounts)" ] \
  && fail "the image was extracted before the FUSE check"

note "/dev/fuse 0666: nobody mounts and edits root-owned files"
chmod 0666 /dev/fuse
as_nobody "$GM_BIN" "$u/image.tar.gz" "$mp"
grep -q " $mp fuse.gcemount " /proc/mounts || fail "not mounted"
[ "$(as_nobody cat "$mp/root/secret")" = rootonly ] || fail "owner's view: root-only file"
as_nobody sh -c "echo changed > '$mp/root/secret' && echo new > '$mp/etc/newfile' &&
  chmod 0644 '$mp/etc/newfile' && setfattr -n user.a -v b '$mp/etc/newfile' &&
  ln -s hostname '$mp/etc/hn' && mkdir '$mp/srv'" || fail "edits as nobody"
ls "$mp" >/dev/null 2>&1 && fail "root can see into nobody's mount without allow_other"

note "model-based random test as nobody"
as_nobody mkdir "$mp/model" "$u/model"
seed=${GM_MODEL_SEED:-$RANDOM}
as_nobody python3 "$GM_TOP/tests/tools/model_test.py" run "$seed" 2000 "$mp/model" "$u/model" \
  || fail "model test (seed $seed)"

note "unmount as nobody (waits for write-back), check, remount, compare"
as_nobody "$GM_BIN" -u "$mp" || fail "gcemount -u as nobody"
grep -q " $mp " /proc/mounts && fail "still mounted"
extract_disk "$u/image.tar.gz" out
e2fsck_clean out/disk.raw
spec=$(fs_spec out/disk.raw)
[ "$(debugfs -R 'cat /root/secret' "$spec" 2>/dev/null)" = changed ] || fail "debugfs: secret"
debugfs -R 'stat /etc/newfile' "$spec" 2>/dev/null | grep -q 'User:     0   Group:     0' \
  || fail "new files are not owned by 0:0 (the default owner)"
debugfs -R 'ea_list /etc/newfile' "$spec" 2>/dev/null | grep -q 'user.a' || fail "debugfs: xattr"
as_nobody "$GM_BIN" "$u/image.tar.gz" "$mp"
as_nobody python3 "$GM_TOP/tests/tools/model_test.py" compare "$mp/model" "$u/model" \
  || fail "tree differs after remount (seed $seed)"
as_nobody "$GM_BIN" -u "$mp"
echo ok
