#!/usr/bin/env bash
# Requires: QEMU guest, jq, sqlite3. The host agent across reboots: two
# volumes tracked with `cbtship track` (recorded in the catalog, kept with
# the metadata and backups in a --state-dir that outlives each boot) come
# back with `cbtship agent --once` after a clean shutdown and after a hard
# reset, with the dirty maps from before: an incremental then holds every
# block written before the reboot (restored, it equals the volume). The
# agent as a daemon: log, heartbeat row, an invalidation recorded as the
# volume's full_read_reason, exit 0 on SIGTERM. An origin replaced by a
# disk of another size, then a missing one, is refused (exit 1, status
# error in volume-list) while the other volume is re-attached; untrack
# keeps the record, marked untracked.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"

if [ -z "${CBT_IN_GUEST:-}" ]; then
	vm_require_qemu
	command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }
	command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 not installed"; exit 77; }
	d=$(vm_test_tmpdir)
	trap 'rm -rf "$d"' EXIT
	mkdir "$d/state"
	vm_disk_files "$d" a:64M b:64M
	both=("${vm_disks[@]}")
	vm_phase --state-dir "$d/state" "${both[@]}" -- first "$d"
	echo "ok: phase 1: tracked, backed up, written, clean shutdown"
	set +e
	vm_phase --state-dir "$d/state" "${both[@]}" -- second "$d"
	rc=$?
	set -e
	[ $rc = 250 ] || { echo "FAIL: phase 2: expected the guest to die (250), got $rc"; exit 1; }
	echo "ok: phase 2: re-attached, incremental, daemon; guest killed"
	vm_phase --state-dir "$d/state" "${both[@]}" -- third "$d"
	echo "ok: phase 3: re-attached after the reset, incrementals restore equal"
	vm_disk_files "$d" other:32M
	vm_phase --state-dir "$d/state" --disk-file "$d/a.img" --disk-file "$d/other.img" -- replaced "$d"
	echo "ok: phase 4: a replaced origin is refused"
	vm_phase --state-dir "$d/state" --disk-file "$d/a.img" -- missing "$d"
	echo "ok: phase 5: a missing origin is refused; untrack keeps the record"
	echo PASS
	exit 0
fi

. "$CBT_REPO/tests/lib/cbt-guest.sh"
phase=$1 d=$2
catalog=/var/lib/cbtship/catalog.db
bs=65536

on_exit() {
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "--- agent log" >&2
		cat /tmp/agent.log >&2 2>/dev/null || true
		echo "--- cbtship log" >&2
		tail -n 30 /var/lib/cbtship/log/cbtship.log >&2 2>/dev/null || true
		dmesg | grep -i -E 'cbt|device-mapper' | tail -n 20 >&2 || true
		dmsetup ls >&2 || true
	fi
	exit $rc
}
trap on_exit EXIT

sql() { sqlite3 -cmd '.timeout 10000' "$catalog" "$1"; }
dirty() { cbtship volume-list --format json | jq -r ".[] | select(.name == \"$1\") | .dirty_blocks"; }
vstatus() { cbtship volume-list --format json | jq -r ".[] | select(.name == \"$1\") | .status"; }
# write_blocks VOLUME SECTOR...: 4 KiB of random data at each sector.
write_blocks() {
	local vol=$1 s
	shift
	for s in "$@"; do pwrite /dev/mapper/"$vol" "$s" 8; done
}
# incremental VOLUME: an incremental backup; its JSON in /tmp/VOLUME.json
incremental() {
	cbtship backup-create --wait --incremental --format json "$1" >/tmp/"$1".json
	test "$(jq -r .status /tmp/"$1".json)" = available
}
# restored_equals VOLUME: the backup of /tmp/VOLUME.json, restored, equals the volume.
restored_equals() {
	local img rc
	img=$(cbtship backup-restore --wait "$(jq -r .id /tmp/"$1".json)" 2>/dev/null)
	cmp "$img" /dev/mapper/"$1"
	rc=$?
	rm -f "$img"
	return $rc
}
agent_once() { # agent_once: run it as the boot would; its status in $agent_rc
	set +e
	cbtship agent --once >/tmp/agent.out 2>&1
	agent_rc=$?
	set -e
	cat /tmp/agent.out
}

case $phase in
first)
	check "track va over /dev/vdb" cbtship track /dev/vdb --name va
	check "track vb over /dev/vdc" cbtship track /dev/vdc --name vb
	check "the catalog records va: tracked, origin, metadata, identity" test \
		"$(sql "SELECT tracked, origin_path, metadata_path, block_size, origin_identity FROM volumes WHERE name = 'va'")" \
		= "1|/dev/vdb|/var/lib/cbtship/metadata/va.meta|$bs|size=67108864"
	dd if=/dev/urandom of=/dev/mapper/va bs=1M count=16 oflag=direct status=none
	dd if=/dev/urandom of=/dev/mapper/vb bs=1M count=8 oflag=direct status=none
	check "full backup of va" cbtship backup-create --wait va
	check "full backup of vb" cbtship backup-create --wait vb
	check "no dirty block left after the full backups" test "$(dirty va) $(dirty vb)" = "0 0"
	# 5 blocks of va (one write spans blocks 699 and 700), 2 of vb.
	write_blocks va 6144 20480 81920 $((700 * 128 - 4))
	write_blocks vb 2048 100000
	check "dirty before the reboot: va 5, vb 2" test "$(dirty va) $(dirty vb)" = "5 2"
	;;
second)
	agent_once
	check "agent --once: exit 0" test "$agent_rc" = 0
	check "agent says both were re-attached" grep -q "volumes: 2 re-attached, 0 already tracked, 0 refused" /tmp/agent.out
	check "va and vb tracked again with the dirty counts from before" test "$(dirty va) $(dirty vb)" = "5 2"
	agent_once
	check "a second agent --once leaves them: already tracked" grep -q "va: already tracked" /tmp/agent.out
	check "incremental of va after the reboot" incremental va
	check "  it read exactly the 5 dirty blocks" test "$(jq -r .bytes_read /tmp/va.json)" = $((5 * bs))
	check "  restored, it equals va" restored_equals va
	check "incremental of vb after the reboot" incremental vb
	check "  it read exactly the 2 dirty blocks" test "$(jq -r .bytes_read /tmp/vb.json)" = $((2 * bs))
	check "  restored, it equals vb" restored_equals vb

	# The daemon: log, heartbeat, events, SIGTERM.
	cbtship agent --log-file /tmp/agent.log &
	pid=$!
	for _ in $(seq 100); do
		[ "$(sql "SELECT pid FROM workers WHERE binary = 'cbtship-backup'")" = "$pid" ] && break
		sleep 0.2
	done
	check "the daemon's heartbeat row (workers, pid $pid)" \
		test "$(sql "SELECT pid FROM workers WHERE binary = 'cbtship-backup'")" = "$pid"
	check "its log: va already tracked" grep -q "va: already tracked" /tmp/agent.log
	check "its log: vb already tracked" grep -q "vb: already tracked" /tmp/agent.log
	check "its log lines are timestamped" grep -q -E '^20[0-9-]{8}T[0-9:.]{15}Z cbtship-agent' /tmp/agent.log
	check "no full-read reason on vb yet" test -z "$(sql "SELECT full_read_reason FROM volumes WHERE name = 'vb'")"
	dmsetup message vb 0 invalidate
	for _ in $(seq 100); do
		[ -n "$(sql "SELECT full_read_reason FROM volumes WHERE name = 'vb'")" ] && break
		sleep 0.2
	done
	reason=$(sql "SELECT full_read_reason FROM volumes WHERE name = 'vb'")
	echo "vb: full_read_reason: $reason"
	check "an invalidation event sets vb's full_read_reason" grep -q "invalidated" <<<"$reason"
	check "  and the log says so" grep -q "vb: dm-cbt reported" /tmp/agent.log
	check "  va has none" test -z "$(sql "SELECT full_read_reason FROM volumes WHERE name = 'va'")"
	kill -HUP "$pid"
	sleep 0.5
	check "SIGHUP: the log is reopened" grep -q "log reopened" /tmp/agent.log
	kill -TERM "$pid"
	set +e
	wait "$pid"
	rc=$?
	set -e
	check "SIGTERM: the daemon exits 0" test "$rc" = 0
	cp /tmp/agent.log "$d/agent.log"

	# Written before the hard reset: must be in phase 3's incremental.
	write_blocks va 115200 200 $((1000 * 128))
	write_blocks vb 640 $((900 * 128))
	echo "dirty before the reset: va $(dirty va), vb $(dirty vb)"
	echo "$(dirty va) $(dirty vb)" >"$d/dirty-before-reset"
	echo b >/proc/sysrq-trigger
	sleep 30
	echo "the guest survived the reset" >&2
	exit 1
	;;
third)
	agent_once
	check "agent --once after the reset: exit 0" test "$agent_rc" = 0
	read -r da db <"$d/dirty-before-reset"
	check "va keeps its $da dirty blocks" test "$(dirty va)" = "$da"
	check "vb keeps at least its $db dirty blocks" test "$(dirty vb)" -ge "$db"
	check "incremental of va after the reset" incremental va
	check "  restored, it equals va" restored_equals va
	check "incremental of vb after the reset" incremental vb
	check "  restored, it equals vb" restored_equals vb
	;;
replaced)
	agent_once
	check "agent --once refuses a replaced origin: exit 1" test "$agent_rc" = 1
	check "  naming both identities" grep -q \
		'vb: not re-attached: origin /dev/vdc is not the device that was tracked: its identity is now "size=33554432", recorded "size=67108864"' \
		/tmp/agent.out
	check "  va is re-attached" grep -q "va: re-attached over /dev/vdb" /tmp/agent.out
	refuse "no device vb" dmsetup info vb
	cbtship volume-list | tee /tmp/list
	check "volume-list: vb absent, status error" grep -E -q '^vb +/dev/vdc +64 MiB +64 KiB +- +- +- +absent +error' /tmp/list
	check "volume-list: va ok" grep -E -q '^va +/dev/vdb .* ok +ok$' /tmp/list
	check "volume-list json: vb status error" test "$(vstatus vb)" = error
	check "volume-list json: va status ok" test "$(vstatus va)" = ok
	;;
missing)
	agent_once
	check "agent --once refuses a missing origin: exit 1" test "$agent_rc" = 1
	check "  saying so" grep -q "vb: not re-attached: origin /dev/vdc is missing" /tmp/agent.out
	check "  va is re-attached" grep -q "va: re-attached over /dev/vdb" /tmp/agent.out
	check "status_reason of vb" test "$(sql "SELECT status, status_reason FROM volumes WHERE name = 'vb'")" = "error|origin /dev/vdc is missing"
	check "untrack va" cbtship untrack va
	check "  its record stays, untracked" test "$(sql "SELECT tracked FROM volumes WHERE name = 'va'")" = 0
	agent_once
	check "  the agent no longer re-attaches it" grep -q "volumes: 0 re-attached, 0 already tracked, 1 refused" /tmp/agent.out
	refuse "  no device va" dmsetup info va
	;;
esac
