#!/usr/bin/env bash
# Requires: jq, python3, build/bin/cbtship, build/bin/cbt-chunk-bench.
# Notifications (backup_events_file): backup.create.start/.progress/.end
# and backup.restore.start/.end as JSON lines in a file, with progress
# every backup_timer_interval; a failed backup's end says error and why;
# the same lines reach a UNIX socket listening at that path; an events
# file that cannot be written never fails a backup.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"

shipper_require_built cbtship cbt-chunk-bench
shipper_require_cmd jq

listener=
shipper_cleanup() { [ -z "$listener" ] || kill "$listener" 2>/dev/null; }
shipper_test_start

events=$tmp/events.jsonl
conf() { # conf EVENTS-PATH
	printf '[DEFAULT]\nbackup_events_file = %s\nbackup_timer_interval = 1\n' "$1" >"$tmp/cbtship.conf"
}
conf "$events"
export CBTSHIP_CONFIG=$tmp/cbtship.conf
names() { jq -r .event "$1" | uniq | tr '\n' ' '; }

head -c $((96 << 20)) /dev/urandom >"$tmp/vol.img"
check "a backup" bash -c "cbtship backup-create --wait --workers 1 --compression zlib --format json \
	'$tmp/vol.img' >'$tmp/b.json'"
b=$(jq -r .id "$tmp/b.json")
names "$events"
check "  start, progress, end, in that order" \
	bash -c "[[ '$(names "$events")' =~ ^backup.create.start\ (backup.create.progress\ )+backup.create.end\ $ ]]"
check "  every line is one JSON object naming the backup" \
	test "$(jq -r .backup_id "$events" | sort -u)" = "$b"
check "  the end says available, all bytes done" \
	test "$(tail -n 1 "$events" | jq -r '.status + " " + (.bytes_done == .bytes_total | tostring)')" = "available true"

: >"$events"
img=$(cbtship backup-restore --wait "$b")
check "a restore: start and end" \
	bash -c "[[ '$(names "$events")' =~ ^backup.restore.start\ (backup.restore.progress\ )*backup.restore.end\ $ ]]"
check "  the end says available" test "$(tail -n 1 "$events" | jq -r .status)" = available
rm -f "$img"

# A failed backup: its end says error and why.
: >"$events"
mkdir -p "$tmp/full"
if mount -t tmpfs -o size=4m tmpfs "$tmp/full" 2>/dev/null; then
	refuse "a backup to a full target fails" cbtship backup-create --wait --container "$tmp/full" "$tmp/vol.img"
	umount "$tmp/full"
	check "  its end says error, with the reason" \
		test "$(tail -n 1 "$events" | jq -r '.event + " " + .status + " " + (.fail_reason | test("space") | tostring)')" = "backup.create.end error true"
else
	echo "(no tmpfs mount here: the failed-backup notification is not checked)"
fi

# A UNIX socket at that path.
sock=$tmp/events.sock
/usr/bin/python3 - "$sock" "$tmp/from-socket" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8)
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        c, _ = s.accept()
        while (d := c.recv(65536)):
            out.write(d)
        c.close()
PY
listener=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
conf "$sock"
check "a backup notifying a socket" cbtship backup-create --wait --incremental "$tmp/vol.img"
sleep 0.5
check "  the listener got start and end" \
	bash -c "[[ '$(names "$tmp/from-socket")' =~ ^backup.create.start\ .*backup.create.end\ $ ]]"

conf /nonexistent-dir/events.jsonl
check "an events file that cannot be written does not fail a backup" \
	cbtship backup-create --wait --incremental "$tmp/vol.img"
check "  the log says so" grep -q 'notifications to /nonexistent-dir' "$CBTSHIP_STATE_DIR/log/cbtship.log"
