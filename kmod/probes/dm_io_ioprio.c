// SPDX-License-Identifier: GPL-2.0-only
/*
 * Feature: dm_io() takes an I/O priority argument (Linux 6.5, and 6.1.x
 * stable). Optional: HAVE_DM_IO_IOPRIO selects the call.
 */
#include <linux/dm-io.h>
#include <linux/ioprio.h>

static int __maybe_unused cbt_probe(struct dm_io_request *req,
				    struct dm_io_region *where)
{
	return dm_io(req, 1, where, NULL, IOPRIO_DEFAULT);
}
