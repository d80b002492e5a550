#!/usr/bin/env bash
# Requires: QEMU guest, jq. The agent stopped by a real system shutdown
# announces the detaches to come: a boot with systemd as PID 1 (vm-run
# --systemd) tracks v (/dev/vdb, metadata /dev/vdc) with cbtship and makes
# w (/dev/vdd, metadata /dev/vde) with dmsetup alone, writes to both, runs
# `cbtship agent` as a systemd unit, then powers off the normal way
# (systemctl poweroff: the unit is stopped while systemd is "stopping",
# then systemd-shutdown removes the dm devices). At the next boot: the
# agent's log says it prepared 1 volume for detach; v's superblock says
# clean and not suspended, so the agent re-attaches it with the same
# generation and its 5 dirty blocks; w's, never announced, says clean and
# suspended: attached again, it starts a new generation.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"

if [ -z "${CBT_IN_GUEST:-}" ]; then
	vm_require_qemu
	command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }
	d=$(vm_test_tmpdir)
	trap 'rm -rf "$d"' EXIT
	mkdir "$d/state"
	vm_disk_files "$d" v:64M vmeta:8M w:32M wmeta:4M
	vm_phase --systemd --state-dir "$d/state" "${vm_disks[@]}" -- down "$d"
	echo "ok: boot 1 (systemd): tracked, written, agent running; clean poweroff"
	vm_phase --state-dir "$d/state" "${vm_disks[@]}" -- up "$d"
	echo PASS
	exit 0
fi

. "$CBT_REPO/tests/lib/cbt-guest.sh"
phase=$1 d=$2
flags() { $CBTMETA "$1" | jq -c .flags; }

case $phase in
down)
	check "systemd is PID 1" test "$(cat /proc/1/comm)" = systemd
	check "load the repository's module" insmod "$CBT_REPO/kmod/dm-cbt.ko"
	check "track v" cbtship track /dev/vdb --name v --metadata /dev/vdc
	zero_dev /dev/vde
	cbt_create w /dev/vdd /dev/vde 128
	for s in 2048 20480 40960 61440 81920; do pwrite /dev/mapper/v $s 8; done
	pwrite /dev/mapper/w 2048 8
	check "v: 5 dirty blocks" test "$(cbt_field v 3)" = 5
	cbt_field v 7 >"$d/v.gen"
	cbt_field w 7 >"$d/w.gen"
	check "the agent runs as a unit" systemd-run --quiet --unit=cbt-test-agent \
		--property=Type=notify --property=NotifyAccess=main \
		"$CBT_REPO/build/test-bin/cbtship" agent --log-file /var/lib/cbtship/agent.log
	check "  and is active" systemctl is-active --quiet cbt-test-agent
	check "v's superblock while live: neither clean nor suspended" test "$(flags /dev/vdc)" = '[]'
	;;
up)
	log=/var/lib/cbtship/agent.log
	cat $log
	check "the agent saw the shutdown and prepared v for detach" \
		grep -q "system shutdown: 1 volume(s) prepared for detach, 0 failed" $log
	check "v's superblock: clean, not suspended" test "$(flags /dev/vdc)" = '["clean"]'
	check "w's superblock (never announced): clean and suspended" \
		test "$(flags /dev/vde)" = '["clean","suspended"]'
	cbtship agent --once
	check "v re-attached: the same generation" test "$(cbt_field v 7)" = "$(cat "$d/v.gen")"
	check "  with its 5 dirty blocks" test "$(cbt_field v 3)" = 5
	cbt_create w /dev/vdd /dev/vde 128
	check "w attached again: a new generation" test "$(cbt_field w 7)" != "$(cat "$d/w.gen")"
	check "  every block dirty" test "$(cbt_field w 3)" = "$(cbt_field w 2)"
	dmsetup remove w
	;;
esac
