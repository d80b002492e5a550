/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The chunk object codec: one stored chunk = a 64-byte little-endian header
 * + the payload (the raw data, compressed when that made it smaller).
 * docs/repository-format.md describes the bytes.
 *
 * Decoding checks everything, in this order, and each failure has its own
 * negative errno (cbt_chunk_strerror() names it):
 *
 *   -ENOMSG           not a chunk object (bad magic)
 *   -EPROTO           unknown format version (checked before the header
 *                     CRC: another version may have another header)
 *   -ENODATA          truncated: shorter than the header, or than the
 *                     header plus the stored length it announces
 *   -EUCLEAN          header checksum mismatch (header corrupt)
 *   -EOPNOTSUPP       unknown flags or nonzero reserved bytes (e.g. an
 *                     encrypted object, which this version cannot read)
 *   -EPROTONOSUPPORT  unknown compression algorithm code
 *   -ERANGE           impossible lengths (raw 0 or above the maximum, a
 *                     compressed payload not smaller than the raw data,
 *                     a raw payload whose lengths differ)
 *   -EXDEV            the object holds another chunk than the one expected
 *   -ENOKEY           keyed id (HMAC) read without a key, or plain SHA-256
 *                     read with one; an encrypted object read without a
 *                     key, or a plain one read with a key: the key
 *                     setting does not match the object
 *   -EMSGSIZE         trailing bytes after the payload
 *   -ENOBUFS          the caller's buffer is smaller than the raw length
 *   -EBADMSG          payload checksum (CRC-32) mismatch (payload corrupt)
 *   -EBADE            encrypted payload fails AES-GCM authentication
 *                     (tampered with, or sealed under another key); nothing
 *                     is decompressed or returned
 *   -EILSEQ           payload does not decompress to the raw length
 *   -EKEYREJECTED     the raw data does not hash to the chunk id (corrupted
 *                     before it was checksummed, or another repository key)
 *   -ENOMEM, -EIO     resources, library failure
 */
#ifndef CBTSHIP_REPO_CHUNK_OBJECT_H
#define CBTSHIP_REPO_CHUNK_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "cbtship/compress/compressor.h"
#include "cbtship/encrypt/cipher.h"
#include "cbtship/hash/chunk-id.h"
#include "cbtship/hash/hasher.h"

#define CBT_CHUNK_MAGIC		 "CBTCHUNK" /* 8 bytes, no NUL on disk */
#define CBT_CHUNK_MAGIC_SIZE	 8
#define CBT_CHUNK_FORMAT_VERSION 1
#define CBT_CHUNK_HEADER_SIZE	 64

/* Largest raw chunk a reader accepts (the largest chunk size, 16 MiB). */
#define CBT_CHUNK_RAW_MAX (UINT32_C(16) << 20)

/* Header flags. */
#define CBT_CHUNK_FLAG_KEYED_ID	 UINT8_C(0x01) /* id is HMAC-SHA256 under a key */
#define CBT_CHUNK_FLAG_ENCRYPTED UINT8_C(0x02) /* payload sealed with AES-256-GCM */
#define CBT_CHUNK_FLAGS_KNOWN	 (CBT_CHUNK_FLAG_KEYED_ID | CBT_CHUNK_FLAG_ENCRYPTED)

/* A parsed header. */
struct cbt_chunk_header {
	uint16_t version;
	enum cbt_compression compression; /* what the payload actually uses */
	uint8_t flags;
	uint32_t raw_len;
	uint32_t stored_len;  /* payload bytes after the header (sealed: nonce and tag included) */
	uint32_t payload_crc; /* zlib crc32 of the payload */
	struct cbt_chunk_id id;
};

/* Largest unencrypted object cbt_chunk_encode() can make for raw_len bytes. */
static inline size_t cbt_chunk_object_bound(size_t raw_len)
{
	return CBT_CHUNK_HEADER_SIZE + raw_len;
}

/* Largest object of either kind (an encrypted one adds nonce and tag). */
static inline size_t cbt_chunk_object_max(size_t raw_len)
{
	return cbt_chunk_object_bound(raw_len) + CBT_CIPHER_OVERHEAD;
}

/*
 * Encode raw_len bytes (1..CBT_CHUNK_RAW_MAX) whose id is *id (computed by
 * the caller with h, which also tells whether the id is keyed) into obj.
 * The payload is compressed with c's algorithm when that shrinks it, else
 * stored raw (the header says which). Returns 0 and the object length in
 * *ret_len; -EINVAL (bad length), -ENOBUFS (obj_cap below what is needed;
 * cbt_chunk_object_bound() is always enough), -ENOMEM, -EIO.
 */
int cbt_chunk_encode(struct cbt_compressor *c, const struct cbt_hasher *h,
		     const struct cbt_chunk_id *id, const void *raw, size_t raw_len, void *obj,
		     size_t obj_cap, size_t *ret_len);

/*
 * The same, sealing the payload with cipher when it is not NULL (then h
 * must be keyed: -EINVAL otherwise, since plain SHA-256 ids would let
 * anyone confirm a guessed chunk). The header (with the encrypted flag)
 * is the associated data; cbt_chunk_object_max() is always enough.
 */
int cbt_chunk_encode_sealed(struct cbt_compressor *c, const struct cbt_hasher *h,
			    struct cbt_cipher *cipher, const struct cbt_chunk_id *id,
			    const void *raw, size_t raw_len, void *obj, size_t obj_cap,
			    size_t *ret_len);

/*
 * Parse and check the header alone (magic, version, header CRC, flags,
 * compression, lengths); obj_len is all that was read, at least the
 * header. 0 or the errors above up to -ERANGE.
 */
int cbt_chunk_header_parse(const void *obj, size_t obj_len, struct cbt_chunk_header *ret);

/*
 * Decode and verify an object: every check listed above. expected is the
 * id the object was fetched for (NULL: take the header's id, still
 * verified against the data). c decompresses (any algorithm, whatever c
 * compresses with), h re-hashes. On success the raw data is at raw and its
 * length in *ret_raw_len.
 */
int cbt_chunk_decode(struct cbt_compressor *c, struct cbt_hasher *h,
		     const struct cbt_chunk_id *expected, const void *obj, size_t obj_len,
		     void *raw, size_t raw_cap, size_t *ret_raw_len);

/*
 * The same with the key's cipher (NULL: no key). An encrypted object
 * needs one and a plain object must have none (-ENOKEY): a reader with a
 * key expects only what that key sealed. The payload is authenticated
 * (-EBADE) before anything is decompressed.
 */
int cbt_chunk_decode_sealed(struct cbt_compressor *c, struct cbt_hasher *h,
			    struct cbt_cipher *cipher, const struct cbt_chunk_id *expected,
			    const void *obj, size_t obj_len, void *raw, size_t raw_cap,
			    size_t *ret_raw_len);

/*
 * A sentence naming the problem, for an error from the codec ("chunk
 * header checksum mismatch (header corrupt)"); strerror() for others.
 */
const char *cbt_chunk_strerror(int err);

#endif
