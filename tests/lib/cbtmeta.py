#!/usr/bin/python3
"""Decode a dm-cbt metadata device from its documented format
(docs/dm-cbt.md, include/uapi/dm-cbt.h), independently of the kernel.

  cbtmeta.py DEV|FILE                 JSON: superblock fields, current and
                                      frozen sets as [first, count] ranges
  cbtmeta.py DEV|FILE --blocks WHICH  one block number per line (current,
                                      frozen or both)

Reads with O_DIRECT (through dd) when DEV is a block device, so that what
the kernel wrote is seen, not a stale page cache.
"""
import json
import os
import stat
import struct
import subprocess
import sys
import uuid
import zlib

MAGIC = 0x3130544243636D64
AREA0_SECTOR = 8
SB_FORMAT = "<IIQIIQQ16sQQIIQ"
FLAGS = {1: "clean", 2: "invalid", 4: "suspended"}


def read(dev, offset, length):
    if stat.S_ISBLK(os.stat(dev).st_mode):
        first, skip = divmod(offset, 512)
        out = subprocess.run(
            ["dd", f"if={dev}", "bs=512", f"skip={first}",
             f"count={(skip + length + 511) // 512}", "iflag=direct", "status=none"],
            check=True, stdout=subprocess.PIPE).stdout
        return out[skip:skip + length]
    with open(dev, "rb") as f:
        f.seek(offset)
        return f.read(length)


def ranges(bits, nr_blocks):
    out, start = [], None
    for b in range(nr_blocks):
        if bits[b // 8] >> (b % 8) & 1:
            if start is None:
                start = b
        elif start is not None:
            out.append([start, b - start])
            start = None
    if start is not None:
        out.append([start, nr_blocks - start])
    return out


def decode(dev, base=0):
    """Decode the metadata that starts at byte BASE of DEV."""
    sb = read(dev, base, 512)
    (csum, flags, magic, version, block_sectors, nr_blocks, area_sectors,
     uid, checkpoint, frozen, current_area, _, sequence) = struct.unpack_from(SB_FORMAT, sb)
    if magic != MAGIC:
        raise SystemExit(f"{dev}: bad magic {magic:#x}")
    if zlib.crc32(sb[4:512]) != csum:
        raise SystemExit(f"{dev}: superblock checksum mismatch")
    area_bytes = (nr_blocks + 7) // 8

    def area(n):
        return read(dev, base + (AREA0_SECTOR + n * area_sectors) * 512, area_bytes)

    cur = area(current_area)
    res = {
        "version": version, "block_sectors": block_sectors,
        "nr_blocks": nr_blocks, "area_sectors": area_sectors,
        "uuid": str(uuid.UUID(bytes=uid)), "checkpoint": checkpoint,
        "frozen_checkpoint": frozen or None, "current_area": current_area,
        "sequence": sequence,
        "flags": [name for bit, name in FLAGS.items() if flags & bit],
        "current": ranges(cur, nr_blocks),
        "frozen": ranges(area(1 - current_area), nr_blocks) if frozen else [],
    }
    return res


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    res = decode(sys.argv[1])
    if len(sys.argv) == 4 and sys.argv[2] == "--blocks":
        which = ["current", "frozen"] if sys.argv[3] == "both" else [sys.argv[3]]
        blocks = set()
        for w in which:
            for first, count in res[w]:
                blocks.update(range(first, first + count))
        for b in sorted(blocks):
            print(b)
    else:
        print(json.dumps(res))


if __name__ == "__main__":
    main()
