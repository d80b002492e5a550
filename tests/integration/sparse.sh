#!/usr/bin/env bash
# Requires: build/bin/cbtship, jq, python3. Sparse image files: the holes
# are skipped with SEEK_DATA/SEEK_HOLE, not read. A 64 GiB sparse file
# holding a few MiB backs up in seconds (SPARSE_SIZE, SPARSE_DATA_MIB to
# measure others, e.g. SPARSE_SIZE=1T SPARSE_DATA_MIB=1536), restores
# equal (compared extent by extent: reading 64 GiB of zeros twice would
# take minutes); an incremental after holes were punched and data written
# into a hole restores equal too.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"

shipper_require_built cbtship
shipper_require_cmd jq python3 fallocate

shipper_test_start
size=${SPARSE_SIZE:-64G}
data_mib=${SPARSE_DATA_MIB:-8}
img=$tmp/sparse.img
truncate -s "$size" "$img"
bytes=$(stat -c %s "$img")
if [ "$(stat -c %b "$img")" != 0 ]; then
	echo "SKIP: $tmp's file system does not keep holes"
	exit 77
fi

# Data in runs of 2 MiB spread over the file (the last at its end).
runs=$(((data_mib + 1) / 2))
for i in $(seq 0 $((runs - 1))); do
	off=$((bytes / runs * i / 1048576))
	[ "$i" = $((runs - 1)) ] && off=$((bytes / 1048576 - 2))
	dd if=/dev/urandom of="$img" bs=1M count=2 seek="$off" conv=notrunc status=none
done
echo "image: $size, $(du -k "$img" | cut -f1) KiB allocated"

# same A B: equal content, comparing the data extents of both (holes read as zeros).
same() {
	python3 - "$1" "$2" <<'EOF'
import os, sys
def extents(fd, size):
    out, off = [], 0
    while off < size:
        try:
            d = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:
            break
        h = os.lseek(fd, d, os.SEEK_HOLE)
        out.append((d, h))
        off = h
    return out
a, b = (os.open(p, os.O_RDONLY) for p in sys.argv[1:3])
sa, sb = os.fstat(a).st_size, os.fstat(b).st_size
if sa != sb:
    sys.exit(f"sizes differ: {sa} {sb}")
ranges = sorted(extents(a, sa) + extents(b, sb))
merged = []
for s, e in ranges:
    if merged and s <= merged[-1][1]:
        merged[-1][1] = max(merged[-1][1], e)
    else:
        merged.append([s, e])
checked = 0
for s, e in merged:
    off = s
    while off < e:
        n = min(8 << 20, e - off)
        if os.pread(a, n, off) != os.pread(b, n, off):
            sys.exit(f"differ in [{off}, {off + n})")
        off += n
        checked += n
print(f"  equal ({checked} bytes of data extents compared, the rest holes in both)")
EOF
}

t0=$(date +%s%N)
check "full backup of the sparse image" \
	bash -c "command time -v cbtship backup-create --wait --format json '$img' >'$tmp/b0.json' 2>'$tmp/b0.time'"
ms=$((($(date +%s%N) - t0) / 1000000))
b0=$(jq -r .id "$tmp/b0.json")
echo "MEASURE sparse $size with $data_mib MiB: full backup $ms ms, peak RSS" \
	"$(awk -F': ' '/Maximum resident/ { print $2 }' "$tmp/b0.time") KiB," \
	"$(jq -c '{bytes_read, chunks_zero, chunks_new, bytes_stored}' "$tmp/b0.json")"
if [ "$size" = 64G ]; then
	check "  in seconds, not minutes ($ms ms)" test "$ms" -lt 30000
fi
check "  available" test "$(jq -r .status "$tmp/b0.json")" = available
# (Random data: stored a little larger than it is, object headers and all.)
check "  stored about the data, not the holes" \
	test "$(jq -r .bytes_stored "$tmp/b0.json")" -lt $(((data_mib + data_mib / 16 + 4) << 20))
t0=$(date +%s%N)
check "restore it" bash -c "cbtship backup-restore --wait '$b0' >'$tmp/r0.path'"
echo "MEASURE sparse restore $((($(date +%s%N) - t0) / 1000000)) ms"
check "  restores equal" same "$img" "$(cat "$tmp/r0.path")"
rm -f "$(cat "$tmp/r0.path")"

# An incremental (a full read: no dirty map): a run punched out, one written into a hole.
fallocate --punch-hole --offset 0 --length $((2 << 20)) "$img"
dd if=/dev/urandom of="$img" bs=1M count=1 seek=$((bytes / 1048576 / 3 + 7)) conv=notrunc status=none
check "incremental after a hole punched and data written into a hole" \
	bash -c "cbtship backup-create --wait --incremental --format json '$img' >'$tmp/b1.json'"
b1=$(jq -r .id "$tmp/b1.json")
check "restore the incremental" bash -c "cbtship backup-restore --wait '$b1' >'$tmp/r1.path'"
check "  restores equal" same "$img" "$(cat "$tmp/r1.path")"
rm -f "$(cat "$tmp/r1.path")"
check "verify both" bash -c "cbtship backup-verify '$b0' && cbtship backup-verify '$b1'"
