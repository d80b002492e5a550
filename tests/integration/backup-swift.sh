#!/usr/bin/env bash
# Requires: swift (proxy, object, container, account servers), python3-swift,
# memcached, jq, build/bin/cbtship, build/bin/cbt-chunk-bench. cbtship's
# backups to a real Swift on 127.0.0.1, selected by the configuration file
# (backup_driver = swift, TempAuth): full and incremental (a dirty map) of an
# image file, restores compared byte for byte, verify, the objects in the
# container, deletes in any order with garbage collection; a server killed
# mid-backup (the backup fails cleanly: state error, nothing available, and
# the next backup works once it is back); the object server answering 503 for
# a while (retried, the backup succeeds); a wrong key (a clear error, no
# secret in any message, nothing available); a config file holding the key
# that others may read is refused.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"
. scripts/lib/swift-server.sh

shipper_require_built cbtship cbt-chunk-bench
if ! missing=$(swift_server_available); then
	echo "SKIP: Swift is not installed: $missing (scripts/setup)"
	exit 77
fi
shipper_require_cmd jq

shipper_cleanup() { swift_server_stop; }
shipper_test_start

swift_server_start "$tmp/swift"
echo "Swift at $SWIFT_PROXY_URL"

write_conf() { # write_conf FILE KEY
	cat >"$1" <<EOF
[DEFAULT]
backup_driver = swift
backup_swift_auth_url = $SWIFT_AUTH_URL
backup_swift_auth_version = 1
backup_swift_user = $SWIFT_USER
backup_swift_key = $2
backup_swift_container = cbt-backups
backup_swift_retry_attempts = 4
backup_swift_retry_backoff = 1
EOF
	chmod 600 "$1"
}
conf=$tmp/cbtship.conf
write_conf "$conf" "$SWIFT_KEY"
export CBTSHIP_CONFIG=$conf

field() { jq -r ".$2" "$1"; }
token() {
	curl -s -D - -o /dev/null -H "X-Auth-User: $SWIFT_USER" -H "X-Auth-Key: $SWIFT_KEY" \
		"$SWIFT_AUTH_URL" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-auth-token" { print $2 }'
}
objects() { # the objects of the container, counted through the Swift API
	curl -s -H "X-Auth-Token: $(token)" "$SWIFT_ACCOUNT_URL/cbt-backups?format=json&limit=10000" |
		jq length
}
restored_equals() { # BACKUP FILE
	local img rc
	img=$(cbtship backup-restore --wait "$1" 2>/dev/null)
	cmp "$img" "$2"
	rc=$?
	rm -f "$img"
	return $rc
}
available() { cbtship backup-list --format json | jq '[.[] | select(.status == "available")] | length'; }

img=$tmp/vol.img
cbt-chunk-bench make-image --image "$img" --size 48M --seed 5 >/dev/null
cp --sparse=always "$img" "$tmp/v0"

# ------------------------------------------------------------ config
chmod 644 "$conf"
refuse "a config file holding the key that others may read is refused" cbtship config-show
check "  the message names the file and its mode" \
	bash -c "cbtship config-show 2>&1 | grep -q '$conf' "
chmod 600 "$conf"
check "config-show masks the key" bash -c "cbtship config-show | grep -q 'backup_swift_key = \*\*\*'"
check "  and never prints it" bash -c "! cbtship config-show --format json | grep -q '$SWIFT_KEY'"

check "service-list: swift, up" \
	test "$(cbtship service-list --format json | jq -r '.[0].backend + " " + (.[0].target_answers|tostring)')" = "swift true"

# ------------------------------------------------------------ full, incremental
check "full backup to Swift" bash -c "cbtship backup-create --wait --format json '$img' >'$tmp/b0.json'"
b0=$(field "$tmp/b0.json" id)
check "  the record says swift, container cbt-backups" \
	test "$(cbtship backup-show --format json "$b0" | jq -r '.service + " " + .container')" = "swift cbt-backups"
n0=$(objects)
# Format 2: a manifest, a pack of chunks and a pack of index pages (format 1 had one object a chunk).
check "  its objects are in the Swift container ($n0)" test "$n0" -ge 3
cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map1" --per-mille 20 --run-blocks 8 \
	--seed 6 >/dev/null
cp --sparse=always "$img" "$tmp/v1"
check "incremental with a dirty map" \
	bash -c "cbtship backup-create --wait --incremental --dirty-map '$tmp/map1' --format json '$img' >'$tmp/b1.json'"
b1=$(field "$tmp/b1.json" id)
check "  read only the changed chunks ($(field "$tmp/b1.json" bytes_read) bytes)" \
	test "$(field "$tmp/b1.json" bytes_read)" -lt $((8 << 20))
check "restore the full backup" restored_equals "$b0" "$tmp/v0"
check "restore the incremental" restored_equals "$b1" "$tmp/v1"
check "verify the incremental" cbtship backup-verify "$b1"

# In the background, as by default: the record at once, then a worker.
check "a backup in the background" bash -c "cbtship backup-create --incremental --format json '$img' >'$tmp/bg.json'"
bg=$(field "$tmp/bg.json" id)
check "  returns creating" test "$(field "$tmp/bg.json" status)" = creating
for _ in $(seq 300); do
	[ "$(cbtship backup-show --format json "$bg" | jq -r .status)" = available ] && break
	sleep 0.1
done
check "  the worker makes it available" \
	test "$(cbtship backup-show --format json "$bg" | jq -r .status)" = available
bgimg=$(cbtship backup-restore "$bg" 2>/dev/null)
for _ in $(seq 300); do
	[ "$(cbtship backup-show --format json "$bg" | jq -r .status)" = available ] && break
	sleep 0.1
done
check "  a restore in the background writes it equal to the volume" cmp "$bgimg" "$tmp/v1"
rm -f "$bgimg"

# Cancel a restore as the guide does: backup-reset-state --state error. A
# restore long enough to be caught running: packs restore 48 MiB in well
# under the 1.5 s below, so a backup of 256 MiB of noise of its own (deleted
# after, so the counts below stay).
head -c $((256 << 20)) /dev/urandom >"$tmp/slow.img"
check "a larger backup to cancel the restore of" bash -c \
	"cbtship backup-create --wait --format json '$tmp/slow.img' >'$tmp/bs.json'"
bs=$(field "$tmp/bs.json" id)
truncate -s $((256 << 20)) "$tmp/dest.img"
# The test build slows each ranged read by 100 ms, so that the restore is
# still running when it is cancelled, however fast this machine reads packs.
CBTSHIP_TEST_RANGE_DELAY_MS=100 "$CBT_REPO/build/test-bin/cbtship" backup-restore --wait \
	--workers 1 --volume "$tmp/dest.img" "$bs" 2>"$tmp/r.err" &
rpid=$!
for _ in $(seq 100); do
	[ "$(cbtship backup-show --format json "$bs" | jq -r .status)" = restoring ] && break
	sleep 0.1
done
check "a running restore is listed as restoring" \
	test "$(cbtship backup-show --format json "$bs" | jq -r .status)" = restoring
for _ in $(seq 300); do # until it has written something (its index and plan come first)
	cbtship backup-show --format json "$bs" | jq -e '.progress.bytes_done > 0' >/dev/null 2>&1 && break
	sleep 0.1
done
check "  backup-show reports its progress" bash -c \
	"cbtship backup-show --format json $bs | jq -e '.progress.bytes_total == .volume_size and .progress.bytes_done > 0' >/dev/null"
check "backup-reset-state --state error" cbtship backup-reset-state --state error "$bs"
rc=0
wait $rpid || rc=$?
cat "$tmp/r.err"
check "  the restore stopped (exit $rc)" test $rc -ne 0
check "  saying the destination is not usable" grep -q 'not usable' "$tmp/r.err"
check "  the backup is in error" test "$(cbtship backup-show --format json "$bs" | jq -r .status)" = error
check "reset it to available" cbtship backup-reset-state "$bs"
check "  (and delete it)" cbtship backup-delete "$bs"
rm -f "$tmp/slow.img" "$tmp/dest.img"

# ------------------------------------------------------------ faults
# The proxy killed mid-backup, longer than the retries last.
cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map2" --per-mille 100 --run-blocks 16 \
	--seed 7 >/dev/null
# A backup still running when the proxy goes: the incremental of 5 MiB is
# spooled and uploaded in well under a poll here, so a full of 256 MiB of
# noise (several 50 MiB packs, uploaded as they fill).
head -c $((256 << 20)) /dev/urandom >"$tmp/slow.img"
cbtship backup-create --wait --workers 1 --format json "$tmp/slow.img" \
	>"$tmp/b2.json" 2>"$tmp/b2.err" &
bpid=$!
for _ in $(seq 100); do
	[ "$(cbtship backup-list --format json | jq '[.[] | select(.status == "creating")] | length')" = 1 ] && break
	sleep 0.1
done
swift_server_kill proxy
check "service-list: swift, down, saying why" \
	bash -c "cbtship service-list --format json | jq -e '.[0].target_answers == false and (.[0].problem | test(\"refused\"))' >/dev/null"
rc=0
wait $bpid || rc=$?
check "a backup whose server died fails (exit $rc)" test $rc -ne 0
cat "$tmp/b2.err"
check "  with a message naming the request" grep -q -i 'swift\|connect\|refused' "$tmp/b2.err"
failed=$(cbtship backup-list --format json | jq -r '.[] | select(.status == "error") | .id')
check "  its record is in error" test -n "$failed"
check "  nothing new is available" test "$(available)" = 3
swift_server_restart proxy
check "  it deletes once the server is back" cbtship backup-delete "$failed"
rm -f "$tmp/slow.img"
cp --sparse=always "$img" "$tmp/v2"
check "the next incremental works" \
	bash -c "cbtship backup-create --wait --incremental --dirty-map '$tmp/map2' --format json '$img' >'$tmp/b2.json'"
b2=$(field "$tmp/b2.json" id)
check "  and restores" restored_equals "$b2" "$tmp/v2"

# The object server away for 3 s: 503s, retried.
cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map3" --per-mille 50 --run-blocks 16 \
	--seed 8 >/dev/null
cp --sparse=always "$img" "$tmp/v3"
swift_server_kill object
# The backup in the background; the restart in this shell, so that
# swift_server_stop knows the new server.
cbtship backup-create --wait --incremental --dirty-map "$tmp/map3" --format json "$img" >"$tmp/b3.json" &
bpid=$!
sleep 3
swift_server_restart object
rc=0
wait $bpid || rc=$?
check "a backup through 503s succeeds (retries; exit $rc)" test $rc = 0
b3=$(field "$tmp/b3.json" id)
check "  and restores" restored_equals "$b3" "$tmp/v3"
check "  the retries are in the log" grep -q 'swift:' "$CBTSHIP_STATE_DIR/log/cbtship.log"

# A wrong key.
write_conf "$tmp/bad.conf" not-the-key
rc=0
CBTSHIP_CONFIG=$tmp/bad.conf cbtship backup-create --wait "$img" >/dev/null 2>"$tmp/bad.err" || rc=$?
cat "$tmp/bad.err"
check "a wrong key fails (exit $rc)" test $rc -ne 0
check "  saying the credentials were refused" grep -q '401' "$tmp/bad.err"
check "  without the key" bash -c "! grep -q not-the-key '$tmp/bad.err'"
check "  nothing new is available" test "$(available)" = 5
check "no secret in the log" bash -c "! grep -q -e '$SWIFT_KEY' -e not-the-key '$CBTSHIP_STATE_DIR/log/cbtship.log'"

# ------------------------------------------------------------ deletes, GC
for id in "$b2" "$b0" "$bg" "$b3" "$b1"; do
	check "delete $id" cbtship backup-delete "$id"
done
check "collect the container" cbtship backup-collect
check "the container is empty" test "$(objects)" = 0
