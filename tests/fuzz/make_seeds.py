#!/usr/bin/env python3
"""make_seeds.py TARGET DIR — writes generated seed inputs for a fuzz target
(binary seeds are made here at run time rather than kept in git):
  tar        small tar streams holding disk.raw (old-GNU/GNU/pax sparse,
             plain, extension headers, extra members); fuzz_tar gzips them
  partition  small disks: MBR, GPT, a bare ext2, ext2 inside an MBR partition
  policy     the shipped policies and the sample kernel configs
  config     the sample root's config files, each behind its selector byte
  fs         fuzz_fs inputs: each seed filesystem untouched, with a few edits
             (committed, rolled back, rolled back exactly), and with a patch
  fat        small FAT12/FAT16 images (mkfs.vfat + mtools) with long names,
             nested directories and a file over several clusters
  layout     LVM2 labels (tests/tools/lvm_label.py); fstab seeds are text
             in corpus/layout
Hand-written text seeds live in tests/fuzz/corpus/TARGET/."""
import gzip
import io
import os
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus"))
import make_bad_inputs as mb  # noqa: E402  (old-GNU header writer)


def sh(*cmd, stdin=None):
    subprocess.run(cmd, input=stdin, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def sparse_file(path, size, chunks):
    with open(path, "wb") as f:
        f.truncate(size)
        for off, data in chunks:
            f.seek(off)
            f.write(data)


def tar_seeds(out):
    with tempfile.TemporaryDirectory() as t:
        disk = os.path.join(t, "disk.raw")
        sparse_file(disk, 1 << 20, [(0, b"\x55\xaa" * 256), (65536, b"ext4" * 1024),
                                    (1048576 - 4096, b"end!" * 1024)])
        for fmt in ("oldgnu", "gnu", "posix"):
            sh("tar", "--format=" + fmt, "-S", "-cf", os.path.join(out, "gnutar-%s.tar" % fmt),
               "-C", t, "disk.raw")
        # many extents: old-GNU extension headers
        sparse_file(disk, 1 << 20, [(i * 16384, b"%04d" % i * 128) for i in range(30)])
        sh("tar", "--format=oldgnu", "-S", "-cf", os.path.join(out, "gnutar-ext.tar"), "-C", t, "disk.raw")
        # extra member before disk.raw, as some exporters write
        with open(os.path.join(t, "manifest.json"), "w") as f:
            f.write('{"x": 1}\n')
        sh("tar", "--format=oldgnu", "-S", "-cf", os.path.join(out, "gnutar-two-members.tar"),
           "-C", t, "manifest.json", "disk.raw")
        with open(os.path.join(out, "gnutar-two-members.tar"), "rb") as f:
            raw = f.read()
        with open(os.path.join(out, "gzipped.tar.gz"), "wb") as f:
            f.write(gzip.compress(raw, mtime=0))
    # A plain (not sparse) ustar disk.raw.
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        data = b"\0" * 510 + b"\x55\xaa" + b"\0" * 3584
        ti = tarfile.TarInfo("disk.raw")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    with open(os.path.join(out, "ustar-plain.tar"), "wb") as f:
        f.write(bio.getvalue())
    # This project's own old-GNU writer (map in the header, 4 entries).
    entries = [(0, 512), (4096, 512), (8192, 1024), (65536, 0)]
    with open(os.path.join(out, "oldgnu-handmade.tar"), "wb") as f:
        f.write(mb.sparse_member("disk.raw", 65536, entries, b"\x11" * 2048) + mb.end_of_tar())


def partition_seeds(out):
    def disk(name, size, table=None, ext2_at=None):
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            f.truncate(size)
        if table:
            sh("sfdisk", "-q", path, stdin=table.encode())
        if ext2_at is not None:
            with tempfile.TemporaryDirectory() as t:
                fs = os.path.join(t, "fs")
                with open(fs, "wb") as f:
                    f.truncate(64 * 1024)
                sh("mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-N", "16", fs, "64")
                with open(fs, "rb") as src, open(path, "r+b") as dst:
                    dst.seek(ext2_at)
                    dst.write(src.read())
    disk("mbr.img", 64 * 1024, "label: dos\nstart=1, size=40, type=83\nstart=48, size=60, type=c\n")
    disk("mbr-ext2.img", 160 * 1024, "label: dos\nstart=2, size=200, type=83, bootable\n", ext2_at=1024)
    disk("gpt.img", 128 * 1024,
         "label: gpt\nfirst-lba: 34\nstart=40, size=100, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n"
         "start=150, size=50\n")
    disk("gpt-ext2.img", 200 * 1024,
         "label: gpt\nfirst-lba: 34\nstart=40, size=130, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n",
         ext2_at=40 * 512)
    disk("bare-ext2.img", 64 * 1024, None, ext2_at=0)
    disk("mbr-extended.img", 96 * 1024,
         "label: dos\nstart=1, size=20, type=83\nstart=30, size=150, type=5\nstart=40, size=30, type=83\n"
         "start=80, size=30, type=82\n")


def policy_seeds(out):
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    pol = os.path.join(top, "policies")
    for f in sorted(os.listdir(pol)):
        if f.endswith(".policy"):
            with open(os.path.join(pol, f), "rb") as src, open(os.path.join(out, f), "wb") as dst:
                dst.write(src.read())
    cfg = os.path.join(top, "tests", "data", "sample-root", "boot")
    for f in sorted(os.listdir(cfg)):
        if f.startswith("config-"):
            with open(os.path.join(cfg, f), "rb") as src, open(os.path.join(out, f), "wb") as dst:
                dst.write(src.read()[:60000])


def config_seeds(out):
    """Seeds for fuzz_config: the selector byte (its value mod 20 picks the
    parser) then a real file of that kind from the sample root (or from
    tests/data/configs)."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "sample-root")
    files = {0: "etc/ssh/sshd_config", 1: "etc/ssh/ssh_config", 2: "etc/sysctl.conf",
             3: "etc/sysctl.conf", 4: "etc/login.defs", 5: "etc/default/grub",
             6: "etc/chrony/chrony.conf", 7: "etc/chrony/chrony.conf", 8: "etc/dhcp/dhclient.conf",
             9: "etc/passwd", 10: "etc/shadow", 11: "etc/login.defs", 12: "etc/ssh/sshd_config",
             13: "var/lib/dpkg/status", 14: "../configs/grubcfg/debian12.cfg",
             15: "../configs/grubcfg/bls-rhel9.conf", 17: "etc/apt/apt.conf.d/20auto-upgrades"}
    for k, rel in files.items():
        path = os.path.join(root, rel)
        if not os.path.exists(path):
            continue
        with open(path, "rb") as f:
            data = f.read()[:60000]
        with open(os.path.join(out, "%02d-%s" % (k, os.path.basename(rel))), "wb") as f:
            f.write(bytes([120 + k]) + data)
    extra = {16: b"password\t[success=1 default=ignore]\tpam_unix.so obscure sha512 md5 # x\n",
             18: b'SSHD_OPTS="-o PasswordAuthentication=yes -oPermitRootLogin=no -4"\n'
                 b"ExecStart=/usr/sbin/sshd -D -o 'X11Forwarding yes' $SSHD_OPTS\n",
             19: b"Address *,!192.0.2.1,10.0.0.0/8 User root,!alice Host *.example.com LocalPort 22"}
    for k, data in extra.items():
        with open(os.path.join(out, "%02d-extra" % k), "wb") as f:
            f.write(bytes([120 + k]) + data)


def fs_seeds(out):
    # fuzz_fs.c: seed byte, script length, script (mode byte, then 4 bytes
    # per edit), patches (le32 offset, length, bytes). The filesystems
    # themselves are built by the target.
    edits = bytes([0, 3, 5, 7,  0, 9, 1, 0x85,  1, 4, 0, 0,  2, 6, 8, 1,  3, 2, 2, 0,
                   4, 1, 3, 1,  5, 7, 0, 9,  6, 0, 0, 3,  7, 5, 0, 1,  8, 3, 4, 0,  9, 2, 0, 4])
    for seed in range(7):
        for mode in (0, 1, 3):
            script = bytes([mode]) + edits
            with open(os.path.join(out, "seed%d-mode%d" % (seed, mode)), "wb") as f:
                f.write(bytes([seed, len(script)]) + script)
        with open(os.path.join(out, "seed%d-plain" % seed), "wb") as f:
            f.write(bytes([seed, 0]))
        # the superblock's free blocks count, changed (and checksummed again)
        for mode in (3, 7):
            with open(os.path.join(out, "seed%d-patched%d" % (seed, mode)), "wb") as f:
                f.write(bytes([seed, 5, mode, 0, 1, 2, 0x85]) + (1024 + 12).to_bytes(4, "little") +
                        bytes([4, 0xff, 0xff, 0, 0]))
def gzindex_seeds(out):
    """gzip files made by gzip -1/-9 and Python (stored blocks), concatenated
    members, and saved maps (srcmap text, a gzindex header)."""
    import gzip, struct
    data = b"".join(b"seed line %d for the block index\n" % i for i in range(4000))
    data += os.urandom(70000)
    with open(os.path.join(out, "stored.gz"), "wb") as f:
        f.write(gzip.compress(data, compresslevel=0, mtime=0))
    with open(os.path.join(out, "members.gz"), "wb") as f:
        f.write(gzip.compress(data[:50000], 9, mtime=0) + gzip.compress(data[50000:], 1, mtime=0))
    with open(os.path.join(out, "srcmap"), "w") as f:
        f.write("gcemount-srcmap 1 1 20480 2 2\nr 0 4096 1024\nr 8192 512 5120\nm %d\nm 6144\n"
                % (2 ** 64 - 1))
    with open(os.path.join(out, "gzindex"), "wb") as f:
        f.write(b"gcemount-gzindex-1\n" + struct.pack("<QQI8sQ", 1000, 5000, 1, b"\0" * 8, 2)
                + struct.pack("<QQIII4x", 80, 0, 0, 0, 0) + struct.pack("<QQIII4x", 900, 4000, 7, 0, 1))
def fat_seeds(out):
    with tempfile.TemporaryDirectory() as t:
        files = os.path.join(t, "f")
        os.makedirs(os.path.join(files, "EFI", "BOOT"))
        with open(os.path.join(files, "EFI", "BOOT", "BOOTX64.EFI"), "wb") as f:
            f.write(b"MZ" + bytes(range(256)) * 12)
        with open(os.path.join(files, "A long file name with spaces.txt"), "w") as f:
            f.write("long\n")
        with open(os.path.join(files, "lower.cfg"), "w") as f:
            f.write("search.fs_uuid 1234 root\n")
        env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
        # FAT16 needs 4085 clusters: 2.1 MiB of 512-byte clusters (run.sh's -max_len allows it)
        for name, kib, fat in (("fat12.img", 64, "12"), ("fat16.img", 2100, "16")):
            img = os.path.join(out, name)
            if os.path.exists(img):
                os.remove(img)
            try:
                sh("mkfs.vfat", "-C", "-F", fat, "-s", "1", "-n", "SEED", img, str(kib))
                subprocess.run(["mcopy", "-s", "-i", img] + [os.path.join(files, x) for x in os.listdir(files)]
                               + ["::/"], check=True, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            except (OSError, subprocess.CalledProcessError):
                if os.path.exists(img):
                    os.remove(img)
                return


def layout_seeds(out):
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "lvm_label.py")
    for i, vg in enumerate(("rootvg", "vg-with.dots_and+plus")):
        path = os.path.join(out, "lvm%d.bin" % i)
        with open(path, "wb") as f:
            f.truncate(8192)
        # a short text and an mda too small for it: the parser must stay inside the buffer
        sh(sys.executable, tool, path, "0", str(1 << 30), vg)
        with open(path, "r+b") as f:
            f.truncate(8192)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_seeds.py TARGET DIR")
    target, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    mb.out = out
    if target == "tar":
        tar_seeds(out)
    elif target == "partition":
        partition_seeds(out)
    elif target == "policy":
        policy_seeds(out)
    elif target == "config":
        config_seeds(out)
    elif target == "fs":
        fs_seeds(out)
    elif target == "gzindex":
        gzindex_seeds(out)
    elif target == "fat":
        fat_seeds(out)
    elif target == "layout":
        layout_seeds(out)


if __name__ == "__main__":
    main()
