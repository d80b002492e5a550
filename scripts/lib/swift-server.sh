# shellcheck shell=bash
# A throwaway OpenStack Swift on 127.0.0.1 for tests: one replica, one
# device, memcached, TempAuth (user test:tester, key testing). Source it:
#
#   . scripts/lib/swift-server.sh
#   swift_server_start DIR     configs, rings and data under DIR; exports
#                              SWIFT_AUTH_URL, SWIFT_USER, SWIFT_KEY,
#                              SWIFT_PROXY_URL, SWIFT_ACCOUNT_URL,
#                              SWIFT_MEMCACHE_PORT
#   swift_server_stop          stop everything it started (by PID, in
#                              reverse order), idempotent
#   swift_server_kill NAME     SIGKILL one server (proxy, object, container,
#                              account, memcached) for fault tests
#   swift_server_restart NAME  start it again, wait until it answers
#   swift_server_restart_proxy shorthand for swift_server_restart proxy
#   swift_server_flush_tokens  drop every TempAuth token (memcached
#                              flush_all): clients see their token expire
#
# Safe under set -e. Every server is a child of the calling shell, bound
# to 127.0.0.1 only,
# with workers = 0 (one process each, so a PID is the whole server). The
# preferred ports are Swift's usual ones (8080, 6200-6202, 11211); a port
# already in use is replaced by a free one, so two test runs (or a system
# Swift) do not collide. Start-up fails with a message after about 30 s.
#
# Swift's Python is /usr/bin/python3 (Debian's python3-swift), not
# whatever python3 is first on PATH.

# shellcheck source=scripts/lib/ports.sh
. "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

SWIFT_PYTHON=${SWIFT_PYTHON:-/usr/bin/python3}
SWIFT_START_TIMEOUT=${SWIFT_START_TIMEOUT:-30}

declare -gA swift_pids=()
declare -gA swift_ports=()
swift_dir=

# swift_server_available: 0 when every program needed is installed; else
# prints what is missing.
swift_server_available() {
	local p missing=()

	for p in swift-proxy-server swift-object-server swift-container-server \
		swift-account-server memcached; do
		command -v "$p" >/dev/null || missing+=("$p")
	done
	"$SWIFT_PYTHON" -c 'import swift.common.ring' 2>/dev/null ||
		missing+=("python3-swift")
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "${missing[*]}"
	return 1
}


# swift_server_start DIR
swift_server_start() {
	local dir=$1 ports missing

	if ! missing=$(swift_server_available); then
		echo "swift_server_start: not installed: $missing (scripts/setup)" >&2
		return 1
	fi
	[ -n "$swift_dir" ] && { echo "swift_server_start: already started" >&2; return 1; }
	mkdir -p "$dir"/{etc,srv/d0,log,run} || return 1
	swift_dir=$(cd "$dir" && pwd)
	_swift_ensure_swift_conf || return 1
	_swift_check_xattr || return 1

	mapfile -t ports < <(pick_free_ports 8080 6200 6201 6202 11211)
	[ ${#ports[@]} -eq 5 ] || { echo "swift_server_start: no free ports" >&2; return 1; }
	swift_ports=([proxy]=${ports[0]} [object]=${ports[1]} [container]=${ports[2]}
		[account]=${ports[3]} [memcached]=${ports[4]})

	_swift_write_configs || return 1
	_swift_build_rings || return 1

	local name
	for name in memcached account container object proxy; do
		_swift_spawn "$name" || { swift_server_stop; return 1; }
	done
	for name in memcached account container object proxy; do
		_swift_wait_ready "$name" || { swift_server_stop; return 1; }
	done

	export SWIFT_PROXY_URL="http://127.0.0.1:${swift_ports[proxy]}"
	export SWIFT_AUTH_URL="$SWIFT_PROXY_URL/auth/v1.0"
	export SWIFT_USER=test:tester SWIFT_KEY=testing
	export SWIFT_ACCOUNT_URL="$SWIFT_PROXY_URL/v1/AUTH_test"
	export SWIFT_MEMCACHE_PORT=${swift_ports[memcached]}
}

# Swift reads /etc/swift/swift.conf at import, whatever swift_dir says.
_swift_ensure_swift_conf() {
	[ -f /etc/swift/swift.conf ] && return 0
	mkdir -p /etc/swift || return 1
	cat >/etc/swift/swift.conf <<-EOF || return 1
		[swift-hash]
		swift_hash_path_suffix = cbtship-test-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
		swift_hash_path_prefix =

		[storage-policy:0]
		name = Policy-0
		default = yes
	EOF
}

# The object server keeps metadata in user xattrs.
_swift_check_xattr() {
	local f=$swift_dir/srv/.xattr-probe

	: >"$f" || return 1
	if ! "$SWIFT_PYTHON" -c 'import os, sys; os.setxattr(sys.argv[1], "user.t", b"1")' "$f" \
		2>/dev/null; then
		rm -f "$f"
		echo "swift_server_start: $swift_dir does not support user xattrs" >&2
		return 1
	fi
	rm -f "$f"
}

_swift_write_configs() {
	local etc=$swift_dir/etc name

	for name in account container object; do
		cat >"$etc/$name-server.conf" <<-EOF || return 1
			[DEFAULT]
			bind_ip = 127.0.0.1
			bind_port = ${swift_ports[$name]}
			workers = 0
			user = root
			swift_dir = $etc
			devices = $swift_dir/srv
			mount_check = false
			log_name = $name-server
			log_level = WARNING
			disable_fallocate = true

			[pipeline:main]
			pipeline = $name-server

			[app:$name-server]
			use = egg:swift#$name

			[$name-replicator]
			[$name-auditor]
			[$name-updater]
			[object-reconstructor]
			[container-sync]
			[container-sharder]
		EOF
	done
	cat >"$etc/proxy-server.conf" <<-EOF || return 1
		[DEFAULT]
		bind_ip = 127.0.0.1
		bind_port = ${swift_ports[proxy]}
		workers = 0
		user = root
		swift_dir = $etc
		log_name = proxy-server
		log_level = WARNING

		[pipeline:main]
		pipeline = catch_errors healthcheck cache tempauth proxy-server

		[app:proxy-server]
		use = egg:swift#proxy
		account_autocreate = true
		# Fail fast when a backend is down, and use it again as soon as
		# it is back (tests stop servers on purpose; by default a node
		# is skipped for 60 s after 10 errors).
		conn_timeout = 0.5
		node_timeout = 5
		error_suppression_interval = 1

		[filter:catch_errors]
		use = egg:swift#catch_errors

		[filter:healthcheck]
		use = egg:swift#healthcheck

		[filter:cache]
		use = egg:swift#memcache
		memcache_servers = 127.0.0.1:${swift_ports[memcached]}

		[filter:tempauth]
		use = egg:swift#tempauth
		user_test_tester = testing .admin
		token_life = ${SWIFT_TOKEN_LIFE:-86400}
	EOF
}

# Three rings of one device each, in one Python process (nine
# swift-ring-builder runs take seconds).
_swift_build_rings() {
	"$SWIFT_PYTHON" - "$swift_dir/etc" "${swift_ports[account]}" "${swift_ports[container]}" \
		"${swift_ports[object]}" >"$swift_dir/log/rings.log" 2>&1 <<-'EOF' || {
			import sys
			from swift.common.ring import RingBuilder
			etc = sys.argv[1]
			for name, port in zip(("account", "container", "object"), sys.argv[2:]):
			    b = RingBuilder(6, 1, 1)
			    b.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1",
			               "port": int(port), "device": "d0", "weight": 100})
			    b.rebalance()
			    b.save("%s/%s.builder" % (etc, name))
			    b.get_ring().save("%s/%s.ring.gz" % (etc, name))
		EOF
		echo "swift_server_start: building the rings failed:" >&2
		cat "$swift_dir/log/rings.log" >&2
		return 1
	}
}

_swift_spawn() {
	local name=$1 log=$swift_dir/log/$1.log

	case $name in
	memcached)
		memcached -l 127.0.0.1 -p "${swift_ports[memcached]}" -U 0 -u root -m 64 \
			>>"$log" 2>&1 </dev/null &
		;;
	proxy | object | container | account)
		"$SWIFT_PYTHON" "/usr/bin/swift-$name-server" "$swift_dir/etc/$name-server.conf" \
			>>"$log" 2>&1 </dev/null &
		;;
	*)
		echo "swift_server: no server '$name'" >&2
		return 1
		;;
	esac
	swift_pids[$name]=$!
}

# Bounded wait until the server answers (proxy: /healthcheck says OK;
# others: the port accepts connections), or its process died.
_swift_wait_ready() {
	local name=$1 port=${swift_ports[$1]} pid=${swift_pids[$1]} deadline

	deadline=$((SECONDS + SWIFT_START_TIMEOUT))
	while [ $SECONDS -lt "$deadline" ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "swift_server_start: $name exited during start-up; its log:" >&2
			tail -n 30 "$swift_dir/log/$name.log" >&2
			return 1
		fi
		if [ "$name" = proxy ]; then
			[ "$(curl -s -m 2 "http://127.0.0.1:$port/healthcheck" 2>/dev/null)" = OK ] &&
				return 0
		elif (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "swift_server_start: $name (127.0.0.1:$port) not ready after" \
		"${SWIFT_START_TIMEOUT}s; its log:" >&2
	tail -n 30 "$swift_dir/log/$name.log" >&2
	return 1
}

_swift_stop_one() {
	local name=$1 sig=${2:-TERM} pid=${swift_pids[$1]:-} i

	[ -n "$pid" ] || return 0
	# Bounded: a server that ignores TERM for 5 s is killed. Stderr is
	# closed over the whole sequence to hide the shell's "Killed" notice,
	# printed whenever it notices the death.
	{
		kill "-$sig" "$pid" || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" || break
			sleep 0.1
		done
		kill -KILL "$pid" || true
		wait "$pid" || true
	} 2>/dev/null
	unset 'swift_pids[$name]'
}

swift_server_stop() {
	local name

	for name in proxy object container account memcached; do
		_swift_stop_one "$name"
	done
	swift_dir=
}

swift_server_kill() {
	_swift_stop_one "$1" KILL
}

swift_server_restart() {
	local name=$1

	[ -n "$swift_dir" ] || { echo "swift_server_restart: not started" >&2; return 1; }
	_swift_stop_one "$name"
	_swift_spawn "$name" && _swift_wait_ready "$name"
}

swift_server_restart_proxy() {
	swift_server_restart proxy
}

# Forget every token (and Swift's cached account/container info): the
# next request with an old token gets 401, as after token_life.
swift_server_flush_tokens() {
	local reply fd

	exec {fd}<>"/dev/tcp/127.0.0.1/${swift_ports[memcached]}" || return 1
	printf 'flush_all\r\n' >&"$fd"
	read -r -t 5 reply <&"$fd" || true
	exec {fd}>&-
	[ "${reply%$'\r'}" = OK ]
}
