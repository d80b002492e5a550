#!/usr/bin/env bash
# Requires: QEMU guest. Netlink dumps of a big map: a 1 TiB origin (dm-zero,
# no real storage) tracked at 64 KiB blocks is a 2 MiB bitmap of 16,777,216
# blocks. Scattered marks (the first and the last block, runs crossing the
# 16384-block boundaries of the kernel's dump chunks) come back exactly as
# ranges; after invalidate the whole map is one range, in ranges and JSON;
# after a checkpoint the frozen map is the full range and the current one is
# empty. A dump that a checkpoint or an abort overlaps (they swap and merge
# the maps while the dump's many messages go out) is never returned torn:
# the kernel flags it NLM_F_DUMP_INTR and libcbt reads it again (or fails
# with EAGAIN). The wall time of each dump is printed, for information only.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 16M
. "$CBT_REPO/tests/lib/cbt-guest.sh"

meta=/dev/vdb
nr_blocks=16777216		 # 1 TiB / 64 KiB
origin_sectors=$((nr_blocks * 128)) # 2147483648 sectors = 1 TiB
tmp=$(mktemp -d)

on_exit() {
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "--- kernel log" >&2
		dmesg | grep -i -E 'cbt|device-mapper' | tail -n 30 >&2 || true
	fi
	dmsetup remove big >/dev/null 2>&1 || true
	dmsetup remove bigorigin >/dev/null 2>&1 || true
	exit $rc
}
trap on_exit EXIT

# The origin: the zero target if the guest kernel has it, else the error
# target (built into dm-mod). cbt never reads the origin here: every mark
# comes from a message.
modprobe -q dm-zero 2>/dev/null || true
if dmsetup targets | grep -q '^zero '; then
	origin_target=zero
elif dmsetup targets | grep -q '^error '; then
	origin_target=error
else
	echo "SKIP: neither the dm zero nor the dm error target is available"
	exit 77
fi
dmsetup create bigorigin --table "0 $origin_sectors $origin_target"
echo "origin: 1 TiB dm $origin_target target ($origin_sectors sectors)"

zero_dev $meta
cbt_create big /dev/mapper/bigorigin $meta 128
check "1 TiB at 64 KiB blocks: $nr_blocks blocks" test "$(cbt_field big 2)" = $nr_blocks

# timed_dump OUT ARGS...: cbtship dirty-map big ARGS > OUT, printing the
# wall time (information only, never asserted).
timed_dump() {
	local out=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	cbtship dirty-map big "$@" >"$out"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" -v what="$*" \
		'BEGIN { printf "time: cbtship dirty-map big %s took %.3f s\n", what, b - a }'
}

# ------------------------------------------------------------ (a) scattered
# first count: the first and the last block, a run across the first chunk
# boundary (16384), one across a word boundary, one spanning several whole
# chunks and ending across a boundary, one ending on the block before a
# boundary, one starting on a boundary.
marks="0:1
63:2
16380:10
1000000:3
4194303:1
4194304:1
8388600:70000
16777215:1"
for m in $marks; do
	dmsetup message big 0 mark_dirty "${m%%:*}" "${m##*:}"
done
# 4194303 and 4194304 are adjacent: one run of two.
expected=$(printf '0 1\n63 2\n16380 10\n1000000 3\n4194303 2\n8388600 70000\n16777215 1')
dirty=$(awk '{ n += $2 } END { print n }' <<<"$expected")
check "status counts the $dirty marked blocks" test "$(cbt_field big 3)" = "$dirty"
timed_dump "$tmp/scattered" --format ranges
cat "$tmp/scattered"
check "dirty-map --format ranges: exactly the marked runs" \
	diff <(echo "$expected") "$tmp/scattered"
timed_dump "$tmp/scattered.json" --format json
check "dirty-map json: nr_blocks, dirty_blocks, ranges" \
	test "$(jq -M -c '[.block_size, .nr_blocks, .dirty_blocks, .map, .ranges]' "$tmp/scattered.json")" \
	= "[65536,$nr_blocks,$dirty,\"current\",[[0,1],[63,2],[16380,10],[1000000,3],[4194303,2],[8388600,70000],[16777215,1]]]"

# ------------------------------------------------------------ (b) invalidate
dmsetup message big 0 invalidate
check "status: every block dirty after invalidate" test "$(cbt_field big 3)" = $nr_blocks
for _ in 1 2 3; do
	timed_dump "$tmp/full"
done
check "dirty-map after invalidate: exactly '0 $nr_blocks'" \
	test "$(cat "$tmp/full")" = "0 $nr_blocks"
timed_dump "$tmp/full.json" --format json
jq -M -c 'del(.uuid)' "$tmp/full.json"
check "dirty-map json after invalidate: counts and one range" \
	test "$(jq -M -c '[.block_size, .nr_blocks, .dirty_blocks, .map, .ranges]' "$tmp/full.json")" \
	= "[65536,$nr_blocks,$nr_blocks,\"current\",[[0,$nr_blocks]]]"
check "dirty-map json: the state of the status line ($(cbt_field big 8))" \
	test "$(jq -M -r .state "$tmp/full.json")" = "$(cbt_field big 8)"
check "dirty-map json: the generation of the status line" \
	test "$(jq -M -r .uuid "$tmp/full.json")" = "$(cbt_field big 7)"

# ------------------------------------------------------------ (c) checkpoint
cp=$(dmsetup message big 0 checkpoint)
check "checkpoint taken (number $cp)" test -n "$cp"
check "status: frozen checkpoint $cp holds every block" \
	test "$(cbt_field big 5) $(cbt_field big 6) $(cbt_field big 3)" = "$cp $nr_blocks 0"
timed_dump "$tmp/frozen" --frozen
check "dirty-map --frozen: exactly '0 $nr_blocks'" test "$(cat "$tmp/frozen")" = "0 $nr_blocks"
timed_dump "$tmp/frozen.json" --frozen --format json
check "dirty-map --frozen json: counts, map, checkpoint" \
	test "$(jq -M -c '[.map, .nr_blocks, .dirty_blocks, .frozen_checkpoint, .ranges]' "$tmp/frozen.json")" \
	= "[\"frozen\",$nr_blocks,$nr_blocks,$cp,[[0,$nr_blocks]]]"
timed_dump "$tmp/current"
check "current map empty after the checkpoint" test ! -s "$tmp/current"
check "commit $cp" dmsetup message big 0 commit "$cp"
refuse "no frozen map after commit" cbtship dirty-map big --frozen
check "status: nothing frozen, nothing dirty after commit" \
	test "$(cbt_field big 5) $(cbt_field big 3)" = "- 0"
timed_dump "$tmp/current"
check "current map still empty after commit" test ! -s "$tmp/current"

# ------------------------------------------------------------ (d) overlapped
# The current map flips between every block and none while dumps run.
dmsetup message big 0 invalidate
(
	while [ ! -e "$tmp/stop" ]; do
		cp=$(dmsetup message big 0 checkpoint) || exit 1
		dmsetup message big 0 abort "$cp" || exit 1
	done
) &
flipper=$!
whole=0 torn=0 again=0
for _ in $(seq 40); do
	if cbtship dirty-map big >"$tmp/d" 2>"$tmp/err"; then
		case "$(cat "$tmp/d")" in
		"0 $nr_blocks" | "") whole=$((whole + 1)) ;;
		*) torn=$((torn + 1)) ;;
		esac
	elif grep -q "Resource temporarily unavailable" "$tmp/err"; then
		again=$((again + 1))
	else
		cat "$tmp/err" >&2
		fail "dirty-map failed otherwise"
	fi
done
touch "$tmp/stop"
check "checkpoints and aborts ran all along" wait $flipper
echo "dumps under checkpoint/abort: $whole whole, $again given up (EAGAIN), $torn torn"
check "no dump came back torn" test $torn = 0
check "  and some came back whole" test $whole -gt 0

dmsetup remove big
dmsetup remove bigorigin
echo PASS
