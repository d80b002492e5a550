#!/usr/bin/env bash
# Requires: QEMU guest. The maps survive removing and re-creating the
# device, and a power-off and a new boot with the same disk files: status
# fields and both sets (current and an outstanding frozen one) come back
# exactly; the checkpoint protocol continues where it was.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"

if [ -z "${CBT_IN_GUEST:-}" ]; then
	vm_require_qemu
	d=$(vm_test_tmpdir)
	trap 'rm -rf "$d"' EXIT
	vm_disk_files "$d" origin:64M meta:4M
	vm_phase "${vm_disks[@]}" -- first "$d"
	vm_phase "${vm_disks[@]}" -- second "$d"
	echo PASS
	exit 0
fi

. "$CBT_REPO/tests/lib/cbt-guest.sh"
phase=$1 d=$2
origin=/dev/vdb meta=/dev/vdc dev=/dev/mapper/p

snapshot() { # what must survive: status minus state, and both maps
	dmsetup status p | awk '{ $NF = ""; print }'
	$CBTMETA $meta | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["current"], d["frozen"], d["checkpoint"], d["frozen_checkpoint"], d["uuid"])'
}

case $phase in
first)
	cbt_create p $origin $meta 8
	for s in 0 9 800 5000 70000 131000; do pwrite $dev $s 3; done
	check "checkpoint 1" test "$(dmsetup message p 0 checkpoint)" = 1
	for s in 9 20000 90000; do pwrite $dev $s 16; done
	snapshot >"$d/before"
	cat "$d/before"
	dmsetup remove p
	cbt_create p $origin $meta 8
	snapshot >"$d/recreated"
	check "remove and re-create keep everything" diff "$d/before" "$d/recreated"
	check "state after a clean remove is ok" test "$(cbt_field p 8)" = ok
	dmsetup remove p
	;;
second)
	cbt_create p $origin $meta 8
	snapshot >"$d/rebooted"
	check "a new boot keeps everything" diff "$d/before" "$d/rebooted"
	refuse "checkpoint while 1 is outstanding" dmsetup message p 0 checkpoint
	check "commit 1 after the reboot" dmsetup message p 0 commit 1
	check "checkpoint 2 follows" test "$(dmsetup message p 0 checkpoint)" = 2
	check "abort 2" dmsetup message p 0 abort 2
	dmsetup remove p
	;;
esac
