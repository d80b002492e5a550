#!/usr/bin/env bash
# Requires: QEMU guest. Killed while a volume is suspended: a view is made
# under one suspend of the tracked volume (checkpoint, snapshot-origin,
# snapshot). With the metadata behind dm-delay (1.5 s per write), the
# checkpoint keeps the volume suspended for seconds; SIGTERM, then SIGINT,
# sent to the process then are held until every device is resumed: the
# process dies of the signal afterwards (status 128+N), the volume and its
# hidden device are not suspended, and a write to the volume completes.
# Without that, the process died inside the window and left the volume
# suspended: every I/O to it hung.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 64M --disk 16M
. "$CBT_REPO/tests/lib/cbt-guest.sh"

export DM_DISABLE_UDEV=1
export CBTSHIP_STATE_DIR=/tmp/cbtship-state
name=sv dev=/dev/mapper/sv
msz=$(blockdev --getsz /dev/vdc)

on_exit() {
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "--- kernel log" >&2
		dmesg | grep -i -E 'cbt|device-mapper|snapshot' | tail -n 30 >&2 || true
		dmsetup info -c >&2 || true
	fi
	# Never leave a suspended device behind for the shutdown.
	for d in $name $name-cbt-real slowmeta; do dmsetup resume $d 2>/dev/null || true; done
	exit $rc
}
trap on_exit EXIT

# delay_meta MS: metadata writes take MS milliseconds.
delay_meta() {
	dmsetup suspend slowmeta
	dmsetup reload slowmeta --table "0 $msz delay /dev/vdc 0 0 /dev/vdc 0 $1"
	dmsetup resume slowmeta
}
suspended() { dmsetup info "$1" | grep -q SUSPENDED; }
# $default_signals CMD...: CMD with SIGINT and SIGQUIT at their defaults (a
# background job of a non-interactive shell starts with them ignored). A
# command, not a function: $! must be CMD's own pid.
default_signals=(/usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGQUIT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])')

dmsetup create slowmeta --table "0 $msz delay /dev/vdc 0 0 /dev/vdc 0 0"
check "track /dev/vdb over the delayed metadata" \
	cbtship track /dev/vdb --name $name --metadata /dev/mapper/slowmeta
delay_meta 1500
mkdir -p /tmp/cow

for sig in TERM INT; do
	"${default_signals[@]}" cbt-view create $name "t$sig" /tmp/cow >/dev/null 2>&1 &
	pid=$!
	seen=
	for _ in $(seq 500); do
		if suspended $name; then
			seen=y
			break
		fi
		sleep 0.02
	done
	check "SIG$sig: the view's suspend of $name was seen" test -n "$seen"
	kill -$sig $pid
	check "  the process is still in the window right after the signal" suspended $name
	set +e
	wait $pid
	rc=$?
	set -e
	num=$(kill -l $sig)
	check "  the process died of SIG$sig once out of the window (status $rc)" \
		test $rc = $((128 + num))
	check "  $name is not left suspended" bash -c "! dmsetup info $name | grep -q SUSPENDED"
	check "  nor its hidden device" bash -c "! dmsetup info $name-cbt-real | grep -q SUSPENDED"
	check "  a write to $name completes" \
		timeout 30 dd if=/dev/urandom of=$dev bs=4k count=1 oflag=direct status=none
	# The view was made whole; it and its checkpoint go, as recovery would.
	delay_meta 0
	check "  its view is whole and removable" cbt-view remove $name "t$sig"
	cp=$(cbt_field $name 5)
	[ "$cp" = - ] || dmsetup message $name 0 abort "$cp"
	delay_meta 1500
done

delay_meta 0
check "untrack" cbtship untrack $name
dmsetup remove slowmeta
echo PASS
