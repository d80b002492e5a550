#!/usr/bin/env bash
# Requires: QEMU guest, dm-log-writes, fio. Crash safety by replay: the
# data and the metadata of a cbt device live on one device recorded by
# dm-log-writes, so the log holds every write in one order. Random writes
# with fsyncs run while checkpoints are taken, committed and aborted; then
# the log is replayed to 100+ crash points (flush/FUA entries and every
# superblock write). At each, every block written since the base checkpoint
# must be marked in the recovered map; every few points the real target is
# loaded over the replayed state and must agree. Zero misses is the only
# pass.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 24M --disk 512M --disk 24M
. "$CBT_REPO/tests/lib/cbt-guest.sh"
command -v fio >/dev/null || { echo "SKIP: fio not installed"; exit 77; }
replayer=$CBT_REPO/build/bin/cbt-replay-log
[ -x "$replayer" ] || fail "$replayer not built (make)"

disk=/dev/vdb log=/dev/vdc replay=/dev/vdd
data_sectors=32768	# 16 MiB of data, then the metadata
meta_sector=$data_sectors
meta_len=$(($(blockdev --getsz $disk) - meta_sector))
bs=8

dmsetup create lw --table "0 $(blockdev --getsz $disk) log-writes $disk $log"
dmsetup create odata --table "0 $data_sectors linear /dev/mapper/lw 0"
dmsetup create ometa --table "0 $meta_len linear /dev/mapper/lw $meta_sector"
cbt_create cr /dev/mapper/odata /dev/mapper/ometa $bs

fio --name=crash --filename=/dev/mapper/cr --rw=randwrite --bs=4k --iodepth=8 \
	--ioengine=libaio --direct=1 --size=16M --fsync=4 --rate_iops=300 \
	--time_based --runtime=14 --output=/dev/null --eta=never &
fio_pid=$!
sleep 1
for i in 1 2 3 4 5 6; do
	n=$(dmsetup message cr 0 checkpoint)
	sleep 0.7
	if [ $((i % 3)) = 0 ]; then
		dmsetup message cr 0 abort "$n"
	else
		dmsetup message cr 0 commit "$n"
	fi
	dmsetup message cr 0 mark_dirty $((100 * i)) 3
	sleep 0.7
done
# End with a checkpoint outstanding, so that the frozen set is exercised.
dmsetup message cr 0 checkpoint >/dev/null
wait $fio_pid
dmsetup remove cr
dmsetup remove odata ometa
dmsetup message lw 0 mark end
dmsetup remove lw

load_cmd="blockdev --flushbufs $replay &&
	dmsetup create rdata --table '0 $data_sectors linear $replay 0' &&
	dmsetup create rmeta --table '0 $meta_len linear $replay $meta_sector' &&
	dmsetup create rcbt --table '0 $data_sectors cbt /dev/mapper/rdata /dev/mapper/rmeta $bs' &&
	dmsetup status rcbt | cut -d' ' -f4- &&
	dmsetup remove rcbt rdata rmeta && blockdev --flushbufs $replay"

/usr/bin/python3 "$CBT_REPO/tests/lib/crashcheck.py" --replayer "$replayer" \
	--log $log --replay $replay --data-sectors $data_sectors \
	--meta-sector $meta_sector --block-sectors $bs --max-points 150 \
	--load-every 15 --load "$load_cmd" | tee /tmp/summary
points=$(sed -n 's/.*crash points checked: \([0-9]*\).*/\1/p' /tmp/summary)
check "at least 100 crash points checked ($points)" test "${points:-0}" -ge 100
echo PASS
