#!/usr/bin/env bash
# Requires: jq, build/bin/cbtship, build/bin/cbt-chunk-bench.
# Manifests are authenticated (POSIX target). The catalog keeps each
# backup's index root: restore and verify refuse a manifest whose root was
# swapped (zeros, or another backup's), saying so, and write nothing. An
# encrypted backup's manifest (version 2) carries a MAC under the key: a
# manifest changed in the container is refused even after the catalog was
# lost and rebuilt from that very manifest. An encrypted manifest of
# version 1 (written before MACs) still restores: the catalog's root
# check is then what protects it.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"

shipper_require_built cbtship cbt-chunk-bench
shipper_require_cmd jq

shipper_test_start
container=$CBTSHIP_STATE_DIR/backup/volumebackups
manifests=$container/manifests
catalog=$CBTSHIP_STATE_DIR/catalog.db
zeros=0000000000000000000000000000000000000000000000000000000000000000

lose_catalog() { rm -f "$catalog" "$catalog-wal" "$catalog-shm"; }
root_of() { jq -r .index.root "$manifests/$1.json"; }
set_root() { # ID ROOT: rewrite the manifest of ID with another index root
	jq --arg r "$2" '.index.root = $r' "$manifests/$1.json" >"$tmp/m.json"
	mv "$tmp/m.json" "$manifests/$1.json"
}
# refused_saying TEXT CMD...: CMD fails, says TEXT, and no restore image is left.
refused_saying() {
	local text=$1
	shift
	if "$@" >"$tmp/out" 2>"$tmp/err"; then
		echo "accepted" >&2
		return 1
	fi
	cat "$tmp/err"
	grep -q -- "$text" "$tmp/err" && test -z "$(ls -A "$CBTSHIP_STATE_DIR/restore" 2>/dev/null)"
}

img=$tmp/vol.img
cbt-chunk-bench make-image --image "$img" --size 16M --seed 3 >/dev/null
cp "$img" "$tmp/v0"
a=$(cbtship backup-create --wait --format json "$img" | jq -r .id)
cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map" --per-mille 50 --run-blocks 4 --seed 4 >/dev/null
b=$(cbtship backup-create --wait --format json "$img" | jq -r .id)
cp "$manifests/$a.json" "$tmp/a.json"

# ------------------------------------------------------------ plain: the catalog's root
set_root "$a" $zeros
check "a manifest whose root was zeroed is refused by restore" \
	refused_saying "the catalog recorded" cbtship backup-restore --wait "$a"
check "  and by verify" refused_saying "the catalog recorded" cbtship backup-verify "$a"
set_root "$a" "$(root_of "$b")"
check "a manifest with another backup's root is refused by restore" \
	refused_saying "names index root $(root_of "$b"), but the catalog recorded" \
	cbtship backup-restore --wait "$a"
check "  and by verify" refused_saying "the catalog recorded" cbtship backup-verify "$a"
check "  the backup is not marked damaged for it" \
	test "$(cbtship backup-show --format json "$a" | jq -r .status)" = available
cp "$tmp/a.json" "$manifests/$a.json"
check "with its own manifest back it restores" bash -c "cmp \$(cbtship backup-restore --wait '$a') '$tmp/v0'"
rm -f "$CBTSHIP_STATE_DIR"/restore/*
check "  and verifies" cbtship backup-verify "$a"

# ------------------------------------------------------------ encrypted: the MAC
head -c 32 /dev/urandom >"$tmp/key"
chmod 600 "$tmp/key"
e=$(cbtship backup-create --wait --encryption-key-file "$tmp/key" --format json "$img" | jq -r .id)
f=$(cbtship backup-create --wait --encryption-key-file "$tmp/key" --format json "$tmp/v0" | jq -r .id)
check "an encrypted manifest is of version 2 with a MAC" \
	test "$(jq -r '"\(.version) \(.mac | length)"' "$manifests/$e.json")" = "2 64"
check "a plain one has a null MAC" test "$(jq -r .mac "$manifests/$a.json")" = null
cp "$manifests/$e.json" "$tmp/e.json"
set_root "$e" "$(root_of "$f")"
check "an encrypted manifest with another backup's root is refused" \
	refused_saying "the catalog recorded" \
	cbtship backup-restore --wait --encryption-key-file "$tmp/key" "$e"
lose_catalog
check "the catalog lost and rebuilt from that manifest" cbtship catalog-rebuild
check "  the changed manifest is refused by its MAC on restore" \
	refused_saying "MAC is wrong under the key" \
	cbtship backup-restore --wait --encryption-key-file "$tmp/key" "$e"
check "  and on verify" refused_saying "MAC is wrong under the key" \
	cbtship backup-verify --encryption-key-file "$tmp/key" "$e"
jq --arg m 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef '.mac = $m' \
	"$tmp/e.json" >"$manifests/$e.json"
lose_catalog
cbtship catalog-rebuild >/dev/null
check "a MAC made up for the original manifest is refused too" \
	refused_saying "MAC is wrong under the key" \
	cbtship backup-restore --wait --encryption-key-file "$tmp/key" "$e"

# ------------------------------------------------------------ version 1
jq '.version = 1 | del(.mac)' "$tmp/e.json" >"$manifests/$e.json"
lose_catalog
cbtship catalog-rebuild >/dev/null
check "an encrypted manifest of version 1 (no MAC) still restores" bash -c \
	"cmp \$(cbtship backup-restore --wait --encryption-key-file '$tmp/key' '$e') '$img'"
rm -f "$CBTSHIP_STATE_DIR"/restore/*
set_root "$e" "$(root_of "$f")"
check "  and with its root swapped it is refused by the catalog's root" \
	refused_saying "the catalog recorded" \
	cbtship backup-restore --wait --encryption-key-file "$tmp/key" "$e"
echo PASS
