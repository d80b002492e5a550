#!/usr/bin/env bash
# Requires: scdoc, man-db, groff, a built build/bin/cbtship. The man pages
# build (make man), cbtship(8) documents every command and global option
# of `build/bin/cbtship --help` with the synopsis of `cbtship help
# COMMAND`, dm-cbt(4) every message and status field of the target, and
# neither page draws a warning from man --warnings or groff -ww.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
command -v scdoc >/dev/null || { echo "SKIP: scdoc is not installed (scripts/setup)"; exit 77; }
command -v groff >/dev/null || { echo "SKIP: groff is not installed"; exit 77; }
[ -x build/bin/cbtship ] || { echo "SKIP: build/bin/cbtship is not built (make)"; exit 77; }
make -s man || { echo "FAIL: make man"; exit 1; }

status=0
bad() {
	echo "FAIL: $*"
	status=1
}
page8=build/man/cbtship.8
page4=build/man/dm-cbt.4
# The pages as text, without hyphenation or adjustment, one paragraph a line.
text() { MANWIDTH=1000 LC_ALL=C.UTF-8 man -l "$1" 2>/dev/null | col -b; }
text8=$(text $page8)
text4=$(text $page4)

cmds=$(build/bin/cbtship --help | awk '/^commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 } f && /^$/ { exit }')
[ -n "$cmds" ] || bad "no commands in cbtship --help"
n=0
for c in $cmds; do
	n=$((n + 1))
	grep -qx "\.SS $c" $page8 || bad "cbtship(8) has no section for command $c"
	synopsis=$(build/bin/cbtship help "$c" | sed -n '1s/^usage: //p')
	grep -qF -- "$synopsis" <<<"$text8" || bad "cbtship(8) lacks the synopsis '$synopsis'"
	summary=$(build/bin/cbtship help "$c" | sed -n 3p)
	grep -qF -- "$summary" <<<"$text8" || bad "cbtship(8) lacks the summary of $c"
done
# Every section of the page is a command (no stale ones).
for s in $(sed -n 's/^\.SS //p' $page8); do
	grep -qx -- "$s" <<<"$cmds" || bad "cbtship(8) documents '$s', which cbtship --help does not list"
done
for o in $(build/bin/cbtship --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -qF -- "$o" <<<"$text8" || bad "cbtship(8) lacks the global option $o"
done
echo "cbtship(8): $n commands checked"

for m in checkpoint commit abort mark_dirty invalidate prepare_detach; do
	grep -qE "^ +$m( |$)" <<<"$text4" || bad "dm-cbt(4) lacks the message $m"
done
fields=$(sed -n 's/^#define DM_CBT_STATUS_FIELDS[[:space:]]*\([0-9]*\).*/\1/p' include/uapi/dm-cbt.h)
items=$(sed -n '/^STATUS/,/^[A-Z]/p' <<<"$text4" | grep -cE '^ +[0-9]+\. ')
[ "$items" = "$fields" ] || bad "dm-cbt(4) lists $items status fields, the target has $fields"
for s in ok invalid error; do
	grep -q "$s" <<<"$(sed -n '/^STATUS/,/^[A-Z]/p' <<<"$text4")" || bad "dm-cbt(4) lacks the state $s"
done

for p in $page8 $page4; do
	w=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$p" 2>&1 >/dev/null)
	[ -z "$w" ] || bad "man --warnings $p: $w"
	w=$(groff -ww -z -man "$p" 2>&1)
	[ -z "$w" ] || bad "groff -ww $p: $w"
done
[ $status -eq 0 ] && echo "man pages: ok"
exit $status
