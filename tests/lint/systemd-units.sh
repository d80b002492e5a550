#!/usr/bin/env bash
# Requires: systemd-analyze (systemd; no running systemd needed). The unit
# etc/systemd/cbtship-agent.service passes `systemd-analyze verify` (with
# /usr/bin/cbtship replaced by build/bin/cbtship or /bin/true when it is not
# installed, and man:cbtship(8) looked up in build/man when built), also
# together with stand-ins of libvirtd.service and libvirt-guests.service
# that pull it in (no ordering cycle); and it has the properties the
# packaging and the agent rely on: Type=notify, the ExecStart, modprobe
# dm-cbt first, ordered after the storage layers and before every
# hypervisor's guests, WantedBy=multi-user.target, Restart=on-failure,
# LogsDirectory/StateDirectory=cbtship.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze is not installed (systemd)"; exit 77; }
unit=etc/systemd/cbtship-agent.service
[ -f $unit ] || { echo "FAIL: $unit is missing"; exit 1; }

status=0
bad() {
	echo "FAIL: $*"
	status=1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --------------------------------------------------- systemd-analyze verify
bin=/usr/bin/cbtship
if [ ! -x $bin ]; then
	bin=/bin/true
	[ -x build/bin/cbtship ] && bin=$PWD/build/bin/cbtship
fi
mkdir -p "$tmp/units" "$tmp/man/man8"
sed "s#/usr/bin/cbtship #$bin #" $unit >"$tmp/units/cbtship-agent.service"
man=(--man=no)
if [ -f build/man/cbtship.8 ] && command -v man >/dev/null; then
	cp build/man/cbtship.8 "$tmp/man/man8/"
	man=(--man=yes)
fi
# Any output is a finding: verify only warns (exit 0) about, say, a
# misspelt unit name in Before=.
verify() {
	local out
	out=$(cd "$tmp/units" && MANPATH=$tmp/man systemd-analyze verify "${man[@]}" "$@" 2>&1)
	local rc=$?
	if [ $rc -ne 0 ] || [ -n "$out" ]; then
		bad "systemd-analyze verify $* (exit $rc): $out"
		return 1
	fi
	echo "ok: systemd-analyze verify $* (${man[*]}, ExecStart binary $bin)"
}
verify cbtship-agent.service

# Stand-ins of Debian's libvirt units (their ordering lines), each pulling
# the agent in: a cycle would be reported while building the transaction.
cat >"$tmp/units/libvirtd.service" <<'UNIT'
[Unit]
Description=stand-in of libvirtd.service
Wants=cbtship-agent.service
After=network.target local-fs.target remote-fs.target systemd-logind.service systemd-machined.service iscsid.service
[Service]
Type=simple
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
UNIT
cat >"$tmp/units/libvirt-guests.service" <<'UNIT'
[Unit]
Description=stand-in of libvirt-guests.service
Wants=libvirtd.service cbtship-agent.service
After=network.target time-sync.target libvirtd.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
[Install]
WantedBy=multi-user.target
UNIT
verify cbtship-agent.service libvirtd.service libvirt-guests.service

# ----------------------------------------------------------- the properties
# values KEY: the values of every KEY= line, one per line (continuations
# are not used in the unit).
values() { sed -n "s/^$1=//p" $unit | tr ' ' '\n' | sed '/^$/d'; }
has() { # has KEY VALUE: a KEY= line lists VALUE
	values "$1" | grep -qxF -- "$2" || bad "$unit: no $1=$2"
}
one() { # one KEY VALUE: exactly one KEY= line, equal to VALUE
	local got
	got=$(sed -n "s/^$1=//p" $unit)
	[ "$got" = "$2" ] || bad "$unit: $1 is '$got', want '$2'"
}
one Type notify
one ExecStart "/usr/bin/cbtship agent --log-file /var/log/cbtship/agent.log"
one ExecStartPre "-/sbin/modprobe dm-cbt"
one Restart on-failure
one LogsDirectory cbtship
one StateDirectory cbtship
has WantedBy multi-user.target
has Documentation "man:cbtship(8)"
for u in libvirtd.service libvirt-guests.service virtqemud.service pve-guests.service \
	nova-compute.service openstack-nova-compute.service; do
	has Before $u
done
for u in local-fs.target remote-fs.target systemd-modules-load.service lvm2-activation.service \
	lvm2-activation-early.service iscsi.service iscsid.service open-iscsi.service multipathd.service; do
	has After $u
done
# Nothing is both before and after, and no hard dependency on a hypervisor
# or storage unit that may not be installed.
both=$(comm -12 <(values Before | sort -u) <(values After | sort -u))
[ -z "$both" ] || bad "$unit: ordered both before and after: $both"
for k in Requires Requisite BindsTo PartOf; do
	[ -z "$(values $k)" ] || bad "$unit: $k= makes the agent depend on units that may be absent"
done
t=$(sed -n 's/^TimeoutStartSec=//p' $unit)
secs=$(systemd-analyze timespan "$t" 2>/dev/null | sed -n 's/^ *μs: *//p')
{ [ -n "$secs" ] && [ "$secs" -ge 300000000 ]; } ||
	bad "$unit: TimeoutStartSec=$t is shorter than 5 min (re-attaching many volumes)"
# The [Install] section is in the unit itself, the rest before it.
awk '/^\[/ { s = $0 } /^WantedBy=/ && s != "[Install]" { exit 1 }' $unit ||
	bad "$unit: WantedBy= outside [Install]"

[ $status -eq 0 ] && echo "PASS: $unit"
exit $status
