#!/usr/bin/env python3
"""Prints the byte offset of the first ext2/3/4 filesystem in a disk image:
partition 1 of an MBR or GPT table, else 0 for a bare filesystem. An oracle
independent of gcemount's own partition code (reads the tables directly)."""
import struct, sys

def ext_at(f, off):
    f.seek(off + 1080)
    return f.read(2) == b"\x53\xef"

with open(sys.argv[1], "rb") as f:
    mbr = f.read(512)
    cands = []
    if mbr[510:512] == b"\x55\xaa":
        for i in range(4):
            e = mbr[446 + 16 * i: 462 + 16 * i]
            ptype, lba = e[4], struct.unpack("<I", e[8:12])[0]
            if ptype == 0xEE:
                f.seek(512); hdr = f.read(92)
                if hdr[:8] == b"EFI PART":
                    ent_lba, n, sz = struct.unpack("<QII", hdr[72:88])
                    f.seek(ent_lba * 512); ents = f.read(n * sz)
                    for j in range(n):
                        e2 = ents[j * sz:(j + 1) * sz]
                        if e2[:16] != b"\0" * 16:
                            cands.append(struct.unpack("<Q", e2[32:40])[0] * 512)
            elif ptype:
                cands.append(lba * 512)
    cands.append(0)
    for off in cands:
        if ext_at(f, off):
            print(off); sys.exit(0)
sys.exit(1)
