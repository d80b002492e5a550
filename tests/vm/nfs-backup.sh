#!/usr/bin/env bash
# Requires: QEMU guest, jq, nfs-kernel-server (rpcbind, rpc.nfsd, rpc.mountd,
# exportfs, mount.nfs), python3. The NFS backup target end to end: an NFSv4
# server on 127.0.0.1 in the guest exports a tmpfs; cbtship, configured
# with backup_driver = nfs and backup_share, mounts the share itself
# (under backup_mount_point_base, named by the MD5 of the share) and keeps
# its POSIX container in it. Shares that cannot be mounted (nothing
# listening on the port, a wrong export path, a server that never answers)
# fail with a message naming the share, within the time bound, leaving no
# backup available and no mount. Then a forced full backup and an
# incremental of a tracked volume go to the share, the second run reusing
# the mount; both restore byte for byte to their point-in-time views; the
# objects are on the export; deletes empty the container.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"
vm_test_in_guest --disk 32M --disk 16M --memory 1024 --timeout 400

for tool in jq rpcbind rpc.nfsd rpc.mountd exportfs mount.nfs python3; do
	command -v $tool >/dev/null || { echo "SKIP: $tool not installed (scripts/setup)"; exit 77; }
done

export DM_DISABLE_UDEV=1
export CBTSHIP_STATE_DIR=/tmp/cbtship-state
name=nv dev=/dev/mapper/nv
tmp=$(mktemp -d)
views=$tmp/views
mkdir -p $views
export CBTSHIP_VIEW_HOOK="dd if=\"\$1\" of=$views/\$2.img bs=1M iflag=direct status=none"

# The server: NFSv4 only, its pseudo-root (fsid=0) a tmpfs at $export (the
# guest's / is an overlay, which nfsd cannot export), so the share
# 127.0.0.1:/backups is the directory $export/backups.
export=/srv/nfs
share=127.0.0.1:/backups
base=$tmp/mounts
point=$base/$(printf %s "$share" | md5sum | cut -d' ' -f1)
silent_pid=

on_exit() {
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "--- cbtship log" >&2
		tail -n 30 $CBTSHIP_STATE_DIR/log/cbtship.log >&2 || true
		echo "--- mounts" >&2
		grep -E ' - nfs' /proc/self/mountinfo >&2 || true
		dmesg | grep -i -E 'nfs|rpc|cbt' | tail -n 20 >&2 || true
	fi
	[ -n "$silent_pid" ] && kill "$silent_pid" 2>/dev/null
	# Unmount before the server goes, or the client waits for it.
	grep -E ' - nfs4? ' /proc/self/mountinfo | awk '{print $5}' | while read -r m; do
		umount -f -l "$m" 2>/dev/null || true
	done
	rpc.nfsd 0 2>/dev/null || true
	exit $rc
}
trap on_exit EXIT

start=$SECONDS
ip link set lo up
modprobe -a nfsd nfsv4 || fail "cannot load the NFS modules"
mount -t nfsd nfsd /proc/fs/nfsd
mkdir -p $export /run/rpcbind /var/lib/nfs/rpc_pipefs /var/lib/nfs/v4recovery
mount -t tmpfs nfs-export $export
mkdir -m 0700 $export/backups
echo "$export 127.0.0.1(rw,sync,no_subtree_check,no_root_squash,insecure,fsid=0)" >/etc/exports
rm -rf /etc/exports.d
check "rpcbind starts" rpcbind -w
check "exportfs" exportfs -ra
check "rpc.mountd starts" rpc.mountd
# A fresh server refuses opens for its grace period (90 s by default, for
# clients to reclaim their state): the shortest one, 10 s.
check "rpc.nfsd starts (NFSv4 only, 127.0.0.1)" rpc.nfsd -H 127.0.0.1 -N 3 -G 10 -L 10 4
echo "NFS server up in $((SECONDS - start)) s"

conf() { # conf FILE SHARE OPTIONS: a configuration for the NFS driver
	(
		umask 077
		cat >"$1" <<-EOF
			[DEFAULT]
			backup_driver = nfs
			backup_share = $2
			backup_mount_options = $3
			backup_mount_point_base = $base
		EOF
	)
}
conf $tmp/good.conf $share vers=4.2
conf $tmp/refused.conf $share vers=4.2,port=2
conf $tmp/no-export.conf 127.0.0.1:/no-such-export vers=4.2
conf $tmp/silent.conf $share vers=4.2,port=2050

field() { jq -r ".$2" "$1"; }
nfs_mounts() { awk -v p="$1" '$5 == p && / - nfs4? /' /proc/self/mountinfo | wc -l; }
available() { cbtship backup-list --format json | jq '[.[] | select(.status == "available")] | length'; }
restored_equals_view() { # BACKUP-ID CONF
	local img rc
	img=$(cbtship --config "$2" backup-restore --wait "$1" 2>/dev/null)
	cmp "$img" "$views/$1.img"
	rc=$?
	rm -f "$img"
	return $rc
}
# fails_clearly CONF EXPECTED-TEXT MAX-SECONDS: backup-create fails, in
# time, with a message naming the share and holding EXPECTED-TEXT.
fails_clearly() {
	local conf=$1 text=$2 max=$3 t0=$SECONDS rc=0 shown
	shown=$(sed -n 's/^backup_share = //p' "$conf")
	cbtship --config "$conf" backup-create --wait --force $name >$tmp/out 2>$tmp/err || rc=$?
	echo "   ($((SECONDS - t0)) s, exit $rc) $(head -c 400 $tmp/err)"
	[ $rc -ne 0 ] && [ $((SECONDS - t0)) -le "$max" ] &&
		grep -qF "$shown" $tmp/err && grep -qF -- "$text" $tmp/err
}

# 8 MiB of data, the rest zeros (not stored): every object costs a few
# NFS round trips, slow under TCG.
dd if=/dev/urandom of=/dev/vdb bs=1M count=8 status=none
check "track /dev/vdb" cbtship track /dev/vdb --name $name --metadata /dev/vdc --block-size 64K

# ------------------------------------------------ shares that cannot be mounted
check "nothing listens on the port: fails at once, naming the share" \
	fails_clearly $tmp/refused.conf "Connection refused" 20
check "a wrong export path: fails, naming the share" \
	fails_clearly $tmp/no-export.conf "No such file or directory" 20
# A server that accepts connections and never answers: mount is killed at
# the time bound (5 s here, 60 s by default).
python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 2050)); s.listen(8); held = []
while True: held.append(s.accept())' &
silent_pid=$!
sleep 1
export CBTSHIP_NFS_MOUNT_TIMEOUT=5
check "a server that never answers: mount killed at the bound" \
	fails_clearly $tmp/silent.conf "did not finish within 5 s" 15
unset CBTSHIP_NFS_MOUNT_TIMEOUT
kill $silent_pid
silent_pid=
check "  no mount.nfs left behind" bash -c '! pgrep -x mount.nfs'
check "  no NFS mount left" test "$(nfs_mounts "$point")" = 0
check "  no backup available" test "$(available)" = 0
check "  no checkpoint outstanding" bash -c "dmsetup status $name | grep -q ' - '"

# ------------------------------------------------ the mount helper alone
# What cbtship's configuration parser lets through is only part of it:
# the helper checks shares itself and reads mountinfo.
hb=$tmp/helper
refused_saying() { # TEXT COMMAND...: COMMAND fails, its message holds TEXT
	local text=$1 out
	shift
	out=$("$@" 2>&1) && return 1
	echo "   $out"
	grep -qF -- "$text" <<<"$out"
}
check "helper: an export path that is not absolute is refused" \
	refused_saying "must be absolute" cbt-nfs-mount mount 127.0.0.1:backups "" $hb
check "helper: a host that would read as an option is refused" \
	refused_saying "bad host name" cbt-nfs-mount mount -o:/x "" $hb
check "helper: blanks in the options are refused" \
	refused_saying "bad mount options" cbt-nfs-mount mount $share "vers=4.2, soft" $hb
hp=$(cbt-nfs-mount point $share $hb)
mkdir -p "$hp"
mount -t tmpfs other "$hp"
check "helper: another file system at the mount point is refused" \
	refused_saying "holds a tmpfs file system" cbt-nfs-mount mount $share vers=4.2 $hb
umount "$hp"
mount -t nfs -o vers=4.2 127.0.0.1:/ "$hp"
check "helper: another share at the mount point is refused" \
	refused_saying "another share, 127.0.0.1:/, is mounted" cbt-nfs-mount mount $share vers=4.2 $hb
umount "$hp"
check "helper: mounts the share at base/md5(share)" \
	test "$(cbt-nfs-mount mount $share vers=4.2 $hb)" = "$hp"
second_call_reuses() {
	[ "$(cbt-nfs-mount mount $share vers=4.2 $hb)" = "$hp" ] && [ "$(nfs_mounts "$hp")" = 1 ]
}
check "helper: a second call finds it mounted (still one NFS mount)" second_call_reuses
umount "$hp"

# ------------------------------------------------ full and incremental to the share
t0=$SECONDS
check "forced full backup to the NFS share" \
	bash -c "cbtship --config $tmp/good.conf backup-create --wait --force --format json $name >$tmp/b0.json"
echo "   ($((SECONDS - t0)) s)"
b0=$(field $tmp/b0.json id)
check "  available, full read" \
	test "$(field $tmp/b0.json status) $(field $tmp/b0.json bytes_read)" = "available $((32 << 20))"
check "  the share is mounted once, at base/md5(share)" test "$(nfs_mounts "$point")" = 1
check "  the mount point base is 0700" test "$(stat -c %a "$base")" = 700
# Format 2: the chunks are in packs (one object per chunk before).
check "  the objects are on the export" \
	test "$(find $export/backups/volumebackups/packs -type f | wc -l)" -ge 1

dd if=/dev/urandom of=$dev bs=4k seek=100 count=64 oflag=direct conv=notrunc status=none
dd if=/dev/urandom of=$dev bs=4k seek=5000 count=3 oflag=direct conv=notrunc status=none
t0=$SECONDS
check "forced incremental to the NFS share (a second run)" \
	bash -c "cbtship --config $tmp/good.conf backup-create --wait --force --incremental --format json $name >$tmp/b1.json"
echo "   ($((SECONDS - t0)) s)"
b1=$(field $tmp/b1.json id)
check "  available, read only the changed chunks ($(field $tmp/b1.json bytes_read) bytes)" \
	test "$(field $tmp/b1.json status) $(field $tmp/b1.json full_read)" = "available false"
check "  the existing mount was reused (still one NFS mount)" test "$(nfs_mounts "$point")" = 1
check "  no checkpoint outstanding" bash -c "dmsetup status $name | grep -q ' - '"

for id in $b0 $b1; do
	check "backup $id restores to its point-in-time view" restored_equals_view "$id" $tmp/good.conf
done
check "delete both" cbtship --config $tmp/good.conf backup-delete $b0 $b1
check "collect the container" cbtship --config $tmp/good.conf backup-collect
check "  the container's chunks are gone from the export" \
	test "$(find $export/backups/volumebackups/chunks $export/backups/volumebackups/packs \
		-type f 2>/dev/null | wc -l)" = 0
check "untrack" cbtship untrack $name
echo "guest part done in $((SECONDS - start)) s"
