#!/usr/bin/env bash
# Requires: checkpatch.pl from linux-source (scripts/setup unpacks it).
# The kernel module and the uapi header are checkpatch-clean.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
cp=${CHECKPATCH:-/usr/src/linux-source-6.1/scripts/checkpatch.pl}
[ -x "$cp" ] || { echo "SKIP: $cp not found (scripts/setup)"; exit 77; }
status=0
for f in $(git ls-files -co --exclude-standard "kmod/*.[ch]" "include/uapi/*.h" | grep -v "\.mod\.c$"); do
	[ -f "$f" ] || continue
	"$cp" --no-tree --quiet --show-types --ignore SPDX_LICENSE_TAG -f "$f" || status=1
done
exit $status
