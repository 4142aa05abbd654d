#!/bin/bash
# make_layout.sh LAYOUT OUT.raw — builds, without root, a 1 GiB sparse disk
# laid out like a public Compute Engine image (tests/data/sample-root as the
# system), for tests/it_layouts.sh and tests/test_view.c:
#   debian  GPT: p14 BIOS boot, p15 ESP (vfat, \EFI\BOOT\BOOTX64.EFI and
#           \EFI\debian\grub.cfg), p1 "Linux root (x86-64)" ext4; fstab by
#           PARTUUID; GRUB-like boot code in the protective MBR
#   ubuntu  GPT: p14 BIOS boot, p15 ESP, p16 ext4 /boot (kernels, config-*,
#           grub/grub.cfg as update-grub writes it), p1 root ext4 whose /boot
#           is empty; fstab by LABEL, as Ubuntu's cloud images
#   xfs     GPT: p1 ESP, p2 root XFS (mkfs.xfs into a file placed at the offset)
#   lvm     GPT: p1 ESP, p2 an LVM physical volume of VG rootvg (label written
#           by lvm_label.py), fstab-less
#   luks    GPT: p1 ESP, p2 LUKS2 (cryptsetup luksFormat on a file)
# Fixed UUIDs, so tests can name them.
set -eu
layout=$1 out=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/gm-layout.XXXXXX")
trap 'rm -rf "$work"' EXIT
ROOT_PARTUUID=6e1e1c2a-1111-4a5b-9c8d-0000000000a1
ESP_PARTUUID=6e1e1c2a-1111-4a5b-9c8d-0000000000f5
BOOT_PARTUUID=6e1e1c2a-1111-4a5b-9c8d-0000000000b6
ROOT_UUID=0a1b2c3d-0000-4000-8000-00000000000a
BOOT_UUID=0a1b2c3d-0000-4000-8000-0000000000b0
ESP_VOLID=ABCD1234
T_BIOS=21686148-6449-6E6F-744E-656564454649
T_ESP=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
T_ROOT=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
T_LINUX=0FC63DAF-8483-4772-8E79-3D69D8477DE4
T_LVM=E6D6D379-F507-44C2-A23C-238F2A3DF928

rm -f "$out"; truncate -s 1G "$out"

root_tree() {   # a copy of the sample system at $work/root
  cp -a "$top/tests/data/sample-root" "$work/root"
  local r=$work/root
  chmod 0640 "$r/etc/shadow"; chmod 0600 "$r"/etc/ssh/ssh_host_*_key 2>/dev/null || true
  chmod 0700 "$r/root"; mkdir -p -m 1777 "$r/tmp"; chmod 1777 "$r/tmp"
  mkdir -p "$r/dev" "$r/proc" "$r/sys" "$r/run" "$r/boot/efi"
  printf 'PRETTY_NAME="Test GNU/Linux"\nID=%s\n' "$1" > "$r/etc/os-release"
  # the kernel as cloud kernels have it: gve and virtio-scsi
  printf 'CONFIG_GVE=m\n' >> "$r/boot/config-6.1.0-13-amd64"
}

esp() {   # esp START_SECTOR SECTORS DISTRO STUB_UUID GRUB_DIR [mkfs.vfat options]
  local start=$1 secs=$2 distro=$3 uuid=$4 gdir=$5 img="$out@@$(( $1 * 512 ))"; shift 5
  mkfs.vfat "$@" -S 512 -n UEFI -i "$ESP_VOLID" --offset="$start" "$out" $(( secs / 2 )) >/dev/null 2>&1
  printf 'MZ fake shim+grub for tests\n' > "$work/BOOTX64.EFI"
  printf 'search.fs_uuid %s root\nset prefix=($root)'"'"'%s'"'"'\nconfigfile $prefix/grub.cfg\n' \
    "$uuid" "$gdir" > "$work/grub.cfg"
  MTOOLS_SKIP_CHECK=1 mmd -i "$img" ::/EFI ::/EFI/BOOT "::/EFI/$distro"
  MTOOLS_SKIP_CHECK=1 mcopy -i "$img" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
  MTOOLS_SKIP_CHECK=1 mcopy -i "$img" "$work/grub.cfg" "::/EFI/$distro/grub.cfg"
  MTOOLS_SKIP_CHECK=1 mcopy -i "$img" "$work/BOOTX64.EFI" "::/EFI/$distro/shimx64.efi"
}

bios_boot() {   # GRUB-like boot code in the protective MBR, a core image in p14
  printf '\xebc\x90GRUB boot code (test)' | dd of="$out" conv=notrunc status=none
  printf 'GRUB core image (test)' | dd of="$out" bs=512 seek=2048 conv=notrunc status=none
}

ext4() {   # ext4 START_SECTOR SECTORS TREE UUID LABEL
  mke2fs -q -F -t ext4 -b 4096 -U "$4" -L "$5" -E offset=$(( $1 * 512 )) -d "$3" "$out" $(( $2 / 8 ))
}

case $layout in
debian)
  sfdisk -q "$out" <<EOF2
label: gpt
${out}14 : start=2048, size=6144, type=$T_BIOS, uuid=6e1e1c2a-1111-4a5b-9c8d-0000000000e4
${out}15 : start=8192, size=253952, type=$T_ESP, uuid=$ESP_PARTUUID
${out}1 : start=262144, type=$T_ROOT, uuid=$ROOT_PARTUUID
EOF2
  root_tree debian
  cat > "$work/root/etc/fstab" <<EOF2
# /etc/fstab: static file system information.
PARTUUID=$ROOT_PARTUUID / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1
PARTUUID=$ESP_PARTUUID /boot/efi vfat defaults 0 0
EOF2
  mkdir -p "$work/root/boot/grub"
  printf 'set default=0\nmenuentry "Debian GNU/Linux" {\n\tlinux /boot/vmlinuz-6.1.0-13-amd64 root=PARTUUID=%s ro console=ttyS0,115200\n}\n' \
    "$ROOT_PARTUUID" > "$work/root/boot/grub/grub.cfg"
  end=$(sfdisk -d "$out" | sed -n "s|^${out}1 : start= *262144, size= *\([0-9]*\).*|\1|p")
  ext4 262144 "$end" "$work/root" "$ROOT_UUID" root
  esp 8192 253952 debian "$ROOT_UUID" /boot/grub -F 16
  bios_boot
  ;;
ubuntu)
  sfdisk -q "$out" <<EOF2
label: gpt
${out}14 : start=2048, size=8192, type=$T_BIOS
${out}15 : start=10240, size=217088, type=$T_ESP, uuid=$ESP_PARTUUID
${out}16 : start=227328, size=262144, type=$T_LINUX, uuid=$BOOT_PARTUUID
${out}1 : start=489472, type=$T_ROOT, uuid=$ROOT_PARTUUID
EOF2
  root_tree ubuntu
  mkdir -p "$work/boot/grub" "$work/boot/efi"
  mv "$work/root/boot/"*-6.1.0-13-amd64 "$work/boot/"
  for f in "$work/boot/"*-6.1.0-13-amd64; do mv "$f" "${f%6.1.0-13-amd64}6.8.0-1015-gcp"; done
  printf 'initrd (test)\n' > "$work/boot/initrd.img-6.8.0-1015-gcp"
  ln -s vmlinuz-6.8.0-1015-gcp "$work/boot/vmlinuz"
  cat > "$work/boot/grub/grub.cfg" <<EOF2
#
# DO NOT EDIT THIS FILE
#
# It is automatically generated by grub-mkconfig using templates
# from /etc/grub.d and settings from /etc/default/grub
#
if [ -s \$prefix/grubenv ]; then
  load_env
fi
set default="0"
function load_video {
  insmod all_video
}
terminal_input console serial
terminal_output console serial
### BEGIN /etc/grub.d/10_linux ###
menuentry 'Ubuntu' --class ubuntu --class gnu-linux --class gnu --class os \$menuentry_id_option 'gnulinux-simple-$ROOT_UUID' {
	recordfail
	load_video
	insmod gzio
	insmod part_gpt
	insmod ext2
	search --no-floppy --fs-uuid --set=root $BOOT_UUID
	linux	/vmlinuz-6.8.0-1015-gcp root=LABEL=cloudimg-rootfs ro  console=tty1 console=ttyS0
	initrd	/initrd.img-6.8.0-1015-gcp
}
submenu 'Advanced options for Ubuntu' \$menuentry_id_option 'gnulinux-advanced-$ROOT_UUID' {
	menuentry 'Ubuntu, with Linux 6.8.0-1015-gcp (recovery mode)' --class ubuntu \$menuentry_id_option 'gnulinux-6.8.0-1015-gcp-recovery-$ROOT_UUID' {
		search --no-floppy --fs-uuid --set=root $BOOT_UUID
		linux	/vmlinuz-6.8.0-1015-gcp root=LABEL=cloudimg-rootfs ro recovery nomodeset dis_ucode_ldr
		initrd	/initrd.img-6.8.0-1015-gcp
	}
}
### END /etc/grub.d/10_linux ###
EOF2
  cat > "$work/root/etc/fstab" <<EOF2
LABEL=cloudimg-rootfs	/	 ext4	discard,commit=30,errors=remount-ro	0 1
LABEL=BOOT	/boot	ext4	defaults	0 2
LABEL=UEFI	/boot/efi	vfat	umask=0077	0 1
EOF2
  end=$(sfdisk -d "$out" | sed -n "s|^${out}1 : start= *489472, size= *\([0-9]*\).*|\1|p")
  ext4 489472 "$end" "$work/root" "$ROOT_UUID" cloudimg-rootfs
  ext4 227328 262144 "$work/boot" "$BOOT_UUID" BOOT
  esp 10240 217088 ubuntu "$BOOT_UUID" /grub -F 32 -s 1
  bios_boot
  ;;
xfs)
  sfdisk -q "$out" <<EOF2
label: gpt
${out}1 : start=2048, size=409600, type=$T_ESP, uuid=$ESP_PARTUUID
${out}2 : start=411648, type=$T_ROOT, uuid=$ROOT_PARTUUID
EOF2
  truncate -s 600M "$work/xfs.img"
  mkfs.xfs -q -f "$work/xfs.img"
  dd if="$work/xfs.img" of="$out" bs=1M seek=201 conv=notrunc,sparse status=none
  esp 2048 409600 redhat "$ROOT_UUID" /boot/grub2 -F 16
  ;;
lvm)
  sfdisk -q "$out" <<EOF2
label: gpt
${out}1 : start=2048, size=409600, type=$T_ESP, uuid=$ESP_PARTUUID
${out}2 : start=411648, type=$T_LVM, uuid=$ROOT_PARTUUID
EOF2
  size=$(sfdisk -d "$out" | sed -n "s|^${out}2 : start= *411648, size= *\([0-9]*\).*|\1|p")
  python3 "$top/tests/tools/lvm_label.py" "$out" $(( 411648 * 512 )) $(( size * 512 )) rootvg
  esp 2048 409600 redhat "$ROOT_UUID" /boot/grub2 -F 16
  ;;
luks)
  sfdisk -q "$out" <<EOF2
label: gpt
${out}1 : start=2048, size=409600, type=$T_ESP, uuid=$ESP_PARTUUID
${out}2 : start=411648, type=$T_LINUX, uuid=$ROOT_PARTUUID
EOF2
  truncate -s 32M "$work/luks.img"; printf 'test key' > "$work/key"
  cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --key-file "$work/key" "$work/luks.img"
  dd if="$work/luks.img" of="$out" bs=1M seek=201 conv=notrunc,sparse status=none
  esp 2048 409600 redhat "$ROOT_UUID" /boot/grub2 -F 16
  ;;
*) echo "make_layout.sh: unknown layout $layout" >&2; exit 64 ;;
esac
