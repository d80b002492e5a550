#!/usr/bin/env bash
# Requires: build/bin/cbtship, build/bin/cbt-chunk-bench, jq, sqlite3; for the
# Swift half a real Swift (scripts/lib/swift-server.sh). Collection in the
# background, between hosts (repo/gc.h, repo/lease.h):
#
# - backup-delete of one backup in a container of 50: under 2 s; the space
#   comes back at backup-collect (time measured against the garbage);
# - a listing that lacks a manifest the catalog knows as available stops
#   the collection before any delete;
# - two hosts (two state directories, two catalogs) sharing one POSIX
#   directory, then one Swift container: backups of the same data, deletes
#   and collections on both, concurrently for COLLECT_SECONDS (default 60);
#   every backup available at the end restores byte for byte;
# - collections with pack rewriting killed (SIGKILL) at random points, for
#   several seeds: every available backup still restores; a rerun finishes
#   (no unused pack byte left with backup_collect_max_unused = 0);
# - the agent collects a marked container;
# - the cost of a collection follows what changed (the reference counts):
#   none with no new garbage, one backup's own pages after its delete;
#   deleting the counts file rebuilds them with the same result.
# Every collection runs the test build with CBTSHIP_TEST_GC_VERIFY=1.
# COLLECT_SECTIONS="kills hosts ..." runs only those.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"
. scripts/lib/swift-server.sh

shipper_require_built cbtship cbt-chunk-bench
shipper_require_cmd jq sqlite3

swift_up=false
shipper_cleanup() { $swift_up && swift_server_stop; }
shipper_test_start
# The test build, each collection also checked against the full mark
# ($CBTSHIP_TEST_GC_VERIFY: the incremental counts and pack accounting
# must equal what marking everything finds, else the collection fails).
[ -x "$CBT_REPO/build/test-bin/cbtship" ] || {
	echo "build/test-bin/cbtship is not built (make)" >&2
	exit 1
}
PATH=$CBT_REPO/build/test-bin:$PATH
export CBTSHIP_TEST_GC_VERIFY=1

seconds=${COLLECT_SECONDS:-60}
seeds=${COLLECT_SEEDS:-6}
shared=$tmp/shared # the POSIX container both hosts use
mkdir -p "$shared"

# conf HOST SERVICE: the configuration of a host for a service.
conf() {
	local f=$tmp/$1-$2.conf
	if [ ! -f "$f" ]; then
		{
			echo "[DEFAULT]"
			echo "host = $1"
			echo "backup_lease_refresh_interval = 2"
			echo "backup_lease_stale_time = 20"
			echo "backup_collect_settle_time = 1"
			echo "backup_posix_pack_size = 1M"
			echo "backup_swift_object_size = 1048576"
			# Every pack holding garbage is rewritten: rewrites run all the time.
			echo "backup_collect_max_unused = 0"
			echo "backup_collect_interval = 2"
			echo "report_interval = 1"
			if [ "$2" = swift ]; then
				echo "backup_driver = swift"
				echo "backup_swift_auth_url = $SWIFT_AUTH_URL"
				echo "backup_swift_auth_version = 1"
				echo "backup_swift_user = $SWIFT_USER"
				echo "backup_swift_key = $SWIFT_KEY"
				echo "backup_swift_container = shared"
				echo "backup_swift_retry_attempts = 4"
				echo "backup_swift_retry_backoff = 1"
			else
				echo "backup_container = $shared"
			fi
		} >"$f"
		chmod 600 "$f"
	fi
	echo "$f"
}
# on HOST SERVICE cbtship-args...: cbtship as that host.
on() {
	local host=$1 svc=$2
	shift 2
	CBTSHIP_STATE_DIR=$tmp/$host CBTSHIP_CONFIG=$(conf "$host" "$svc") cbtship "$@"
}
available_ids() { # HOST SERVICE
	on "$1" "$2" backup-list --format json | jq -r '.[] | select(.status == "available") | .id'
}
restores() { # HOST SERVICE ID FILE
	local out rc
	out=$(on "$1" "$2" backup-restore --wait "$3" 2>"$tmp/restore.err") || {
		cat "$tmp/restore.err" >&2
		return 1
	}
	cmp "$out" "$4"
	rc=$?
	rm -f "$out"
	return $rc
}
# every_available_restores HOST SERVICE: each available backup against its copy.
every_available_restores() {
	local id n=0
	for id in $(available_ids "$1" "$2"); do
		restores "$1" "$2" "$id" "$tmp/copies/$id" || {
			echo "backup $id of $1 does not restore equal" >&2
			return 1
		}
		n=$((n + 1))
	done
	echo "  ($n available backups of $1 restored equal)"
}
container() { # SERVICE: the shared container's name
	if [ "$1" = swift ]; then echo shared; else echo "$shared"; fi
}
packs() { # SERVICE: the pack objects of the shared container
	if [ "$1" = swift ]; then
		local tok
		tok=$(curl -s -D - -o /dev/null -H "X-Auth-User: $SWIFT_USER" -H "X-Auth-Key: $SWIFT_KEY" \
			"$SWIFT_AUTH_URL" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-auth-token" { print $2 }')
		curl -s -H "X-Auth-Token: $tok" \
			"$SWIFT_ACCOUNT_URL/shared?format=json&prefix=packs/&limit=10000" | jq length
	else
		find "$shared/packs" -type f ! -name '.*' 2>/dev/null | wc -l
	fi
}

mkdir -p "$tmp/copies" "$tmp/work"
base=$tmp/base.img
cbt-chunk-bench make-image --image "$base" --size 4M --seed 11 >/dev/null

# backup_one HOST SERVICE SEED [UNIQUE]: a variant of the base image (a few
# runs changed by SEED, shared by the backups of the same SEED, and as many
# by UNIQUE), backed up; its copy kept under the backup id. So a deleted
# backup leaves packs partly live: they are rewritten. Prints the id.
backup_one() {
	local f=$tmp/work/$1-$3-${4:-0}.img id
	cp "$base" "$f"
	cbt-chunk-bench mutate --image "$f" --dirty-out /dev/null --per-mille 30 --run-blocks 4 \
		--seed "$3" >/dev/null
	if [ -n "${4:-}" ]; then
		cbt-chunk-bench mutate --image "$f" --dirty-out /dev/null --per-mille 30 \
			--run-blocks 4 --seed "$4" >/dev/null
	fi
	id=$(on "$1" "$2" backup-create --wait --format json "$f" 2>>"$tmp/$1.err" | jq -r .id) ||
		return 1
	[ -n "$id" ] && [ "$id" != null ] || return 1
	mv "$f" "$tmp/copies/$id"
	echo "$id"
}

# ------------------------------------------------------------ delete time, collection time
section_delete_time() { # SERVICE
	local svc=$1 ids=() i t0 t1 ms out
	for i in $(seq 1 50); do
		ids+=("$(backup_one A "$svc" $((1000 + i)))")
	done
	check "$svc: 50 backups in one container" test "$(available_ids A "$svc" | wc -l)" -ge 50
	t0=$(date +%s%N)
	check "$svc: delete one of them" on A "$svc" backup-delete "${ids[0]}"
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	echo "MEASURE $svc backup-delete in a container of 50 backups: $ms ms"
	check "$svc:   under 2 s ($ms ms)" test "$ms" -lt 2000
	check "$svc:   the container is marked for collection" \
		test "$(sqlite3 "$tmp/A/catalog.db" "SELECT COUNT(*) FROM garbage")" -ge 1
	# Rounds of garbage: that one backup, then 5 more, then 20 more (of the 50).
	local pos=1 k
	for k in 1 5 20; do
		for id in "${ids[@]:$pos:$((k == 1 ? 0 : k))}"; do
			on A "$svc" backup-delete "$id" 2>/dev/null
			rm -f "$tmp/copies/$id"
		done
		[ "$k" = 1 ] || pos=$((pos + k))
		out=$(on A "$svc" backup-collect --container "$(container "$svc")" --format json)
		echo "MEASURE $svc collect, garbage of $k deleted backups: $(echo "$out" |
			jq -c '.[0] | {seconds, manifests, pages_walked, refs_changed, packs,
			packs_touched, pack_bytes, pack_bytes_unused, packs_deleted, packs_rewritten,
			entries_copied}')"
		check "$svc:   collection done" test "$(echo "$out" | jq -r '.[0].result')" = done
	done
	check "$svc:   the rest restore" every_available_restores A "$svc"
	for id in $(available_ids A "$svc"); do
		on A "$svc" backup-delete "$id" 2>/dev/null
		rm -f "$tmp/copies/$id"
	done
	check "$svc:   collect everything" on A "$svc" backup-collect
	check "$svc:   no pack left" test "$(packs "$svc")" = 0
}

# ------------------------------------------------------------ a listing without a known manifest
section_listing() {
	local keep gone before
	keep=$(backup_one A posix 2001)
	gone=$(backup_one A posix 2002)
	check "posix: delete one backup (garbage)" on A posix backup-delete "$gone"
	mkdir -p "$tmp/hidden"
	mv "$shared/manifests/$keep.json" "$tmp/hidden/"
	before=$(packs posix)
	local rc=0
	on A posix backup-collect 2>"$tmp/listing.err" || rc=$?
	check "posix: collection with a known manifest missing from the listing fails ($rc)" \
		test "$rc" = 1
	check "  names the backup and deletes nothing" \
		grep -q "lacks the manifest of backup $keep.*nothing was deleted" "$tmp/listing.err"
	check "  no pack was deleted ($before)" test "$(packs posix)" = "$before"
	mv "$tmp/hidden/$keep.json" "$shared/manifests/"
	check "  with the manifest back, it collects" on A posix backup-collect
	check "  and the backup restores" restores A posix "$keep" "$tmp/copies/$keep"
	on A posix backup-delete "$keep" 2>/dev/null
	on A posix backup-collect >/dev/null
	rm -f "$tmp/copies/$gone" "$tmp/copies/$keep"
}

# ------------------------------------------------------------ the agent collects
section_agent() {
	local keep gone before pid i
	keep=$(backup_one G posix 6001 6002)
	gone=$(backup_one G posix 6001 6003)
	check "posix: delete a backup (host G)" on G posix backup-delete "$gone"
	rm -f "$tmp/copies/$gone"
	before=$(packs posix)
	(
		export CBTSHIP_STATE_DIR=$tmp/G CBTSHIP_CONFIG
		CBTSHIP_CONFIG=$(conf G posix)
		exec cbtship agent --log-file "$tmp/agent.log"
	) &
	pid=$! # cbtship itself (exec)
	for i in $(seq 60); do
		[ "$(sqlite3 "$tmp/G/catalog.db" "SELECT COUNT(*) FROM garbage")" = 0 ] && break
		sleep 0.5
	done
	kill -TERM "$pid"
	local st=0
	wait "$pid" || st=$?
	check "  the agent stopped on SIGTERM, status 0 ($st)" test "$st" = 0
	check "  the agent collected the marked container (mark cleared)" \
		test "$(sqlite3 "$tmp/G/catalog.db" "SELECT COUNT(*) FROM garbage")" = 0
	check "  its log says so" grep -q "collection of posix .*removed" "$tmp/agent.log"
	check "  packs went ($before before, $(packs posix) after)" test "$(packs posix)" -lt "$before"
	check "  the other backup restores" restores G posix "$keep" "$tmp/copies/$keep"
	on G posix backup-delete "$keep" 2>/dev/null
	rm -f "$tmp/copies/$keep"
	on G posix backup-collect >/dev/null
}

# ------------------------------------------------------------ two hosts, concurrently
host_loop() { # HOST SERVICE END: backups and deletes until END (epoch seconds)
	local host=$1 svc=$2 end=$3 n=0 id ids=() failed=0
	RANDOM=$((${#host} * 7919 + $$))
	while [ "$(date +%s)" -lt "$end" ]; do
		n=$((n + 1))
		if id=$(backup_one "$host" "$svc" $((RANDOM % 8 + 3000)) $((RANDOM + 100000))); then
			ids+=("$id")
		else
			failed=$((failed + 1))
		fi
		if [ ${#ids[@]} -gt 2 ] && [ $((RANDOM % 2)) = 0 ]; then
			local i=$((RANDOM % ${#ids[@]}))
			on "$host" "$svc" backup-delete "${ids[$i]}" 2>>"$tmp/$host.err" &&
				rm -f "$tmp/copies/${ids[$i]}"
			ids=("${ids[@]:0:$i}" "${ids[@]:$((i + 1))}")
			echo "delete" >>"$tmp/$host.deletes"
		fi
		# Backups come and go: a collection needs a moment with none starting.
		sleep "$((RANDOM % 3)).$((RANDOM % 10))"
	done
	echo "$n $failed" >"$tmp/$host.done"
}
collector_loop() { # SERVICE END
	local svc=$1 end=$2 rc host
	while [ "$(date +%s)" -lt "$end" ]; do
		for host in A B; do
			rc=0
			on "$host" "$svc" backup-collect --format json >>"$tmp/collect.json" 2>>"$tmp/collect.err" || rc=$?
			echo "$rc" >>"$tmp/collect.rc"
		done
		sleep 0.$((RANDOM % 10))
	done
}
section_two_hosts() { # SERVICE
	local svc=$1 end n deleted done yielded failed rc
	rm -f "$tmp"/A.* "$tmp"/B.* "$tmp/collect.json" "$tmp/collect.rc" "$tmp/collect.err"
	end=$(($(date +%s) + seconds))
	host_loop A "$svc" "$end" &
	local pa=$!
	host_loop B "$svc" "$end" &
	local pb=$!
	collector_loop "$svc" "$end" &
	local pc=$!
	wait $pa $pb $pc
	read -r n failed <"$tmp/A.done"
	read -r n2 failed2 <"$tmp/B.done"
	deleted=$(cat "$tmp/A.deletes" "$tmp/B.deletes" 2>/dev/null | wc -l)
	done=$(jq -s '[.[][] | select(.result == "done")] | length' "$tmp/collect.json")
	yielded=$(grep -c '^75$' "$tmp/collect.rc" || true)
	failed_c=$(grep -vc '^0$\|^75$' "$tmp/collect.rc" || true)
	echo "MEASURE $svc two hosts, ${seconds}s: backups A $n B $n2 (failed $failed, $failed2)," \
		"deletes $deleted, collections done $done, yielded $yielded, failed $failed_c;" \
		"deleted by the collections: $(jq -s '[.[][] | .packs_deleted] | add' "$tmp/collect.json") packs," \
		"rewritten $(jq -s '[.[][] | .packs_rewritten] | add' "$tmp/collect.json");" \
		"reference counts rebuilt by $(jq -s '[.[][] | select(.refs_rebuilt)] | length' "$tmp/collect.json")"
	check "$svc: no backup failed on either host" test "$failed" = 0 -a "$failed2" = 0
	check "$svc: no collection failed (yielding is fine)" test "$failed_c" = 0
	check "$svc: every available backup of host A restores byte for byte" every_available_restores A "$svc"
	check "$svc: every available backup of host B restores byte for byte" every_available_restores B "$svc"
	# A last collection on each host, quiet now: it finishes, and the rest still restore.
	for host in A B; do
		rc=0
		on "$host" "$svc" backup-collect --format json >>"$tmp/collect.json" \
			2>>"$tmp/collect.err" || rc=$?
		check "$svc: a final collection on $host" test "$rc" = 0
	done
	check "$svc: the collections removed or rewrote packs" \
		test "$(jq -s '[.[][] | .packs_deleted + .packs_rewritten] | add' "$tmp/collect.json")" -gt 0
	check "$svc: after it, host A's backups restore" every_available_restores A "$svc"
	check "$svc: after it, host B's backups restore" every_available_restores B "$svc"
	if [ "$svc" = posix ]; then
		check "$svc: no lease left" test -z "$(find "$shared/leases" -type f 2>/dev/null)"
	fi
}

# ------------------------------------------------------------ killed collections
section_kills() { # SERVICE
	local svc=$1 ids=() i s id pid ms out before
	for i in $(seq 1 16); do
		ids+=("$(backup_one K "$svc" $((4000 + i % 4)) $((5000 + i)))")
	done
	for s in $(seq 1 "$seeds"); do
		RANDOM=$s
		# Two more backups deleted: garbage spread over packs shared with the rest.
		for _ in 1 2; do
			i=$((RANDOM % ${#ids[@]}))
			on K "$svc" backup-delete "${ids[$i]}" 2>/dev/null
			rm -f "$tmp/copies/${ids[$i]}"
			ids=("${ids[@]:0:$i}" "${ids[@]:$((i + 1))}")
		done
		# Past the settle time (1 s) mostly: into the marking, deletes and rewrites.
		# (Swift is slower: auth, listings, one request per delete.)
		if [ "$svc" = swift ]; then
			ms=$((s == 1 ? RANDOM % 1500 : 1500 + RANDOM % 4000))
		else
			ms=$((s == 1 ? RANDOM % 1000 : 1000 + RANDOM % 800))
		fi
		before=$(packs "$svc")
		# exec: $! is cbtship itself, not a subshell waiting for it.
		(
			export CBTSHIP_STATE_DIR=$tmp/K CBTSHIP_CONFIG
			CBTSHIP_CONFIG=$(conf K "$svc")
			exec cbtship backup-collect >/dev/null 2>&1
		) &
		pid=$!
		sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
		if kill -KILL "$pid" 2>/dev/null; then
			echo "  seed $s: killed after $ms ms (packs: $before before, $(packs "$svc") after)"
		else
			echo "  seed $s: it had finished before $ms ms"
		fi
		wait "$pid" 2>/dev/null || true
		check "$svc: seed $s: every available backup still restores" every_available_restores K "$svc"
	done
	out=$(on K "$svc" backup-collect --container "$(container "$svc")" --format json)
	check "$svc: a rerun finishes" test "$(echo "$out" | jq -r '.[0].result')" = done
	out=$(on K "$svc" backup-collect --container "$(container "$svc")" --format json)
	echo "  after it: $(echo "$out" | jq -c '.[0] | {packs, pack_bytes, pack_bytes_unused}')"
	check "$svc:   nothing left to do" \
		test "$(echo "$out" | jq '.[0].packs_deleted + .[0].packs_rewritten')" = 0
	check "$svc:   no unused pack byte left (max_unused 0)" \
		test "$(echo "$out" | jq '.[0].pack_bytes_unused')" = 0
	check "$svc:   every available backup restores" every_available_restores K "$svc"
	for id in "${ids[@]}"; do
		on K "$svc" backup-delete "$id" 2>/dev/null
		rm -f "$tmp/copies/$id"
	done
	on K "$svc" backup-collect >/dev/null
}

# ------------------------------------------------------------ incremental cost
# The reference counts (repo/gc.h): a collection costs what changed, not
# the container. A chain of a full and 4 incrementals (4 MiB: one index
# page each); after a collection that counts everything, another with no
# new garbage walks no page and accounts no pack; deleting the last
# incremental walks its own page only; deleting the counts file makes the
# next collection rebuild them, with the same result.
section_incremental() {
	local img=$tmp/work/inc.img ids=() id i out out2 c
	c=$(container posix)
	cp "$base" "$img"
	id=$(on I posix backup-create --wait --format json "$img" | jq -r .id)
	ids+=("$id")
	cp "$img" "$tmp/copies/$id"
	for i in 1 2 3 4; do
		cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/inc.map" --per-mille 20 \
			--run-blocks 2 --seed $((7000 + i)) >/dev/null
		id=$(on I posix backup-create --wait --incremental --dirty-map "$tmp/inc.map" \
			--format json "$img" | jq -r .id)
		ids+=("$id")
		cp "$img" "$tmp/copies/$id"
	done
	check "posix: a full and 4 incrementals" test "${#ids[@]}" = 5
	out=$(on I posix backup-collect --container "$c" --format json)
	echo "MEASURE posix collect, first (counts everything): $(echo "$out" |
		jq -c '.[0] | {manifests, pages_walked, refs_changed, refs_rebuilt, packs, packs_touched}')"
	local pages=0 own
	for id in "${ids[@]}"; do
		pages=$((pages + $(jq '.index.pages' "$shared/manifests/$id.json")))
	done
	own=$(jq '.index.pages' "$shared/manifests/${ids[4]}.json")
	check "posix:   the first collection counts every page of the chain ($pages)" \
		test "$(echo "$out" | jq '.[0].pages_walked')" -ge "$pages"
	out=$(on I posix backup-collect --container "$c" --format json)
	echo "MEASURE posix collect, no new garbage: $(echo "$out" |
		jq -c '.[0] | {manifests, pages_walked, refs_changed, packs, packs_touched, seconds}')"
	check "posix:   a second one, with no new garbage, walks no page" \
		test "$(echo "$out" | jq '.[0].pages_walked')" = 0
	check "posix:   changes no count" test "$(echo "$out" | jq '.[0].refs_changed')" = 0
	check "posix:   and accounts no pack again (of $(echo "$out" | jq '.[0].packs'))" \
		test "$(echo "$out" | jq '.[0].packs_touched')" = 0
	check "posix:   packs are known" test "$(echo "$out" | jq '.[0].packs')" -gt 0
	on I posix backup-delete "${ids[4]}" 2>/dev/null
	rm -f "$tmp/copies/${ids[4]}"
	out=$(on I posix backup-collect --container "$c" --format json)
	echo "MEASURE posix collect, one incremental deleted: $(echo "$out" |
		jq -c '.[0] | {manifests, pages_walked, refs_changed, packs, packs_touched, packs_rewritten}')"
	check "posix:   deleting the last incremental walks its own pages only ($own)" \
		test "$(echo "$out" | jq '.[0].pages_walked')" = "$own" -a "$own" -gt 0
	check "posix:   changes at most its own page's counts (129)" \
		test "$(echo "$out" | jq '.[0].refs_changed')" -le 129
	check "posix:   accounts some packs, not all" \
		test "$(echo "$out" | jq '.[0].packs_touched > 0 and .[0].packs_touched <= .[0].packs')" = true
	out=$(on I posix backup-collect --container "$c" --format json)
	rm -f "$tmp/I/packs/"*.refs.sqlite*
	out2=$(on I posix backup-collect --container "$c" --format json)
	check "posix:   with the counts file deleted, the next collection rebuilds them" \
		test "$(echo "$out2" | jq '.[0].refs_rebuilt')" = true
	check "posix:   and finds the same (marked, packs, unused, nothing more to delete)" \
		test "$(echo "$out2" | jq -c '.[0] | [.objects_marked, .packs, .pack_bytes_unused, .packs_deleted, .packs_rewritten]')" = \
		"$(echo "$out" | jq -c '.[0] | [.objects_marked, .packs, .pack_bytes_unused, 0, 0]')"
	check "posix:   the chain restores" every_available_restores I posix
	for id in "${ids[@]:0:4}"; do
		on I posix backup-delete "$id" 2>/dev/null
		rm -f "$tmp/copies/$id"
	done
	on I posix backup-collect >/dev/null
}

# COLLECT_SECTIONS: some of delete, listing, agent, incremental, hosts, kills (default all).
want() { [ -z "${COLLECT_SECTIONS:-}" ] || [[ " $COLLECT_SECTIONS " == *" $1 "* ]]; }
if want delete; then section_delete_time posix; fi
if want listing; then section_listing; fi
if want agent; then section_agent; fi
if want incremental; then section_incremental; fi
if want hosts; then section_two_hosts posix; fi
if want kills; then section_kills posix; fi

if missing=$(swift_server_available); then
	swift_server_start "$tmp/swift"
	swift_up=true
	if want delete; then section_delete_time swift; fi
	if want hosts; then section_two_hosts swift; fi
	if want kills; then section_kills swift; fi
else
	echo "(Swift is not installed: $missing; the Swift half is skipped)"
fi
