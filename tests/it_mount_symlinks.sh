#!/bin/bash
# it_mount_symlinks.sh — symlinks through the mount stay inside the image
# (issue 9 §3). The image's links point at host canaries (absolute, climbing
# with "..", chained, a link to "/" followed by "..", a directory link, a
# hostile /etc/ssh/sshd_config); read, write, append, sed -i, cp and tar -x
# go through them as root and as nobody. readlink shows the equivalent path
# relative to the link, resolved with the image's semantics; the host's
# canaries are never touched; the image's own files get the writes; links
# keep their stored text (debugfs); a rename to another depth recomputes the
# target; a hard-linked symlink whose target needs rewriting is refused;
# -o symlinks=raw shows the stored text; links created through the mount are
# stored as written.
source "$GM_TOP/tests/lib.sh"
export XDG_RUNTIME_DIR=$PWD/run; mkdir -m 0700 run   # root's mounts keep lock + status here
[ -e /dev/fuse ] || skip "no /dev/fuse"
[ "$(id -u)" = 0 ] || skip "needs root (runs as root, then as nobody with /dev/fuse 0666)"
command -v setpriv >/dev/null || skip "no setpriv"
[ -u /usr/bin/fusermount3 ] || skip "no setuid fusermount3"

devfuse_lock
old_mode=$(stat -c %a /dev/fuse)
canary=$(mktemp -d /tmp/gm-canary.XXXXXX)
u=$(mktemp -d /tmp/gm-links.XXXXXX)
chmod 0755 "$u"
mp=$u/mnt
as_nobody() {
  setpriv --reuid=65534 --regid=65534 --clear-groups \
    env HOME="$u" XDG_CACHE_HOME="$u/.cache" XDG_RUNTIME_DIR="$u/run" PATH="$PATH" "$@"
}
cleanup() {
  if grep -q " $mp " /proc/mounts; then
    "$GM_BIN" -u "$mp" 2>/dev/null || as_nobody "$GM_BIN" -u "$mp" || umount -l "$mp"
  fi
  chmod "$old_mode" /dev/fuse
  rm -rf "$u" "$canary" "$canary.new"
}
trap cleanup EXIT

note "fixture: host canaries open to everyone, an image whose links point at them"
# World-writable canaries: an escape would succeed for nobody too.
chmod 0777 "$canary"
for f in hostfile sshd_config; do echo HOST > "$canary/$f"; chmod 0666 "$canary/$f"; done
c=${canary#/}
mkdir -p tree/etc/ssh tree/srv/a/b "tree/$c"
echo imagehost > tree/etc/hostname
echo 'PermitRootLogin yes' > "tree/$c/sshd_config"
ln -s "$canary/hostfile" tree/etc/abs                 # absolute, missing in the image
ln -s "../../../../../../../$c/hostfile" tree/etc/climb  # relative, climbing past the root
ln -s abs tree/etc/chain                              # a link to a link
ln -s "$canary" tree/etc/dirlink                      # absolute directory link
ln -s / tree/etc/rootl
ln -s "../etc/rootl/../$c/hostfile" tree/srv/esc      # ".." after a link to "/"
ln -s "$canary/sshd_config" tree/etc/ssh/sshd_config  # the hostile config link
ln -s "$canary.new" tree/etc/newfile                  # a file neither side has
ln -s /etc/hostname tree/srv/hn                       # both sides have one: the image's
make_disk disk.raw tree 64 mbr
make_targz disk.raw image.tar.gz
rm -f disk.raw
mkdir -p arc/etc/dirlink; echo tarred > arc/etc/dirlink/tarred
tar -cf "$u/links.tar" -C arc etc/dirlink/tarred
echo copied > "$u/copied"
cp -a "$canary" canary.before

check_host() {
  diff -r "$canary" canary.before >/dev/null || fail "$1: a host canary changed: $(diff -r "$canary" canary.before)"
  [ ! -e "$canary.new" ] || fail "$1: $canary.new was created on the host"
}

# run WHO: the whole scenario on a fresh copy of the image, as root or nobody.
run() {
  local who=$1 img=$u/$1.tar.gz r=
  cp image.tar.gz "$img"; chown -R 65534:65534 "$u"
  [ "$who" = nobody ] && r=as_nobody
  $r mkdir -p "$mp" "$u/run"; $r chmod 0700 "$u/run"
  note "$who: mount; readlink shows targets relative to each link"
  $r "$GM_BIN" -q "$img" "$mp"
  want() { [ "$($r readlink "$mp/$1")" = "$2" ] || fail "$who: readlink $1: '$($r readlink "$mp/$1")', want '$2'"; }
  want etc/abs "../$c/hostfile"
  want etc/climb "../$c/hostfile"
  want etc/chain abs
  want etc/dirlink "../$c"
  want etc/rootl ..
  want srv/esc "../$c/hostfile"
  want etc/ssh/sshd_config "../../$c/sshd_config"
  want srv/hn ../etc/hostname
  want etc/newfile "../${c%/*}/${canary##*/}.new"
  [ "$($r cat "$mp/srv/hn")" = imagehost ] || fail "$who: read through /srv/hn"

  note "$who: write, append, sed -i, cp, tar -x through the links"
  $r sh -c "echo W1 > '$mp/etc/abs' && echo W2 >> '$mp/etc/climb' && echo W3 >> '$mp/etc/chain' &&
    echo W4 >> '$mp/srv/esc' && echo W5 > '$mp/etc/dirlink/dfile' && echo W6 > '$mp/etc/newfile'" \
    || fail "$who: writes through links"
  $r sed -i --follow-symlinks 's/yes/no/' "$mp/etc/ssh/sshd_config" || fail "$who: sed -i --follow-symlinks"
  $r cp "$u/copied" "$mp/etc/dirlink/copied" || fail "$who: cp through a directory link"
  $r tar -xf "$u/links.tar" -C "$mp" || fail "$who: tar -x through a directory link"
  [ "$($r cat "$mp/$c/hostfile")" = $'W1\nW2\nW3\nW4' ] || fail "$who: image's hostfile: $($r cat "$mp/$c/hostfile")"
  $r sed -i 's/W/V/' "$mp/etc/chain" || fail "$who: sed -i on a link"
  check_host "$who"

  note "$who: a rename to another depth follows; a hard-linked one is refused"
  $r mv "$mp/etc/abs" "$mp/srv/a/b/abs"
  want srv/a/b/abs "../../../$c/hostfile"
  [ "$($r cat "$mp/srv/a/b/abs")" = $'W1\nW2\nW3\nW4' ] || fail "$who: read after rename"
  $r mv "$mp/srv/a" "$mp/etc/ssh/a"
  want etc/ssh/a/b/abs "../../../../$c/hostfile"
  $r ln -P "$mp/etc/ssh/a/b/abs" "$mp/srv/abs.hard"
  if $r cat "$mp/srv/abs.hard" >/dev/null 2>&1; then fail "$who: a hard-linked symlink was followed"; fi
  $r rm "$mp/srv/abs.hard"
  [ "$($r cat "$mp/etc/ssh/a/b/abs")" = $'W1\nW2\nW3\nW4' ] || fail "$who: read after the hard link went"
  $r ln -s /etc/made "$mp/srv/made"
  check_host "$who"

  note "$who: unmount; the image got the writes, its links kept their text"
  $r "$GM_BIN" -q -u "$mp"
  check_host "$who"
  rm -rf out; extract_disk "$img" out
  e2fsck_clean out/disk.raw
  local spec; spec=$(fs_spec out/disk.raw)
  dbg() { debugfs -R "$1" "$spec" 2>/dev/null; }
  [ "$(dbg "cat /$c/dfile")" = W5 ] || fail "$who: debugfs: dfile"
  [ "$(dbg "cat /$c/copied")" = copied ] || fail "$who: debugfs: cp"
  [ "$(dbg "cat /$c/tarred")" = tarred ] || fail "$who: debugfs: tar -x"
  [ "$(dbg "cat /$c/sshd_config")" = 'PermitRootLogin no' ] || fail "$who: debugfs: sed -i"
  [ "$(dbg "cat /${c%/*}/${canary##*/}.new")" = W6 ] || fail "$who: debugfs: new file"
  dbg 'stat /etc/ssh/a/b/abs' | grep -qF "Fast link dest: \"$canary/hostfile\"" || fail "$who: stored text changed"
  dbg 'stat /srv/esc' | grep -qF "Fast link dest: \"../etc/rootl/../$c/hostfile\"" || fail "$who: stored text changed"
  dbg 'stat /srv/made' | grep -qF 'Fast link dest: "/etc/made"' || fail "$who: a new link is not stored as written"
  dbg 'stat /etc/chain' | grep -q 'Type: regular' || fail "$who: sed -i on a link replaces it (as GNU sed does)"
}

run root
chmod 0666 /dev/fuse
run nobody
chmod "$old_mode" /dev/fuse

note "-o symlinks=raw shows the stored text"
gm -q -o symlinks=raw image.tar.gz "$mp"
[ "$(readlink "$mp/etc/abs")" = "$canary/hostfile" ] || fail "raw: $(readlink "$mp/etc/abs")"
[ "$(readlink "$mp/etc/climb")" = "../../../../../../../$c/hostfile" ] || fail "raw: climb"
gm -q -u "$mp"
check_host raw

note "a whole image (Ubuntu layout: /boot and /boot/efi on their own partitions): links cross them inside"
if command -v mkfs.vfat >/dev/null && command -v mcopy >/dev/null; then
  bash "$GM_TOP/tests/tools/make_layout.sh" ubuntu u.raw >/dev/null || fail "make_layout.sh ubuntu"
  gm -q u.raw "$mp"
  ln -s /etc/hostname "$mp/boot/hn"
  ln -s ../../../../etc/hostname "$mp/boot/grub/up"
  ln -s /boot/grub/grub.cfg "$mp/etc/gcfg"
  [ "$(readlink "$mp/boot/hn")" = ../etc/hostname ] || fail "/boot/hn: $(readlink "$mp/boot/hn")"
  [ "$(readlink "$mp/boot/grub/up")" = ../../etc/hostname ] || fail "/boot/grub/up: $(readlink "$mp/boot/grub/up")"
  [ "$(readlink "$mp/etc/gcfg")" = ../boot/grub/grub.cfg ] || fail "/etc/gcfg: $(readlink "$mp/etc/gcfg")"
  [ "$(cat "$mp/boot/hn")" = "$(cat "$mp/etc/hostname")" ] || fail "read across /boot"
  grep -q menuentry "$mp/etc/gcfg" || fail "read into /boot"
  gm -q -u "$mp"
else
  note "(skipped: no mkfs.vfat/mtools)"
fi

note "a damaged image with a directory in two places: the second is refused"
mkdir -p dtree/a/d dtree/b dtree/etc; echo imagehost > dtree/etc/hostname
ln -s /etc/hostname dtree/a/d/l
make_disk d2.raw dtree 64 bare
debugfs -w -R 'link /a/d /b/d' d2.raw 2>/dev/null
gm -q -o ro d2.raw "$mp"
[ "$(cat "$mp/a/d/l")" = imagehost ] || fail "link under the first name"
if ls "$mp/b/d" >/dev/null 2>&1; then fail "a directory's second name was let in"; fi
[ "$(readlink "$mp/a/d/l")" = ../../etc/hostname ] || fail "readlink after the refusal: $(readlink "$mp/a/d/l")"
[ "$(ls "$mp/b")" = d ] || fail "listing the second parent must still work: $(ls "$mp/b")"
gm -q -u "$mp"
echo ok
