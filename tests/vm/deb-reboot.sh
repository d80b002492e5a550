#!/usr/bin/env bash
# Requires: QEMU guest, dkms, scdoc, dpkg-dev, jq. The Debian packages of
# `make deb` installed in a clean guest booted with systemd as PID 1, then
# a clean reboot and a hard reset: after each, the packaged unit
# cbtship-agent.service (started at boot by systemd, through the
# multi-user.target.wants link the package's postinst made) has re-attached
# the tracked volume before anything else ran, with its dirty map, and the
# backup chain goes on (full, incremental, incremental: each one's parent
# the previous, each restoring equal to the volume).
#
# Three boots of the same guest root (vm-run --root-disk: what dpkg -i
# installs, DKMS's module, /var/lib/cbtship and /var/log/cbtship persist)
# and the same 96 MiB data disk (/dev/vdb), all with vm-run --systemd:
#   install  dkms ldtarball (module prebuilt on the host, as in
#            deb-install.sh) and dpkg -i; the postinst starts the agent
#            under the running systemd; track /dev/vdb (default metadata
#            under /var/lib/cbtship), full backup, 5 blocks written; clean
#            poweroff (systemctl poweroff)
#   clean    the agent was active before the command ran and logged the
#            re-attach with the 5 dirty blocks; an incremental reads exactly
#            them and restores equal; service-list says up; 4 more blocks
#            written, then a hard reset (sysrq b) while a writer runs
#   reset    the agent re-attached again; the incremental has the blocks
#            written before the reset (it restores equal to the volume:
#            also those of the writer that reached the disk), its parent
#            is the previous one
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/deb-test.sh"

if [ -z "${CBT_IN_GUEST:-}" ]; then
	vm_require_qemu
	command -v jq >/dev/null || { echo "SKIP: jq is not installed (scripts/setup)"; exit 77; }
	command -v mkfs.ext4 >/dev/null || { echo "SKIP: mkfs.ext4 is not installed (scripts/setup)"; exit 77; }
	d=$(vm_test_tmpdir)
	trap 'rm -rf "$d"' EXIT
	deb_test_build "$d"
	cd "$CBT_REPO"
	# The guest's root: formatted by vm-run at the first boot.
	truncate -s 1G "$d/root.img"
	# 96 MiB: not the size of vm-run's 64 MiB scratch disk vda.
	vm_disk_files "$d" data:96M
	opts=(--systemd --root-disk "$d/root.img" "${vm_disks[@]}" --timeout 1200 --memory 1536)
	t0=$SECONDS
	vm_phase "${opts[@]}" -- install "$d"
	echo "ok: boot 1 ($((SECONDS - t0)) s): installed, tracked, full backup, written, clean poweroff"
	t0=$SECONDS
	set +e
	vm_phase "${opts[@]}" -- clean "$d"
	rc=$?
	set -e
	[ $rc = 250 ] || fail "boot 2: expected the guest to be reset (250), got $rc"
	echo "ok: boot 2 ($((SECONDS - t0)) s): re-attached by the unit, incremental restored; guest reset"
	t0=$SECONDS
	vm_phase "${opts[@]}" -- reset "$d"
	echo "ok: boot 3 ($((SECONDS - t0)) s): re-attached after the reset, the chain continues"
	echo PASS
	exit 0
fi

. "$CBT_REPO/tests/lib/cbt-guest.sh"
phase=$1 d=$2
cbtship=/usr/bin/cbtship # not build/bin/cbtship, first on PATH
unit="cbtship-agent.service"
agent_log=/var/log/cbtship/agent.log
bs=65536
echo "boot $phase: the command runs at $(cut -d' ' -f1 /proc/uptime) s of uptime"

on_exit() {
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "--- systemctl status $unit" >&2
		systemctl status --no-pager -l $unit >&2 || true
		echo "--- journal of $unit" >&2
		journalctl -b -u $unit --no-pager -o short-monotonic >&2 || true
		echo "--- $agent_log" >&2
		tail -n 30 $agent_log >&2 2>/dev/null || true
		echo "--- cbtship log" >&2
		tail -n 30 /var/lib/cbtship/log/cbtship.log >&2 2>/dev/null || true
		dmesg | grep -i -E 'cbt|device-mapper' | tail -n 20 >&2 || true
		dmsetup ls >&2 || true
	fi
	exit $rc
}
trap on_exit EXIT

# write_blocks SECTOR...: 4 KiB of random data at each sector of the volume.
write_blocks() {
	local s
	for s in "$@"; do pwrite /dev/mapper/vol "$s" 8; done
}
dirty() { cbt_field vol 3; }
# backup NAME [OPTION...]: backup-create --wait; its JSON in $d/NAME.json.
backup() {
	local name=$1
	shift
	$cbtship backup-create --wait --name "$name" --format json "$@" vol >"$d/$name.json" &&
		test "$(jq -r .status "$d/$name.json")" = available
}
id_of() { jq -r .id "$d/$1.json"; }
# restored_equals NAME: the backup NAME, restored to a new file, equals the volume.
restored_equals() {
	local img rc
	img=$($cbtship backup-restore --wait "$(id_of "$1")" 2>/dev/null) || return 1
	cmp "$img" /dev/mapper/vol
	rc=$?
	rm -f "$img"
	return $rc
}
# new_log_lines NAME: the lines of the agent's log after the count saved in
# $d/NAME (this boot's, when saved at the end of the previous one).
new_log_lines() { tail -n +$(($(cat "$d/$1") + 1)) $agent_log; }
save_log_lines() { wc -l <$agent_log >"$d/$1"; }
# unit_ts UNIT PROPERTY: a monotonic timestamp property of UNIT.
unit_ts() { systemctl show -P "$2" "$1"; }

check "systemd is PID 1" test "$(cat /proc/1/comm)" = systemd -a -d /run/systemd/system
check "/dev/vdb is the 96 MiB data disk (not the scratch or root disk)" \
	test "$(blockdev --getsize64 /dev/vdb)" = $((96 << 20)) -a "$(cat /sys/block/vdb/serial)" != cbt-root

# Boots after the first: the unit, enabled by the package, started the
# agent, ready (Type=notify) before this command ran, and it re-attached
# the volume with its dirty map.
booted_agent() { # booted_agent SAVED-LOG-COUNT EXPECTED-DIRTY-MIN
	local lines=$1 min=$2 ready started pid line n
	check "cbt-vmrun.target wants $unit (from the package's enable link)" \
		bash -c "systemctl show -P Wants cbt-vmrun.target | tr ' ' '\n' | grep -qx $unit"
	check "systemctl is-active $unit: active" test "$(systemctl is-active $unit)" = active
	ready=$(unit_ts $unit ActiveEnterTimestampMonotonic)
	started=$(unit_ts cbt-vmrun-command.service ExecMainStartTimestampMonotonic)
	echo "agent ready at $((ready / 1000)) ms, the command started at $((started / 1000)) ms (monotonic)"
	check "the agent was ready before the command ran" test "$ready" -gt 0 -a "$ready" -lt "$started"
	pid=$(systemctl show -P MainPID $unit)
	check "its main process is /usr/bin/cbtship agent --log-file $agent_log (pid $pid)" \
		test "$(tr '\0' ' ' </proc/"$pid"/cmdline)" = "/usr/bin/cbtship agent --log-file $agent_log "
	check "the unit's modprobe loaded DKMS's module" \
		test -d /sys/module/dm_cbt -a "$(modinfo -n dm-cbt)" = "/lib/modules/$(uname -r)/updates/dkms/dm-cbt.ko"
	echo "--- $agent_log, this boot:"
	new_log_lines "$lines" | tee /tmp/agent-boot.log
	line=$(grep -E ' vol: re-attached over /dev/vdb \(metadata /var/lib/cbtship/metadata/vol.meta\): [0-9]+ dirty blocks' /tmp/agent-boot.log || true)
	check "the agent's log says vol was re-attached over /dev/vdb" test -n "$line"
	n=$(sed -E 's/.*: ([0-9]+) dirty blocks.*/\1/' <<<"$line")
	check "  with at least the $min blocks written before the reboot dirty (log: $n)" test "$n" -ge "$min"
	check "  and 1 volume re-attached, none refused" \
		grep -q "volumes: 1 re-attached, 0 already tracked, 0 refused" /tmp/agent-boot.log
	check "dm device vol is live" dmsetup info vol >/dev/null
	echo "dmsetup status vol: $(dmsetup status vol)"
	check "dmsetup status: at least $min dirty blocks (now $(dirty))" test "$(dirty)" -ge "$min"
	check "service-list: this host's worker is up" \
		test "$($cbtship service-list --format json | jq -r --arg h "$(hostname)" '[.[] | select(.host == $h) | .state] | join(",")')" = up
}

case $phase in
install)
	check "cbtship is not installed before" bash -c "! dpkg -s cbtship >/dev/null 2>&1 && ! test -e /usr/bin/cbtship"
	check "no dm_cbt module loaded before (vm-run --systemd loads none)" test ! -d /sys/module/dm_cbt
	deb_test_install "$d"
	check "the unit is enabled: multi-user.target.wants link" \
		test "$(readlink /etc/systemd/system/multi-user.target.wants/$unit)" = /lib/systemd/system/$unit
	check "systemctl is-enabled $unit: enabled" test "$(systemctl is-enabled $unit)" = enabled
	check "the postinst started the agent under the running systemd" \
		test "$(systemctl is-active $unit)" = active
	check "  its ExecStartPre modprobe loaded DKMS's module" \
		test -d /sys/module/dm_cbt -a "$(modinfo -n dm-cbt)" = "/lib/modules/$(uname -r)/updates/dkms/dm-cbt.ko"
	check "modprobe dm-cbt" modprobe dm-cbt
	# O_DIRECT, a precaution: no page of /dev/vdb's own cache is left to be
	# written back under the tracked device, unseen by dm-cbt (udev, which
	# runs here, may hold /dev/vdb open when dd closes it).
	dd if=/dev/urandom of=/dev/vdb bs=1M count=16 oflag=direct status=none
	check "cbtship track /dev/vdb --name vol" $cbtship track /dev/vdb --name vol
	check "  metadata under /var/lib/cbtship (on the root disk)" test -f /var/lib/cbtship/metadata/vol.meta
	write_blocks 1024 30000
	check "full backup" backup full
	check "  restored, it equals the volume" restored_equals full
	check "no dirty block after the full backup" test "$(dirty)" = 0
	# 5 blocks of 64 KiB: 16, 160, 640, and 699 and 700 (one write spans both).
	write_blocks 2048 20480 81920 $((700 * 128 - 4))
	check "5 dirty blocks before the reboot" test "$(dirty)" = 5
	echo "dmsetup status vol before the reboot: $(dmsetup status vol)"
	save_log_lines log-lines-1
	echo "the agent's log so far:"
	cat $agent_log
	# The end: cbt-vmrun-command.service powers off the normal way
	# (systemctl poweroff: the agent is stopped, file systems unmounted).
	;;
clean)
	booted_agent log-lines-1 5
	check "the clean poweroff stopped boot 1's agent (SIGTERM)" grep -q "Terminated: stopping" /tmp/agent-boot.log
	check "exactly the 5 blocks written before the reboot are dirty" test "$(dirty)" = 5
	check "incremental after the reboot" backup inc1 --incremental
	check "  it read exactly the 5 dirty blocks" test "$(jq -r .bytes_read "$d/inc1.json")" = $((5 * bs))
	check "  its parent is the full backup" \
		test "$($cbtship backup-show --format json "$(id_of inc1)" | jq -r .parent_id)" = "$(id_of full)"
	check "  restored, it equals the volume" restored_equals inc1
	# Written before the hard reset: 4 blocks (50, 300, 900, 1000).
	write_blocks $((50 * 128)) $((300 * 128 + 8)) $((900 * 128 + 120)) $((1000 * 128))
	check "4 dirty blocks before the reset" test "$(dirty)" = 4
	save_log_lines log-lines-2
	# The reset comes in the middle of writes: a writer keeps writing 4 KiB
	# at random places (O_DIRECT); whatever reached the disk must be in
	# the next incremental.
	(while :; do pwrite /dev/mapper/vol $((RANDOM * 6)) 8; done) &
	sleep 2
	echo "dirty when the guest is reset: $(dirty)"
	echo b >/proc/sysrq-trigger
	sleep 30
	echo "the guest survived the reset" >&2
	exit 1
	;;
reset)
	booted_agent log-lines-2 4
	refuse "the hard reset did not stop boot 2's agent" grep -q "stopping" /tmp/agent-boot.log
	echo "dirty after the reset: $(dirty) (4 written before it)"
	check "incremental after the reset" backup inc2 --incremental
	check "  it read at least the 4 blocks written before the reset" \
		test "$(jq -r .bytes_read "$d/inc2.json")" -ge $((4 * bs))
	check "  the chain continues: its parent is the previous incremental" \
		test "$($cbtship backup-show --format json "$(id_of inc2)" | jq -r .parent_id)" = "$(id_of inc1)"
	check "  restored, it equals the volume" restored_equals inc2
	check "backup-list: full, inc1, inc2 available" \
		test "$($cbtship backup-list --volume vol --format json | jq -r '[.[] | select(.status == "available") | .name] | sort | join(",")')" = full,inc1,inc2
	;;
*) fail "unknown phase $phase" ;;
esac
