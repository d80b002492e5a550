# shellcheck shell=bash
# Guest-side helpers for dm-cbt tests (source after vm_test_in_guest).

CBTMETA="/usr/bin/python3 $CBT_REPO/tests/lib/cbtmeta.py"

# cbt_create NAME ORIGIN META BLOCK_SECTORS [OPTS...]: create a cbt device.
cbt_create() {
	local name=$1 origin=$2 meta=$3 bs=$4
	shift 4
	local opts=""
	[ $# -gt 0 ] && opts=" $# $*"
	dmsetup create "$name" --table "0 $(blockdev --getsz "$origin") cbt $origin $meta $bs$opts"
}

# cbt_field NAME N: field N (1-based) of the cbt part of the status line.
cbt_field() {
	dmsetup status "$1" | awk -v n="$2" '{ print $(3 + n) }'
}

# pwrite DEV SECTOR COUNT [SRC]: write COUNT sectors at SECTOR with
# O_DIRECT in one call, from SRC (default /dev/urandom).
pwrite() {
	local src=${4:-/dev/urandom}
	dd if="$src" of="$1" bs=$(($3 * 512)) count=1 seek=$(($2 * 512)) \
		oflag=seek_bytes,direct conv=notrunc iflag=fullblock status=none
}

# zero_dev DEV: zero a (small) device.
zero_dev() {
	dd if=/dev/zero of="$1" bs=1M oflag=direct status=none 2>/dev/null || true
}

# disk_blocks META [current|frozen|both]: the blocks marked on disk.
disk_blocks() {
	$CBTMETA "$1" --blocks "${2:-current}"
}
