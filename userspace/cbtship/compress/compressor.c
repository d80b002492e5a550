/* SPDX-License-Identifier: GPL-2.0-or-later */
/* zstd and zlib compression of chunk payloads, contexts reused. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "cbtship/compress/compressor.h"

#define ZLIB_LEVEL_DEFAULT 6 /* what Z_DEFAULT_COMPRESSION means */

struct cbt_compressor {
	enum cbt_compression algorithm;
	int level;

	ZSTD_CCtx *zstd_c;
	ZSTD_DCtx *zstd_d;
	z_stream zlib_c;
	z_stream zlib_d;
	bool zlib_c_ready, zlib_d_ready;
};

struct cbt_compressor *cbt_compressor_free(struct cbt_compressor *c)
{
	if (!c)
		return NULL;
	ZSTD_freeCCtx(c->zstd_c);
	ZSTD_freeDCtx(c->zstd_d);
	if (c->zlib_c_ready)
		deflateEnd(&c->zlib_c);
	if (c->zlib_d_ready)
		inflateEnd(&c->zlib_d);
	free(c);
	return NULL;
}

int cbt_compressor_new(enum cbt_compression algorithm, int level, struct cbt_compressor **ret)
{
	struct cbt_compressor *c;
	int r;

	if (!ret)
		return -EINVAL;
	r = cbt_compression_level_check(algorithm, level);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->algorithm = algorithm;
	if (level == CBT_COMPRESSION_LEVEL_DEFAULT) {
		if (algorithm == CBT_COMPRESS_ZSTD)
			level = ZSTD_CLEVEL_DEFAULT;
		else if (algorithm == CBT_COMPRESS_ZLIB)
			level = ZLIB_LEVEL_DEFAULT;
	}
	c->level = level;
	*ret = c;
	return 0;
}

enum cbt_compression cbt_compressor_algorithm(const struct cbt_compressor *c)
{
	return c->algorithm;
}

int cbt_compressor_level(const struct cbt_compressor *c)
{
	return c->level;
}

static int zstd_compress(struct cbt_compressor *c, const void *src, size_t src_len, void *dst,
			 size_t cap, size_t *ret_len)
{
	size_t n;

	if (!c->zstd_c) {
		c->zstd_c = ZSTD_createCCtx();
		if (!c->zstd_c)
			return -ENOMEM;
		/* No frame checksum: chunk objects carry a CRC and the id. */
		if (ZSTD_isError(
			    ZSTD_CCtx_setParameter(c->zstd_c, ZSTD_c_compressionLevel, c->level)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(c->zstd_c, ZSTD_c_checksumFlag, 0)))
			return -EIO;
	}
	n = ZSTD_compress2(c->zstd_c, dst, cap, src, src_len);
	if (ZSTD_isError(n)) {
		ZSTD_ErrorCode e = ZSTD_getErrorCode(n);

		/* The context stays usable; parameters survive a session reset. */
		ZSTD_CCtx_reset(c->zstd_c, ZSTD_reset_session_only);
		if (e == ZSTD_error_dstSize_tooSmall)
			return -ENOSPC;
		return e == ZSTD_error_memory_allocation ? -ENOMEM : -EIO;
	}
	*ret_len = n;
	return 0;
}

static int zlib_compress(struct cbt_compressor *c, const void *src, size_t src_len, void *dst,
			 size_t cap, size_t *ret_len)
{
	z_stream *z = &c->zlib_c;
	int zr;

	if (!c->zlib_c_ready) {
		zr = deflateInit(z, c->level);
		if (zr != Z_OK)
			return zr == Z_MEM_ERROR ? -ENOMEM : -EIO;
		c->zlib_c_ready = true;
	} else if (deflateReset(z) != Z_OK)
		return -EIO;
	if (cap > UINT_MAX)
		cap = UINT_MAX;
	z->next_in = (Bytef *)(uintptr_t)src; /* zlib's API is not const */
	z->avail_in = (uInt)src_len;
	z->next_out = dst;
	z->avail_out = (uInt)cap;
	zr = deflate(z, Z_FINISH);
	if (zr == Z_STREAM_END) {
		*ret_len = z->total_out;
		return 0;
	}
	/* Z_OK or Z_BUF_ERROR: out of room before the end. */
	return zr == Z_OK || zr == Z_BUF_ERROR ? -ENOSPC : -EIO;
}

int cbt_compressor_compress(struct cbt_compressor *c, const void *src, size_t src_len, void *dst,
			    size_t dst_cap, size_t *ret_len)
{
	size_t cap, n = 0;
	int r;

	if (src_len > UINT32_MAX)
		return -EFBIG;
	if (c->algorithm == CBT_COMPRESS_NONE || src_len == 0)
		return -ENOSPC;
	/* Only a strictly smaller result is worth keeping. */
	cap = dst_cap < src_len - 1 ? dst_cap : src_len - 1;
	if (cap == 0)
		return -ENOSPC;
	switch (c->algorithm) {
	case CBT_COMPRESS_ZSTD:
		r = zstd_compress(c, src, src_len, dst, cap, &n);
		break;
	case CBT_COMPRESS_ZLIB:
		r = zlib_compress(c, src, src_len, dst, cap, &n);
		break;
	default:
		return -EINVAL;
	}
	if (r < 0)
		return r;
	if (n >= src_len) /* cannot happen given cap; keep the promise anyway */
		return -ENOSPC;
	*ret_len = n;
	return 0;
}

static int zstd_decompress(struct cbt_compressor *c, const void *src, size_t src_len, void *dst,
			   size_t dst_len)
{
	size_t n;

	if (!c->zstd_d) {
		c->zstd_d = ZSTD_createDCtx();
		if (!c->zstd_d)
			return -ENOMEM;
	}
	n = ZSTD_decompressDCtx(c->zstd_d, dst, dst_len, src, src_len);
	if (ZSTD_isError(n)) {
		ZSTD_DCtx_reset(c->zstd_d, ZSTD_reset_session_only);
		return ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation ? -ENOMEM : -EBADMSG;
	}
	return n == dst_len ? 0 : -EBADMSG;
}

static int zlib_decompress(struct cbt_compressor *c, const void *src, size_t src_len, void *dst,
			   size_t dst_len)
{
	z_stream *z = &c->zlib_d;
	int zr;

	if (!c->zlib_d_ready) {
		zr = inflateInit(z);
		if (zr != Z_OK)
			return zr == Z_MEM_ERROR ? -ENOMEM : -EIO;
		c->zlib_d_ready = true;
	} else if (inflateReset(z) != Z_OK)
		return -EIO;
	z->next_in = (Bytef *)(uintptr_t)src;
	z->avail_in = (uInt)src_len;
	z->next_out = dst;
	z->avail_out = (uInt)dst_len;
	zr = inflate(z, Z_FINISH);
	if (zr == Z_MEM_ERROR)
		return -ENOMEM;
	/* The stream must end exactly at the end of both buffers. */
	if (zr != Z_STREAM_END || z->avail_in != 0 || z->avail_out != 0)
		return -EBADMSG;
	return 0;
}

int cbt_compressor_decompress(struct cbt_compressor *c, enum cbt_compression algorithm,
			      const void *src, size_t src_len, void *dst, size_t dst_len)
{
	if (src_len > UINT32_MAX || dst_len > UINT32_MAX)
		return -EFBIG;
	switch (algorithm) {
	case CBT_COMPRESS_NONE:
		if (src_len != dst_len)
			return -EBADMSG;
		if (dst_len)
			memcpy(dst, src, dst_len);
		return 0;
	case CBT_COMPRESS_ZSTD:
		return zstd_decompress(c, src, src_len, dst, dst_len);
	case CBT_COMPRESS_ZLIB:
		return zlib_decompress(c, src, src_len, dst, dst_len);
	default:
		return -EINVAL;
	}
}
