#!/bin/bash
# Whole images laid out as Compute Engine's public ones (tests/tools/
# make_layout.sh, built here without root): Debian 12 (GPT, BIOS boot, FAT16
# ESP, ext4 root, fstab by PARTUUID), Ubuntu 24.04 (a separate ext4 /boot on
# partition 16, FAT32 ESP, fstab by LABEL), and images gcemount cannot edit
# (XFS root, an LVM physical volume, LUKS). For each: ls, cat, put, apply
# gce-hardening, check --json, a FUSE mount; the results read back with
# debugfs and e2fsck -fn per partition, mdir for the ESP (never written),
# GNU tar and Python tarfile for the tarball.
. "$GM_TOP/tests/lib.sh"

for t in mkfs.vfat mmd mcopy mdir mkfs.xfs cryptsetup jq debugfs; do
  command -v "$t" >/dev/null || skip "$t not installed (scripts/deps.sh)"
done
mk() { bash "$GM_TOP/tests/tools/make_layout.sh" "$@" || fail "make_layout.sh $*"; }
# part_spec DISK N: "DISK?offset=BYTES" of partition N, from sfdisk (not gcemount)
part_spec() {
  local start
  start=$(sfdisk -d "$1" | sed -n "s|^$1$2 : start= *\([0-9]*\),.*|\1|p")
  [ -n "$start" ] || fail "no partition $2 in $1"
  echo "$1?offset=$(( start * 512 ))"
}
esp_img() { local s; s=$(part_spec "$1" "$2"); echo "${s%%\?*}@@${s##*=}"; }
clean() { e2fsck -fn "$(part_spec "$1" "$2")" >fsck.log 2>&1 || { cat fsck.log >&2; fail "e2fsck -fn $1 partition $2"; }; }
dbg_cat() { debugfs -R "cat $3" "$(part_spec "$1" "$2")" 2>/dev/null; }
esp_sum() { local s; s=$(part_spec "$1" "$2"); dd if="${s%%\?*}" bs=512 skip=$(( ${s##*=} / 512 )) count=${3} status=none | sha256sum; }

note "Ubuntu 24.04 layout: one tree of partitions 1, 16 and 15"
mk ubuntu u.raw
gm ls --mounts u.raw > mounts.out
grep -Eq '^/boot +16 +ext4 .*LABEL=BOOT' mounts.out || { cat mounts.out; fail "ls --mounts: /boot"; }
grep -Eq '^/boot/efi +15 +vfat .*LABEL=UEFI \(read-only\)' mounts.out || { cat mounts.out; fail "ls --mounts: /boot/efi"; }
grep -Eq '^/ +1 +ext4 .*GPT type Linux root' mounts.out || { cat mounts.out; fail "ls --mounts: /"; }
gm ls u.raw /boot > boot.out
grep -qx config-6.8.0-1015-gcp boot.out || fail "ls /boot does not list partition 16's kernel config"
grep -qx vmlinuz-6.8.0-1015-gcp boot.out || fail "ls /boot: kernel"
gm ls --partition 1 u.raw /boot > rootboot.out
grep -qx efi rootboot.out && ! grep -q config rootboot.out || fail "root's own /boot should be empty but for efi"
gm cat u.raw /boot/grub/grub.cfg | grep -q 'gnulinux-advanced-' || fail "cat /boot/grub/grub.cfg (partition 16)"
gm cat u.raw /boot/efi/efi/boot/bootx64.efi | grep -q 'fake shim' || fail "case-insensitive cat on the ESP"
gm ls -l u.raw /boot/efi/EFI/BOOT | grep -q '^-rwx------ .* BOOTX64.EFI$' || fail "ESP modes follow fstab umask=0077"
gm cat u.raw /boot/../etc/hostname | grep -qx sample || fail ".. out of /boot leads back to the root filesystem"
gm cat u.raw /boot/efi/../grub/grub.cfg | grep -q menuentry || fail ".. out of /boot/efi leads back to /boot"
esp_before=$(esp_sum u.raw 15 217088)

note "put and apply write partition 16 and partition 1, never the ESP"
printf 'on boot\n' > f1; printf 'on root\n' > f2
gm put u.raw f1 /boot/gcemount-test
gm put u.raw f2 /etc/gcemount-test
expect_exit 1 gm put u.raw f1 /boot/efi/EFI/x
grep -q 'EFI system partition (FAT, partition 15): gcemount reads FAT but never writes it' last.err \
  || fail "writing the ESP: no clear EROFS message"
expect_exit 1 gm rm u.raw /boot
grep -q 'busy' last.err || fail "rm of a mount point"
gm apply -q u.raw gce-hardening > apply.out
dbg_cat u.raw 16 /gcemount-test | grep -qx 'on boot' || fail "put /boot/x did not land on partition 16"
dbg_cat u.raw 1 /etc/gcemount-test | grep -qx 'on root' || fail "put /etc/x did not land on partition 1"
debugfs -R 'stat /gcemount-test' "$(part_spec u.raw 1)" 2>&1 | grep -q 'File not found' || fail "/boot/x leaked onto the root filesystem"
debugfs -R 'stat /System.map-6.8.0-1015-gcp' "$(part_spec u.raw 16)" 2>&1 | grep -q 'File not found' \
  || fail "apply's cleanup did not reach /boot on partition 16"
dbg_cat u.raw 1 /etc/ssh/sshd_config | grep -q '^PermitRootLogin no' || fail "apply did not harden sshd on the root"
clean u.raw 1; clean u.raw 16
[ "$(esp_sum u.raw 15 217088)" = "$esp_before" ] || fail "the ESP was written"
MTOOLS_SKIP_CHECK=1 mdir -i "$(esp_img u.raw 15)" ::/EFI/BOOT | grep -q BOOTX64 || fail "mdir cannot read the ESP afterwards"

note "check on the Ubuntu layout: kernel rows from partition 16, boot modes, gcloud flags"
expect_exit 1 gm check --json u.raw   # a raw disk fails packaging.gzip
cp last.out u.json
jq -e '[.results[] | select(.group == "kernel" and (.file // "" | startswith("/boot/config-6.8.0-1015-gcp")))] | length > 5' u.json >/dev/null \
  || fail "check read no kernel config from /boot (partition 16)"
jq -e '.results[] | select(.id == "layout.boot-mode") | .status == "PASS" and (.reason | test("BIOS .*partition 14.* and UEFI .*partition 15"))' u.json >/dev/null \
  || fail "layout.boot-mode"
jq -e '.results[] | select(.id == "layout.gcloud-flags") | .reason == "--guest-os-features=UEFI_COMPATIBLE,VIRTIO_SCSI_MULTIQUEUE,GVNIC"' u.json >/dev/null \
  || { jq '.results[] | select(.id == "layout.gcloud-flags")' u.json; fail "layout.gcloud-flags"; }
jq -e '.results[] | select(.id == "layout.uefi-loader") | .reason | test("ubuntu.grub.cfg -> partition 16")' u.json >/dev/null \
  || fail "the ESP's grub.cfg stub is not traced to partition 16"
jq -e '.results[] | select(.id == "layout.mounts") | .reason | test("/boot = partition 16 \\(ext4\\), /boot/efi = partition 15 \\(vfat, read-only\\)")' u.json >/dev/null \
  || fail "layout.mounts"

note "Debian 12 layout as a tar.gz: fstab by PARTUUID, FAT16 ESP"
mk debian d.raw
make_targz d.raw d.tar.gz
gm ls d.tar.gz /boot/efi/EFI | grep -qx debian || fail "ls /boot/efi/EFI"
gm cat d.tar.gz /boot/efi/EFI/debian/grub.cfg | grep -q 'search.fs_uuid 0a1b2c3d-0000-4000-8000-00000000000a' || fail "cat the stub"
gm put d.tar.gz f2 /etc/gcemount-test
gm apply -q d.tar.gz gce-hardening >/dev/null
extract_disk d.tar.gz x
clean x/disk.raw 1
dbg_cat x/disk.raw 1 /etc/gcemount-test | grep -qx 'on root' || fail "put on the Debian layout"
MTOOLS_SKIP_CHECK=1 mdir -i "$(esp_img x/disk.raw 15)" ::/EFI/BOOT | grep -q BOOTX64 || fail "mdir: ESP after write-back"
[ "$(esp_sum x/disk.raw 15 253952)" = "$(esp_sum d.raw 15 253952)" ] || fail "the ESP changed in the written tarball"
gm check --json d.tar.gz > d.json || true
jq -e '.results[] | select(.id == "layout.boot-mode") | .status == "PASS"' d.json >/dev/null || fail "Debian boot mode"
jq -e '.results[] | select(.id == "layout.uefi-loader") | .reason | test("debiangrub.cfg -> partition 1|debian.grub.cfg -> partition 1")' d.json >/dev/null \
  || fail "Debian stub"

note "A GPT disk with neither boot path fails layout.boot-mode and says why"
cp d.raw nb.raw
dd if=/dev/zero of=nb.raw bs=440 count=1 conv=notrunc status=none
MTOOLS_SKIP_CHECK=1 mdel -i "$(esp_img nb.raw 15)" ::/EFI/BOOT/BOOTX64.EFI
gm check --json nb.raw > nb.json || true
jq -e '.results[] | select(.id == "layout.boot-mode") | .status == "FAIL" and (.reason | test("no boot code in the protective MBR.*BOOTX64"))' nb.json >/dev/null \
  || { jq '.results[] | select(.id == "layout.boot-mode")' nb.json; fail "no boot path"; }

note "XFS, LVM, LUKS: one line naming the partition and the filesystem, exit 2; check still reports"
mk xfs r.raw; mk lvm l.raw; mk luks k.raw
expect_exit 2 gm ls r.raw /
[ "$(wc -l < last.err)" = 1 ] || fail "more than one line"
grep -Eq '^gcemount: .*r.raw: partition 2 \(root, 822.0 MiB\) is XFS; gcemount edits ext2/3/4 only$' last.err \
  || { cat last.err; fail "XFS refusal"; }
expect_exit 2 gm put r.raw f1 /etc/x
expect_exit 2 gm ls l.raw /
grep -Eq 'partition 2 \(probably root, 822.0 MiB\) is an LVM physical volume \(volume group rootvg\); gcemount edits ext2/3/4 only$' last.err \
  || { cat last.err; fail "LVM refusal"; }
expect_exit 2 gm cat k.raw /etc/os-release
grep -q 'partition 2 (probably root, 822.0 MiB) is LUKS-encrypted (LUKS2); gcemount edits ext2/3/4 only' last.err \
  || { cat last.err; fail "LUKS refusal"; }
for img in r l k; do
  gm check --json $img.raw > $img.json && fail "check of $img.raw passed"
  jq -e '[.results[] | select(.group == "layout")] | length >= 4' $img.json >/dev/null || fail "$img: no layout rows"
  jq -e '.results[] | select(.id == "layout.boot-mode") | .status == "PASS" and (.reason | test("UEFI"))' $img.json >/dev/null \
    || fail "$img: boot mode not judged"
  jq -e '[.results[] | select(.reason | test("gcemount edits ext2/3/4 only"))] | length >= 1' $img.json >/dev/null \
    || fail "$img: the refusal is not in the report"
done
gm ls --partition 1 r.raw /EFI/BOOT | grep -qx BOOTX64.EFI || fail "--partition N opens the ESP alone"
gm check --json --partition 1 r.raw > esp.json || true
jq -e '.results[] | select(.id == "packaging.ext4") | .reason | test("partition 1 is vfat")' esp.json >/dev/null \
  || fail "check of the ESP alone"
expect_exit 1 gm put --partition 1 r.raw f1 /x
grep -q 'reads FAT but never writes it' last.err || fail "put on the ESP alone"

note "FUSE: /boot and /boot/efi populated in a mount of the Ubuntu layout"
if [ -c /dev/fuse ] && [ -r /dev/fuse ] && command -v fusermount3 >/dev/null && [ "$(id -u)" = 0 ]; then
  mkdir mnt
  trap 'fusermount3 -u mnt 2>/dev/null || true' EXIT
  gm -q u.raw mnt
  [ -f mnt/boot/config-6.8.0-1015-gcp ] || fail "mount: /boot is not partition 16"
  grep -q 'fake shim' mnt/boot/efi/EFI/BOOT/BOOTX64.EFI || fail "mount: /boot/efi is not the ESP"
  printf 'via fuse\n' > mnt/boot/fuse-test || fail "mount: write to /boot"
  ! printf x 2>/dev/null > mnt/boot/efi/nope || fail "mount: the ESP accepted a write"
  mv mnt/boot/fuse-test mnt/etc/ 2>/dev/null && [ -f mnt/etc/fuse-test ] && [ ! -e mnt/boot/fuse-test ] \
    || fail "mount: mv across filesystems (EXDEV then copy) failed"
  gm -u mnt
  trap - EXIT
  dbg_cat u.raw 1 /etc/fuse-test | grep -qx 'via fuse' || fail "mount: the moved file is not on the root filesystem"
  clean u.raw 1; clean u.raw 16
  [ "$(esp_sum u.raw 15 217088)" = "$esp_before" ] || fail "mount: the ESP was written"
else
  note "(no usable /dev/fuse as root here: mount part skipped)"
fi
echo "it_layouts: ok"
