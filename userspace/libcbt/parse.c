/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small strict parsers shared by the status, table and message code. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "libcbt/libcbt-internal.h"

int cbt_parse_u64(const char *text, uint64_t *ret)
{
	uint64_t v = 0;

	if (!text || !*text)
		return -EINVAL;
	for (const char *p = text; *p; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

int cbt_format_devno(uint32_t major, uint32_t minor, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%" PRIu32 ":%" PRIu32, major, minor);

	if (n < 0 || (size_t)n >= len)
		return -ENOBUFS;
	return 0;
}
