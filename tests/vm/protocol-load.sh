#!/usr/bin/env bash
# Requires: QEMU guest, fio. While fio writes at random, checkpoints are
# taken, committed or aborted many times: no block fio wrote is ever lost
# (every one is in some committed frozen set or in the final current set),
# nothing outside fio's region appears, a block written right after a
# checkpoint is in the next frozen set, abort merges, and commit/abort with
# wrong numbers and a second checkpoint are refused under load.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 64M --disk 4M
. "$CBT_REPO/tests/lib/cbt-guest.sh"

origin=/dev/vdb meta=/dev/vdc dev=/dev/mapper/pl
command -v fio >/dev/null || { echo "SKIP: fio not installed"; exit 77; }
cbt_create pl $origin $meta 8
tmp=$(mktemp -d)
: >"$tmp/shipped"

# fio writes 4 KiB blocks at random in the first 32 MiB (blocks 0..8191).
fio --name=load --filename=$dev --rw=randwrite --bs=4k --iodepth=16 \
	--ioengine=libaio --direct=1 --size=32M --time_based --runtime=120 \
	--write_iolog="$tmp/iolog" --output=/dev/null --eta=never &
fio_pid=$!
sleep 2

rounds=12
for i in $(seq 1 $rounds); do
	n=$(dmsetup message pl 0 checkpoint) || fail "checkpoint $i failed"
	refuse "second checkpoint under load" dmsetup message pl 0 checkpoint >/dev/null
	refuse "commit of a wrong number" dmsetup message pl 0 commit $((n + 1)) >/dev/null
	refuse "abort of a wrong number" dmsetup message pl 0 abort $((n - 1)) >/dev/null
	disk_blocks $meta frozen >"$tmp/frozen.$n"
	check "frozen count in status matches the metadata ($(wc -l <"$tmp/frozen.$n"))" \
		test "$(cbt_field pl 6)" = "$(wc -l <"$tmp/frozen.$n")"
	if [ $i -gt 1 ]; then
		# The marker written just after the previous checkpoint.
		grep -qx "$((9000 + i - 1))" "$tmp/frozen.$n" ||
			fail "marker block $((9000 + i - 1)) written after checkpoint $((n - 1)) missing from frozen set $n"
	fi
	pwrite $dev $(((9000 + i) * 8)) 8
	if [ $((i % 3)) -eq 0 ]; then
		dmsetup message pl 0 abort "$n"
		disk_blocks $meta current >"$tmp/cur"
		check "abort $n merged its frozen set into current" \
			test -z "$(comm -23 "$tmp/frozen.$n" "$tmp/cur")"
		# The marker must come back in the next frozen set: remember.
	else
		dmsetup message pl 0 commit "$n"
		cat "$tmp/frozen.$n" >>"$tmp/shipped"
	fi
	sleep 0.5
done
kill -INT $fio_pid
wait $fio_pid 2>/dev/null || true

disk_blocks $meta current >>"$tmp/shipped"
sort -n -u "$tmp/shipped" -o "$tmp/shipped"
# fio's I/O log, version 2 or 3 (with a leading timestamp): FILE write OFFSET LEN
awk '{ for (i = 1; i < NF - 1; i++) if ($i == "write") {
	b = int($(i + 1) / 4096); e = int(($(i + 1) + $(i + 2) - 1) / 4096)
	for (; b <= e; b++) print b } }' "$tmp/iolog" | sort -n -u >"$tmp/written"
check "fio wrote ($(wc -l <"$tmp/written") distinct blocks)" test -s "$tmp/written"
missing=$(comm -23 "$tmp/written" "$tmp/shipped" | head -5)
[ -z "$missing" ] || fail "blocks written but never in a shipped or current set: $missing"
echo "ok: every block fio wrote is in a committed frozen set or in current"
extra=$(awk '$1 >= 8192 && ($1 < 9000 || $1 > 9000 + '"$rounds"')' "$tmp/shipped" | head -5)
[ -z "$extra" ] || fail "blocks outside every write marked: $extra"
echo "ok: nothing outside the written regions is marked"
dmsetup remove pl
echo PASS
