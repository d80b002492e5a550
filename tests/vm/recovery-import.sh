#!/usr/bin/env bash
# Requires: QEMU guest, jq, base64. An imported backup record never makes
# the recovery of a tracked volume commit a checkpoint nobody shipped: a
# backup is killed after taking checkpoint 2 (its frozen map holds the
# writes since the full backup); a crafted record (someone who can write
# the container) claiming that generation and checkpoint 2 is imported;
# the next incremental's recovery still aborts the checkpoint (the frozen
# changes go back into the map, none is lost) and that incremental
# restores equal to the volume.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 64M --disk 16M --memory 1024 --timeout 900

command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }

export DM_DISABLE_UDEV=1
export CBTSHIP_STATE_DIR=/tmp/cbtship-state
manifests=$CBTSHIP_STATE_DIR/backup/volumebackups/manifests
on_exit() {
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "--- cbtship log" >&2
		tail -n 30 $CBTSHIP_STATE_DIR/log/cbtship.log >&2 || true
		dmsetup status >&2 || true
	fi
	exit $rc
}
trap on_exit EXIT
status_field() { dmsetup status iv | awk -v f="$1" '{print $f}'; }

dd if=/dev/urandom of=/dev/vdb bs=1M count=32 status=none
check "track /dev/vdb as iv" cbtship track /dev/vdb --name iv --metadata /dev/vdc --block-size 4K
b0=$(cbtship backup-create --wait --format json iv | jq -r .id)
check "a full backup" test -n "$b0"
for i in $(seq 0 31); do
	dd if=/dev/urandom of=/dev/mapper/iv bs=4k count=1 seek=$((i * 97)) conv=notrunc oflag=direct status=none
done

CBTSHIP_VIEW_HOOK="sleep 60" cbtship backup-create --wait --incremental iv >/dev/null 2>&1 &
bpid=$!
for _ in $(seq 600); do [ "$(status_field 8)" != - ] && break; sleep 0.1; done
kill -9 $bpid
wait $bpid 2>/dev/null || true
frozen=$(status_field 8) generation=$(status_field 10)
check "a backup killed with checkpoint $frozen outstanding" test "$frozen" = 2
check "  its frozen map holds the writes" test "$(status_field 9)" -gt 0

# A record of b0's data claiming generation G, checkpoint 2, dated before b0.
id=$(cat /proc/sys/kernel/random/uuid)
jq --arg id "$id" --arg g "$generation" '.backup_id = $id | .tracking.generation = $g |
	.tracking.checkpoint = 2 | .created_at = "2000-01-01T00:00:00.000000Z" |
	.data_timestamp = "2000-01-01T00:00:00.000000Z" | .finished_at = "2000-01-01T00:00:01.000000Z"' \
	"$manifests/$b0.json" >"$manifests/$id.json"
url=$(cbtship backup-export --format json "$b0" | jq -r .backup_url)
rec=$(base64 -d <<<"$url" | jq -c --slurpfile m "$manifests/$id.json" '.manifest = $m[0]' | base64 -w0)
check "the crafted record imports (the container holds its manifest)" cbtship backup-import posix "$rec"

cbtship backup-create --wait --incremental --format json iv >/tmp/b2.json
b2=$(jq -r .id /tmp/b2.json)
check "the next incremental" test -n "$b2"
check "  based on the full backup, not on the crafted record" test "$(jq -r .parent_id /tmp/b2.json)" = "$b0"
img=$(cbtship backup-restore --wait "$b2" 2>/dev/null)
check "  it restores equal to the volume" cmp "$img" /dev/mapper/iv
check "  the recovery aborted checkpoint 2 (nobody shipped it)" \
	grep -q "aborted the outstanding checkpoint 2" $CBTSHIP_STATE_DIR/log/cbtship.log
echo PASS
