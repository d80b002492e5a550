/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The chunk object codec: layout, round trips, each corruption's own error. Host only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "cbtship/repo/chunk-object.h"

#define RAW (64 * 1024)

struct fixture {
	struct cbt_hasher *hasher;
	struct cbt_compressor *zstd, *zlib, *none;
	uint8_t *text, *noise, *obj, *out;
	size_t obj_len;
	struct cbt_chunk_id text_id;
};

static void fill_text(uint8_t *p, size_t len)
{
	static const char s[] = "the quick brown chunk jumps over the lazy block ";

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)s[(i * 7 + i / 97) % (sizeof(s) - 1)];
}

static void fill_noise(uint8_t *p, size_t len)
{
	uint64_t x = 0x243f6a8885a308d3ULL;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 32);
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(cbt_hasher_new(NULL, 0, &f->hasher), 0);
	assert_int_equal(cbt_compressor_new(CBT_COMPRESS_ZSTD, 0, &f->zstd), 0);
	assert_int_equal(cbt_compressor_new(CBT_COMPRESS_ZLIB, 0, &f->zlib), 0);
	assert_int_equal(cbt_compressor_new(CBT_COMPRESS_NONE, 0, &f->none), 0);
	f->text = malloc(RAW);
	f->noise = malloc(RAW);
	f->obj = malloc(cbt_chunk_object_bound(RAW) + 16);
	f->out = malloc(RAW);
	assert_true(f->text && f->noise && f->obj && f->out);
	fill_text(f->text, RAW);
	fill_noise(f->noise, RAW);
	assert_int_equal(cbt_hasher_hash(f->hasher, f->text, RAW, &f->text_id), 0);
	/* The object most corruption tests start from: zstd-compressed text. */
	assert_int_equal(cbt_chunk_encode(f->zstd, f->hasher, &f->text_id, f->text, RAW, f->obj,
					  cbt_chunk_object_bound(RAW), &f->obj_len),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cbt_hasher_free(f->hasher);
	cbt_compressor_free(f->zstd);
	cbt_compressor_free(f->zlib);
	cbt_compressor_free(f->none);
	free(f->text);
	free(f->noise);
	free(f->obj);
	free(f->out);
	free(f);
	return 0;
}

static int decode(struct fixture *f, const struct cbt_chunk_id *expected, size_t obj_len)
{
	size_t n = 0;

	return cbt_chunk_decode(f->zstd, f->hasher, expected, f->obj, obj_len, f->out, RAW, &n);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* After editing a header field on purpose, make the header checksum right again. */
static void fix_header_crc(uint8_t *obj)
{
	set_le32(obj + 60, (uint32_t)crc32(0, obj, 60));
}

/* The bytes on disk, as docs/repository-format.md describes them. */
static void layout(void **state)
{
	struct fixture *f = *state;
	const uint8_t *o = f->obj;
	uint32_t stored = le32(o + 16);

	assert_memory_equal(o, "CBTCHUNK", 8);
	assert_int_equal(o[8] | o[9] << 8, 1); /* version */
	assert_int_equal(o[10], CBT_COMPRESS_ZSTD);
	assert_int_equal(o[11], 0); /* flags: unkeyed */
	assert_int_equal(le32(o + 12), RAW);
	assert_true(stored < RAW);
	assert_int_equal(f->obj_len, 64 + stored);
	assert_int_equal(le32(o + 20), (uint32_t)crc32(0, o + 64, stored));
	assert_memory_equal(o + 24, f->text_id.bytes, 32);
	assert_int_equal(le32(o + 56), 0);
	assert_int_equal(le32(o + 60), (uint32_t)crc32(0, o, 60));

	struct cbt_chunk_header h;

	assert_int_equal(cbt_chunk_header_parse(f->obj, CBT_CHUNK_HEADER_SIZE, &h), 0);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.compression, CBT_COMPRESS_ZSTD);
	assert_int_equal(h.raw_len, RAW);
	assert_int_equal(h.stored_len, stored);
	assert_true(cbt_chunk_id_equal(&h.id, &f->text_id));
}

/* The example of docs/repository-format.md, byte for byte: the format is frozen. */
static void golden_abc(void **state)
{
	static const uint8_t golden[] = {
		0x43, 0x42, 0x54, 0x43, 0x48, 0x55, 0x4e, 0x4b, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00,
		0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0xc2, 0x41, 0x24, 0x35, 0xba, 0x78, 0x16, 0xbf,
		0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03,
		0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
		0x00, 0x00, 0x00, 0x00, 0x52, 0x32, 0x5e, 0x36, 0x61, 0x62, 0x63,
	};
	struct fixture *f = *state;
	struct cbt_chunk_id id;
	uint8_t raw[3];
	size_t n;

	assert_int_equal(cbt_hasher_hash(f->hasher, "abc", 3, &id), 0);
	assert_int_equal(cbt_chunk_encode(f->zstd, f->hasher, &id, "abc", 3, f->obj,
					  cbt_chunk_object_bound(3), &n),
			 0);
	assert_int_equal(n, sizeof(golden));
	assert_memory_equal(f->obj, golden, sizeof(golden));
	assert_int_equal(
		cbt_chunk_decode(f->zstd, f->hasher, &id, golden, sizeof(golden), raw, 3, &n), 0);
	assert_memory_equal(raw, "abc", 3);
}

static void round_trip_one(struct fixture *f, struct cbt_compressor *c, const uint8_t *raw,
			   size_t len, enum cbt_compression want)
{
	struct cbt_chunk_id id;
	struct cbt_chunk_header h;
	size_t obj_len = 0, n = 0;

	assert_int_equal(cbt_hasher_hash(f->hasher, raw, len, &id), 0);
	assert_int_equal(cbt_chunk_encode(c, f->hasher, &id, raw, len, f->obj,
					  cbt_chunk_object_bound(len), &obj_len),
			 0);
	assert_int_equal(cbt_chunk_header_parse(f->obj, obj_len, &h), 0);
	assert_int_equal(h.compression, want);
	if (want == CBT_COMPRESS_NONE)
		assert_int_equal(obj_len, CBT_CHUNK_HEADER_SIZE + len);
	else
		assert_true(obj_len < CBT_CHUNK_HEADER_SIZE + len);
	memset(f->out, 0xcc, RAW);
	/* Any compressor decodes any object. */
	assert_int_equal(
		cbt_chunk_decode(f->none, f->hasher, &id, f->obj, obj_len, f->out, RAW, &n), 0);
	assert_int_equal(n, len);
	assert_memory_equal(f->out, raw, len);
	assert_int_equal(cbt_chunk_decode(c, f->hasher, NULL, f->obj, obj_len, f->out, RAW, &n), 0);
}

static void round_trips(void **state)
{
	struct fixture *f = *state;

	round_trip_one(f, f->zstd, f->text, RAW, CBT_COMPRESS_ZSTD);
	round_trip_one(f, f->zlib, f->text, RAW, CBT_COMPRESS_ZLIB);
	round_trip_one(f, f->none, f->text, RAW, CBT_COMPRESS_NONE);
	round_trip_one(f, f->zstd, f->text, 1000, CBT_COMPRESS_ZSTD);
	/* Did not shrink: stored raw, whatever was asked. */
	round_trip_one(f, f->zstd, f->noise, RAW, CBT_COMPRESS_NONE);
	round_trip_one(f, f->zlib, f->noise, RAW, CBT_COMPRESS_NONE);
	round_trip_one(f, f->zstd, f->text, 1, CBT_COMPRESS_NONE);
}

static void keyed_round_trip_and_mismatch(void **state)
{
	struct fixture *f = *state;
	static const uint8_t key[] = "repository key", other[] = "another key";
	_cleanup_(cbt_hasher_freep) struct cbt_hasher *k = NULL, *k2 = NULL;
	struct cbt_chunk_id id;
	size_t obj_len, n;

	assert_int_equal(cbt_hasher_new(key, sizeof(key), &k), 0);
	assert_int_equal(cbt_hasher_new(other, sizeof(other), &k2), 0);
	assert_int_equal(cbt_hasher_hash(k, f->text, RAW, &id), 0);
	assert_int_equal(cbt_chunk_encode(f->zstd, k, &id, f->text, RAW, f->obj,
					  cbt_chunk_object_bound(RAW), &obj_len),
			 0);
	assert_int_equal(f->obj[11], CBT_CHUNK_FLAG_KEYED_ID);
	assert_int_equal(cbt_chunk_decode(f->zstd, k, &id, f->obj, obj_len, f->out, RAW, &n), 0);
	assert_memory_equal(f->out, f->text, RAW);
	/* Keyed object, no key. */
	assert_int_equal(
		cbt_chunk_decode(f->zstd, f->hasher, &id, f->obj, obj_len, f->out, RAW, &n),
		-ENOKEY);
	/* Keyed object, another key: the data does not hash to the id. */
	assert_int_equal(cbt_chunk_decode(f->zstd, k2, &id, f->obj, obj_len, f->out, RAW, &n),
			 -EKEYREJECTED);
	/* Unkeyed object read with a key. */
	assert_int_equal(cbt_chunk_encode(f->zstd, f->hasher, &f->text_id, f->text, RAW, f->obj,
					  cbt_chunk_object_bound(RAW), &obj_len),
			 0);
	assert_int_equal(
		cbt_chunk_decode(f->zstd, k, &f->text_id, f->obj, obj_len, f->out, RAW, &n),
		-ENOKEY);
}

static void encode_rejects(void **state)
{
	struct fixture *f = *state;
	size_t n;

	assert_int_equal(cbt_chunk_encode(f->zstd, f->hasher, &f->text_id, f->text, 0, f->obj,
					  cbt_chunk_object_bound(RAW), &n),
			 -EINVAL);
	assert_int_equal(cbt_chunk_encode(f->zstd, f->hasher, &f->text_id, f->text,
					  CBT_CHUNK_RAW_MAX + 1, f->obj, 1, &n),
			 -EINVAL);
	assert_int_equal(cbt_chunk_encode(f->zstd, f->hasher, &f->text_id, f->text, RAW, f->obj,
					  CBT_CHUNK_HEADER_SIZE - 1, &n),
			 -ENOBUFS);
	/* Incompressible data needs header + raw length. */
	assert_int_equal(cbt_chunk_encode(f->zstd, f->hasher, &f->text_id, f->noise, RAW, f->obj,
					  cbt_chunk_object_bound(RAW) - 1, &n),
			 -ENOBUFS);
}

static void flipped_payload_byte(void **state)
{
	struct fixture *f = *state;

	f->obj[CBT_CHUNK_HEADER_SIZE + 100] ^= 0x01;
	assert_int_equal(decode(f, &f->text_id, f->obj_len), -EBADMSG);
}

static void flipped_header_byte(void **state)
{
	struct fixture *f = *state;

	/* Any byte after magic and version: lengths, CRC, id, reserved, header CRC. */
	for (size_t pos = 10; pos < CBT_CHUNK_HEADER_SIZE; pos++) {
		f->obj[pos] ^= 0x10;
		assert_int_equal(decode(f, NULL, f->obj_len), -EUCLEAN);
		f->obj[pos] ^= 0x10;
	}
	assert_int_equal(decode(f, &f->text_id, f->obj_len), 0);
}

static void bad_magic(void **state)
{
	struct fixture *f = *state;

	f->obj[3] = 'X';
	assert_int_equal(decode(f, &f->text_id, f->obj_len), -ENOMSG);
	assert_int_equal(decode(f, &f->text_id, 5), -ENOMSG);
}

static void unknown_version(void **state)
{
	struct fixture *f = *state;

	f->obj[8] = 2;
	assert_int_equal(decode(f, &f->text_id, f->obj_len), -EPROTO);
	fix_header_crc(f->obj); /* even with a consistent header */
	assert_int_equal(decode(f, &f->text_id, f->obj_len), -EPROTO);
	f->obj[8] = 1;
	f->obj[9] = 1; /* 257 */
	assert_int_equal(decode(f, &f->text_id, f->obj_len), -EPROTO);
}

static void truncated(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(decode(f, &f->text_id, f->obj_len - 1), -ENODATA);
	assert_int_equal(decode(f, &f->text_id, CBT_CHUNK_HEADER_SIZE), -ENODATA);
	assert_int_equal(decode(f, &f->text_id, CBT_CHUNK_HEADER_SIZE - 1), -ENODATA);
	assert_int_equal(decode(f, &f->text_id, 9), -ENODATA);
	assert_int_equal(decode(f, &f->text_id, 4), -ENODATA); /* a prefix of the magic */
	assert_int_equal(decode(f, &f->text_id, 0), -ENODATA);
}

static void trailing_bytes(void **state)
{
	struct fixture *f = *state;

	f->obj[f->obj_len] = 0;
	assert_int_equal(decode(f, &f->text_id, f->obj_len + 1), -EMSGSIZE);
}

static void wrong_expected_id(void **state)
{
	struct fixture *f = *state;
	struct cbt_chunk_id other = f->text_id;

	other.bytes[31] ^= 1;
	assert_int_equal(decode(f, &other, f->obj_len), -EXDEV);
}

static void unknown_flags(void **state)
{
	struct fixture *f = *state;

	f->obj[11] = CBT_CHUNK_FLAG_ENCRYPTED;
	fix_header_crc(f->obj);
	assert_int_equal(decode(f, &f->text_id, f->obj_len), -EOPNOTSUPP);
	f->obj[11] = 0x80;
	fix_header_crc(f->obj);
	assert_int_equal(decode(f, &f->text_id, f->obj_len), -EOPNOTSUPP);
	f->obj[11] = 0;
	f->obj[57] = 1; /* reserved */
	fix_header_crc(f->obj);
	assert_int_equal(decode(f, &f->text_id, f->obj_len), -EOPNOTSUPP);
}

static void unknown_compression(void **state)
{
	struct fixture *f = *state;

	f->obj[10] = 9;
	fix_header_crc(f->obj);
	assert_int_equal(decode(f, &f->text_id, f->obj_len), -EPROTONOSUPPORT);
}

static void impossible_lengths(void **state)
{
	struct fixture *f = *state;
	uint8_t saved[CBT_CHUNK_HEADER_SIZE];

	memcpy(saved, f->obj, sizeof(saved));
	set_le32(f->obj + 12, 0); /* raw 0 */
	fix_header_crc(f->obj);
	assert_int_equal(decode(f, &f->text_id, f->obj_len), -ERANGE);
	set_le32(f->obj + 12, CBT_CHUNK_RAW_MAX + 1); /* beyond the largest chunk */
	fix_header_crc(f->obj);
	assert_int_equal(decode(f, &f->text_id, f->obj_len), -ERANGE);
	memcpy(f->obj, saved, sizeof(saved));
	set_le32(f->obj + 16, RAW); /* "compressed" but not smaller */
	fix_header_crc(f->obj);
	assert_int_equal(decode(f, &f->text_id, f->obj_len), -ERANGE);
	memcpy(f->obj, saved, sizeof(saved));
	f->obj[10] = CBT_COMPRESS_NONE; /* raw, but stored != raw length */
	fix_header_crc(f->obj);
	assert_int_equal(decode(f, &f->text_id, f->obj_len), -ERANGE);
}

static void buffer_too_small(void **state)
{
	struct fixture *f = *state;
	size_t n;

	assert_int_equal(cbt_chunk_decode(f->zstd, f->hasher, &f->text_id, f->obj, f->obj_len,
					  f->out, RAW - 1, &n),
			 -ENOBUFS);
}

/* CRC right (recomputed), but the payload is no valid zstd frame any more. */
static void payload_does_not_decompress(void **state)
{
	struct fixture *f = *state;
	uint32_t stored = le32(f->obj + 16);

	f->obj[CBT_CHUNK_HEADER_SIZE] ^= 0xff; /* the zstd frame magic */
	set_le32(f->obj + 20, (uint32_t)crc32(0, f->obj + CBT_CHUNK_HEADER_SIZE, stored));
	fix_header_crc(f->obj);
	assert_int_equal(decode(f, &f->text_id, f->obj_len), -EILSEQ);
}

/* CRC right, decompresses, but the data is not what the id names. */
static void content_hash_mismatch(void **state)
{
	struct fixture *f = *state;
	size_t obj_len, n;

	assert_int_equal(cbt_chunk_encode(f->none, f->hasher, &f->text_id, f->text, RAW, f->obj,
					  cbt_chunk_object_bound(RAW), &obj_len),
			 0);
	f->obj[CBT_CHUNK_HEADER_SIZE + 5] ^= 0x40;
	set_le32(f->obj + 20, (uint32_t)crc32(0, f->obj + CBT_CHUNK_HEADER_SIZE, RAW));
	fix_header_crc(f->obj);
	assert_int_equal(
		cbt_chunk_decode(f->none, f->hasher, &f->text_id, f->obj, obj_len, f->out, RAW, &n),
		-EKEYREJECTED);
}

static void errors_are_distinct_and_named(void **state)
{
	static const int errs[] = { -ENOMSG,	      -EPROTO,	-ENODATA, -EUCLEAN,	-EOPNOTSUPP,
				    -EPROTONOSUPPORT, -ERANGE,	-EXDEV,	  -ENOKEY,	-EMSGSIZE,
				    -ENOBUFS,	      -EBADMSG, -EILSEQ,  -EKEYREJECTED };

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(errs); i++) {
		const char *m = cbt_chunk_strerror(errs[i]);

		assert_non_null(m);
		assert_non_null(strstr(m, "chunk") ? m : strstr(m, "object"));
		for (size_t j = 0; j < i; j++) {
			assert_int_not_equal(errs[i], errs[j]);
			assert_string_not_equal(m, cbt_chunk_strerror(errs[j]));
		}
	}
	assert_string_equal(cbt_chunk_strerror(-EBADMSG),
			    "chunk payload checksum mismatch (payload corrupt)");
	assert_string_equal(cbt_chunk_strerror(-ENOENT), "No such file or directory");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(layout),
		T(golden_abc),
		T(round_trips),
		T(keyed_round_trip_and_mismatch),
		T(encode_rejects),
		T(flipped_payload_byte),
		T(flipped_header_byte),
		T(bad_magic),
		T(unknown_version),
		T(truncated),
		T(trailing_bytes),
		T(wrong_expected_id),
		T(unknown_flags),
		T(unknown_compression),
		T(impossible_lengths),
		T(buffer_too_small),
		T(payload_does_not_decompress),
		T(content_hash_mismatch),
		cmocka_unit_test(errors_are_distinct_and_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
