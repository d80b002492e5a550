/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Table lines of the cbt target. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "libcbt.h"

static bool is_device_name(const char *name)
{
	return name && *name && strpbrk(name, " \t\n") == NULL;
}

int cbt_table_params(const char *origin, const char *metadata, uint64_t block_bytes, char *buf,
		     size_t len)
{
	int n;

	if (!is_device_name(origin) || !is_device_name(metadata) ||
	    cbt_block_size_check(block_bytes) < 0)
		return -EINVAL;
	n = snprintf(buf, len, "%s %s %" PRIu64, origin, metadata, block_bytes / 512);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENOBUFS;
	return n;
}
