# shellcheck shell=bash
# The common start of the shipper's host tests (sourced after vm-test.sh,
# with the repository as working directory):
#
#   shipper_require_built TOOL...  skip (77) unless build/bin/TOOL is built
#   shipper_require_cmd CMD...     skip unless each command is installed
#   shipper_test_start             build/bin first on PATH; $tmp, a fresh
#                                  directory; $CBTSHIP_STATE_DIR inside it;
#                                  no inherited CBTSHIP_CATALOG,
#                                  CBTSHIP_CONFIG or OS_PROJECT_NAME; an
#                                  EXIT trap that runs the test's own
#                                  shipper_cleanup (when it defines one),
#                                  then removes $tmp after a pass, or shows
#                                  the end of cbtship's log and keeps $tmp
#                                  after a failure.

shipper_require_built() {
	local tool
	for tool; do
		[ -x "build/bin/$tool" ] || { echo "SKIP: build/bin/$tool is not built (make)"; exit 77; }
	done
}

shipper_require_cmd() {
	local cmd
	for cmd; do
		command -v "$cmd" >/dev/null || { echo "SKIP: $cmd is not installed (scripts/setup)"; exit 77; }
	done
}

shipper_test_end() {
	local rc=$?
	if declare -F shipper_cleanup >/dev/null; then
		shipper_cleanup || true
	fi
	if [ $rc -eq 0 ]; then
		rm -rf "$tmp"
	else
		echo "--- cbtship log" >&2
		tail -n 20 "$CBTSHIP_STATE_DIR/log/cbtship.log" >&2 2>/dev/null || true
		echo "(kept $tmp)" >&2
	fi
	exit $rc
}

shipper_test_start() {
	PATH=$CBT_REPO/build/bin:$PATH
	tmp=$(vm_test_tmpdir)
	export CBTSHIP_STATE_DIR=$tmp/state
	unset CBTSHIP_CATALOG CBTSHIP_CONFIG OS_PROJECT_NAME
	trap shipper_test_end EXIT
}
