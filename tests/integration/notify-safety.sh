#!/usr/bin/env bash
# Requires: jq, python3 (/usr/bin/python3), build/bin/cbtship.
# The events file (backup_events_file) cannot be turned against cbtship:
# a symbolic link planted at its path is not followed (its target is
# neither created nor written, the log says why); a FIFO nobody reads and
# a UNIX socket whose listener never accepts do not hold a backup up (the
# open does not block, connect and send time out); each backup still
# completes.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"

shipper_require_built cbtship
shipper_require_cmd jq timeout
[ -x /usr/bin/python3 ] || { echo "SKIP: /usr/bin/python3 is not installed"; exit 77; }

listener=
shipper_cleanup() { [ -z "$listener" ] || kill "$listener" 2>/dev/null || true; }
shipper_test_start
conf() { printf '[DEFAULT]\nbackup_events_file = %s\n' "$1" >"$tmp/cbtship.conf"; }
export CBTSHIP_CONFIG=$tmp/cbtship.conf
log=$CBTSHIP_STATE_DIR/log/cbtship.log
head -c $((8 << 20)) /dev/urandom >"$tmp/vol.img"
# backup_done SECONDS: a backup completes (available) within SECONDS.
backup_done() {
	local id
	id=$(timeout "$1" cbtship backup-create --wait --format json "$tmp/vol.img" | jq -r .id) &&
		test "$(cbtship backup-show --format json "$id" | jq -r .status)" = available
}

# ------------------------------------------------------------ a symbolic link
ln -s "$tmp/elsewhere" "$tmp/events-link"
conf "$tmp/events-link"
check "a backup with the events file a link to elsewhere" backup_done 60
check "  the link's target was not created" test ! -e "$tmp/elsewhere"
check "  the log says the events cannot be written" \
	grep -q "notifications to $tmp/events-link cannot be written: Too many levels of symbolic links" "$log"
printf 'keep\n' >"$tmp/elsewhere"
check "a link to an existing file: a backup" backup_done 60
check "  the file was not written" test "$(cat "$tmp/elsewhere")" = keep

# ------------------------------------------------------------ a FIFO nobody reads
mkfifo "$tmp/events-fifo"
conf "$tmp/events-fifo"
check "a FIFO without a reader as the events file: the backup completes" backup_done 60

# ------------------------------------------------------------ a socket never accepted
sock=$tmp/events.sock
/usr/bin/python3 - "$sock" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(0)
# Fill the backlog so that further connects wait; never accept.
held = []
for _ in range(4):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.setblocking(False)
    try:
        c.connect(sys.argv[1])
    except BlockingIOError:
        pass
    held.append(c)
open(sys.argv[1] + ".ready", "w").close()
time.sleep(600)
PY
listener=$!
for _ in $(seq 100); do [ -e "$sock.ready" ] && break; sleep 0.1; done
conf "$sock"
t0=$SECONDS
check "a socket whose listener never accepts: the backup completes" backup_done 60
echo "the backup took $((SECONDS - t0)) s"
check "  the log says the events cannot be written" \
	grep -q "notifications to $sock cannot be written: Resource temporarily unavailable" "$log"
echo PASS
