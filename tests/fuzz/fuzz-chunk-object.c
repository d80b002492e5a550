/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Chunk objects (repo/chunk-object.c), as fetched from a store. The
 * first input byte picks the mode, the rest is the object:
 *
 *   bit 0  fix the header and payload CRCs first, so that the fuzzer
 *          reaches the checks behind them (lengths, the decompressors)
 *   bit 1  decode with a keyed hasher (HMAC ids)
 *   bit 2  ... and with the key's cipher (encrypted objects)
 *   bit 3  a small destination buffer (4 KiB)
 *   bit 4  the rest is raw data instead: encode it (bits 5-6 pick the
 *          compression, bit 2 seals it) and decode it again: same bytes
 *
 * A decode either fails with one of the codec's errors or returns data
 * that hashes to the header's id.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "cbtship/encrypt/key.h"
#include "cbtship/repo/chunk-object.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cbt_compressor *comp[_CBT_COMPRESS_MAX];
static struct cbt_hasher *plain, *keyed;
static struct cbt_cipher *cipher;
static uint8_t *raw, *obj;

static void init(void)
{
	static const uint8_t master[CBT_KEY_SIZE] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	_cleanup_(cbt_key_freep) struct cbt_key *key = NULL;

	for (int a = 0; a < _CBT_COMPRESS_MAX; a++)
		assert(cbt_compressor_new((enum cbt_compression)a, CBT_COMPRESSION_LEVEL_DEFAULT,
					  &comp[a]) == 0);
	assert(cbt_key_from_bytes(master, &key) == 0);
	assert(cbt_hasher_new(NULL, 0, &plain) == 0);
	assert(cbt_hasher_new(key->id_key, sizeof(key->id_key), &keyed) == 0);
	assert(cbt_cipher_new(key, &cipher) == 0);
	raw = malloc(CBT_CHUNK_RAW_MAX);
	obj = malloc(cbt_chunk_object_max(CBT_CHUNK_RAW_MAX));
	assert(raw && obj);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* One of the codec's own errors: cbt_chunk_strerror() has a sentence for each. */
static bool known_error(int r)
{
	return r < 0 && strcmp(cbt_chunk_strerror(r), strerror(-r)) != 0;
}

static void round_trip(uint8_t mode, const uint8_t *data, size_t size)
{
	struct cbt_compressor *c = comp[(mode >> 5) % _CBT_COMPRESS_MAX];
	struct cbt_cipher *ci = (mode & 4) ? cipher : NULL;
	struct cbt_hasher *h = ci || (mode & 2) ? keyed : plain;
	struct cbt_chunk_id id;
	size_t len, raw_len;

	if (!size || size > CBT_CHUNK_RAW_MAX)
		return;
	assert(cbt_hasher_hash(h, data, size, &id) == 0);
	assert(cbt_chunk_encode_sealed(c, h, ci, &id, data, size, obj, cbt_chunk_object_max(size),
				       &len) == 0);
	assert(cbt_chunk_decode_sealed(comp[0], h, ci, &id, obj, len, raw, size, &raw_len) == 0);
	assert(raw_len == size && memcmp(raw, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cbt_chunk_header hdr;
	struct cbt_chunk_id id;
	uint8_t mode;
	size_t raw_len = 0;
	int r;

	if (!raw)
		init();
	if (!size)
		return 0;
	mode = data[0];
	data++;
	size--;
	if (mode & 16) {
		round_trip(mode, data, size);
		return 0;
	}
	if (size > cbt_chunk_object_max(CBT_CHUNK_RAW_MAX))
		return 0;
	memcpy(obj, data, size);
	if ((mode & 1) && size >= CBT_CHUNK_HEADER_SIZE) {
		uint32_t stored;

		memcpy(&stored, obj + 16, 4); /* little-endian host */
		if (stored > size - CBT_CHUNK_HEADER_SIZE)
			stored = (uint32_t)(size - CBT_CHUNK_HEADER_SIZE);
		put_le32(obj + 20, (uint32_t)crc32_z(0, obj + CBT_CHUNK_HEADER_SIZE, stored));
		put_le32(obj + 60, (uint32_t)crc32_z(0, obj, 60));
	}
	r = cbt_chunk_header_parse(obj, size, &hdr);
	assert(r == 0 || known_error(r));
	r = cbt_chunk_decode_sealed(comp[0], (mode & 6) ? keyed : plain, (mode & 4) ? cipher : NULL,
				    NULL, obj, size, raw, (mode & 8) ? 4096 : CBT_CHUNK_RAW_MAX,
				    &raw_len);
	assert(r == 0 || known_error(r));
	assert(cbt_chunk_strerror(r));
	if (r == 0) {
		assert(cbt_chunk_header_parse(obj, size, &hdr) == 0);
		assert(raw_len == hdr.raw_len);
		assert(cbt_hasher_hash((mode & 6) ? keyed : plain, raw, raw_len, &id) == 0);
		assert(cbt_chunk_id_equal(&id, &hdr.id));
	}
	return 0;
}
