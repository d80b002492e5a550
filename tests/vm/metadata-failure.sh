#!/usr/bin/env bash
# Requires: QEMU guest, dm-flakey. Metadata I/O errors never lose a bit:
# (1) when nothing can be written to the metadata, the state turns to
# error and every block is reported dirty; writes to marked blocks go on,
# a write to an unmarked block fails loudly (it could not be tracked);
# after the device works again and the table is reloaded, the map is
# still a superset of every write that reached the origin.
# (2) when only the bitmap areas fail, the loss of history is recorded in
# the superblock, writes go on, and a reload comes back 'invalid' with
# the new generation and everything dirty.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 64M --disk 4M
. "$CBT_REPO/tests/lib/cbt-guest.sh"

origin=/dev/vdb dev=/dev/mapper/mf
S=$(blockdev --getsz $origin)
M=$(blockdev --getsz /dev/vdc)
reload() { # reload DEV TABLE: replace a live device's table
	dmsetup suspend "$1"
	dmsetup reload "$1" --table "$2"
	dmsetup resume "$1"
}
cbt_table="0 $S cbt $origin /dev/mapper/mflaky 8"

echo "== 1: the whole metadata device fails writes"
dmsetup create mflaky --table "0 $M linear /dev/vdc 0"
dmsetup create mf --table "$cbt_table"
pwrite $dev 0 8
uuid=$(cbt_field mf 7)
nr=$(cbt_field mf 2)
reload mflaky "0 $M flakey /dev/vdc 0 0 3600 1 error_writes"

head -c 4096 /dev/urandom >/tmp/data
refuse "a write to an unmarked block fails (it cannot be tracked)" pwrite $dev 4000 8 /tmp/data
check "state is error" test "$(cbt_field mf 8)" = error
check "every block is reported dirty" test "$(cbt_field mf 3)" = "$nr"
check "the generation changed" test "$(cbt_field mf 7)" != "$uuid"
check "the dirty map lists every block" \
	test "$(cbtship dirty-map mf)" = "0 $nr"
dmesg | grep -q "metadata I/O failed" || fail "no kernel log line about the metadata error"
check "a write to a marked block still succeeds" pwrite $dev 0 8 /tmp/data
check "and its data is on the origin" \
	cmp <(dd if=$origin bs=4096 count=1 iflag=direct status=none) /tmp/data
refuse "checkpoint with failed metadata" dmsetup message mf 0 checkpoint

reload mflaky "0 $M linear /dev/vdc 0"
reload mf "$cbt_table"
check "after repair and reload: state ok (the loss was never recorded)" test "$(cbt_field mf 8)" = ok
check "the old generation is still valid: no write escaped tracking" test "$(cbt_field mf 7)" = "$uuid"
check "block 0 (written before and during the failure) is dirty" \
	test "$(cbtship dirty-map mf)" = "0 1"
dmsetup remove mf
dmsetup remove mflaky

echo "== 2: only the bitmap areas fail"
zero_dev /dev/vdc
dmsetup create mflaky --table "0 $M linear /dev/vdc 0"
dmsetup create mf --table "$cbt_table"
pwrite $dev 0 8
uuid=$(cbt_field mf 7)
printf '0 8 linear /dev/vdc 0\n8 %s flakey /dev/vdc 8 0 3600 1 error_writes\n' $((M - 8)) >/tmp/t
dmsetup suspend mflaky && dmsetup reload mflaky /tmp/t && dmsetup resume mflaky
check "a write to an unmarked block succeeds (the loss is recorded)" pwrite $dev 4000 8 /tmp/data
check "state is error" test "$(cbt_field mf 8)" = error
new_uuid=$(cbt_field mf 7)
check "the generation changed" test "$new_uuid" != "$uuid"
reload mflaky "0 $M linear /dev/vdc 0"
reload mf "$cbt_table"
check "after reload: state invalid" test "$(cbt_field mf 8)" = invalid
check "after reload: the new generation" test "$(cbt_field mf 7)" = "$new_uuid"
check "after reload: every block dirty" test "$(cbtship dirty-map mf)" = "0 $nr"
n=$(dmsetup message mf 0 checkpoint)
check "a checkpoint clears invalid (the frozen set holds everything)" test "$(cbt_field mf 8)" = ok
dmsetup message mf 0 commit "$n"
dmsetup remove mf
dmsetup remove mflaky
echo PASS
