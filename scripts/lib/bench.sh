# shellcheck shell=bash
# bench.sh: what the host benchmarks (scripts/bench-*) share: the realistic
# image and its changes (build/bin/cbt-chunk-bench), a measured run (wall
# time, peak RSS, bytes read), and the peers restic and borg, each in a
# repository of its own. Source it; every function is bench_*.
#
# Measured runs: bench_run OUT CMD... leaves in OUT.wall (seconds, from the
# shell's clock), OUT.rss (peak RSS in KiB, /usr/bin/time %M), OUT.rchar and
# OUT.disk (the `rchar` and `read_bytes` of /proc/<pid>/io, taken by a bash
# wrapper before and after CMD: Linux adds a reaped child's I/O counters,
# threads included, to its parent's, so the difference is exactly CMD's:
# rchar is every byte its read calls returned, read_bytes what it made the
# block layer read, so holes and page-cache hits count in rchar only).

# The helper and its image generator.
BENCH_REPO=${BENCH_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BENCH_HELPER=$BENCH_REPO/build/bin/cbt-chunk-bench

bench_now() { date +%s.%N; }
bench_mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
bench_kib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1024 }'; }
bench_j() { jq -r "$2" "$1"; } # bench_j FILE FILTER

# bench_need CMD...: fail, naming them, when commands are missing.
bench_need() {
	local c missing=()
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "bench: missing ${missing[*]} (run scripts/setup)" >&2
	return 1
}

# bench_build_helper: (re)build build/bin/cbt-chunk-bench.
bench_build_helper() {
	make -s -C "$BENCH_REPO" build/bin/cbt-chunk-bench >/dev/null
}

# bench_make_image IMG SIZE SEED: a sparse image of extents 64 KiB..64 MiB,
# each random (incompressible), text (words, about 3-4x with zstd) or zero
# (a hole), about a third each. Prints a JSON object (size, random_bytes,
# text_bytes, zero_bytes).
bench_make_image() {
	"$BENCH_HELPER" make-image --image "$1" --size "$2" --seed "$3"
}

# bench_change IMG MAP PER_MILLE RUN_BLOCKS SEED: rewrite PER_MILLE/1000 of
# the 4 KiB blocks of IMG with random data in place, in non-overlapping runs
# of RUN_BLOCKS contiguous blocks (4 KiB-aligned starts), and write the exact
# dirty map to MAP ("OFFSET LENGTH" in bytes per line, touching runs merged).
bench_change() {
	"$BENCH_HELPER" mutate --image "$1" --dirty-out "$2" --per-mille "$3" \
		--run-blocks "$4" --seed "$5" >/dev/null
}

# bench_map_bytes MAP: the bytes a dirty map lists.
bench_map_bytes() { awk '!/^#/ && NF >= 2 { s += $2 } END { printf "%d\n", s }' "$1"; }

# bench_map_ranges MAP: its number of ranges.
bench_map_ranges() { awk '!/^#/ && NF >= 2 { n++ } END { printf "%d\n", n }' "$1"; }

# bench_map_blocks_touched MAP BLOCK: the distinct BLOCK-byte blocks (aligned)
# that the ranges of MAP touch.
bench_map_blocks_touched() {
	awk -v bs="$2" '!/^#/ && NF >= 2 && $2 > 0 {
		for (b = int($1 / bs); b <= int(($1 + $2 - 1) / bs); b++)
			if (!(b in seen)) { seen[b] = 1; n++ }
	} END { printf "%d\n", n }' "$1"
}

# bench_cinder_zlib IMAGE MAP: what cinder's chunked driver (cinder 21,
# backup/chunkeddriver.py) stores for an incremental: each distinct 32 KiB
# extent the ranges of MAP touch, read from IMAGE (as changed),
# zlib-compressed (its default backup_compression_algorithm, level 6),
# plus its per-backup sha256file (json.dumps(indent=2) of every 32 KiB
# block's SHA-256 in hex, uncompressed); prints the bytes.
bench_cinder_zlib() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, os, sys, zlib
seen, total = set(), 0
blocks = (os.path.getsize(sys.argv[1]) + 32767) // 32768
total += len(json.dumps({"sha256s": ["0" * 64] * blocks}, sort_keys=True, indent=2))
with open(sys.argv[1], "rb") as img:
    for line in open(sys.argv[2]):
        f = line.split()
        if line.startswith("#") or len(f) < 2 or int(f[1]) == 0:
            continue
        off, length = int(f[0]), int(f[1])
        for b in range(off // 32768, (off + length - 1) // 32768 + 1):
            if b not in seen:
                seen.add(b)
                img.seek(b * 32768)
                total += len(zlib.compress(img.read(32768), 6))
print(total)
PY
}

# bench_content JSON: one line describing the image bench_make_image made.
bench_content() {
	echo "$(bench_mib "$(bench_j "$1" .random_bytes)") MiB random," \
		"$(bench_mib "$(bench_j "$1" .text_bytes)") MiB text," \
		"$(bench_mib "$(bench_j "$1" .zero_bytes)") MiB zero (holes)"
}

# bench_drop_caches: write back and drop the page cache so that the next
# run reads from the disk; returns 1 when not permitted.
bench_drop_caches() {
	sync
	{ echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null
}

# bench_du DIR: bytes under DIR (du -sb), 0 when it does not exist.
bench_du() {
	if [ -e "$1" ]; then du -sb "$1" | cut -f1; else echo 0; fi
}

# bench_run OUT CMD...: run CMD (its stdin, stdout and stderr are the
# caller's) and record OUT.wall, OUT.rss, OUT.rchar, OUT.disk (see above).
# Returns CMD's exit status.
bench_run() {
	local out=$1 rc=0
	shift
	# shellcheck disable=SC2016 # expanded by the wrapper
	LC_ALL=C /usr/bin/time -f %M -o "$out.time-out" bash -c '
		out=$1
		shift
		snap() {
			local k v
			while read -r k v; do
				case $k in
				rchar:) r=$v ;;
				read_bytes:) b=$v ;;
				esac
			done </proc/$$/io
		}
		snap
		r0=$r b0=$b t0=$EPOCHREALTIME
		"$@"
		rc=$?
		t1=$EPOCHREALTIME
		snap
		echo $((r - r0)) >"$out.rchar"
		echo $((b - b0)) >"$out.disk"
		awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.3f\\n\", b - a }" >"$out.wall"
		exit $rc
	' bench-run "$out" "$@" || rc=$?
	# /usr/bin/time adds "Command exited with non-zero status N" first.
	tail -n 1 "$out.time-out" >"$out.rss"
	rm -f "$out.time-out"
	return $rc
}

# ------------------------------------------------------------ restic

# bench_restic_env DIR: a repository DIR/restic-repo (its cache beside it),
# password from the environment as restic wants it.
bench_restic_env() {
	export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$1/restic-repo
	export RESTIC_CACHE_DIR=$1/restic-cache
}

bench_restic_init() {
	rm -rf "$RESTIC_REPOSITORY" "$RESTIC_CACHE_DIR"
	restic init -q >/dev/null
}

# bench_restic_backup IMG NAME OUT: back IMG up as file NAME (from stdin, so
# one name across changed copies, as a volume would be: restic has no dirty
# map, it reads the whole file and stores the chunks it lacks). Measured as
# bench_run OUT; also OUT.stored: the growth of the repository (du -sb).
# Restic's defaults: repository version 2, compression auto (zstd).
bench_restic_backup() {
	local img=$1 name=$2 out=$3 before rc=0
	before=$(bench_du "$RESTIC_REPOSITORY")
	bench_run "$out" restic backup -q --stdin --stdin-filename "$name" \
		<"$img" >"$out.log" 2>&1 || rc=$?
	echo $(($(bench_du "$RESTIC_REPOSITORY") - before)) >"$out.stored"
	return $rc
}

# bench_restic_restore DIR OUT: restore the latest snapshot into DIR (the
# file is DIR/NAME); restic 0.14 writes every byte (no sparse restore).
bench_restic_restore() {
	bench_run "$2" restic restore -q latest --target "$1" >"$2.log" 2>&1
}

# ------------------------------------------------------------ borg

# bench_borg_env DIR: a repository DIR/borg-repo, borg's cache, config and
# security directories under DIR/borg-home.
bench_borg_env() {
	export BORG_REPO=$1/borg-repo BORG_BASE_DIR=$1/borg-home
	export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
	export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
	BENCH_BORG_COMPRESSION=${BENCH_BORG_COMPRESSION:-zstd}
}

bench_borg_init() {
	rm -rf "$BORG_REPO" "$BORG_BASE_DIR"
	borg init -e none >/dev/null 2>&1
}

# bench_borg_backup IMG NAME ARCHIVE OUT: archive ARCHIVE holding IMG as file
# NAME (from stdin, like restic), --compression $BENCH_BORG_COMPRESSION
# (default zstd, level 3), borg's default chunker (buzhash, about 2 MiB).
# Measured as bench_run OUT, plus OUT.stored.
bench_borg_backup() {
	local img=$1 name=$2 archive=$3 out=$4 before rc=0
	before=$(bench_du "$BORG_REPO")
	bench_run "$out" borg create --compression "$BENCH_BORG_COMPRESSION" \
		--stdin-name "$name" "::$archive" - <"$img" >"$out.log" 2>&1 || rc=$?
	echo $(($(bench_du "$BORG_REPO") - before)) >"$out.stored"
	return $rc
}

# bench_borg_restore ARCHIVE DIR OUT: extract ARCHIVE into DIR, zero runs
# left as holes (--sparse).
bench_borg_restore() {
	mkdir -p "$2"
	(cd "$2" && bench_run "$3" borg extract --sparse "::$1") >"$3.log" 2>&1
}
