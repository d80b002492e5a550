/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The compressor: compresses chunk payloads with one configured algorithm
 * and level, and decompresses any algorithm (a repository may hold chunks
 * written under another setting). Library contexts (ZSTD_CCtx/DCtx, zlib
 * streams) are made on first use and reused, so steady-state calls do not
 * allocate.
 *
 * Not thread-safe: one compressor per worker thread.
 */
#ifndef CBTSHIP_COMPRESS_COMPRESSOR_H
#define CBTSHIP_COMPRESS_COMPRESSOR_H

#include <stddef.h>

#include "cbt-cleanup.h"
#include "cbtship/compress/compression.h"

struct cbt_compressor;

/*
 * level: CBT_COMPRESSION_LEVEL_DEFAULT or a level valid for the algorithm
 * (cbt_compression_level_check). 0, -EINVAL, -ERANGE or -ENOMEM.
 */
int cbt_compressor_new(enum cbt_compression algorithm, int level, struct cbt_compressor **ret);

/* Always returns NULL. */
struct cbt_compressor *cbt_compressor_free(struct cbt_compressor *c);
CBT_DEFINE_CLEANUP(struct cbt_compressor *, cbt_compressor_free, cbt_compressor_freep)

enum cbt_compression cbt_compressor_algorithm(const struct cbt_compressor *c);

/* The level in effect (the algorithm's default resolved; 0 for NONE). */
int cbt_compressor_level(const struct cbt_compressor *c);

/*
 * Compress src_len bytes into dst. The result is kept only if it is
 * smaller than the input and fits in dst_cap: on success *ret_len <
 * src_len. Returns
 *   0            compressed, *ret_len bytes at dst
 *   -ENOSPC      did not shrink (or did not fit in dst_cap): store the data
 *                raw. Always so for CBT_COMPRESS_NONE and for src_len 0.
 *                Not an error for the caller; dst content is undefined.
 *   -EFBIG       src_len beyond 4 GiB - 1 (chunks are at most 16 MiB)
 *   -ENOMEM, -EIO  library failure
 */
int cbt_compressor_compress(struct cbt_compressor *c, const void *src, size_t src_len, void *dst,
			    size_t dst_cap, size_t *ret_len);

/*
 * Decompress src (compressed with `algorithm`) into exactly dst_len bytes
 * at dst. 0, or -EBADMSG when src is not valid data of that algorithm or
 * does not decompress to exactly dst_len bytes (shorter, longer, trailing
 * bytes), -EINVAL for an unknown algorithm, -EFBIG, -ENOMEM, -EIO.
 */
int cbt_compressor_decompress(struct cbt_compressor *c, enum cbt_compression algorithm,
			      const void *src, size_t src_len, void *dst, size_t dst_len);

#endif
