// SPDX-License-Identifier: GPL-2.0-only
/*
 * Feature: genl_info_dump(), a dump's attributes in a struct genl_info
 * (Linux 6.6; before, genl_dumpit_info(cb)->attrs). Optional:
 * HAVE_GENL_INFO_DUMP selects the accessor.
 */
#include <net/genetlink.h>

static struct nlattr __maybe_unused **cbt_probe(struct netlink_callback *cb)
{
	return genl_info_dump(cb)->attrs;
}
