#!/usr/bin/env bash
# Requires: jq, base64, sqlite3, build/bin/cbtship, build/bin/cbt-chunk-bench.
# backup-import validates what it imports (POSIX target). Crafted records
# (the exported backup_url decoded, changed with jq, encoded again), each
# refused with a message naming the problem and nothing written to the
# catalog: a record that differs from the container's manifest; a volume
# name that climbs out of /dev/mapper ("../sdb") or is not a clean path;
# a container outside the configured back end (an absolute directory
# outside backup_posix_path, "../.."); another project's volume; an
# import past the project's quota. With the container's manifest crafted
# too (someone who can write the container): a volume named after a file
# elsewhere is imported, but backup-restore --volume ID never writes
# there; an imported backup of a volume recorded here never changes its
# tracking generation and checkpoint. catalog-rebuild refuses a manifest
# naming its volume ../sdb the same way.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"

shipper_require_built cbtship cbt-chunk-bench
shipper_require_cmd jq base64 sqlite3

shipper_test_start
container=$CBTSHIP_STATE_DIR/backup/volumebackups
manifests=$container/manifests
db=$CBTSHIP_STATE_DIR/catalog.db

nbackups() { sqlite3 "$db" "SELECT COUNT(*) FROM backups"; }
nvolumes() { sqlite3 "$db" "SELECT COUNT(*) FROM volumes"; }
decode() { if [ $# -gt 0 ]; then base64 -d <<<"$1"; else base64 -d; fi; }
# craft URL JQ [ARGS...]: the record with JQ applied to it
craft() {
	local url=$1
	shift
	decode "$url" | jq -c "$@" | base64 -w0
}
# refused_saying TEXT URL: import fails, says TEXT, and the catalog is unchanged.
refused_saying() {
	local b v
	b=$(nbackups) v=$(nvolumes)
	if cbtship backup-import posix "$2" 2>"$tmp/err"; then
		echo "accepted" >&2
		return 1
	fi
	cat "$tmp/err"
	grep -q -- "$1" "$tmp/err" && test "$(nbackups)" = "$b" && test "$(nvolumes)" = "$v"
}
new_id() { cat /proc/sys/kernel/random/uuid; }

img=$tmp/vol.img
cbt-chunk-bench make-image --image "$img" --size 8M --seed 9 >/dev/null
a=$(cbtship backup-create --wait --format json "$img" | jq -r .id)
vol=$(cbtship backup-show --format json "$a" | jq -r .volume_id)
project=$(sqlite3 "$db" "SELECT project FROM backups WHERE id = '$a'")
url=$(cbtship backup-export --format json "$a" | jq -r .backup_url)
# A backup of the same data under a new id, in the container and its record.
stage() { # stage ID JQ [ARGS...]: manifests/ID.json from a's manifest with JQ; prints its record
	local id=$1
	shift
	jq --arg id "$id" '.backup_id = $id' "$manifests/$a.json" | jq "$@" >"$manifests/$id.json"
	craft "$url" --arg id "$id" '.manifest.backup_id = $id' | decode |
		jq -c --slurpfile m "$manifests/$id.json" '.manifest = $m[0] | .container = $m[0].container' |
		base64 -w0
}

# ------------------------------------------------------------ the record alone
id=$(new_id)
stage "$id" . >/dev/null
check "a record that differs from the container's manifest is refused" \
	refused_saying "its manifest of this backup differs from the record" \
	"$(craft "$url" --arg id "$id" --arg n "$tmp/victim" '.manifest.backup_id = $id | .manifest.volume.name = $n')"
rm "$manifests/$id.json"

id=$(new_id)
rec=$(stage "$id" '.volume.name = "../sdb" | .tracking.generation = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" | .tracking.checkpoint = 1 | .volume.id = "7c1b7c1e-0000-4000-8000-000000000001"')
check "a tracked volume named ../sdb is refused" \
	refused_saying 'volume.name "../sdb" is not a device-mapper name' "$rec"
rec=$(stage "$id" '.volume.name = "/dev/../etc/shadow" | .volume.id = "7c1b7c1e-0000-4000-8000-000000000002"')
check "an untracked volume named /dev/../etc/shadow is refused" \
	refused_saying "is not a clean absolute path" "$rec"
rec=$(stage "$id" '.container = "/etc" | .volume.id = "7c1b7c1e-0000-4000-8000-000000000003"')
check "a container outside backup_posix_path is refused" \
	refused_saying 'container "/etc" is not a container of the configured posix back end' "$rec"
rec=$(stage "$id" '.container = "../../.." | .volume.id = "7c1b7c1e-0000-4000-8000-000000000004"')
check "a container climbing out of it is refused" \
	refused_saying 'container "../../.." is not a container' "$rec"
rec=$(stage "$id" '.project = "mallory"')
check "a record attaching to another project's volume is refused" \
	refused_saying "is a volume of project .* the record's project is mallory" "$rec"

# ------------------------------------------------------------ quota
rec=$(stage "$id" '.')
check "quota-update --backups 1 for the project" \
	cbtship quota-update --backups 1 "$project"
check "an import past the project's quota is refused" refused_saying "quota" "$rec"
check "  with room again" \
	cbtship quota-update --backups 10 "$project"
check "  the same record imports" cbtship backup-import posix "$rec"
check "  and counts against the quota" test "$(cbtship quota-usage --format json \
	"$project" | jq .backups.in_use)" = 2

# ------------------------------------------------------------ the container crafted too
check "the volume recorded here has no tracking state" \
	test "$(sqlite3 "$db" "SELECT COALESCE(last_generation, '-') || ' ' || last_checkpoint FROM volumes WHERE id = '$vol'")" = "- 0"
id=$(new_id)
rec=$(stage "$id" '.volume.name = "vol" | .tracking.generation = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" | .tracking.checkpoint = 41 | .data_timestamp = "2099-01-01T00:00:00.000000Z" | .finished_at = "2099-01-01T00:00:00.000000Z" | .created_at = "2099-01-01T00:00:00.000000Z"')
check "a tracked backup of that volume, crafted, imports" cbtship backup-import posix "$rec"
check "  and leaves the volume's tracking state as it was" \
	test "$(sqlite3 "$db" "SELECT COALESCE(last_generation, '-') || ' ' || last_checkpoint FROM volumes WHERE id = '$vol'")" = "- 0"

printf 'precious\n' >"$tmp/victim"
id=$(new_id)
vid=7c1b7c1e-0000-4000-8000-0000000000ff
rec=$(stage "$id" --arg n "$tmp/victim" --arg v "$vid" '.volume.name = $n | .volume.id = $v')
check "a volume named after a file elsewhere, crafted in the container too, imports" \
	cbtship backup-import posix "$rec"
check "  its record is marked imported" \
	test "$(sqlite3 "$db" "SELECT imported FROM volumes WHERE id = '$vid'")" = 1
refuse "backup-restore --volume ID does not write to that origin" \
	cbtship backup-restore --wait --volume "$vid" "$id"
check "  saying why" bash -c "cbtship backup-restore --wait --volume '$vid' '$id' 2>&1 | grep -q 'recorded from an imported backup record'"
check "  the file is untouched" test "$(cat "$tmp/victim")" = precious
check "  and the backup is still available" \
	test "$(cbtship backup-show --format json "$id" | jq -r .status)" = available

# ------------------------------------------------------------ catalog-rebuild
id=$(new_id)
stage "$id" '.volume.name = "../sdb" | .tracking.generation = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" | .tracking.checkpoint = 1 | .volume.id = "7c1b7c1e-0000-4000-8000-000000000005"' >/dev/null
refuse "catalog-rebuild over a manifest naming its volume ../sdb fails for it" \
	bash -c "cbtship catalog-rebuild 2>'$tmp/rebuild.err'"
cat "$tmp/rebuild.err"
check "  saying why" grep -q "backup $id: its volume.name \"../sdb\" is not a device-mapper name" "$tmp/rebuild.err"
refuse "  and it is not in the catalog" cbtship backup-show "$id"
echo PASS
