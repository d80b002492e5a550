# shellcheck shell=bash
# Which kernel the guest boots and the module is built for: the newest
# Debian kernel installed under /lib/modules (never `uname -r`, which is the
# host's kernel). Override with KVER=.

guest_kernel_version() {
	if [ -n "${KVER:-}" ]; then
		echo "$KVER"
		return 0
	fi
	local d k best=
	for d in /lib/modules/*-amd64; do
		k=${d##*/}
		[ -f "/boot/vmlinuz-$k" ] || continue
		best=$(printf '%s\n%s\n' "$best" "$k" | sed '/^$/d' | sort -V | tail -n 1)
	done
	[ -n "$best" ] || return 1
	echo "$best"
}
