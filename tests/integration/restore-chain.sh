#!/usr/bin/env bash
# Requires: build/bin/cbtship, build/bin/cbt-chunk-bench, jq, cmp. A chain
# of incrementals restores from the packs of every backup in it, which also
# hold entries later backups replaced: on POSIX (a local store) the restore
# reads only the entries it needs, so the last of 4 incrementals (2%
# scattered writes each) fetches no more than a full backup of the same
# data into a fresh container (index pages aside: 2% more at most), and
# both restore equal to the image. With the gaps read over (as for Swift),
# the chain fetched 1.5x.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"

shipper_require_built cbtship cbt-chunk-bench
shipper_require_cmd jq cmp

shipper_test_start
img=$tmp/vol.img
cbt-chunk-bench make-image --image "$img" --size 64M --seed 1 >/dev/null

backup() { # backup CONTAINER NAME [MAP]
	local args=(--wait --format json --container "$1" --name "$2")
	[ $# -ge 3 ] && args+=(--incremental --dirty-map "$3")
	cbtship backup-create "${args[@]}" "$img" >"$tmp/$2.json"
	test "$(jq -r .status "$tmp/$2.json")" = available
}
# fetched NAME: restore backup NAME, compare it with the image, print bytes_fetched.
fetched() {
	cbtship backup-restore --wait --format json "$(jq -r .id "$tmp/$1.json")" >"$tmp/r-$1.json"
	cmp "$img" "$(jq -r .destination "$tmp/r-$1.json")" >&2
	rm -f "$(jq -r .destination "$tmp/r-$1.json")"
	jq -r .bytes_fetched "$tmp/r-$1.json"
}

check "a full backup" backup "$tmp/chain" full
for i in 1 2 3 4; do
	cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/m$i" --per-mille 20 \
		--run-blocks 1 --seed $((10 + i)) >/dev/null
	check "incremental $i" backup "$tmp/chain" "incr-$i" "$tmp/m$i"
done
check "a full of the same data into a fresh container" backup "$tmp/fresh" fresh
chain=$(fetched incr-4)
fresh=$(fetched fresh)
echo "bytes fetched: the chain's last $chain, the fresh full $fresh"
check "both restore equal (cmp above) and report what they fetched" \
	test "$chain" -gt 0 -a "$fresh" -gt 0
check "the chain fetches at most 2% more than the fresh full" \
	test "$chain" -le $((fresh + fresh / 50))
