# shellcheck shell=bash
# Helpers for guest tests. A guest test is one file: sourced on the host,
# vm_test_in_guest boots the guest with the disks asked for and runs the
# same file there, then exits with its status; in the guest it returns and
# the rest of the file runs as root with the repository as working dir.
#
#   . "$(dirname "$0")/../lib/vm-test.sh"
#   vm_test_in_guest --disk 256M --disk 16M
#   ... guest part ...
#
# Exit statuses follow automake: 0 pass, 77 skip, anything else fails.

CBT_REPO=${CBT_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

vm_test_in_guest() {
	[ -n "${CBT_IN_GUEST:-}" ] && return 0
	if ! command -v qemu-system-x86_64 >/dev/null; then
		echo "SKIP: qemu-system-x86_64 is not installed (scripts/setup)"
		exit 77
	fi
	local self
	self=$(realpath "$0")
	cd "$CBT_REPO" || exit 1
	exec "$CBT_REPO/scripts/vm-run" "$@" -- "$self"
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# check DESCRIPTION COMMAND...: run COMMAND, fail the test if it fails.
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok: $what"
	else
		fail "$what"
	fi
}

# refuse DESCRIPTION COMMAND...: COMMAND must fail.
refuse() {
	local what=$1
	shift
	if "$@" 2>/dev/null; then
		fail "$what (was accepted)"
	else
		echo "ok: $what (refused)"
	fi
}

# Multi-boot tests: the host part keeps disk files and state in a
# directory the guest sees read-write (under build/, not /tmp, which is
# private to the guest), and boots the same file once per phase.
vm_test_tmpdir() {
	mkdir -p "$CBT_REPO/build/tmp"
	mktemp -d "$CBT_REPO/build/tmp/${0##*/}.XXXXXX"
}

# vm_disk_files DIR NAME:SIZE...: create sparse disk files in DIR and set
# the array vm_disks to the matching --disk-file options, in order.
vm_disk_files() {
	local dir=$1 spec
	shift
	vm_disks=()
	for spec in "$@"; do
		truncate -s "${spec#*:}" "$dir/${spec%%:*}.img"
		vm_disks+=(--disk-file "$dir/${spec%%:*}.img")
	done
}

# vm_phase [vm-run options...] -- ARGS...: run this file in a guest with
# ARGS; returns the guest's status.
vm_phase() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	"$CBT_REPO/scripts/vm-run" "${opts[@]}" -- "$(realpath "$0")" "$@"
}

vm_require_qemu() {
	command -v qemu-system-x86_64 >/dev/null && return 0
	echo "SKIP: qemu-system-x86_64 is not installed (scripts/setup)"
	exit 77
}
