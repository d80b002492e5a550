#!/usr/bin/env bash
# Requires: QEMU guest. Point-in-time views (libcbt cbt_view_*, driven by
# build/bin/cbt-view): a view taken while a writer runs shows exactly the
# writes of the checkpoint's frozen set and none of the new current set;
# remove restores the stack; a tiny COW store overflows without hurting
# the volume; refusals leave nothing behind, including a refusal by the
# kernel after the checkpoint was taken; several views of one volume; a
# view of a volume tracked in place whose table has two segments at
# non-zero offsets (as an LVM LV has).
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 64M --disk 64M

export DM_DISABLE_UDEV=1
export CBTSHIP_STATE_DIR=/tmp/cbtship-state
tmp=$(mktemp -d)
cow=$tmp/cow
mkdir -p "$cow"

on_exit() {
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "--- dm tables" >&2
		dmsetup table >&2 || true
		dmsetup status >&2 || true
		losetup -a >&2 || true
		echo "--- kernel log" >&2
		dmesg | grep -i -E 'cbt|device-mapper|snapshot|loop' | tail -n 30 >&2 || true
	fi
	touch "$tmp/stop"
	for v in $(cbt-view list vol 2>/dev/null) ; do cbt-view remove vol "$v" || true; done
	for v in $(cbt-view list lin 2>/dev/null) ; do cbt-view remove lin "$v" || true; done
	for d in vol lin; do
		cbtship untrack --keep-history "$d" >/dev/null 2>&1 || true
	done
	dmsetup remove lin >/dev/null 2>&1 || true
	exit $rc
}
trap on_exit EXIT

field() { # field KEY FILE: the value of KEY= in cbt-view output
	sed -n "s/^$1=//p" "$2"
}
status_field() { # status_field NAME N: field N of the cbt status
	dmsetup status "$1" | awk -v n="$2" '{ print $(3 + n) }'
}
# refuse_errno ERRNO DESCRIPTION COMMAND...: COMMAND fails with that errno.
refuse_errno() {
	local errno=$1 what=$2
	shift 2
	if "$@" >/dev/null 2>"$tmp/err"; then
		fail "$what (was accepted)"
	fi
	grep -q "(errno $errno)\$" "$tmp/err" || {
		cat "$tmp/err" >&2
		fail "$what (refused, but not with errno $errno)"
	}
	echo "ok: $what (refused, errno $errno)"
}
# The whole device-mapper and loop state, to show that nothing changed.
dm_state() {
	dmsetup table | sort
	dmsetup info -c --noheadings -o name,attr,uuid | sort
	losetup -l -n -O NAME,BACK-FILE | sort
	ls -A "$cow"
}
same_bytes() { # same_bytes DEV_A DEV_B OFFSET_MIB COUNT_MIB
	cmp -s <(dd if="$1" bs=1M skip="$3" count="$4" iflag=direct status=none) \
		<(dd if="$2" bs=1M skip="$3" count="$4" iflag=direct status=none)
}
file_is() { # file_is DEV OFFSET_MIB FILE: DEV holds FILE at OFFSET
	cmp -s <(dd if="$1" bs=1M skip="$2" count=$(($(stat -c %s "$3") >> 20)) iflag=direct \
		status=none) "$3"
}
put() { # put DEV OFFSET_MIB FILE
	dd if="$3" of="$1" bs=1M seek="$2" oflag=direct conv=notrunc status=none
}

vol=/dev/mapper/vol
head -c 1M /dev/urandom >"$tmp/A"
head -c 1M /dev/urandom >"$tmp/B"
head -c 1M /dev/urandom >"$tmp/C"
head -c 8M /dev/urandom >"$tmp/big"

# ------------------------------------------------------------ the layout
check "track /dev/vdb as vol" cbtship track /dev/vdb --name vol --metadata "$tmp/vol.meta"
sectors=$(blockdev --getsz /dev/vdb)
check "vol is cbt over vol-cbt-real" bash -c \
	"dmsetup table vol | grep -E -q '^0 $sectors cbt $(dmsetup info -c --noheadings -o major,minor vol-cbt-real | tr -d ' ') 7:[0-9]+ 128\$'"
check "vol-cbt-real: linear over the whole of /dev/vdb" \
	test "$(dmsetup table vol-cbt-real)" = "0 $sectors linear $(lsblk -dno MAJ:MIN /dev/vdb | tr -d ' ') 0"
check "vol-cbt-real marked as made for vol" \
	test "$(dmsetup info -c --noheadings -o uuid vol-cbt-real)" = CBT-REAL-vol
cbtship volume-list | tee "$tmp/list"
check "volume-list shows the real origin /dev/vdb" grep -E -q '^vol +/dev/vdb +64 MiB' "$tmp/list"
cbtship volume-list --format json >"$tmp/list.json"
check "volume-list json: not in place" test "$(jq -c '[.[0].origin, .[0].in_place]' "$tmp/list.json")" = '["/dev/vdb",false]'
real_table=$(dmsetup table vol-cbt-real)

# ------------------------------------------------------------ (1) exactness under a writer
# Pattern A at blocks 0..15 (64 KiB blocks), before the view.
put $vol 0 "$tmp/A"
# The writer: record c (a 4 KiB block starting "SEQ%08d") into slot c-1 of
# 8192 slots of 4 KiB from 32 MiB (tracking blocks 512..1023), each slot
# once, one synchronous O_DIRECT write after the other, as fast as it goes.
# The view must hold exactly records 1..K for some K (a prefix: no
# completed write missing, no later one present), the frozen set exactly
# their blocks, the current set exactly the blocks of the records after K.
cat >"$tmp/records.py" <<'EOF'
import mmap, os, sys
SLOTS, BASE = 8192, 32 << 20
def write(dev, stop, progress):
    fd = os.open(dev, os.O_WRONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, 4096)
    for c in range(1, SLOTS + 1):
        if os.path.exists(stop):
            break
        buf[:11] = b"SEQ%08d" % c
        os.pwrite(fd, buf, BASE + (c - 1) * 4096)
        with open(progress + ".new", "w") as f:
            f.write("%d\n" % c)
        os.rename(progress + ".new", progress)
def records(path):
    data = open(path, "rb").read()
    seqs = []
    for j in range(SLOTS):
        rec = data[j * 4096 : j * 4096 + 11]
        seqs.append(0 if rec == bytes(11) else int(rec[3:]) if rec[:3] == b"SEQ" else -1)
    n = sum(1 for s in seqs if s)
    ok = seqs[:n] == list(range(1, n + 1)) and all(s == 0 for s in seqs[n:])
    return n if ok else -1
def runs(blocks):
    out = []
    for b in sorted(blocks):
        if out and out[-1][0] + out[-1][1] == b:
            out[-1][1] += 1
        else:
            out.append([b, 1])
    return "\n".join("%d %d" % (f, n) for f, n in out)
def blocks(first, last):  # the tracking blocks of records first..last
    return {512 + (c - 1) // 16 for c in range(first, last + 1)}
if sys.argv[1] == "write":
    write(*sys.argv[2:])
elif sys.argv[1] == "count":
    print(records(sys.argv[2]))
else:  # runs frozen|current K M: the expected map, A's or B's blocks 0..15 too
    k, m = int(sys.argv[3]), int(sys.argv[4])
    extra = blocks(1, k) if sys.argv[2] == "frozen" else blocks(k + 1, m)
    print(runs(set(range(16)) | extra))
EOF
written() { cat "$tmp/written" 2>/dev/null || echo 0; }
wait_written() { # wait_written N: until the writer has done N records
	for _ in $(seq 1200); do
		[ "$(written)" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
/usr/bin/python3 "$tmp/records.py" write $vol "$tmp/stop" "$tmp/written" &
writer_pid=$!
check "the writer is writing" wait_written 100
cbt-view create vol t1 "$cow" | tee "$tmp/t1"
at_view=$(written)
check "the writer went on after the view" wait_written $((at_view + 100))
touch "$tmp/stop"
check "the writer ended without error" wait $writer_pid
echo "records: $at_view when the view returned, $(written) in all"

n1=$(field checkpoint "$tmp/t1")
check "view name and path" test "$(field name "$tmp/t1") $(field path "$tmp/t1")" = "vol-view-t1 /dev/mapper/vol-view-t1"
check "checkpoint 1 taken with the view" test "$n1" = 1
check "status: checkpoint $n1 is the frozen one" test "$(status_field vol 5)" = "$n1"
check "generation is the volume's" test "$(field generation "$tmp/t1")" = "$(status_field vol 7)"
cow1=$(field cow_path "$tmp/t1")
check "COW file made in $cow" test -f "$cow1" -a "$(dirname "$cow1")" = "$cow"
check "COW file sized for the whole volume (sparse)" \
	test "$(stat -c %s "$cow1")" -ge $((sectors * 512)) -a "$(field cow_bytes "$tmp/t1")" = "$(stat -c %s "$cow1")"
check "COW file on one loop device" test "$(losetup -j "$cow1" | wc -l)" = 1

# Overwrite pattern A with B after the view.
put $vol 0 "$tmp/B"
check "view still shows A" file_is /dev/mapper/vol-view-t1 0 "$tmp/A"
check "volume shows B" file_is $vol 0 "$tmp/B"

dd if=/dev/mapper/vol-view-t1 bs=1M skip=32 count=32 iflag=direct status=none >"$tmp/view.img"
dd if=$vol bs=1M skip=32 count=32 iflag=direct status=none >"$tmp/vol.img"
K=$(/usr/bin/python3 "$tmp/records.py" count "$tmp/view.img")
M=$(/usr/bin/python3 "$tmp/records.py" count "$tmp/vol.img")
echo "view holds records 1..$K, the volume 1..$M"
check "the view holds a prefix of the records" test "$K" -ge 1
check "the volume holds every record" test "$M" = "$(written)"
check "records were written after the view" test "$M" -gt "$K"
cbtship dirty-map vol --frozen >"$tmp/frozen"
/usr/bin/python3 "$tmp/records.py" runs frozen "$K" "$M" >"$tmp/frozen.expected"
check "frozen set: A's blocks and exactly those of the records in the view" \
	diff "$tmp/frozen.expected" "$tmp/frozen"
cbtship dirty-map vol >"$tmp/current"
/usr/bin/python3 "$tmp/records.py" runs current "$K" "$M" >"$tmp/current.expected"
check "current set: B's blocks and exactly those of the records after the view" \
	diff "$tmp/current.expected" "$tmp/current"

cbt-view check vol t1 | tee "$tmp/check"
check "view valid, COW in use" awk '$1 == "valid" && $2 > 0 && $3 > $2 { ok = 1 } END { exit !ok }' "$tmp/check"
cbt-view get vol t1 >"$tmp/t1.get"
check "get finds the same view" diff "$tmp/t1" "$tmp/t1.get"
check "list: t1" test "$(cbt-view list vol)" = t1
check "vol-cbt-real is snapshot-origin over vol-cbt-base" test "$(dmsetup table vol-cbt-real)" = \
	"0 $sectors snapshot-origin $(dmsetup info -c --noheadings -o major,minor vol-cbt-base | tr -d ' ')"
check "vol-cbt-base holds vol-cbt-real's table" test "$(dmsetup table vol-cbt-base)" = "$real_table"
cbtship volume-list | tee "$tmp/list"
check "volume-list still shows /dev/vdb during the view" grep -E -q '^vol +/dev/vdb ' "$tmp/list"
refuse "untrack while a view exists" cbtship untrack vol
check "the refused untrack kept the history" test "$(status_field vol 8)" = ok
refuse_errno 17 "a second view with the same tag" cbt-view create vol t1 "$cow"
check "commit $n1 (the caller's job)" cbtship commit vol "$n1"

# ------------------------------------------------------------ (2) remove
check "remove t1" cbt-view remove vol t1
check "vol-view-t1 gone" bash -c "! dmsetup info vol-view-t1 >/dev/null 2>&1"
check "vol-cbt-base gone" bash -c "! dmsetup info vol-cbt-base >/dev/null 2>&1"
check "vol-cbt-real has its linear table back" test "$(dmsetup table vol-cbt-real)" = "$real_table"
check "the COW loop device is gone" test -z "$(losetup -n -O BACK-FILE | grep -F "$cow" || true)"
check "the COW file is unlinked" test ! -e "$cow1"
check "vol is not suspended" bash -c "dmsetup info vol | grep -q '^State: *ACTIVE'"
refuse_errno 2 "remove t1 again: nothing left" cbt-view remove vol t1
write_before=$(status_field vol 3)
dd if=/dev/urandom of=$vol bs=64k seek=300 count=1 oflag=direct status=none
check "tracking still records writes" bash -c "cbtship dirty-map vol | grep -q '^300 1\$'"
check "one more dirty block" test "$(status_field vol 3)" = $((write_before + 1))

# ------------------------------------------------------------ (3) overflow
cbt-view create vol small "$cow" 1M | tee "$tmp/small"
n2=$(field checkpoint "$tmp/small")
check "checkpoint 2 taken with the small view" test "$n2" = 2
check "the small COW file is 1 MiB" test "$(stat -c %s "$(field cow_path "$tmp/small")")" = 1048576
put $vol 8 "$tmp/big"
set +e
cbt-view check vol small >"$tmp/check"
rc=$?
set -e
cat "$tmp/check"
check "check: invalid (exit 3) after 8 MiB of new data" test $rc = 3
check "check: invalid, COW full" grep -q '^invalid 2048 2048$' "$tmp/check"
check "the volume holds the 8 MiB" file_is $vol 8 "$tmp/big"
refuse "reading the overflowed view" dd if=/dev/mapper/vol-view-small of=/dev/null bs=1M count=1 iflag=direct status=none
put $vol 20 "$tmp/C"
check "the volume still serves writes" file_is $vol 20 "$tmp/C"
check "tracking is ok" test "$(status_field vol 8)" = ok
check "remove the overflowed view" cbt-view remove vol small
check "vol-cbt-real linear again" test "$(dmsetup table vol-cbt-real)" = "$real_table"
check "no view device, no base" bash -c "! dmsetup info vol-view-small >/dev/null 2>&1 && ! dmsetup info vol-cbt-base >/dev/null 2>&1"
check "COW dir empty" test -z "$(ls -A "$cow")"
check "abort $n2 (the backup failed)" cbtship abort vol "$n2"
check "abort merged block 300 back into current" bash -c "cbtship dirty-map vol | grep -q '^300 1\$'"

# ------------------------------------------------------------ (4) refusals
before=$(dm_state)
refuse_errno 6 "view of a device that does not exist" cbt-view create nosuch t "$cow"
dmsetup create plainlin --table "0 8192 linear /dev/vdc 0"
refuse_errno 124 "view of an untracked dm device" cbt-view create plainlin t "$cow"
dmsetup remove plainlin
truncate -s 1M "$tmp/raw.meta"
rawmeta=$(losetup -f --show "$tmp/raw.meta")
dmsetup create rawcbt --table "0 $sectors cbt /dev/vdc $rawmeta 128"
refuse_errno 95 "view of cbt straight over its origin (dmsetup)" cbt-view create rawcbt t "$cow"
dmsetup remove rawcbt
losetup -d "$rawmeta"
for tag in "a/b" "a b" "a.b" ""; do
	refuse_errno 22 "tag '$tag'" cbt-view create vol "$tag" "$cow"
done
refuse_errno 2 "a COW directory that does not exist" cbt-view create vol t "$tmp/nosuch"
check "nothing left by the refusals" test "$(dm_state)" = "$before"

# The kernel refuses a second checkpoint: everything undone.
cbt-view create vol t3 "$cow" >"$tmp/t3"
n3=$(field checkpoint "$tmp/t3")
dd if=/dev/urandom of=$vol bs=64k seek=400 count=1 oflag=direct status=none
before=$(dm_state)
current_before=$(cbtship dirty-map vol)
refuse_errno 16 "a second view while checkpoint $n3 is outstanding" cbt-view create vol t4 "$cow"
check "nothing left behind (devices, tables, loops, COW files)" test "$(dm_state)" = "$before"
check "checkpoint $n3 still the frozen one" test "$(status_field vol 5)" = "$n3"
check "current set unchanged" test "$(cbtship dirty-map vol)" = "$current_before"
check "vol is not suspended" bash -c "dmsetup info vol | grep -q '^State: *ACTIVE'"
check "t3 still valid" cbt-view check vol t3
check "remove t3" cbt-view remove vol t3
check "abort $n3" cbtship abort vol "$n3"

# The kernel refuses the snapshot table (a 4 KiB store cannot hold the
# persistent header and a metadata area): after the checkpoint, after
# vol-cbt-real got its snapshot-origin table loaded. Everything undone,
# the checkpoint aborted.
before=$(dm_state)
current_before=$(cbtship dirty-map vol)
last=$(status_field vol 4)
refuse "a view whose COW store dm-snapshot refuses" cbt-view create vol tiny "$cow" 4096
check "nothing left behind (devices, inactive tables, loops, COW files)" test "$(dm_state)" = "$before"
check "the checkpoint was taken and aborted" \
	test "$(status_field vol 4) $(status_field vol 5)" = "$((last + 1)) -"
check "no change lost: current set as before" test "$(cbtship dirty-map vol)" = "$current_before"
check "vol-cbt-real linear" test "$(dmsetup table vol-cbt-real)" = "$real_table"
check "the volume serves writes" bash -c "dd if=/dev/zero of=$vol bs=4k count=1 oflag=direct status=none"

# Two processes at once: one view, one refusal, no debris.
before=$(dm_state)
set +e
cbt-view create vol r1 "$cow" >"$tmp/r1" 2>"$tmp/r1.err" &
p1=$!
cbt-view create vol r2 "$cow" >"$tmp/r2" 2>"$tmp/r2.err" &
p2=$!
wait $p1
rc1=$?
wait $p2
rc2=$?
set -e
check "racing creates: exactly one succeeded" test "$((rc1 + rc2))" = 1
won=r1 lost=r2
[ $rc1 = 0 ] || { won=r2; lost=r1; }
cat "$tmp/$lost.err"
check "the other was refused: checkpoint outstanding" grep -q '(errno 16)$' "$tmp/$lost.err"
check "the view of the winner is valid" cbt-view check vol $won
check "no view of the loser" bash -c "! dmsetup info vol-view-$lost >/dev/null 2>&1"
check "remove the winner" cbt-view remove vol $won
check "abort its checkpoint" cbtship abort vol "$(field checkpoint "$tmp/$won")"
check "nothing left of either" test "$(dm_state)" = "$before"

# ------------------------------------------------------------ several views
put $vol 0 "$tmp/A"
cbt-view create vol t5 "$cow" >"$tmp/t5"
check "commit t5's checkpoint" cbtship commit vol "$(field checkpoint "$tmp/t5")"
put $vol 0 "$tmp/C"
cbt-view create vol t6 "$cow" >"$tmp/t6"
check "t6's checkpoint is the next one" \
	test "$(field checkpoint "$tmp/t6")" = $(($(field checkpoint "$tmp/t5") + 1))
check "list: t5 t6" test "$(cbt-view list vol | xargs)" = "t5 t6"
put $vol 0 "$tmp/B"
check "t5 shows A" file_is /dev/mapper/vol-view-t5 0 "$tmp/A"
check "t6 shows C" file_is /dev/mapper/vol-view-t6 0 "$tmp/C"
check "the volume shows B" file_is $vol 0 "$tmp/B"
check "remove t5" cbt-view remove vol t5
check "vol-cbt-real still snapshot-origin for t6" \
	bash -c "dmsetup table vol-cbt-real | grep -q snapshot-origin"
check "t6 still shows C" file_is /dev/mapper/vol-view-t6 0 "$tmp/C"
check "t6 valid" cbt-view check vol t6
check "remove t6" cbt-view remove vol t6
check "vol-cbt-real linear again" test "$(dmsetup table vol-cbt-real)" = "$real_table"
check "COW dir empty" test -z "$(ls -A "$cow")"
check "commit t6's checkpoint" cbtship commit vol "$(field checkpoint "$tmp/t6")"

# ------------------------------------------------------------ in place, two segments
printf '0 32768 linear /dev/vdc 2048\n32768 32768 linear /dev/vdc 40960\n' | dmsetup create lin
lin_table=$(dmsetup table lin)
check "track lin in place" cbtship track /dev/mapper/lin --block-size 64K
cbtship volume-list | tee "$tmp/list"
check "volume-list shows lin over lin-cbt-real (in place)" grep -E -q '^lin +/dev/mapper/lin-cbt-real ' "$tmp/list"
# 2 MiB across the segment boundary at 16 MiB, before and after the view.
head -c 2M /dev/urandom >"$tmp/lin-before"
head -c 2M /dev/urandom >"$tmp/lin-after"
put /dev/mapper/lin 15 "$tmp/lin-before"
cbt-view create lin s1 "$cow" >"$tmp/s1"
check "lin-cbt-base holds the two segments" test "$(dmsetup table lin-cbt-base)" = "$lin_table"
put /dev/mapper/lin 15 "$tmp/lin-after"
check "lin's view shows the data before" file_is /dev/mapper/lin-view-s1 15 "$tmp/lin-before"
check "lin shows the data after" file_is /dev/mapper/lin 15 "$tmp/lin-after"
head -c 1M "$tmp/lin-after" >"$tmp/lin-after.1"
tail -c 1M "$tmp/lin-after" >"$tmp/lin-after.2"
check "/dev/vdc has it at 16 MiB and 20 MiB (the two segments)" \
	bash -c "$(declare -f file_is); file_is /dev/vdc 16 '$tmp/lin-after.1' && file_is /dev/vdc 20 '$tmp/lin-after.2'"
check "remove s1" cbt-view remove lin s1
check "lin-cbt-real has the two segments back" test "$(dmsetup table lin-cbt-real)" = "$lin_table"
check "untrack lin" cbtship untrack lin
check "lin has its own table back" test "$(dmsetup table lin)" = "$lin_table"
dmsetup remove lin

# ------------------------------------------------------------ untrack removes the hidden device
check "untrack vol" cbtship untrack vol
check "vol and vol-cbt-real gone" bash -c "! dmsetup info vol >/dev/null 2>&1 && ! dmsetup info vol-cbt-real >/dev/null 2>&1"
check "the metadata loop device cleared itself" test "$(losetup -j "$tmp/vol.meta" | wc -l)" = 0
check "no device-mapper device left" test "$(dmsetup ls)" = "No devices found"
echo "PASS"
