#!/bin/sh
# Installs the Debian packages gcemount needs to build and test, when run as
# root; otherwise prints the one apt-get line to run. Exit 0 when all present.
PKGS="gcc make pkg-config libext2fs-dev e2fsprogs libfdisk-dev libblkid-dev fdisk \
libarchive-dev libfuse3-dev fuse3 zlib1g-dev libcmocka-dev tar gzip python3 jq \
openssh-server openssh-client attr libcap2-bin util-linux rsync vim-tiny clang fuse2fs \
xfsprogs btrfs-progs dosfstools mtools cryptsetup-bin libclang-rt-14-dev xz-utils bzip2 zstd \
acl vim git patch unzip cpio libisal-dev isal pigz time"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "gcemount: installing missing packages:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
        echo "gcemount: apt-get install failed for:$missing" >&2; exit 1; }
    exit 0
fi
echo "gcemount: missing build dependencies; run as root:" >&2
echo "  apt-get install -y$missing" >&2
exit 1
