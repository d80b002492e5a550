#!/usr/bin/env bash
# Requires: ceph-mon, ceph-osd, ceph-common (ceph, rbd), python3,
# build/bin/cbt-rbd-tool, build/bin/cbt-chunk-bench. Host test of the RBD
# backup target (driver/ceph/rbd-image.c) against a real single-node Ceph on 127.0.0.1
# (scripts/lib/ceph-server.sh): a full backup of a 64 MiB image with holes
# and two incrementals writing only their dirty ranges (one zeroes a
# range across RADOS objects, one grows the volume), one snapshot each,
# named as cinder names them; the changes between snapshots are exactly
# the dirty ranges; every snapshot restores byte for byte through the
# extent walk, leaving holes; snapshots removed in random order, the rest
# still restore, the image goes with the last one; a wrong pool, bad
# names, a missing snapshot; the OSD stopped in the middle of a backup,
# and the mon stopped: each fails within the timeout with a message
# naming what failed, and the cluster works again once restarted.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
cd "$CBT_REPO"
. scripts/lib/ceph-server.sh

for tool in build/bin/cbt-rbd-tool build/bin/cbt-chunk-bench; do
	[ -x $tool ] || { echo "SKIP: $tool is not built (make)"; exit 77; }
done
if ! missing=$(ceph_server_available); then
	echo "SKIP: Ceph is not installed: $missing (scripts/setup)"
	exit 77
fi
[ -x /usr/bin/python3 ] || { echo "SKIP: /usr/bin/python3 is not installed"; exit 77; }

PATH=$CBT_REPO/build/bin:$PATH
tmp=$(vm_test_tmpdir)
on_exit() {
	local rc=$?
	ceph_server_stop
	[ $rc -eq 0 ] && rm -rf "$tmp"
	[ $rc -ne 0 ] && echo "(kept $tmp)" >&2
	exit $rc
}
trap on_exit EXIT

start=$SECONDS
ceph_server_start "$tmp/ceph"
echo "Ceph up in $((SECONDS - start)) s (CEPH_CONF=$CEPH_CONF)"

# The tool's messages go to $tmp/err.
rt() { cbt-rbd-tool "$@" 2>"$tmp/err"; }
err_has() { grep -qF -- "$1" "$tmp/err"; }
now() { date +%s.%N; }
elapsed() { /usr/bin/python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$@"; }
# check_diff DIFF MAP OLD NEW PREV_EXTENTS: the change librbd reports
# between two snapshots (DIFF, "OFFSET LENGTH EXISTS" lines) against the
# dirty map written (MAP) and the image files before and after (OLD, NEW):
# every 4 KiB block that differs is in DIFF; DIFF touches only the 4 MiB
# RADOS objects MAP touches; in the objects that had data at the older
# snapshot had data (PREV_EXTENTS) DIFF is MAP, byte for byte (an object
# created or extended since is reported up to its new end).
check_diff() {
	/usr/bin/python3 - "$@" <<-'EOF'
		import sys
		OBJ, BLK = 4 << 20, 4096
		def load(path, only_existing=False):
		    r = sorted((int(f[0]), int(f[0]) + int(f[1])) for f in
		               (l.split() for l in open(path) if l.strip())
		               if not only_existing or f[2] == "1")
		    out = []
		    for s, e in r:
		        if out and s <= out[-1][1]:
		            out[-1][1] = max(out[-1][1], e)
		        else:
		            out.append([s, e])
		    return out
		def clip(ranges, lo, hi):
		    return [[max(s, lo), min(e, hi)] for s, e in ranges if s < hi and e > lo]
		def covered(ranges, s, e):
		    return any(a <= s and e <= b for a, b in ranges)
		def objects(ranges):
		    return {o for s, e in ranges for o in range(s // OBJ, (e - 1) // OBJ + 1)}
		diff, dirty, prev = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[5], True)
		old, new = open(sys.argv[3], "rb"), open(sys.argv[4], "rb")
		bad, changed, off = [], 0, 0
		while True:
		    b = new.read(BLK)
		    if not b:
		        break
		    a = old.read(BLK)
		    if a.ljust(len(b), b"\0") != b:
		        changed += 1
		        if not covered(diff, off, off + len(b)):
		            bad.append("changed block at %d not in the diff" % off)
		    off += len(b)
		outside = objects(diff) - objects(dirty)
		if outside:
		    bad.append("the diff touches objects %s outside the dirty map" % sorted(outside)[:5])
		# Where the older snapshot had data the diff is exact; an object
		# created or extended since is reported up to its new end.
		exact = 0
		for lo, hi in prev:
		    d, m = clip(diff, lo, hi), clip(dirty, lo, hi)
		    exact += sum(e - s for s, e in m)
		    if d != m:
		        bad.append("in [%d, %d): diff %s, dirty %s" % (lo, hi, d[:4], m[:4]))
		print("  %d changed 4 KiB blocks, all in the diff; %d objects changed; "
		      "%d dirty bytes within old data reported exactly" % (changed, len(objects(diff)), exact))
		if bad:
		    print("\n".join(bad[:10]), file=sys.stderr)
		    sys.exit(1)
	EOF
}
sum_extents() { awk '$3 == 1 { s += $2 } END { print s + 0 }' "$1"; }

check "ping" rt ping

# ------------------------------------------------------------ full
img=$tmp/vol.img
cbt-chunk-bench make-image --image "$img" --size 64M --seed 7 >/dev/null
cp --sparse=always "$img" "$tmp/v0"
t0=$(now)
check "full backup: the whole image, then a snapshot" \
	bash -c "cbt-rbd-tool write-image vol1 '$img' --snap b0 >'$tmp/s0' 2>'$tmp/err'"
echo "  $(cat "$tmp/err") (64 MiB: $(elapsed "$t0" "$(now)") s with the tool's start)"
s0=$(cat "$tmp/s0")
check "  holes of the image are not written" err_has "(new image)"
check "snapshot named as cinder names it ($s0)" bash -c "[[ '$s0' =~ ^backup\.b0\.snap\.[0-9]+\.[0-9]+$ ]]"
check "image named as cinder names it" bash -c \
	"timeout 20 rbd ls backups | grep -qx volume-vol1.backup.base"
check "rbd sees the snapshot" bash -c "timeout 20 rbd snap ls backups/volume-vol1.backup.base | grep -qF '$s0'"
check "ls: one snapshot, its size and backup id" \
	bash -c "cbt-rbd-tool ls vol1 | awk '{ print \$1, \$2, \$4 }' | grep -qx '$s0 67108864 b0'"
check "find the snapshot of a backup" test "$(rt find vol1 b0)" = "$s0"
rt extents vol1 "$s0" >"$tmp/ext0"
allocated=$(sum_extents "$tmp/ext0")
check "the extent walk skips the holes ($allocated of 67108864 bytes allocated)" \
	test "$allocated" -lt $((64 << 20)) -a "$allocated" -gt 0
t0=$(now)
check "restore the full" rt read-snap vol1 "$s0" "$tmp/r0"
echo "  $(cat "$tmp/err") ($(elapsed "$t0" "$(now)") s with the tool's start)"
check "  equals the image" cmp "$tmp/r0" "$tmp/v0"
check "  holes stay holes" test "$(du -k "$tmp/r0" | cut -f1)" -lt $((64 * 1024 * 3 / 4))
rm -f "$tmp/r0"

# ------------------------------------------------------------ incremental 1
cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map1" --per-mille 10 --run-blocks 4 \
	--seed 3 >/dev/null
cp --sparse=always "$img" "$tmp/v1"
check "incremental 1: only the dirty ranges, then a snapshot" \
	bash -c "cbt-rbd-tool write-image vol1 '$img' --dirty-map '$tmp/map1' --snap b1 >'$tmp/s1' 2>'$tmp/err'"
echo "  $(cat "$tmp/err") ($(wc -l <"$tmp/map1") dirty ranges)"
s1=$(cat "$tmp/s1")
dirty=$(awk '{ s += $2 } END { print s }' "$tmp/map1")
check "  wrote the dirty bytes only ($dirty)" err_has "wrote $dirty bytes"
rt diff vol1 "$s0" "$s1" >"$tmp/diff1"
check "  the change from $s0 is what the dirty map changed" \
	check_diff "$tmp/diff1" "$tmp/map1" "$tmp/v0" "$tmp/v1" "$tmp/ext0"

# ------------------------------------------------------------ incremental 2
# Random blocks; a zeroed range crossing three RADOS objects (4 MiB), one
# of them whole; and the volume grown by 16 MiB (random data in the middle).
cbt-chunk-bench mutate --image "$img" --dirty-out "$tmp/map2" --per-mille 5 --run-blocks 1 \
	--seed 5 >/dev/null
zoff=$(((19 << 20) + 4096)) zlen=$((6 << 20))
dd if=/dev/zero of="$img" bs=4096 seek=$((zoff / 4096)) count=$((zlen / 4096)) conv=notrunc \
	status=none
echo "$zoff $zlen" >>"$tmp/map2"
truncate -s 80M "$img"
head -c $((4 << 20)) /dev/urandom | dd of="$img" bs=1M seek=72 conv=notrunc status=none
echo "$((64 << 20)) $((16 << 20))" >>"$tmp/map2"
cp --sparse=always "$img" "$tmp/v2"
check "incremental 2: zeroes, a grown volume, then a snapshot" \
	bash -c "cbt-rbd-tool write-image vol1 '$img' --dirty-map '$tmp/map2' --snap b2 >'$tmp/s2' 2>'$tmp/err'"
echo "  $(cat "$tmp/err")"
s2=$(cat "$tmp/s2")
check "  the snapshot has the new size" \
	bash -c "cbt-rbd-tool ls vol1 | grep -F '$s2' | awk '{ print \$2 }' | grep -qx 83886080"
rt diff vol1 "$s1" "$s2" >"$tmp/diff2"
rt extents vol1 "$s1" >"$tmp/ext1"
check "  the change from $s1 is what the dirty map changed" \
	check_diff "$tmp/diff2" "$tmp/map2" "$tmp/v1" "$tmp/v2" "$tmp/ext1"
check "  the whole zeroed object is reported as deallocated" \
	grep -qx "$((20 << 20)) $((4 << 20)) 0" "$tmp/diff2"
# (Rewrites the image with the data it has: the snapshots do not change.)
refuse "a second snapshot for the same backup" rt write-image vol1 "$img" --snap b0
check "  saying so" err_has "backup b0 already has snapshot $s0"

# ------------------------------------------------------------ restore all
declare -A snap_of=([b0]=$s0 [b1]=$s1 [b2]=$s2) version_of=([b0]=v0 [b1]=v1 [b2]=v2)
for b in b0 b1 b2; do
	check "restore $b equals the image as it was" bash -c \
		"cbt-rbd-tool read-snap vol1 '${snap_of[$b]}' '$tmp/r' 2>/dev/null && cmp '$tmp/r' '$tmp/${version_of[$b]}'"
done
rm -f "$tmp/r"

# ------------------------------------------------------------ errors
refuse "a pool that does not exist" rt --pool nosuchpool ping
check "  named" err_has "ceph pool nosuchpool: no such pool"
refuse "a write to a pool that does not exist" \
	rt --pool nosuchpool write-image vol1 "$tmp/v0" --snap bx
refuse "a volume id with a slash" rt write-image a/b "$tmp/v0" --snap bx
check "  named" err_has "invalid volume id 'a/b'"
refuse "a backup id with an @" rt write-image vol1 "$img" --snap "b@x"
rc=0
rt read-snap vol1 backup.nope.snap.1 "$tmp/r" || rc=$?
check "a missing snapshot: exit 3" test $rc = 3
check "  naming image and snapshot" \
	err_has "image volume-vol1.backup.base snapshot backup.nope.snap.1: cannot open it"
rc=0
rt ls novolume || rc=$?
check "a volume without backups: exit 3" test $rc = 3
check "  saying so" err_has "no backup of this volume here"
refuse "a configuration that does not exist" rt --conf "$tmp/none.conf" ping
check "  named" err_has "$tmp/none.conf"

# ------------------------------------------------------------ delete, random order
order=$(printf '%s\n' b0 b1 b2 | shuf)
echo "deleting in the order: $(echo $order)"
left=(b0 b1 b2)
for b in $order; do
	left=("${left[@]/$b/}")
	remaining=$(echo "${left[@]}" | wc -w)
	out=$(rt rm-snap vol1 "${snap_of[$b]}")
	if [ "$remaining" -gt 0 ]; then
		check "remove $b: the image stays" test "$out" = "image kept"
	else
		check "remove $b, the last: the image goes" test "$out" = "image removed"
	fi
	check "  $b's snapshot is gone" bash -c "! cbt-rbd-tool ls vol1 2>/dev/null | grep -qF '${snap_of[$b]}'"
	for k in "${left[@]}"; do
		[ -n "$k" ] || continue
		check "  $k still restores" bash -c \
			"cbt-rbd-tool read-snap vol1 '${snap_of[$k]}' '$tmp/r' 2>/dev/null && cmp '$tmp/r' '$tmp/${version_of[$k]}'"
	done
done
rm -f "$tmp/r"
check "no image left in the pool" test -z "$(timeout 20 rbd ls backups)"

# ------------------------------------------------------------ a stopped OSD
check "a backup before the fault" \
	bash -c "cbt-rbd-tool write-image vol2 '$tmp/v0' --snap c0 >'$tmp/c0' 2>/dev/null"
c0=$(cat "$tmp/c0")
# A slow backup (0.3 s after each 4 MiB: about 5 s), the OSD stopped in
# its middle: queued writes time out.
t0=$(now)
cbt-rbd-tool --timeout 5 write-image vol2 "$tmp/v1" --snap c1 --delay-ms 300 \
	>/dev/null 2>"$tmp/err-bg" &
bg=$!
sleep 1
ceph_server_stop_osd
rc=0
for _ in $(seq 300); do
	kill -0 $bg 2>/dev/null || break
	sleep 0.1
done
kill -0 $bg 2>/dev/null && { kill $bg; fail "the backup hangs with the OSD stopped"; }
wait $bg || rc=$?
took=$(elapsed "$t0" "$(now)")
cat "$tmp/err-bg"
check "the backup with the OSD stopped fails ($took s, timeout 5 s)" test $rc = 1
# Bound: the last write queued (about 5 s in) times out 5 s later, then
# closing the image (its watch) takes one more timeout.
check "  within the writes' time plus 3 timeouts" \
	/usr/bin/python3 -c "import sys; sys.exit(not $took < 21)"
check "  saying the write timed out, naming image and offset" bash -c \
	"grep -q 'image volume-vol2.backup.base: write at offset [0-9]* length [0-9]*: Connection timed out (no answer from the Ceph cluster within 5 s)' '$tmp/err-bg'"
t0=$(now)
refuse "ping with the OSD stopped" rt --timeout 3 ping
took=$(elapsed "$t0" "$(now)")
check "  within the timeout ($took s, timeout 3 s)" \
	/usr/bin/python3 -c "import sys; sys.exit(not $took < 8)"
check "  saying so" err_has "Connection timed out (no answer from the Ceph cluster within 3 s)"
t0=$(now)
refuse "a restore with the OSD stopped" rt --timeout 3 read-snap vol2 "$c0" "$tmp/r"
check "  within the timeout ($(elapsed "$t0" "$(now)") s)" \
	/usr/bin/python3 -c "import sys; sys.exit(not $(elapsed "$t0" "$(now)") < 8)"
check "  naming the snapshot" err_has "snapshot $c0"

check "the OSD starts again" ceph_server_start_osd
check "ping" rt ping
check "the failed backup left no snapshot" \
	test "$(cbt-rbd-tool ls vol2 | awk '{ print $4 }' | tr '\n' ' ')" = "c0 "
check "the earlier backup still restores" bash -c \
	"cbt-rbd-tool read-snap vol2 '$c0' '$tmp/r' 2>/dev/null && cmp '$tmp/r' '$tmp/v0'"
check "the backup again works" \
	bash -c "cbt-rbd-tool write-image vol2 '$tmp/v1' --snap c1 >'$tmp/c1' 2>/dev/null"
check "  and restores" bash -c \
	"cbt-rbd-tool read-snap vol2 '$(cat "$tmp/c1")' '$tmp/r' 2>/dev/null && cmp '$tmp/r' '$tmp/v1'"
rm -f "$tmp/r"

# ------------------------------------------------------------ a stopped mon
ceph_server_stop_mon
t0=$(now)
refuse "ping with the mon stopped" rt --timeout 3 ping
took=$(elapsed "$t0" "$(now)")
check "  within the timeout ($took s, timeout 3 s)" \
	/usr/bin/python3 -c "import sys; sys.exit(not $took < 8)"
check "  saying it cannot connect" err_has "cannot connect to the cluster as client.admin"
check "the mon starts again" ceph_server_start_mon
check "ping" rt ping
echo "total $((SECONDS - start)) s"
