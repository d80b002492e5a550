// SPDX-License-Identifier: GPL-2.0-only
/*
 * Feature: genl_family.resv_start_op, from which operation on the header's
 * reserved fields are validated (Linux 6.1). Optional:
 * HAVE_GENL_RESV_START_OP sets it.
 */
#include <net/genetlink.h>

static struct genl_family cbt_probe_family __maybe_unused = {
	.resv_start_op = 1,
};
