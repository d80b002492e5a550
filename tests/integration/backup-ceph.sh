#!/usr/bin/env bash
# Requires: ceph-mon, ceph-osd, ceph-common (rbd), jq, build/bin/cbtship,
# build/bin/cbt-chunk-bench. cbtship's backups to a real single-node Ceph on
# 127.0.0.1 (scripts/lib/ceph-server.sh), selected by the configuration
# file (backup_driver = ceph): a full backup and incrementals of an image
# file (a dirty map) into one backup image per volume, one RBD snapshot per
# backup; an incremental writes only the dirty extents (rbd diff between
# the snapshots); every backup restores byte for byte, to a new file and
# over an existing one; verify; deletes in a random order remove the
# snapshots and, with the last, the image; the OSD stopped mid-backup fails
# the backup cleanly (error, nothing available, within the timeout) and
# the next backup after the cluster is back reads everything, since the
# failed one wrote to the image; the failed one, which has no snapshot,
# cannot be reset to available.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"
. scripts/lib/ceph-server.sh

shipper_require_built cbtship cbt-chunk-bench
if ! missing=$(ceph_server_available); then
	echo "SKIP: Ceph is not installed: $missing (scripts/setup)"
	exit 77
fi
shipper_require_cmd jq

shipper_cleanup() { ceph_server_stop; }
shipper_test_start

ceph_server_start "$tmp/ceph"
cat >"$tmp/cbtship.conf" <<EOF
[DEFAULT]
backup_driver = ceph
backup_ceph_conf = $CEPH_CONF
backup_ceph_user = admin
backup_ceph_pool = backups
rados_connect_timeout = 5
EOF
export CBTSHIP_CONFIG=$tmp/cbtship.conf

field() { jq -r ".$2" "$1"; }
restored_equals() { # BACKUP FILE
	local img rc
	img=$(cbtship backup-restore --wait "$1" 2>/dev/null)
	cmp "$img" "$2"
	rc=$?
	rm -f "$img"
	return $rc
}
available() { cbtship backup-list --format json | jq '[.[] | select(.status == "available")] | length'; }
snaps() { rbd_cmd snap ls "backups/volume-$vol.backup.base" --format json | jq length; }
map_bytes() { awk '!/^#/ && NF >= 2 { s += $2 } END { print s + 0 }' "$1"; }

img=$tmp/vol.img
cbt-chunk-bench make-image --image "$img" --size 48M --seed 9 >/dev/null
cp --sparse=always "$img" "$tmp/v0"

check "service-list: ceph, up" \
	test "$(cbtship service-list --format json | jq -r '.[0].backend + " " + (.[0].target_answers|tostring)')" = "ceph true"
check "full backup to Ceph" bash -c "cbtship backup-create --wait --format json '$img' >'$tmp/b0.json'"
b0=$(field "$tmp/b0.json" id)
vol=$(field "$tmp/b0.json" volume_id)
check "  the record says ceph, pool backups" \
	test "$(cbtship backup-show --format json "$b0" | jq -r '.service + " " + .container')" = "ceph backups"
check "  one backup image for the volume" \
	bash -c "timeout 20 rbd ls backups | grep -qx 'volume-$vol.backup.base'"
check "  with one snapshot, named after the backup" \
	bash -c "timeout 20 rbd ls -l backups | grep -q 'volume-$vol.backup.base@backup.$b0.snap.'"

ids=("$b0")
copies=("$tmp/v0")
for i in 1 2; do
	cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map$i" --per-mille 20 --run-blocks 4 \
		--seed $((10 + i)) >/dev/null
	cp --sparse=always "$img" "$tmp/v$i"
	check "incremental $i" \
		bash -c "cbtship backup-create --wait --incremental --dirty-map '$tmp/map$i' --format json '$img' >'$tmp/b$i.json'"
	id=$(field "$tmp/b$i.json" id)
	check "  it wrote only the dirty extents ($(field "$tmp/b$i.json" bytes_stored) of $(map_bytes "$tmp/map$i") dirty bytes)" \
		test "$(field "$tmp/b$i.json" bytes_stored)" -le "$(map_bytes "$tmp/map$i")"
	check "  and read only those" test "$(field "$tmp/b$i.json" bytes_read)" = "$(map_bytes "$tmp/map$i")"
	prev=$(rbd_cmd snap ls "backups/volume-$vol.backup.base" --format json | jq -r '.[-2].name')
	cur=$(rbd_cmd snap ls "backups/volume-$vol.backup.base" --format json | jq -r '.[-1].name')
	changed=$(rbd_cmd diff --from-snap "$prev" "backups/volume-$vol.backup.base@$cur" --format json |
		jq '[.[].length] | add // 0')
	check "  rbd diff between the snapshots: $changed bytes, within the dirty extents' objects" \
		test "$changed" -le $(($(map_bytes "$tmp/map$i") + 4 * (4 << 20)))
	ids+=("$id")
	copies+=("$tmp/v$i")
done
check "three snapshots" test "$(snaps)" = 3
for i in 0 1 2; do
	check "backup $i restores to a new file" restored_equals "${ids[$i]}" "${copies[$i]}"
done
head -c $((48 << 20)) /dev/urandom >"$tmp/over.img"
check "backup 0 restores over an existing file of garbage" \
	cbtship backup-restore --wait --volume "$tmp/over.img" "${ids[0]}"
check "  identical" cmp "$tmp/over.img" "$tmp/v0"
check "verify" cbtship backup-verify "${ids[1]}"

# In the background, as by default: the worker connects to Ceph again.
wait_available() {
	for _ in $(seq 300); do
		[ "$(cbtship backup-show --format json "$1" | jq -r .status)" = available ] && return 0
		sleep 0.1
	done
	return 1
}
check "a restore in the background" bash -c "cbtship backup-restore '${ids[1]}' >'$tmp/bgpath' 2>/dev/null"
check "  the backup becomes available again" wait_available "${ids[1]}"
check "  its destination equals the volume" cmp "$(cat "$tmp/bgpath")" "${copies[1]}"
rm -f "$(cat "$tmp/bgpath")"

# Its record exported; restored from a fresh catalog after import.
check "export backup 2" bash -c "cbtship backup-export --format json ${ids[2]} >'$tmp/e2.json'"
mv "$CBTSHIP_STATE_DIR/catalog.db" "$tmp/catalog.keep"
rm -f "$CBTSHIP_STATE_DIR/catalog.db-wal" "$CBTSHIP_STATE_DIR/catalog.db-shm"
check "import it into a fresh catalog" \
	cbtship backup-import ceph "$(field "$tmp/e2.json" backup_url)"
check "  it restores from its snapshot" restored_equals "${ids[2]}" "${copies[2]}"
refuse "a record of a backup without a snapshot is refused" bash -c \
	"cbtship backup-delete ${ids[2]} >/dev/null 2>&1 || true; cbtship backup-import ceph '$(field "$tmp/e2.json" backup_url)'"
rm -f "$CBTSHIP_STATE_DIR/catalog.db" "$CBTSHIP_STATE_DIR/catalog.db-wal" "$CBTSHIP_STATE_DIR/catalog.db-shm"
mv "$tmp/catalog.keep" "$CBTSHIP_STATE_DIR/catalog.db"
unset 'ids[2]' 'copies[2]'
ids=("${ids[@]}")
copies=("${copies[@]}")

# The OSD stopped in the middle of a backup.
cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map3" --per-mille 100 --run-blocks 16 \
	--seed 20 >/dev/null
ceph_server_stop_osd
start=$SECONDS
rc=0
cbtship backup-create --wait --incremental --dirty-map "$tmp/map3" "$img" >/dev/null 2>"$tmp/b3.err" || rc=$?
cat "$tmp/b3.err"
check "a backup with the OSD down fails (exit $rc) within the timeout ($((SECONDS - start)) s)" \
	test $rc -ne 0 -a $((SECONDS - start)) -lt 90
check "  naming the cluster's silence" grep -q -i 'ceph\|timed out' "$tmp/b3.err"
check "  nothing new available" test "$(available)" = 3
ceph_server_start_osd
check "the next backup works" \
	bash -c "cbtship backup-create --wait --incremental --dirty-map '$tmp/map3' --format json '$img' >'$tmp/b3.json'"
cp --sparse=always "$img" "$tmp/v3"
ids+=("$(field "$tmp/b3.json" id)")
copies+=("$tmp/v3")
check "  reading everything: the failed one wrote to the image" \
	test "$(field "$tmp/b3.json" full_read)" = true
check "  and restores" restored_equals "${ids[2]}" "$tmp/v3"
failed=$(cbtship backup-list --format json | jq -r '[.[] | select(.status == "error")][0].id')
check "the failed backup (it never took its snapshot) cannot be reset to available" bash -c \
	"! cbtship backup-reset-state --state available '$failed' 2>'$tmp/reset.err'"
cat "$tmp/reset.err"
check "  saying its snapshot is missing" grep -q "holds no snapshot of this backup" "$tmp/reset.err"
check "  it stays in error" \
	test "$(cbtship backup-show --format json "$failed" | jq -r .status)" = error

# Deletes in a random order; the rest still restore; the image goes last.
mapfile -t order < <(seq 0 2 | shuf)
left=("${order[@]}")
for i in "${order[@]}"; do
	check "delete backup $i" cbtship backup-delete "${ids[$i]}"
	left=("${left[@]:1}")
	for j in "${left[@]}"; do
		check "  backup $j still restores" restored_equals "${ids[$j]}" "${copies[$j]}"
	done
done
check "the backup image is gone" bash -c "! rbd ls backups | grep -q 'volume-$vol'"

# A backup in the background: the worker connects to the cluster again.
check "a full backup in the background" bash -c "cbtship backup-create --format json '$img' >'$tmp/bg.json'"
bg=$(field "$tmp/bg.json" id)
check "  returns creating" test "$(field "$tmp/bg.json" status)" = creating
check "  the worker makes it available" wait_available "$bg"
check "  it restores equal to the volume" restored_equals "$bg" "$img"
check "  and deletes" cbtship backup-delete "$bg"
