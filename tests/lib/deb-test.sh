# shellcheck shell=bash
# Helpers for guest tests of the Debian packages (tests/vm/deb-*.sh); source
# after tests/lib/vm-test.sh.
#
# Host side, deb_test_build DIR: skips (77) without the tools, builds the
# man pages and the packages of `make deb` (scripts/build-deb) into DIR/deb
# and, unless CBT_DKMS_IN_GUEST=1, the module for the guest kernel with
# DKMS on the host, as a binaries-only DKMS tarball DIR/prebuilt.tar.gz (a
# DKMS build inside the TCG guest takes about 5 minutes).
#
# Guest side, deb_test_install DIR: loads that tarball into the guest's DKMS
# tree (dkms ldtarball), then dpkg -i both packages (the dm-cbt-dkms
# postinst finds the module built and installs it) and checks that they
# are installed. Both set kver (the guest kernel) and ver (the packages'
# version).

deb_test_build() {
	local d=$1 tool dk
	for tool in dkms scdoc dpkg-shlibdeps; do
		command -v $tool >/dev/null || { echo "SKIP: $tool is not installed (scripts/setup)"; exit 77; }
	done
	[ -x "$CBT_REPO/build/bin/cbtship" ] || { echo "SKIP: build/bin/cbtship is not built (make)"; exit 77; }
	. "$CBT_REPO/scripts/lib/kernel.sh"
	kver=$(guest_kernel_version)
	ver=$("$CBT_REPO/dkms/stage-source" --version)
	make -s -C "$CBT_REPO" man || fail "make man"
	"$CBT_REPO/scripts/build-deb" "$d/deb" >/dev/null || fail "scripts/build-deb"
	echo "ok: built $(cd "$d/deb" && echo *.deb)"
	if [ -z "${CBT_DKMS_IN_GUEST:-}" ]; then
		"$CBT_REPO/dkms/stage-source" "$d/src/dm-cbt-$ver"
		dk=(--dkmstree "$d/dkms" --sourcetree "$d/src" -m dm-cbt -v "$ver")
		mkdir -p "$d/dkms"
		{
			dkms add "${dk[@]}" && dkms build "${dk[@]}" -k "$kver" &&
				dkms mktarball "${dk[@]}" -k "$kver" --binaries-only --archive "$d/prebuilt.tar.gz"
		} >"$d/dkms.log" 2>&1 || { cat "$d/dkms.log"; fail "prebuilt module for $kver"; }
		echo "ok: module prebuilt on the host by DKMS for $kver ($d/prebuilt.tar.gz)"
	fi
}

deb_test_install() {
	local d=$1 t0
	. "$CBT_REPO/scripts/lib/kernel.sh"
	kver=$(guest_kernel_version)
	ver=$("$CBT_REPO/dkms/stage-source" --version)
	# No man-db trigger (it rebuilds the whole man index, slowly under TCG).
	rm -f /var/lib/man-db/auto-update
	if [ -f "$d/prebuilt.tar.gz" ]; then
		# dkms 3.0.10's ldtarball exits 1 after loading binaries-only
		# tarballs: judge by the status it leaves.
		dkms ldtarball "$d/prebuilt.tar.gz" || true
		check "dkms ldtarball of the module prebuilt on the host: built" \
			bash -c "dkms status -m dm-cbt -v $ver -k $kver | grep -q ': built'"
	fi
	t0=$SECONDS
	check "dpkg -i dm-cbt-dkms cbtship" dpkg -i "$d/deb/dm-cbt-dkms_${ver}_all.deb" "$d"/deb/cbtship_"${ver}"_*.deb
	echo "dpkg -i in the guest: $((SECONDS - t0)) s"
	dkms status -m dm-cbt
	check "both packages are installed" bash -c "dpkg -s dm-cbt-dkms cbtship | grep -c '^Status: install ok installed' | grep -qx 2"
}
