#!/usr/bin/env bash
# Requires: a built build/bin/cbtship. etc/bash-completion/cbtship parses,
# completes every command of `cbtship --help` from a prefix, `help
# COMMAND`, and for each command exactly the long options of its synopsis
# in `cbtship help COMMAND`; values listed in a synopsis (--format
# table|json) complete too.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
[ -x build/bin/cbtship ] || { echo "SKIP: build/bin/cbtship is not built (make)"; exit 77; }
bash -n etc/bash-completion/cbtship || { echo "FAIL: syntax"; exit 1; }
PATH=$PWD/build/bin:$PATH
# shellcheck source=etc/bash-completion/cbtship
. etc/bash-completion/cbtship

status=0
bad() {
	echo "FAIL: $*"
	status=1
}
complete_words() { # the completions of the command line "$@" (last word: current)
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_cbtship
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

complete -p cbtship | grep -q -- '-F _cbtship' || bad "no 'complete -F _cbtship cbtship'"
cmds=$(cbtship --help | awk '/^commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 } f && /^$/ { exit }')
[ "$(complete_words cbtship '')" = "$(sort <<<"$cmds")" ] || bad "'cbtship <TAB>' is not the command list"
n=0
for c in $cmds; do
	n=$((n + 1))
	complete_words cbtship "${c:0:3}" | grep -qx -- "$c" || bad "'cbtship ${c:0:3}<TAB>' lacks $c"
	complete_words cbtship --os-project-name p help "${c:0:4}" | grep -qx -- "$c" ||
		bad "'cbtship help ${c:0:4}<TAB>' lacks $c"
	want=$(cbtship help "$c" | head -n 1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
	got=$(complete_words cbtship "$c" -- | grep -- '^--')
	[ "$got" = "$want" ] || bad "'cbtship $c --<TAB>' gives [$(echo $got)], its synopsis has [$(echo $want)]"
done
[ "$(complete_words cbtship volume-list --format '' | tr '\n' ' ')" = "json table " ] ||
	bad "'cbtship volume-list --format <TAB>' is not json table"
[ "$(complete_words cbtship --v)" = --version ] || bad "'cbtship --v<TAB>' is not --version"
[ $status -eq 0 ] && echo "bash completion: $n commands checked"
exit $status
