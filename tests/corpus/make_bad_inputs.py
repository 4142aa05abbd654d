#!/usr/bin/env python3
"""make_bad_inputs.py OUTDIR — writes the hostile/broken input corpus.

Every input is generated here at run time (no blobs in git): broken gzip
streams, hand-written old-GNU sparse tar headers, broken partition tables,
foreign and corrupted filesystems, symlink and directory loops, config files
with 1 MB lines, policy files with syntax errors.

OUTDIR/manifest.json lists the cases, one object per (input, verb):
  {"input": FILE, "verb": "ls|cat|put|apply|check|mount",
   "exit": [allowed exit statuses], "regex": REGEX or null,
   "path": path inside the image the verb works on (or null),
   "policy": policy file for apply/check (or null),
   "names_input": true when the error line must name FILE}
"regex" must match the one "gcemount: ..." line of stderr when the exit
status is not 0. Inputs whose tool is missing (mkfs.xfs, ...) are left out
and listed in OUTDIR/skipped.txt with the reason.
"""
import gzip
import io
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import zlib

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLE = os.path.join(TOP, "tests", "data", "sample-root")
MIB = 1 << 20
PART_OFF = MIB  # partition 1 at sector 2048

VERBS = ["ls", "cat", "put", "apply", "check", "mount"]
OPEN_VERBS = VERBS  # every verb opens the image

cases = []
skipped = []
out = None
rng = random.Random(20261122)


def run(*cmd, stdin=None):
    r = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), r.stderr.decode(errors="replace")))
    return r.stdout.decode(errors="replace")


def have(tool):
    return shutil.which(tool) is not None


def p(name):
    return os.path.join(out, name)


def expect(inp, verbs, exits, regex=None, path=None, policy=None, names_input=None, known=None):
    """Records the outcome expected for each verb in verbs. known: a bug
    reported but not fixed yet; its problems are listed as KNOWN, and fail
    the run only with GM_BAD_STRICT=1."""
    if isinstance(exits, int):
        exits = [exits]
    for v in verbs:
        cases.append({
            "input": inp, "verb": v, "exit": exits, "regex": regex, "path": path,
            "policy": policy, "known": known,
            "names_input": bool(names_input if names_input is not None else (2 in exits and 0 not in exits)),
        })


def bad_image(inp, regex, verbs=OPEN_VERBS, known=None):
    """An input every verb must refuse as an unreadable image (exit 2).
    check (docs/check.md) may instead report it (exit 1, a FAIL row on
    stdout matching regex) when it can still say something about the file."""
    expect(inp, [v for v in verbs if v != "check"], 2, regex, known=known)
    if "check" in verbs:
        expect(inp, ["check"], [1, 2], regex, known=known, names_input=True)


# ---------------------------------------------------------------- tar writing
def octal(n, width):
    s = "%o" % n
    if len(s) <= width - 1:
        return s.rjust(width - 1, "0").encode() + b"\0"
    if n < 0 or n >= 1 << (8 * (width - 1)):
        raise ValueError("number too large for base-256 field")
    return b"\x80" + n.to_bytes(width - 1, "big")  # GNU base-256


def checksum(h):
    return sum(h[:148]) + 8 * 32 + sum(h[156:512])


def set_checksum(h, bad=False):
    c = checksum(h) + (1 if bad else 0)
    h[148:156] = ("%06o" % c).encode() + b"\0 "


def oldgnu_header(name, size, typeflag=b"0", sparse=None, realsize=0, isextended=False,
                  mtime=1700000000, bad_checksum=False):
    """One 512-byte old-GNU header; sparse is a list of (offset, numbytes)
    (at most 4 here; the rest go in extension blocks)."""
    h = bytearray(512)
    h[0:len(name)] = name.encode()
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = octal(size, 12)
    h[136:148] = octal(mtime, 12)
    h[156:157] = typeflag
    h[257:265] = b"ustar  \0"  # old GNU magic + version
    h[265:269] = b"root"
    h[297:301] = b"root"
    if sparse is not None:
        for i, (off, n) in enumerate(sparse[:4]):
            base = 386 + 24 * i
            h[base:base + 12] = octal(off, 12)
            h[base + 12:base + 24] = octal(n, 12)
        h[482] = 1 if isextended else 0
        h[483:495] = octal(realsize, 12)
    set_checksum(h, bad_checksum)
    return bytes(h)


def sparse_ext_blocks(entries):
    """Old-GNU sparse extension blocks: 21 entries each, isextended at 504."""
    blocks = []
    for i in range(0, len(entries), 21):
        b = bytearray(512)
        for j, (off, n) in enumerate(entries[i:i + 21]):
            b[24 * j:24 * j + 12] = octal(off, 12)
            b[24 * j + 12:24 * j + 24] = octal(n, 12)
        b[504] = 1 if i + 21 < len(entries) else 0
        blocks.append(bytes(b))
    return blocks


def pad512(data):
    return data + b"\0" * (-len(data) % 512)


def sparse_member(name, realsize, entries, data, size=None, bad_checksum=False,
                  drop_ext=False):
    """A sparse member: entries [(offset, numbytes)], data = the bytes stored."""
    hdr = oldgnu_header(name, len(data) if size is None else size, b"S", entries[:4], realsize,
                        isextended=len(entries) > 4, bad_checksum=bad_checksum)
    ext = b"" if drop_ext else b"".join(sparse_ext_blocks(entries[4:]))
    return hdr + ext + pad512(data)


def regular_member(name, data, typeflag=b"0"):
    return oldgnu_header(name, len(data), typeflag) + pad512(data)


def end_of_tar():
    return b"\0" * 1024


def write_gz(name, raw_tar):
    with open(p(name), "wb") as f:
        f.write(gzip.compress(raw_tar, compresslevel=1, mtime=0))


def disk_sparse_member(path, name="disk.raw"):
    """A correct old-GNU sparse member for a real disk file (its data extents)."""
    entries, chunks = [], []
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        fd = f.fileno()
        off = 0
        while off < size:
            try:
                d = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            e = os.lseek(fd, d, os.SEEK_HOLE)
            f.seek(d)
            buf = f.read(e - d)
            entries.append((d, len(buf)))
            chunks.append(buf)
            off = e
    if not entries or entries[-1][0] + entries[-1][1] < size:
        entries.append((size, 0))  # GNU tar's convention: a final empty entry at realsize
    return sparse_member(name, size, entries, b"".join(chunks))


# ---------------------------------------------------------------- disks
def make_disk(name, mib, table="mbr", tree=SAMPLE, mkfs=None, extra=()):
    """A sparse disk with one partition (or none: bare) holding ext4 from tree,
    or the filesystem made by mkfs (a command list, device appended)."""
    path = p(name)
    if os.path.exists(path):
        os.unlink(path)
    with open(path, "wb") as f:
        f.truncate(mib * MIB)
    off = 0
    if table == "mbr":
        run("sfdisk", "-q", path, stdin=b"label: dos\nstart=2048, type=83, bootable\n")
        off = PART_OFF
    elif table == "gpt":
        run("sfdisk", "-q", path,
            stdin=b"label: gpt\nstart=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n")
        off = PART_OFF
    if mkfs is None:
        end = mib * MIB - (33 * 512 if table == "gpt" else 0)
        kib = (end - off) // 4096 * 4
        cmd = ["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-E", "offset=%d" % off]
        if tree:
            cmd += ["-d", tree]
        run(*(cmd + list(extra) + [path, "%dk" % kib]))
    else:
        # foreign mkfs tools want a device or file: make the fs in a temp
        # file and copy it in at the partition offset.
        tmp = path + ".fs"
        with open(tmp, "wb") as f:
            f.truncate(mib * MIB - off - MIB)
        run(*(mkfs + [tmp]))
        with open(tmp, "rb") as src, open(path, "r+b") as dst:
            fd = src.fileno()
            pos, size = 0, os.path.getsize(tmp)
            while pos < size:
                try:
                    d = os.lseek(fd, pos, os.SEEK_DATA)
                except OSError:
                    break
                e = os.lseek(fd, d, os.SEEK_HOLE)
                src.seek(d)
                dst.seek(off + d)
                dst.write(src.read(e - d))
                pos = e
        os.unlink(tmp)
    return path


def spec(name):
    return "%s?offset=%d" % (p(name), PART_OFF)


def debugfs_w(name, *cmds):
    for c in cmds:
        run("debugfs", "-w", "-R", c, spec(name))


def inode_location(name, fspath):
    """(byte offset in the disk file, inode size) of fspath's inode."""
    outp = run("debugfs", "-R", "imap %s" % fspath, spec(name))
    m = re.search(r"located at block (\d+), offset (0x[0-9a-fA-F]+)", outp)
    if not m:
        raise RuntimeError("debugfs imap %s: %s" % (fspath, outp))
    blk, offs = int(m.group(1)), int(m.group(2), 16)
    return PART_OFF + blk * 4096 + offs


def patch(name, offset, data):
    with open(p(name), "r+b") as f:
        f.seek(offset)
        f.write(data)


def tree_copy(dst):
    d = p(dst)
    if os.path.exists(d):
        shutil.rmtree(d)
    shutil.copytree(SAMPLE, d, symlinks=True)
    return d


# ---------------------------------------------------------------- the corpus
def container_cases():
    # A good control written by this script's own tar writer: the bad sparse
    # cases below differ from it only in the one thing they break.
    make_disk("good.img", 64)
    good_member = disk_sparse_member(p("good.img"))
    write_gz("synthetic-good.tar.gz", good_member + end_of_tar())
    expect("synthetic-good.tar.gz", ["ls", "cat"], 0)
    good = open(p("synthetic-good.tar.gz"), "rb").read()

    # Empty and random files, as tar.gz and as raw disks.
    open(p("empty.tar.gz"), "wb").close()
    bad_image("empty.tar.gz", r"(?i)empty|truncat|not a|too small|gzip|short")
    open(p("empty.img"), "wb").close()
    bad_image("empty.img", r"(?i)empty|too small|no (partition|file ?system)|not a|size")
    with open(p("random.tar.gz"), "wb") as f:
        f.write(bytes(rng.getrandbits(8) for _ in range(65536)))
    bad_image("random.tar.gz", r"(?i)gzip|not a|corrupt|invalid|unrecogni[sz]ed")
    with open(p("random-gzmagic.tar.gz"), "wb") as f:
        f.write(b"\x1f\x8b\x08\x00" + bytes(rng.getrandbits(8) for _ in range(8188)))
    bad_image("random-gzmagic.tar.gz", r"(?i)gzip|corrupt|invalid|truncat|inflate|deflate|compress")
    with open(p("random.img"), "wb") as f:
        f.write(bytes(rng.getrandbits(8) for _ in range(4 * MIB)))
    bad_image("random.img", r"(?i)no (usable )?(partition|file ?system)|not an? |unrecogni[sz]ed|no ext")
    # gzip of something that is not a tar.
    write_gz("not-a-tar.tar.gz", bytes(rng.getrandbits(8) for _ in range(10000)))
    bad_image("not-a-tar.tar.gz", r"(?i)tar|header|archive|checksum|disk\.raw")

    # Truncated gzip at several points, bad CRC, bad length.
    for label, cut in (("10", 10), ("half", len(good) // 2), ("nocrc", len(good) - 8),
                       ("minus1", len(good) - 1)):
        n = "truncated-%s.tar.gz" % label
        with open(p(n), "wb") as f:
            f.write(good[:cut])
        bad_image(n, r"(?i)truncat|unexpected end|premature|short|incomplete|corrupt|end of")
    bad = bytearray(good)
    bad[-8] ^= 0xFF
    open(p("bad-crc.tar.gz"), "wb").write(bad)
    # libarchive checks the gzip trailer only if reading gets that far, and
    # the tar reader stops at the end-of-archive blocks: editor/container/tar_read.c
    # now inflates itself and reads the stream to its end.
    bad_image("bad-crc.tar.gz", r"(?i)crc|checksum|integrity")
    bad = bytearray(good)
    bad[-3] ^= 0x01
    open(p("bad-isize.tar.gz"), "wb").write(bad)
    bad_image("bad-isize.tar.gz", r"(?i)length|size|crc|checksum|integrity")

    # Tar structure.
    write_gz("no-disk-raw.tar.gz", regular_member("disk.img", b"x" * 1000) + end_of_tar())
    bad_image("no-disk-raw.tar.gz", r"disk\.raw")
    write_gz("only-eof.tar.gz", end_of_tar())
    bad_image("only-eof.tar.gz", r"disk\.raw|empty")
    write_gz("two-disk-raw.tar.gz", good_member + good_member + end_of_tar())
    bad_image("two-disk-raw.tar.gz", r"(?i)disk\.raw.*(two|twice|more than one|duplicate|several|2 )|(two|twice|more than one|duplicate|several).*disk\.raw")
    write_gz("odd-size.tar.gz", regular_member("disk.raw", b"\0" * (MIB + 100)) + end_of_tar())
    bad_image("odd-size.tar.gz", r"(?i)512|sector|multiple")
    write_gz("disk-raw-symlink.tar.gz",
             oldgnu_header("disk.raw", 0, b"2") + end_of_tar())
    bad_image("disk-raw-symlink.tar.gz", r"(?i)disk\.raw.*(regular|not a file|type|link)|(regular|type|link).*disk\.raw")
    hdr_bad = oldgnu_header("disk.raw", 0, b"0", bad_checksum=True)
    write_gz("bad-header-checksum.tar.gz", hdr_bad + end_of_tar())
    bad_image("bad-header-checksum.tar.gz", r"(?i)checksum|header|corrupt")
    # The good disk.raw header with a wrong checksum.
    gm = bytearray(good_member)
    gm[148:156] = b"0000000\0"
    write_gz("bad-sparse-checksum.tar.gz", bytes(gm) + end_of_tar())
    bad_image("bad-sparse-checksum.tar.gz", r"(?i)checksum|header|corrupt")
    # A member whose data is cut short by the end of the stream.
    write_gz("member-truncated.tar.gz", good_member[:len(good_member) // 2])
    bad_image("member-truncated.tar.gz", r"(?i)truncat|unexpected end|premature|short|incomplete|end of")

    # Old-GNU sparse maps that lie.
    blk = b"\x55" * 4096
    sparse_bad = {
        # name: (realsize, entries, data, regex)
        "sparse-overlap": (MIB * 4, [(0, 4096), (2048, 4096)], blk * 2, r"(?i)sparse|overlap|order|map"),
        "sparse-backwards": (MIB * 4, [(65536, 4096), (0, 4096)], blk * 2, r"(?i)sparse|order|backward|map|overlap"),
        "sparse-past-end": (MIB * 4, [(0, 4096), (8 * MIB, 4096)], blk * 2, r"(?i)sparse|past|beyond|end|size|map"),
        "sparse-absurd-size": (1 << 63, [(0, 4096), ((1 << 63) - 4096, 4096)], blk * 2,
                               r"(?i)sparse|size|large|absurd|too big|map|limit"),
        "sparse-absurd-realsize": ((1 << 63) - 512, [(0, 4096)], blk, r"(?i)sparse|size|large|absurd|too big|map|limit|512"),
        "sparse-huge-numbytes": (MIB * 4, [(0, 1 << 62)], blk, r"(?i)sparse|size|map|truncat|end|large|past"),
        "sparse-size-mismatch": (MIB * 4, [(0, 4096), (8192, 4096)], blk * 3,
                                 r"(?i)sparse|size|map|mismatch|header|member|corrupt"),
    }
    for n, (realsize, entries, data, rx) in sparse_bad.items():
        write_gz(n + ".tar.gz", sparse_member("disk.raw", realsize, entries, data) + end_of_tar())
        bad_image(n + ".tar.gz", rx)
    # Many map entries in extension blocks, the last extension block missing.
    entries = [(i * 8192, 4096) for i in range(30)]
    write_gz("sparse-ext-missing.tar.gz",
             sparse_member("disk.raw", MIB, entries, blk * 30, drop_ext=True) + end_of_tar())
    bad_image("sparse-ext-missing.tar.gz", r"(?i)sparse|header|map|truncat|checksum|corrupt|end")
    # A valid tar whose disk is all zeros / has no filesystem.
    with open(p("zeros.raw"), "wb") as f:
        f.truncate(64 * MIB)
    write_gz("blank-disk.tar.gz", disk_sparse_member(p("zeros.raw")) + end_of_tar())
    os.unlink(p("zeros.raw"))
    bad_image("blank-disk.tar.gz", r"(?i)no (usable )?(partition|file ?system)|not an? |unrecogni[sz]ed|no ext")

    # Not regular files.
    os.mkfifo(p("fifo.tar.gz"))
    bad_image("fifo.tar.gz", r"(?i)regular|fifo|not a")
    os.mkfifo(p("fifo.img"))
    bad_image("fifo.img", r"(?i)regular|fifo|not a")
    os.mkdir(p("dir.img"))
    bad_image("dir.img", r"(?i)regular|directory|not a")


def disk_cases():
    noext = r"(?i)no (usable )?(partition|file ?system|ext)|not an? |unrecogni[sz]ed|unsupported"

    # Zeros: no partition table, no filesystem.
    with open(p("blank.img"), "wb") as f:
        f.truncate(64 * MIB)
    bad_image("blank.img", noext)

    # Partition 1 past the end of the disk (the disk file was cut).
    make_disk("mbr-past-end.img", 64)
    os.truncate(p("mbr-past-end.img"), 32 * MIB)
    bad_image("mbr-past-end.img", r"(?i)past|beyond|end of|outside|truncat|larger|too (small|short)")
    # A second partition past the end; partition 1 is fine.
    make_disk("mbr-p2-past-end.img", 64)
    with open(p("mbr-p2-past-end.img"), "r+b") as f:
        # MBR entry 2 at 0x1CE: type 0x83, LBA start 100000, 400000 sectors (past 64 MiB).
        f.seek(0x1CE)
        f.write(struct.pack("<B3sB3sII", 0, b"\xfe\xff\xff", 0x83, b"\xfe\xff\xff", 100000, 400000))
    expect("mbr-p2-past-end.img", ["ls", "cat"], 0)
    # Overlapping MBR partitions: partition 2 covers partition 1's filesystem.
    make_disk("mbr-overlap.img", 64)
    with open(p("mbr-overlap.img"), "r+b") as f:
        f.seek(0x1CE)
        f.write(struct.pack("<B3sB3sII", 0, b"\xfe\xff\xff", 0x83, b"\xfe\xff\xff", 4096, 8192))
    expect("mbr-overlap.img", ["ls", "cat"], [0, 2], r"(?i)overlap|partition")

    # GPT with a bad header CRC: both copies (unusable), primary only (backup used).
    make_disk("gpt-bad-crc.img", 64, "gpt")
    size = os.path.getsize(p("gpt-bad-crc.img"))
    with open(p("gpt-bad-crc.img"), "r+b") as f:
        for hdr in (512, size - 512):
            f.seek(hdr + 16)
            crc = f.read(4)
            f.seek(hdr + 16)
            f.write(bytes(b ^ 0xFF for b in crc))
    bad_image("gpt-bad-crc.img", r"(?i)gpt")
    make_disk("gpt-primary-bad.img", 64, "gpt")
    with open(p("gpt-primary-bad.img"), "r+b") as f:
        f.seek(512 + 16)
        f.write(b"\0\0\0\0")
    expect("gpt-primary-bad.img", ["ls", "cat"], 0)
    # GPT entry array CRC broken in both copies.
    make_disk("gpt-bad-entries.img", 64, "gpt")
    with open(p("gpt-bad-entries.img"), "r+b") as f:
        f.seek(1024 + 56)  # first entry's name
        f.write("BROKEN".encode("utf-16-le"))
        f.seek(size - 33 * 512 + 56)
        f.write("BROKEN".encode("utf-16-le"))
    bad_image("gpt-bad-entries.img", r"(?i)gpt")

    # Foreign filesystems.
    for fs, mkfs, mib in (("xfs", ["mkfs.xfs", "-q", "-f"], 320),
                          ("btrfs", ["mkfs.btrfs", "-q", "-f"], 160),
                          ("vfat", ["mkfs.vfat"], 64)):
        if not have(mkfs[0]):
            skipped.append("%s.img: %s not installed" % (fs, mkfs[0]))
            continue
        try:
            make_disk(fs + ".img", mib, mkfs=mkfs)
        except RuntimeError as e:
            skipped.append("%s.img: %s" % (fs, e))
            continue
        bad_image(fs + ".img", r"(?i)%s" % fs)
        if fs == "vfat":
            write_gz("vfat.tar.gz", disk_sparse_member(p("vfat.img")) + end_of_tar())
            bad_image("vfat.tar.gz", r"(?i)vfat")

    # ext4 with a zeroed superblock.
    make_disk("ext4-zeroed-sb.img", 64)
    patch("ext4-zeroed-sb.img", PART_OFF + 1024, b"\0" * 1024)
    bad_image("ext4-zeroed-sb.img", noext + r"|superblock|ext4")
    # Superblock whose magic is right but geometry is absurd (blocks count).
    make_disk("ext4-absurd-sb.img", 64, extra=["-O", "^metadata_csum"])
    patch("ext4-absurd-sb.img", PART_OFF + 1024 + 4, struct.pack("<I", 0xFFFFFFF0))
    bad_image("ext4-absurd-sb.img", r"(?i)superblock|corrupt|bad|invalid|block|ext4|size|past|beyond")

    # ext4 whose journal needs recovery: readable, not writable.
    make_disk("ext4-needs-recovery.img", 64)
    debugfs_w("ext4-needs-recovery.img", "feature needs_recovery")
    expect("ext4-needs-recovery.img", ["ls", "cat"], 0)
    expect("ext4-needs-recovery.img", ["put", "apply"], 1, r"(?i)recover|journal|read-only")
    expect("ext4-needs-recovery.img", ["check"], [0, 1])

    # A directory loop: /etc/loop is a hard link to /etc itself.
    for csum in (True, False):
        n = "ext4-dirloop%s.img" % ("" if csum else "-nocsum")
        make_disk(n, 64, extra=[] if csum else ["-O", "^metadata_csum"])
        debugfs_w(n, "ln /etc /etc/loop", "ln /etc/ssh /etc/ssh/back")
        expect(n, ["ls"], 0, path="/etc")
        expect(n, ["cat"], 0, path="/etc/loop/loop/ssh/back/back/sshd_config")
        expect(n, ["put"], 0, path="/etc/loop/new-file")
        expect(n, ["apply", "check"], [0, 1])

    # A file whose extent points far outside the filesystem: metadata_csum
    # catches the edit (inode checksum), the no-csum variant must still fail
    # cleanly when the block is read.
    for csum in (True, False):
        n = "ext4-bad-extent%s.img" % ("" if csum else "-nocsum")
        make_disk(n, 64, extra=[] if csum else ["-O", "^metadata_csum"])
        for f in ("/etc/ssh/sshd_config", "/etc/hostname"):
            at = inode_location(n, f)
            # i_block at 40: extent header (12 bytes), first extent: ee_block,
            # ee_len, ee_start_hi, ee_start_lo.
            patch(n, at + 40 + 12 + 6, struct.pack("<HI", 0x7FFF, 0xFFFFFF00))
        rx = r"(?i)hostname|checksum|corrupt|block|outside|beyond|range|invalid|bad"
        expect(n, ["ls"], 0, path="/etc")
        expect(n, ["cat"], 1, rx, path="/etc/hostname")
        # (without csum: put fails half-way through the corrupt file; the
        # raw image, edited in place, must come back unchanged)
        expect(n, ["put"], [0, 1], path="/etc/hostname")
        expect(n, ["apply", "check"], [0, 1])
    # A directory entry naming an inode past the inode table.
    for csum in (True, False):
        n = "ext4-bad-dirent%s.img" % ("" if csum else "-nocsum")
        make_disk(n, 64, extra=[] if csum else ["-O", "^metadata_csum"])
        debugfs_w(n, "ln /etc/hostname /etc/ghost0")
        blocks = run("debugfs", "-R", "blocks /etc", spec(n)).split()
        with open(p(n), "r+b") as f:
            for b in blocks:
                f.seek(PART_OFF + int(b) * 4096)
                data = f.read(4096)
                i = data.find(b"ghost0")
                if i >= 8:
                    f.seek(PART_OFF + int(b) * 4096 + i - 8)
                    f.write(struct.pack("<I", 0x7FFFFFF0))
                    break
            else:
                raise RuntimeError("ghost0 entry not found")
        expect(n, ["ls"], [0, 1], path="/etc")
        expect(n, ["cat"], 1, r"(?i)ghost0|inode|corrupt|checksum|invalid|bad", path="/etc/ghost0")
        expect(n, ["put"], [0, 1], path="/etc/ghost0")
        expect(n, ["apply", "check"], [0, 1])

    # Symlink loops under /etc, sshd_config itself a loop.
    n = "ext4-symloop.img"
    make_disk(n, 64)
    debugfs_w(n, "symlink /etc/loopa /etc/loopb", "symlink /etc/loopb /etc/loopa",
              "rm /etc/ssh/sshd_config", "symlink /etc/ssh/sshd_config /etc/ssh/sshd_config",
              "rm /etc/sysctl.conf", "symlink /etc/sysctl.conf ../etc/./sysctl.conf")
    loop = r"(?i)loop|too many (levels|symbolic)|symlink"
    expect(n, ["ls"], 0, path="/etc")
    expect(n, ["cat"], 1, loop, path="/etc/loopa")
    expect(n, ["put"], 1, loop, path="/etc/loopb")
    expect(n, ["apply", "check"], [0, 1])

    # Config files with 1 MB lines, NUL bytes, no final newline, CRLF.
    t = tree_copy("longlines.tree")
    big = "#" + "x" * MIB
    def add(rel, pre, post=""):
        path = os.path.join(t, rel.lstrip("/"))
        with open(path, "a") as f:
            f.write(pre + big + "\n" + post)
    add("etc/ssh/sshd_config", "PermitRootLogin yes\n", "PasswordAuthentication yes")
    add("etc/sysctl.conf", "net.ipv4.ip_forward = 1\n")
    add("etc/login.defs", "PASS_MAX_DAYS 99999\n")
    add("etc/default/grub", 'GRUB_CMDLINE_LINUX="' + "a" * MIB + '"\n')
    with open(os.path.join(t, "etc/chrony/chrony.conf"), "ab") as f:
        f.write(b"server\0metadata.google.internal\r\npool x\0\0\0" + b"y" * 70000)
    with open(os.path.join(t, "etc/passwd"), "a") as f:
        f.write("u" * MIB + ":x:1:1::/:/bin/sh\n")
    make_disk("ext4-longlines.img", 64, tree=t)
    shutil.rmtree(t)
    expect("ext4-longlines.img", ["ls", "cat"], 0)
    expect("ext4-longlines.img", ["put"], 0, path="/etc/new-file")
    expect("ext4-longlines.img", ["apply", "check"], [0, 1],
           r"(?i)line|too long|sshd_config|sysctl|login\.defs|grub|passwd|chrony")

    # Config files that once hung or broke apply (found by fuzzing): an
    # sshd_config that Includes itself many times (k^16 walks), an Include
    # argument with a stray CR (endless loop), an unquoted grub value with a
    # quote in it (non-idempotent, broken quoting).
    t = tree_copy("loops.tree")
    with open(os.path.join(t, "etc/ssh/sshd_config"), "a") as f:
        f.write("Include /etc/ssh/sshd_config\n" * 8 + "Include \r /etc/ssh/*\n")
    with open(os.path.join(t, "etc/ssh/ssh_config"), "a") as f:
        f.write("Include /etc/ssh/ssh_config /etc/ssh/ssh_config /etc/ssh/ssh_config\n")
    with open(os.path.join(t, "etc/default/grub"), "a") as f:
        f.write('GRUB_CMDLINE_LINUX=quiet"splash\n')
    make_disk("ext4-config-loops.img", 64, tree=t)
    shutil.rmtree(t)
    expect("ext4-config-loops.img", ["apply"], [0, 1], r"(?i)grub|quot|GRUB_CMDLINE_LINUX|invalid")
    expect("ext4-config-loops.img", ["check"], [0, 1])

    # Representative disk-level problems inside a valid tar.gz too.
    for n in ("ext4-zeroed-sb", "gpt-bad-crc"):
        write_gz(n + ".tar.gz", disk_sparse_member(p(n + ".img")) + end_of_tar())
        bad_image(n + ".tar.gz", noext + r"|superblock|gpt|crc|checksum|partition")
    write_gz("ext4-symloop.tar.gz", disk_sparse_member(p("ext4-symloop.img")) + end_of_tar())
    expect("ext4-symloop.tar.gz", ["cat"], 1, loop, path="/etc/loopa")
    expect("ext4-symloop.tar.gz", ["ls", "check"], [0, 1], path="/etc")
    expect("ext4-symloop.tar.gz", ["apply", "mount"], [0, 1])


def policy_cases():
    """Broken policy files, used with the good image by apply and check."""
    bad = {
        "garbage.policy": bytes(rng.getrandbits(8) for _ in range(3000)),
        "unknown-directive.policy": b"frobnicate the image please\n",
        "unterminated.policy": b'rule ssh.x required "unterminated\n',
        "long-line.policy": b"#" + b"x" * MIB + b"\nbogus " + b"y" * MIB + b"\n",
        "nul.policy": b"rule\0ssh\n\0\0\0",
        "deep-include.policy": b"include deep-include.policy\n",
    }
    for n, data in bad.items():
        with open(p(n), "wb") as f:
            f.write(data)
        expect("good.img", ["apply", "check"], [1, 64],
               r"%s(:\d+)?: " % n.replace(".", r"\."), policy=n, names_input=False)


def main():
    global out
    if len(sys.argv) != 2:
        sys.exit("usage: make_bad_inputs.py OUTDIR")
    out = os.path.abspath(sys.argv[1])
    os.makedirs(out, exist_ok=True)
    container_cases()
    disk_cases()
    policy_cases()
    for f in os.listdir(out):
        if f.endswith(".offset"):
            os.unlink(p(f))
    with open(p("manifest.json"), "w") as f:
        json.dump(cases, f, indent=1)
    with open(p("skipped.txt"), "w") as f:
        f.write("".join(s + "\n" for s in skipped))
    inputs = sorted({c["input"] for c in cases} | {c["policy"] for c in cases if c["policy"]})
    print("%d inputs, %d cases, %d skipped" % (len(inputs), len(cases), len(skipped)))


if __name__ == "__main__":
    main()
