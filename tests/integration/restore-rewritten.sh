#!/usr/bin/env bash
# Requires: build/bin/cbtship, build/test-bin/cbtship, jq,
# cmp. A collection that rewrites a pack while a restore reads it (the
# restore planned its reads before the rewrite): the restore fails as a
# fault saying the pack was rewritten, the backup stays available, and a
# second restore is equal to the image. POSIX: image B is image A with
# its second half rewritten; deleting A's backup leaves A's pack half
# live, so the collection (max_unused 0) rewrites it while B's restore
# (each ranged read slowed by 2 s) is still reading.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"

shipper_require_built cbtship
shipper_require_cmd jq cmp
[ -x build/test-bin/cbtship ] || { echo "SKIP: build/test-bin/cbtship is not built (make)"; exit 77; }

shipper_test_start
cat >"$tmp/cbtship.conf" <<-EOF2
	[DEFAULT]
	backup_posix_path = $tmp/backups
	backup_collect_settle_time = 0
	backup_collect_max_unused = 0
EOF2
export CBTSHIP_CONFIG=$tmp/cbtship.conf
a=$tmp/a.img b=$tmp/b.img
dd if=/dev/urandom of="$a" bs=1M count=32 status=none
cp "$a" "$b"
dd if=/dev/urandom of="$b" bs=1M seek=16 count=16 conv=notrunc status=none
ida=$(cbtship backup-create --wait --format json "$a" | jq -r .id)
idb=$(cbtship backup-create --wait --format json "$b" | jq -r .id)
check "two backups" test -n "$ida" -a -n "$idb"

CBTSHIP_TEST_RANGE_DELAY_MS=2000 build/test-bin/cbtship backup-restore --wait --format json \
	"$idb" >"$tmp/r1.json" 2>"$tmp/r1.err" &
restore=$!
# Its reads planned (the log says started), its first pack read under way:
for _ in $(seq 1 100); do
	grep -q "restore $idb .*: started" "$CBTSHIP_STATE_DIR/log/cbtship.log" 2>/dev/null && break
	sleep 0.2
done
sleep 0.5
check "delete the first backup" cbtship backup-delete "$ida"
cbtship backup-collect --format json >"$tmp/collect.json"
check "the collection rewrote a pack" test "$(jq -r ".[0].packs_rewritten" "$tmp/collect.json")" -ge 1
if wait $restore; then
	echo "SKIP: the restore finished before the collection rewrote its pack"
	exit 77
fi
cat "$tmp/r1.err"
check "the failed restore says the pack was rewritten" grep -q "was rewritten by a collection" "$tmp/r1.err"
check "the backup stays available" \
	test "$(cbtship backup-show --format json "$idb" | jq -r .status)" = available
cbtship backup-restore --wait --format json "$idb" >"$tmp/r2.json"
check "a second restore is equal to the image" cmp "$b" "$(jq -r .destination "$tmp/r2.json")"
