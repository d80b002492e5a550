#!/usr/bin/env bash
# Requires: QEMU guest, dm-flakey. When the metadata device starts failing
# writes, data I/O goes on, the state turns to error, every block is
# reported dirty (nothing under-reported), the generation changes, and
# the protocol refuses to go on until the table is reloaded.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 64M --disk 4M
. "$CBT_REPO/tests/lib/cbt-guest.sh"

origin=/dev/vdb
M=$(blockdev --getsz /dev/vdc)
dmsetup create mflaky --table "0 $M linear /dev/vdc 0"
cbt_create mf $origin /dev/mapper/mflaky 8
pwrite /dev/mapper/mf 0 8
uuid=$(cbt_field mf 7)
nr=$(cbt_field mf 2)

# From now on every write to the metadata fails.
dmsetup suspend mflaky
dmsetup reload mflaky --table "0 $M flakey /dev/vdc 0 0 3600 1 error_writes"
dmsetup resume mflaky

head -c 4096 /dev/urandom >/tmp/data
check "a first write to a new block still succeeds" pwrite /dev/mapper/mf 4000 8 /tmp/data
check "and its data is on the origin" \
	cmp <(dd if=$origin bs=4096 skip=500 count=1 iflag=direct status=none) /tmp/data
check "state is error" test "$(cbt_field mf 8)" = error
check "every block is dirty" test "$(cbt_field mf 3)" = "$nr"
check "the generation changed" test "$(cbt_field mf 7)" != "$uuid"
dmesg | grep -q "metadata I/O failed" || fail "no kernel log line about the metadata error"
refuse "checkpoint with failed metadata" dmsetup message mf 0 checkpoint
check "later writes go on" pwrite /dev/mapper/mf 9000 8
dmsetup remove mf
dmsetup remove mflaky
echo PASS
