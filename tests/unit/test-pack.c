/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Packs (repository format 2): the byte layout of the trailer and table,
 * a corrupt entry, a truncated or damaged table and trailer, a sealed
 * table read without its key or with another; the location cache (add,
 * look up, remove, sync from a real POSIX store, a bad pack, a file that
 * is no cache); the pack store (pending entries, flush, a second process's
 * view through its own cache, loose format-1 objects). Host only.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "cbtship/encrypt/key.h"
#include "cbtship/repo/chunk-object.h"
#include "cbtship/repo/location-cache.h"
#include "cbtship/repo/object-key.h"
#include "cbtship/repo/pack-store.h"
#include "cbtship/repo/pack.h"
#include "cbtship/store/posix/posix.h"
#include "tmpdir.h"

#define RAW 4096
#define N   3

struct fixture {
	char dir[256];
	struct cbt_pack_codec plain, keyed, other;
	struct cbt_key *key, *key2;
	uint8_t raw[N][RAW];
	struct cbt_chunk_id id[N];  /* plain ids */
	struct cbt_chunk_id kid[N]; /* keyed ids */
	uint8_t obj[N][RAW + 128];  /* plain chunk objects */
	size_t obj_len[N];
	uint8_t sobj[N][RAW + 128]; /* sealed chunk objects */
	size_t sobj_len[N];
};

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void codec_keyed(struct cbt_pack_codec *pc, const struct cbt_key *k)
{
	assert_int_equal(cbt_compressor_new(CBT_COMPRESS_ZSTD, 0, &pc->compressor), 0);
	assert_int_equal(cbt_hasher_new(NULL, 0, &pc->plain), 0);
	if (k) {
		assert_int_equal(cbt_hasher_new(k->id_key, CBT_KEY_SIZE, &pc->keyed), 0);
		assert_int_equal(cbt_cipher_new(k, &pc->cipher), 0);
	}
}

static void codec_free(struct cbt_pack_codec *pc)
{
	cbt_compressor_free(pc->compressor);
	cbt_hasher_free(pc->plain);
	cbt_hasher_free(pc->keyed);
	cbt_cipher_free(pc->cipher);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t m1[CBT_KEY_SIZE], m2[CBT_KEY_SIZE];

	assert_non_null(f);
	tmpdir_make(f->dir, sizeof(f->dir), "pack");
	memset(m1, 0x11, sizeof(m1));
	memset(m2, 0x22, sizeof(m2));
	assert_int_equal(cbt_key_from_bytes(m1, &f->key), 0);
	assert_int_equal(cbt_key_from_bytes(m2, &f->key2), 0);
	codec_keyed(&f->plain, NULL);
	codec_keyed(&f->keyed, f->key);
	codec_keyed(&f->other, f->key2);
	for (int i = 0; i < N; i++) {
		for (int j = 0; j < RAW; j++)
			f->raw[i][j] = (uint8_t)(i % 2 ? (j * 131 + i) >> 3 : "entry "[j % 6] + i);
		assert_int_equal(cbt_hasher_hash(f->plain.plain, f->raw[i], RAW, &f->id[i]), 0);
		assert_int_equal(cbt_chunk_encode(f->plain.compressor, f->plain.plain, &f->id[i],
						  f->raw[i], RAW, f->obj[i], sizeof(f->obj[i]),
						  &f->obj_len[i]),
				 0);
		assert_int_equal(cbt_hasher_hash(f->keyed.keyed, f->raw[i], RAW, &f->kid[i]), 0);
		assert_int_equal(cbt_chunk_encode_sealed(f->keyed.compressor, f->keyed.keyed,
							 f->keyed.cipher, &f->kid[i], f->raw[i],
							 RAW, f->sobj[i], sizeof(f->sobj[i]),
							 &f->sobj_len[i]),
				 0);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tmpdir_remove(f->dir);
	codec_free(&f->plain);
	codec_free(&f->keyed);
	codec_free(&f->other);
	cbt_key_free(f->key);
	cbt_key_free(f->key2);
	free(f);
	return 0;
}

/* A pack of the N objects (sealed or plain) in a new file; its bytes in *ret. */
static size_t make_pack_md5(struct fixture *f, bool sealed, bool with_md5, uint8_t **ret,
			    char md5[static 33])
{
	_cleanup_(cbt_pack_writer_freep) struct cbt_pack_writer *w = NULL;
	char path[300];
	uint64_t size = 0, off;
	uint8_t *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/spool", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(cbt_pack_writer_new(fd, with_md5, &w), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(cbt_pack_writer_append(
					 w, i == 2 ? CBT_PACK_ENTRY_INDEX : CBT_PACK_ENTRY_CHUNK,
					 sealed ? &f->kid[i] : &f->id[i],
					 sealed ? f->sobj[i] : f->obj[i],
					 sealed ? f->sobj_len[i] : f->obj_len[i], &off),
				 0);
	}
	assert_int_equal(cbt_pack_writer_count(w), N);
	assert_int_equal(cbt_pack_writer_finish(w, sealed ? &f->keyed : &f->plain, &size, md5), 0);
	assert_int_equal(cbt_pack_writer_append(w, CBT_PACK_ENTRY_CHUNK, &f->id[0], f->obj[0],
						f->obj_len[0], &off),
			 -EINVAL); /* finished */
	buf = malloc(size);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, size, 0), (ssize_t)size);
	close(fd);
	*ret = buf;
	return size;
}

static size_t make_pack(struct fixture *f, bool sealed, uint8_t **ret, char md5[static 33])
{
	return make_pack_md5(f, sealed, true, ret, md5);
}

/* Without MD5 (a store that sends no ETag): the same bytes, and no digest. */
static void without_md5(void **state)
{
	struct fixture *f = *state;
	_cleanup_(freep) uint8_t *a = NULL;
	_cleanup_(freep) uint8_t *b = NULL;
	char md5[33], none[33];
	size_t na = make_pack_md5(f, false, true, &a, md5);
	size_t nb = make_pack_md5(f, false, false, &b, none);

	assert_int_equal(strlen(md5), 32);
	assert_string_equal(none, "");
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
}

static void layout(void **state)
{
	struct fixture *f = *state;
	_cleanup_(freep) uint8_t *p = NULL;
	_cleanup_(freep) struct cbt_pack_entry *e = NULL;
	struct cbt_pack_trailer t;
	struct cbt_chunk_header hdr;
	char md5[33], want[33];
	size_t size = make_pack(f, false, &p, md5);
	const uint8_t *tr = p + size - CBT_PACK_TRAILER_SIZE;
	uint64_t entries_end = f->obj_len[0] + f->obj_len[1] + f->obj_len[2];

	/* The entries are the chunk objects, back to back from offset 0. */
	assert_memory_equal(p, f->obj[0], f->obj_len[0]);
	assert_memory_equal(p + f->obj_len[0], f->obj[1], f->obj_len[1]);
	/* The trailer: magic, version 1, flags 0, count, table offset and length, CRC. */
	assert_memory_equal(tr, "CBTPACK_", 8);
	assert_int_equal(tr[8] | tr[9] << 8, 1);
	assert_int_equal(tr[10] | tr[11] << 8, 0);
	assert_int_equal(get_le32(tr + 12), N);
	assert_int_equal(get_le64(tr + 16), entries_end);
	assert_int_equal(get_le64(tr + 16) + get_le32(tr + 24) + CBT_PACK_TRAILER_SIZE, size);
	assert_int_equal(get_le32(tr + 28), (uint32_t)crc32(0, tr, 28));
	/* The table is a chunk object (plain: SHA-256 id, not encrypted) of 16 + 48 n bytes. */
	assert_int_equal(cbt_chunk_header_parse(p + entries_end, get_le32(tr + 24), &hdr), 0);
	assert_int_equal(hdr.raw_len, 16 + 48 * N);
	assert_int_equal(hdr.flags, 0);
	assert_int_equal(cbt_pack_trailer_parse(tr, size, &t), 0);
	assert_int_equal(
		cbt_pack_table_decode(&f->plain, &t, p + t.table_offset, t.table_length, &e), 0);
	for (int i = 0; i < N; i++) {
		assert_true(cbt_chunk_id_equal(&e[i].id, &f->id[i]));
		assert_int_equal(e[i].length, f->obj_len[i]);
		assert_int_equal(e[i].type, i == 2 ? CBT_PACK_ENTRY_INDEX : CBT_PACK_ENTRY_CHUNK);
	}
	assert_int_equal(e[1].offset, f->obj_len[0]);
	/* The MD5 is that of the whole file (the upload's ETag). */
	{
		unsigned char d[16];
		EVP_Digest(p, size, d, NULL, EVP_md5(), NULL);
		for (int i = 0; i < 16; i++)
			snprintf(want + 2 * i, 3, "%02x", d[i]);
	}
	assert_string_equal(md5, want);
	/* Pack keys. */
	{
		struct cbt_pack_id id, back;
		char key[CBT_PACK_KEY_SIZE];

		assert_int_equal(cbt_pack_id_random(&id), 0);
		cbt_pack_key(&id, key);
		assert_int_equal(strncmp(key, "packs/", 6), 0);
		assert_int_equal(strlen(key), 6 + 3 + 64);
		assert_int_equal(memcmp(key + 6, key + 9, 2), 0);
		assert_int_equal(cbt_pack_key_parse(key, &back), 0);
		assert_memory_equal(id.bytes, back.bytes, 32);
		key[9] = key[9] == 'a' ? 'b' : 'a';
		assert_int_equal(cbt_pack_key_parse(key, &back), -EINVAL);
		assert_int_equal(cbt_pack_key_parse("chunks/ab/ab", &back), -EINVAL);
	}
}

static void corrupt_entry(void **state)
{
	struct fixture *f = *state;
	_cleanup_(freep) uint8_t *p = NULL;
	uint8_t out[RAW];
	size_t n = 0;
	char md5[33];

	make_pack(f, false, &p, md5);
	p[f->obj_len[0] + 100] ^= 0x40; /* a payload byte of entry 1 */
	assert_int_equal(cbt_chunk_decode(f->plain.compressor, f->plain.plain, &f->id[0], p,
					  f->obj_len[0], out, RAW, &n),
			 0);
	assert_int_equal(cbt_chunk_decode(f->plain.compressor, f->plain.plain, &f->id[1],
					  p + f->obj_len[0], f->obj_len[1], out, RAW, &n),
			 -EBADMSG);
	/* A location naming another entry: the id check catches it. */
	assert_int_equal(cbt_chunk_decode(f->plain.compressor, f->plain.plain, &f->id[1], p,
					  f->obj_len[0], out, RAW, &n),
			 -EXDEV);
}

static void truncated_and_damaged_table(void **state)
{
	struct fixture *f = *state;
	_cleanup_(freep) uint8_t *p = NULL;
	_cleanup_(freep) struct cbt_pack_entry *e = NULL;
	struct cbt_pack_trailer t;
	char md5[33];
	size_t size = make_pack(f, false, &p, md5);
	uint8_t *tr = p + size - CBT_PACK_TRAILER_SIZE;

	/* The pack cut short (the table does not fit), or longer than the trailer says. */
	assert_int_equal(cbt_pack_trailer_parse(tr, size - 10, &t), -ENODATA);
	assert_int_equal(cbt_pack_trailer_parse(tr, size + 10, &t), -EBADMSG);
	assert_int_equal(cbt_pack_trailer_parse(tr, 20, &t), -ENODATA);
	/* Not a trailer: the last bytes of a truncated pack are table bytes. */
	assert_int_equal(cbt_pack_trailer_parse(p + size - 40, size - 8, &t), -ENOMSG);
	/* A trailer byte changed: CRC. */
	tr[12] ^= 1;
	assert_int_equal(cbt_pack_trailer_parse(tr, size, &t), -EUCLEAN);
	tr[12] ^= 1;
	tr[8] = 9; /* another version: said before the CRC */
	assert_int_equal(cbt_pack_trailer_parse(tr, size, &t), -EPROTO);
	tr[8] = 1;
	assert_int_equal(cbt_pack_trailer_parse(tr, size, &t), 0);
	/* The table truncated: the chunk codec says so. */
	assert_int_equal(
		cbt_pack_table_decode(&f->plain, &t, p + t.table_offset, t.table_length - 5, &e),
		-ENODATA);
	/* A table byte changed: its payload CRC. */
	p[t.table_offset + CBT_CHUNK_HEADER_SIZE + 3] ^= 0x10;
	assert_int_equal(
		cbt_pack_table_decode(&f->plain, &t, p + t.table_offset, t.table_length, &e),
		-EBADMSG);
	assert_string_equal(cbt_pack_strerror(-EUCLEAN),
			    "pack trailer or chunk header checksum mismatch (corrupt)");
}

static void sealed_table(void **state)
{
	struct fixture *f = *state;
	_cleanup_(freep) uint8_t *p = NULL;
	_cleanup_(freep) struct cbt_pack_entry *e = NULL;
	struct cbt_pack_trailer t;
	struct cbt_chunk_header hdr;
	char md5[33];
	size_t size = make_pack(f, true, &p, md5);

	assert_int_equal(cbt_pack_trailer_parse(p + size - CBT_PACK_TRAILER_SIZE, size, &t), 0);
	assert_int_equal(cbt_chunk_header_parse(p + t.table_offset, t.table_length, &hdr), 0);
	assert_int_equal(hdr.flags, CBT_CHUNK_FLAG_KEYED_ID | CBT_CHUNK_FLAG_ENCRYPTED);
	/* No key: -ENOKEY; another key: authentication fails; the key: the entries. */
	assert_int_equal(
		cbt_pack_table_decode(&f->plain, &t, p + t.table_offset, t.table_length, &e),
		-ENOKEY);
	assert_int_equal(
		cbt_pack_table_decode(&f->other, &t, p + t.table_offset, t.table_length, &e),
		-EBADE);
	assert_int_equal(
		cbt_pack_table_decode(&f->keyed, &t, p + t.table_offset, t.table_length, &e), 0);
	assert_true(cbt_chunk_id_equal(&e[1].id, &f->kid[1]));
	/* No id of the table in the clear. */
	for (size_t i = 0; i + 32 <= t.table_length; i++)
		assert_false(memcmp(p + t.table_offset + i, f->kid[1].bytes, 32) == 0);
}

/* The pack in the POSIX store under its key. */
static void store_pack(struct fixture *f, struct cbt_store *s, bool sealed,
		       char key[static CBT_PACK_KEY_SIZE])
{
	_cleanup_(freep) uint8_t *p = NULL;
	struct cbt_pack_id id;
	char md5[33];
	size_t size = make_pack(f, sealed, &p, md5);

	assert_int_equal(cbt_pack_id_random(&id), 0);
	cbt_pack_key(&id, key);
	assert_int_equal(cbt_store_put(s, key, p, size), 0);
	assert_int_equal(cbt_store_flush(s), 0);
}

static void cache_and_sync(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_store_freep) struct cbt_store *s = NULL;
	_cleanup_(cbt_location_cache_freep) struct cbt_location_cache *lc = NULL;
	struct cbt_location_sync_stats st;
	struct cbt_location loc;
	char repo[300], cache[300], good[CBT_PACK_KEY_SIZE], bad[CBT_PACK_KEY_SIZE],
		sealed[CBT_PACK_KEY_SIZE], path[400];
	uint64_t packs = 0, entries = 0, size = 0;
	char *err = NULL;
	size_t got = 0;
	uint8_t tail[64];

	snprintf(repo, sizeof(repo), "%s/repo", f->dir);
	snprintf(cache, sizeof(cache), "%s/state/packs/posix-x.sqlite", f->dir);
	assert_int_equal(mkdir(repo, 0700), 0);
	assert_int_equal(cbt_posix_store_open(repo, &s), 0);
	store_pack(f, s, false, good);
	store_pack(f, s, false, bad);
	store_pack(f, s, true, sealed);
	/* get_range: the tail, a middle part, past the end. */
	assert_int_equal(cbt_store_get_range(s, good, CBT_STORE_RANGE_TAIL, 8, tail, &got, &size),
			 0);
	assert_int_equal(got, 8);
	assert_int_equal(cbt_store_get_range(s, good, size - 32, 8, tail, &got, NULL), 0);
	assert_memory_equal(tail, "CBTPACK_", 8);
	assert_int_equal(cbt_store_get_range(s, good, size + 5, 8, tail, &got, NULL), 0);
	assert_int_equal(got, 0);
	/* The second pack's trailer broken. */
	snprintf(path, sizeof(path), "%s/%s", repo, bad);
	{
		int fd = open(path, O_WRONLY);

		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "XXXX", 4, (off_t)size - 32), 4);
		close(fd);
	}

	assert_int_equal(cbt_location_cache_open(cache, &lc, &err), 0);
	assert_int_equal(cbt_location_cache_lookup(lc, CBT_PACK_ENTRY_CHUNK, &f->id[0], &loc), 0);
	/* A sync without the key: the good pack read, the bad one recorded, the sealed one skipped.
	 */
	assert_int_equal(cbt_location_cache_sync(lc, s, &f->plain, &st, &err), 0);
	assert_int_equal(st.packs_listed, 3);
	assert_int_equal(st.packs_added, 1);
	assert_int_equal(st.packs_bad, 1);
	assert_int_equal(st.packs_sealed, 1);
	assert_int_equal(st.entries_added, N);
	assert_int_equal(cbt_location_cache_lookup(lc, CBT_PACK_ENTRY_CHUNK, &f->id[1], &loc), 1);
	assert_string_equal(loc.pack, good);
	assert_int_equal(loc.offset, f->obj_len[0]);
	assert_int_equal(loc.length, f->obj_len[1]);
	/* Types are apart: entry 2 is an index page. */
	assert_int_equal(cbt_location_cache_lookup(lc, CBT_PACK_ENTRY_CHUNK, &f->id[2], &loc), 0);
	assert_int_equal(cbt_location_cache_lookup(lc, CBT_PACK_ENTRY_INDEX, &f->id[2], &loc), 1);
	assert_int_equal(cbt_location_cache_has_pack(lc, bad), 1);
	assert_int_equal(cbt_location_cache_has_pack(lc, sealed), 0);
	/* With the key the sealed pack comes in; nothing else is read again. */
	assert_int_equal(cbt_location_cache_sync(lc, s, &f->keyed, &st, &err), 0);
	assert_int_equal(st.packs_added, 1);
	assert_int_equal(st.packs_bad, 0);
	assert_int_equal(cbt_location_cache_lookup(lc, CBT_PACK_ENTRY_CHUNK, &f->kid[0], &loc), 1);
	assert_string_equal(loc.pack, sealed);
	assert_int_equal(cbt_location_cache_count(lc, &packs, &entries), 0);
	assert_int_equal(packs, 3);
	assert_int_equal(entries, 2 * N);
	/* A pack gone from the store is forgotten. */
	assert_int_equal(cbt_store_delete(s, good), 0);
	assert_int_equal(cbt_location_cache_sync(lc, s, &f->plain, &st, &err), 0);
	assert_int_equal(st.packs_removed, 1);
	assert_int_equal(cbt_location_cache_lookup(lc, CBT_PACK_ENTRY_CHUNK, &f->id[1], &loc), 0);
	assert_int_equal(cbt_location_cache_remove_pack(lc, sealed), 0);
	assert_int_equal(cbt_location_cache_count(lc, &packs, &entries), 0);
	assert_int_equal(packs, 1);
	assert_int_equal(entries, 0);
	lc = cbt_location_cache_free(lc);
	/* A file that is no cache is made anew. */
	{
		FILE *fp = fopen(cache, "w");

		assert_non_null(fp);
		fputs("not a database at all, just text", fp);
		fclose(fp);
	}
	assert_int_equal(cbt_location_cache_open(cache, &lc, &err), 0);
	assert_int_equal(cbt_location_cache_count(lc, &packs, &entries), 0);
	assert_int_equal(packs, 0);
}

static void pack_store(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_store_freep) struct cbt_store *ps = NULL;
	_cleanup_(cbt_store_freep) struct cbt_store *ps2 = NULL;
	struct cbt_pack_store_config cfg = { 0 };
	struct cbt_pack_store_stats st;
	struct cbt_store *inner = NULL;
	char repo[300], cache[300], cache2[300], key[CBT_OBJECT_KEY_SIZE];
	_cleanup_(freep) void *buf = NULL;
	size_t len = 0;
	char *err = NULL;

	snprintf(repo, sizeof(repo), "%s/repo2", f->dir);
	snprintf(cache, sizeof(cache), "%s/state/packs/one.sqlite", f->dir);
	snprintf(cache2, sizeof(cache2), "%s/state/packs/two.sqlite", f->dir);
	assert_int_equal(mkdir(repo, 0700), 0);
	assert_int_equal(cbt_posix_store_open(repo, &inner), 0);
	cfg.cache_path = cache;
	cfg.spool_dir = repo;
	cfg.pack_size = 4 << 20; /* all in one pack until the flush */
	assert_int_equal(cbt_pack_store_new(inner, &cfg, &ps, &err), 0);
	assert_true(cbt_is_pack_store(ps));
	assert_string_equal(cbt_store_name(ps), "posix");
	/* Put: pending in the open pack, found by exists and get before any upload. */
	cbt_chunk_key(&f->id[0], key);
	assert_int_equal(cbt_store_exists(ps, key), 0);
	assert_int_equal(cbt_store_put(ps, key, f->obj[0], f->obj_len[0]), 0);
	assert_int_equal(cbt_store_put(ps, key, f->obj[0], f->obj_len[0]), 0); /* once */
	assert_int_equal(cbt_store_exists(ps, key), 1);
	assert_int_equal(cbt_store_get(ps, key, 0, &buf, &len), 0);
	assert_int_equal(len, f->obj_len[0]);
	assert_memory_equal(buf, f->obj[0], len);
	free(buf);
	buf = NULL;
	cbt_object_key(CBT_OBJECT_INDEX, &f->id[2], key);
	assert_int_equal(cbt_store_put(ps, key, f->obj[2], f->obj_len[2]), 0);
	cbt_chunk_key(&f->id[2], key);
	assert_int_equal(cbt_store_exists(ps, key), 0); /* a page, not a chunk */
	/* Nothing in the store until the flush; then two packs (chunks, pages) and no loose object.
	 */
	assert_int_equal(cbt_store_flush(ps), 0);
	cbt_pack_store_stats(ps, &st);
	assert_int_equal(st.packs_uploaded, 2);
	assert_int_equal(st.entries_packed, 2);
	cbt_chunk_key(&f->id[0], key);
	assert_int_equal(cbt_store_exists(cbt_pack_store_inner(ps), key), 0);
	assert_int_equal(cbt_store_exists(ps, key), 1);
	assert_int_equal(cbt_store_get(ps, key, 0, &buf, &len), 0);
	assert_memory_equal(buf, f->obj[0], len);
	free(buf);
	buf = NULL;
	assert_int_equal(cbt_store_get(ps, key, 10, &buf, &len), -EFBIG);
	/* A loose (format-1) object under the pack store is still found. */
	cbt_chunk_key(&f->id[1], key);
	assert_int_equal(cbt_store_put(cbt_pack_store_inner(ps), key, f->obj[1], f->obj_len[1]), 0);
	assert_int_equal(cbt_store_flush(cbt_pack_store_inner(ps)), 0);
	assert_int_equal(cbt_store_exists(ps, key), 1);
	assert_int_equal(cbt_store_get(ps, key, 0, &buf, &len), 0);
	assert_memory_equal(buf, f->obj[1], len);
	free(buf);
	buf = NULL;

	/* Another process (its own, empty cache) finds the packed entries by syncing. */
	assert_int_equal(cbt_posix_store_open(repo, &inner), 0);
	cfg.cache_path = cache2;
	assert_int_equal(cbt_pack_store_new(inner, &cfg, &ps2, &err), 0);
	cbt_chunk_key(&f->id[0], key);
	assert_int_equal(cbt_store_exists(ps2, key), 1);
	assert_int_equal(cbt_store_get(ps2, key, 0, &buf, &len), 0);
	assert_memory_equal(buf, f->obj[0], len);
	cbt_object_key(CBT_OBJECT_INDEX, &f->id[2], key);
	assert_int_equal(cbt_store_exists(ps2, key), 1);
	cbt_chunk_key(&f->id[2], key);
	assert_int_equal(cbt_store_get(ps2, key, 0, &buf, &len), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(without_md5, setup, teardown),
		cmocka_unit_test_setup_teardown(layout, setup, teardown),
		cmocka_unit_test_setup_teardown(corrupt_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(truncated_and_damaged_table, setup, teardown),
		cmocka_unit_test_setup_teardown(sealed_table, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_and_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(pack_store, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
