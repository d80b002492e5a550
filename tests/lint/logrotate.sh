#!/usr/bin/env bash
# Requires: logrotate, run as root (as the lint suite is). etc/logrotate.d/cbtship
# passes `logrotate -d` without an error, rotates the agent's log
# (/var/log/cbtship/*.log) and the commands' log weekly, 8 kept,
# compressed one rotation late, a fresh file 0640 root:adm; and its
# postrotate sends SIGHUP to cbtship-agent.service once per run, which is
# checked by running a copy of it on files in a temporary directory with a
# stand-in systemctl first on PATH (so no real agent is signalled).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
command -v logrotate >/dev/null || { echo "SKIP: logrotate is not installed (scripts/setup)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: not root (logrotate's create root adm)"; exit 77; }
conf=etc/logrotate.d/cbtship
[ -f $conf ] || { echo "FAIL: $conf is missing"; exit 1; }

status=0
bad() {
	echo "FAIL: $*"
	status=1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ------------------------------------------------------------ logrotate -d
out=$(logrotate -d -s "$tmp/state.d" $conf 2>&1)
rc=$?
[ $rc -eq 0 ] || bad "logrotate -d $conf exits $rc: $out"
if grep -qi '^error' <<<"$out"; then
	bad "logrotate -d $conf: $(grep -i '^error' <<<"$out")"
fi
grep -q 'rotating pattern: /var/log/cbtship/\*.log /var/lib/cbtship/log/cbtship.log *weekly (8 rotations)' <<<"$out" ||
	bad "logrotate -d does not show /var/log/cbtship/*.log and the commands' log weekly, 8 rotations: $out"
echo "ok: logrotate -d $conf"

# ------------------------------------------------------------ the settings
for d in weekly "rotate 8" compress delaycompress missingok notifempty "create 0640 root adm" sharedscripts; do
	grep -qxE "[[:space:]]*$d" $conf || bad "$conf: no '$d'"
done
grep -qxF "		systemctl kill -s HUP cbtship-agent.service >/dev/null 2>&1 || true" $conf ||
	bad "$conf: the postrotate is not 'systemctl kill -s HUP cbtship-agent.service ... || true'"

# ------------------------------------- a real rotation, in a temporary dir
getent group adm >/dev/null || { echo "SKIP: no group adm on this system"; exit 77; }
mkdir -p "$tmp/log" "$tmp/lib" "$tmp/bin"
cat >"$tmp/bin/systemctl" <<STUB
#!/bin/sh
echo "\$*" >>"$tmp/systemctl.calls"
STUB
chmod 755 "$tmp/bin/systemctl"
sed -e "s#/var/log/cbtship/#$tmp/log/#" -e "s#/var/lib/cbtship/log/#$tmp/lib/#" $conf >"$tmp/conf"
chmod 644 "$tmp/conf"
rotate() { PATH=$tmp/bin:$PATH logrotate -f -s "$tmp/state" "$tmp/conf" 2>&1 || bad "logrotate -f: exit $?"; }
calls() { wc -l <"$tmp/systemctl.calls" 2>/dev/null || echo 0; }

echo one >"$tmp/log/agent.log"
echo one >"$tmp/lib/cbtship.log"
rotate
{ [ -f "$tmp/log/agent.log.1" ] && [ ! -e "$tmp/log/agent.log.1.gz" ]; } ||
	bad "first rotation: no uncompressed agent.log.1 (delaycompress): $(ls "$tmp/log")"
[ -f "$tmp/lib/cbtship.log.1" ] || bad "first rotation: the commands' log was not rotated: $(ls "$tmp/lib")"
m=$(stat -c '%a %U %G' "$tmp/log/agent.log" 2>/dev/null)
[ "$m" = "640 root adm" ] || bad "the new agent.log is '$m', want '640 root adm'"
[ "$(calls)" = 1 ] || bad "postrotate ran $(calls) times for two logs, want 1 (sharedscripts)"
[ "$(head -n 1 "$tmp/systemctl.calls" 2>/dev/null)" = "kill -s HUP cbtship-agent.service" ] ||
	bad "postrotate called 'systemctl $(head -n 1 "$tmp/systemctl.calls" 2>/dev/null)'"

echo two >>"$tmp/log/agent.log"
rotate
{ [ -f "$tmp/log/agent.log.1" ] && [ -f "$tmp/log/agent.log.2.gz" ]; } ||
	bad "second rotation: want agent.log.1 and agent.log.2.gz: $(ls "$tmp/log")"
[ "$(zcat "$tmp/log/agent.log.2.gz" 2>/dev/null)" = one ] || bad "agent.log.2.gz does not hold the first log"

# Both logs are empty now (notifempty): nothing rotates, no signal.
: >"$tmp/lib/cbtship.log"
n=$(calls)
rotate
[ "$(calls)" = "$n" ] || bad "empty logs were rotated (notifempty)"
[ ! -e "$tmp/log/agent.log.3.gz" ] || bad "an empty agent.log was rotated (notifempty)"

# Without systemctl (no systemd), the postrotate still succeeds.
printf '#!/bin/sh\nexit 1\n' >"$tmp/bin/systemctl"
echo three >>"$tmp/log/agent.log"
out=$(PATH=$tmp/bin:$PATH logrotate -f -s "$tmp/state" "$tmp/conf" 2>&1) ||
	bad "logrotate fails when systemctl fails: $out"

[ $status -eq 0 ] && echo "PASS: $conf (logrotate -d, and four rotations of a copy)"
exit $status
