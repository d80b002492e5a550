/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Table lines of the cbt target. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "libcbt/libcbt-internal.h"

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

int cbt_table_parse(const char *params, struct cbt_table *ret)
{
	_cleanup_(freep) char *copy = NULL;
	char *origin, *metadata, *block, *nopts, *save = NULL;
	struct cbt_table t = { 0 };
	uint64_t v, nr_opts;

	if (!params)
		return -EINVAL;
	copy = strdup(params);
	if (!copy)
		return -ENOMEM;
	origin = strtok_r(copy, " ", &save);
	metadata = strtok_r(NULL, " ", &save);
	block = strtok_r(NULL, " ", &save);
	if (!origin || !metadata || !block)
		return -EINVAL;
	if (cbt_parse_u64(block, &v) < 0 || v > UINT32_MAX || cbt_block_size_check(v * 512) < 0)
		return -EINVAL;
	nopts = strtok_r(NULL, " ", &save);
	if (nopts) {
		if (cbt_parse_u64(nopts, &nr_opts) < 0)
			return -EINVAL;
		for (uint64_t i = 0; i < nr_opts; i++)
			if (!strtok_r(NULL, " ", &save))
				return -EINVAL;
		if (strtok_r(NULL, " ", &save))
			return -EINVAL;
	}
	if (strlen(origin) >= sizeof(t.origin) || strlen(metadata) >= sizeof(t.metadata))
		return -EINVAL;
	strcpy(t.origin, origin);
	strcpy(t.metadata, metadata);
	t.block_sectors = (uint32_t)v;
	*ret = t;
	return 0;
}
