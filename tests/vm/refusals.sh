#!/usr/bin/env bash
# Requires: QEMU guest. Wrong tables and wrong metadata are refused, with a
# kernel log line naming the problem, and never silently reformatted; the
# explicit 'format' option does reformat. Two tables loaded at once on one
# metadata device never both claim it (with the check and the claim apart,
# as before dm-cbt 0.4, 5 of 8 such pairs both did).
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 64M --disk 4M
. "$CBT_REPO/tests/lib/cbt-guest.sh"

origin=/dev/vdb meta=/dev/vdc
S=$(blockdev --getsz $origin)

logged() { # logged TEXT: the kernel log says TEXT
	dmesg | grep -q "$1" || fail "kernel log lacks '$1'"
	echo "ok: kernel log: $1"
}

refuse "block size not a power of two" cbt_create bad $origin $meta 24
logged "Invalid block size"
refuse "block size above 1 MiB" cbt_create bad $origin $meta 4096
refuse "unknown feature" cbt_create bad $origin $meta 8 frobnicate
logged "Unknown feature argument"
refuse "origin missing" dmsetup create bad --table "0 $S cbt /dev/nonexistent $meta 8"
refuse "origin smaller than the table" dmsetup create bad --table "0 $((S * 2)) cbt $origin $meta 8"
logged "Origin device is smaller"

dmsetup create tiny --table "0 8 linear $meta 0"
refuse "metadata device too small" cbt_create bad $origin /dev/mapper/tiny 8
logged "Metadata device too small"
dmsetup remove tiny

refuse "origin used as its own metadata" cbt_create bad $origin $origin 8
logged "Origin and metadata are the same device"

# A valid metadata device, then wrong uses of it.
zero_dev $meta
check "fresh metadata formatted on first use" cbt_create good $origin $meta 8
pwrite /dev/mapper/good 100 8
dmsetup create other --table "0 65536 linear $origin 65536"
refuse "metadata shared with another cbt device" cbt_create bad /dev/mapper/other $meta 8
logged "in use by another cbt device"
dmsetup remove other
check "a reload of the same device may reopen its metadata" \
	dmsetup reload good --table "0 $S cbt $origin $meta 8"
dmsetup resume good
dmsetup remove good
sb_before=$(dd if=$meta bs=512 count=1 iflag=direct status=none | sha256sum)

refuse "metadata made with another block size" cbt_create bad $origin $meta 16
logged "Block size differs"
refuse "table smaller than the tracked volume" dmsetup create bad --table "0 $((S / 2)) cbt $origin $meta 8"
logged "shrinking is not supported"
check "refusals did not touch the metadata" \
	test "$(dd if=$meta bs=512 count=1 iflag=direct status=none | sha256sum)" = "$sb_before"

# Corrupt one byte inside the superblock (not the magic): checksum.
cp_byte=$(dd if=$meta bs=1 skip=60 count=1 status=none | od -An -tu1 | tr -d ' ')
printf "\\$(printf '%03o' $(((cp_byte + 1) % 256)))" | dd of=$meta bs=1 seek=60 conv=notrunc status=none
sync
refuse "corrupted superblock" cbt_create bad $origin $meta 8
logged "checksum mismatch"

# Foreign data: bad magic; refused, then reformatted only on request.
head -c 4096 /dev/urandom | dd of=$meta bs=4096 seek=0 oflag=direct conv=notrunc status=none
refuse "foreign data on the metadata device" cbt_create bad $origin $meta 8
logged "bad magic"
check "'format' reformats on request" cbt_create good $origin $meta 8 format
check "reformatted: nothing dirty" test "$(cbt_field good 3)" = 0
check "reformatted: state ok" test "$(cbt_field good 8)" = ok
dmsetup remove good

# Two tables loaded at the same time on one metadata device: never both
# (the in-use check and the claim are one step under one lock). Reads of
# the metadata take 300 ms (dm-delay), so that the superblock read of
# one load overlaps the other's check.
msz=$(blockdev --getsz $meta)
dmsetup create slowread --table "0 $msz delay $meta 0 300"
# Two origins as long as the one the metadata was made for.
dmsetup create oa --table "0 $S linear $origin 0"
dmsetup create ob --table "0 $S linear $origin 0"
both=0 one=0
for _ in $(seq 8); do
	dmsetup create ra --notable
	dmsetup create rb --notable
	dmsetup load ra --table "0 $S cbt /dev/mapper/oa /dev/mapper/slowread 8" 2>/dev/null &
	pa=$!
	dmsetup load rb --table "0 $S cbt /dev/mapper/ob /dev/mapper/slowread 8" 2>/dev/null &
	pb=$!
	ok=0
	wait $pa && ok=$((ok + 1))
	wait $pb && ok=$((ok + 1))
	[ $ok = 2 ] && both=$((both + 1))
	[ $ok = 1 ] && one=$((one + 1))
	dmsetup remove ra rb
done
echo "8 concurrent pairs of loads: $one with one table, $both with both"
check "two concurrent loads never both claim the metadata" test $both = 0
check "  and one of them gets it" test $one = 8
dmsetup remove oa ob slowread
echo PASS
