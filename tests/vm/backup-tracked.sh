#!/usr/bin/env bash
# Requires: QEMU guest, sqlite3, fio, jq. The shipper end to end on a tracked volume
# under load: fio writes all along (at random in the first 16 MiB); a forced full backup and several
# forced incrementals, each read from a point-in-time view whose content
# is recorded (by $CBTSHIP_VIEW_HOOK) when the backup takes it; every
# backup restored and compared byte for byte with its view; incrementals
# read only what changed; a cancelled backup (backup-delete --force) and a
# killed shipper, each followed by an incremental that still holds every
# block written; deletes in a random order, the rest re-checked.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 64M --disk 16M --memory 2048 --timeout 900

command -v fio >/dev/null || { echo "SKIP: fio not installed"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }

export DM_DISABLE_UDEV=1
export CBTSHIP_STATE_DIR=/tmp/cbtship-state
name=tv dev=/dev/mapper/tv
views=/tmp/views
mkdir -p $views
# Record each view's content as the backup takes it.
export CBTSHIP_VIEW_HOOK="dd if=\"\$1\" of=$views/\$2.img bs=1M iflag=direct status=none"

fio_pid=
on_exit() {
	local rc=$?
	[ -n "$fio_pid" ] && kill -INT "$fio_pid" 2>/dev/null && wait "$fio_pid" 2>/dev/null
	if [ $rc -ne 0 ]; then
		echo "--- kernel log" >&2
		dmesg | grep -i -E 'cbt|device-mapper|snapshot' | tail -n 30 >&2 || true
		echo "--- cbtship log" >&2
		tail -n 30 $CBTSHIP_STATE_DIR/log/cbtship.log >&2 || true
		dmsetup ls >&2 || true
	fi
	exit $rc
}
trap on_exit EXIT

start_load() {
	fio --name=load --filename=$dev --rw=randwrite --bs=4k --direct=1 --ioengine=psync \
		--size=16m --time_based --runtime=3600 --rate=512k --randrepeat=0 --eta=never \
		--output=/dev/null &
	fio_pid=$!
	# Until fio has the device open (slow to start under TCG).
	for _ in $(seq 300); do
		[ "$(dmsetup info -c --noheadings -o open $name | tr -d ' ')" -ge 1 ] && break
		sleep 0.1
	done
	sleep 1
}
stop_load() {
	kill -INT "$fio_pid" 2>/dev/null || true
	wait "$fio_pid" 2>/dev/null || true
	fio_pid=
}
backup() { # backup OUT-JSON ARGS...: a forced backup; prints nothing
	local out=$1
	shift
	cbtship backup-create --wait --force --format json "$@" $name >"$out"
}
field() { jq -r ".$2" "$1"; }
restored_equals_view() { # BACKUP-ID
	local img
	img=$(cbtship backup-restore --wait "$1" 2>/dev/null)
	cmp "$img" "$views/$1.img"
	local rc=$?
	rm -f "$img"
	return $rc
}

dd if=/dev/urandom of=/dev/vdb bs=1M count=24 status=none
check "track /dev/vdb" cbtship track /dev/vdb --name $name --metadata /dev/vdc --block-size 4K
start_load
refuse "a volume in use needs --force" cbtship backup-create --wait $name

ids=()
check "forced full backup under load" backup /tmp/b0.json
ids+=("$(field /tmp/b0.json id)")
check "  available, full read" \
	test "$(field /tmp/b0.json status) $(field /tmp/b0.json bytes_read)" = "available $((64 << 20))"
check "  the view is gone and the checkpoint committed" \
	bash -c "! dmsetup ls | grep -q view && dmsetup status $name | grep -q ' - '"

for i in 1 2 3; do
	sleep 3
	check "forced incremental $i under load" backup /tmp/b$i.json --incremental
	ids+=("$(field /tmp/b$i.json id)")
	check "  read only the changed chunks ($(field /tmp/b$i.json bytes_read) bytes)" \
		test "$(field /tmp/b$i.json bytes_read)" -le $((16 << 20))
	check "  no full read" test "$(field /tmp/b$i.json full_read)" = false
done

# A cancelled backup: its hook holds it while backup-delete --force cancels it.
CBTSHIP_VIEW_HOOK="sleep 4; $CBTSHIP_VIEW_HOOK" \
	cbtship backup-create --wait --force --incremental $name >/dev/null 2>&1 &
bpid=$!
for _ in $(seq 200); do
	cancelled=$(cbtship backup-list --format json | jq -r '.[] | select(.status == "creating") | .id')
	[ -n "$cancelled" ] && break
	sleep 0.1
done
check "a running backup is listed" test -n "$cancelled"
check "backup-delete --force cancels it" cbtship backup-delete --force "$cancelled"
refuse "  its process failed" wait $bpid
check "  it is gone" bash -c "! cbtship backup-list | grep -q $cancelled"
check "  its view is gone" bash -c "! dmsetup ls | grep -q view"
check "  no checkpoint outstanding" bash -c "dmsetup status $name | grep -q ' - '"
check "the next incremental" backup /tmp/b4.json --incremental
ids+=("$(field /tmp/b4.json id)")

# A killed shipper: the next backup recovers.
CBTSHIP_VIEW_HOOK="sleep 30" cbtship backup-create --wait --force --incremental $name >/dev/null 2>&1 &
bpid=$!
# Until its record exists and its view is taken (slow under TCG on a busy host).
for _ in $(seq 600); do
	cbtship backup-list --format json | jq -e '.[] | select(.status == "creating")' >/dev/null &&
		[ "$(dmsetup status $name | awk '{print $8}')" != - ] && break
	sleep 0.1
done
kill -9 $bpid
wait $bpid 2>/dev/null || true
killed=$(cbtship backup-list --format json | jq -r '.[] | select(.status == "creating") | .id')
check "the killed backup is a stale record" bash -c "cbtship backup-list | grep $killed | grep -q stale"
check "the next incremental recovers (view removed, checkpoint aborted)" \
	backup /tmp/b5.json --incremental
ids+=("$(field /tmp/b5.json id)")
check "  the killed record is in error" \
	test "$(cbtship backup-show --format json "$killed" | jq -r .status)" = error
check "  and deletes" cbtship backup-delete "$killed"

# What the agent records when the target reports the map invalid: the
# next incremental reads everything, says why, and settles it.
reason="dm-cbt reported the map of $name invalidated (test)"
sqlite3 "$CBTSHIP_STATE_DIR/catalog.db" \
	"UPDATE volumes SET full_read_reason = '$reason' WHERE id = '$(field /tmp/b5.json volume_id)'"
check "an incremental after a recorded invalidation" backup /tmp/b6.json --incremental
ids+=("$(field /tmp/b6.json id)")
check "  read everything" test "$(field /tmp/b6.json full_read) $(field /tmp/b6.json bytes_read)" = "true $((64 << 20))"
check "  and says why" test "$(field /tmp/b6.json full_read_reason)" = "$reason"
check "  the recorded reason is settled" test -z "$(sqlite3 "$CBTSHIP_STATE_DIR/catalog.db" \
	"SELECT full_read_reason FROM volumes WHERE id = '$(field /tmp/b6.json volume_id)'")"
check "the next incremental reads only changes again" backup /tmp/b7.json --incremental
ids+=("$(field /tmp/b7.json id)")
check "  no full read" test "$(field /tmp/b7.json full_read)" = false
stop_load

for id in "${ids[@]}"; do
	check "backup $id restores to its point-in-time view" restored_equals_view "$id"
done

check "the backups' chunks are in packs (format 2)" \
	test "$(find $CBTSHIP_STATE_DIR/backup/volumebackups/packs -type f | wc -l)" -ge 1

# Deletes in a random order; the rest still restore.
mapfile -t order < <(printf '%s\n' "${ids[@]}" | shuf)
left=("${order[@]}")
for id in "${order[@]}"; do
	check "delete $id" cbtship backup-delete "$id"
	check "  collect the container" cbtship backup-collect
	left=("${left[@]:1}")
	for other in "${left[@]}"; do
		check "  $other still restores" restored_equals_view "$other"
	done
done
# Format 2 keeps chunks in packs/; format-1 chunks would be in chunks/.
check "the container holds no chunk and no pack" \
	test "$(find $CBTSHIP_STATE_DIR/backup/volumebackups/chunks \
		$CBTSHIP_STATE_DIR/backup/volumebackups/packs -type f 2>/dev/null | wc -l)" = 0
check "untrack" cbtship untrack $name
