/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Compression algorithms of chunk payloads and their names, as cinder's
 * backup_compression_algorithm spells them.
 */
#ifndef CBTSHIP_COMPRESS_COMPRESSION_H
#define CBTSHIP_COMPRESS_COMPRESSION_H

/* The values are stored in chunk object headers: never renumber. */
enum cbt_compression {
	CBT_COMPRESS_NONE = 0,
	CBT_COMPRESS_ZLIB = 1,
	CBT_COMPRESS_ZSTD = 2,
	_CBT_COMPRESS_MAX,
};

#define CBT_COMPRESS_DEFAULT CBT_COMPRESS_ZSTD

/* Level argument meaning "the algorithm's default" (zstd 3, zlib 6). */
#define CBT_COMPRESSION_LEVEL_DEFAULT 0

/*
 * Parse a backup_compression_algorithm value, case-insensitively:
 * "none", "off", "no" -> NONE; "zlib", "gzip" -> ZLIB (cinder's "gzip"
 * is the zlib format too); "zstd" -> ZSTD. "bz2" and "bzip2" are cinder
 * names this build does not implement: -EOPNOTSUPP. Anything else: -EINVAL.
 */
int cbt_compression_from_string(const char *s, enum cbt_compression *ret);

/* "none", "zlib", "zstd", or NULL for a value out of range. */
const char *cbt_compression_to_string(enum cbt_compression c);

/* Whether a value read from disk names a known algorithm. */
static inline int cbt_compression_valid(int c)
{
	return c >= 0 && c < _CBT_COMPRESS_MAX;
}

/*
 * Check a level for an algorithm: CBT_COMPRESSION_LEVEL_DEFAULT, or zlib
 * 1..9, zstd 1..ZSTD_maxCLevel() (negative "fast" levels too). NONE takes
 * only the default. 0 or -ERANGE.
 */
int cbt_compression_level_check(enum cbt_compression c, int level);

#endif
