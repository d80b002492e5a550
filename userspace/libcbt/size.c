/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sizes: parsing "64K"-style sizes, formatting them for people. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "libcbt.h"

static int unit_shift(const char *suffix, unsigned *ret_shift)
{
	static const struct {
		const char *name;
		unsigned shift;
	} units[] = {
		{ "", 0 },    { "b", 0 },    { "k", 10 }, { "kb", 10 }, { "kib", 10 }, { "m", 20 },
		{ "mb", 20 }, { "mib", 20 }, { "g", 30 }, { "gb", 30 }, { "gib", 30 }, { "t", 40 },
		{ "tb", 40 }, { "tib", 40 }, { "p", 50 }, { "pb", 50 }, { "pib", 50 },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(suffix, units[i].name) == 0) {
			*ret_shift = units[i].shift;
			return 0;
		}
	}
	return -EINVAL;
}

int cbt_parse_size(const char *text, uint64_t *ret_bytes)
{
	unsigned long long value;
	unsigned shift;
	char *end;

	if (!text || !isdigit((unsigned char)*text))
		return -EINVAL;
	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	while (*end == ' ')
		end++;
	if (unit_shift(end, &shift) < 0)
		return -EINVAL;
	if (shift && value > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret_bytes = (uint64_t)value << shift;
	return 0;
}

const char *cbt_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned i = 0;
	double v = (double)bytes;

	while (v >= 1024.0 && i + 1 < sizeof(names) / sizeof(names[0])) {
		v /= 1024.0;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%" PRIu64 " B", bytes);
	else if (bytes % (UINT64_C(1) << (10 * i)) == 0)
		snprintf(buf, len, "%.0f %s", v, names[i]);
	else
		snprintf(buf, len, "%.1f %s", v, names[i]);
	return buf;
}

int cbt_block_size_check(uint64_t bytes)
{
	uint64_t min = (uint64_t)DM_CBT_MIN_BLOCK_SECTORS * 512;
	uint64_t max = (uint64_t)DM_CBT_MAX_BLOCK_SECTORS * 512;

	if (bytes < min || bytes > max || (bytes & (bytes - 1)) != 0)
		return -EINVAL;
	return 0;
}
