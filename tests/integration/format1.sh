#!/usr/bin/env bash
# Requires: jq, build/bin/cbtship, build/bin/cbt-chunk-bench,
# build/bin/cbt-store-tool. Repository format 1 after the move to format 2,
# on the POSIX target: a container written in format 1 by the test itself
# (CBTSHIP_WRITE_FORMAT=1, the format-1 code path kept for this: loose
# chunks/ and indexes/ objects, manifest version 1), a full and an
# incremental; then, as a format-2 cbtship: both restore byte for byte and
# verify; a damaged loose chunk is still found; export/import and
# catalog-rebuild bring them back; a new incremental continues the
# format-1 chain (its manifest is version 2, its new chunks go into packs,
# the unchanged ones stay the parent's loose objects) and restores; a
# format-2 full of the first image dedups against the loose chunks (stores
# next to nothing) and restores; deleting the format-1 backups keeps the
# loose chunks that full references.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"

shipper_require_built cbtship cbt-chunk-bench cbt-store-tool
shipper_require_cmd jq

shipper_test_start
container=$CBTSHIP_STATE_DIR/backup/volumebackups
catalog=$CBTSHIP_STATE_DIR/catalog.db

field() { jq -r ".$2" "$1"; }
loose() { { find "$container/chunks" "$container/indexes" -type f ! -name '.*' 2>/dev/null || true; } | wc -l; }
packs() { { find "$container/packs" -type f ! -name '.*' 2>/dev/null || true; } | wc -l; }
mversion() { jq -r .version "$container/manifests/$1.json"; }
restored_equals() { # BACKUP FILE
	local img rc
	img=$(cbtship backup-restore --wait "$1" 2>/dev/null)
	cmp "$img" "$2"
	rc=$?
	rm -f "$img"
	return $rc
}

img=$tmp/vol.img
cbt-chunk-bench make-image --image "$img" --size 48M --seed 5 >/dev/null
cp --sparse=always "$img" "$tmp/v0"

# ------------------------------------------------------------ the fixture: format 1
check "format-1 full backup" bash -c \
	"CBTSHIP_WRITE_FORMAT=1 cbtship backup-create --wait --format json '$img' >'$tmp/b0.json'"
b0=$(field "$tmp/b0.json" id)
cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map1" --per-mille 40 --run-blocks 4 \
	--seed 6 >/dev/null
cp --sparse=always "$img" "$tmp/v1"
check "format-1 incremental" bash -c "CBTSHIP_WRITE_FORMAT=1 cbtship backup-create --wait \
	--incremental --dirty-map '$tmp/map1' --format json '$img' >'$tmp/b1.json'"
b1=$(field "$tmp/b1.json" id)
check "  loose objects, no pack" bash -c "test $(loose) -gt 100 && test $(packs) = 0"
check "  manifests of version 1" bash -c "test $(mversion "$b0") = 1 && test $(mversion "$b1") = 1"
loose_before=$(loose)

# ------------------------------------------------------------ read by format 2
check "the format-1 full restores" restored_equals "$b0" "$tmp/v0"
check "the format-1 incremental restores" restored_equals "$b1" "$tmp/v1"
check "both verify" bash -c "cbtship backup-verify '$b0' && cbtship backup-verify '$b1'"
check "  reading them wrote nothing" bash -c "test $(loose) = $loose_before && test $(packs) = 0"

victim=$(find "$container/chunks" -type f ! -name '.*' -newer "$container/manifests/$b0.json" |
	sort | sed -n 1p)
cp "$victim" "$tmp/victim"
printf '\xff' | dd of="$victim" bs=1 seek=100 conv=notrunc status=none
refuse "a damaged loose chunk fails verify" cbtship backup-verify "$b1"
check "  counted as corrupt" bash -c \
	"cbtship backup-verify --format json '$b1' | jq -e '.chunks_corrupt == 1'"
cp "$tmp/victim" "$victim"
check "  repaired, it verifies" cbtship backup-verify "$b1"

check "export the format-1 incremental" bash -c "cbtship backup-export --format json $b1 >'$tmp/e1.json'"
rm -f "$catalog" "$catalog-wal" "$catalog-shm"
check "import it into an empty catalog" cbtship backup-import posix "$(field "$tmp/e1.json" backup_url)"
check "  it restores" restored_equals "$b1" "$tmp/v1"
rm -f "$catalog" "$catalog-wal" "$catalog-shm"
check "catalog-rebuild finds both" bash -c "cbtship catalog-rebuild | grep -q '2 backups found, 2 imported'"
check "  the full restores" restored_equals "$b0" "$tmp/v0"

# ------------------------------------------------------------ the chain goes on in format 2
cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map2" --per-mille 40 --run-blocks 4 \
	--seed 7 >/dev/null
cp --sparse=always "$img" "$tmp/v2"
check "a format-2 incremental on the format-1 chain" bash -c "cbtship backup-create --wait \
	--incremental --dirty-map '$tmp/map2' --format json '$img' >'$tmp/b2.json'"
b2=$(field "$tmp/b2.json" id)
check "  continues it (parent: the format-1 incremental)" test "$(field "$tmp/b2.json" parent_id)" = "$b1"
check "  read only the dirty chunks" test "$(field "$tmp/b2.json" bytes_read)" -lt $((16 << 20))
check "  its manifest is version 2" test "$(mversion "$b2")" = 2
check "  its new chunks went into packs" test "$(packs)" -ge 1
check "  the loose objects are untouched" test "$(loose)" = "$loose_before"
check "  it restores (packed and loose chunks)" restored_equals "$b2" "$tmp/v2"
check "  and verifies" cbtship backup-verify "$b2"
packed=$(cbt-store-tool --posix "$container" entries | awk '$4 == "chunk"' | wc -l)
check "  its chunks come from both formats (fewer packed than it references)" bash -c \
	"test $packed -gt 0 && test $packed -lt \$(cbtship backup-verify --format json '$b2' | jq .chunks_checked)"
check "a format-2 full in the same container" bash -c \
	"cbtship backup-create --wait --format json '$tmp/v0' >'$tmp/b3.json'"
b3=$(field "$tmp/b3.json" id)
check "  found its chunks loose: stored almost nothing" test "$(field "$tmp/b3.json" chunks_new)" -lt 10
check "  restores" restored_equals "$b3" "$tmp/v0"

# ------------------------------------------------------------ deletes
check "delete the format-2 incremental" cbtship backup-delete "$b2"
check "  collect the container" cbtship backup-collect
check "  the format-1 incremental still restores" restored_equals "$b1" "$tmp/v1"
check "delete the format-1 backups" bash -c "cbtship backup-delete '$b1' && cbtship backup-delete '$b0'"
check "  collect the container" cbtship backup-collect
check "  the format-2 full still restores" restored_equals "$b3" "$tmp/v0"
check "  no manifest of them is left" bash -c \
	"test ! -e '$container/manifests/$b0.json' && test ! -e '$container/manifests/$b1.json'"
