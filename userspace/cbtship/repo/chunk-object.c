/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Chunk objects: header layout, encoding, decoding with every check. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <zlib.h>

#include "cbtship/repo/chunk-object.h"

/* Header field offsets (docs/repository-format.md). */
enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 8,
	OFF_COMPRESSION = 10,
	OFF_FLAGS = 11,
	OFF_RAW_LEN = 12,
	OFF_STORED_LEN = 16,
	OFF_PAYLOAD_CRC = 20,
	OFF_ID = 24,
	OFF_RESERVED = 56,
	OFF_HEADER_CRC = 60,
};

_Static_assert(OFF_ID + CBT_CHUNK_ID_SIZE == OFF_RESERVED, "id ends at the reserved field");
_Static_assert(OFF_HEADER_CRC + 4 == CBT_CHUNK_HEADER_SIZE, "header CRC is the last field");

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc(const void *p, size_t len)
{
	return (uint32_t)crc32_z(0, p, len);
}

int cbt_chunk_encode(struct cbt_compressor *c, const struct cbt_hasher *h,
		     const struct cbt_chunk_id *id, const void *raw, size_t raw_len, void *obj,
		     size_t obj_cap, size_t *ret_len)
{
	enum cbt_compression used = cbt_compressor_algorithm(c);
	uint8_t *out = obj;
	size_t stored_len = 0;
	int r;

	if (raw_len == 0 || raw_len > CBT_CHUNK_RAW_MAX)
		return -EINVAL;
	if (obj_cap < CBT_CHUNK_HEADER_SIZE)
		return -ENOBUFS;
	r = cbt_compressor_compress(c, raw, raw_len, out + CBT_CHUNK_HEADER_SIZE,
				    obj_cap - CBT_CHUNK_HEADER_SIZE, &stored_len);
	if (r == -ENOSPC) { /* did not shrink: store raw */
		if (obj_cap - CBT_CHUNK_HEADER_SIZE < raw_len)
			return -ENOBUFS;
		memcpy(out + CBT_CHUNK_HEADER_SIZE, raw, raw_len);
		used = CBT_COMPRESS_NONE;
		stored_len = raw_len;
	} else if (r < 0)
		return r;

	memset(out, 0, CBT_CHUNK_HEADER_SIZE);
	memcpy(out + OFF_MAGIC, CBT_CHUNK_MAGIC, CBT_CHUNK_MAGIC_SIZE);
	put_le16(out + OFF_VERSION, CBT_CHUNK_FORMAT_VERSION);
	out[OFF_COMPRESSION] = (uint8_t)used;
	out[OFF_FLAGS] = cbt_hasher_is_keyed(h) ? CBT_CHUNK_FLAG_KEYED_ID : 0;
	put_le32(out + OFF_RAW_LEN, (uint32_t)raw_len);
	put_le32(out + OFF_STORED_LEN, (uint32_t)stored_len);
	put_le32(out + OFF_PAYLOAD_CRC, crc(out + CBT_CHUNK_HEADER_SIZE, stored_len));
	memcpy(out + OFF_ID, id->bytes, CBT_CHUNK_ID_SIZE);
	put_le32(out + OFF_HEADER_CRC, crc(out, OFF_HEADER_CRC));
	*ret_len = CBT_CHUNK_HEADER_SIZE + stored_len;
	return 0;
}

int cbt_chunk_header_parse(const void *obj, size_t obj_len, struct cbt_chunk_header *ret)
{
	const uint8_t *p = obj;
	struct cbt_chunk_header hdr = { 0 };

	if (obj_len < CBT_CHUNK_MAGIC_SIZE)
		return memcmp(p, CBT_CHUNK_MAGIC, obj_len) == 0 ? -ENODATA : -ENOMSG;
	if (memcmp(p + OFF_MAGIC, CBT_CHUNK_MAGIC, CBT_CHUNK_MAGIC_SIZE) != 0)
		return -ENOMSG;
	if (obj_len < OFF_VERSION + 2)
		return -ENODATA;
	hdr.version = get_le16(p + OFF_VERSION);
	if (hdr.version != CBT_CHUNK_FORMAT_VERSION)
		return -EPROTO;
	if (obj_len < CBT_CHUNK_HEADER_SIZE)
		return -ENODATA;
	if (get_le32(p + OFF_HEADER_CRC) != crc(p, OFF_HEADER_CRC))
		return -EUCLEAN;
	hdr.flags = p[OFF_FLAGS];
	if ((hdr.flags & ~CBT_CHUNK_FLAGS_KNOWN) || get_le32(p + OFF_RESERVED) != 0)
		return -EOPNOTSUPP;
	if (!cbt_compression_valid(p[OFF_COMPRESSION]))
		return -EPROTONOSUPPORT;
	hdr.compression = (enum cbt_compression)p[OFF_COMPRESSION];
	hdr.raw_len = get_le32(p + OFF_RAW_LEN);
	hdr.stored_len = get_le32(p + OFF_STORED_LEN);
	if (hdr.raw_len == 0 || hdr.raw_len > CBT_CHUNK_RAW_MAX)
		return -ERANGE;
	if (hdr.compression == CBT_COMPRESS_NONE ? hdr.stored_len != hdr.raw_len
						 : hdr.stored_len >= hdr.raw_len)
		return -ERANGE;
	hdr.payload_crc = get_le32(p + OFF_PAYLOAD_CRC);
	memcpy(hdr.id.bytes, p + OFF_ID, CBT_CHUNK_ID_SIZE);
	*ret = hdr;
	return 0;
}

int cbt_chunk_decode(struct cbt_compressor *c, struct cbt_hasher *h,
		     const struct cbt_chunk_id *expected, const void *obj, size_t obj_len,
		     void *raw, size_t raw_cap, size_t *ret_raw_len)
{
	const uint8_t *payload = (const uint8_t *)obj + CBT_CHUNK_HEADER_SIZE;
	struct cbt_chunk_header hdr;
	struct cbt_chunk_id actual;
	bool keyed;
	int r;

	r = cbt_chunk_header_parse(obj, obj_len, &hdr);
	if (r < 0)
		return r;
	if (expected && !cbt_chunk_id_equal(expected, &hdr.id))
		return -EXDEV;
	keyed = hdr.flags & CBT_CHUNK_FLAG_KEYED_ID;
	if (keyed != cbt_hasher_is_keyed(h))
		return -ENOKEY;
	if (obj_len - CBT_CHUNK_HEADER_SIZE < hdr.stored_len)
		return -ENODATA;
	if (obj_len - CBT_CHUNK_HEADER_SIZE > hdr.stored_len)
		return -EMSGSIZE;
	if (raw_cap < hdr.raw_len)
		return -ENOBUFS;
	if (crc(payload, hdr.stored_len) != hdr.payload_crc)
		return -EBADMSG;
	r = cbt_compressor_decompress(c, hdr.compression, payload, hdr.stored_len, raw,
				      hdr.raw_len);
	if (r == -EBADMSG)
		return -EILSEQ;
	if (r < 0)
		return r;
	r = cbt_hasher_hash(h, raw, hdr.raw_len, &actual);
	if (r < 0)
		return r;
	if (!cbt_chunk_id_equal(&actual, &hdr.id))
		return -EKEYREJECTED;
	*ret_raw_len = hdr.raw_len;
	return 0;
}

const char *cbt_chunk_strerror(int err)
{
	switch (err) {
	case -ENOMSG:
		return "not a chunk object (bad magic)";
	case -EPROTO:
		return "chunk object of an unknown format version";
	case -ENODATA:
		return "chunk object truncated";
	case -EUCLEAN:
		return "chunk header checksum mismatch (header corrupt)";
	case -EOPNOTSUPP:
		return "chunk object uses a feature this version cannot read (unknown flags, "
		       "encryption)";
	case -EPROTONOSUPPORT:
		return "chunk object compressed with an unknown algorithm";
	case -ERANGE:
		return "chunk header has impossible lengths";
	case -EXDEV:
		return "object holds another chunk than the one its name promises";
	case -ENOKEY:
		return "chunk id keying does not match the repository key setting (keyed "
		       "repository opened without a key, or the reverse)";
	case -EMSGSIZE:
		return "chunk object has trailing bytes after its payload";
	case -ENOBUFS:
		return "chunk larger than the buffer given to decode it";
	case -EBADMSG:
		return "chunk payload checksum mismatch (payload corrupt)";
	case -EILSEQ:
		return "chunk payload does not decompress to its recorded length";
	case -EKEYREJECTED:
		return "chunk data does not hash to its id (corrupted before it was stored, or "
		       "another repository key)";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
