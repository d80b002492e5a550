#!/usr/bin/env bash
# Requires: QEMU guest. cbt-replay-log replays dm-log-writes logs right:
# writes (O_DIRECT, with flushes, FUA and a discard) go through a
# log-writes device with a mark after each step; replaying the log onto a
# zeroed disk up to each mark gives exactly the expected image at that mark,
# --start-entry/--limit/--find/--list/--num-entries agree with it, and a
# full replay equals the logged disk. Does not use the cbt target.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 32M --disk 64M --disk 32M

data=/dev/vdb log=/dev/vdc replay=/dev/vdd
lw=replay-lw dev=/dev/mapper/replay-lw
sectors=$(blockdev --getsz $data)
exp=/tmp/expected
tmp=$(mktemp -d)

# Marks only order correctly against writes that were flushed before them:
# log-writes logs a write at the next flush, so an empty flush must reach it,
# which needs a volatile write cache on the disk.
check "the data disk has a write-back cache (flushes are logged)" \
	grep -q '^write back$' /sys/block/vdb/queue/write_cache

dmsetup create $lw --table "0 $sectors log-writes $data $log"
trap 'dmsetup remove $lw 2>/dev/null || true' EXIT
truncate -s $((sectors * 512)) $exp

# put SECTOR COUNT [DD_OFLAG]: write COUNT random sectors at SECTOR through
# the log device with one O_DIRECT write (and DD_OFLAG), and into the
# expected image.
put() {
	local off=$1 len=$2 flags=${3:-}
	head -c $((len * 512)) /dev/urandom >"$tmp/data"
	dd if="$tmp/data" of=$dev bs=$((len * 512)) seek=$((off * 512)) count=1 \
		oflag=direct,seek_bytes${flags:+,$flags} conv=notrunc status=none
	dd if="$tmp/data" of=$exp bs=512 seek="$off" conv=notrunc status=none
}

# flush: fsync the log device, an empty REQ_PREFLUSH that logs what completed.
flush() {
	dd if=/dev/null of=$dev conv=notrunc,fsync status=none
}

# mark NAME: flush, mark the log, keep the expected image at this mark.
marks=()
mark() {
	flush
	dmsetup message $lw 0 mark "$1"
	cp $exp "/tmp/exp-$1"
	marks+=("$1")
}

put 0 64
put 1000 8
put 20000 256
mark step1

put 32 64 # overlaps the first write
put 50000 16 sync # O_DSYNC: a FUA write
flush
put 3 1
mark step2

blkdiscard -o $(((20000 + 64) * 512)) -l $((64 * 512)) $dev
dd if=/dev/zero of=$exp bs=512 seek=$((20000 + 64)) count=64 conv=notrunc status=none
put 20100 4 # after the discard, partly inside the discarded range
mark step3

dd if=/dev/urandom of="$tmp/big" bs=64K count=16 status=none
dd if="$tmp/big" of=$dev bs=64K seek=$((40000 / 128)) oflag=direct conv=notrunc status=none
dd if="$tmp/big" of=$exp bs=64K seek=$((40000 / 128)) conv=notrunc status=none
put 7777 3
mark step4

# What the disk returns for discarded blocks is up to the disk: rewrite the
# whole discarded range so that the logged disk itself is fully known.
put $((20000 + 64)) 64
put $((sectors - 8)) 8 # the last sectors
mark final

# One write left unflushed: log-writes logs it when the device is removed,
# before its own end mark.
put 9000 8
logged=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
	sleep 0.2
	now=$(dmsetup status $lw | awk '{ print $4 }')
	[ "$now" = "$logged" ] && break
	logged=$now
done
echo "log-writes status before removal: $logged entries logged"
dmsetup remove $lw
trap - EXIT

# ---------------------------------------------------------------- checks
n=$(cbt-replay-log --log $log --num-entries)
echo "--num-entries: $n"
check "--num-entries counts the unflushed write and the end mark" test "$n" = $((logged + 2))
cbt-replay-log --log $log --list >"$tmp/list"
sed 's/^/    /' "$tmp/list" | head -n 60
check "--list prints one line per entry" test "$(wc -l <"$tmp/list")" = "$n"
check "--list numbers entries from 0" test "$(awk 'NR == 1 { print $1 }' "$tmp/list")" = 0
check "the last entry is the end mark" \
	test "$(tail -n 1 "$tmp/list")" = "$((n - 1)) 0 0 MARK dm-log-writes-end"
check "--list shows the marks in order" \
	test "$(awk '$4 == "MARK" { printf "%s ", $5 }' "$tmp/list")" = \
	"step1 step2 step3 step4 final dm-log-writes-end "
check "--list shows a DISCARD entry" grep -q ' DISCARD$' "$tmp/list"
check "--list shows a FUA entry" grep -Eq ' ([A-Z]+,)?FUA(,[A-Z]+)*$' "$tmp/list"
check "--list shows FLUSH entries" grep -Eq ' FLUSH(,[A-Z]+)*$' "$tmp/list"
check "the unflushed write is the last data entry" \
	test "$(awk '$4 == "WRITE" { last = $2 " " $3 } END { print last }' "$tmp/list")" = "9000 8"

zero_replay() {
	dd if=/dev/zero of=$replay bs=1M count=$((sectors / 2048)) oflag=direct status=none
}
same() { # same IMAGE: the replay disk equals IMAGE
	cmp $replay "$1"
}

zero_replay
check "--limit 0 replays nothing" cbt-replay-log --log $log --replay $replay --limit 0
check "the disk is still zero" cmp -n $((sectors * 512)) $replay /dev/zero

for m in "${marks[@]}"; do
	zero_replay
	check "replay up to mark $m" cbt-replay-log --log $log --replay $replay --end-mark "$m"
	check "replayed disk equals the expected image at mark $m" same "/tmp/exp-$m"
done

at1=$(cbt-replay-log --log $log --find --mark step1)
i1=${at1%@*}
check "--find --mark gives the mark's index" \
	test "$(awk -v i="$i1" '$1 == i { print $4, $5 }' "$tmp/list")" = "MARK step1"
zero_replay
check "replay --limit (index of step1 + 1)" cbt-replay-log --log $log --replay $replay \
	--limit $((i1 + 1))
check "equals the image at step1" same /tmp/exp-step1

i2=$(cbt-replay-log --log $log --find --mark step2 | cut -d@ -f1)
check "replay from entry $((i1 + 1)) (after step1) up to step2 on top of step1" \
	cbt-replay-log --log $log --replay $replay --start-entry $((i1 + 1)) --end-mark step2
check "equals the image at step2" same /tmp/exp-step2
check "then --start-mark step2 --end-mark step3" \
	cbt-replay-log --log $log --replay $replay --start-mark step2 --end-mark step3
check "equals the image at step3" same /tmp/exp-step3

fua=$(cbt-replay-log --log $log --find --start-entry "$i1" --next-fua | cut -d@ -f1)
check "--find --next-fua from step1 finds the FUA write before step2" \
	test "$i1" -lt "$fua" -a "$fua" -lt "$i2"
check "entry $fua is a FUA write" grep -Eq "^$fua [0-9]+ [0-9]+ ([A-Z]+,)?FUA" "$tmp/list"

zero_replay
check "replay the whole log" cbt-replay-log --log $log --replay $replay
check "full replay equals the logged disk" cmp $replay $data
check "full replay equals the expected final image (with the unflushed write)" same $exp

zero_replay
refuse "a missing end mark" cbt-replay-log --log $log --replay $replay --end-mark nosuchmark
check "a missing end mark leaves the disk alone" cmp -n $((sectors * 512)) $replay /dev/zero
refuse "a disk that is not a log" cbt-replay-log --log $data --num-entries
check "says why" sh -c "cbt-replay-log --log $data --num-entries 2>&1 | grep -q 'bad magic'"
refuse "--start-entry past the end" cbt-replay-log --log $log --replay $replay \
	--start-entry $((n + 1))
echo "PASS"
