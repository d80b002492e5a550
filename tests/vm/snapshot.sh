#!/usr/bin/env bash
# Requires: QEMU guest, jq. Snapshots of a tracked volume: snapshot-create
# takes a view with a checkpoint that it holds; backup-create --snapshot-id
# backs the snapshot up (full, then an incremental that reads only what
# changed before the snapshot) and ships its checkpoint; a snapshot that
# holds a checkpoint refuses other snapshots and forced backups, naming
# itself; deleting a snapshot whose changes were not shipped merges them
# back (the next incremental holds them); restores equal the snapshot's
# content, not the volume's later content; a snapshot lost to a removed
# view is shown in error and its changes are not lost.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 32M --disk 16M --memory 1024 --timeout 600

command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }

export DM_DISABLE_UDEV=1
export CBTSHIP_STATE_DIR=/tmp/cbtship-state
name=sv dev=/dev/mapper/sv
tmp=$(mktemp -d)

on_exit() {
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "--- cbtship log" >&2
		tail -n 30 $CBTSHIP_STATE_DIR/log/cbtship.log >&2 || true
		dmsetup ls >&2 || true
		dmsetup status >&2 || true
	fi
	exit $rc
}
trap on_exit EXIT

field() { jq -r ".$2" "$1"; }
put() { # put OFFSET-IN-4K-BLOCKS COUNT: random data
	dd if=/dev/urandom of=$dev bs=4k seek="$1" count="$2" oflag=direct conv=notrunc status=none
}
restored_equals() { # BACKUP FILE
	local img rc
	img=$(cbtship backup-restore --wait "$1" 2>/dev/null)
	cmp "$img" "$2"
	rc=$?
	rm -f "$img"
	return $rc
}
frozen() { dmsetup status $name | awk '{print $8}'; }

dd if=/dev/urandom of=/dev/vdb bs=1M count=32 status=none
check "track /dev/vdb" cbtship track /dev/vdb --name $name --metadata /dev/vdc --block-size 64K

# ------------------------------------------------------------ snapshot, full backup
check "snapshot-create" \
	bash -c "cbtship snapshot-create --name s1 --format json $name >$tmp/s1.json"
s1=$(field $tmp/s1.json id)
dd if=$dev of=$tmp/s1.img bs=1M iflag=direct status=none
check "  available, holds its checkpoint" \
	test "$(field $tmp/s1.json status) $(field $tmp/s1.json holds_checkpoint)" = "available true"
check "  the checkpoint is outstanding on the device" \
	test "$(frozen)" = "$(field $tmp/s1.json checkpoint)"
check "  snapshot-list shows it with a valid view" \
	test "$(cbtship snapshot-list --format json | jq -r ".[] | select(.id == \"$s1\") | .view")" = valid
# Writes after the snapshot must not reach its backup.
put 0 16
refuse "a second snapshot is refused while s1 holds the checkpoint" \
	cbtship snapshot-create $name
check "  the refusal names s1" \
	bash -c "cbtship snapshot-create $name 2>&1 | grep -q 'snapshot $s1 holds checkpoint'"
refuse "a forced backup of the live volume is refused too" \
	cbtship backup-create --wait --force $name
check "full backup from the snapshot" \
	bash -c "cbtship backup-create --wait --snapshot-id $s1 --format json $name >$tmp/b1.json"
b1=$(field $tmp/b1.json id)
check "  it records the snapshot" test "$(field $tmp/b1.json snapshot_id)" = "$s1"
check "  the checkpoint was shipped (none outstanding)" test "$(frozen)" = -
check "  the snapshot no longer holds it" \
	test "$(cbtship snapshot-list --format json | jq -r ".[] | select(.id == \"$s1\") | .holds_checkpoint")" = false
check "  the restore equals the snapshot, not the later writes" restored_equals "$b1" $tmp/s1.img
check "delete the snapshot" cbtship snapshot-delete "$s1"
check "  its view is gone" bash -c "! dmsetup ls | grep -q view"

# ------------------------------------------------------------ incremental from a snapshot
put 100 8
check "second snapshot" bash -c "cbtship snapshot-create --format json $name >$tmp/s2.json"
s2=$(field $tmp/s2.json id)
dd if=$dev of=$tmp/s2.img bs=1M iflag=direct status=none
put 200 8
check "incremental from the snapshot" \
	bash -c "cbtship backup-create --wait --incremental --snapshot-id $s2 --format json $name >$tmp/b2.json"
b2=$(field $tmp/b2.json id)
# Blocks 0-15 and 100-107 (64K tracking blocks 0 and 6) changed before s2.
check "  no full read" test "$(field $tmp/b2.json full_read)" = false
check "  read only the chunks changed before the snapshot ($(field $tmp/b2.json bytes_read) bytes)" \
	test "$(field $tmp/b2.json bytes_read)" = $((2 * 65536))
check "  its parent is the first backup" test "$(field $tmp/b2.json parent_id)" = "$b1"
check "  restores to the snapshot's content" restored_equals "$b2" $tmp/s2.img
check "delete it" cbtship snapshot-delete "$s2"

# ------------------------------------------------------------ deleted without backup
check "third snapshot" bash -c "cbtship snapshot-create --format json $name >$tmp/s3.json"
s3=$(field $tmp/s3.json id)
check "deleting it unshipped merges its changes back" cbtship snapshot-delete "$s3"
check "  no checkpoint outstanding" test "$(frozen)" = -
check "forced incremental of the live volume" \
	bash -c "cbtship backup-create --wait --force --incremental --format json $name >$tmp/b3.json"
# Block 200 (chunk 12) was written after s2; it must be read now.
check "  it holds the block written while s3 held the checkpoint" \
	test "$(field $tmp/b3.json bytes_read)" = 65536
dd if=$dev of=$tmp/now.img bs=1M iflag=direct status=none
check "  and restores to the volume" restored_equals "$(field $tmp/b3.json id)" $tmp/now.img

# ------------------------------------------------------------ a lost view
check "fourth snapshot" bash -c "cbtship snapshot-create --format json $name >$tmp/s4.json"
s4=$(field $tmp/s4.json id)
put 300 1
# As after a reboot: the view is gone, its checkpoint still outstanding.
check "remove its view behind cbtship's back" cbt-view remove $name "$s4"
refuse "a backup from it fails" cbtship backup-create --wait --snapshot-id "$s4" $name
check "  the snapshot is in error" \
	test "$(cbtship snapshot-list --format json | jq -r ".[] | select(.id == \"$s4\") | .status")" = error
check "  its checkpoint was merged back" test "$(frozen)" = -
check "the next incremental" \
	bash -c "cbtship backup-create --wait --force --incremental --format json $name >$tmp/b4.json"
check "  reads block 300's chunk" test "$(field $tmp/b4.json bytes_read)" = 65536
check "snapshot-delete removes the record" cbtship snapshot-delete "$s4"
check "no snapshots left" test "$(cbtship snapshot-list --format json | jq length)" = 0
refuse "a snapshot of an untracked file is refused" cbtship snapshot-create $tmp/s1.img
refuse "an unknown snapshot id is refused" cbtship backup-create --wait --snapshot-id nope $name
check "untrack" cbtship untrack $name
