// SPDX-License-Identifier: GPL-2.0-only
/*
 * Feature: generic netlink families with small_ops (struct
 * genl_small_ops, Linux 5.10) and genl_dumpit_info(). Required.
 */
#include <net/genetlink.h>

static const struct genl_small_ops cbt_probe_ops[] = {
	{ .cmd = 1, .flags = GENL_ADMIN_PERM },
};

static struct genl_family cbt_probe_family __maybe_unused = {
	.small_ops = cbt_probe_ops,
	.n_small_ops = ARRAY_SIZE(cbt_probe_ops),
	.parallel_ops = true,
};

static const void __maybe_unused *cbt_probe(struct netlink_callback *cb)
{
	return genl_dumpit_info(cb);
}
