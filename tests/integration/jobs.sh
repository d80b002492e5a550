#!/usr/bin/env bash
# Requires: jq, sqlite3, build/bin/cbtship.
# Asynchronous jobs against the POSIX target: backup-create and
# backup-restore return at once with the record creating / restoring and
# a background worker finishes the job; with backup_workers = 1 a second
# job waits queued until the first ends; backup-delete --force cancels a
# running backup (it disappears, its chunks go) and a queued one;
# backup-reset-state --state error cancels a running restore (the worker
# stops, the destination volume is marked unusable); service-list shows
# the host's worker up from its heartbeat, and down once it is older than
# service_down_time.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"

shipper_require_built cbtship
shipper_require_cmd jq sqlite3 pkill

# No worker may outlive the test.
shipper_cleanup() { pkill -9 -f "cbtship .*$tmp"; }
shipper_test_start
printf '[DEFAULT]\nbackup_workers = 1\n' >"$tmp/one.conf"
export CBTSHIP_CONFIG=$tmp/one.conf
db=$CBTSHIP_STATE_DIR/catalog.db
container=$tmp/container

status() { cbtship backup-show --format json "$1" | jq -r .status; }
job_state() { sqlite3 "$db" "SELECT state FROM jobs WHERE backup_id = '$1' ORDER BY id DESC LIMIT 1"; }
# wait_status ID STATUS [SECONDS]
wait_status() {
	for _ in $(seq $((${3:-60} * 10))); do
		[ "$(status "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	echo "backup $1 is $(status "$1"), not $2" >&2
	return 1
}
objects() { { find "$1/chunks" "$1/packs" -type f 2>/dev/null || true; } | wc -l; }

head -c $((64 << 20)) /dev/urandom >"$tmp/vol.img"
head -c $((512 << 20)) /dev/urandom >"$tmp/big.img"

# ------------------------------------------------------------ returns at once
t0=$(date +%s%N)
check "backup-create returns with the record" bash -c \
	"cbtship backup-create --container '$container' --format json '$tmp/vol.img' >'$tmp/a.json'"
ms=$((($(date +%s%N) - t0) / 1000000))
a=$(jq -r .id "$tmp/a.json")
echo "backup-create returned in $ms ms"
check "  its status is creating" test "$(jq -r .status "$tmp/a.json")" = creating
check "  the worker makes it available" wait_status "$a" available
check "  its job is done" test "$(job_state "$a")" = done
check "  a job row records the worker's pid and host" \
	test "$(sqlite3 "$db" "SELECT pid > 0 AND host IS NOT NULL FROM jobs WHERE backup_id = '$a'")" = 1
img=$(cbtship backup-restore "$a")
check "backup-restore prints the destination at once" test -n "$img"
check "  the backup is restoring, or available again" \
	bash -c "[[ \$(cbtship backup-show --format json $a | jq -r .status) =~ ^(restoring|available)$ ]]"
check "  and becomes available when the worker is done" wait_status "$a" available
check "  the restored image equals the volume" cmp "$img" "$tmp/vol.img"
rm -f "$img"

# ------------------------------------------------------------ the queue
check "two backups with backup_workers = 1" bash -c \
	"cbtship backup-create --workers 1 --compression zlib --container '$container' --format json '$tmp/big.img' >'$tmp/q1.json' &&
	 cbtship backup-create --container '$container' --format json '$tmp/vol.img' >'$tmp/q2.json'"
q1=$(jq -r .id "$tmp/q1.json") q2=$(jq -r .id "$tmp/q2.json")
sleep 1
check "  the first runs" test "$(job_state "$q1")" = running
check "  the second waits queued (backup-show says so)" \
	test "$(cbtship backup-show --format json "$q2" | jq -r '.status + " " + .job.state')" = "creating queued"
wait_status "$q1" available 120 && wait_status "$q2" available 60 ||
	fail "the queued backups did not both become available"
echo "ok: both queued backups became available"
check "  the second started after the first ended" test "$(sqlite3 "$db" \
	"SELECT (SELECT started_at FROM jobs WHERE backup_id = '$q2') >= (SELECT finished_at FROM jobs WHERE backup_id = '$q1')")" = 1

# ------------------------------------------------------------ cancel a backup
ck=$tmp/ck
cbtship backup-create --container "$container" --format json "$tmp/vol.img" >/dev/null
wait_status "$(cbtship backup-list --format json | jq -r '.[0].id')" available
kept=$(objects "$container")
c1=$(cbtship backup-create --workers 1 --compression zlib --container "$ck" --format json "$tmp/big.img" | jq -r .id)
c2=$(cbtship backup-create --container "$ck" --format json "$tmp/vol.img" | jq -r .id)
for _ in $(seq 100); do
	[ "$(cbtship backup-show --format json "$c1" | jq '.progress.bytes_done // 0')" -gt 0 ] && break
	sleep 0.1
done
check "cancel the queued backup: backup-delete --force" cbtship backup-delete --force "$c2"
refuse "  backup-show finds no such backup" cbtship backup-show "$c2"
check "  the running one goes on" test "$(status "$c1")" = creating
refuse "reset-state --state available of a backup still being created" \
	cbtship backup-reset-state --state available "$c1"
check "  it is still creating" test "$(status "$c1")" = creating
t0=$SECONDS
check "cancel the running backup: backup-delete --force" cbtship backup-delete --force "$c1"
echo "cancel took $((SECONDS - t0)) s"
check "  it stopped within seconds" test $((SECONDS - t0)) -le 15
refuse "  the backup is gone" cbtship backup-show "$c1"
check "  its job is cancelled or failed, not running" \
	bash -c "[[ \$(sqlite3 '$db' \"SELECT COUNT(*) FROM jobs WHERE state IN ('queued','running')\") = 0 ]]"
check "collect its container" cbtship backup-collect --container "$ck"
check "  its chunks are gone" test "$(objects "$ck")" = 0
check "  other containers are untouched" test "$(objects "$container")" = "$kept"

# ------------------------------------------------------------ cancel a restore
big_id=$q1
truncate -s 512M "$tmp/dest.img"
check "a backup of a volume in the catalog for the destination" bash -c \
	"cbtship backup-create --wait --container '$container' '$tmp/dest.img' >/dev/null"
# The test build slows each ranged read by 100 ms: packs restore the 512 MiB
# in about a second here, before the cancel would come.
check "restore over it in the background" bash -c \
	"CBTSHIP_TEST_RANGE_DELAY_MS=100 '$CBT_REPO/build/test-bin/cbtship' backup-restore --workers 1 \
	 --volume '$tmp/dest.img' '$big_id' >/dev/null 2>'$tmp/restore.err'"
for _ in $(seq 300); do
	[ "$(cbtship backup-show --format json "$big_id" | jq '.progress.bytes_done // 0')" -gt 0 ] && break
	sleep 0.1
done
check "  it is restoring" test "$(status "$big_id")" = restoring
check "cancel it: backup-reset-state --state error (waits for the worker)" \
	cbtship backup-reset-state --state error "$big_id"
check "  the job was cancelled" test "$(job_state "$big_id")" = failed -o "$(job_state "$big_id")" = cancelled
check "  the backup is in error, reset by the operator" \
	test "$(cbtship backup-show --format json "$big_id" | jq -r '.status + ": " + .fail_reason')" = "error: reset by the operator"
check "  the destination volume is marked unusable in the catalog" bash -c \
	"sqlite3 '$db' \"SELECT status, status_reason FROM volumes WHERE origin_path = '$tmp/dest.img'\" | grep -q '^error|.*not usable'"
check "  the log says why" grep -q "cancelled half way" "$CBTSHIP_STATE_DIR/log/cbtship.log"
check "reset it to available" cbtship backup-reset-state --state available "$big_id"
check "  it restores (--wait) equal to its volume" bash -c \
	"cmp \$(cbtship backup-restore --wait '$big_id') '$tmp/big.img'"

# ------------------------------------------------------------ heartbeat
check "service-list: the worker is up (a job beat just now)" \
	test "$(cbtship service-list --format json | jq -r '.[0].binary + " " + .[0].state')" = "cbtship-backup up"
printf '[DEFAULT]\nservice_down_time = 1\n' >"$tmp/down.conf"
sleep 2
check "  and down once its heartbeat is older than service_down_time" \
	test "$(cbtship --config "$tmp/down.conf" service-list --format json | jq -r '.[0].state')" = down
echo PASS
