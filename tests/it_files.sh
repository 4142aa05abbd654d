#!/bin/bash
# The no-FUSE file verbs (ls, cat, put, rm, repack) on tar.gz and raw images,
# checked by independent oracles: debugfs, e2fsck -fn, GNU tar, Python tarfile.
. "$GM_TOP/tests/lib.sh"

"$GM_TOP/scripts/make-sample.sh" img.tar.gz 1024
"$GM_TOP/scripts/make-sample.sh" raw.img 256

note "ls and cat read the image"
gm ls img.tar.gz /etc/ssh > ls.out
grep -qx sshd_config ls.out || fail "ls does not list sshd_config"
gm ls -l img.tar.gz /etc/shadow | grep -q '^-rw-r----- ' || fail "ls -l mode of /etc/shadow"
gm cat img.tar.gz /etc/hostname | grep -qx sample || fail "cat /etc/hostname"
gm cat raw.img /etc/timezone | grep -qx Europe/Berlin || fail "cat on raw image"
expect_exit 1 gm cat img.tar.gz /no/such/file
grep -q 'no/such/file' last.err || fail "error does not name the path"

note "symlinks resolve inside the image root, never on the host"
# /etc/localtime -> /usr/share/zoneinfo/Europe/Berlin (absolute) in the image.
gm cat img.tar.gz /etc/localtime | grep -q TZif2-sample-Berlin || fail "absolute link not resolved in image"
printf 'escape\n' > esc; ln -s ../../../../../../../../etc/hostname rel
gm put raw.img esc /tmp/esc
# A relative link climbing past the root stays in the image.
debugfs -w -R "symlink /tmp/up ../../../../../../../etc/hostname" "$(fs_spec raw.img)" 2>/dev/null
debugfs -w -R "symlink /tmp/abs /etc/shadow" "$(fs_spec raw.img)" 2>/dev/null
gm cat raw.img /tmp/up | grep -qx sample || fail ".. escaped the image root"
gm cat raw.img /tmp/abs | grep -q '^root:\$y\$j9T\$SAMPLEONLY' || fail "absolute link read host file"
host_shadow=$(sha256sum /etc/shadow)
printf 'root:!locked:1::::::\n' > newshadow
gm put raw.img newshadow /tmp/abs
[ "$(sha256sum /etc/shadow)" = "$host_shadow" ] || fail "put through a link touched the host"
debugfs -R 'cat /etc/shadow' "$(fs_spec raw.img)" 2>/dev/null | grep -qx 'root:!locked:1::::::' \
  || fail "put through /tmp/abs did not replace the image's /etc/shadow"
e2fsck_clean raw.img

note "put, rm on a tar.gz; write-back passes every oracle"
head -c 3000000 /dev/urandom > big.bin
cp "$GM_TOP/tests/data/sample-root/etc/hostname" small.txt
before=$(sha img.tar.gz)
gm put --mode 0755 --owner 1000:1000 img.tar.gz big.bin /home/alice/big.bin
gm put img.tar.gz small.txt /etc
gm rm img.tar.gz /etc/udev/rules.d/70-persistent-net.rules
gm rm -r img.tar.gz /etc/ssh/sshd_config.d
expect_exit 1 gm rm img.tar.gz /etc
[ "$(sha img.tar.gz)" != "$before" ] || fail "image not rewritten"
extract_disk img.tar.gz x
e2fsck_clean x/disk.raw
spec=$(fs_spec x/disk.raw)
debugfs -R 'cat /home/alice/big.bin' "$spec" 2>/dev/null | cmp - big.bin || fail "big.bin content differs"
debugfs -R 'stat /home/alice/big.bin' "$spec" 2>/dev/null | grep -q 'User:  1000   Group:  1000' || fail "owner of put file"
debugfs -R 'stat /home/alice/big.bin' "$spec" 2>/dev/null | grep -q 'Mode:  0755' || fail "mode of put file"
debugfs -R 'stat /etc/small.txt' "$spec" 2>/dev/null | grep -q 'User:     0   Group:     0' || fail "default owner 0:0"
debugfs -R 'stat /etc/udev/rules.d/70-persistent-net.rules' "$spec" 2>&1 | grep -q 'File not found' || fail "rm did not remove"
debugfs -R 'stat /etc/ssh/sshd_config.d' "$spec" 2>&1 | grep -q 'File not found' || fail "rm -r did not remove"
tar -tvzf img.tar.gz | grep -q ' disk.raw$' || fail "tar lists no disk.raw"
python3 - img.tar.gz <<'PY' || fail "not an old-GNU sparse entry"
import gzip, sys, tarfile
h = gzip.open(sys.argv[1]).read(512)
assert h[:9] == b"disk.raw\0" and h[156:157] == b"S" and h[257:265] == b"ustar  \0", h[:300]
m = tarfile.open(sys.argv[1], "r:gz").getmember("disk.raw")
assert m.issparse() and m.size == 1 << 30, m
PY

note "repack with no edits keeps every file's content, mode, owner, times, xattrs"
make_disk rt.raw "$GM_TOP/tests/data/sample-root" 128 gpt
debugfs -w -R 'ea_set /etc/passwd user.test hello' "$(fs_spec rt.raw)" 2>/dev/null
debugfs -w -R 'ea_set /usr/sbin/sshd security.capability 0x0100000200200000000000000000000000000000' "$(fs_spec rt.raw)" 2>/dev/null || true
make_targz rt.raw rt.tar.gz
python3 "$GM_TOP/tests/tools/fsdump.py" "$(fs_spec rt.raw)" > before.dump
gm repack rt.tar.gz --output rt2.tar.gz
extract_disk rt2.tar.gz y
e2fsck_clean y/disk.raw
python3 "$GM_TOP/tests/tools/fsdump.py" "$(fs_spec y/disk.raw)" > after.dump
diff before.dump after.dump || fail "round trip changed the filesystem"
grep -q 'user.test' after.dump || fail "xattr lost"

note "repack --output of a raw image, and the raw input untouched by ls/cat"
snapshot raw.img; gm ls raw.img / >/dev/null; gm cat raw.img /etc/passwd >/dev/null
unchanged raw.img || fail "read-only verbs modified the raw image"
gm repack raw.img --output raw.tar.gz
extract_disk raw.tar.gz z
e2fsck_clean z/disk.raw

note "reproducible: the same input and edits give a byte-identical tar.gz (SOURCE_DATE_EPOCH)"
"$GM_TOP/scripts/make-sample.sh" det.tar.gz 256
export SOURCE_DATE_EPOCH=1700000000
gm put --cache c1 det.tar.gz big.bin /root/big.bin --output det1.tar.gz
sleep 1.1
gm put --cache c2 det.tar.gz big.bin /root/big.bin --output det2.tar.gz
cmp det1.tar.gz det2.tar.gz || fail "same edits at different times gave different images"
unset SOURCE_DATE_EPOCH
echo "all file-verb checks passed"
