#!/usr/bin/env bash
# Requires: QEMU guest, dkms. The module's DKMS packaging. On the host: the
# feature probes of kmod/Kbuild give HAVE_ flags for the guest kernel, and
# a kernel lacking a required feature stops the build with a message
# naming it (a fake required probe). Then the source tree staged by
# dkms/stage-source goes through `dkms add` and `dkms build -k GUEST` on
# the host, into a throwaway DKMS tree under build/tmp (a build inside the
# TCG guest takes about 5 minutes; CBT_DKMS_IN_GUEST=1 does add and build
# in the guest instead, from /usr/src/dm-cbt-VERSION). In the guest (the
# host's root under a writable overlay): `dkms install -k`, the module
# vm-run loaded is unloaded, `modprobe dm-cbt` loads the DKMS one from
# updates/dkms, and a volume tracked with `cbtship track` records a write
# in `dmsetup status`.
set -euo pipefail
. "$(dirname "$0")/../lib/vm-test.sh"

if [ -z "${CBT_IN_GUEST:-}" ]; then
	vm_require_qemu
	command -v dkms >/dev/null || { echo "SKIP: dkms is not installed (scripts/setup)"; exit 77; }
	. "$CBT_REPO/scripts/lib/kernel.sh"
	kver=$(guest_kernel_version)
	d=$(vm_test_tmpdir)
	trap 'rm -rf "$d"' EXIT
	# Probes against the guest kernel's headers, from a staged tree.
	"$CBT_REPO/dkms/stage-source" "$d/src"
	make -s -C "/lib/modules/$kver/build" M="$d/src" modules >"$d/make.log" 2>&1 ||
		{ cat "$d/make.log"; fail "staged tree builds"; }
	flags=$(grep -o -- '-DHAVE_[A-Z0-9_]*' "$d/src/kmod/.dm-cbt-target.o.cmd" | sort -u | tr '\n' ' ')
	echo "probes for $kver: $flags"
	for f in HAVE_BLK_OPF_T HAVE_DM_IO_REQUEST_BI_OPF HAVE_DM_SUBMIT_BIO_REMAP \
		HAVE_GENL_SMALL_OPS HAVE_BDEV_NR_SECTORS; do
		case " $flags " in *" -D$f "*) ;; *) fail "required probe $f passes on $kver" ;; esac
	done
	echo "ok: required probes pass on $kver"
	make -s -C "/lib/modules/$kver/build" M="$d/src" clean >/dev/null 2>&1
	cat >"$d/src/kmod/probes/zz_no_such_feature.c" <<'PROBE'
// SPDX-License-Identifier: GPL-2.0-only
/*
 * Feature: cbt_no_such_function(), which no kernel has. Required.
 */
#include <linux/kernel.h>

static int __maybe_unused cbt_probe(void)
{
	return cbt_no_such_function();
}
PROBE
	if make -s -C "/lib/modules/$kver/build" M="$d/src" modules >"$d/make.log" 2>&1; then
		fail "a build lacking a required feature was accepted"
	fi
	grep -q "lacks required feature(s): zz_no_such_feature (cbt_no_such_function(), which no kernel has.)" "$d/make.log" ||
		{ cat "$d/make.log"; fail "the build error names the missing feature"; }
	echo "ok: a missing required feature stops the build: $(grep -o 'dm-cbt: kernel.*' "$d/make.log" | head -1)"
	rm -rf "$d/src"
	mode=host
	if [ -n "${CBT_DKMS_IN_GUEST:-}" ]; then
		mode=guest
	else
		ver=$("$CBT_REPO/dkms/stage-source" --version)
		"$CBT_REPO/dkms/stage-source" "$d/src/dm-cbt-$ver"
		dk=(--dkmstree "$d/dkms" --sourcetree "$d/src" -m dm-cbt -v "$ver")
		mkdir -p "$d/dkms"
		t0=$SECONDS
		{ dkms add "${dk[@]}" && dkms build "${dk[@]}" -k "$kver"; } >"$d/build.log" 2>&1 ||
			{ cat "$d/build.log"; fail "dkms add, dkms build -k $kver on the host"; }
		echo "ok: dkms add, dkms build -k $kver on the host (throwaway tree $d/dkms)"
		echo "dkms build on the host: $((SECONDS - t0)) s"
	fi
	cd "$CBT_REPO"
	vm_phase --disk 64M --timeout 900 --memory 1536 -- "$mode" "$d"
	echo PASS
	exit 0
fi

. "$CBT_REPO/scripts/lib/kernel.sh"
export CBTSHIP_STATE_DIR=/tmp/cbtship-state
kver=$(guest_kernel_version)
check "the guest runs the kernel the module is built for ($kver)" test "$(uname -r)" = "$kver"
ver=$(dkms/stage-source --version)
src=/usr/src/dm-cbt-$ver

on_exit() {
	local rc=$?
	if [ $rc -ne 0 ]; then
		cat /var/lib/dkms/dm-cbt/"$ver"/build/make.log "$d"/dkms/dm-cbt/"$ver"/build/make.log 2>/dev/null | tail -n 30 >&2 || true
		dmesg | grep -i -E 'cbt|device-mapper' | tail -n 20 >&2 || true
	fi
	cbtship untrack t >/dev/null 2>&1 || true
	exit $rc
}
trap on_exit EXIT

mode=$1 d=$2
if [ "$mode" = guest ]; then
	dk=(-m dm-cbt -v "$ver")
	rm -rf "$src"
	check "stage the source tree in $src" dkms/stage-source "$src"
	t0=$SECONDS
	check "dkms add" dkms add "${dk[@]}"
	check "dkms build -k $kver" dkms build "${dk[@]}" -k "$kver"
	echo "dkms build in the guest: $((SECONDS - t0)) s"
else
	# Built on the host into $d/dkms (the same path here).
	dk=(--dkmstree "$d/dkms" --sourcetree "$d/src" -m dm-cbt -v "$ver")
	check "dkms status says built (on the host)" bash -c "dkms status ${dk[*]} -k $kver | grep -q ': built'"
fi
t0=$SECONDS
check "dkms install -k $kver" dkms install "${dk[@]}" -k "$kver"
echo "dkms install in the guest: $((SECONDS - t0)) s"
check "dkms status says installed" bash -c "dkms status ${dk[*]} -k $kver | grep -q ': installed'"
ko=$(modinfo -k "$kver" -n dm-cbt)
echo "modprobe resolves dm-cbt to $ko"
check "the module comes from DKMS" test "$ko" = "/lib/modules/$kver/updates/dkms/dm-cbt.ko"

# Replace the module vm-run loaded from kmod/ by DKMS's.
if lsmod | grep -q '^dm_cbt '; then
	check "rmmod the module vm-run loaded" rmmod dm_cbt
fi
refuse "dm_cbt is not loaded" bash -c "lsmod | grep -q '^dm_cbt '"
# modprobe -v prints the insmod it does: the file must be DKMS's.
check "modprobe dm-cbt" bash -c "modprobe -v dm-cbt >/tmp/modprobe.out"
cat /tmp/modprobe.out
check "it loaded DKMS's module $ko" grep -qx "insmod $ko *" /tmp/modprobe.out
check "dm_cbt is loaded (lsmod)" bash -c "lsmod | grep -q '^dm_cbt '"
check "dmsetup knows the cbt target" bash -c "dmsetup targets | grep -q '^cbt '"

check "cbtship track /dev/vdb" cbtship track /dev/vdb --name t --metadata /tmp/t.meta
check "write 4 KiB at 1 MiB" dd if=/dev/urandom of=/dev/mapper/t bs=4096 seek=256 count=1 oflag=direct status=none
st=$(dmsetup status t)
echo "dmsetup status t: $st"
check "the table is a cbt target" test "$(echo "$st" | awk '{ print $3 }')" = cbt
check "one dirty block" test "$(echo "$st" | awk '{ print $6 }')" = 1
check "state ok" test "$(echo "$st" | awk '{ print $NF }')" = ok
check "untrack" cbtship untrack t
