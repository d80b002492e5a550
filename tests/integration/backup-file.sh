#!/usr/bin/env bash
# Requires: build/bin/cbtship, build/bin/cbt-chunk-bench, jq. Host test of
# the shipper on untracked image files and a POSIX container: full and
# incremental (given a dirty-map file) backups, restores compared byte for
# byte, zero chunks left as holes, compression choices, verify, a corrupt
# chunk, a truncated manifest, deletes in any order with garbage
# collection, a full target (the failed backup removes what it wrote), and
# a shipper killed mid-backup.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"

shipper_require_built cbtship cbt-chunk-bench cbt-store-tool
shipper_require_cmd jq

shipper_cleanup() { mountpoint -q "$full_mnt" && umount "$full_mnt"; }
shipper_test_start
full_mnt=$tmp/full

field() { jq -r ".$2" "$1"; }
# Stored objects holding chunks: loose ones (format 1) and packs (format 2).
objects() { { find "$1/chunks" "$1/packs" -type f ! -name '.*' 2>/dev/null || true; } | wc -l; }

img=$tmp/vol.img
cbt-chunk-bench make-image --image "$img" --size 64M --seed 7 >/dev/null
cp --sparse=always "$img" "$tmp/vol.v0"

# ------------------------------------------------------------ full
check "full backup of an image file" \
	bash -c "cbtship backup-create --wait --name full0 --format json '$img' >'$tmp/b0.json'"
b0=$(field "$tmp/b0.json" id)
check "available" test "$(field "$tmp/b0.json" status)" = available
check "read the whole image" test "$(field "$tmp/b0.json" bytes_read)" = $((64 << 20))
check "zero chunks found and not stored" test "$(field "$tmp/b0.json" chunks_zero)" -gt 50
check "stored less than the image (zstd, zero chunks)" \
	test "$(field "$tmp/b0.json" bytes_stored)" -lt $((64 << 20))
container=$CBTSHIP_STATE_DIR/backup/volumebackups
check "manifest written" test -f "$container/manifests/$b0.json"

out=$(cbtship backup-restore --wait "$b0")
check "restore to a new file prints its path" test -f "$out"
check "restored full equals the image" cmp "$out" "$img"
check "zero chunks are holes in the new file" \
	test "$(du -k "$out" | cut -f1)" -lt $((64 * 1024 * 3 / 4))
rm -f "$out"

# ------------------------------------------------------------ incremental
refuse "--dirty-map without --incremental" cbtship backup-create --wait --dirty-map /dev/null "$img"
cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map1" --per-mille 10 --run-blocks 1 \
	--seed 3 >/dev/null
cp --sparse=always "$img" "$tmp/vol.v1"
check "incremental given the dirty map" bash -c \
	"cbtship backup-create --wait --incremental --dirty-map '$tmp/map1' --format json '$img' >'$tmp/b1.json'"
b1=$(field "$tmp/b1.json" id)
dirty_chunks=$(awk '{ f = int($1 / 65536); l = int(($1 + $2 - 1) / 65536); for (i = f; i <= l; i++) c[i] = 1 } END { print length(c) }' "$tmp/map1")
check "incremental read only the dirty chunks ($dirty_chunks)" \
	test "$(field "$tmp/b1.json" bytes_read)" -le $((dirty_chunks * 65536))
check "incremental read something" test "$(field "$tmp/b1.json" bytes_read)" -gt 0
check "is incremental, parent is the full" \
	test "$(field "$tmp/b1.json" is_incremental) $(field "$tmp/b1.json" parent_id)" = "true $b0"
check "restored incremental equals the changed image" \
	bash -c "cmp \$(cbtship backup-restore --wait '$b1') '$img'"
check "the full still restores the original" \
	bash -c "cmp \$(cbtship backup-restore --wait '$b0') '$tmp/vol.v0'"
rm -f "$CBTSHIP_STATE_DIR"/restore/*

check "incremental without a map reads everything, stores nothing new" bash -c \
	"cbtship backup-create --wait --incremental --format json '$img' >'$tmp/b2.json'"
b2=$(field "$tmp/b2.json" id)
check "  (full read, with the reason)" test "$(field "$tmp/b2.json" full_read)" = true
check "  (no new chunk)" test "$(field "$tmp/b2.json" chunks_new)" = 0

# Restore over an existing file: it must be large enough.
truncate -s 1M "$tmp/small.img"
refuse "restore over a smaller file" cbtship backup-restore --wait --volume "$tmp/small.img" "$b1"
truncate -s 64M "$tmp/exist.img"
dd if=/dev/urandom of="$tmp/exist.img" bs=1M count=64 conv=notrunc status=none
check "restore over an existing file (zero chunks written)" \
	cbtship backup-restore --wait --volume "$tmp/exist.img" "$b1"
check "  equals the image" cmp "$tmp/exist.img" "$img"

# ------------------------------------------------------------ compression
for alg in none zlib; do
	check "full backup with $alg" bash -c "cbtship backup-create --wait --compression $alg \
		--container '$tmp/c-$alg' --format json '$tmp/vol.v0' >'$tmp/z-$alg.json'"
	id=$(field "$tmp/z-$alg.json" id)
	check "  restores" bash -c "cmp \$(cbtship backup-restore --wait $id) '$tmp/vol.v0'"
done
check "zlib stores less than none" \
	test "$(field "$tmp/z-zlib.json" bytes_stored)" -lt "$(field "$tmp/z-none.json" bytes_stored)"
rm -f "$CBTSHIP_STATE_DIR"/restore/*

# ------------------------------------------------------------ a store fault is not damage
# The test build of cbtship fails every ranged read after the Nth with a
# timeout ($CBTSHIP_TEST_RANGE_FAULT): a fault of the store, at the index
# pages (0), the pack tables (1) or the chunks (3), fails the restore with
# the store's own error and leaves the backup available.
for n in 0 1 3; do
	rc=0
	CBTSHIP_TEST_RANGE_FAULT=$n "$CBT_REPO/build/test-bin/cbtship" backup-restore --wait "$b1" \
		>/dev/null 2>"$tmp/rf.err" || rc=$?
	check "a restore whose store times out after $n ranged reads fails (exit $rc)" test $rc -ne 0
	check "  with the store's error" grep -q -i 'timed out' "$tmp/rf.err"
	check "  and the backup stays available" \
		test "$(cbtship backup-show --format json "$b1" | jq -r .status)" = available
done
rm -f "$CBTSHIP_STATE_DIR"/restore/*
check "  it restores once the store answers" bash -c \
	"cmp \$(cbtship backup-restore --wait '$b1') '$tmp/vol.v1'"
rm -f "$CBTSHIP_STATE_DIR"/restore/*

# ------------------------------------------------------------ verify, damage
check "verify a good backup" cbtship backup-verify "$b1"
cz=$tmp/c-zlib
# The first chunk of the first pack: a byte of its payload flipped in place.
read -r vpack voff _ <<<"$(cbt-store-tool --posix "$cz" entries | awk '$4 == "chunk"' | sort | sed -n 1p)"
victim=$cz/$vpack
printf '\xff' | dd of="$victim" bs=1 seek=$((voff + 100)) conv=notrunc status=none
zid=$(field "$tmp/z-zlib.json" id)
refuse "verify finds the corrupt chunk" cbtship backup-verify "$zid"
check "  and names it" bash -c \
	"cbtship backup-verify --format json $zid | jq -e '.chunks_corrupt == 1 and (.bad[0].chunk | length) == 64'"
check "restore stops at the corrupt chunk, naming chunk and backup" bash -c \
	"! cbtship backup-restore --wait $zid 2>'$tmp/err' && grep -q 'backup $zid: chunk [0-9a-f]\{64\}' '$tmp/err'"
check "  and leaves no restored file" test -z "$(ls "$CBTSHIP_STATE_DIR/restore")"
check "  and marks the backup error (an integrity failure)" \
	test "$(cbtship backup-show --format json "$zid" | jq -r .status)" = error
rm -f "$victim"
check "a missing chunk is reported" bash -c \
	"cbtship backup-verify --format json $zid | jq -e '.chunks_missing >= 1'"

nid=$(field "$tmp/z-none.json" id)
truncate -s 100 "$tmp/c-none/manifests/$nid.json"
refuse "restore with a truncated manifest" cbtship backup-restore --wait "$nid"
check "  naming the manifest" bash -c "cbtship backup-restore --wait $nid 2>&1 | grep -q 'manifest'"

# ------------------------------------------------------------ incremental refusals
other=$tmp/other.img
truncate -s 8M "$other"
refuse "--incremental with no available backup" cbtship backup-create --wait --incremental "$other"

# ------------------------------------------------------------ delete, any order
before=$(objects "$container")
check "delete the full (parent of the others)" cbtship backup-delete "$b0"
check "the incremental still restores" bash -c "cmp \$(cbtship backup-restore --wait '$b1') '$img'"
check "delete the last incremental" cbtship backup-delete "$b2"
check "delete the middle one" cbtship backup-delete "$b1"
check "  the chunks stay until the container is collected" test "$(objects "$container")" = "$before"
check "collect the container" cbtship backup-collect
check "container has no chunk left (was $before)" test "$(objects "$container")" = 0
check "no index page left" test "$(find "$container/indexes" -type f ! -name '.*' | wc -l)" = 0
check "no manifest left" test "$(find "$container/manifests" -type f | wc -l)" = 0
rm -f "$CBTSHIP_STATE_DIR"/restore/*

# ------------------------------------------------------------ killed mid-backup
big=$tmp/big.img
head -c $((512 << 20)) /dev/urandom >"$big"
cbtship backup-create --wait --workers 1 --compression zlib --container "$tmp/ck" "$big" \
	>/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do
	[ "$(cbtship backup-list --format json | jq '[.[] | select(.status == "creating")] | length')" = 1 ] && break
	sleep 0.1
done
sleep 1
kill -9 $pid
wait $pid || true
killed=$(cbtship backup-list --format json | jq -r '.[] | select(.status == "creating") | .id')
check "killed backup is listed as a stale creating record" bash -c \
	"cbtship backup-list | grep '$killed' | grep -q 'creating (stale)'"
refuse "delete without --force" cbtship backup-delete "$killed"
check "delete --force removes it" cbtship backup-delete --force "$killed"
check "collect the container" cbtship backup-collect --container "$tmp/ck"
check "and every chunk it wrote" test "$(objects "$tmp/ck")" = 0
check "the next backup works" bash -c \
	"cbtship backup-create --wait --container '$tmp/ck' --format json '$tmp/vol.v0' >'$tmp/b3.json'"
check "  and restores" bash -c "cmp \$(cbtship backup-restore --wait $(field "$tmp/b3.json" id)) '$tmp/vol.v0'"
rm -f "$CBTSHIP_STATE_DIR"/restore/* "$big"

# ------------------------------------------------------------ full target
mkdir -p "$full_mnt"
mount -t tmpfs -o size=8m tmpfs "$full_mnt"
head -c $((32 << 20)) /dev/urandom >"$tmp/rand.img"
refuse "a backup to a full target fails" bash -c \
	"cbtship backup-create --wait --container '$full_mnt' '$tmp/rand.img' 2>'$tmp/err'"
check "  saying so" grep -q -i "no space left" "$tmp/err"
bad=$(cbtship backup-list --format json | jq -r '[.[] | select(.status == "error")][0].id')
check "  the record is in error with the reason" bash -c \
	"cbtship backup-show --format json $bad | jq -e '.fail_reason | test(\"space\")'"
check "  no manifest was written" test "$(find "$full_mnt/manifests" -type f 2>/dev/null | wc -l)" = 0
check "  the chunks it wrote were removed at once" test "$(objects "$full_mnt")" = 0
check "deleting it cleans the target" cbtship backup-delete "$bad"
check "  (no chunk left)" test "$(objects "$full_mnt")" = 0
