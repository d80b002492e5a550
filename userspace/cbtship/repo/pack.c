/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Packs: names, the table and trailer codec, reading a table, the writer. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "cbt-bytes.h"

#include "cbtship/repo/chunk-object.h"
#include "cbtship/repo/pack.h"

/* Trailer fields (docs/repository-format.md, "Pack trailer"). */
enum {
	TR_MAGIC = 0,
	TR_VERSION = 8,
	TR_FLAGS = 10,
	TR_COUNT = 12,
	TR_TABLE_OFFSET = 16,
	TR_TABLE_LENGTH = 24,
	TR_CRC = 28,
};

/* Table rows (after the 16-byte table header). */
enum {
	ROW_TYPE = 0,
	ROW_RESERVED = 1,
	ROW_LENGTH = 4,
	ROW_OFFSET = 8,
	ROW_ID = 16,
};

_Static_assert(TR_CRC + 4 == CBT_PACK_TRAILER_SIZE, "CRC ends the trailer");
_Static_assert(ROW_ID + CBT_CHUNK_ID_SIZE == CBT_PACK_TABLE_ROW, "id ends a row");

int cbt_pack_id_random(struct cbt_pack_id *ret)
{
	size_t done = 0;

	while (done < sizeof(ret->bytes)) {
		ssize_t n = getrandom(ret->bytes + done, sizeof(ret->bytes) - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

char *cbt_pack_key(const struct cbt_pack_id *id, char buf[static CBT_PACK_KEY_SIZE])
{
	struct cbt_chunk_id as_id;
	char hex[CBT_CHUNK_ID_HEX_SIZE];

	_Static_assert(sizeof(as_id.bytes) == sizeof(id->bytes), "same size as a chunk id");
	memcpy(as_id.bytes, id->bytes, sizeof(as_id.bytes));
	cbt_chunk_id_to_hex(&as_id, hex);
	snprintf(buf, CBT_PACK_KEY_SIZE, "%s%.2s/%s", CBT_PACK_KEY_PREFIX, hex, hex);
	return buf;
}

int cbt_pack_key_parse(const char *key, struct cbt_pack_id *ret)
{
	size_t plen = strlen(CBT_PACK_KEY_PREFIX);
	struct cbt_chunk_id id;
	const char *hex;

	if (!key || strncmp(key, CBT_PACK_KEY_PREFIX, plen) != 0)
		return -EINVAL;
	key += plen;
	if (strlen(key) != 3 + CBT_CHUNK_ID_HEX_LEN || key[2] != '/')
		return -EINVAL;
	hex = key + 3;
	if (cbt_chunk_id_from_hex(hex, &id) < 0 || key[0] != hex[0] || key[1] != hex[1])
		return -EINVAL;
	memcpy(ret->bytes, id.bytes, sizeof(ret->bytes));
	return 0;
}

int cbt_pack_tail_encode(const struct cbt_pack_codec *pc, const struct cbt_pack_entry *e, size_t n,
			 uint64_t table_offset, void **ret_buf, size_t *ret_len)
{
	struct cbt_hasher *h = pc->cipher ? pc->keyed : pc->plain;
	size_t raw_len = CBT_PACK_TABLE_HEADER + n * CBT_PACK_TABLE_ROW, obj_len = 0;
	_cleanup_(freep) uint8_t *raw = NULL;
	_cleanup_(freep) uint8_t *out = NULL;
	struct cbt_chunk_id table_id;
	uint8_t *tr;
	int r;

	if (n == 0 || n > CBT_PACK_ENTRIES_MAX || !h)
		return -EINVAL;
	raw = calloc(1, raw_len);
	out = malloc(cbt_chunk_object_max(raw_len) + CBT_PACK_TRAILER_SIZE);
	if (!raw || !out)
		return -ENOMEM;
	memcpy(raw, CBT_PACK_TABLE_MAGIC, 8);
	cbt_put_le32(raw + 8, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		uint8_t *row = raw + CBT_PACK_TABLE_HEADER + i * CBT_PACK_TABLE_ROW;

		row[ROW_TYPE] = e[i].type;
		cbt_put_le32(row + ROW_LENGTH, e[i].length);
		cbt_put_le64(row + ROW_OFFSET, e[i].offset);
		memcpy(row + ROW_ID, e[i].id.bytes, CBT_CHUNK_ID_SIZE);
	}
	r = cbt_hasher_hash(h, raw, raw_len, &table_id);
	if (r < 0)
		return r;
	r = cbt_chunk_encode_sealed(pc->compressor, h, pc->cipher, &table_id, raw, raw_len, out,
				    cbt_chunk_object_max(raw_len), &obj_len);
	if (r < 0)
		return r;
	tr = out + obj_len;
	memset(tr, 0, CBT_PACK_TRAILER_SIZE);
	memcpy(tr + TR_MAGIC, CBT_PACK_TRAILER_MAGIC, 8);
	cbt_put_le16(tr + TR_VERSION, CBT_PACK_VERSION);
	cbt_put_le32(tr + TR_COUNT, (uint32_t)n);
	cbt_put_le64(tr + TR_TABLE_OFFSET, table_offset);
	cbt_put_le32(tr + TR_TABLE_LENGTH, (uint32_t)obj_len);
	cbt_put_le32(tr + TR_CRC, (uint32_t)crc32_z(0, tr, TR_CRC));
	*ret_len = obj_len + CBT_PACK_TRAILER_SIZE;
	*ret_buf = TAKE_PTR(out);
	return 0;
}

int cbt_pack_trailer_parse(const void *trailer, uint64_t pack_size, struct cbt_pack_trailer *ret)
{
	const uint8_t *p = trailer;
	struct cbt_pack_trailer t;

	if (pack_size < CBT_PACK_TRAILER_SIZE)
		return -ENODATA;
	if (memcmp(p + TR_MAGIC, CBT_PACK_TRAILER_MAGIC, 8) != 0)
		return -ENOMSG;
	t.version = cbt_get_le16(p + TR_VERSION);
	if (t.version != CBT_PACK_VERSION)
		return -EPROTO;
	if (cbt_get_le32(p + TR_CRC) != (uint32_t)crc32_z(0, p, TR_CRC))
		return -EUCLEAN;
	t.count = cbt_get_le32(p + TR_COUNT);
	t.table_offset = cbt_get_le64(p + TR_TABLE_OFFSET);
	t.table_length = cbt_get_le32(p + TR_TABLE_LENGTH);
	if (cbt_get_le16(p + TR_FLAGS) != 0 || t.count == 0 || t.count > CBT_PACK_ENTRIES_MAX ||
	    t.table_length < CBT_CHUNK_HEADER_SIZE)
		return -EBADMSG;
	/* The table ends where the trailer starts. */
	if (t.table_offset + t.table_length + CBT_PACK_TRAILER_SIZE != pack_size)
		return t.table_offset + t.table_length + CBT_PACK_TRAILER_SIZE > pack_size
			       ? -ENODATA
			       : -EBADMSG;
	*ret = t;
	return 0;
}

int cbt_pack_table_decode(const struct cbt_pack_codec *pc, const struct cbt_pack_trailer *t,
			  const void *obj, size_t len, struct cbt_pack_entry **ret)
{
	size_t raw_len = CBT_PACK_TABLE_HEADER + (size_t)t->count * CBT_PACK_TABLE_ROW, got = 0;
	_cleanup_(freep) uint8_t *raw = malloc(raw_len);
	_cleanup_(freep) struct cbt_pack_entry *e = calloc(t->count, sizeof(*e));
	struct cbt_chunk_header hdr;
	uint64_t next = 0;
	int r;

	if (!raw || !e)
		return -ENOMEM;
	r = cbt_chunk_header_parse(obj, len, &hdr);
	if (r < 0)
		return r;
	if (hdr.raw_len != raw_len)
		return -EBADMSG;
	if ((hdr.flags & (CBT_CHUNK_FLAG_KEYED_ID | CBT_CHUNK_FLAG_ENCRYPTED)) &&
	    (!pc->keyed || !pc->cipher))
		return -ENOKEY;
	if (hdr.flags & (CBT_CHUNK_FLAG_KEYED_ID | CBT_CHUNK_FLAG_ENCRYPTED))
		r = cbt_chunk_decode_sealed(pc->compressor, pc->keyed, pc->cipher, NULL, obj, len,
					    raw, raw_len, &got);
	else
		r = cbt_chunk_decode(pc->compressor, pc->plain, NULL, obj, len, raw, raw_len, &got);
	if (r < 0)
		return r;
	if (memcmp(raw, CBT_PACK_TABLE_MAGIC, 8) != 0 || cbt_get_le32(raw + 8) != t->count ||
	    cbt_get_le32(raw + 12) != 0)
		return -EBADMSG;
	for (size_t i = 0; i < t->count; i++) {
		const uint8_t *row = raw + CBT_PACK_TABLE_HEADER + i * CBT_PACK_TABLE_ROW;

		e[i].type = row[ROW_TYPE];
		e[i].length = cbt_get_le32(row + ROW_LENGTH);
		e[i].offset = cbt_get_le64(row + ROW_OFFSET);
		memcpy(e[i].id.bytes, row + ROW_ID, CBT_CHUNK_ID_SIZE);
		if ((e[i].type != CBT_PACK_ENTRY_CHUNK && e[i].type != CBT_PACK_ENTRY_INDEX) ||
		    row[ROW_RESERVED] || row[ROW_RESERVED + 1] || row[ROW_RESERVED + 2] ||
		    e[i].length < CBT_CHUNK_HEADER_SIZE || e[i].offset < next ||
		    e[i].offset + e[i].length > t->table_offset)
			return -EBADMSG;
		next = e[i].offset + e[i].length;
	}
	*ret = TAKE_PTR(e);
	return 0;
}

int cbt_pack_read_table(struct cbt_store *s, const char *key, const struct cbt_pack_codec *pc,
			struct cbt_pack_entry **ret, size_t *ret_n, uint64_t *ret_size)
{
	_cleanup_(freep) uint8_t *tail = malloc(CBT_PACK_TAIL_READ);
	_cleanup_(freep) uint8_t *table = NULL;
	struct cbt_pack_trailer t;
	const uint8_t *obj;
	uint64_t size = 0;
	size_t got = 0;
	int r;

	if (!tail)
		return -ENOMEM;
	r = cbt_store_get_range(s, key, CBT_STORE_RANGE_TAIL, CBT_PACK_TAIL_READ, tail, &got,
				&size);
	if (r < 0)
		return r;
	if (got < CBT_PACK_TRAILER_SIZE || got > size)
		return -ENODATA;
	r = cbt_pack_trailer_parse(tail + got - CBT_PACK_TRAILER_SIZE, size, &t);
	if (r < 0)
		return r;
	if ((uint64_t)t.table_length + CBT_PACK_TRAILER_SIZE <= got) {
		obj = tail + got - CBT_PACK_TRAILER_SIZE - t.table_length;
	} else {
		size_t n = 0;

		table = malloc(t.table_length);
		if (!table)
			return -ENOMEM;
		r = cbt_store_get_range(s, key, t.table_offset, t.table_length, table, &n, NULL);
		if (r < 0)
			return r;
		if (n != t.table_length)
			return -ENODATA;
		obj = table;
	}
	r = cbt_pack_table_decode(pc, &t, obj, t.table_length, ret);
	if (r < 0)
		return r;
	*ret_n = t.count;
	if (ret_size)
		*ret_size = size;
	return 0;
}

const char *cbt_pack_strerror(int err)
{
	switch (err) {
	case -ENOMSG:
		return "not a pack, or not a chunk object (bad magic)";
	case -EPROTO:
		return "pack or chunk object of an unknown format version";
	case -EUCLEAN:
		return "pack trailer or chunk header checksum mismatch (corrupt)";
	case -ENODATA:
		return "pack or chunk object truncated";
	case -EBADMSG:
		return "pack table does not fit its pack (corrupt), or a payload checksum mismatch";
	default:
		return cbt_chunk_strerror(err);
	}
}

/* ---- the writer */

struct cbt_pack_writer {
	int fd;
	uint64_t size;
	bool finished;
	struct cbt_pack_entry *entries;
	size_t n, cap;
	EVP_MD_CTX *md5;
};

int cbt_pack_writer_new(int fd, bool md5, struct cbt_pack_writer **ret)
{
	struct cbt_pack_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	if (!md5) {
		*ret = w;
		return 0;
	}
	w->md5 = EVP_MD_CTX_new();
	if (!w->md5 || !EVP_DigestInit_ex(w->md5, EVP_md5(), NULL)) {
		cbt_pack_writer_free(w);
		return -ENOMEM;
	}
	*ret = w;
	return 0;
}

struct cbt_pack_writer *cbt_pack_writer_free(struct cbt_pack_writer *w)
{
	if (!w)
		return NULL;
	EVP_MD_CTX_free(w->md5);
	free(w->entries);
	free(w);
	return NULL;
}

static int write_at(struct cbt_pack_writer *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(w->fd, p + done, len - done, (off_t)(w->size + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	if (w->md5 && !EVP_DigestUpdate(w->md5, buf, len))
		return -EIO;
	w->size += len;
	return 0;
}

int cbt_pack_writer_append(struct cbt_pack_writer *w, enum cbt_pack_entry_type type,
			   const struct cbt_chunk_id *id, const void *obj, size_t len,
			   uint64_t *ret_offset)
{
	uint64_t offset = w->size;
	int r;

	if (w->finished || len < CBT_CHUNK_HEADER_SIZE || len > UINT32_MAX ||
	    (type != CBT_PACK_ENTRY_CHUNK && type != CBT_PACK_ENTRY_INDEX))
		return -EINVAL;
	if (w->n >= CBT_PACK_ENTRIES_MAX)
		return -E2BIG;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;
		struct cbt_pack_entry *e = realloc(w->entries, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		w->entries = e;
		w->cap = cap;
	}
	r = write_at(w, obj, len); /* a failed one is written over by the next */
	if (r < 0)
		return r;
	w->entries[w->n].type = (uint8_t)type;
	w->entries[w->n].id = *id;
	w->entries[w->n].offset = offset;
	w->entries[w->n].length = (uint32_t)len;
	w->n++;
	if (ret_offset)
		*ret_offset = offset;
	return 0;
}

size_t cbt_pack_writer_count(const struct cbt_pack_writer *w)
{
	return w->n;
}

uint64_t cbt_pack_writer_size(const struct cbt_pack_writer *w)
{
	return w->size;
}

const struct cbt_pack_entry *cbt_pack_writer_entries(const struct cbt_pack_writer *w)
{
	return w->entries;
}

int cbt_pack_writer_finish(struct cbt_pack_writer *w, const struct cbt_pack_codec *pc,
			   uint64_t *ret_size, char md5_hex[static 33])
{
	_cleanup_(freep) void *tail = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t tail_len = 0;
	int r;

	if (w->finished || w->n == 0)
		return -EINVAL;
	r = cbt_pack_tail_encode(pc, w->entries, w->n, w->size, &tail, &tail_len);
	if (r < 0)
		return r;
	r = write_at(w, tail, tail_len);
	if (r < 0)
		return r;
	w->finished = true;
	md5_hex[0] = '\0';
	if (!w->md5)
		mdlen = 0;
	else if (!EVP_DigestFinal_ex(w->md5, md, &mdlen) || mdlen != 16)
		return -EIO;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(md5_hex + 2 * i, 3, "%02x", md[i]);
	*ret_size = w->size;
	return 0;
}
