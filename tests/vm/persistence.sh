#!/usr/bin/env bash
# Requires: QEMU guest. The maps survive removing and re-creating the
# device after prepare_detach, a reload with a cbt table on the same
# metadata (as a resize), a suspend and resume, and a power-off and a new
# boot with the same disk files: status fields and both sets (current and
# an outstanding frozen one) come back exactly; the checkpoint protocol
# continues where it was. A detach nobody announced (a remove without
# prepare_detach, another table loaded over ours as LVM's after lvextend,
# a prepare_detach that a resume cancelled) makes the next attach start a
# new generation with every block dirty, and says so in the kernel log.
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
	check "prepare_detach" dmsetup message p 0 prepare_detach
	dmsetup remove p
	check "the superblock after an announced remove: clean, not suspended" \
		test "$($CBTMETA $meta | jq -c .flags)" = '["clean"]'
	cbt_create p $origin $meta 8
	snapshot >"$d/recreated"
	check "remove after prepare_detach and re-create keep everything" diff "$d/before" "$d/recreated"
	check "state after a clean remove is ok" test "$(cbt_field p 8)" = ok
	dmsetup reload p --table "$(dmsetup table p)"
	dmsetup resume p
	snapshot >"$d/reloaded"
	check "a cbt table on the same metadata taking over keeps everything" \
		diff "$d/before" "$d/reloaded"
	dmsetup suspend p
	check "the superblock while suspended: clean and suspended" \
		test "$($CBTMETA $meta | jq -c .flags)" = '["clean","suspended"]'
	dmsetup resume p
	snapshot >"$d/resumed"
	check "suspend and resume keep everything" diff "$d/before" "$d/resumed"
	check "  and the superblock says neither clean nor suspended again" \
		test "$($CBTMETA $meta | jq -c .flags)" = '[]'
	dmsetup message p 0 prepare_detach
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
	sectors=$(blockdev --getsz $origin)

	# lost_after WHAT: p was detached without an announcement: re-created,
	# it has a new generation, every block dirty, state invalid; the log
	# says why. Then everything is shipped again (checkpoint and commit).
	lost_after() {
		local gen=$1 what=$2 cp
		dmesg -C
		cbt_create p $origin $meta 8
		check "$what: a new generation" test "$(cbt_field p 7)" != "$gen"
		check "$what: every block dirty" test "$(cbt_field p 3)" = "$(cbt_field p 2)"
		check "$what: state invalid" test "$(cbt_field p 8)" = invalid
		check "$what: the kernel log says why" grep -q \
			"suspended and replaced or removed without prepare_detach" <(dmesg)
		cp=$(dmsetup message p 0 checkpoint)
		dmsetup message p 0 commit "$cp"
	}
	gen=$(cbt_field p 7)
	# Another table loaded over ours (LVM's own after lvextend), written.
	dmsetup reload p --table "0 $sectors linear $origin 0"
	dmsetup resume p
	pwrite $dev 40000 8
	dmsetup remove p
	check "the superblock after the foreign table: clean and suspended" \
		test "$($CBTMETA $meta | jq -c .flags)" = '["clean","suspended"]'
	lost_after "$gen" "another table over ours"
	gen=$(cbt_field p 7)
	dmsetup remove p
	lost_after "$gen" "a remove without prepare_detach"
	gen=$(cbt_field p 7)
	dmsetup message p 0 prepare_detach
	dmsetup suspend p
	dmsetup resume p
	dmsetup remove p
	lost_after "$gen" "a prepare_detach that a resume cancelled"
	dmsetup remove p
	;;
esac
