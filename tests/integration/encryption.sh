#!/usr/bin/env bash
# Requires: build/bin/cbtship, build/bin/cbt-chunk-bench, jq, python3. Host
# test of encrypted backups (AES-256-GCM, HMAC chunk ids) of an image file
# in a POSIX container: key file checks, full and incremental backups
# restored byte for byte, no plaintext in the stored objects, restore with
# a missing or wrong key refused before the destination is touched, a
# tampered chunk failing authentication, delete with garbage collection,
# and an unencrypted backup in the same container.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
. "$(dirname "$0")/../lib/shipper-test.sh"
cd "$CBT_REPO"

shipper_require_built cbtship cbt-chunk-bench cbt-store-tool
shipper_require_cmd jq python3 sqlite3

shipper_test_start

field() { jq -r ".$2" "$1"; }
objects() { { find "$1/chunks" "$1/indexes" "$1/packs" -type f ! -name '.*' 2>/dev/null || true; } | wc -l; }
container=$CBTSHIP_STATE_DIR/backup/volumebackups
pattern=CBTSHIP-KNOWN-PLAINTEXT-PATTERN

# An image with a recognisable repeated string in its middle (compressible,
# so zstd-then-encrypt is exercised too) and random data elsewhere.
img=$tmp/vol.img
cbt-chunk-bench make-image --image "$img" --size 32M --seed 11 >/dev/null
{ yes "$pattern" || true; } | head -c $((4 << 20)) | dd of="$img" bs=1M seek=8 conv=notrunc status=none
head -c 32 /dev/urandom >"$tmp/key"
chmod 600 "$tmp/key"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/other.key"
echo >>"$tmp/other.key"
chmod 400 "$tmp/other.key"

# ------------------------------------------------------------ key file checks
chmod 644 "$tmp/key"
refuse "a key file readable by others" bash -c \
	"cbtship backup-create --wait --encryption-key-file '$tmp/key' '$img' 2>'$tmp/err'"
check "  naming the file and its mode" grep -q "$tmp/key has mode 0644" "$tmp/err"
chmod 600 "$tmp/key"
head -c 31 /dev/urandom >"$tmp/short.key"
chmod 600 "$tmp/short.key"
refuse "a key file of the wrong length" bash -c \
	"cbtship backup-create --wait --encryption-key-file '$tmp/short.key' '$img' 2>'$tmp/err'"
check "  saying so" grep -q "31 bytes" "$tmp/err"
check "no backup record left by the refusals" \
	test "$(cbtship backup-list --format json | jq length)" = 0

# ------------------------------------------------------------ full + incremental
check "encrypted full backup" bash -c \
	"cbtship backup-create --wait --encryption-key-file '$tmp/key' --format json '$img' >'$tmp/e0.json'"
e0=$(field "$tmp/e0.json" id)
check "manifest: hmac-sha256, aes-256-gcm, a fingerprint" bash -c \
	"jq -e '.hashing == \"hmac-sha256\" and .encryption == \"aes-256-gcm\" and (.key_fingerprint | length) == 64' '$container/manifests/$e0.json'"
check "the manifest holds no key bytes" bash -c \
	"! grep -q \"\$(od -An -tx1 '$tmp/key' | tr -d ' \n')\" '$container/manifests/$e0.json'"
cp --sparse=always "$img" "$tmp/vol.v0"
cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map1" --per-mille 10 --run-blocks 1 \
	--seed 5 >/dev/null
check "encrypted incremental" bash -c \
	"cbtship backup-create --wait --incremental --dirty-map '$tmp/map1' --encryption-key-file '$tmp/key' \
		--format json '$img' >'$tmp/e1.json'"
e1=$(field "$tmp/e1.json" id)
check "  is incremental on the full" test "$(field "$tmp/e1.json" parent_id)" = "$e0"
refuse "an incremental under another key" bash -c \
	"cbtship backup-create --wait --incremental --encryption-key-file '$tmp/other.key' '$img' 2>'$tmp/err'"
check "  saying why" grep -q "another key" "$tmp/err"
refuse "an incremental without the key" bash -c \
	"cbtship backup-create --wait --incremental '$img' 2>'$tmp/err'"
check "  saying why" grep -q "encrypted" "$tmp/err"

check "restored full equals the original" bash -c \
	"cmp \$(cbtship backup-restore --wait --encryption-key-file '$tmp/key' '$e0') '$tmp/vol.v0'"
check "restored incremental equals the changed image" bash -c \
	"cmp \$(cbtship backup-restore --wait --encryption-key-file '$tmp/key' '$e1') '$img'"
rm -f "$CBTSHIP_STATE_DIR"/restore/*
check "verify with the key" cbtship backup-verify --encryption-key-file "$tmp/key" "$e1"
check "the key from the configuration works too" bash -c \
	"printf '[cbtship]\nbackup_encryption_key_file = %s\n' '$tmp/key' >'$tmp/cbtship.conf' &&
	 CBTSHIP_CONFIG='$tmp/cbtship.conf' cbtship backup-verify '$e0'"

# ------------------------------------------------------------ no plaintext stored
check "the image holds the pattern" grep -q "$pattern" "$img"
check "no stored object holds the pattern" bash -c \
	"! grep -rlq '$pattern' '$container/chunks' '$container/indexes' '$container/packs'"
cbt-store-tool --posix "$container" entries "$tmp/key" >"$tmp/entries"
check "every stored object is flagged encrypted" python3 - "$container" "$tmp/entries" <<'PY'
import os, struct, sys
bad = 0
for d in ("chunks", "indexes"):
    for root, _, files in os.walk(os.path.join(sys.argv[1], d)):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                if fh.read(12)[11] != 3:
                    bad += 1
# Packs: every entry, and the table (found through the trailer), are chunk objects.
packs = {}
for line in open(sys.argv[2]):
    key, off, length, _, _ = line.split()
    packs.setdefault(key, []).append(int(off))
for root, _, files in os.walk(os.path.join(sys.argv[1], "packs")):
    for f in files:
        if f.startswith("."):
            continue
        key = os.path.relpath(os.path.join(root, f), sys.argv[1])
        b = open(os.path.join(root, f), "rb").read()
        table = struct.unpack_from("<Q", b, len(b) - 16)[0]
        for off in packs.get(key, []) + [table]:
            if b[off + 11] != 3:
                bad += 1
        if not packs.get(key):
            bad += 1  # a pack whose table could not be read
sys.exit(bad != 0)
PY

# ------------------------------------------------------------ missing, wrong key
refuse "restore without the key" bash -c "cbtship backup-restore --wait '$e0' 2>'$tmp/err'"
check "  says the backup is encrypted and how to give the key" \
	grep -q "is encrypted.*--encryption-key-file" "$tmp/err"
check "  and created no file" test -z "$(ls "$CBTSHIP_STATE_DIR/restore" 2>/dev/null)"
refuse "restore with the wrong key" bash -c \
	"cbtship backup-restore --wait --encryption-key-file '$tmp/other.key' '$e0' 2>'$tmp/err'"
check "  says it is another key" grep -q "another key" "$tmp/err"
check "  and created no file" test -z "$(ls "$CBTSHIP_STATE_DIR/restore" 2>/dev/null)"
head -c $((32 << 20)) /dev/zero >"$tmp/dest.img"
refuse "restore over a file with the wrong key" cbtship backup-restore --wait \
	--encryption-key-file "$tmp/other.key" --volume "$tmp/dest.img" "$e0"
check "  left it untouched" cmp "$tmp/dest.img" <(head -c $((32 << 20)) /dev/zero)
refuse "restore over a file without a key" cbtship backup-restore --wait --volume "$tmp/dest.img" "$e0"
check "  left it untouched" cmp "$tmp/dest.img" <(head -c $((32 << 20)) /dev/zero)
refuse "verify without the key" cbtship backup-verify "$e0"
refuse "verify with the wrong key" cbtship backup-verify --encryption-key-file "$tmp/other.key" "$e0"
check "the backups are still available" bash -c \
	"cbtship backup-show --format json $e0 | jq -e '.status == \"available\"'"

# ------------------------------------------------------------ an unencrypted backup alongside
check "an unencrypted backup in the same container" bash -c \
	"cbtship backup-create --wait --format json '$tmp/vol.v0' >'$tmp/p0.json'"
p0=$(field "$tmp/p0.json" id)
check "  manifest says sha256, none" bash -c \
	"jq -e '.hashing == \"sha256\" and .encryption == \"none\" and .key_fingerprint == null' '$container/manifests/$p0.json'"
check "  restores without a key" bash -c "cmp \$(cbtship backup-restore --wait '$p0') '$tmp/vol.v0'"
rm -f "$CBTSHIP_STATE_DIR"/restore/*
refuse "an encrypted incremental on an unencrypted parent" \
	cbtship backup-create --wait --incremental --encryption-key-file "$tmp/key" "$tmp/vol.v0"

# ------------------------------------------------------------ tampering
# What an attacker would do: change a ciphertext byte and fix both CRCs.
# The first chunk of a pack only the incremental wrote (its packs of chunks,
# not its pack of index pages).
(cd "$container" && find packs -type f ! -name '.*' -newer "manifests/$e0.json" \
	! -newer "manifests/$e1.json") >"$tmp/newer"
read -r vpack voff vlen _ vid <<<"$(cbt-store-tool --posix "$container" entries "$tmp/key" |
	awk 'NR == FNR { p[$1] = 1; next } ($1 in p) && $4 == "chunk"' "$tmp/newer" - | sort | sed -n 1p)"
check "a chunk only the incremental wrote" test -n "$vpack"
victim=$container/$vpack
cp "$victim" "$tmp/victim.orig"
python3 - "$victim" "$voff" "$vlen" <<'PY'
import struct, sys, zlib
p, e, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
b = bytearray(open(p, "rb").read())
b[e + 64 + 12 + 3] ^= 0x01
struct.pack_into("<I", b, e + 20, zlib.crc32(bytes(b[e + 64:e + n])))
struct.pack_into("<I", b, e + 60, zlib.crc32(bytes(b[e:e + 60])))
open(p, "wb").write(b)
PY
refuse "verify finds the tampered chunk" bash -c \
	"cbtship backup-verify --encryption-key-file '$tmp/key' --format json $e1 >'$tmp/v.json'"
check "  as failing authentication" bash -c \
	"jq -e '.chunks_corrupt >= 1 and ([.bad[] | select(.chunk == \"$vid\" and (.problem | test(\"authentication\")))] | length) == 1' '$tmp/v.json'"
refuse "restore stops at it" bash -c \
	"cbtship backup-restore --wait --encryption-key-file '$tmp/key' $e1 2>'$tmp/err'"
check "  naming the chunk: failed authentication" \
	grep -q "chunk $vid.*failed authentication" "$tmp/err"
check "  and leaves no restored file" test -z "$(ls "$CBTSHIP_STATE_DIR/restore")"
cp "$tmp/victim.orig" "$victim"
check "with the chunk repaired, verify passes" \
	cbtship backup-verify --encryption-key-file "$tmp/key" "$e1"
check "  (the failed restore left it in error: make it available again)" \
	cbtship backup-reset-state --state available "$e1"

# ------------------------------------------------------------ delete, GC
before=$(objects "$container")
check "delete the plain backup (no key needed)" cbtship backup-delete "$p0"
refuse "collection without the key (nothing deleted)" bash -c \
	"cbtship backup-collect 2>'$tmp/err'"
check "  says which backup needs a key" grep -q "is encrypted.*nothing was deleted" "$tmp/err"
check "  no object was deleted ($before)" test "$(objects "$container")" = "$before"
check "  the container stays marked for collection" \
	test "$(sqlite3 "$CBTSHIP_STATE_DIR/catalog.db" "SELECT COUNT(*) FROM garbage")" = 1
check "  the encrypted backups still verify" \
	cbtship backup-verify --encryption-key-file "$tmp/key" "$e0"
check "collect again with the key finishes it" \
	cbtship backup-collect --encryption-key-file "$tmp/key"
check "  and collected its objects" test "$(objects "$container")" -lt "$before"
check "delete the encrypted full" cbtship backup-delete --encryption-key-file "$tmp/key" "$e0"
check "  collect" cbtship backup-collect --encryption-key-file "$tmp/key"
check "the incremental still has every object it references" \
	cbtship backup-verify --encryption-key-file "$tmp/key" "$e1"
check "  and restores" bash -c \
	"cmp \$(cbtship backup-restore --wait --encryption-key-file '$tmp/key' '$e1') '$img'"
rm -f "$CBTSHIP_STATE_DIR"/restore/*
check "delete the encrypted incremental" cbtship backup-delete --encryption-key-file "$tmp/key" "$e1"
check "  collect" cbtship backup-collect --encryption-key-file "$tmp/key"
check "container has no chunk or index page left" test "$(objects "$container")" = 0
check "no manifest left" test "$(find "$container/manifests" -type f | wc -l)" = 0
