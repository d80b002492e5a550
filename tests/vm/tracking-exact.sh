#!/usr/bin/env bash
# Requires: QEMU guest. A known set of writes (aligned, unaligned, crossing
# block boundaries, 512 B to several MiB, discard, write-zeroes) marks
# exactly the blocks an independent model computes, at 4 KiB and 64 KiB
# blocks: on the metadata device (decoded from the documented format) and
# in the status line's dirty count. Writes to marked blocks add nothing.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 64M --disk 4M
. "$CBT_REPO/tests/lib/cbt-guest.sh"

origin=/dev/vdb meta=/dev/vdc dev=/dev/mapper/exact
tmp=$(mktemp -d)

# op sector count: w = write, d = discard, z = write zeroes
ops="w:0:1 w:7:2 w:16:8 w:255:1 w:256:1 w:1000:300 w:4095:2 w:20000:8192
w:65536:1 w:131071:1 d:40000:16 d:50001:3 z:60000:64 z:70003:5 w:100000:2048"

model() { # model BLOCK_SECTORS OPS...: the expected blocks, one per line
	/usr/bin/python3 - "$@" <<'PY'
import sys
bs = int(sys.argv[1]); blocks = set()
for op in sys.argv[2:]:
    _, s, n = op.split(":"); s, n = int(s), int(n)
    blocks.update(range(s // bs, (s + n - 1) // bs + 1))
print("\n".join(str(b) for b in sorted(blocks)))
PY
}

for bs in 8 128; do
	zero_dev $meta
	cbt_create exact $origin $meta $bs
	done_ops=()
	for op in $ops; do
		IFS=: read -r kind s n <<<"$op"
		case $kind in
		w) pwrite $dev "$s" "$n" ;;
		d) blkdiscard -o $((s * 512)) -l $((n * 512)) $dev ||
			{ echo "discard unsupported here; op $op left out"; continue; } ;;
		z) blkdiscard -z -o $((s * 512)) -l $((n * 512)) $dev ;;
		esac
		done_ops+=("$op")
	done
	model $bs "${done_ops[@]}" >"$tmp/expected"
	disk_blocks $meta >"$tmp/ondisk"
	check "bs=$bs: blocks on the metadata device equal the model ($(wc -l <"$tmp/expected") blocks)" \
		diff "$tmp/expected" "$tmp/ondisk"
	check "bs=$bs: status dirty count equals the model" \
		test "$(cbt_field exact 3)" = "$(wc -l <"$tmp/expected")"

	# Rewriting marked blocks changes nothing.
	pwrite $dev 0 1
	pwrite $dev 1000 300
	disk_blocks $meta >"$tmp/again"
	check "bs=$bs: rewrites of marked blocks add no block" diff "$tmp/expected" "$tmp/again"

	# Reads and flushes mark nothing.
	dd if=$dev of=/dev/null bs=1M count=8 skip=20 iflag=direct status=none
	sync $dev
	check "bs=$bs: reads and flushes mark nothing" \
		test "$(cbt_field exact 3)" = "$(wc -l <"$tmp/expected")"
	dmsetup remove exact
done
echo PASS
