#!/usr/bin/python3
"""Crash-point checker for dm-cbt over one dm-log-writes log.

The log records, in completion order, every write to one device that holds
both the data region [0, DATA_SECTORS) and the metadata region (from
META_SECTOR). For each chosen crash point p (every FLUSH/FUA entry and every
superblock write, sampled down to --max-points but never below them), the
log is replayed up to p onto REPLAY, the metadata is decoded from the
documented format, and:

    every data block written by an entry after the base checkpoint's
    superblock write and up to p is in current | frozen

where the base checkpoint is the frozen one minus one when a checkpoint is
outstanding, else the last one taken. That is the crash-safety rule: a bit
is durable before the first write to its block is issued, and a checkpoint
is atomic with respect to writes. Every --load-every points the real target
is loaded over the replayed state (LOAD command) and must agree.

Prints a summary; exits 1 on any miss.
"""
import argparse
import subprocess
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import cbtmeta  # noqa: E402


def entries(replayer, log):
    out = subprocess.run([replayer, "--log", log, "--list"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    res = []
    for line in out.splitlines():
        f = line.split()
        res.append((int(f[0]), int(f[1]), int(f[2]), set(f[3].split(","))))
    return res


def decode(replay, meta_sector):
    """The metadata at META_SECTOR of REPLAY, or None before formatting."""
    magic = cbtmeta.read(replay, meta_sector * 512 + 8, 8)
    if magic != cbtmeta.MAGIC.to_bytes(8, "little"):
        return None
    return cbtmeta.decode(replay, meta_sector * 512)


def blocks_of(ranges):
    s = set()
    for first, count in ranges:
        s.update(range(first, first + count))
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--replayer", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--replay", required=True)
    ap.add_argument("--data-sectors", type=int, required=True)
    ap.add_argument("--meta-sector", type=int, required=True)
    ap.add_argument("--block-sectors", type=int, required=True)
    ap.add_argument("--max-points", type=int, default=200)
    ap.add_argument("--load-every", type=int, default=0)
    ap.add_argument("--load", help="command run with the replayed state in place; "
                    "prints the cbt status fields")
    a = ap.parse_args()

    log = entries(a.replayer, a.log)
    sb_entries = {i for i, s, n, fl in log
                  if s <= a.meta_sector < s + n and "DISCARD" not in fl}
    syncs = [i for i, s, n, fl in log if fl & {"FLUSH", "FUA"}]
    step = max(1, len(syncs) // a.max_points)
    points = sorted(set(syncs[::step]) | sb_entries | {log[-1][0]})

    base_entry = {}          # checkpoint number -> index of its sb write
    replayed = -1            # last entry replayed
    checked = loads = misses = 0
    worst = 0
    for p in points:
        subprocess.run([a.replayer, "--log", a.log, "--replay", a.replay,
                        "--start-entry", str(replayed + 1),
                        "--limit", str(p - replayed)], check=True)
        replayed = p
        md = decode(a.replay, a.meta_sector)
        if md is None:
            continue
        ckpt, frozen = md["checkpoint"], md["frozen_checkpoint"]
        if p in sb_entries and ckpt not in base_entry:
            base_entry[ckpt] = p
        if "invalid" in md["flags"]:
            checked += 1
            continue
        base = (frozen - 1) if frozen else ckpt
        if base not in base_entry:
            print(f"point {p}: checkpoint {base} never seen in the log", file=sys.stderr)
            return 1
        marked = blocks_of(md["current"]) | blocks_of(md["frozen"])
        written = set()
        for i, s, n, fl in log[base_entry[base] + 1:p + 1]:
            if "MARK" in fl or s >= a.data_sectors or n == 0:
                continue
            written.update(range(s // a.block_sectors,
                                 (s + n - 1) // a.block_sectors + 1))
        missed = written - marked
        worst = max(worst, len(written))
        checked += 1
        if missed:
            misses += 1
            print(f"MISS at entry {p}: checkpoint {ckpt} frozen {frozen}: "
                  f"{len(missed)} written blocks unmarked, e.g. {sorted(missed)[:8]}",
                  file=sys.stderr)
        if a.load and a.load_every and (checked % a.load_every == 0 or p == points[-1]):
            out = subprocess.run(a.load, shell=True, check=True, stdout=subprocess.PIPE,
                                 text=True).stdout.split()
            # block sectors, nr blocks, current dirty, checkpoint, frozen, frozen dirty
            want = [str(md["block_sectors"]), str(md["nr_blocks"]),
                    str(len(blocks_of(md["current"]))), str(ckpt),
                    str(frozen) if frozen else "-", str(len(blocks_of(md["frozen"])))]
            if "suspended" in md["flags"]:
                # Suspended without prepare_detach (the test's own removal at
                # its end): the next table may not have tracked, so a target
                # loaded over it starts a new generation with every block dirty.
                want[2] = str(md["nr_blocks"])
                if out[:3] != want[:3]:
                    print(f"LOAD at entry {p} (suspended, not announced): target says "
                          f"{out[:6]}, want every block dirty {want[:3]}", file=sys.stderr)
                    return 1
                loads += 1
                continue
            if out[:6] != want:
                print(f"LOAD at entry {p}: target says {out[:6]}, metadata says {want}",
                      file=sys.stderr)
                return 1
            loads += 1
    print(f"log entries: {len(log)}; crash points checked: {checked} "
          f"(superblock writes: {len(sb_entries)}, checkpoints seen: {len(base_entry)}); "
          f"target loads: {loads}; largest written set checked: {worst}; misses: {misses}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
