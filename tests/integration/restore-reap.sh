#!/usr/bin/env bash
# Requires: jq, sqlite3, build/bin/cbtship.
# A restore whose process dies half way (SIGKILL) on the POSIX target:
# the agent's reap (cbtship agent --once) makes the backup available
# again, removes the new image file the restore had created, and marks a
# catalog volume the restore was overwriting unusable (status error,
# with the reason), saying so in its log.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"

shipper_require_built cbtship
shipper_require_cmd jq sqlite3 pkill

shipper_cleanup() { pkill -9 -f "cbtship .*$tmp" || true; }
shipper_test_start
db=$CBTSHIP_STATE_DIR/catalog.db
container=$tmp/container

status() { cbtship backup-show --format json "$1" | jq -r .status; }
# The pid of the running restore of backup $1, once it has written something.
restore_pid() {
	local pid
	for _ in $(seq 300); do
		pid=$(sqlite3 "$db" "SELECT pid FROM jobs WHERE backup_id = '$1' AND kind = 'restore' AND state = 'running'")
		if [ -n "$pid" ] &&
			[ "$(cbtship backup-show --format json "$1" | jq '.progress.bytes_done // 0')" -gt 0 ]; then
			echo "$pid"
			return 0
		fi
		sleep 0.05
	done
	echo "no running restore of $1" >&2
	return 1
}
kill_restore() { # BACKUP
	local pid
	pid=$(restore_pid "$1") || return 1
	kill -9 "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
	return 1
}

head -c $((256 << 20)) /dev/urandom >"$tmp/big.img"
check "a backup of a 256 MiB volume" bash -c \
	"cbtship backup-create --wait --compression zlib --container '$container' --format json '$tmp/big.img' >'$tmp/b.json'"
b=$(jq -r .id "$tmp/b.json")

# ------------------------------------------------------------ a new image file
img=$(cbtship backup-restore --workers 1 "$b")
check "a restore to a new image file starts" test -f "$img"
check "  its worker is killed half way" kill_restore "$b"
check "  the backup is left restoring" test "$(status "$b")" = restoring
check "the agent reaps it" cbtship agent --once --log-file "$tmp/agent.log"
check "  the backup is available again" test "$(status "$b")" = available
check "  the incomplete image file is removed" test ! -e "$img"
check "  the agent's log says so" grep -q "removed $img, the incomplete image" \
	"$tmp/agent.log"

# ------------------------------------------------------------ a catalog volume
truncate -s 256M "$tmp/dest.img"
check "a volume in the catalog for the destination" bash -c \
	"cbtship backup-create --wait --container '$container' '$tmp/dest.img' >/dev/null"
check "a restore over it starts" bash -c \
	"cbtship backup-restore --workers 1 --volume '$tmp/dest.img' '$b' >/dev/null 2>&1"
check "  its worker is killed half way" kill_restore "$b"
check "the agent reaps it" cbtship agent --once --log-file "$tmp/agent.log"
check "  the backup is available again" test "$(status "$b")" = available
check "  the destination volume is marked unusable" bash -c \
	"sqlite3 '$db' \"SELECT status, status_reason FROM volumes WHERE origin_path = '$tmp/dest.img'\" | grep -q '^error|the restore of backup $b died half way: .*not usable'"
check "  the destination file itself is kept" test -f "$tmp/dest.img"
check "  the restore record is cleared once settled" \
	test "$(sqlite3 "$db" "SELECT restore_path IS NULL FROM backups WHERE id = '$b'")" = 1
check "a restore that runs to its end still restores the volume" bash -c \
	"cmp \$(cbtship backup-restore --wait '$b') '$tmp/big.img'"
echo PASS
