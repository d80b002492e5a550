// SPDX-License-Identifier: GPL-2.0-only
/*
 * Feature: struct dm_io_request has one bi_opf field (Linux 6.0; before,
 * bi_op and bi_op_flags). Required.
 */
#include <linux/dm-io.h>

static void __maybe_unused cbt_probe(struct dm_io_request *req)
{
	req->bi_opf = REQ_OP_WRITE | REQ_SYNC;
}
