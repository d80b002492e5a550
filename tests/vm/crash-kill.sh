#!/usr/bin/env bash
# Requires: QEMU guest, fio. The guest is killed hard (sysrq reset, no
# shutdown) in the middle of random writes with flushes, several times.
# After each new boot, every block whose data differs from the state at
# the last committed checkpoint is marked in the recovered map.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"

if [ -z "${CBT_IN_GUEST:-}" ]; then
	vm_require_qemu
	d=$(vm_test_tmpdir)
	trap 'rm -rf "$d"' EXIT
	vm_disk_files "$d" origin:256M meta:4M
	vm_phase "${vm_disks[@]}" -- start "$d"
	for round in 1 2 3; do
		cp --sparse=always "$d/origin.img" "$d/baseline.img"
		set +e
		vm_phase "${vm_disks[@]}" -- write "$d" "$round"
		rc=$?
		set -e
		[ $rc = 250 ] || { echo "FAIL: round $round: expected the guest to die (250), got $rc"; exit 1; }
		echo "ok: round $round: guest killed during writes"
		vm_phase "${vm_disks[@]}" -- recover "$d"
		/usr/bin/python3 - "$d" "$round" <<'PY'
import sys
d, rnd = sys.argv[1], sys.argv[2]
bs = 4096
marked = {int(x) for x in open(f"{d}/marked")}
diff = []
with open(f"{d}/origin.img", "rb") as a, open(f"{d}/baseline.img", "rb") as b:
    blk = 0
    while True:
        x, y = a.read(bs * 256), b.read(bs * 256)
        if not x:
            break
        for i in range(0, len(x), bs):
            if x[i:i + bs] != y[i:i + bs]:
                diff.append(blk + i // bs)
        blk += 256
missed = [b for b in diff if b not in marked]
print(f"round {rnd}: {len(diff)} blocks changed since the last commit, {len(marked)} marked, {len(missed)} missed")
if not diff:
    raise SystemExit("FAIL: no block changed: the writes did not run")
if missed:
    raise SystemExit(f"FAIL: changed blocks not marked: {missed[:10]}")
PY
		echo "ok: round $round: every changed block is marked"
	done
	echo PASS
	exit 0
fi

. "$CBT_REPO/tests/lib/cbt-guest.sh"
phase=$1 d=$2
origin=/dev/vdb meta=/dev/vdc dev=/dev/mapper/ck
case $phase in
start)
	cbt_create ck $origin $meta 8
	dmsetup remove ck
	;;
write)
	# A clean starting point: everything so far shipped.
	cbt_create ck $origin $meta 8
	n=$(dmsetup message ck 0 checkpoint)
	dmsetup message ck 0 commit "$n"
	sync
	fio --name=crash --filename=$dev --rw=randwrite --bs=4k --iodepth=16 \
		--ioengine=libaio --direct=1 --size=256M --fsync=7 --time_based \
		--runtime=60 --output=/dev/null &
	# Kill at a different moment each round, once writes are flowing.
	until [ "$(cbt_field ck 3)" -gt 500 ]; do sleep 0.1; done
	sleep "$3"
	echo b >/proc/sysrq-trigger
	sleep 30
	echo "the guest survived the reset" >&2
	exit 1
	;;
recover)
	cbt_create ck $origin $meta 8
	# Only the current set: the last checkpoint was committed.
	test "$(cbt_field ck 5)" = - || fail "a frozen set is outstanding after recovery"
	disk_blocks $meta current >"$d/marked"
	echo "recovered: $(dmsetup status ck)"
	dmsetup remove ck
	;;
esac
