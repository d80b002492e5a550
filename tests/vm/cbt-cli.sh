#!/usr/bin/env bash
# Requires: QEMU guest. cbtship track/untrack/volume-list/dirty-map and the
# checkpoint protocol: a plain disk tracked with a metadata file on a loop
# device, then a dm-linear device put under tracking in place while fio
# writes through it (no I/O error, data verified), and taken out again
# while another writer runs.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 64M --disk 64M

export DM_DISABLE_UDEV=1
export CBTSHIP_STATE_DIR=/tmp/cbtship-state
tmp=$(mktemp -d)

on_exit() {
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "--- kernel log" >&2
		dmesg | grep -i -E 'cbt|device-mapper|loop' | tail -n 30 >&2 || true
	fi
	for d in plain lin; do
		cbtship untrack --keep-history "$d" >/dev/null 2>&1 || true
	done
	dmsetup remove lin >/dev/null 2>&1 || true
	exit $rc
}
trap on_exit EXIT

json() { # json FILE FILTER: the jq filter's compact output
	jq -c "$2" "$1"
}
write_block() { # write_block DEV BLOCK: write 4 KiB into 64 KiB block BLOCK
	dd if=/dev/urandom of="$1" bs=4096 seek=$(($2 * 16 + 3)) count=1 oflag=direct \
		conv=notrunc status=none
}
loops_of() { losetup -j "$1" | wc -l; }
wait_written() { # wait_written DEV OFFSET-MiB: until the 64 KiB there are not zero
	for _ in $(seq 600); do
		if ! cmp -s <(dd if="$1" bs=64k skip=$(($2 * 16)) count=1 iflag=direct status=none) \
			<(head -c 65536 /dev/zero); then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# ------------------------------------------------------------ plain disk
origin=/dev/vdb meta=$tmp/meta/plain.meta
mkdir -p "$tmp/meta"
refuse "track without --name" cbtship track $origin --metadata "$meta"
refuse "track a bad block size" cbtship track $origin --name plain --block-size 3000
check "track $origin as plain" cbtship track $origin --name plain --metadata "$meta"
check "/dev/mapper/plain is a block device" test -b /dev/mapper/plain
check "same size as the origin" \
	test "$(blockdev --getsz /dev/mapper/plain)" = "$(blockdev --getsz $origin)"
check "metadata file made at its default size (1 MiB)" test "$(stat -c %s "$meta")" = 1048576
check "metadata file on one loop device" test "$(loops_of "$meta")" = 1
check "table is cbt with 128-sector blocks" \
	bash -c "dmsetup table plain | grep -E -q '^0 131072 cbt [0-9]+:[0-9]+ 7:[0-9]+ 128\$'"
refuse "track the same name again" cbtship track $origin --name plain --metadata "$tmp/other"
refuse "a metadata file already in use" cbtship track /dev/vdc --name other --metadata "$meta"
refuse "untrack an unknown name" cbtship untrack nosuch
refuse "checkpoint an unknown name" cbtship checkpoint nosuch

dmsetup status plain
cbtship volume-list | tee "$tmp/list"
check "volume-list names plain over $origin" grep -E -q "^plain +$origin +64 MiB +64 KiB +0 +0 +- +ok" "$tmp/list"
cbtship volume-list --format json >"$tmp/list.json"
check "volume-list json: block size, size, state" \
	test "$(json "$tmp/list.json" '[.[] | [.name, .block_size, .size_bytes, .nr_blocks, .dirty_blocks, .state]]')" \
	= '[["plain",65536,67108864,1024,0,"ok"]]'

check "no dirty blocks yet" test -z "$(cbtship dirty-map plain)"
for b in 0 17 18 1023; do write_block /dev/mapper/plain $b; done
cbtship dirty-map plain | tee "$tmp/map"
check "dirty-map: first block, a run of two, last block" \
	test "$(cat "$tmp/map")" = "$(printf '0 1\n17 2\n1023 1')"
cbtship dirty-map plain --format json >"$tmp/map.json"
check "dirty-map json" \
	test "$(json "$tmp/map.json" '[.block_size, .nr_blocks, .dirty_blocks, .ranges]')" \
	= '[65536,1024,4,[[0,1],[17,2],[1023,1]]]'

# Events, while the protocol runs.
cbtship events --count 3 --timeout 120 >"$tmp/events" &
events_pid=$!
sleep 1

check "checkpoint 1" test "$(cbtship checkpoint plain)" = 1
refuse "a second checkpoint while 1 is outstanding" cbtship checkpoint plain
check "current map empty after the checkpoint" test -z "$(cbtship dirty-map plain)"
check "frozen map holds the writes" \
	test "$(cbtship dirty-map plain --frozen)" = "$(printf '0 1\n17 2\n1023 1')"
write_block /dev/mapper/plain 5
check "a new write lands in current" test "$(cbtship dirty-map plain)" = "5 1"
refuse "commit of a checkpoint not outstanding" cbtship commit plain 2
refuse "commit of a bad number" cbtship commit plain x
check "abort 1" cbtship abort plain 1
check "abort merged frozen back into current" \
	test "$(cbtship dirty-map plain)" = "$(printf '0 1\n5 1\n17 2\n1023 1')"
refuse "no frozen map after abort" cbtship dirty-map plain --frozen
check "checkpoint 2" test "$(cbtship checkpoint plain)" = 2
check "commit 2" cbtship commit plain 2
refuse "no frozen map after commit" cbtship dirty-map plain --frozen
check "nothing dirty after commit" test -z "$(cbtship dirty-map plain)"
cbtship volume-list --format json >"$tmp/list.json"
check "volume-list after commit: checkpoint 2, none frozen" \
	test "$(json "$tmp/list.json" '.[0] | [.checkpoint, .frozen_checkpoint, .dirty_blocks]')" = '[2,null,0]'

check "events arrived" wait $events_pid
cat "$tmp/events"
check "events: checkpoint 1, abort, checkpoint 2" \
	test "$(cut -d' ' -f1-3 "$tmp/events")" = "$(printf 'plain checkpoint 1\nplain abort 1\nplain checkpoint 2')"
# Joining the events group takes CAP_NET_ADMIN (generic netlink lets any
# user join a group whose family does not say otherwise).
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	cbtship events --count 1 --timeout 1 2>&1 || true)
echo "events as nobody: $out"
check "events: an unprivileged user cannot join the group" grep -q "Operation not permitted" <<<"$out"

exec 3</dev/mapper/plain
refuse "untrack while open" cbtship untrack plain
exec 3<&-
check "untrack plain" cbtship untrack plain
check "/dev/mapper/plain gone" test ! -e /dev/mapper/plain
check "its loop device cleared itself" test "$(loops_of "$meta")" = 0

# Tracked again with the same metadata: untrack invalidated the history,
# so everything is dirty (the next backup must read it all).
check "track plain again" cbtship track $origin --name plain --metadata "$meta"
cbtship volume-list --format json >"$tmp/list.json"
check "history invalidated: every block dirty" \
	test "$(json "$tmp/list.json" '.[0] | [.dirty_blocks, .nr_blocks]')" = '[1024,1024]'
check "untrack --keep-history" cbtship untrack --keep-history plain

# ------------------------------------------------------------ live insertion
dev=/dev/vdc
sectors=$(blockdev --getsz $dev)
dmsetup create lin --table "0 $sectors linear $dev 0"
check "no default metadata yet" test ! -e $CBTSHIP_STATE_DIR/metadata/lin.meta

# A failed insertion (the kernel refuses foreign metadata) leaves lin as it was.
head -c 1M /dev/urandom >"$tmp/foreign.meta"
refuse "track in place over foreign metadata" \
	cbtship track /dev/mapper/lin --metadata "$tmp/foreign.meta"
check "lin kept its linear table" \
	bash -c "dmsetup table lin | grep -E -q '^0 $sectors linear [0-9]+:[0-9]+ 0\$'"
check "lin is not suspended" bash -c "dmsetup info lin | grep -q '^State: *ACTIVE'"
check "no hidden device left" bash -c "! dmsetup info lin-cbt-real >/dev/null 2>&1"
check "no loop device left" test "$(loops_of "$tmp/foreign.meta")" = 0

fio_job() { # fio_job NAME OFFSET SIZE [ARGS...]
	local name=$1 offset=$2 size=$3
	shift 3
	fio --name="$name" --filename=/dev/mapper/lin --rw=write --bs=64k --direct=1 \
		--ioengine=psync --offset="$offset" --size="$size" --eta=never \
		--verify=crc32c --verify_fatal=1 --verify_state_save=0 --randseed=1234 --output="$tmp/$name.log" "$@"
}
# 32 MiB at 4 MiB/s: about 8 s of writes, then fio reads them back and verifies.
fio_job before 0 32M --rate=4m &
fio_pid=$!
check "fio started writing" wait_written /dev/mapper/lin 0
sleep 1
check "fio is still writing" kill -0 $fio_pid
check "track lin in place while fio writes" cbtship track /dev/mapper/lin --block-size 64K
check "fio: no I/O error, data verified" wait $fio_pid
grep -E 'err=|WRITE:|READ:' "$tmp/before.log" || true
check "fio reported no error" grep -q 'err= 0' "$tmp/before.log"

check "lin is now cbt over lin-cbt-real" \
	bash -c "dmsetup table lin | grep -E -q '^0 $sectors cbt [0-9]+:[0-9]+ 7:[0-9]+ 128\$'"
check "lin-cbt-real holds the linear table" \
	bash -c "dmsetup table lin-cbt-real | grep -E -q '^0 $sectors linear [0-9]+:[0-9]+ 0\$'"
check "default metadata file made" test -f $CBTSHIP_STATE_DIR/metadata/lin.meta
cbtship volume-list | tee "$tmp/list"
check "volume-list shows lin over lin-cbt-real" grep -E -q '^lin +/dev/mapper/lin-cbt-real ' "$tmp/list"
cbtship volume-list --format json >"$tmp/list.json"
check "volume-list json: lin tracked in place" \
	test "$(json "$tmp/list.json" '[.[] | select(.name == "lin") | .in_place]')" = '[true]'
cbtship dirty-map lin | tee "$tmp/map"
# fio writes sequentially: the blocks written after the insertion are one
# run ending with the last block fio wrote (32 MiB = block 512).
check "one run of dirty blocks, ending at block 512" \
	bash -c "test \$(wc -l <'$tmp/map') = 1 && awk '{ exit !(\$1 > 0 && \$1 + \$2 == 512) }' '$tmp/map'"
check "verify the data again through the tracked device" \
	fio_job before 0 32M --verify_only

# Untrack while another writer runs on the second half.
fio_job after 32M 32M --rate=4m &
fio_pid=$!
check "fio started writing" wait_written /dev/mapper/lin 32
sleep 1
check "fio is still writing" kill -0 $fio_pid
check "untrack lin while fio writes" cbtship untrack lin
check "fio: no I/O error, data verified" wait $fio_pid
check "fio reported no error" grep -q 'err= 0' "$tmp/after.log"
check "lin has its linear table back" \
	bash -c "dmsetup table lin | grep -E -q '^0 $sectors linear [0-9]+:[0-9]+ 0\$'"
check "lin-cbt-real is gone" bash -c "! dmsetup info lin-cbt-real >/dev/null 2>&1"
check "the metadata loop device cleared itself" \
	test "$(loops_of $CBTSHIP_STATE_DIR/metadata/lin.meta)" = 0
check "both halves verify on the bare disk" \
	bash -c "cmp <(dd if=/dev/mapper/lin bs=1M iflag=direct status=none) <(dd if=$dev bs=1M iflag=direct status=none)"
check "first half still verifies" fio_job before 0 32M --verify_only
check "second half verifies" fio_job after 32M 32M --verify_only
dmsetup remove lin
echo "PASS"
