#!/usr/bin/env bash
# Requires: jq, base64, build/bin/cbtship, build/bin/cbt-chunk-bench. The
# catalog-loss story on the POSIX target: a full backup and two
# incrementals; their records exported (backup_service, backup_url); the
# SQLite catalog deleted; the newest incremental imported alone (no parent
# record needed) and restored byte for byte; importing it twice, a
# corrupted URL, a foreign one, a wrong service and a record whose backup
# the target lacks are all refused clearly; the catalog deleted again and
# rebuilt from the container's manifests: every backup is back, restores,
# and the next incremental still works.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"

shipper_require_built cbtship cbt-chunk-bench
shipper_require_cmd jq

shipper_test_start
catalog=$CBTSHIP_STATE_DIR/catalog.db

field() { jq -r ".$2" "$1"; }
restored_equals() { # BACKUP FILE
	local img rc
	img=$(cbtship backup-restore --wait "$1" 2>/dev/null)
	cmp "$img" "$2"
	rc=$?
	rm -f "$img"
	return $rc
}
lose_catalog() { rm -f "$catalog" "$catalog-wal" "$catalog-shm"; }

img=$tmp/vol.img
cbt-chunk-bench make-image --image "$img" --size 32M --seed 11 >/dev/null
cp --sparse=always "$img" "$tmp/v0"
check "full backup" bash -c "cbtship backup-create --wait --name full --format json '$img' >'$tmp/b0.json'"
ids=("$(field "$tmp/b0.json" id)")
for i in 1 2; do
	cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map$i" --per-mille 30 \
		--run-blocks 8 --seed $((20 + i)) >/dev/null
	cp --sparse=always "$img" "$tmp/v$i"
	check "incremental $i" bash -c "cbtship backup-create --wait --incremental --dirty-map '$tmp/map$i' \
		--name inc$i --format json '$img' >'$tmp/b$i.json'"
	ids+=("$(field "$tmp/b$i.json" id)")
done
for i in 0 1 2; do
	check "export backup $i" bash -c "cbtship backup-export --format json ${ids[$i]} >'$tmp/e$i.json'"
done
check "  the record names its service" test "$(field "$tmp/e2.json" backup_service)" = posix
check "  the table form has backup_service and backup_url" \
	bash -c "cbtship backup-export ${ids[2]} | grep -q backup_url"
url2=$(field "$tmp/e2.json" backup_url)

# ------------------------------------------------------------ import
lose_catalog
check "the catalog is gone: no backups" test "$(cbtship backup-list --format json | jq length)" = 0
check "import the newest incremental alone" cbtship backup-import posix "$url2"
check "  it is available" \
	test "$(cbtship backup-show --format json "${ids[2]}" | jq -r .status)" = available
check "  its name came back" test "$(cbtship backup-show --format json "${ids[2]}" | jq -r .name)" = inc2
check "  and it restores without its parents" restored_equals "${ids[2]}" "$tmp/v2"
refuse "importing it twice is refused" cbtship backup-import posix "$url2"
check "  saying it is in the catalog" \
	bash -c "cbtship backup-import posix '$url2' 2>&1 | grep -q 'in the catalog already'"
refuse "a corrupted URL is refused" cbtship backup-import posix "${url2:0:40}garbage${url2:60}"
refuse "a foreign URL is refused" cbtship backup-import posix "$(echo '{"hello": 1}' | base64 -w0)"
check "  saying it is no cbtship record" \
	bash -c "cbtship backup-import posix '$(echo '{"hello": 1}' | base64 -w0)' 2>&1 | grep -q 'not a cbtship backup record'"
refuse "a wrong backup_service is refused" cbtship backup-import swift "$(field "$tmp/e1.json" backup_url)"
refuse "an unknown backup_service is refused" cbtship backup-import tape "$(field "$tmp/e1.json" backup_url)"
mv "$CBTSHIP_STATE_DIR/backup/volumebackups/manifests/${ids[1]}.json" "$tmp/m1.json"
refuse "a record whose backup the target lacks is refused" \
	cbtship backup-import posix "$(field "$tmp/e1.json" backup_url)"
check "  saying so" bash -c "cbtship backup-import posix '$(field "$tmp/e1.json" backup_url)' 2>&1 | grep -q 'no manifest'"
mv "$tmp/m1.json" "$CBTSHIP_STATE_DIR/backup/volumebackups/manifests/${ids[1]}.json"
check "import the full backup under cinder's driver name" \
	cbtship backup-import cinder.backup.drivers.posix.PosixBackupDriver "$(field "$tmp/e0.json" backup_url)"
check "  it restores" restored_equals "${ids[0]}" "$tmp/v0"

# ------------------------------------------------------------ rebuild
lose_catalog
check "catalog-rebuild from the container" bash -c "cbtship catalog-rebuild >'$tmp/rebuild'"
cat "$tmp/rebuild"
check "  found and imported all three" grep -q '3 backups found, 3 imported' "$tmp/rebuild"
for i in 0 1 2; do
	check "  backup $i is back and restores" restored_equals "${ids[$i]}" "$tmp/v$i"
done
check "a second rebuild imports nothing" bash -c "cbtship catalog-rebuild | grep -q '0 imported, 3 already'"
cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map3" --per-mille 30 --run-blocks 8 \
	--seed 30 >/dev/null
cp --sparse=always "$img" "$tmp/v3"
check "the next incremental works on the rebuilt catalog" bash -c "cbtship backup-create --wait \
	--incremental --dirty-map '$tmp/map3' --format json '$img' >'$tmp/b3.json'"
check "  based on the newest backup" test "$(field "$tmp/b3.json" parent_id)" = "${ids[2]}"
check "  and restores" restored_equals "$(field "$tmp/b3.json" id)" "$tmp/v3"
