/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-backup index (page tree): round trips, sparse volumes,
 * incrementals that write only the touched pages (counted at the store),
 * growth, a 1 TiB volume in bounded memory, load errors, the GC walk,
 * keyed ids. Uses the POSIX store in a mkdtemp directory. Host only.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "cbtship/repo/index.h"
#include "cbtship/repo/object-key.h"
#include "cbtship/store/posix/posix.h"

/* A store that counts the calls it passes on to the POSIX store. */
struct counter {
	struct cbt_store *inner;
	int puts, gets, exists;
};

static int c_put(void *d, const char *key, const void *buf, size_t len)
{
	struct counter *c = d;

	c->puts++;
	return cbt_store_put(c->inner, key, buf, len);
}

static int c_get(void *d, const char *key, size_t max, void **buf, size_t *len)
{
	struct counter *c = d;

	c->gets++;
	return cbt_store_get(c->inner, key, max, buf, len);
}

static int c_exists(void *d, const char *key)
{
	struct counter *c = d;

	c->exists++;
	return cbt_store_exists(c->inner, key);
}

static int c_delete(void *d, const char *key)
{
	return cbt_store_delete(((struct counter *)d)->inner, key);
}

static int c_list(void *d, const char *prefix, cbt_store_list_fn fn, void *userdata)
{
	return cbt_store_list(((struct counter *)d)->inner, prefix, fn, userdata);
}

static int c_flush(void *d)
{
	return cbt_store_flush(((struct counter *)d)->inner);
}

static const struct cbt_store_ops counting_ops = {
	.version = CBT_STORE_OPS_VERSION,
	.name = "counting",
	.put = c_put,
	.get = c_get,
	.exists = c_exists,
	.delete = c_delete,
	.list = c_list,
	.flush = c_flush,
};

struct fixture {
	char dir[64];
	struct cbt_store *posix, *store; /* store: counting, over posix */
	struct counter counter;
	struct cbt_hasher *hasher, *keyed;
	struct cbt_compressor *zstd;
};

static int setup(void **state)
{
	static const uint8_t key[32] = "index test repository key 32 b.";
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tmpdir_make(f->dir, sizeof(f->dir), "index");
	assert_int_equal(cbt_posix_store_open(f->dir, &f->posix), 0);
	f->counter.inner = f->posix;
	assert_int_equal(cbt_store_new(&counting_ops, &f->counter, &f->store), 0);
	assert_int_equal(cbt_hasher_new(NULL, 0, &f->hasher), 0);
	assert_int_equal(cbt_hasher_new(key, sizeof(key), &f->keyed), 0);
	assert_int_equal(cbt_compressor_new(CBT_COMPRESS_ZSTD, 0, &f->zstd), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cbt_store_free(f->store);
	cbt_store_free(f->posix);
	cbt_hasher_free(f->hasher);
	cbt_hasher_free(f->keyed);
	cbt_compressor_free(f->zstd);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static const struct cbt_chunk_id zero_id;

/* A pseudo-random, never zero id for (chunk, generation). */
static struct cbt_chunk_id id_for(uint64_t chunk, uint64_t gen)
{
	struct cbt_chunk_id id;
	uint64_t x = chunk * 0x9e3779b97f4a7c15ULL + gen * 0xbf58476d1ce4e5b9ULL + 1;

	for (int i = 0; i < CBT_CHUNK_ID_SIZE; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		id.bytes[i] = (uint8_t)(x >> 24);
	}
	id.bytes[0] |= 1;
	return id;
}

static void assert_entry(struct cbt_index *idx, uint64_t chunk, const struct cbt_chunk_id *want)
{
	struct cbt_chunk_id got;

	assert_int_equal(cbt_index_get(idx, chunk, &got), 0);
	if (!cbt_chunk_id_equal(&got, want))
		fail_msg("chunk %llu: wrong id", (unsigned long long)chunk);
}

static int count_key(const char *key, void *userdata)
{
	(void)key;
	(*(int *)userdata)++;
	return 0;
}

/* Index pages in the store. */
static int stored_pages(struct fixture *f)
{
	int n = 0;

	assert_int_equal(cbt_store_list(f->posix, CBT_INDEX_KEY_PREFIX, count_key, &n), 0);
	return n;
}

/* Round trip content: chunk c is zero when c % 3 == 0 or in 2048..3071. */
static bool rt_zero(uint64_t c)
{
	return c % 3 == 0 || (c >= 2048 && c < 3072);
}

/* The page bytes of docs/repository-format.md's example, and the geometry. */
static void page_format(void **state)
{
	static const uint8_t header[32] = {
		0x43, 0x42, 0x54, 0x49, 0x4e, 0x44, 0x45, 0x58, 0x01, 0x00, 0x01,
		0x0a, 0x03, 0x00, 0x00, 0x00, 0xc4, 0x09, 0x00, 0x00, 0x00, 0x00,
	};
	struct cbt_index_page_header hdr, back;
	struct cbt_chunk_id entries[3] = { id_for(0, 1), id_for(1, 1), id_for(2, 1) };
	uint8_t buf[128];

	(void)state;
	assert_int_equal(cbt_index_top_level(0), 0);
	assert_int_equal(cbt_index_top_level(1024), 0);
	assert_int_equal(cbt_index_top_level(1025), 1);
	assert_int_equal(cbt_index_top_level(UINT64_C(1) << 24), 2);
	assert_int_equal(cbt_index_top_level(CBT_INDEX_CHUNKS_MAX), CBT_INDEX_LEVEL_MAX);
	assert_int_equal(cbt_index_page_expected(2500, 1, 0, &hdr), 0);
	assert_int_equal(hdr.count, 3);
	assert_int_equal(hdr.covered, 2500);
	assert_int_equal(cbt_index_page_expected(2500, 0, 2, &back), 0);
	assert_int_equal(back.count, 452);
	assert_int_equal(back.covered, 452);
	assert_int_equal(cbt_index_page_expected(2500, 0, 3, &back), -ERANGE);
	assert_int_equal(cbt_index_page_expected(2500, 2, 0, &back), -ERANGE);

	assert_int_equal(cbt_index_page_serialize(&hdr, entries, buf), 128);
	assert_memory_equal(buf, header, sizeof(header));
	assert_memory_equal(buf + 32, entries, sizeof(entries));
	assert_int_equal(cbt_index_page_parse(buf, 128, &back), 0);
	assert_int_equal(back.level, 1);
	assert_int_equal(back.count, 3);
	assert_int_equal(back.covered, 2500);
	assert_int_equal(cbt_index_page_parse(buf, 127, &back), -EBADMSG);
	buf[8] = 2;
	assert_int_equal(cbt_index_page_parse(buf, 128, &back), -EPROTO);
	buf[8] = 1, buf[11] = 11;
	assert_int_equal(cbt_index_page_parse(buf, 128, &back), -EBADMSG);
	buf[11] = 10, buf[31] = 1;
	assert_int_equal(cbt_index_page_parse(buf, 128, &back), -EBADMSG);
	buf[31] = 0, buf[0] = 'X';
	assert_int_equal(cbt_index_page_parse(buf, 128, &back), -EBADMSG);
}

static void round_trip(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_index_freep) struct cbt_index *idx = NULL, *back = NULL;
	struct cbt_index_stats st;
	struct cbt_chunk_id root, again;
	const uint64_t n = 5000; /* 5 leaves (one all zero, a short last one), a root */

	assert_int_equal(cbt_index_new(f->hasher, f->zstd, n, &idx), 0);
	assert_int_equal(cbt_index_nr_chunks(idx), n);
	for (uint64_t c = 0; c < n; c++)
		assert_entry(idx, c, &zero_id);
	for (uint64_t c = 0; c < n; c++) {
		struct cbt_chunk_id id = rt_zero(c) ? zero_id : id_for(c, 1);

		assert_int_equal(cbt_index_set(idx, c, &id), 0);
	}
	assert_int_equal(cbt_index_get(idx, n, &again), -ERANGE);
	assert_int_equal(cbt_index_set(idx, n, &zero_id), -ERANGE);
	assert_int_equal(cbt_index_write(idx, f->store, &root, &st), 0);
	assert_false(cbt_index_id_is_zero(&root));
	assert_int_equal(st.pages_written, 5); /* 4 leaves + root */
	assert_int_equal(st.pages_zero, 0);    /* leaf 2 was never dirtied */
	assert_int_equal(st.pages_present, 0);
	assert_true(st.bytes_written > 0);
	assert_int_equal(f->counter.puts, 5);
	assert_int_equal(stored_pages(f), 5);

	/* Read back through a small cache: pages are evicted and reloaded. */
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &root, n, &back), 0);
	assert_int_equal(cbt_index_set_cache_limit(back, 0), 0);
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t c = 0; c < n; c++) {
			struct cbt_chunk_id id = rt_zero(c) ? zero_id : id_for(c, 1);

			assert_entry(back, c, &id);
		}
	/* the limit (5 pages) plus what one lookup loads before trimming */
	assert_true(cbt_index_peak_pages(back) <= 2 * (CBT_INDEX_LEVEL_MAX + 1));

	/* Nothing changed: writing again puts nothing and gives the same root. */
	f->counter.puts = 0;
	assert_int_equal(cbt_index_write(back, f->store, &again, &st), 0);
	assert_true(cbt_chunk_id_equal(&root, &again));
	assert_int_equal(f->counter.puts, 0);
	/* The builder's second write too (its pages are clean). */
	assert_int_equal(cbt_index_write(idx, f->store, &again, &st), 0);
	assert_true(cbt_chunk_id_equal(&root, &again));
	assert_int_equal(f->counter.puts, 0);

	/* A chunk changed and changed back: same pages, already stored. */
	{
		struct cbt_chunk_id id = id_for(7, 1);

		assert_int_equal(cbt_index_set(back, 7, &zero_id), 0);
		assert_int_equal(cbt_index_set(back, 7, &id), 0);
		assert_int_equal(cbt_index_write(back, f->store, &again, &st), 0);
		assert_true(cbt_chunk_id_equal(&root, &again));
		assert_int_equal(f->counter.puts, 0);
		assert_int_equal(st.pages_written, 0);
		assert_int_equal(st.pages_present, 2); /* leaf 0, root */
	}
	/* Clearing a whole leaf makes it a zero page, not stored. */
	for (uint64_t c = 3072; c < 4096; c++)
		assert_int_equal(cbt_index_set(back, c, &zero_id), 0);
	assert_int_equal(cbt_index_write(back, f->store, &again, &st), 0);
	assert_int_equal(st.pages_zero, 1);
	assert_int_equal(st.pages_written, 1); /* the new root */
}

static void empty_and_sparse(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_index_freep) struct cbt_index *idx = NULL, *back = NULL, *empty = NULL;
	struct cbt_index_stats st;
	struct cbt_chunk_id root, id;
	const uint64_t n = 1 << 20; /* 64 GiB at 64 KiB: 1024 leaves under one root */

	/* All zero: nothing stored, zero root. */
	assert_int_equal(cbt_index_new(f->hasher, f->zstd, n, &idx), 0);
	assert_int_equal(cbt_index_write(idx, f->store, &root, &st), 0);
	assert_true(cbt_index_id_is_zero(&root));
	assert_int_equal(f->counter.puts, 0);
	/* An empty volume. */
	assert_int_equal(cbt_index_new(f->hasher, f->zstd, 0, &empty), 0);
	assert_int_equal(cbt_index_get(empty, 0, &id), -ERANGE);
	assert_int_equal(cbt_index_write(empty, f->store, &root, &st), 0);
	assert_true(cbt_index_id_is_zero(&root));

	/* Three chunks in two leaves: two leaves and the root are stored. */
	id = id_for(5, 2);
	assert_int_equal(cbt_index_set(idx, 5, &id), 0);
	id = id_for(6, 2);
	assert_int_equal(cbt_index_set(idx, 6, &id), 0);
	id = id_for(700000, 2);
	assert_int_equal(cbt_index_set(idx, 700000, &id), 0);
	assert_int_equal(cbt_index_write(idx, f->store, &root, &st), 0);
	assert_int_equal(st.pages_written, 3);
	assert_int_equal(f->counter.puts, 3);
	assert_int_equal(stored_pages(f), 3);

	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &root, n, &back), 0);
	assert_entry(back, 4, &zero_id);
	id = id_for(6, 2);
	assert_entry(back, 6, &id);
	id = id_for(700000, 2);
	assert_entry(back, 700000, &id);
	assert_entry(back, n - 1, &zero_id);
	assert_entry(back, 300000, &zero_id);
}

/* The stored chunks in order, skipping zero subtrees: in memory (dirty), written, reopened. */
static void next_skips_zero(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_index_freep) struct cbt_index *idx = NULL, *back = NULL, *huge = NULL;
	const uint64_t n = CBT_INDEX_CHUNKS_MAX; /* five levels */
	const uint64_t at[] = { 0, 1023, 1024, 5000000, n - 1025, n - 1 };
	struct cbt_chunk_id root, id;
	uint64_t pos;

	assert_int_equal(cbt_index_new(f->hasher, f->zstd, n, &idx), 0);
	pos = 0;
	assert_int_equal(cbt_index_next(idx, &pos, &id), 0);
	assert_true(pos == n);
	for (size_t i = 0; i < ELEMENTSOF(at); i++) {
		id = id_for(at[i], 3);
		assert_int_equal(cbt_index_set(idx, at[i], &id), 0);
	}
	for (int pass = 0; pass < 2; pass++) {
		struct cbt_index *x = pass ? back : idx;

		pos = 0;
		for (size_t i = 0; i < ELEMENTSOF(at); i++, pos++) {
			struct cbt_chunk_id want = id_for(at[i], 3);

			assert_int_equal(cbt_index_next(x, &pos, &id), 1);
			assert_true(pos == at[i]);
			assert_true(cbt_chunk_id_equal(&id, &want));
		}
		assert_int_equal(cbt_index_next(x, &pos, &id), 0);
		assert_true(pos == n);
		/* From inside a gap. */
		pos = 6000000;
		assert_int_equal(cbt_index_next(x, &pos, &id), 1);
		assert_true(pos == n - 1025);
		if (!pass) {
			assert_int_equal(cbt_index_write(idx, f->store, &root, NULL), 0);
			assert_int_equal(
				cbt_index_open(f->store, f->hasher, f->zstd, &root, n, &back), 0);
		}
	}
	/* A zero root of the largest size: nothing to visit, at once. */
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &zero_id, n, &huge), 0);
	pos = 0;
	assert_int_equal(cbt_index_next(huge, &pos, &id), 0);
	assert_true(pos == n);
	assert_true(cbt_index_peak_pages(huge) <= 5);
}

/* A full parent of n chunks, every entry set. */
static struct cbt_chunk_id write_full(struct fixture *f, uint64_t n)
{
	_cleanup_(cbt_index_freep) struct cbt_index *idx = NULL;
	struct cbt_chunk_id root;

	assert_int_equal(cbt_index_new(f->hasher, f->zstd, n, &idx), 0);
	for (uint64_t c = 0; c < n; c++) {
		struct cbt_chunk_id id = id_for(c, 1);

		assert_int_equal(cbt_index_set(idx, c, &id), 0);
	}
	assert_int_equal(cbt_index_write(idx, f->store, &root, NULL), 0);
	assert_int_equal(cbt_store_flush(f->store), 0); /* on disk, for the corruption tests */
	return root;
}

static void incremental_writes_touched_pages(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_index_freep) struct cbt_index *child = NULL, *parent = NULL, *back = NULL;
	static const uint64_t changed[] = { 3 * 1024 + 7, 50 * 1024, 97 * 1024 + 671 };
	const uint64_t n = 100000; /* 98 leaves under one root */
	struct cbt_chunk_id proot, croot;
	struct cbt_index_stats st;
	int before;

	proot = write_full(f, n);
	before = stored_pages(f);
	assert_int_equal(before, 99);

	f->counter.puts = f->counter.gets = 0;
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &proot, n, &child), 0);
	for (size_t i = 0; i < ELEMENTSOF(changed); i++) {
		struct cbt_chunk_id id = id_for(changed[i], 2);

		assert_int_equal(cbt_index_set(child, changed[i], &id), 0);
	}
	assert_int_equal(cbt_index_write(child, f->store, &croot, &st), 0);
	/* Exactly the 3 leaves and the root; only those were read, too. */
	assert_int_equal(f->counter.puts, 4);
	assert_int_equal(st.pages_written, 4);
	assert_int_equal(f->counter.gets, 4);
	assert_int_equal(stored_pages(f), before + 4);
	print_message("incremental, 100000 chunks, 3 changed: %d puts, %llu bytes\n",
		      f->counter.puts, (unsigned long long)st.bytes_written);

	/* Parent unchanged and readable; the child has the changes. */
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &proot, n, &parent), 0);
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &croot, n, &back), 0);
	for (uint64_t c = 0; c < n; c++) {
		struct cbt_chunk_id old = id_for(c, 1), now = old;

		for (size_t i = 0; i < ELEMENTSOF(changed); i++)
			if (changed[i] == c)
				now = id_for(c, 2);
		assert_entry(parent, c, &old);
		assert_entry(back, c, &now);
	}
}

static void incremental_three_levels(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_index_freep) struct cbt_index *idx = NULL, *child = NULL, *back = NULL;
	const uint64_t n = 3 << 20; /* 3072 leaves, 3 level-1 pages, a level-2 root */
	static const uint64_t changed[] = { 10, (1 << 20) + 5000, (2 << 20) + 777777 };
	struct cbt_chunk_id root, croot, id;
	struct cbt_index_stats st;

	/* A parent with one chunk in each of 48 leaves, spread over the volume. */
	assert_int_equal(cbt_index_new(f->hasher, f->zstd, n, &idx), 0);
	for (uint64_t c = 0; c < n; c += 65536 + 1) {
		id = id_for(c, 1);
		assert_int_equal(cbt_index_set(idx, c, &id), 0);
	}
	assert_int_equal(cbt_index_write(idx, f->store, &root, &st), 0);
	assert_int_equal(st.pages_written, 48 + 3 + 1);

	f->counter.puts = 0;
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &root, n, &child), 0);
	for (size_t i = 0; i < ELEMENTSOF(changed); i++) {
		id = id_for(changed[i], 2);
		assert_int_equal(cbt_index_set(child, changed[i], &id), 0);
	}
	assert_int_equal(cbt_index_write(child, f->store, &croot, &st), 0);
	/* 3 leaves, their 3 level-1 parents, the root. */
	assert_int_equal(f->counter.puts, 7);
	assert_int_equal(st.pages_written, 7);
	print_message("incremental, 3M chunks (3 levels), 3 changed: %d puts, %llu bytes\n",
		      f->counter.puts, (unsigned long long)st.bytes_written);

	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &croot, n, &back), 0);
	for (size_t i = 0; i < ELEMENTSOF(changed); i++) {
		id = id_for(changed[i], 2);
		assert_entry(back, changed[i], &id);
	}
	id = id_for(65537, 1);
	assert_entry(back, 65537, &id);
	assert_entry(back, 65538, &zero_id);
}

static void grow(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_index_freep) struct cbt_index *idx = NULL, *g = NULL, *back = NULL,
						    *old = NULL;
	struct cbt_chunk_id root, root2, root3, id;
	struct cbt_index_stats st;

	/* 1000 chunks: a single leaf is the root. */
	assert_int_equal(cbt_index_new(f->hasher, f->zstd, 1000, &idx), 0);
	for (uint64_t c = 0; c < 1000; c++) {
		id = id_for(c, 1);
		assert_int_equal(cbt_index_set(idx, c, &id), 0);
	}
	assert_int_equal(cbt_index_write(idx, f->store, &root, &st), 0);
	assert_int_equal(st.pages_written, 1);

	/* Grow to 5000 (two levels), set one new chunk. */
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &root, 1000, &g), 0);
	assert_int_equal(cbt_index_resize(g, 999), -EOPNOTSUPP);
	assert_int_equal(cbt_index_resize(g, CBT_INDEX_CHUNKS_MAX + 1), -EFBIG);
	assert_int_equal(cbt_index_resize(g, 5000), 0);
	assert_int_equal(cbt_index_nr_chunks(g), 5000);
	assert_entry(g, 1000, &zero_id);
	id = id_for(4500, 3);
	assert_int_equal(cbt_index_set(g, 4500, &id), 0);
	assert_int_equal(cbt_index_write(g, f->store, &root2, &st), 0);
	/* old leaf 0 with a new count (1000 -> 1024 entries), leaf 4, the new root */
	assert_int_equal(st.pages_written, 3);
	/* Then to 3M chunks (three levels), nothing set. */
	assert_int_equal(cbt_index_resize(g, 3 << 20), 0);
	assert_int_equal(cbt_index_write(g, f->store, &root3, &st), 0);

	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &root2, 5000, &back), 0);
	for (uint64_t c = 0; c < 5000; c++) {
		id = c < 1000 ? id_for(c, 1) : c == 4500 ? id_for(4500, 3) : zero_id;
		assert_entry(back, c, &id);
	}
	back = cbt_index_free(back);
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &root3, 3 << 20, &back), 0);
	id = id_for(999, 1);
	assert_entry(back, 999, &id);
	id = id_for(4500, 3);
	assert_entry(back, 4500, &id);
	assert_entry(back, (3 << 20) - 1, &zero_id);
	/* The original is still there. */
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &root, 1000, &old), 0);
	id = id_for(999, 1);
	assert_entry(old, 999, &id);
	/* Growing an empty index. */
	idx = cbt_index_free(idx);
	assert_int_equal(cbt_index_new(f->hasher, f->zstd, 0, &idx), 0);
	assert_int_equal(cbt_index_resize(idx, 2000000), 0);
	id = id_for(1999999, 1);
	assert_int_equal(cbt_index_set(idx, 1999999, &id), 0);
	assert_int_equal(cbt_index_write(idx, f->store, &root, &st), 0);
	assert_int_equal(st.pages_written, 3);
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_refs(enum cbt_index_ref kind, const struct cbt_chunk_id *id, void *userdata)
{
	int *n = userdata;

	(void)id;
	n[kind]++;
	return 0;
}

static void one_tebibyte(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_index_freep) struct cbt_index *idx = NULL, *back = NULL;
	const uint64_t n = UINT64_C(1) << 24; /* 1 TiB at 64 KiB */
	const int nr_set = 300;
	struct cbt_chunk_id root, id;
	struct cbt_index_stats st;
	struct rusage ru;
	int refs[2] = { 0, 0 };
	double t0 = now_seconds(), t1;

	/* A full backup of a mostly-zero volume, from the zero root. */
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &zero_id, n, &idx), 0);
	assert_int_equal(cbt_index_set_cache_limit(idx, 1 << 20), 0); /* 32 pages */
	for (int i = 0; i < nr_set; i++) {
		uint64_t c = (uint64_t)i * 55921 + 17; /* 300 distinct leaves */

		id = id_for(c, 4);
		assert_int_equal(cbt_index_set(idx, c, &id), 0);
	}
	assert_int_equal(cbt_index_write(idx, f->store, &root, &st), 0);
	t1 = now_seconds();
	/* 300 leaves, 16 level-1 pages, the root; dirty leaves went out early. */
	assert_int_equal(st.pages_written, nr_set + 16 + 1);
	/* at most the cache (32) plus the pinned dirty inner pages (16 + 1) */
	assert_true(cbt_index_peak_pages(idx) <= 32 + 17);

	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &root, n, &back), 0);
	for (int i = 0; i < nr_set; i++) {
		uint64_t c = (uint64_t)i * 55921 + 17;

		id = id_for(c, 4);
		assert_entry(back, c, &id);
		assert_entry(back, c + 1, &zero_id);
	}
	assert_entry(back, n - 1, &zero_id);
	assert_true(cbt_index_peak_pages(back) <= CBT_INDEX_CACHE_DEFAULT / (32 << 10) + 1);
	assert_int_equal(cbt_index_foreach_page(f->store, f->hasher, f->zstd, &root, n, count_refs,
						refs, NULL),
			 0);
	assert_int_equal(refs[CBT_INDEX_REF_PAGE], nr_set + 16 + 1);
	assert_int_equal(refs[CBT_INDEX_REF_CHUNK], nr_set);
	getrusage(RUSAGE_SELF, &ru);
	print_message("1 TiB (16M chunks), %d set: build+write %.2f s, total %.2f s, %llu bytes "
		      "of index, peak %zu pages cached, max RSS %ld KiB\n",
		      nr_set, t1 - t0, now_seconds() - t0, (unsigned long long)st.bytes_written,
		      cbt_index_peak_pages(idx), ru.ru_maxrss);
}

/* A full backup streaming 300K chunks into a 1 TiB index through a 1 MiB cache. */
static void bounded_full_backup(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_index_freep) struct cbt_index *idx = NULL, *back = NULL;
	const uint64_t n = UINT64_C(1) << 24, filled = 300000; /* 293 leaves */
	struct cbt_chunk_id root, id;
	struct cbt_index_stats st;
	double t0 = now_seconds();

	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &zero_id, n, &idx), 0);
	assert_int_equal(cbt_index_set_cache_limit(idx, 1 << 20), 0);
	for (uint64_t c = 0; c < filled; c++) {
		id = id_for(c, 5);
		assert_int_equal(cbt_index_set(idx, c, &id), 0);
	}
	/* Leaves were written back as the cache filled: memory stays bounded. */
	assert_true(f->counter.puts >= 250);
	assert_true(cbt_index_peak_pages(idx) <= 32 + 17);
	assert_int_equal(cbt_index_write(idx, f->store, &root, &st), 0);
	assert_int_equal(f->counter.puts, 293 + 1 + 1); /* leaves, level-1 page 0, root */
	print_message("300000 chunks of a 1 TiB index through a 1 MiB cache: %.2f s, %d puts, "
		      "peak %zu pages\n",
		      now_seconds() - t0, f->counter.puts, cbt_index_peak_pages(idx));

	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &root, n, &back), 0);
	for (uint64_t c = 0; c < filled + 100; c += 997) {
		id = c < filled ? id_for(c, 5) : zero_id;
		assert_entry(back, c, &id);
	}
}

static void page_path(struct fixture *f, const struct cbt_chunk_id *id, char *buf, size_t len)
{
	char key[CBT_OBJECT_KEY_SIZE];

	snprintf(buf, len, "%s/%s", f->dir, cbt_object_key(CBT_OBJECT_INDEX, id, key));
}

static int first_leaf(enum cbt_index_ref kind, const struct cbt_chunk_id *id, void *userdata)
{
	static int pages;
	struct cbt_chunk_id *ret = userdata;

	if (kind != CBT_INDEX_REF_PAGE)
		return 0;
	if (cbt_index_id_is_zero(ret)) { /* the root, first */
		pages = 0;
		*ret = *id;
		return 0;
	}
	*ret = *id; /* the first child of the root: leaf 0 */
	return ++pages;
}

static void load_errors(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_index_freep) struct cbt_index *idx = NULL;
	const struct cbt_index_error *e;
	struct cbt_index_error err;
	struct cbt_chunk_id root, leaf = zero_id, id;
	char path[256], hex[CBT_CHUNK_ID_HEX_SIZE];
	uint8_t byte;
	int fd;
	const uint64_t n = 5000;

	root = write_full(f, n);
	assert_int_equal(cbt_index_foreach_page(f->store, f->hasher, f->zstd, &root, n, first_leaf,
						&leaf, NULL),
			 1);
	cbt_chunk_id_to_hex(&leaf, hex);

	/* Opened with another size: the root does not fit. */
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &root, 6000, &idx), 0);
	assert_int_equal(cbt_index_get(idx, 0, &id), -EBADMSG);
	e = cbt_index_last_error(idx);
	assert_int_equal(e->error, -EBADMSG);
	assert_non_null(strstr(e->message, "does not fit its position"));
	idx = cbt_index_free(idx);
	/* A leaf named as the root of a two-level index: wrong level. */
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &leaf, n, &idx), 0);
	assert_int_equal(cbt_index_get(idx, 0, &id), -EBADMSG);
	assert_non_null(strstr(cbt_index_last_error(idx)->message, "level 0, 1024 entries"));
	idx = cbt_index_free(idx);

	/* A corrupt leaf: the codec's error, naming the page. */
	page_path(f, &leaf, path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &byte, 1, 100), 1);
	byte ^= 0x40;
	assert_int_equal(pwrite(fd, &byte, 1, 100), 1);
	close(fd);
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &root, n, &idx), 0);
	assert_int_equal(cbt_index_get(idx, 2000, &id), 0); /* leaf 1 is fine */
	assert_int_equal(cbt_index_get(idx, 5, &id), -EBADMSG);
	e = cbt_index_last_error(idx);
	assert_true(cbt_chunk_id_equal(&e->page, &leaf));
	assert_int_equal(e->level, 0);
	assert_int_equal(e->index, 0);
	assert_non_null(strstr(e->message, hex));
	assert_non_null(strstr(e->message, "payload checksum"));
	print_message("%s\n", e->message);
	assert_int_equal(cbt_index_set(idx, 5, &root), -EBADMSG);
	assert_int_equal(cbt_index_foreach_page(f->store, f->hasher, f->zstd, &root, n, count_refs,
						(int[2]){ 0, 0 }, &err),
			 -EBADMSG);
	assert_non_null(strstr(err.message, hex));
	idx = cbt_index_free(idx);

	/* A missing leaf: -ENOENT, naming it. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &root, n, &idx), 0);
	assert_int_equal(cbt_index_get(idx, 5, &id), -ENOENT);
	e = cbt_index_last_error(idx);
	assert_int_equal(e->error, -ENOENT);
	assert_non_null(strstr(e->message, hex));
	assert_non_null(strstr(e->message, "missing"));
	print_message("%s\n", e->message);
	assert_int_equal(cbt_index_foreach_page(f->store, f->hasher, f->zstd, &root, n, count_refs,
						(int[2]){ 0, 0 }, &err),
			 -ENOENT);
	assert_non_null(strstr(err.message, hex));
	/* A missing root. */
	idx = cbt_index_free(idx);
	id = id_for(1, 99);
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &id, n, &idx), 0);
	assert_int_equal(cbt_index_get(idx, 4999, &id), -ENOENT);
}

/* Collects every reference of the walk. */
struct refs {
	struct cbt_chunk_id pages[64], chunks[8192];
	int nr_pages, nr_chunks;
};

static int collect(enum cbt_index_ref kind, const struct cbt_chunk_id *id, void *userdata)
{
	struct refs *r = userdata;

	if (kind == CBT_INDEX_REF_PAGE) {
		assert_true(r->nr_pages < (int)ELEMENTSOF(r->pages));
		r->pages[r->nr_pages++] = *id;
	} else {
		assert_true(r->nr_chunks < (int)ELEMENTSOF(r->chunks));
		r->chunks[r->nr_chunks++] = *id;
	}
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	return cbt_chunk_id_compare(a, b);
}

static int collect_key(const char *key, void *userdata)
{
	struct refs *r = userdata;

	assert_int_equal(cbt_object_key_parse(CBT_OBJECT_INDEX, key, &r->pages[r->nr_pages++]), 0);
	return 0;
}

static void foreach_enumerates_references(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_index_freep) struct cbt_index *idx = NULL;
	_cleanup_(freep) struct refs *got = calloc(1, sizeof(*got)),
				     *want = calloc(1, sizeof(*want));
	const uint64_t n = 5000;
	struct cbt_chunk_id root;

	assert_true(got && want);
	assert_int_equal(cbt_index_new(f->hasher, f->zstd, n, &idx), 0);
	for (uint64_t c = 0; c < n; c++) {
		/* chunks 0..9 all hold the same data: referenced 10 times */
		struct cbt_chunk_id id = rt_zero(c) ? zero_id : id_for(c < 10 ? 0 : c, 1);

		assert_int_equal(cbt_index_set(idx, c, &id), 0);
		if (!rt_zero(c))
			want->chunks[want->nr_chunks++] = id;
	}
	assert_int_equal(cbt_index_write(idx, f->store, &root, NULL), 0);
	assert_int_equal(cbt_store_list(f->posix, CBT_INDEX_KEY_PREFIX, collect_key, want), 0);

	assert_int_equal(
		cbt_index_foreach_page(f->store, f->hasher, f->zstd, &root, n, collect, got, NULL),
		0);
	assert_true(cbt_chunk_id_equal(&got->pages[0], &root)); /* pre-order */
	assert_int_equal(got->nr_pages, want->nr_pages);
	assert_int_equal(got->nr_pages, 5);
	assert_int_equal(got->nr_chunks, want->nr_chunks);
	/* Chunks come in chunk order; pages compared as sets. */
	assert_memory_equal(got->chunks, want->chunks, sizeof(got->chunks[0]) * got->nr_chunks);
	qsort(got->pages, got->nr_pages, sizeof(got->pages[0]), cmp_id);
	qsort(want->pages, want->nr_pages, sizeof(want->pages[0]), cmp_id);
	assert_memory_equal(got->pages, want->pages, sizeof(got->pages[0]) * got->nr_pages);

	/* A positive return stops the walk and is returned; a zero root has nothing. */
	assert_int_equal(cbt_index_foreach_page(f->store, f->hasher, f->zstd, &zero_id, n, collect,
						got, NULL),
			 0);
}

static void keyed_ids_differ(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_index_freep) struct cbt_index *a = NULL, *b = NULL, *back = NULL;
	struct cbt_chunk_id ra, rb, id = id_for(42, 1);

	assert_int_equal(cbt_index_new(f->hasher, f->zstd, 3000, &a), 0);
	assert_int_equal(cbt_index_new(f->keyed, f->zstd, 3000, &b), 0);
	assert_int_equal(cbt_index_set(a, 42, &id), 0);
	assert_int_equal(cbt_index_set(b, 42, &id), 0);
	assert_int_equal(cbt_index_write(a, f->store, &ra, NULL), 0);
	assert_int_equal(cbt_index_write(b, f->store, &rb, NULL), 0);
	assert_false(cbt_chunk_id_equal(&ra, &rb));
	assert_int_equal(stored_pages(f), 4); /* a leaf and a root each */

	assert_int_equal(cbt_index_open(f->store, f->keyed, f->zstd, &rb, 3000, &back), 0);
	assert_entry(back, 42, &id);
	back = cbt_index_free(back);
	/* The keyed index read without the key. */
	assert_int_equal(cbt_index_open(f->store, f->hasher, f->zstd, &rb, 3000, &back), 0);
	assert_int_equal(cbt_index_get(back, 42, &id), -ENOKEY);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(page_format),
		T(next_skips_zero),
		T(round_trip),
		T(empty_and_sparse),
		T(incremental_writes_touched_pages),
		T(incremental_three_levels),
		T(grow),
		T(one_tebibyte),
		T(bounded_full_backup),
		T(load_errors),
		T(foreach_enumerates_references),
		T(keyed_ids_differ),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
