// SPDX-License-Identifier: GPL-2.0-only
/*
 * Feature: the blk_opf_t type for a bio's operation and flags (Linux 6.0).
 * Required.
 */
#include <linux/blk_types.h>

static blk_opf_t __maybe_unused cbt_probe(void)
{
	return REQ_OP_WRITE | REQ_SYNC;
}
