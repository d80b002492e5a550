#!/usr/bin/env bash
# Requires: QEMU guest, dm-delay. A checkpoint is atomic with respect to
# writes in flight: with writes to the origin delayed by 1.5 s, a write
# already in flight when the checkpoint is asked for completes before the
# checkpoint does (it belongs to the frozen set), and a write to an
# already-marked block that arrives while the checkpoint waits belongs to
# the new epoch: it is in current, not only in frozen.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 64M --disk 4M
. "$CBT_REPO/tests/lib/cbt-guest.sh"

S=$(blockdev --getsz /dev/vdb)
dmsetup create slow --table "0 $S delay /dev/vdb 0 0 /dev/vdb 0 1500"
cbt_create ci /dev/mapper/slow /dev/vdc 8
dev=/dev/mapper/ci

pwrite $dev 0 8          # block 0 is marked (and takes 1.5 s)
check "block 0 marked" test "$(cbtship dirty-map ci)" = "0 1"

# Whether the checkpoint waited is read off the clock, not off write A's
# process: A's write completing wakes both, and under load the writer may
# not have exited yet when the checkpoint's dmsetup has (a false failure).
# A cannot complete before 1.5 s after it started; a checkpoint that did
# not wait returns about 0.3 s after A started.
a_start=$EPOCHREALTIME
pwrite $dev 0 8 &        # A: in flight to a marked block
a=$!
sleep 0.3
dmsetup message ci 0 checkpoint >/tmp/n &
c=$!
sleep 0.3
pwrite $dev 0 8 &        # B: arrives while the checkpoint waits for A
b=$!
wait $c
waited=$(awk -v a="$a_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
awk -v w="$waited" 'BEGIN { exit !(w >= 1.4) }' ||
	fail "the checkpoint returned ${waited} s after write A started, before A (delayed 1.5 s) completed"
echo "ok: the checkpoint waited for the write in flight (returned ${waited} s after it started)"
wait $a
wait $b
n=$(cat /tmp/n)
check "frozen set $n holds block 0 (write A and before)" test "$(cbtship dirty-map ci --frozen)" = "0 1"
check "current holds block 0 (write B came after the checkpoint)" test "$(cbtship dirty-map ci)" = "0 1"
dmsetup message ci 0 commit "$n"
dmsetup remove ci slow
echo PASS
