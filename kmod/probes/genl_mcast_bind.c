// SPDX-License-Identifier: GPL-2.0-only
/*
 * Feature: genl_family.mcast_bind, called when a socket joins one of the
 * family's multicast groups (removed where groups carry
 * GENL_MCAST_CAP_* flags instead). Optional: without the flags, dm-cbt's
 * events group checks CAP_NET_ADMIN there.
 */
#include <net/genetlink.h>

static int cbt_probe_bind(struct net *net, int group)
{
	return 0;
}

static struct genl_family cbt_probe_family __maybe_unused = {
	.mcast_bind = cbt_probe_bind,
};
