#!/usr/bin/env python3
"""tarcheck.py TARGZ DISK: checks the disk.raw entry of TARGZ against DISK.

- the entry is an old-GNU sparse member (or a plain one when DISK has no hole);
- every map region is 512-aligned, inside the real size, and holds no
  all-zero 4 KiB block (zero blocks must be holes);
- every non-zero 4 KiB block of DISK is inside the map;
- the real size equals DISK's size.
Prints "regions=N stored=BYTES" on success; exits 1 with a reason otherwise.
"""
import gzip
import os
import sys
import tarfile

B = 4096


def fail(msg):
    print("tarcheck: " + msg, file=sys.stderr)
    sys.exit(1)


def data_blocks(path):
    """Non-zero 4 KiB block numbers of path, using SEEK_DATA to skip holes."""
    out = set()
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        fd = f.fileno()
        pos = 0
        while pos < size:
            try:
                d = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:
                break
            h = os.lseek(fd, d, os.SEEK_HOLE)
            blk = d // B
            while blk * B < h:
                f.seek(blk * B)
                if f.read(B).strip(b"\0"):
                    out.add(blk)
                blk += 1
            pos = h
    return out


def main():
    tgz, disk = sys.argv[1], sys.argv[2]
    with tarfile.open(tgz, "r:gz") as t:
        m = t.getmember("disk.raw")
        with gzip.open(tgz, "rb") as raw:
            raw.seek(m.offset)
            hdr = raw.read(512)
        if hdr[257:265] != b"ustar  \0":
            fail("disk.raw header magic is %r, not old-GNU" % hdr[257:265])
        if m.issparse() != (hdr[156:157] == b"S"):
            fail("sparse flag and typeflag disagree")
        size = os.path.getsize(disk)
        if m.size != size:
            fail("real size %d != disk %d" % (m.size, size))
        # (Python lists unused header slots as (0, 0) and drops the final
        # zero-length entry: keep the data regions only)
        sparse = [r for r in m.sparse if r[1]] if m.issparse() else [(0, m.size)]
        stored = sum(n for _, n in sparse)
        covered = set()
        prev = 0
        with open(disk, "rb") as f:
            for off, n in sparse:
                if off % 512 or n % 512 or off < prev or off + n > size:
                    fail("bad region %d+%d" % (off, n))
                prev = off + n
                for blk in range(off // B, (off + n + B - 1) // B):
                    f.seek(blk * B)
                    if m.issparse() and not f.read(B).strip(b"\0"):
                        fail("all-zero block %d stored as data" % blk)
                    covered.add(blk)
        missing = data_blocks(disk) - covered
        if missing:
            fail("data blocks not in the map: %s" % sorted(missing)[:5])
        print("regions=%d stored=%d" % (len([s for s in sparse if s[1]]), stored))


main()
