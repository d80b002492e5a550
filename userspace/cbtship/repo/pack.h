/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Packs (repository format 2, docs/repository-format.md "Packs"): many
 * chunk objects and index pages in one store object, then a table of
 * them and a fixed trailer:
 *
 *   [entry 0][entry 1]...[entry n-1][table][trailer]
 *
 * Each entry is exactly a format-1 chunk object (repo/chunk-object.h:
 * its own header, compression, AES-256-GCM when keyed, CRCs, id checked
 * on read). The table lists (type, id, offset, length) of every entry and
 * is itself a chunk object (compressed; in a keyed container with an HMAC
 * id and sealed with AES-256-GCM like every entry, so it has its own
 * CRC/GCM check and shows nothing without the key). The trailer, the last
 * CBT_PACK_TRAILER_SIZE bytes, says where the table is; one ranged read
 * of the pack's last CBT_PACK_TAIL_READ bytes usually gets both.
 *
 * A pack is named packs/<first 2 hex>/<64 hex of 32 random bytes>: the
 * name is chosen before the upload, so it cannot be the content's hash.
 * A pack is immutable once written.
 *
 * Errors: the chunk codec's for the table object (cbt_chunk_strerror),
 * and for the trailer and table layout -ENOMSG (no pack trailer: bad
 * magic), -EPROTO (unknown pack version), -EUCLEAN (trailer CRC
 * mismatch), -ENODATA (truncated: shorter than its trailer says),
 * -EBADMSG (a table that does not fit the trailer or the pack: count,
 * order, overlap, bounds, unknown type). cbt_pack_strerror() names them.
 */
#ifndef CBTSHIP_REPO_PACK_H
#define CBTSHIP_REPO_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbt-cleanup.h"
#include "cbtship/compress/compressor.h"
#include "cbtship/encrypt/cipher.h"
#include "cbtship/hash/chunk-id.h"
#include "cbtship/hash/hasher.h"
#include "cbtship/repo/object-key.h"
#include "cbtship/store/store.h"

#define CBT_PACK_KEY_PREFIX "packs/"
#define CBT_PACK_ID_SIZE    32
/* "packs/" + "xx/" + 64 hex + NUL */
#define CBT_PACK_KEY_SIZE (sizeof(CBT_PACK_KEY_PREFIX) - 1 + 3 + 2 * CBT_PACK_ID_SIZE + 1)

#define CBT_PACK_TRAILER_MAGIC "CBTPACK_" /* 8 bytes, no NUL on disk */
#define CBT_PACK_TABLE_MAGIC   "CBTPTABL"
#define CBT_PACK_VERSION       1
#define CBT_PACK_TRAILER_SIZE  32
#define CBT_PACK_TABLE_HEADER  16
#define CBT_PACK_TABLE_ROW     48
/* Entries per pack at most (the table's raw size stays under 3.1 MiB). */
#define CBT_PACK_ENTRIES_MAX 65536u
/* The suffix a reader asks for first (trailer and, usually, the table). */
#define CBT_PACK_TAIL_READ (64u * 1024)

/* Entry types; the same values as enum cbt_object_kind. */
enum cbt_pack_entry_type {
	CBT_PACK_ENTRY_CHUNK = CBT_OBJECT_CHUNK,
	CBT_PACK_ENTRY_INDEX = CBT_OBJECT_INDEX,
};

struct cbt_pack_id {
	uint8_t bytes[CBT_PACK_ID_SIZE];
};

struct cbt_pack_entry {
	uint8_t type; /* enum cbt_pack_entry_type */
	struct cbt_chunk_id id;
	uint64_t offset; /* from the start of the pack */
	uint32_t length; /* of the chunk object */
};

/*
 * What decoding or encoding a table needs: plain, the unkeyed SHA-256
 * hasher; with a key, its HMAC hasher and cipher (both NULL without one).
 * None is thread-safe: one set per thread.
 */
struct cbt_pack_codec {
	struct cbt_compressor *compressor;
	struct cbt_hasher *plain;
	struct cbt_hasher *keyed;
	struct cbt_cipher *cipher;
};

struct cbt_pack_trailer {
	uint16_t version;
	uint32_t count;
	uint64_t table_offset;
	uint32_t table_length;
};

/* 32 random bytes (getrandom). 0 or -errno. */
int cbt_pack_id_random(struct cbt_pack_id *ret);

/* "packs/<h2>/<64 hex>" into buf; returns buf. */
char *cbt_pack_key(const struct cbt_pack_id *id, char buf[static CBT_PACK_KEY_SIZE]);

/* Parse a pack key strictly (fan-out matching, lowercase hex). 0 or -EINVAL. */
int cbt_pack_key_parse(const char *key, struct cbt_pack_id *ret);

/*
 * The table and trailer of a pack whose n entries (in offset order,
 * contiguous from 0) end at table_offset, as bytes to append there, in a
 * new malloc()ed buffer. The table is sealed when pc has a cipher (its id
 * then the keyed hasher's), else plain. 0, -EINVAL (n is 0 or above
 * CBT_PACK_ENTRIES_MAX), -ENOMEM or a codec error.
 */
int cbt_pack_tail_encode(const struct cbt_pack_codec *pc, const struct cbt_pack_entry *e, size_t n,
			 uint64_t table_offset, void **ret_buf, size_t *ret_len);

/*
 * Parse the trailer: the last CBT_PACK_TRAILER_SIZE bytes of a pack of
 * pack_size bytes. 0 or -ENOMSG, -EPROTO, -EUCLEAN, -ENODATA, -EBADMSG.
 */
int cbt_pack_trailer_parse(const void *trailer, uint64_t pack_size, struct cbt_pack_trailer *ret);

/*
 * Decode and check the table object (t->table_length bytes at obj) of
 * the pack trailer t: the chunk codec's checks (with pc's keyed hasher
 * and cipher when the table is sealed: -ENOKEY when pc has none), then
 * the layout. On success *ret is a malloc()ed array of t->count entries
 * in offset order.
 */
int cbt_pack_table_decode(const struct cbt_pack_codec *pc, const struct cbt_pack_trailer *t,
			  const void *obj, size_t len, struct cbt_pack_entry **ret);

/*
 * Read and check the table of the pack at key with ranged reads from the
 * end (one read of CBT_PACK_TAIL_READ bytes, a second when the table is
 * larger). *ret as above, its count in *ret_n, the pack's size in
 * *ret_size (may be NULL). A store error, or the errors above.
 */
int cbt_pack_read_table(struct cbt_store *s, const char *key, const struct cbt_pack_codec *pc,
			struct cbt_pack_entry **ret, size_t *ret_n, uint64_t *ret_size);

/* A sentence for an error of this file or of the chunk codec. */
const char *cbt_pack_strerror(int err);

/*
 * A pack being written to a file (the spool): entries are appended at
 * the end, and finish() adds the table and the trailer. Not thread-safe
 * (the pack store holds a lock around it). With md5, the MD5 of the bytes
 * written is kept as they go, for the upload's ETag (a store that sends
 * none, POSIX, does without: MD5 costs as much CPU as SHA-256 here).
 */
struct cbt_pack_writer;

/* Write a pack into fd (empty, owned by the caller). 0 or -ENOMEM. */
int cbt_pack_writer_new(int fd, bool md5, struct cbt_pack_writer **ret);
struct cbt_pack_writer *cbt_pack_writer_free(struct cbt_pack_writer *w);
CBT_DEFINE_CLEANUP(struct cbt_pack_writer *, cbt_pack_writer_free, cbt_pack_writer_freep)

/*
 * Append one chunk object (obj, len: as cbt_chunk_encode_sealed made it)
 * of the given type and id. *ret_offset gets its offset. 0, -E2BIG (the
 * pack holds CBT_PACK_ENTRIES_MAX entries already), -EINVAL, or a write
 * error.
 */
int cbt_pack_writer_append(struct cbt_pack_writer *w, enum cbt_pack_entry_type type,
			   const struct cbt_chunk_id *id, const void *obj, size_t len,
			   uint64_t *ret_offset);

/* Entries and bytes so far (before finish: the entries' bytes). */
size_t cbt_pack_writer_count(const struct cbt_pack_writer *w);
uint64_t cbt_pack_writer_size(const struct cbt_pack_writer *w);
const struct cbt_pack_entry *cbt_pack_writer_entries(const struct cbt_pack_writer *w);

/*
 * Write the table and trailer. *ret_size the pack's size, md5_hex (33
 * bytes) the MD5 of the whole file (without md5: the empty string). Nothing can be appended
 * afterwards. 0, -EINVAL (no entry), or an encoding or write error.
 */
int cbt_pack_writer_finish(struct cbt_pack_writer *w, const struct cbt_pack_codec *pc,
			   uint64_t *ret_size, char md5_hex[static 33]);

#endif
