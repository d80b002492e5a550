#!/usr/bin/env bash
# Requires: QEMU guest. Reloading with a larger table keeps the map and
# marks the new blocks dirty, durably, and the old last block too (it may
# have been partial: the metadata does not record the length in sectors).
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 64M --disk 4M
. "$CBT_REPO/tests/lib/cbt-guest.sh"

meta=/dev/vdc
dmsetup create small --table "0 65536 linear /dev/vdb 0"
dmsetup create rs --table "0 65536 cbt /dev/mapper/small $meta 8"
pwrite /dev/mapper/rs 80 8
check "one block dirty before resize" test "$(cbt_field rs 3)" = 1

# Grow the origin, then the cbt table, under suspend.
dmsetup suspend rs
dmsetup reload small --table "0 131072 linear /dev/vdb 0"
dmsetup resume small
dmsetup reload rs --table "0 131072 cbt /dev/mapper/small $meta 8"
dmsetup resume rs
check "nr_blocks grew to 16384" test "$(cbt_field rs 2)" = 16384
check "old block kept, old last block and 8192 new blocks dirty" test "$(cbt_field rs 3)" = 8194
disk_blocks $meta >/tmp/blocks
check "on disk: block 10 and 8191..16383" \
	cmp /tmp/blocks <({ echo 10; seq 8191 16383; })
dmsetup remove rs
dmsetup remove small
echo PASS
