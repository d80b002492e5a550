#!/usr/bin/env bash
# Requires: QEMU guest, lvm2, jq. Tracking removed behind cbtship's back,
# with real LVM: an LV tracked in place (its own dm name holds the cbt
# table), then `lvextend`, which reloads LVM's own table over ours. The
# agent, running, notices that the volume lost its cbt layer and records
# it as the volume's full_read_reason; blocks written while untracked
# (old and new extents); tracked again, the target starts a new generation
# (the kernel log says why), the next incremental reads everything, and
# its restore equals the volume. Without the SUSPENDED flag the re-attach
# carries the old history on and the incremental misses those writes.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 160M --memory 1024
. "$CBT_REPO/tests/lib/cbt-guest.sh"

command -v lvcreate >/dev/null || { echo "SKIP: lvm2 not installed (scripts/setup)"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }

export DM_DISABLE_UDEV=1 LVM_SUPPRESS_FD_WARNINGS=1
export CBTSHIP_STATE_DIR=/tmp/cbtship-state
# The agent is stopped below, not by a shutdown: it must not announce.
export CBTSHIP_AGENT_SHUTDOWN=0
export CBTSHIP_CONFIG=/tmp/cbtship.conf
printf '[cbtship]\nreport_interval = 1\n' >$CBTSHIP_CONFIG
# No udev in the guest; LVM sees only the test disk.
lvmconf='activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
devices { obtain_device_list_from_udev = 0 filter = [ "a|^/dev/vdb$|", "r|.*|" ] }'
lv() { "$@" --config "$lvmconf"; }
name=vg0-lv dev=/dev/mapper/vg0-lv

agent_pid=
on_exit() {
	local rc=$?
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	if [ $rc -ne 0 ]; then
		echo "--- kernel log" >&2
		dmesg | grep -i -E 'cbt|device-mapper' | tail -n 30 >&2 || true
		echo "--- agent log" >&2
		cat /tmp/agent.log >&2 2>/dev/null || true
		dmsetup table >&2 || true
	fi
	exit $rc
}
trap on_exit EXIT

vfield() { cbtship volume-list --format json | jq -r ".[] | select(.name == \"$name\") | .$1"; }
restored_equals() { # BACKUP-JSON: its backup, restored, equals the volume
	local img rc
	img=$(cbtship backup-restore --wait "$(jq -r .id "$1")" 2>/dev/null)
	cmp "$img" $dev
	rc=$?
	rm -f "$img"
	return $rc
}

lv pvcreate -q /dev/vdb >/dev/null
lv vgcreate -q vg0 /dev/vdb >/dev/null
lv lvcreate -q -y -L 64M -n lv vg0 >/dev/null
check "the LV is a dm device: $name (linear)" test "$(dmsetup table $name | awk '{ print $3 }')" = linear
dd if=/dev/urandom of=$dev bs=1M count=64 oflag=direct status=none

check "track the LV in place" cbtship track $dev
check "  its own dm name holds the cbt table" test "$(dmsetup table $name | awk '{ print $3 }')" = cbt
gen0=$(cbt_field $name 7)
cbtship backup-create --wait --format json $name >/tmp/full.json
check "full backup" test "$(jq -r .status /tmp/full.json)" = available
pwrite $dev 2048 8
cbtship backup-create --wait --incremental --format json $name >/tmp/inc1.json
check "an incremental while tracked reads one block" \
	test "$(jq -r .full_read /tmp/inc1.json) $(jq -r .bytes_read /tmp/inc1.json)" = "false 65536"

cbtship agent --log-file /tmp/agent.log &
agent_pid=$!
for _ in $(seq 100); do grep -q "already tracked" /tmp/agent.log 2>/dev/null && break; sleep 0.2; done
check "the agent is running and found the volume tracked" grep -q "$name: already tracked" /tmp/agent.log

# LVM reloads its own table over ours: the cbt layer is gone.
lv lvextend -q -L +16M vg0/lv >/dev/null
check "after lvextend the LV's table is LVM's again (linear), 80 MiB" \
	test "$(dmsetup table $name | awk '{ print $3 }') $(blockdev --getsize64 $dev)" = "linear $((80 << 20))"
# Written while nobody tracks: an old extent and the new one.
for s in 4096 40960 $((70 << 11)); do pwrite $dev $s 8; done
for _ in $(seq 100); do [ "$(vfield full_read_reason)" != null ] && break; sleep 0.2; done
reason=$(vfield full_read_reason)
echo "full_read_reason: $reason"
check "the agent recorded that the volume lost its cbt layer" \
	grep -q "lost its cbt layer" <<<"$reason"
kill "$agent_pid"
wait "$agent_pid" || true
agent_pid=
check "  and the agent, stopped outside a shutdown, prepared no detach" \
	bash -c "! grep -q 'prepared for detach' /tmp/agent.log"

dmesg -C
check "track it again" cbtship track $dev
check "  a new generation" test "$(cbt_field $name 7)" != "$gen0"
check "  every block dirty (state $(cbt_field $name 8))" \
	test "$(cbt_field $name 3)" = "$(cbt_field $name 2)"
check "  the kernel log says why" grep -q "without prepare_detach" <(dmesg)

cbtship backup-create --wait --incremental --format json $name >/tmp/inc2.json
check "the next incremental reads everything ($(jq -r .bytes_read /tmp/inc2.json) bytes)" \
	test "$(jq -r .full_read /tmp/inc2.json) $(jq -r .bytes_read /tmp/inc2.json)" = "true $((80 << 20))"
check "  restored, it equals the volume" restored_equals /tmp/inc2.json

# cbtship's own detach keeps the history: untrack --keep-history, track.
pwrite $dev 8192 8
gen1=$(cbt_field $name 7)
check "untrack --keep-history" cbtship untrack --keep-history $name
check "track again" cbtship track $dev
check "  the same generation, one block dirty" \
	test "$(cbt_field $name 7) $(cbt_field $name 3)" = "$gen1 1"
cbtship backup-create --wait --incremental --format json $name >/tmp/inc3.json
check "  an incremental reads that block only, restores equal" \
	test "$(jq -r .full_read /tmp/inc3.json) $(jq -r .bytes_read /tmp/inc3.json)" = "false 65536"
check "  restored, it equals the volume" restored_equals /tmp/inc3.json
check "untrack" cbtship untrack $name
lv vgchange -q -an vg0 >/dev/null
echo PASS
