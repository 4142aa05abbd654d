#!/bin/bash
# it_mount_lifecycle.sh — mount life cycle as root: clear refusals (bad or
# busy mount point: exit 5; image already mounted: exit 3), -o ro, a plain
# fusermount3 -u followed by `gcemount -u` (waits, reports), kill -9 of the
# server (the image stays intact, the next mount says so: exit 6), --discard,
# a ≥200 MiB file (sha256 through the mount, debugfs and a remount), and
# `gcemount apply IMAGE --run SCRIPT` (success writes, failure writes nothing).
source "$GM_TOP/tests/lib.sh"
export XDG_RUNTIME_DIR=$PWD/run; mkdir -m 0700 run   # where mounts keep lock + status
[ -e /dev/fuse ] || skip "no /dev/fuse"
[ "$(id -u)" = 0 ] || skip "runs as root (it_mount_user.sh is the unprivileged run)"

mp=$PWD/mnt mp2=$PWD/mnt2
mkdir "$mp" "$mp2"
mpo=$(mktemp -d /tmp/gm-allow-other.XXXXXX); chmod 0755 "$mpo"   # reachable by nobody
cleanup() {
  local m
  for m in "$mp" "$mp2" "$mpo"; do
    if mountpoint -q "$m"; then gm -u "$m" || fusermount3 -u -z "$m" || umount -l "$m"; fi
  done
  rmdir "$mpo"
}
trap cleanup EXIT

mkdir -p tree/etc tree/tmp; echo v1 > tree/etc/version; chmod 1777 tree/tmp
make_disk disk.raw tree 64 mbr
make_targz disk.raw image.tar.gz
cp image.tar.gz other.tar.gz
rm -f disk.raw
orig=$(sha image.tar.gz)

note "refusals: one clear line, exit 5 (mount point) / 3 (image locked)"
touch afile
expect_exit 5 gm image.tar.gz afile
grep -q 'not a directory' last.err || fail "no 'not a directory' message: $(cat last.err)"
[ "$(wc -l < last.err)" = 1 ] || fail "more than one line: $(cat last.err)"
grep -q "gcemount ls" last.err || fail "no hint to the no-FUSE verbs"
expect_exit 5 gm image.tar.gz "$PWD/nonexistent"
grep -q 'does not exist' last.err || fail "missing mount point message"
gm image.tar.gz "$mp"
expect_exit 3 gm image.tar.gz "$mp2"
grep -qi 'lock\|busy\|in use' last.err || fail "double mount message: $(cat last.err)"
expect_exit 5 gm other.tar.gz "$mp"
grep -q 'busy' last.err || fail "busy mount point message: $(cat last.err)"
echo v2 > "$mp/etc/version"

note "a plain fusermount3 -u, then gcemount -u waits for the write-back"
fusermount3 -u "$mp"
gm -u "$mp" || fail "gcemount -u after fusermount3 -u"
expect_exit 1 gm -u "$mp"
grep -q 'not mounted' last.err || fail "unmount of nothing: $(cat last.err)"
extract_disk image.tar.gz out; e2fsck_clean out/disk.raw
[ "$(debugfs -R 'cat /etc/version' "$(fs_spec out/disk.raw)" 2>/dev/null)" = v2 ] || fail "v2 not written"
rm -rf out

note "-o ro: writes refused, image untouched"
s1=$(sha image.tar.gz)
gm -o ro image.tar.gz "$mp"
if echo x > "$mp/etc/version" 2>/dev/null; then fail "write on a read-only mount"; fi
gm -u "$mp"
[ "$(sha image.tar.gz)" = "$s1" ] || fail "read-only mount changed the image"

note "-o allow_other: others get normal permission checks and own what they create"
nob() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
gm -o allow_other image.tar.gz "$mpo"
[ "$(nob cat "$mpo/etc/version")" = v2 ] || fail "allow_other: nobody cannot read a 0644 file"
if nob sh -c "echo x > '$mpo/etc/version'" 2>/dev/null; then fail "allow_other: nobody wrote a root file"; fi
nob sh -c "echo mine > '$mpo/tmp/mine'" || fail "allow_other: nobody cannot create in a 1777 dir"
[ "$(stat -c %u:%g "$mpo/tmp/mine")" = 65534:65534 ] || fail "allow_other: owner of nobody's file"
echo root > "$mpo/tmp/rootfile"
[ "$(stat -c %u:%g "$mpo/tmp/rootfile")" = 0:0 ] || fail "allow_other: owner of the mounter's file"
gm -u "$mpo"

note "--output: the result goes elsewhere, the image stays as it is"
s0=$(sha image.tar.gz)
gm --output "$PWD/copy.tar.gz" image.tar.gz "$mp"
echo out > "$mp/etc/out"
gm -u "$mp"
[ "$(sha image.tar.gz)" = "$s0" ] || fail "--output changed the image"
extract_disk copy.tar.gz outx; e2fsck_clean outx/disk.raw
[ "$(debugfs -R 'cat /etc/out' "$(fs_spec outx/disk.raw)" 2>/dev/null)" = out ] || fail "--output content"
rm -rf outx copy.tar.gz

note "a failed write-back: gcemount -u exits 4, the edits wait in the cache (--resume)"
s0=$(sha image.tar.gz)
# (a missing directory is refused before mounting: it goes away during the session)
mkdir gone
gm --output "$PWD/gone/out.tar.gz" image.tar.gz "$mp"
echo kept > "$mp/etc/kept"
rmdir gone
expect_exit 4 gm -u "$mp"
grep -q -- '--resume' last.err || fail "no --resume hint after a failed write-back: $(cat last.err)"
[ "$(sha image.tar.gz)" = "$s0" ] || fail "failed write-back changed the image"
gm --resume image.tar.gz "$mp"
[ "$(cat "$mp/etc/kept")" = kept ] || fail "--resume lost the edit"
gm -u "$mp"
[ "$(debugfs -R 'cat /etc/kept' "$(extract_disk image.tar.gz outk; fs_spec outk/disk.raw)" 2>/dev/null)" = kept ] \
  || fail "resumed edit not written back"
rm -rf outk

note "kill -9 of the server: image intact, next mount exits 6, --discard recovers"
s2=$(sha image.tar.gz)
gm image.tar.gz "$mp"
echo lost > "$mp/etc/version"; sync "$mp/etc/version"
head -c 3M /dev/urandom > "$mp/junk"; sync "$mp/junk"
pid=$(sed -n 3p run/gcemount/*.status)
[ -n "$pid" ] && kill -0 "$pid" || fail "no server pid in the status file"
kill -9 "$pid"
sleep 0.3
expect_exit 4 gm -u "$mp"
grep -q 'resume' last.err || fail "no --resume hint after a killed server: $(cat last.err)"
mountpoint -q "$mp" && fail "dead mount left behind"
[ "$(sha image.tar.gz)" = "$s2" ] || fail "image changed by a killed session"
expect_exit 6 gm image.tar.gz "$mp"
grep -q -- '--resume' last.err && grep -q -- '--discard' last.err || fail "exit 6 message: $(cat last.err)"
gm --discard image.tar.gz "$mp"
[ "$(cat "$mp/etc/version")" = v2 ] || fail "--discard did not start from the image"
gm -u "$mp"
[ "$(sha image.tar.gz)" = "$s2" ] || fail "--discard session rewrote an unchanged image"

note "kill -9 with a file unlinked while open, then repack --resume: no orphan left in the image"
gm image.tar.gz "$mp"
echo held > "$mp/held"; echo keep > "$mp/etc/resumed"
sleep 60 < "$mp/held" & holder=$!
sleep 0.2
rm "$mp/held"; sync "$mp/etc/resumed"
pid=$(sed -n 3p run/gcemount/*.status)
kill -9 "$pid"; kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null || true
sleep 0.3
expect_exit 4 gm -u "$mp"
expect_exit 0 gm repack --resume image.tar.gz
extract_disk image.tar.gz xo
e2fsck_clean xo/disk.raw
debugfs -R 'ls -l /' "$(fs_spec xo/disk.raw)" 2>/dev/null | grep -q gcemount-orphans \
  && fail "repack --resume left the orphan directory in the image"
debugfs -R 'cat /etc/resumed' "$(fs_spec xo/disk.raw)" 2>/dev/null | grep -qx keep \
  || fail "repack --resume lost the edit"
rm -rf xo

note "a ≥200 MiB file (raw disk): sha256 through the mount, debugfs, remount"
make_disk raw.img "" 320 mbr
gm raw.img "$mp"
head -c 200M /dev/urandom > big.src
want=$(sha big.src)
cp big.src "$mp/big"
rm big.src
[ "$(sha "$mp/big")" = "$want" ] || fail "big file read back differs"
gm -u "$mp"
e2fsck_clean raw.img
debugfs -R 'dump /big big.dump' "$(fs_spec raw.img)" 2>/dev/null
[ "$(sha big.dump)" = "$want" ] || fail "debugfs dump of the big file differs"
rm -f big.dump
gm raw.img "$mp"
[ "$(sha "$mp/big")" = "$want" ] || fail "big file after remount differs"
gm -u "$mp"
rm -f raw.img

note "apply --run: success writes back, failure writes nothing"
if gm apply --help 2>&1 | grep -q -- '--run'; then
  cat > good.sh <<'EOF'
#!/bin/sh
set -e
[ "$1" = "$GCEMOUNT_ROOT" ]
echo applied > "$1/etc/applied"
EOF
  cat > bad.sh <<'EOF'
#!/bin/sh
echo half > "$1/etc/half"
exit 3
EOF
  chmod +x good.sh bad.sh
  s3=$(sha image.tar.gz)
  expect_exit 1 gm apply image.tar.gz --run ./bad.sh
  [ "$(sha image.tar.gz)" = "$s3" ] || fail "failed script changed the image"
  gm apply image.tar.gz --run ./good.sh || fail "apply --run good.sh"
  extract_disk image.tar.gz out; e2fsck_clean out/disk.raw
  spec=$(fs_spec out/disk.raw)
  [ "$(debugfs -R 'cat /etc/applied' "$spec" 2>/dev/null)" = applied ] || fail "script's edit missing"
  debugfs -R 'stat /etc/half' "$spec" 2>&1 | grep -q 'Inode:' && fail "failed script's edit kept"
  ls -d "${TMPDIR:-/tmp}"/gcemount-run.* 2>/dev/null && fail "temporary mount point left"
else
  note "SKIPPED apply --run (the apply verb has no --run yet)"
fi
echo ok
