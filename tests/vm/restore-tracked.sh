#!/usr/bin/env bash
# Requires: QEMU guest, jq. backup-restore onto the origin of a tracked
# volume never writes past dm-cbt silently: restoring an older backup
# with --force onto /dev/vdb, the origin of the tracked volume rv, writes
# through /dev/mapper/rv (the restore says so), so that the next
# incremental holds the restored blocks and restores equal to the
# volume. A device under a tracked volume that does not map it one to
# one (a linear at an offset, tracked in place) is refused without
# --force, and with --force the volume's tracking is invalidated: its
# next backup reads everything (and says why) and restores equal to it.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 64M --disk 16M --disk 96M --disk 16M --memory 1024 --timeout 900

command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }

export DM_DISABLE_UDEV=1
export CBTSHIP_STATE_DIR=/tmp/cbtship-state
on_exit() {
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "--- cbtship log" >&2
		tail -n 30 $CBTSHIP_STATE_DIR/log/cbtship.log >&2 || true
		dmsetup ls >&2 || true
		dmsetup table >&2 || true
	fi
	exit $rc
}
trap on_exit EXIT

backup() { cbtship backup-create --wait --format json "$@"; }
restored_equals() { # BACKUP DEVICE-OR-FILE
	local img rc
	img=$(cbtship backup-restore --wait "$1" 2>/dev/null)
	cmp "$img" "$2"
	rc=$?
	rm -f "$img"
	return $rc
}
scribble() { # DEVICE SEED: 64 random 4 KiB blocks spread over the first 32 MiB
	local i
	for i in $(seq 0 63); do
		dd if=/dev/urandom of="$1" bs=4k count=1 seek=$(((i * 131 + $2) % 8192)) \
			conv=notrunc oflag=direct status=none
	done
}

# ------------------------------------------------------------ the origin, one to one
dd if=/dev/urandom of=/dev/vdb bs=1M count=32 status=none
check "track /dev/vdb as rv" cbtship track /dev/vdb --name rv --metadata /dev/vdc --block-size 4K
b0=$(backup rv | jq -r .id)
dd if=/dev/mapper/rv of=/tmp/v0.img bs=1M status=none
scribble /dev/mapper/rv 1
b1=$(backup --incremental rv | jq -r .id)
check "  an incremental after writes" test -n "$b1"
check "restore the full backup onto /dev/vdb with --force" bash -c \
	"cbtship backup-restore --wait --force --volume /dev/vdb '$b0' 2>/tmp/restore.err"
cat /tmp/restore.err
check "  it wrote through the tracked device, saying so" \
	grep -q "/dev/vdb is the origin of the tracked volume rv: writing through /dev/mapper/rv" /tmp/restore.err
check "  the volume holds the full backup again" cmp /dev/mapper/rv /tmp/v0.img
check "  the dirty map holds the restored blocks" \
	test "$(dmsetup status rv | awk '{print $6}')" -gt 0
b2=$(backup --incremental rv | jq -r .id)
check "the next incremental" test -n "$b2"
check "  and restores equal to the volume" restored_equals "$b2" /dev/mapper/rv

# ------------------------------------------------------------ under it, not one to one
dd if=/dev/urandom of=/dev/vdd bs=1M count=96 status=none
dmsetup create part --table "0 65536 linear /dev/vdd 8192"
check "track the linear part (of /dev/vdd, at an offset) in place" \
	cbtship track /dev/mapper/part --metadata /dev/vde --block-size 4K
p0=$(backup part | jq -r .id)
scribble /dev/mapper/part 2
p1=$(backup --incremental part | jq -r .id)
check "  an incremental of it" test -n "$p1"
refuse "restoring over /dev/vdd without --force is refused" \
	cbtship backup-restore --wait --volume /dev/vdd "$p0"
check "  saying the volume does not map it one to one" bash -c \
	"cbtship backup-restore --wait --volume /dev/vdd '$p0' 2>&1 | grep -q 'is under the tracked volume part, which does not map it one to one'"
check "restore onto /dev/vdd with --force" bash -c \
	"cbtship backup-restore --wait --force --volume /dev/vdd '$p0' 2>/tmp/restore.err"
cat /tmp/restore.err
check "  saying the tracking is invalidated" grep -q "its tracking is invalidated" /tmp/restore.err
backup --incremental part >/tmp/p2.json
p2=$(jq -r .id /tmp/p2.json)
check "the next backup reads everything" \
	test "$(jq -r '"\(.full_read) \(.bytes_read)"' /tmp/p2.json)" = "true $((32 << 20))"
check "  and says why" grep -q "a restore wrote to /dev/vdd, under its tracking" /tmp/p2.json
check "  and restores equal to the volume" restored_equals "$p2" /dev/mapper/part
echo PASS
