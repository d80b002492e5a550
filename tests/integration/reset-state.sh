#!/usr/bin/env bash
# Requires: jq, build/bin/cbtship, build/bin/cbt-chunk-bench.
# backup-reset-state --state available on the POSIX target asks the
# container: a backup in error becomes available again only when its
# manifest is there, of this backup, and agrees with the record. A
# missing manifest, another backup's manifest under its name, and a
# manifest whose tracking checkpoint, size or index root differs are each
# refused with a message naming the problem, and the record stays in
# error; with its own manifest back, it becomes available and restores.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"

shipper_require_built cbtship cbt-chunk-bench
shipper_require_cmd jq

shipper_test_start
container=$tmp/container
manifests=$container/manifests

status() { cbtship backup-show --format json "$1" | jq -r .status; }
# refused_saying TEXT ID: reset to available fails, says TEXT, and the backup stays in error.
refused_saying() {
	if cbtship backup-reset-state --state available "$2" 2>"$tmp/err"; then
		echo "accepted" >&2
		return 1
	fi
	cat "$tmp/err"
	grep -q -- "$1" "$tmp/err" && test "$(status "$2")" = error
}

img=$tmp/vol.img
cbt-chunk-bench make-image --image "$img" --size 16M --seed 5 >/dev/null
cp "$img" "$tmp/v0"
a=$(cbtship backup-create --wait --container "$container" --format json "$img" | jq -r .id)
cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map" --per-mille 50 --run-blocks 4 --seed 6 >/dev/null
b=$(cbtship backup-create --wait --container "$container" --format json "$img" | jq -r .id)
cp "$manifests/$a.json" "$tmp/a.json"

check "the backup is set to error by the operator" cbtship backup-reset-state --state error "$a"
mv "$manifests/$a.json" "$tmp/moved.json"
check "without its manifest it cannot be made available" \
	refused_saying "holds no manifest of this backup" "$a"
cp "$manifests/$b.json" "$manifests/$a.json"
check "nor with another backup's manifest under its name" \
	refused_saying "manifest of another backup" "$a"
jq '.tracking.generation = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" | .tracking.checkpoint = 7' \
	"$tmp/a.json" >"$manifests/$a.json"
check "nor with a manifest of another tracking checkpoint" \
	refused_saying "differs from the record in its tracking generation or checkpoint" "$a"
jq '.volume.size = 8388608 | .nr_chunks = (8388608 / .chunk_size)' "$tmp/a.json" >"$manifests/$a.json"
check "nor with a manifest of another size" refused_saying "in its volume size" "$a"
jq --arg r "$(jq -r .index.root "$manifests/$b.json")" '.index.root = $r' "$tmp/a.json" >"$manifests/$a.json"
check "nor with a manifest whose index root is another backup's" \
	refused_saying "in its index root" "$a"
cp "$tmp/a.json" "$manifests/$a.json"
check "with its own manifest back it becomes available" \
	cbtship backup-reset-state --state available "$a"
check "  it is available" test "$(status "$a")" = available
check "  and restores" bash -c "cmp \$(cbtship backup-restore --wait '$a') '$tmp/v0'"
echo PASS
