/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Chunk objects: header layout, encoding, decoding with every check. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <zlib.h>

#include "cbt-bytes.h"

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

static uint32_t crc(const void *p, size_t len)
{
	return (uint32_t)crc32_z(0, p, len);
}

/*
 * The associated data of a sealed payload: the header with its two CRC
 * fields zeroed. The payload CRC is computed over the sealed payload, so
 * it cannot be known before sealing; both CRCs only detect accidents, the
 * tag is what detects tampering, and a forged CRC changes nothing but the
 * error reported.
 */
static void header_aad(const uint8_t *hdr, uint8_t aad[static CBT_CHUNK_HEADER_SIZE])
{
	memcpy(aad, hdr, CBT_CHUNK_HEADER_SIZE);
	memset(aad + OFF_PAYLOAD_CRC, 0, 4);
	memset(aad + OFF_HEADER_CRC, 0, 4);
}

int cbt_chunk_encode_sealed(struct cbt_compressor *c, const struct cbt_hasher *h,
			    struct cbt_cipher *cipher, const struct cbt_chunk_id *id,
			    const void *raw, size_t raw_len, void *obj, size_t obj_cap,
			    size_t *ret_len)
{
	enum cbt_compression used = cbt_compressor_algorithm(c);
	size_t extra = cipher ? CBT_CIPHER_OVERHEAD : 0;
	/* Sealed: the (compressed) data goes after the nonce, sealed in place. */
	size_t data_off = CBT_CHUNK_HEADER_SIZE + (cipher ? CBT_CIPHER_NONCE_SIZE : 0);
	uint8_t *out = obj, aad[CBT_CHUNK_HEADER_SIZE];
	const void *data = out + data_off;
	size_t data_len = 0, stored_len;
	int r;

	if (raw_len == 0 || raw_len > CBT_CHUNK_RAW_MAX)
		return -EINVAL;
	if (cipher && !cbt_hasher_is_keyed(h))
		return -EINVAL;
	if (obj_cap < CBT_CHUNK_HEADER_SIZE + extra)
		return -ENOBUFS;
	r = cbt_compressor_compress(c, raw, raw_len, out + data_off,
				    obj_cap - CBT_CHUNK_HEADER_SIZE - extra, &data_len);
	if (r == -ENOSPC) { /* did not shrink: store raw */
		if (obj_cap - CBT_CHUNK_HEADER_SIZE - extra < raw_len)
			return -ENOBUFS;
		if (!cipher)
			memcpy(out + data_off, raw, raw_len);
		else
			data = raw; /* sealed straight from the caller's buffer */
		used = CBT_COMPRESS_NONE;
		data_len = raw_len;
	} else if (r < 0)
		return r;
	stored_len = data_len + extra;

	memset(out, 0, CBT_CHUNK_HEADER_SIZE);
	memcpy(out + OFF_MAGIC, CBT_CHUNK_MAGIC, CBT_CHUNK_MAGIC_SIZE);
	cbt_put_le16(out + OFF_VERSION, CBT_CHUNK_FORMAT_VERSION);
	out[OFF_COMPRESSION] = (uint8_t)used;
	out[OFF_FLAGS] = (cbt_hasher_is_keyed(h) ? CBT_CHUNK_FLAG_KEYED_ID : 0) |
			 (cipher ? CBT_CHUNK_FLAG_ENCRYPTED : 0);
	cbt_put_le32(out + OFF_RAW_LEN, (uint32_t)raw_len);
	cbt_put_le32(out + OFF_STORED_LEN, (uint32_t)stored_len);
	memcpy(out + OFF_ID, id->bytes, CBT_CHUNK_ID_SIZE);
	if (cipher) {
		header_aad(out, aad);
		r = cbt_cipher_seal(cipher, aad, sizeof(aad), data, data_len,
				    out + CBT_CHUNK_HEADER_SIZE);
		if (r < 0)
			return r;
	}
	cbt_put_le32(out + OFF_PAYLOAD_CRC, crc(out + CBT_CHUNK_HEADER_SIZE, stored_len));
	cbt_put_le32(out + OFF_HEADER_CRC, crc(out, OFF_HEADER_CRC));
	*ret_len = CBT_CHUNK_HEADER_SIZE + stored_len;
	return 0;
}

int cbt_chunk_encode(struct cbt_compressor *c, const struct cbt_hasher *h,
		     const struct cbt_chunk_id *id, const void *raw, size_t raw_len, void *obj,
		     size_t obj_cap, size_t *ret_len)
{
	return cbt_chunk_encode_sealed(c, h, NULL, id, raw, raw_len, obj, obj_cap, ret_len);
}

int cbt_chunk_header_parse(const void *obj, size_t obj_len, struct cbt_chunk_header *ret)
{
	const uint8_t *p = obj;
	struct cbt_chunk_header hdr = { 0 };
	uint32_t data_len;

	if (obj_len < CBT_CHUNK_MAGIC_SIZE)
		return memcmp(p, CBT_CHUNK_MAGIC, obj_len) == 0 ? -ENODATA : -ENOMSG;
	if (memcmp(p + OFF_MAGIC, CBT_CHUNK_MAGIC, CBT_CHUNK_MAGIC_SIZE) != 0)
		return -ENOMSG;
	if (obj_len < OFF_VERSION + 2)
		return -ENODATA;
	hdr.version = cbt_get_le16(p + OFF_VERSION);
	if (hdr.version != CBT_CHUNK_FORMAT_VERSION)
		return -EPROTO;
	if (obj_len < CBT_CHUNK_HEADER_SIZE)
		return -ENODATA;
	if (cbt_get_le32(p + OFF_HEADER_CRC) != crc(p, OFF_HEADER_CRC))
		return -EUCLEAN;
	hdr.flags = p[OFF_FLAGS];
	if ((hdr.flags & ~CBT_CHUNK_FLAGS_KNOWN) || cbt_get_le32(p + OFF_RESERVED) != 0)
		return -EOPNOTSUPP;
	/* Encryption always comes with keyed ids (SHA-256 ids would leak the data). */
	if ((hdr.flags & CBT_CHUNK_FLAG_ENCRYPTED) && !(hdr.flags & CBT_CHUNK_FLAG_KEYED_ID))
		return -EOPNOTSUPP;
	if (!cbt_compression_valid(p[OFF_COMPRESSION]))
		return -EPROTONOSUPPORT;
	hdr.compression = (enum cbt_compression)p[OFF_COMPRESSION];
	hdr.raw_len = cbt_get_le32(p + OFF_RAW_LEN);
	hdr.stored_len = cbt_get_le32(p + OFF_STORED_LEN);
	if (hdr.raw_len == 0 || hdr.raw_len > CBT_CHUNK_RAW_MAX)
		return -ERANGE;
	data_len = hdr.stored_len;
	if (hdr.flags & CBT_CHUNK_FLAG_ENCRYPTED) {
		if (hdr.stored_len < CBT_CIPHER_OVERHEAD)
			return -ERANGE;
		data_len -= CBT_CIPHER_OVERHEAD;
	}
	if (hdr.compression == CBT_COMPRESS_NONE ? data_len != hdr.raw_len
						 : data_len >= hdr.raw_len)
		return -ERANGE;
	hdr.payload_crc = cbt_get_le32(p + OFF_PAYLOAD_CRC);
	memcpy(hdr.id.bytes, p + OFF_ID, CBT_CHUNK_ID_SIZE);
	*ret = hdr;
	return 0;
}

int cbt_chunk_decode_sealed(struct cbt_compressor *c, struct cbt_hasher *h,
			    struct cbt_cipher *cipher, const struct cbt_chunk_id *expected,
			    const void *obj, size_t obj_len, void *raw, size_t raw_cap,
			    size_t *ret_raw_len)
{
	const uint8_t *payload = (const uint8_t *)obj + CBT_CHUNK_HEADER_SIZE;
	uint8_t aad[CBT_CHUNK_HEADER_SIZE];
	struct cbt_chunk_header hdr;
	struct cbt_chunk_id actual;
	const uint8_t *data = payload;
	size_t data_len;
	bool keyed, encrypted;
	int r;

	r = cbt_chunk_header_parse(obj, obj_len, &hdr);
	if (r < 0)
		return r;
	if (expected && !cbt_chunk_id_equal(expected, &hdr.id))
		return -EXDEV;
	keyed = hdr.flags & CBT_CHUNK_FLAG_KEYED_ID;
	encrypted = hdr.flags & CBT_CHUNK_FLAG_ENCRYPTED;
	if (keyed != cbt_hasher_is_keyed(h) || encrypted != (cipher != NULL))
		return -ENOKEY;
	if (obj_len - CBT_CHUNK_HEADER_SIZE < hdr.stored_len)
		return -ENODATA;
	if (obj_len - CBT_CHUNK_HEADER_SIZE > hdr.stored_len)
		return -EMSGSIZE;
	if (raw_cap < hdr.raw_len)
		return -ENOBUFS;
	if (crc(payload, hdr.stored_len) != hdr.payload_crc)
		return -EBADMSG;
	data_len = hdr.stored_len;
	if (encrypted) {
		/* Authenticate first: unauthenticated data never reaches the decompressor. */
		uint8_t *plain = raw;

		data_len -= CBT_CIPHER_OVERHEAD;
		if (hdr.compression != CBT_COMPRESS_NONE) {
			plain = cbt_cipher_scratch(cipher, data_len);
			if (!plain)
				return -ENOMEM;
		}
		header_aad(obj, aad);
		r = cbt_cipher_open(cipher, aad, sizeof(aad), payload, hdr.stored_len, plain);
		if (r < 0)
			return r;
		data = plain;
	}
	if (data == raw) /* opened in place: already the raw data */
		r = 0;
	else
		r = cbt_compressor_decompress(c, hdr.compression, data, data_len, raw, hdr.raw_len);
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

int cbt_chunk_decode(struct cbt_compressor *c, struct cbt_hasher *h,
		     const struct cbt_chunk_id *expected, const void *obj, size_t obj_len,
		     void *raw, size_t raw_cap, size_t *ret_raw_len)
{
	return cbt_chunk_decode_sealed(c, h, NULL, expected, obj, obj_len, raw, raw_cap,
				       ret_raw_len);
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
		return "chunk object uses a feature this version cannot read (unknown flags)";
	case -EPROTONOSUPPORT:
		return "chunk object compressed with an unknown algorithm";
	case -ERANGE:
		return "chunk header has impossible lengths";
	case -EXDEV:
		return "object holds another chunk than the one its name promises";
	case -ENOKEY:
		return "chunk is keyed or encrypted and no key was given, or the reverse "
		       "(the encryption key setting does not match the backup)";
	case -EMSGSIZE:
		return "chunk object has trailing bytes after its payload";
	case -ENOBUFS:
		return "chunk larger than the buffer given to decode it";
	case -EBADMSG:
		return "chunk payload checksum mismatch (payload corrupt)";
	case -EBADE:
		return "failed authentication: tampered, or another key";
	case -EILSEQ:
		return "chunk payload does not decompress to its recorded length";
	case -EKEYREJECTED:
		return "chunk data does not hash to its id (corrupted before it was stored, or "
		       "another repository key)";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
