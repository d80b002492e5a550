#!/usr/bin/env bash
# Requires: swift (proxy, object, container, account servers),
# python3-swift, memcached, curl, build/bin/cbt-store-tool. Host test of
# the Swift object store (store/swift) against a real Swift on
# 127.0.0.1 (scripts/lib/swift-server.sh): binary round trips (1 MiB,
# empty), exists/delete/missing keys, max_len, listings with a prefix
# beyond one 10,000-name page, a wrong key, an expired token (renewed, or
# refused when preconfigured), the proxy killed and restarted mid-series,
# the object server down for a while (503s), requests that still fail,
# and no secret ever in the tool's messages.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
cd "$CBT_REPO"
. scripts/lib/swift-server.sh

tool=build/bin/cbt-store-tool
[ -x $tool ] || { echo "SKIP: $tool is not built (make)"; exit 77; }
if ! missing=$(swift_server_available); then
	echo "SKIP: Swift is not installed: $missing (scripts/setup)"
	exit 77
fi
command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }

tmp=$(vm_test_tmpdir)
on_exit() {
	local rc=$?
	swift_server_stop
	[ $rc -eq 0 ] && rm -rf "$tmp"
	[ $rc -ne 0 ] && echo "(kept $tmp)" >&2
	exit $rc
}
trap on_exit EXIT

swift_server_start "$tmp/swift"
echo "Swift at $SWIFT_PROXY_URL"
export SWIFT_CONTAINER=cbt-test
# Every message of the tool is kept, to look for secrets at the end.
errlog=$tmp/all-stderr.log
: >"$errlog"

# st [VAR=VALUE...] ARGS...: run the tool; its stderr goes to $tmp/err
# (and the collected log).
st() {
	local envs=()
	while [[ $# -gt 0 && $1 == *=* ]]; do
		envs+=("$1")
		shift
	done
	local rc=0
	env "${envs[@]}" $tool "$@" 2>"$tmp/err" || rc=$?
	cat "$tmp/err" >>"$errlog"
	return $rc
}
err_has() { grep -qF -- "$1" "$tmp/err"; }
status_of() {
	local rc=0
	"$@" >/dev/null || rc=$?
	echo $rc
}

# ------------------------------------------------------------ round trips
head -c $((1 << 20)) /dev/urandom >"$tmp/big"
check "put 1 MiB of random bytes" st put vol/chunks/ab/big <"$tmp/big"
check "get it back byte for byte" bash -c "$tool get vol/chunks/ab/big | cmp - '$tmp/big'"
printf '%b' "$(printf '\\%03o' $(seq 0 255))" >"$tmp/bytes"
check "all 256 byte values" bash -c "$tool put bytes <'$tmp/bytes' && $tool get bytes | cmp - '$tmp/bytes'"
check "put an empty object" st put vol/empty </dev/null
check "get it: zero bytes" test "$(st get vol/empty | wc -c)" = 0
check "exists: 1" test "$(st exists vol/empty)" = 1
check "the object is in Swift, under its key" \
	test "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $(
		curl -s -D - -o /dev/null -H "X-Auth-User: $SWIFT_USER" -H "X-Auth-Key: $SWIFT_KEY" \
			"$SWIFT_AUTH_URL" | tr -d '\r' | sed -n 's/^X-Auth-Token: //Ip'
	)" "$SWIFT_ACCOUNT_URL/cbt-test/vol/chunks/ab/big")" = 200

check "get with max_len = size works" \
	bash -c "$tool get vol/chunks/ab/big $((1 << 20)) | cmp - '$tmp/big'"
check "get with max_len < size: -EFBIG" test "$(status_of st get vol/chunks/ab/big 1000)" = 1
check "  (errno 27)" err_has "(errno 27)"

# ------------------------------------------------------------ missing keys
check "delete" st delete vol/empty
check "exists after delete: 0" test "$(st exists vol/empty)" = 0
check "get a missing key: -ENOENT (exit 3)" test "$(status_of st get vol/empty)" = 3
check "  the message names the status and URL" \
	err_has "GET $SWIFT_ACCOUNT_URL/cbt-test/vol/empty: HTTP 404"
check "delete a missing key: -ENOENT (exit 3)" test "$(status_of st delete vol/empty)" = 3
check "invalid keys are refused (-EINVAL)" test "$(status_of st get ../x)" = 1

# ------------------------------------------------------------ listing
n=10050
start=$SECONDS
check "put $n objects in 16 threads" st put-many many/ $n 16
echo "    ($((SECONDS - start)) s)"
check "count of the prefix: $n (beyond one 10,000-name page)" test "$(st count many/)" = $n
st list many/ >"$tmp/list"
check "listing sorted and complete" \
	bash -c "LC_ALL=C sort -c '$tmp/list' && test \$(sort -u '$tmp/list' | wc -l) = $n"
check "first and last" test "$(head -n 1 "$tmp/list") $(tail -n 1 "$tmp/list")" = \
	"many/000000 many/$(printf %06d $((n - 1)))"
check "a narrower prefix: 50 names" test "$(st count many/0100)" = 50
check "a prefix across the page boundary" test "$(st count many/0099)" = 100
check "a prefix matching nothing" test "$(st count nothing/)" = 0
check "the whole container" test "$(st count)" = $((n + 2))
check "a sample reads back" st check-many many/ 200 8

# ------------------------------------------------------------ authentication
check "a wrong key is refused" \
	test "$(status_of st SWIFT_KEY=Wr0ng-K3y-zq9 SWIFT_RETRY_BACKOFF=0.1 list)" = 1
check "  with the status, the auth URL and the user" \
	err_has "authentication of test:tester at $SWIFT_AUTH_URL refused: HTTP 401"
check "  and without the key" bash -c "! grep -q 'Wr0ng-K3y-zq9' '$tmp/err'"

# The token vanishes (memcached flushed, as if token_life ran out) in the
# middle of a series: the store authenticates again and goes on.
st series expire/ 12 250 >"$tmp/series" &
pid=$!
sleep 1
check "tokens flushed" swift_server_flush_tokens
check "series across a token expiry" wait $pid
check "  all done" grep -q "series: 12/12" "$tmp/series"
check "  it re-authenticated" err_has "authenticating again"

# The same with 8 threads: the first to see the 401 authenticates, the
# others wait for it and use the new token.
st put-many expire-mt/ 600 8 &
pid=$!
sleep 1
check "tokens flushed again" swift_server_flush_tokens
check "8 threads across a token expiry" wait $pid
check "  re-authenticated once for all" test "$(grep -c 'authenticating again' "$tmp/err")" = 1
check "  every object there" test "$(st count expire-mt/)" = 600

token=$(curl -s -D - -o /dev/null -H "X-Auth-User: $SWIFT_USER" -H "X-Auth-Key: $SWIFT_KEY" \
	"$SWIFT_AUTH_URL" | tr -d '\r' | sed -n 's/^X-Auth-Token: //Ip')
check "a preconfigured storage URL and token" test "$(st SWIFT_AUTH_URL= \
	SWIFT_STORAGE_URL="$SWIFT_ACCOUNT_URL" SWIFT_TOKEN="$token" exists bytes)" = 1
swift_server_flush_tokens
check "  once expired: -EACCES, not renewable" test "$(status_of st SWIFT_AUTH_URL= \
	SWIFT_STORAGE_URL="$SWIFT_ACCOUNT_URL" SWIFT_TOKEN="$token" exists bytes)" = 1
check "  the message says 401, not renewable" err_has "HTTP 401 Unauthorized (the token was refused; without auth_url it cannot be renewed)"

# ------------------------------------------------------------ faults
fast=(SWIFT_RETRY_ATTEMPTS=5 SWIFT_RETRY_BACKOFF=0.5)

# The proxy killed (connections refused) for 2 s, then started again.
st "${fast[@]}" series proxy/ 20 200 >"$tmp/series" &
pid=$!
sleep 1
swift_server_kill proxy
sleep 2
check "proxy restarted" swift_server_restart_proxy
check "series across a proxy restart" wait $pid
check "  all done" grep -q "series: 20/20" "$tmp/series"
check "  after retries" err_has "retry 1 of 5"

# The object server stopped for 3 s: the proxy answers 503.
st "${fast[@]}" series objsrv/ 20 200 >"$tmp/series" &
pid=$!
sleep 1
swift_server_kill object
sleep 3
check "object server restarted" swift_server_restart object
check "series across 503s" wait $pid
check "  all done" grep -q "series: 20/20" "$tmp/series"
check "  503s were retried" err_has "HTTP 503"

# Still failing after the retries: clear messages.
swift_server_kill object
check "a put that keeps getting 503 fails" test "$(status_of st SWIFT_RETRY_ATTEMPTS=2 \
	SWIFT_RETRY_BACKOFF=0.1 put down/x </dev/null)" = 1
check "  naming method, URL, status and attempts" \
	err_has "PUT $SWIFT_ACCOUNT_URL/cbt-test/down/x: HTTP 503 Service Unavailable (gave up after 3 attempts)"
check "  after two retries" err_has "retry 2 of 2"
check "object server back" swift_server_restart object
swift_server_kill proxy
check "with the proxy down, open fails" test "$(status_of st SWIFT_RETRY_ATTEMPTS=1 \
	SWIFT_RETRY_BACKOFF=0.1 exists bytes)" = 1
check "  naming the auth URL and the refusal" \
	bash -c "grep -F 'GET $SWIFT_AUTH_URL' '$tmp/err' | grep -q 'Connection refused' \
	&& grep -q 'gave up after 2 attempts' '$tmp/err'"
check "proxy back" swift_server_restart_proxy
check "and the store works again" bash -c "$tool get bytes | cmp - '$tmp/bytes'"

# ------------------------------------------------------------ secrets
check "the tool printed messages (the check below means something)" test -s "$errlog"
check "no key in any message" bash -c "! grep -qF -e '$SWIFT_KEY' -e 'Wr0ng-K3y' '$errlog'"
check "no token in any message" bash -c "! grep -qE 'AUTH_tk[0-9a-f]+' '$errlog'"
