#!/bin/bash
# it_mount_refusals.sh — how a mount starts, or says in one line why not
# (exit 5, before the image is extracted): a non-empty mount point (refused
# unless -o nonempty, then its files come back after the unmount); as nobody
# a mount point it cannot write, a sticky one not its own, no_new_privs, a
# fusermount3 on a nosuid filesystem, and fusermount3 refused by a security
# policy (Ubuntu's AppArmor profile: a fake fusermount3 says what the real
# one says, in a private mount namespace); nosuid,nodev always, -o suid
# refused; the /dev/fd/N hand-off: a root launcher (tests/tools/
# fd_launcher.py) opens /dev/fuse, mounts it for nobody and passes the
# descriptor to `gcemount IMAGE /dev/fd/N` running as nobody, which serves
# until the launcher unmounts, then writes back (exit 0); bad descriptors
# are refused.
source "$GM_TOP/tests/lib.sh"
export XDG_RUNTIME_DIR=$PWD/run; mkdir -m 0700 run   # root's mounts keep lock + status here
[ -e /dev/fuse ] || skip "no /dev/fuse"
[ "$(id -u)" = 0 ] || skip "needs root (runs as root and as nobody)"
command -v setpriv >/dev/null && command -v unshare >/dev/null || skip "no setpriv/unshare"
[ -u /usr/bin/fusermount3 ] || skip "no setuid fusermount3"

devfuse_lock
old_mode=$(stat -c %a /dev/fuse)
u=$(mktemp -d /tmp/gm-refuse.XXXXXX)
out=$(mktemp -d /var/tmp/gm-refuse.XXXXXX)   # outside AppArmor's allowed places
chmod 0755 "$u" "$out"
mp=$u/mnt
as_nobody() {
  setpriv --reuid=65534 --regid=65534 --clear-groups \
    env HOME="$u" XDG_CACHE_HOME="$u/.cache" XDG_RUNTIME_DIR="$u/run" PATH="$PATH" "$@"
}
cleanup() {
  local m
  for m in "$mp" "$out/mnt"; do
    if grep -q " $m " /proc/mounts; then gm -u "$m" 2>/dev/null || umount -l "$m"; fi
  done
  chmod "$old_mode" /dev/fuse
  rm -rf "$u" "$out"
}
trap cleanup EXIT

mkdir -p tree/etc; echo v1 > tree/etc/version
make_disk disk.raw tree 64 mbr
make_targz disk.raw "$u/image.tar.gz"
rm -f disk.raw
chown -R 65534:65534 "$u" "$out"
as_nobody mkdir -p "$mp" "$u/run"; chmod 0700 "$u/run"

# refused CMD...: exit 5, one line, containing each of the patterns in $want
refused() {
  expect_exit 5 "$@"
  [ "$(wc -l < last.err)" = 1 ] || fail "more than one line: $(cat last.err)"
  local p; for p in "${want[@]}"; do grep -qF -- "$p" last.err || fail "no '$p' in: $(cat last.err)"; done
  [ ! -d "$u/.cache/gcemount" ] || [ -z "$(ls "$u/.cache/gcemount" | grep -v mounts)" ] \
    || fail "the image was extracted before the refusal"
}

note "root: a non-empty mount point is refused; -o nonempty mounts over it"
mkdir -p "$u/full"; echo mine > "$u/full/keep"
want=("is not empty" "keep" "-o nonempty"); refused gm "$u/image.tar.gz" "$u/full"
gm -q -o nonempty "$u/image.tar.gz" "$u/full"
[ "$(cat "$u/full/etc/version")" = v1 ] || fail "-o nonempty: not mounted"
grep " $u/full fuse.gcemount " /proc/mounts | grep -q 'nosuid,nodev' || fail "root mount without nosuid,nodev"
gm -q -u "$u/full"
[ "$(cat "$u/full/keep")" = mine ] || fail "the hidden file did not come back"
expect_exit 64 gm -o suid "$u/image.tar.gz" "$mp"
expect_exit 64 gm -o dev "$u/image.tar.gz" "$mp"

chmod 0666 /dev/fuse
note "nobody: a mount point it cannot write, a sticky one not its own"
mkdir -p "$u/rootdir"; chmod 0755 "$u/rootdir"; chown 0:0 "$u/rootdir"
want=("not writable by you" "mkdir ~/mnt"); refused as_nobody "$GM_BIN" "$u/image.tar.gz" "$u/rootdir"
mkdir -p "$u/sticky"; chmod 1777 "$u/sticky"; chown 0:0 "$u/sticky"
want=("sticky directory that is not yours"); refused as_nobody "$GM_BIN" "$u/image.tar.gz" "$u/sticky"

note "nobody: no_new_privs, fusermount3 on a nosuid filesystem"
want=("no_new_privs" "/dev/fd/N"); refused as_nobody setpriv --no-new-privs "$GM_BIN" "$u/image.tar.gz" "$mp"
want=("nosuid filesystem"); refused unshare -m --propagation private sh -c '
  mount --bind /usr/bin/fusermount3 /usr/bin/fusermount3 &&
  mount -o remount,bind,nosuid /usr/bin/fusermount3 &&
  exec setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$1" \
    XDG_CACHE_HOME="$1/.cache" XDG_RUNTIME_DIR="$1/run" "$2" "$1/image.tar.gz" "$1/mnt"' \
  sh "$u" "$GM_BIN"

note "nobody: fusermount3 refused by a security policy (what AppArmor's refusal looks like)"
printf '#!/bin/sh\necho "fusermount3: mount failed: Permission denied" >&2\nexit 1\n' > fakefm
chmod 4755 fakefm
cp fakefm "$u/fakefm"; chown 0:0 "$u/fakefm"; chmod 4755 "$u/fakefm"
as_nobody mkdir "$out/mnt"
aa() {   # MOUNTPOINT: mount as nobody with the fake fusermount3
  unshare -m --propagation private sh -c '
    mount --bind "$1/fakefm" /usr/bin/fusermount3 &&
    exec setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$1" \
      XDG_CACHE_HOME="$1/.cache" XDG_RUNTIME_DIR="$1/run" "$2" "$1/image.tar.gz" "$3"' \
    sh "$u" "$GM_BIN" "$1"
}
want=("mount failed: Permission denied" "AppArmor" "/mnt, /media, /tmp" "use a mount point there")
expect_exit 5 aa "$out/mnt"
[ "$(wc -l < last.err)" = 1 ] || fail "more than one line: $(cat last.err)"
for p in "${want[@]}"; do grep -qF -- "$p" last.err || fail "no '$p' in: $(cat last.err)"; done
expect_exit 5 aa "$mp"       # an allowed place: names the policy, no advice to move
grep -q 'security policy' last.err && ! grep -q 'use a mount point there' last.err \
  || fail "allowed place: $(cat last.err)"

rm -rf "$u/.cache/gcemount"   # the two tries above extracted the image
note "/dev/fd/N: bad descriptors are refused"
want=("/dev/fd/57" "no such open descriptor"); refused as_nobody "$GM_BIN" "$u/image.tar.gz" /dev/fd/57
want=("is not a /dev/fuse descriptor"); refused as_nobody sh -c "exec 7<'$u/image.tar.gz'; exec '$GM_BIN' '$u/image.tar.gz' /dev/fd/7"

note "/dev/fd/N: a root launcher mounts /dev/fuse for nobody, nobody's gcemount serves it"
python3 "$GM_TOP/tests/tools/fd_launcher.py" "$mp" 65534 65534 \
  'setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "
     test \"\$(cat $1/etc/version)\" = v1 && echo v2 > $1/etc/version && mkdir $1/handed &&
     test \"\$(stat -c %u $1/etc/version)\" = 65534"' -- \
  setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$u" XDG_CACHE_HOME="$u/.cache" \
    "$GM_BIN" "$u/image.tar.gz" '/dev/fd/{fd}' 2>launch.err \
  || { cat launch.err >&2; fail "the hand-off (exit $?)"; }
grep -q "serving $u/image.tar.gz on /dev/fd/" launch.err || fail "hand-off message: $(cat launch.err)"
grep -q " $mp " /proc/mounts && fail "still mounted after the launcher's unmount"
extract_disk "$u/image.tar.gz" outd
e2fsck_clean outd/disk.raw
spec=$(fs_spec outd/disk.raw)
[ "$(debugfs -R 'cat /etc/version' "$spec" 2>/dev/null)" = v2 ] || fail "hand-off: the write is not in the image"
debugfs -R 'stat /handed' "$spec" 2>/dev/null | grep -q 'User:     0   Group:     0' \
  || fail "hand-off: new directory not owned by the image's root"
echo ok
