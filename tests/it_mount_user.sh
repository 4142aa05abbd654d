#!/bin/bash
# it_mount_user.sh — the mount as an unprivileged user (nobody, via setpriv):
# with /dev/fuse 0600 the mount is refused with one clear line (exit 5);
# with /dev/fuse 0666 (set for this test, restored by the trap) nobody mounts
# through the setuid fusermount3 and sees the image's root as itself
# (-o ids=mapped); every everyday tool (sed -i, cp -a/-p, install -m, rsync
# -a/-AX, tar -x with --same-owner/--xattrs/--acls, touch -d, chmod, chown,
# chgrp, ln, ln -s, mkfifo, mknod, setfattr/getfattr, setfacl/getfacl, vim
# and vim.tiny with and without backupcopy, git, patch, unzip, cpio -idm)
# exits 0 with nothing on stderr; an open-unlinked file shows nlink 0; the
# model-based random test runs; after `gcemount -u` debugfs finds the
# intended owners, modes, ACLs, xattrs and times, e2fsck is clean,
# `gcemount ls -l` prints the image's numbers and -o ids=image shows them.
source "$GM_TOP/tests/lib.sh"
[ -e /dev/fuse ] || skip "no /dev/fuse"
[ "$(id -u)" = 0 ] || skip "needs root to switch to nobody and to change /dev/fuse's mode"
command -v setpriv >/dev/null || skip "no setpriv"
[ -u /usr/bin/fusermount3 ] || skip "no setuid fusermount3"
for t in rsync setfacl getfattr vim vim.tiny git patch unzip cpio; do
  command -v $t >/dev/null || skip "no $t (scripts/deps.sh installs it)"
done

devfuse_lock
old_mode=$(stat -c %a /dev/fuse)
u=$(mktemp -d /tmp/gm-user.XXXXXX)
chmod 0755 "$u"
mp=$u/mnt
as_nobody() {
  setpriv --reuid=65534 --regid=65534 --clear-groups \
    env HOME="$u" XDG_CACHE_HOME="$u/.cache" XDG_RUNTIME_DIR="$u/run" PATH="$PATH" \
    LC_ALL=C.UTF-8 "$@"
}
cleanup() {
  if mountpoint -q "$mp" 2>/dev/null || [ -n "$(grep " $mp " /proc/mounts)" ]; then
    as_nobody "$GM_BIN" -u "$mp" || umount -l "$mp"
  fi
  chmod "$old_mode" /dev/fuse
  rm -rf "$u"
}
trap cleanup EXIT

note "fixtures (the image, and what the tools copy in, built as root)"
mkdir -p tree/etc/ssh tree/root tree/tmp tree/srv tree/home/alice tree/usr/bin
echo myhost > tree/etc/hostname
printf 'Port 22\nX11Forwarding yes\nPermitRootLogin yes\n' > tree/etc/ssh/sshd_config
echo rootonly > tree/root/secret; chmod 0600 tree/root/secret; chmod 0700 tree/root
chmod 1777 tree/tmp
echo alice > tree/home/alice/notes; chown -R 1000:1000 tree/home/alice
cp /bin/true tree/usr/bin/tool; setfattr -n security.gmtest -v label tree/usr/bin/tool
make_disk "$u/disk.raw" tree 128 mbr
make_targz "$u/disk.raw" "$u/image.tar.gz"
rm -f "$u/disk.raw" "$u/disk.raw.offset"
src=$u/src                       # nobody's own files
mkdir -p "$src/d"; echo one > "$src/f"; echo two > "$src/d/g"; ln -s f "$src/sl"
chmod 0640 "$src/f"; chmod 0750 "$src/d"
setfattr -n user.k -v v "$src/f"; setfacl -m u:1234:r "$src/f"
touch -d '2002-03-04 05:06:07 UTC' "$src/f"
arc=$u/arc                       # archives made by root: root-owned entries
mkdir -p arc/t/sub; echo tar1 > arc/t/a; echo tar2 > arc/t/sub/b; echo other > arc/t/o
chown 1234:5678 arc/t/o; setfattr -n user.t -v x arc/t/a; setfacl -m u:4321:rw arc/t/a
touch -d '2003-04-05 06:07:08 UTC' arc/t/a
mkdir "$arc"
tar --xattrs --acls -cf "$arc/t.tar" -C arc t
(cd arc/t && find . | cpio -o -H newc --quiet > "$arc/t.cpio")
python3 - "$arc/z.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("zdir/readme.txt", "zipped\n")
    z.writestr("zdir/two.txt", "second\n")
PY
printf 'Port 22\nX11Forwarding yes\nPermitRootLogin yes\n' > old.conf
printf 'Port 2222\nX11Forwarding yes\nPermitRootLogin no\n' > new.conf
diff -u old.conf new.conf | sed '1,2c\--- a/conf\n+++ b/conf' > "$arc/p.diff" || true
chown -R 65534:65534 "$u"
chown -R 0:0 "$arc"; chmod -R go+rX "$arc"
as_nobody mkdir "$mp"
as_nobody mkdir -m 0700 "$u/run"

note "/dev/fuse 0600: one clear line, exit 5"
chmod 0600 /dev/fuse
expect_exit 5 as_nobody "$GM_BIN" "$u/image.tar.gz" "$mp"
[ "$(wc -l < last.err)" = 1 ] || fail "more than one line: $(cat last.err)"
grep -q '/dev/fuse' last.err && grep -q 'gcemount ls' last.err || fail "message: $(cat last.err)"
[ -d "$u/.cache/gcemount" ] && [ -n "$(ls "$u/.cache/gcemount" | grep -v mounts)" ] \
  && fail "the image was extracted before the FUSE check"

note "/dev/fuse 0666: nobody mounts (nosuid,nodev), the image's root shows as nobody"
chmod 0666 /dev/fuse
as_nobody "$GM_BIN" -q "$u/image.tar.gz" "$mp"
grep " $mp fuse.gcemount " /proc/mounts | grep -q 'nosuid,nodev' || fail "not mounted nosuid,nodev"
[ "$(as_nobody stat -c %u:%g "$mp/etc/hostname")" = 65534:65534 ] || fail "root file not shown as the caller's"
[ "$(as_nobody stat -c %u:%g "$mp/home/alice/notes")" = 1000:1000 ] || fail "other owners must show as stored"
[ "$(as_nobody cat "$mp/root/secret")" = rootonly ] || fail "owner's view: root-only file"
ls "$mp" >/dev/null 2>&1 && fail "root can see into nobody's mount without allow_other"

note "everyday tools as nobody: exit 0, nothing on stderr"
: > tools.txt
tool() {   # tool NAME SHELL-COMMAND (run by sh as nobody; M=mount, S=src, A=archives)
  local name=$1 rc; shift
  set +e; as_nobody env M="$mp" S="$src" A="$arc" sh -c "$1" >tool.out 2>tool.err; rc=$?; set -e
  [ $rc = 0 ] && [ ! -s tool.err ] || { cat tool.err >&2; fail "$name: exit $rc, stderr above"; }
  echo "$name: ok" >> tools.txt
}
tool "sed -i"        'sed -i "s/^X11Forwarding.*/X11Forwarding no/" $M/etc/ssh/sshd_config'
tool "cp -a"         'cp -a $M/etc/ssh/sshd_config $M/etc/ssh/copy && cp -a $S $M/srv/cpa'
tool "cp -p"         'cp -p /etc/hostname $M/etc/cpp && cp -p $S/f $M/etc/cpp2'
tool "install -m"    'install -m 600 /etc/hostname $M/etc/inst'
tool "rsync -a"      'rsync -a $S/ $M/srv/rs/'
tool "rsync -aAX"    'rsync -aAX $S/ $M/srv/rsax/'
tool "tar -x"        'mkdir $M/srv/tx && tar -xf $A/t.tar -C $M/srv/tx'
tool "tar -x --same-owner" 'mkdir $M/srv/tso && tar --same-owner -xf $A/t.tar -C $M/srv/tso'
tool "tar -x --xattrs" 'mkdir $M/srv/txa && tar --xattrs -xf $A/t.tar -C $M/srv/txa'
tool "tar -x --acls" 'mkdir $M/srv/tac && tar --acls -xf $A/t.tar -C $M/srv/tac'
tool "touch -d"      'touch -d "2001-02-03 04:05:06 UTC" $M/etc/hostname'
tool "chmod"         'chmod 0640 $M/etc/inst && chmod u+s,g+s $M/usr/bin/tool'
tool "chown"         'echo c > $M/srv/owned && chown 1234:5678 $M/srv/owned && echo r > $M/srv/rooted && chown root:root $M/srv/rooted'
tool "chgrp"         'echo g > $M/srv/grp && chgrp 4321 $M/srv/grp'
tool "ln"            'ln $M/etc/hostname $M/etc/hostname.hard'
tool "ln -s"         'ln -s hostname $M/etc/hostname.sym && ln -s /etc/ssh $M/etc/sshlink'
tool "mkfifo"        'mkfifo $M/srv/fifo'
tool "mknod p"       'mknod $M/srv/fifo2 p'
tool "setfattr user." 'setfattr -n user.color -v blue $M/etc/hostname && setfattr -n user.tmp -v x $M/etc/hostname && setfattr -x user.tmp $M/etc/hostname'
tool "getfattr user./security." 'test "$(getfattr --absolute-names --only-values -n user.color $M/etc/hostname)" = blue &&
  test "$(getfattr --absolute-names --only-values -n security.gmtest $M/usr/bin/tool)" = label &&
  getfattr --absolute-names -d -m - $M/usr/bin/tool | grep -q security.gmtest'
tool "setfacl"       'setfacl -m u:1234:rw,g:5678:r $M/etc/ssh/sshd_config && setfacl -d -m u:1234:rx $M/srv &&
  setfacl -m u:65534:r $M/etc/inst && setfacl -b $M/etc/ssh/copy'
tool "getfacl"       'getfacl -p $M/etc/ssh/sshd_config | grep -q "^user:1234:rw-" &&
  getfacl -p $M/etc/inst | grep -q "^user:nobody:r--" && getfacl -p $M/srv | grep -q "^default:user:1234:r-x"'
for v in vim vim.tiny; do
  for bc in yes no; do
    tool "$v backupcopy=$bc" "$v -N -u NONE -i NONE -n -es -c 'set backupcopy=$bc backup writebackup' \
      -c '%s/^Port .*/Port 2$bc/' -c wq \$M/etc/ssh/sshd_config </dev/null"
    as_nobody grep -q "^Port 2$bc" "$mp/etc/ssh/sshd_config" || fail "$v backupcopy=$bc: edit lost"
  done
done
tool "git"           'mkdir $M/srv/repo && cd $M/srv/repo && git -c init.defaultBranch=main init -q &&
  echo hi > f && git add f && git -c user.name=t -c user.email=t@example.com commit -q -m first &&
  git log --oneline | grep -q first && git fsck --no-progress'
tool "patch"         'cp $M/etc/ssh/sshd_config /dev/null && mkdir $M/srv/pt && cd $M/srv/pt &&
  printf "Port 22\nX11Forwarding yes\nPermitRootLogin yes\n" > conf && patch -s -p1 < $A/p.diff &&
  grep -q "Port 2222" conf'
tool "unzip"         'unzip -q $A/z.zip -d $M/srv/uz && grep -q zipped $M/srv/uz/zdir/readme.txt'
tool "cpio -idm"     'mkdir $M/srv/cp && cd $M/srv/cp && cpio -idm --quiet < $A/t.cpio && test -f sub/b'
tool "security. set refused by the kernel, as on any fs" \
  'if setfattr -n security.x -v y $M/etc/hostname 2>/dev/null; then exit 1; fi'
cat tools.txt

note "an open file unlinked shows nlink 0 and keeps its data until closed"
as_nobody python3 - "$mp/srv" <<'PY' || fail "nlink of an open-unlinked file"
import os, sys
p = os.path.join(sys.argv[1], "unlinked")
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"before")
os.link(p, p + ".2")
os.unlink(p)
assert os.fstat(fd).st_nlink == 1, os.fstat(fd).st_nlink
os.unlink(p + ".2")
assert os.fstat(fd).st_nlink == 0, os.fstat(fd).st_nlink
os.write(fd, b"after")
assert os.pread(fd, 100, 0) == b"beforeafter"
# The root does not count the hidden directory keeping it.
root = os.path.dirname(sys.argv[1])
subdirs = [n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n))
           and not os.path.islink(os.path.join(root, n))]
assert ".gcemount-orphans" not in subdirs
assert os.stat(root).st_nlink == 2 + len(subdirs), (os.stat(root).st_nlink, subdirs)
os.close(fd)
PY

note "model-based random test as nobody"
as_nobody mkdir "$mp/model" "$u/model"
seed=${GM_MODEL_SEED:-$RANDOM}
as_nobody python3 "$GM_TOP/tests/tools/model_test.py" run "$seed" 1500 "$mp/model" "$u/model" 1 \
  || fail "model test (seed $seed)"

note "unmount as nobody (waits for write-back); the image holds what was meant"
as_nobody "$GM_BIN" -q -u "$mp" || fail "gcemount -u as nobody"
grep -q " $mp " /proc/mounts && fail "still mounted"
extract_disk "$u/image.tar.gz" out
e2fsck_clean out/disk.raw
spec=$(fs_spec out/disk.raw)
dbg() { debugfs -R "$1" "$spec" 2>/dev/null; }
owner() { dbg "stat $1" | sed -n 's/.*User: *\([0-9]*\) *Group: *\([0-9]*\).*/\1:\2/p'; }
mode() { printf '%o' "$(( 8#$(dbg "stat $1" | sed -n 's/.*Mode: *\([0-7]*\).*/\1/p') ))"; }
has() { dbg "$1" | grep -q -- "$2" || fail "debugfs $1: no '$2'"; }
[ "$(dbg 'cat /root/secret')" = rootonly ] || fail "debugfs: secret"
has 'cat /etc/ssh/sshd_config' 'X11Forwarding no'
has 'cat /etc/ssh/sshd_config' '^Port 2no'
for f in /etc/ssh/sshd_config /etc/ssh/copy /etc/cpp /etc/cpp2 /etc/inst /srv/cpa/f /srv/rs/f \
         /srv/rsax/f /srv/tx/t/a /srv/tso/t/a /srv/rooted /srv/repo/.git/HEAD /srv/uz/zdir/readme.txt \
         /srv/cp/sub/b /srv/fifo /etc/hostname.sym /model; do
  [ "$(owner $f)" = 0:0 ] || fail "$f: owner $(owner $f), expected the image's root 0:0"
done
[ "$(owner /home/alice/notes)" = 1000:1000 ] || fail "alice's file changed owner"
[ "$(owner /srv/owned)" = 1234:5678 ] || fail "chown 1234:5678: $(owner /srv/owned)"
[ "$(owner /srv/tso/t/o)" = 1234:5678 ] || fail "tar --same-owner: $(owner /srv/tso/t/o)"
[ "$(owner /srv/grp)" = 0:4321 ] || fail "chgrp: $(owner /srv/grp)"
[ "$(mode /etc/inst)" = 640 ] || fail "install/chmod mode: $(mode /etc/inst)"
[ "$(mode /usr/bin/tool)" = 6755 ] || fail "chmod u+s,g+s: $(mode /usr/bin/tool)"
[ "$(mode /srv/cpa/d)" = 750 ] || fail "cp -a dir mode: $(mode /srv/cpa/d)"
mtime() { has "stat $1" "mtime: $(printf '0x%08x' "$(date -d "$2" +%s)")"; }
mtime /etc/hostname '2001-02-03 04:05:06 UTC'        # touch -d
mtime /etc/cpp2 '2002-03-04 05:06:07 UTC'            # cp -p
mtime /srv/rs/f '2002-03-04 05:06:07 UTC'            # rsync -a
mtime /srv/cp/a '2003-04-05 06:07:08 UTC'            # cpio -m
mtime /srv/tx/t/a '2003-04-05 06:07:08 UTC'          # tar -x
has 'stat /etc/hostname' 'Links: 2'
has 'stat /srv/fifo' 'Type: FIFO'
has 'stat /srv/fifo2' 'Type: FIFO'
has 'stat /etc/sshlink' 'Fast link dest: "/etc/ssh"'
has 'ea_list /etc/hostname' 'user.color'
has 'ea_list /srv/rsax/f' 'user.k'
has 'ea_list /srv/txa/t/a' 'user.t'
has 'ea_list /usr/bin/tool' 'security.gmtest'
# ACLs (debugfs prints the on-disk entries): ids as the image stores them.
acl() {   # the stored ACL of $1 as "user::rw- user:1234:r-- ...", or nothing
  dbg "ea_get $1 system.posix_acl_access" | python3 -c '
import sys
text = sys.stdin.read()
if "=" in text:
    b = bytes.fromhex(text.split("=", 1)[1])
    tags = {1: "user:", 2: "user:", 4: "group:", 8: "group:", 16: "mask:", 32: "other:"}
    out = []
    for i in range(4, len(b), 8):
        tag, perm, uid = int.from_bytes(b[i:i+2], "little"), b[i+2], int.from_bytes(b[i+4:i+8], "little")
        rwx = "".join(c if perm & m else "-" for c, m in (("r", 4), ("w", 2), ("x", 1)))
        out.append(tags[tag] + (str(uid) if tag in (2, 8) else "") + ":" + rwx)
    print(" ".join(out))'
}
[ "$(acl /etc/ssh/sshd_config)" = "user::rw- user:1234:rw- group::r-- group:5678:r-- mask::rw- other::r--" ] \
  || fail "setfacl: $(acl /etc/ssh/sshd_config)"
[ "$(acl /etc/inst)" = "user::rw- user:0:r-- group::r-- mask::r-- other::---" ] \
  || fail "setfacl u:nobody (the caller) must store the image's root: $(acl /etc/inst)"
[ "$(acl /srv/rsax/f)" = "user::rw- user:1234:r-- group::r-- mask::r-- other::---" ] \
  || fail "rsync -A: $(acl /srv/rsax/f)"
[ "$(acl /srv/tac/t/a)" = "user::rw- user:4321:rw- group::r-- mask::rw- other::r--" ] \
  || fail "tar --acls: $(acl /srv/tac/t/a)"
[ -z "$(acl /etc/ssh/copy)" ] || fail "setfacl -b: $(acl /etc/ssh/copy)"

note "gcemount ls -l prints the image's own numbers; -o ids=image shows them too"
as_nobody "$GM_BIN" ls -l "$u/image.tar.gz" /etc/hostname > ls.out
grep -q ' 0 *0 ' ls.out || fail "ls -l: $(cat ls.out)"
as_nobody "$GM_BIN" -q -o ids=image "$u/image.tar.gz" "$mp"
[ "$(as_nobody stat -c %u:%g "$mp/etc/hostname")" = 0:0 ] || fail "-o ids=image"
as_nobody python3 "$GM_TOP/tests/tools/model_test.py" compare "$mp/model" "$u/model" 1 \
  || fail "tree differs after remount (seed $seed)"
as_nobody "$GM_BIN" -q -u "$mp"
echo ok
