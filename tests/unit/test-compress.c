/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Chunk compression: names, levels, round trips, no-gain, corrupt input. Host only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cbtship/compress/compression.h"
#include "cbtship/compress/compressor.h"

#define CHUNK (64 * 1024)

static void fill_random(uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

/* Text-like data: compresses well but not to nothing. */
static void fill_text(uint8_t *p, size_t len)
{
	static const char *const words[] = { "block ", "volume ", "backup ", "chunk ",
					     "zstd ",  "cinder ", "dirty ",  "map\n" };
	uint64_t x = 42;
	size_t i = 0;

	while (i < len) {
		const char *w;
		size_t n;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		w = words[(x >> 33) % 8];
		n = strlen(w);
		if (n > len - i)
			n = len - i;
		memcpy(p + i, w, n);
		i += n;
	}
}

static void names(void **state)
{
	enum cbt_compression c = CBT_COMPRESS_ZSTD;

	(void)state;
	assert_int_equal(cbt_compression_from_string("none", &c), 0);
	assert_int_equal(c, CBT_COMPRESS_NONE);
	c = CBT_COMPRESS_ZSTD;
	assert_int_equal(cbt_compression_from_string("off", &c), 0);
	assert_int_equal(c, CBT_COMPRESS_NONE);
	c = CBT_COMPRESS_ZSTD;
	assert_int_equal(cbt_compression_from_string("No", &c), 0);
	assert_int_equal(c, CBT_COMPRESS_NONE);
	assert_int_equal(cbt_compression_from_string("zlib", &c), 0);
	assert_int_equal(c, CBT_COMPRESS_ZLIB);
	c = CBT_COMPRESS_NONE;
	assert_int_equal(cbt_compression_from_string("gzip", &c), 0);
	assert_int_equal(c, CBT_COMPRESS_ZLIB);
	assert_int_equal(cbt_compression_from_string("ZSTD", &c), 0);
	assert_int_equal(c, CBT_COMPRESS_ZSTD);
	assert_int_equal(cbt_compression_from_string("bz2", &c), -EOPNOTSUPP);
	assert_int_equal(cbt_compression_from_string("bzip2", &c), -EOPNOTSUPP);
	assert_int_equal(cbt_compression_from_string("lz4", &c), -EINVAL);
	assert_int_equal(cbt_compression_from_string("", &c), -EINVAL);
	assert_int_equal(cbt_compression_from_string("zstd ", &c), -EINVAL);
	assert_int_equal(cbt_compression_from_string(NULL, &c), -EINVAL);
	assert_int_equal(c, CBT_COMPRESS_ZSTD); /* untouched on error */
	assert_string_equal(cbt_compression_to_string(CBT_COMPRESS_NONE), "none");
	assert_string_equal(cbt_compression_to_string(CBT_COMPRESS_ZLIB), "zlib");
	assert_string_equal(cbt_compression_to_string(CBT_COMPRESS_ZSTD), "zstd");
	assert_null(cbt_compression_to_string((enum cbt_compression)7));
}

static void levels(void **state)
{
	struct cbt_compressor *c = NULL;

	(void)state;
	assert_int_equal(cbt_compression_level_check(CBT_COMPRESS_ZLIB, 9), 0);
	assert_int_equal(cbt_compression_level_check(CBT_COMPRESS_ZLIB, 10), -ERANGE);
	assert_int_equal(cbt_compression_level_check(CBT_COMPRESS_ZLIB, -1), -ERANGE);
	assert_int_equal(cbt_compression_level_check(CBT_COMPRESS_ZSTD, 19), 0);
	assert_int_equal(cbt_compression_level_check(CBT_COMPRESS_ZSTD, -5), 0);
	assert_int_equal(cbt_compression_level_check(CBT_COMPRESS_ZSTD, 99), -ERANGE);
	assert_int_equal(cbt_compression_level_check(CBT_COMPRESS_NONE, 1), -ERANGE);
	assert_int_equal(cbt_compressor_new(CBT_COMPRESS_ZLIB, 12, &c), -ERANGE);
	assert_int_equal(cbt_compressor_new((enum cbt_compression)5, 0, &c), -EINVAL);
	assert_null(c);

	assert_int_equal(cbt_compressor_new(CBT_COMPRESS_ZSTD, CBT_COMPRESSION_LEVEL_DEFAULT, &c),
			 0);
	assert_int_equal(cbt_compressor_algorithm(c), CBT_COMPRESS_ZSTD);
	assert_int_equal(cbt_compressor_level(c), 3);
	c = cbt_compressor_free(c);
	assert_int_equal(cbt_compressor_new(CBT_COMPRESS_ZLIB, CBT_COMPRESSION_LEVEL_DEFAULT, &c),
			 0);
	assert_int_equal(cbt_compressor_level(c), 6);
	c = cbt_compressor_free(c);
	assert_int_equal(cbt_compressor_new(CBT_COMPRESS_ZLIB, 1, &c), 0);
	assert_int_equal(cbt_compressor_level(c), 1);
	c = cbt_compressor_free(c);
}

static void round_trip_one(enum cbt_compression alg, int level)
{
	_cleanup_(cbt_compressor_freep) struct cbt_compressor *c = NULL;
	_cleanup_(freep) uint8_t *src = malloc(CHUNK), *dst = malloc(CHUNK), *back = malloc(CHUNK);
	static const size_t sizes[] = { 100, 4096, 12345, CHUNK };

	assert_non_null(src);
	assert_non_null(dst);
	assert_non_null(back);
	assert_int_equal(cbt_compressor_new(alg, level, &c), 0);
	/* Several calls on one object: contexts are reused. */
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
			size_t n = 0, len = sizes[i];

			fill_text(src, len);
			src[0] = (uint8_t)(round + i); /* differ between calls */
			assert_int_equal(cbt_compressor_compress(c, src, len, dst, CHUNK, &n), 0);
			assert_true(n > 0 && n < len);
			memset(back, 0xee, len);
			assert_int_equal(cbt_compressor_decompress(c, alg, dst, n, back, len), 0);
			assert_memory_equal(src, back, len);
		}
	}
}

static void round_trip_zstd(void **state)
{
	(void)state;
	round_trip_one(CBT_COMPRESS_ZSTD, CBT_COMPRESSION_LEVEL_DEFAULT);
	round_trip_one(CBT_COMPRESS_ZSTD, 1);
	round_trip_one(CBT_COMPRESS_ZSTD, 19);
}

static void round_trip_zlib(void **state)
{
	(void)state;
	round_trip_one(CBT_COMPRESS_ZLIB, CBT_COMPRESSION_LEVEL_DEFAULT);
	round_trip_one(CBT_COMPRESS_ZLIB, 1);
	round_trip_one(CBT_COMPRESS_ZLIB, 9);
}

/* A compressor of one algorithm decompresses the others. */
static void decompress_any_algorithm(void **state)
{
	_cleanup_(cbt_compressor_freep) struct cbt_compressor *z = NULL, *s = NULL, *none = NULL;
	uint8_t src[8192], dst[8192], back[8192];
	size_t n;

	(void)state;
	fill_text(src, sizeof(src));
	assert_int_equal(cbt_compressor_new(CBT_COMPRESS_ZLIB, 0, &z), 0);
	assert_int_equal(cbt_compressor_new(CBT_COMPRESS_ZSTD, 0, &s), 0);
	assert_int_equal(cbt_compressor_new(CBT_COMPRESS_NONE, 0, &none), 0);
	assert_int_equal(cbt_compressor_compress(z, src, sizeof(src), dst, sizeof(dst), &n), 0);
	assert_int_equal(
		cbt_compressor_decompress(none, CBT_COMPRESS_ZLIB, dst, n, back, sizeof(back)), 0);
	assert_memory_equal(src, back, sizeof(src));
	assert_int_equal(cbt_compressor_compress(s, src, sizeof(src), dst, sizeof(dst), &n), 0);
	assert_int_equal(
		cbt_compressor_decompress(z, CBT_COMPRESS_ZSTD, dst, n, back, sizeof(back)), 0);
	assert_memory_equal(src, back, sizeof(src));
	/* NONE: a copy, exact length. */
	assert_int_equal(cbt_compressor_decompress(s, CBT_COMPRESS_NONE, src, 100, back, 100), 0);
	assert_int_equal(cbt_compressor_decompress(s, CBT_COMPRESS_NONE, src, 100, back, 99),
			 -EBADMSG);
	assert_int_equal(cbt_compressor_decompress(s, (enum cbt_compression)9, src, 100, back, 100),
			 -EINVAL);
}

static void incompressible_does_not_shrink(void **state)
{
	static const enum cbt_compression algs[] = { CBT_COMPRESS_ZLIB, CBT_COMPRESS_ZSTD,
						     CBT_COMPRESS_NONE };
	_cleanup_(freep) uint8_t *src = malloc(CHUNK), *dst = malloc(2 * CHUNK);

	(void)state;
	assert_non_null(src);
	assert_non_null(dst);
	fill_random(src, CHUNK, 1);
	for (size_t i = 0; i < ELEMENTSOF(algs); i++) {
		_cleanup_(cbt_compressor_freep) struct cbt_compressor *c = NULL;
		size_t n = 12345;

		assert_int_equal(cbt_compressor_new(algs[i], 0, &c), 0);
		/* Even with room to spare, a larger result is refused. */
		assert_int_equal(cbt_compressor_compress(c, src, CHUNK, dst, 2 * CHUNK, &n),
				 -ENOSPC);
		assert_int_equal(n, 12345);
		/* One byte never shrinks; nothing to compress either. */
		assert_int_equal(cbt_compressor_compress(c, src, 1, dst, 2 * CHUNK, &n), -ENOSPC);
		assert_int_equal(cbt_compressor_compress(c, src, 0, dst, 2 * CHUNK, &n), -ENOSPC);
		/* Compressible data that does not fit the caller's buffer: same answer. */
		fill_text(src, CHUNK);
		assert_int_equal(cbt_compressor_compress(c, src, CHUNK, dst, 16, &n), -ENOSPC);
		/* And the object still works afterwards. */
		if (algs[i] != CBT_COMPRESS_NONE)
			assert_int_equal(cbt_compressor_compress(c, src, CHUNK, dst, CHUNK, &n), 0);
		fill_random(src, CHUNK, 1);
	}
}

static void wrong_length_fails(void **state)
{
	static const enum cbt_compression algs[] = { CBT_COMPRESS_ZLIB, CBT_COMPRESS_ZSTD };
	uint8_t src[16384], dst[16384], back[16384 + 16];

	(void)state;
	fill_text(src, sizeof(src));
	for (size_t i = 0; i < ELEMENTSOF(algs); i++) {
		_cleanup_(cbt_compressor_freep) struct cbt_compressor *c = NULL;
		size_t n;

		assert_int_equal(cbt_compressor_new(algs[i], 0, &c), 0);
		assert_int_equal(cbt_compressor_compress(c, src, sizeof(src), dst, sizeof(dst), &n),
				 0);
		/* Expected shorter or longer than the real length. */
		assert_int_equal(
			cbt_compressor_decompress(c, algs[i], dst, n, back, sizeof(src) - 1),
			-EBADMSG);
		assert_int_equal(
			cbt_compressor_decompress(c, algs[i], dst, n, back, sizeof(src) + 1),
			-EBADMSG);
		assert_int_equal(cbt_compressor_decompress(c, algs[i], dst, n, back, 1), -EBADMSG);
		/* Truncated input, trailing bytes. */
		assert_int_equal(
			cbt_compressor_decompress(c, algs[i], dst, n - 1, back, sizeof(src)),
			-EBADMSG);
		dst[n] = 0;
		assert_int_equal(
			cbt_compressor_decompress(c, algs[i], dst, n + 1, back, sizeof(src)),
			-EBADMSG);
		/* The right length still works after the failures. */
		assert_int_equal(cbt_compressor_decompress(c, algs[i], dst, n, back, sizeof(src)),
				 0);
		assert_memory_equal(src, back, sizeof(src));
	}
}

static void corrupt_input_fails_cleanly(void **state)
{
	static const enum cbt_compression algs[] = { CBT_COMPRESS_ZLIB, CBT_COMPRESS_ZSTD };
	uint8_t src[8192], dst[8192], bad[8192], back[8192];

	(void)state;
	fill_text(src, sizeof(src));
	for (size_t i = 0; i < ELEMENTSOF(algs); i++) {
		_cleanup_(cbt_compressor_freep) struct cbt_compressor *c = NULL;
		size_t n;

		assert_int_equal(cbt_compressor_new(algs[i], 0, &c), 0);
		assert_int_equal(cbt_compressor_compress(c, src, sizeof(src), dst, sizeof(dst), &n),
				 0);
		/* A broken frame header / magic is always detected. */
		memcpy(bad, dst, n);
		bad[0] ^= 0xff;
		assert_int_equal(cbt_compressor_decompress(c, algs[i], bad, n, back, sizeof(back)),
				 -EBADMSG);
		/* Garbage. */
		fill_random(bad, n, 7);
		assert_int_equal(cbt_compressor_decompress(c, algs[i], bad, n, back, sizeof(back)),
				 -EBADMSG);
		/*
		 * Every single-bit flip anywhere: never a crash or an overrun
		 * (ASan watches); either an error or data of the right length
		 * (zstd has no checksum of its own: the chunk object's CRC and
		 * id catch those).
		 */
		for (size_t pos = 0; pos < n; pos++) {
			int r;

			memcpy(bad, dst, n);
			bad[pos] ^= (uint8_t)(1u << (pos % 8));
			r = cbt_compressor_decompress(c, algs[i], bad, n, back, sizeof(back));
			assert_true(r == 0 || r == -EBADMSG);
		}
		assert_int_equal(cbt_compressor_decompress(c, algs[i], dst, n, back, sizeof(back)),
				 0);
		assert_memory_equal(src, back, sizeof(src));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(levels),
		cmocka_unit_test(round_trip_zstd),
		cmocka_unit_test(round_trip_zlib),
		cmocka_unit_test(decompress_any_algorithm),
		cmocka_unit_test(incompressible_does_not_shrink),
		cmocka_unit_test(wrong_length_fails),
		cmocka_unit_test(corrupt_input_fails_cleanly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
