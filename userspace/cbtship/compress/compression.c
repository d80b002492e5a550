/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Algorithm names and levels. */
#include <errno.h>
#include <strings.h>

#include <zlib.h>
#include <zstd.h>

#include "cbtship/compress/compression.h"

static const char *const names[_CBT_COMPRESS_MAX] = {
	[CBT_COMPRESS_NONE] = "none",
	[CBT_COMPRESS_ZLIB] = "zlib",
	[CBT_COMPRESS_ZSTD] = "zstd",
};

static const struct {
	const char *name;
	int value; /* an algorithm, or -EOPNOTSUPP */
} aliases[] = {
	{ "none", CBT_COMPRESS_NONE }, { "off", CBT_COMPRESS_NONE },  { "no", CBT_COMPRESS_NONE },
	{ "zlib", CBT_COMPRESS_ZLIB }, { "gzip", CBT_COMPRESS_ZLIB }, { "zstd", CBT_COMPRESS_ZSTD },
	{ "bz2", -EOPNOTSUPP },	       { "bzip2", -EOPNOTSUPP },
};

int cbt_compression_from_string(const char *s, enum cbt_compression *ret)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcasecmp(s, aliases[i].name) != 0)
			continue;
		if (aliases[i].value < 0)
			return aliases[i].value;
		*ret = (enum cbt_compression)aliases[i].value;
		return 0;
	}
	return -EINVAL;
}

const char *cbt_compression_to_string(enum cbt_compression c)
{
	return cbt_compression_valid((int)c) ? names[c] : NULL;
}

int cbt_compression_level_check(enum cbt_compression c, int level)
{
	if (level == CBT_COMPRESSION_LEVEL_DEFAULT)
		return cbt_compression_valid((int)c) ? 0 : -EINVAL;
	switch (c) {
	case CBT_COMPRESS_ZLIB:
		return level >= Z_BEST_SPEED && level <= Z_BEST_COMPRESSION ? 0 : -ERANGE;
	case CBT_COMPRESS_ZSTD:
		return level >= ZSTD_minCLevel() && level <= ZSTD_maxCLevel() ? 0 : -ERANGE;
	case CBT_COMPRESS_NONE:
		return -ERANGE;
	default:
		return -EINVAL;
	}
}
