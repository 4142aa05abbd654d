#!/bin/bash
# it_mount_ops.sh — every operation through a real FUSE mount (as root), then
# checked after `gcemount -u` on the written image with debugfs and e2fsck:
# create/write/append/truncate, chmod/chown/utimens, mkdir/rmdir, symlink,
# link, mknod (fifo, char), rename (+ NOREPLACE/EXCHANGE), xattrs, setcap,
# vim-style save, sed -i, cp -a, tar -x, rsync -a; then a remount.
source "$GM_TOP/tests/lib.sh"
export XDG_RUNTIME_DIR=$PWD/run; mkdir -m 0700 run   # where mounts keep lock + status
[ -e /dev/fuse ] || skip "no /dev/fuse"
[ "$(id -u)" = 0 ] || skip "runs as root (it_mount_user.sh is the unprivileged run)"

mp=$PWD/mnt
mkdir "$mp"
cleanup() {
  if mountpoint -q "$mp"; then gm -u "$mp" || fusermount3 -u -z "$mp" || umount -l "$mp"; fi
}
trap cleanup EXIT

note "fixture"
mkdir -p tree/etc/ssh tree/usr/bin tree/home/user
echo myhost > tree/etc/hostname
printf 'Port 22\nPermitRootLogin yes\nPasswordAuthentication yes\n' > tree/etc/ssh/sshd_config
cp /bin/true tree/usr/bin/mytool
echo secret > tree/home/user/private; chmod 0600 tree/home/user/private
ln -s hostname tree/etc/hostname.link
make_disk disk.raw tree 256 mbr
make_targz disk.raw image.tar.gz
rm -f disk.raw

note "mount"
gm image.tar.gz "$mp"
mountpoint -q "$mp" || fail "not mounted"
grep -q " $mp fuse.gcemount " /proc/mounts || fail "no fuse.gcemount entry in /proc/mounts"
[ "$(cat "$mp/etc/hostname")" = myhost ] || fail "read hostname"
[ "$(readlink "$mp/etc/hostname.link")" = hostname ] || fail "readlink"
ls -la "$mp" "$mp/etc" >/dev/null
df "$mp" >/dev/null || fail "statfs"

note "files: create, append, truncate, chmod, chown, utimens"
echo hello > "$mp/new.txt"
echo world >> "$mp/new.txt"
[ "$(cat "$mp/new.txt")" = $'hello\nworld' ] || fail "append"
printf 'abcdefghij' > "$mp/trunc"; truncate -s 4 "$mp/trunc"; truncate -s 8192 "$mp/trunc"
[ "$(stat -c %s "$mp/trunc")" = 8192 ] || fail "truncate size"
[ "$(head -c 4 "$mp/trunc")" = abcd ] || fail "truncate content"
chmod 0640 "$mp/new.txt"
chown 1234:5678 "$mp/new.txt"
[ "$(stat -c '%a %u %g' "$mp/new.txt")" = "640 1234 5678" ] || fail "chmod/chown"
touch -d '2001-02-03 04:05:06 UTC' "$mp/new.txt"
[ "$(stat -c %Y "$mp/new.txt")" = 981173106 ] || fail "utimens"
touch "$mp/trunc"   # UTIME_NOW
[ $(( $(date +%s) - $(stat -c %Y "$mp/trunc") )) -lt 60 ] || fail "utimens now"
cat "$mp/home/user/private" >/dev/null || fail "owner view: root-only file unreadable"

note "directories, links, special files"
mkdir -p "$mp/a/b/c"; rmdir "$mp/a/b/c"
mkdir "$mp/gone"; rmdir "$mp/gone"
ln -s /etc/hostname "$mp/a/abs.link"
ln -s "$(printf 'x%.0s' {1..200})" "$mp/a/long.link"
ln "$mp/new.txt" "$mp/a/hard.txt"
[ "$(stat -c %h "$mp/new.txt")" = 2 ] || fail "nlink after link"
mkfifo "$mp/a/fifo"
mknod "$mp/a/null" c 1 3
[ -p "$mp/a/fifo" ] && [ -c "$mp/a/null" ] || fail "mknod types"
echo moved > "$mp/a/src"; mv "$mp/a/src" "$mp/a/b/dst"
[ ! -e "$mp/a/src" ] && [ "$(cat "$mp/a/b/dst")" = moved ] || fail "rename"
echo one > "$mp/x1"; echo two > "$mp/x2"
python3 - "$mp" <<'PY' || fail "renameat2 flags"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, NOREPLACE, EXCHANGE = -100, 1, 2
def r2(a, b, fl):
    return libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), fl), ctypes.get_errno()
mp = sys.argv[1]
rc, e = r2(f"{mp}/x1", f"{mp}/x2", NOREPLACE)
assert rc == -1 and e == 17, (rc, e)
rc, e = r2(f"{mp}/x1", f"{mp}/x2", EXCHANGE)
assert rc == 0, e
assert open(f"{mp}/x1").read() == "two\n" and open(f"{mp}/x2").read() == "one\n"
PY
echo tmp > "$mp/unlinked"; rm "$mp/unlinked"
[ ! -e "$mp/unlinked" ] || fail "unlink"

note "a file unlinked while open stays readable and writable, with nlink 0"
exec 7<>"$mp/openfile"; echo before >&7; rm "$mp/openfile"; echo after >&7
[ "$(cat /proc/self/fd/7)" = $'before\nafter' ] || fail "open-unlinked content"
# pjdfstest unlink/14.t: fstat of an open, unlinked file says nlink 0
[ "$(stat -L -c %h /proc/self/fd/7)" = 0 ] || fail "nlink of an open-unlinked file: $(stat -L -c %h /proc/self/fd/7)"
exec 7>&-
[ -z "$(ls -A "$mp" | grep gcemount-orphans)" ] || fail "orphan directory visible"

note "xattrs, setcap"
setfattr -n user.color -v blue "$mp/new.txt"
setfattr -n user.tmp -v x "$mp/new.txt"; setfattr -x user.tmp "$mp/new.txt"
[ "$(getfattr --absolute-names --only-values -n user.color "$mp/new.txt")" = blue ] || fail "getxattr"
getfattr --absolute-names -d "$mp/new.txt" | grep -q user.tmp && fail "removexattr"
setcap cap_net_raw+ep "$mp/usr/bin/mytool"
getcap "$mp/usr/bin/mytool" | grep -q cap_net_raw || fail "getcap"

note "editors: vim save (rename style), sed -i"
vim=$(command -v vim || command -v vim.tiny || command -v vi) || skip "no vim/vi (vim-tiny)"
"$vim" -u NONE -es -c 'set nobackup writebackup backupcopy=no' -c '%s/yes/no/' -c wq \
  "$mp/etc/ssh/sshd_config" </dev/null || fail "vim"
grep -q 'PermitRootLogin no' "$mp/etc/ssh/sshd_config" || fail "vim edit lost"
sed -i 's/^Port 22/Port 2222/' "$mp/etc/ssh/sshd_config"
grep -q '^Port 2222' "$mp/etc/ssh/sshd_config" || fail "sed -i"

note "cp -a, tar -x, rsync -a"
mkdir -p src/d; echo f1 > src/f1; ln -s f1 src/sl; ln src/f1 src/d/hl; mkfifo src/fifo
setfattr -n user.k -v v src/f1; chmod 0751 src/d
cp -a src "$mp/copy"
[ "$(stat -c '%i %h' "$mp/copy/f1")" = "$(stat -c '%i %h' "$mp/copy/d/hl")" ] || fail "cp -a hard link"
[ "$(readlink "$mp/copy/sl")" = f1 ] && [ -p "$mp/copy/fifo" ] || fail "cp -a symlink/fifo"
[ "$(getfattr --absolute-names --only-values -n user.k "$mp/copy/f1")" = v ] || fail "cp -a xattr"
[ "$(stat -c %a "$mp/copy/d")" = 751 ] || fail "cp -a mode"
tar -cf zi.tar -C /usr/share zoneinfo
mkdir "$mp/tarx"; tar -xf zi.tar -C "$mp/tarx"
# An absolute link (zoneinfo/localtime -> /etc/localtime) reads relative
# through the mount (contained symlinks), and is stored as written.
diff -r --no-dereference --exclude=localtime /usr/share/zoneinfo "$mp/tarx/zoneinfo" \
  || fail "tar -x content"
if [ "$(readlink /usr/share/zoneinfo/localtime)" = /etc/localtime ]; then
  [ "$(readlink "$mp/tarx/zoneinfo/localtime")" = ../../etc/localtime ] \
    || fail "contained absolute link: $(readlink "$mp/tarx/zoneinfo/localtime")"
fi
rsync -a /usr/share/zoneinfo/ "$mp/rs/"
diff -r --no-dereference --exclude=localtime /usr/share/zoneinfo "$mp/rs" || fail "rsync -a content"

note "unmount (write-back), then check the image with debugfs and e2fsck"
before=$(sha image.tar.gz)
gm -u "$mp" || fail "gcemount -u"
mountpoint -q "$mp" && fail "still mounted"
[ "$(sha image.tar.gz)" != "$before" ] || fail "image not rewritten"
extract_disk image.tar.gz out
e2fsck_clean out/disk.raw
spec=$(fs_spec out/disk.raw)
dbg() { debugfs -R "$1" "$spec" 2>/dev/null; }
[ "$(dbg 'cat /new.txt')" = $'hello\nworld' ] || fail "debugfs: new.txt content"
dbg 'stat /new.txt' | grep -q 'User:  1234   Group:  5678' || fail "debugfs: owner"
dbg 'stat /new.txt' | grep -q 'Mode:  0640' || fail "debugfs: mode"
dbg 'stat /new.txt' | grep -q 'Links: 2' || fail "debugfs: link count"
dbg 'ea_list /new.txt' | grep -q 'user.color.*blue' || fail "debugfs: xattr"
dbg 'ea_list /usr/bin/mytool' | grep -q 'security.capability' || fail "debugfs: capability"
dbg 'stat /a/fifo' | grep -q 'Type: FIFO' || fail "debugfs: fifo"
dbg 'stat /a/null' | grep -q 'Type: character special' || fail "debugfs: char device"
dbg 'stat /a/abs.link' | grep -q 'Fast link dest: "/etc/hostname"' || fail "debugfs: symlink"
if [ "$(readlink /usr/share/zoneinfo/localtime)" = /etc/localtime ]; then
  dbg 'stat /tarx/zoneinfo/localtime' | grep -q 'Fast link dest: "/etc/localtime"' \
    || fail "debugfs: an absolute link extracted by tar is not stored as written"
fi
dbg 'ls -l /' | grep -q gcemount-orphans && fail "orphan directory left in the image"
[ "$(dbg 'cat /x1')" = two ] || fail "debugfs: exchange"
[ "$(dbg 'cat /a/b/dst')" = moved ] || fail "debugfs: rename"
dbg 'cat /etc/ssh/sshd_config' | grep -q '^Port 2222' || fail "debugfs: sed -i"
dbg 'cat /etc/ssh/sshd_config' | grep -q 'PermitRootLogin no' || fail "debugfs: vim"
dbg 'stat /unlinked' | grep -q 'Inode:' && fail "debugfs: unlinked file present"
zf=$(cd /usr/share && find zoneinfo -type f -size +1k | sort | head -1)
[ "$(dbg "cat /tarx/$zf" | sha256sum)" = "$(sha256sum < "/usr/share/$zf")" ] \
  || fail "debugfs: tar -x content ($zf)"

note "remount: everything still there; an untouched session rewrites nothing"
gm image.tar.gz "$mp"
getcap "$mp/usr/bin/mytool" | grep -q cap_net_raw || fail "getcap after remount"
[ "$(getfattr --absolute-names --only-values -n user.color "$mp/new.txt")" = blue ] || fail "xattr after remount"
diff -r --no-dereference --exclude=localtime /usr/share/zoneinfo "$mp/rs" \
  || fail "rsync tree after remount"
after=$(sha image.tar.gz)
gm -u "$mp"
[ "$(sha image.tar.gz)" = "$after" ] || fail "a read-only session rewrote the image"
echo "ok"
