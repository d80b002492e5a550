#!/usr/bin/env bash
# Requires: QEMU guest. Random data written through a cbt device with
# O_DIRECT reads back identical and sits at the same offset on the origin;
# what was not written stays untouched; bad tables are refused.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 64M --disk 4M

origin=/dev/vdb meta=/dev/vdc
sectors=$(blockdev --getsz $origin)
dmsetup create cbt-io --table "0 $sectors cbt $origin $meta 8"
trap 'dmsetup remove cbt-io 2>/dev/null || true' EXIT
dev=/dev/mapper/cbt-io
check "device size equals origin size" test "$(blockdev --getsz $dev)" = "$sectors"

tmp=$(mktemp -d)
# offset (sectors) and length (sectors): aligned, unaligned, crossing block
# boundaries, one sector, several MiB.
writes="0:7 7:1 13:50 4095:2 8191:16385 100000:3 131071:1"
for w in $writes; do
	off=${w%:*} len=${w#*:}
	head -c $((len * 512)) /dev/urandom >"$tmp/$off"
	dd if="$tmp/$off" of=$dev bs=512 seek="$off" oflag=direct conv=notrunc status=none
done
for w in $writes; do
	off=${w%:*} len=${w#*:}
	check "read back $len sectors at $off through cbt" \
		cmp <(dd if=$dev bs=512 skip="$off" count="$len" iflag=direct status=none) "$tmp/$off"
	check "same data at sector $off of the origin" \
		cmp <(dd if=$origin bs=512 skip="$off" count="$len" iflag=direct status=none) "$tmp/$off"
done

# A region never written is still zero on the origin.
check "unwritten region untouched" \
	cmp <(dd if=$origin bs=512 skip=40000 count=2000 iflag=direct status=none) <(head -c $((2000 * 512)) /dev/zero)

dmsetup remove cbt-io
trap - EXIT
refuse "block size not a power of two" dmsetup create bad --table "0 $sectors cbt $origin $meta 24"
refuse "block size below 4 KiB" dmsetup create bad --table "0 $sectors cbt $origin $meta 4"
refuse "block size above 1 MiB" dmsetup create bad --table "0 $sectors cbt $origin $meta 4096"
refuse "missing arguments" dmsetup create bad --table "0 $sectors cbt $origin"
refuse "origin smaller than the table" dmsetup create bad --table "0 $((sectors * 2)) cbt $origin $meta 8"
refuse "missing origin" dmsetup create bad --table "0 $sectors cbt /dev/nonexistent $meta 8"
echo "PASS"
