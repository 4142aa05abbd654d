#!/bin/bash
# Where the result goes (issue 9 §2): --output to a regular file, standard
# output, a FIFO, a character device (mknod'ed here, never the host's), a
# symlink; a directory, a dangling link, a block device refused; an image
# that cannot be replaced in place (mode 0444, a read-only place) refused
# before any work; an image read from standard input. Every tarball written
# is read back by GNU tar AND Python tarfile (byte for byte) and e2fsck -fn.
. "$GM_TOP/tests/lib.sh"
[ -x "$GM_BIN" ] || skip "no $GM_BIN"
export SOURCE_DATE_EPOCH=1700000000   # equal edits give byte-identical tarballs

# one_line ERRFILE REGEX: exactly one "gcemount: " line matching REGEX
one_line() {
  [ "$(wc -l < "$1")" -eq 1 ] || { cat "$1" >&2; fail "stderr is not one line"; }
  grep -q '^gcemount: ' "$1" || fail "stderr does not start with 'gcemount: ': $(cat "$1")"
  grep -Eq "$2" "$1" || fail "message '$(cat "$1")' does not match /$2/"
}
# check_tgz TGZ: GNU tar and Python agree on disk.raw, it equals the
# reference result, and its filesystem is clean with the edit in it.
check_tgz() {
  rm -rf ck; extract_disk "$1" ck
  same_bytes ck/disk.raw ref/disk.raw >/dev/null || fail "$1: disk.raw differs from the reference result"
  e2fsck_clean ck/disk.raw
  rm -rf ck
}
mounts=()
cleanup() { for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done; }
trap cleanup EXIT

note "fixture: a 64 MiB disk in image.tar.gz; the reference result of one put"
make_disk disk.raw "$GM_TOP/tests/data/sample-root" 64
make_targz disk.raw image.tar.gz
rm -f disk.raw
echo "streamed" > motd
img_sha=$(sha image.tar.gz)
gm put -q image.tar.gz motd /etc/motd --output ref.tar.gz || fail "put --output ref.tar.gz"
[ "$(sha image.tar.gz)" = "$img_sha" ] || fail "put --output changed the input"
extract_disk ref.tar.gz ref
e2fsck_clean ref/disk.raw
debugfs -R 'cat /etc/motd' "$(fs_spec ref/disk.raw)" 2>/dev/null | grep -qx streamed \
  || fail "the reference result lacks the edit"
temps() { ls -a "${1:-.}" | grep -c '\.gcemount-......$' || true; }

note "--output -: the tarball on stdout, byte-identical to the file; GNU tar and Python read the stream"
gm put image.tar.gz motd /etc/motd --output - > out.tar.gz 2>put.err || { cat put.err; fail "put --output -"; }
cmp out.tar.gz ref.tar.gz || fail "--output - differs from --output FILE"
grep -v '^gcemount: ' put.err && fail "put --output - printed a line without 'gcemount: '"
gm put -q image.tar.gz motd /etc/motd --output - | tar -xSzf - -C . disk.raw || fail "GNU tar on the stream"
same_bytes disk.raw ref/disk.raw >/dev/null || fail "GNU tar's disk.raw from the stream differs"
rm -f disk.raw
gm put -q image.tar.gz motd /etc/motd --output - | python3 -c '
import sys, tarfile
with tarfile.open(fileobj=sys.stdin.buffer, mode="r|gz") as t:
    for m in t:
        if m.name == "disk.raw":
            t.extract(m, "py", **({"filter": "fully_trusted"} if hasattr(tarfile, "data_filter") else {}))
' || fail "Python tarfile on the stream"
same_bytes py/disk.raw ref/disk.raw >/dev/null || fail "Python's disk.raw from the stream differs"
rm -rf py
# apply's report goes to stderr when the tarball owns stdout
gm apply image.tar.gz ssh --output - > applied.tar.gz 2>apply.err || { cat apply.err; fail "apply --output -"; }
gzip -t applied.tar.gz || fail "apply --output -: not a clean gzip stream (report mixed in?)"
tar -tzf applied.tar.gz | grep -qx disk.raw || fail "apply --output -: no disk.raw"
[ "$(sha image.tar.gz)" = "$img_sha" ] || fail "--output - changed the input"
[ "$(temps)" = 0 ] || fail "temp file left beside the image"

note "a FIFO (read by cat) and a character device (mknod c 1 3 here): streamed, no temp, no rename"
mkfifo fifo
cat fifo > fromfifo.tar.gz & reader=$!
gm put -q image.tar.gz motd /etc/motd --output fifo || fail "put --output FIFO"
wait $reader
[ -p fifo ] || fail "the FIFO was replaced"
cmp fromfifo.tar.gz ref.tar.gz || fail "what the FIFO carried differs from --output FILE"
check_tgz fromfifo.tar.gz
if mknod nulldev c 1 3 2>/dev/null; then
  gm put -q image.tar.gz motd /etc/motd --output nulldev || fail "put --output CHARDEV"
  [ -c nulldev ] || fail "the character device was replaced by a $(stat -c %F nulldev)"
  [ "$(temps)" = 0 ] || fail "temp file left beside the character device"
else
  note "SKIPPED the character device: mknod not permitted"
fi

note "a symlink is followed (cp, GNU tar); the link stays a link"
echo old > real.tar.gz
ln -s real.tar.gz link.tar.gz
gm put -q image.tar.gz motd /etc/motd --output link.tar.gz || fail "put --output SYMLINK"
[ -L link.tar.gz ] || fail "the symlink was replaced"
cmp real.tar.gz ref.tar.gz || fail "the symlink's target does not hold the result"
mkdir -p sub; ln -s ../real.tar.gz sub/rel.tar.gz
gm put -q image.tar.gz motd /etc/motd --output sub/rel.tar.gz || fail "put --output relative SYMLINK"
[ -L sub/rel.tar.gz ] && cmp real.tar.gz ref.tar.gz || fail "relative symlink not followed"
[ "$(temps)" = 0 ] && [ "$(temps sub)" = 0 ] || fail "temp file left"

note "refused before any work, one line, exit 4: a directory, a dangling link, a block device, a read-only file"
mkdir outdir
expect_exit 4 gm put image.tar.gz motd /etc/motd --output outdir
one_line last.err 'outdir: is a directory'
[ -z "$(ls -A outdir)" ] || fail "something was written into the directory"
ln -s nowhere.tar.gz dangling
expect_exit 4 gm put image.tar.gz motd /etc/motd --output dangling
one_line last.err 'dangling: a dangling symbolic link'
[ ! -e nowhere.tar.gz ] || fail "written through a dangling link"
if mknod blockdev b 0 0 2>/dev/null; then   # (major 0: no such device, never opened)
  expect_exit 4 gm put image.tar.gz motd /etc/motd --output blockdev
  one_line last.err 'blockdev: is a block device'
  [ -b blockdev ] || fail "the block device node was replaced"
fi
cp ref.tar.gz ro-out.tar.gz; chmod 0444 ro-out.tar.gz; ro_sha=$(sha ro-out.tar.gz)
expect_exit 4 gm put image.tar.gz motd /etc/motd --output ro-out.tar.gz
one_line last.err 'ro-out.tar.gz: is read-only \(mode 0444\)'
[ "$(sha ro-out.tar.gz)" = "$ro_sha" ] || fail "a read-only --output file was replaced"
expect_exit 4 gm put image.tar.gz motd /etc/motd --output no/such/dir/out.tar.gz
one_line last.err 'cannot create a temp file beside no/such/dir/out.tar.gz: No such file'

note "an image of mode 0444 is refused in place (before extracting), written with --output"
export XDG_CACHE_HOME="$PWD/.cache-ro"
cp image.tar.gz ro.tar.gz; chmod 0444 ro.tar.gz
expect_exit 4 gm put ro.tar.gz motd /etc/motd
one_line last.err 'ro.tar.gz: the image is read-only \(mode 0444\): give --output'
[ ! -e "$XDG_CACHE_HOME" ] || fail "the refused put extracted the image first"
[ "$(sha ro.tar.gz)" = "$img_sha" ] || fail "a 0444 image was replaced"
expect_exit 4 gm repack ro.tar.gz
expect_exit 4 gm apply ro.tar.gz ssh
expect_exit 0 gm ls ro.tar.gz /etc             # reading is fine
gm put -q ro.tar.gz motd /etc/motd --output ro-result.tar.gz || fail "0444 image with --output"
cmp ro-result.tar.gz ref.tar.gz || fail "0444 image: --output result differs"
[ "$(sha ro.tar.gz)" = "$img_sha" ] || fail "the 0444 image changed"
if mkdir rofs && mount -t tmpfs -o size=4m tmpfs rofs 2>/dev/null; then
  mounts+=("$PWD/rofs")
  cp image.tar.gz rofs/; mount -o remount,ro rofs
  expect_exit 4 gm put rofs/image.tar.gz motd /etc/motd
  one_line last.err 'rofs/image.tar.gz: the image cannot be changed \(Read-only file system\): give --output'
  gm put -q rofs/image.tar.gz motd /etc/motd --output rofs-result.tar.gz || fail "read-only place with --output"
  cmp rofs-result.tar.gz ref.tar.gz || fail "read-only place: --output result differs"
else
  note "SKIPPED the read-only filesystem: cannot mount (not root?)"
fi
export XDG_CACHE_HOME="$PWD/.cache"

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  note "as nobody: an image in a directory it may not write is refused in place, fine with --output"
  u=$(mktemp -d /tmp/gm-output-user.XXXXXX); chmod 0755 "$u"
  cleanup() { for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done; rm -rf "$u"; }
  as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups \
                  env HOME="$u" XDG_CACHE_HOME="$u/.cache" PATH="$PATH" "$@"; }
  mkdir "$u/locked" "$u/own"; cp -p image.tar.gz motd "$u/locked/"; cp image.tar.gz "$u/own/root-owned.tar.gz"
  chown 65534:65534 "$u" "$u/own" "$u/locked/image.tar.gz"
  expect_exit 4 as_nobody "$GM_BIN" put "$u/locked/image.tar.gz" "$u/locked/motd" /etc/motd
  one_line last.err 'locked/image.tar.gz: the image cannot be replaced \(its directory: Permission denied\): give --output'
  expect_exit 4 as_nobody "$GM_BIN" put "$u/own/root-owned.tar.gz" "$u/locked/motd" /etc/motd
  one_line last.err 'root-owned.tar.gz: the image cannot be changed \(Permission denied\)'
  [ ! -e "$u/.cache" ] || fail "a refused put extracted the image first"
  as_nobody "$GM_BIN" put -q "$u/locked/image.tar.gz" "$u/locked/motd" /etc/motd --output "$u/own/out.tar.gz" \
    || fail "nobody: put --output into its own directory"
  cmp "$u/own/out.tar.gz" ref.tar.gz || fail "nobody: the --output result differs"
  [ "$(sha "$u/locked/image.tar.gz")" = "$img_sha" ] || fail "nobody: the image changed"
fi

note "image '-': standard input, read into a private cache; writing needs --output"
cat image.tar.gz | gm put - motd /etc/motd --output stdin-out.tar.gz 2>put.err || { cat put.err; fail "put - --output"; }
grep -q 'reading the image from standard input (not seekable' put.err || fail "no progress line for stdin: $(cat put.err)"
cmp stdin-out.tar.gz ref.tar.gz || fail "the result from stdin differs from the one from the file"
cat image.tar.gz | gm put -q - motd /etc/motd --output - | cmp - ref.tar.gz || fail "stdin to stdout differs"
cat image.tar.gz | gm ls - /etc > ls.out || fail "ls -"
grep -qx hostname ls.out || fail "ls - does not list /etc/hostname"
set +e; cat image.tar.gz | gm put - motd /etc/motd >last.out 2>last.err; rc=$?; set -e
[ $rc = 64 ] || fail "put - without --output: exit $rc, expected 64"
one_line last.err '^gcemount: -: .*give --output'
extract_disk image.tar.gz rawsrc
gm ls - /etc < rawsrc/disk.raw | grep -qx hostname || fail "a raw disk on stdin is not read"
ls -d "$XDG_CACHE_HOME"/gcemount/stdin-* 2>/dev/null && fail "a private stdin cache was left behind"
echo "output checks passed"
