#!/usr/bin/env bash
# Requires: ceph-mon, ceph-osd, radosgw, jq, build/bin/cbtship,
# build/bin/cbt-chunk-bench. cbtship's Swift back end against Ceph's
# radosgw Swift API (scripts/lib/ceph-server.sh, a real radosgw on
# 127.0.0.1): full and incremental backups, restores compared byte for
# byte, deletes with garbage collection (the container ends empty), and the
# OSD stopped during a backup (the backup fails cleanly: error, nothing
# available).
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"
. scripts/lib/ceph-server.sh

shipper_require_built cbtship cbt-chunk-bench
if ! missing=$(ceph_server_available) || ! missing=$(ceph_rgw_available); then
	echo "SKIP: Ceph/radosgw is not installed: $missing (scripts/setup)"
	exit 77
fi
shipper_require_cmd jq

shipper_cleanup() { ceph_server_stop; }
shipper_test_start

ceph_server_start "$tmp/ceph"
ceph_server_start_rgw
echo "radosgw Swift API at $RGW_SWIFT_AUTH_URL"
cat >"$tmp/cbtship.conf" <<EOF
[DEFAULT]
backup_driver = swift
backup_swift_auth_url = $RGW_SWIFT_AUTH_URL
backup_swift_user = $RGW_SWIFT_USER
backup_swift_key = $RGW_SWIFT_KEY
backup_swift_container = cbt-rgw
backup_swift_retry_attempts = 2
backup_swift_retry_backoff = 1
backup_swift_timeout = 5
EOF
chmod 600 "$tmp/cbtship.conf"
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
objects() { timeout 20 rados -p default.rgw.buckets.data ls 2>/dev/null | wc -l; }

img=$tmp/vol.img
cbt-chunk-bench make-image --image "$img" --size 32M --seed 3 >/dev/null
cp --sparse=always "$img" "$tmp/v0"
check "full backup to radosgw (Swift API)" \
	bash -c "cbtship backup-create --wait --format json '$img' >'$tmp/b0.json'"
b0=$(field "$tmp/b0.json" id)
check "  the record says swift, container cbt-rgw" \
	test "$(cbtship backup-show --format json "$b0" | jq -r '.service + " " + .container')" = "swift cbt-rgw"
cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map1" --per-mille 20 --run-blocks 4 \
	--seed 4 >/dev/null
cp --sparse=always "$img" "$tmp/v1"
check "incremental" \
	bash -c "cbtship backup-create --wait --incremental --dirty-map '$tmp/map1' --format json '$img' >'$tmp/b1.json'"
b1=$(field "$tmp/b1.json" id)
check "restore the full backup" restored_equals "$b0" "$tmp/v0"
check "restore the incremental" restored_equals "$b1" "$tmp/v1"
check "verify" cbtship backup-verify "$b1"

ceph_server_stop_osd
rc=0
timeout 300 cbtship backup-create --wait --incremental --dirty-map "$tmp/map1" "$img" >/dev/null \
	2>"$tmp/err" || rc=$?
tail -n 2 "$tmp/err"
check "with the OSD down, a backup fails (exit $rc)" test $rc -ne 0 -a $rc -ne 124
check "  nothing new available" \
	test "$(cbtship backup-list --format json | jq '[.[] | select(.status == "available")] | length')" = 2
ceph_server_start_osd

check "delete the incremental" cbtship backup-delete "$b1"
check "  the full backup still restores" restored_equals "$b0" "$tmp/v0"
for id in $(cbtship backup-list --format json | jq -r '.[].id'); do
	check "delete $id" cbtship backup-delete "$id"
done
check "nothing left in the catalog" test "$(cbtship backup-list --format json | jq length)" = 0
