# shellcheck shell=bash
# A throwaway single-node Ceph (16.2) on 127.0.0.1 for tests: one mon, one
# memstore OSD, no mgr, cephx off, pool size 1. Source it:
#
#   . scripts/lib/ceph-server.sh
#   ceph_server_start DIR      config, mon and OSD data, logs under DIR;
#                              creates the pool "backups" (rbd pool init);
#                              exports CEPH_CONF (and CEPH_SERVER_DIR,
#                              CEPH_MON_HOST)
#   ceph_server_start_rgw      radosgw (beast) on 127.0.0.1 with a Swift
#                              user; exports RGW_URL, RGW_SWIFT_AUTH_URL,
#                              RGW_SWIFT_USER, RGW_SWIFT_KEY
#   ceph_server_stop           stop everything it started (by PID, in
#                              reverse order: rgw, osd, mon), idempotent
#   ceph_server_stop_osd       stop the OSD (SIGTERM: it tells the mon;
#                              memstore saves its data to DIR on the way)
#   ceph_server_start_osd      start it again, wait until it is up
#   ceph_server_stop_mon / ceph_server_start_mon   the same for the mon
#   ceph_cmd ARGS...           `ceph ARGS` bounded by CEPH_CMD_TIMEOUT
#   rbd_cmd ARGS...            `rbd ARGS`, bounded the same way
#
# Safe under set -e. Every daemon is a child of the calling shell, runs in
# the foreground (-f) and listens on 127.0.0.1 only. The mon prefers
# Ceph's usual ports (3300 msgr2, 6789 msgr1) and radosgw 7480; a port in
# use is replaced by a free one, so two test runs (or a system Ceph) do not
# collide. The OSD binds a free port of 6800-7300 by itself. The memstore
# OSD keeps its objects in RAM, capped at CEPH_MEMSTORE_BYTES (2 GiB).
# Start-up fails with the end of the daemon's log after CEPH_START_TIMEOUT
# seconds (60). Every ceph, rbd and radosgw-admin call is wrapped in
# `timeout`: they block forever when the mon is down.

# shellcheck source=scripts/lib/ports.sh
. "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

CEPH_START_TIMEOUT=${CEPH_START_TIMEOUT:-60}
CEPH_CMD_TIMEOUT=${CEPH_CMD_TIMEOUT:-20}
CEPH_MEMSTORE_BYTES=${CEPH_MEMSTORE_BYTES:-$((2 << 30))}
CEPH_PYTHON=${CEPH_PYTHON:-/usr/bin/python3}

declare -gA ceph_pids=()
declare -gA ceph_ports=()
ceph_dir=
ceph_osd_uuid=

# ceph_server_available: 0 when every program needed for the mon, the OSD
# and the clients is installed; else prints what is missing.
ceph_server_available() {
	local p missing=()

	for p in ceph-mon ceph-osd ceph rbd monmaptool uuidgen; do
		command -v "$p" >/dev/null || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "${missing[*]}"
	return 1
}

# ceph_rgw_available: the same for radosgw.
ceph_rgw_available() {
	local p missing=()

	for p in radosgw radosgw-admin curl; do
		command -v "$p" >/dev/null || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "${missing[*]}"
	return 1
}

ceph_cmd() {
	timeout -k 2 "$CEPH_CMD_TIMEOUT" ceph --connect-timeout "$CEPH_CMD_TIMEOUT" "$@"
}

rbd_cmd() {
	timeout -k 2 "$CEPH_CMD_TIMEOUT" rbd "$@"
}

_radosgw_admin() {
	timeout -k 2 "$CEPH_CMD_TIMEOUT" radosgw-admin "$@"
}


# ceph_server_start DIR
ceph_server_start() {
	local dir=$1 ports missing fsid

	if ! missing=$(ceph_server_available); then
		echo "ceph_server_start: not installed: $missing (scripts/setup)" >&2
		return 1
	fi
	[ -n "$ceph_dir" ] && { echo "ceph_server_start: already started" >&2; return 1; }
	mkdir -p "$dir"/{mon,osd/ceph-0,log,run,rgw} || return 1
	ceph_dir=$(cd "$dir" && pwd)

	mapfile -t ports < <(pick_free_ports 3300 6789)
	[ ${#ports[@]} -eq 2 ] || { echo "ceph_server_start: no free ports" >&2; ceph_dir=; return 1; }
	ceph_ports=([mon2]=${ports[0]} [mon1]=${ports[1]})
	fsid=$(uuidgen)
	_ceph_write_config "$fsid" || { ceph_dir=; return 1; }
	export CEPH_CONF=$ceph_dir/ceph.conf CEPH_SERVER_DIR=$ceph_dir
	export CEPH_MON_HOST="[v2:127.0.0.1:${ceph_ports[mon2]},v1:127.0.0.1:${ceph_ports[mon1]}]"

	{
		timeout 20 monmaptool --create --fsid "$fsid" --addv a "$CEPH_MON_HOST" \
			"$ceph_dir/monmap" &&
			timeout 20 ceph-mon --mkfs -i a --monmap "$ceph_dir/monmap"
	} >"$ceph_dir/log/mkfs.log" 2>&1 || {
		echo "ceph_server_start: creating the mon failed:" >&2
		tail -n 20 "$ceph_dir/log/mkfs.log" >&2
		ceph_server_stop
		return 1
	}
	_ceph_spawn mon || { ceph_server_stop; return 1; }

	# The OSD: registered with the mon (which waits until the mon
	# answers), made, started, then up.
	ceph_osd_uuid=$(uuidgen)
	local id deadline=$((SECONDS + CEPH_START_TIMEOUT))
	until id=$(ceph_cmd osd new "$ceph_osd_uuid" 2>>"$ceph_dir/log/mkfs.log"); do
		if [ $SECONDS -ge $deadline ] || ! kill -0 "${ceph_pids[mon]}" 2>/dev/null; then
			_ceph_start_failed mon "the mon does not answer"
			return 1
		fi
		sleep 0.2
	done
	[ "$id" = 0 ] || {
		echo "ceph_server_start: 'ceph osd new' gave OSD id '$id', not 0" >&2
		ceph_server_stop
		return 1
	}
	timeout 60 ceph-osd -i 0 --mkfs --osd-uuid "$ceph_osd_uuid" \
		>>"$ceph_dir/log/mkfs.log" 2>&1 || {
		echo "ceph_server_start: ceph-osd --mkfs failed:" >&2
		tail -n 20 "$ceph_dir/log/mkfs.log" >&2
		ceph_server_stop
		return 1
	}
	ceph_server_start_osd || { ceph_server_stop; return 1; }

	{
		ceph_cmd osd pool create backups 8 8 &&
			ceph_cmd osd pool set backups size 1 --yes-i-really-mean-it &&
			rbd_cmd pool init backups
	} >>"$ceph_dir/log/mkfs.log" 2>&1 || {
		echo "ceph_server_start: creating the pool 'backups' failed:" >&2
		tail -n 20 "$ceph_dir/log/mkfs.log" >&2
		ceph_server_stop
		return 1
	}
}

_ceph_write_config() {
	local fsid=$1

	cat >"$ceph_dir/ceph.conf" <<-EOF
		[global]
		fsid = $fsid
		mon host = [v2:127.0.0.1:${ceph_ports[mon2]},v1:127.0.0.1:${ceph_ports[mon1]}]
		auth cluster required = none
		auth service required = none
		auth client required = none
		# radosgw never starts with cephx off without this
		ms mon client mode = crc
		run dir = $ceph_dir/run
		admin socket = $ceph_dir/run/\$name.\$pid.asok
		log file = $ceph_dir/log/\$name.log
		log to stderr = false
		err to stderr = false
		mon data = $ceph_dir/mon/\$name
		osd data = $ceph_dir/osd/\$cluster-\$id
		osd objectstore = memstore
		memstore device bytes = $CEPH_MEMSTORE_BYTES
		osd pool default size = 1
		osd pool default min size = 1
		osd pool default pg num = 8
		osd pool default pgp num = 8
		osd pool default pg autoscale mode = off
		osd crush chooseleaf type = 0
		mon allow pool size one = true
		mon allow pool delete = true
		mon warn on pool no redundancy = false
		# start-up in seconds rather than 17 s
		paxos propose interval = 0.05
		paxos min wait = 0.01
		mon client hunt interval = 0.5

		[mon]
		public addr = 127.0.0.1

		[osd]
		public addr = 127.0.0.1
		cluster addr = 127.0.0.1
		# a clean stop unmounts memstore, which saves its objects to the
		# data dir (a fast shutdown would lose them all)
		osd fast shutdown = false

		[client.rgw.a]
		rgw data = $ceph_dir/rgw
		rgw frontends = beast endpoint=127.0.0.1:@RGW_PORT@
		rgw dns name = 127.0.0.1
	EOF
}

_ceph_spawn() {
	local name=$1 log=$ceph_dir/log/$1.out

	case $name in
	mon) ceph-mon -f -i a >>"$log" 2>&1 </dev/null & ;;
	osd) ceph-osd -f -i 0 >>"$log" 2>&1 </dev/null & ;;
	rgw) radosgw -f -n client.rgw.a >>"$log" 2>&1 </dev/null & ;;
	*)
		echo "ceph_server: no daemon '$name'" >&2
		return 1
		;;
	esac
	ceph_pids[$name]=$!
}

_ceph_logname() {
	case $1 in
	mon) echo mon.a ;;
	osd) echo osd.0 ;;
	rgw) echo client.rgw.a ;;
	esac
}

# _ceph_start_failed NAME WHY: say so with the daemon's output and log,
# stop everything, fail.
_ceph_start_failed() {
	local name=$1 why=$2

	echo "ceph_server_start: $name: $why; its output and log:" >&2
	tail -n 10 "$ceph_dir/log/$name.out" >&2 2>/dev/null
	tail -n 20 "$ceph_dir/log/$(_ceph_logname "$name").log" >&2 2>/dev/null
	ceph_server_stop
	return 1
}

# ceph_server_start_osd: start the OSD (after ceph_server_stop_osd), and
# wait until the mon says it is up.
ceph_server_start_osd() {
	local deadline=$((SECONDS + CEPH_START_TIMEOUT)) stat

	[ -n "$ceph_dir" ] || { echo "ceph_server_start_osd: not started" >&2; return 1; }
	[ -z "${ceph_pids[osd]:-}" ] || return 0
	_ceph_spawn osd || return 1
	while [ $SECONDS -lt $deadline ]; do
		if ! kill -0 "${ceph_pids[osd]}" 2>/dev/null; then
			echo "ceph_server_start_osd: the OSD exited during start-up; its log:" >&2
			tail -n 10 "$ceph_dir/log/osd.out" >&2
			tail -n 20 "$ceph_dir/log/osd.0.log" >&2
			unset 'ceph_pids[osd]'
			return 1
		fi
		stat=$(CEPH_CMD_TIMEOUT=5 ceph_cmd osd stat 2>/dev/null) || stat=
		[[ $stat == *"1 up"* ]] && return 0
		sleep 0.2
	done
	echo "ceph_server_start_osd: the OSD is not up after ${CEPH_START_TIMEOUT}s" \
		"(ceph osd stat: ${stat:-no answer}); its log:" >&2
	tail -n 20 "$ceph_dir/log/osd.0.log" >&2
	return 1
}

ceph_server_stop_osd() {
	_ceph_stop_one osd
}

ceph_server_stop_mon() {
	_ceph_stop_one mon
}

# ceph_server_start_mon: start the mon again (after ceph_server_stop_mon)
# and wait until it answers.
ceph_server_start_mon() {
	local deadline=$((SECONDS + CEPH_START_TIMEOUT))

	[ -n "$ceph_dir" ] || { echo "ceph_server_start_mon: not started" >&2; return 1; }
	[ -z "${ceph_pids[mon]:-}" ] || return 0
	_ceph_spawn mon || return 1
	until CEPH_CMD_TIMEOUT=5 ceph_cmd mon stat >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ] || ! kill -0 "${ceph_pids[mon]}" 2>/dev/null; then
			echo "ceph_server_start_mon: the mon does not answer; its log:" >&2
			tail -n 20 "$ceph_dir/log/mon.a.log" >&2
			return 1
		fi
		sleep 0.2
	done
}

# ceph_server_start_rgw: radosgw with a Swift subuser test:tester, key
# testing (auth answers 204 with X-Storage-Url; container names need 3+
# characters).
ceph_server_start_rgw() {
	local port missing deadline=$((SECONDS + CEPH_START_TIMEOUT))

	[ -n "$ceph_dir" ] || { echo "ceph_server_start_rgw: ceph is not started" >&2; return 1; }
	if ! missing=$(ceph_rgw_available); then
		echo "ceph_server_start_rgw: not installed: $missing (scripts/setup)" >&2
		return 1
	fi
	[ -z "${ceph_pids[rgw]:-}" ] || return 0
	port=$(pick_free_ports 7480) || return 1
	ceph_ports[rgw]=$port
	sed -i "s/endpoint=127.0.0.1:[^ ]*\$/endpoint=127.0.0.1:$port/" "$ceph_dir/ceph.conf"
	_ceph_spawn rgw || return 1
	until curl -s -m 2 -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ] || ! kill -0 "${ceph_pids[rgw]}" 2>/dev/null; then
			echo "ceph_server_start_rgw: radosgw (127.0.0.1:$port) not ready; its log:" >&2
			tail -n 10 "$ceph_dir/log/rgw.out" >&2
			tail -n 20 "$ceph_dir/log/client.rgw.a.log" >&2
			_ceph_stop_one rgw
			return 1
		fi
		sleep 0.2
	done
	{
		_radosgw_admin user create --uid=test --display-name="cbt test" &&
			_radosgw_admin subuser create --uid=test --subuser=test:tester --access=full &&
			_radosgw_admin key create --subuser=test:tester --key-type=swift --secret=testing
	} >"$ceph_dir/log/rgw-users.log" 2>&1 || {
		echo "ceph_server_start_rgw: creating the Swift user failed:" >&2
		tail -n 20 "$ceph_dir/log/rgw-users.log" >&2
		_ceph_stop_one rgw
		return 1
	}
	export RGW_URL="http://127.0.0.1:$port"
	export RGW_SWIFT_AUTH_URL="$RGW_URL/auth/1.0"
	export RGW_SWIFT_USER=test:tester RGW_SWIFT_KEY=testing
}

_ceph_stop_one() {
	local name=$1 sig=${2:-TERM} pid=${ceph_pids[$1]:-} i

	[ -n "$pid" ] || return 0
	# Bounded: a daemon that ignores TERM for 10 s is killed (a memstore
	# OSD writes its objects to disk on a clean stop). Stderr is closed
	# to hide the shell's "Killed" notice.
	{
		kill "-$sig" "$pid" || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" || break
			sleep 0.1
		done
		kill -KILL "$pid" || true
		wait "$pid" || true
	} 2>/dev/null
	unset 'ceph_pids[$name]'
}

ceph_server_stop() {
	local name

	for name in rgw osd mon; do
		_ceph_stop_one "$name"
	done
	ceph_dir=
}
