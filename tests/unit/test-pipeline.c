/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The parallel data path: the worker pool (every item processed once, the
 * first error stops it, cancel), dirty ranges to chunks, and a backup and
 * restore round trip through the pipelines on a POSIX store, including an
 * incremental that reads only the marked chunks and keeps the parent's
 * other entries. Requires: nothing but the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cbtship/source/dirty-chunks.h"
#include "cbtship/pipeline/backup-pipeline.h"
#include "cbtship/pipeline/restore-pipeline.h"
#include "cbtship/pipeline/worker-pool.h"
#include "cbtship/repo/chunk-object.h"
#include "cbtship/repo/object-key.h"
#include "cbtship/store/posix/posix.h"
#include "tmpdir.h"

/* ------------------------------------------------------------ worker pool */

struct counting {
	unsigned long seen[1000];
	int fail_at; /* item value that fails, -1: none */
};

static int count_item(void *state, const void *item, void *shared)
{
	struct counting *c = shared;
	int v = *(const int *)item;

	(void)state;
	if (v == c->fail_at)
		return -EIO;
	__atomic_add_fetch(&c->seen[v], 1, __ATOMIC_RELAXED);
	return 0;
}

static void pool_processes_every_item_once(void **state)
{
	struct cbt_worker_pool *p = NULL;
	struct counting c = { .fail_at = -1 };

	(void)state;
	assert_int_equal(cbt_worker_pool_new(4, sizeof(int), 3, count_item, NULL, &c, &p), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(cbt_worker_pool_submit(p, &i), 0);
	assert_int_equal(cbt_worker_pool_finish(p), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(c.seen[i], 1);
	cbt_worker_pool_free(p);
}

static void pool_first_error_stops(void **state)
{
	struct cbt_worker_pool *p = NULL;
	struct counting c = { .fail_at = 10 };
	int r = 0, i;

	(void)state;
	assert_int_equal(cbt_worker_pool_new(2, sizeof(int), 0, count_item, NULL, &c, &p), 0);
	for (i = 0; i < 1000 && r == 0; i++)
		r = cbt_worker_pool_submit(p, &i);
	/* Submits fail soon after the error, and finish reports it. */
	assert_true(i < 1000);
	assert_int_equal(r, -EIO);
	assert_int_equal(cbt_worker_pool_finish(p), -EIO);
	cbt_worker_pool_free(p);

	assert_int_equal(cbt_worker_pool_new(1, sizeof(int), 0, count_item, NULL, &c, &p), 0);
	cbt_worker_pool_cancel(p, -ECANCELED);
	i = 1;
	assert_int_equal(cbt_worker_pool_submit(p, &i), -ECANCELED);
	assert_int_equal(cbt_worker_pool_finish(p), -ECANCELED);
	cbt_worker_pool_free(p);
	assert_int_equal(cbt_worker_pool_new(0, sizeof(int), 0, count_item, NULL, &c, &p), -EINVAL);
}

/* ------------------------------------------------------------ dirty chunks */

static void dirty_bytes_to_chunks(void **state)
{
	uint8_t *bits = cbt_chunk_bits_new(10);
	const uint32_t cs = 65536;

	(void)state;
	assert_non_null(bits);
	cbt_chunk_bits_add_bytes(bits, 10, cs, 0, 1);		  /* chunk 0 */
	cbt_chunk_bits_add_bytes(bits, 10, cs, 2 * cs - 1, 2);	  /* chunks 1, 2 */
	cbt_chunk_bits_add_bytes(bits, 10, cs, 5 * cs, cs);	  /* chunk 5 only */
	cbt_chunk_bits_add_bytes(bits, 10, cs, 9 * cs, 100 * cs); /* clamped: 9 */
	cbt_chunk_bits_add_bytes(bits, 10, cs, 7 * cs, 0);	  /* nothing */
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(cbt_chunk_bit_test(bits, i), i <= 2 || i == 5 || i == 9);
	free(bits);
}

static void dirty_map_blocks_to_chunks(void **state)
{
	struct cbt_map *map = NULL;
	uint8_t *bits = cbt_chunk_bits_new(4);

	(void)state;
	/* 4 KiB blocks into 64 KiB chunks: blocks 15 and 16 straddle chunks 0 and 1. */
	assert_int_equal(cbt_map_new(64, &map), 0);
	assert_int_equal(cbt_map_set_range(map, 15, 2), 0);
	assert_int_equal(cbt_map_set(map, 63), 0);
	cbt_chunk_bits_add_map(bits, 4, 65536, map, 4096);
	assert_int_equal(bits[0], 0x1 | 0x2 | 0x8);
	cbt_map_free(map);
	free(bits);
}

static void dirty_map_file(void **state)
{
	char dir[256], path[300];
	uint8_t *bits = cbt_chunk_bits_new(8);
	char *err = NULL;
	FILE *f;

	(void)state;
	tmpdir_make(dir, sizeof(dir), "pipeline");
	snprintf(path, sizeof(path), "%s/map", dir);
	f = fopen(path, "w");
	fprintf(f, "# changed\n65536 1\n\n  327680 65536 # chunk 5\n");
	fclose(f);
	assert_int_equal(cbt_chunk_bits_add_file(bits, 8, 65536, path, &err), 0);
	assert_int_equal(bits[0], 0x2 | 0x20);

	f = fopen(path, "w");
	fprintf(f, "0 1\n12 x\n");
	fclose(f);
	assert_int_equal(cbt_chunk_bits_add_file(bits, 8, 65536, path, &err), -EINVAL);
	assert_non_null(err);
	assert_non_null(strstr(err, "line 2"));
	free(err);
	err = NULL;
	f = fopen(path, "w");
	fprintf(f, "-5 10\n");
	fclose(f);
	assert_int_equal(cbt_chunk_bits_add_file(bits, 8, 65536, path, &err), -EINVAL);
	free(err);
	err = NULL;
	assert_int_equal(cbt_chunk_bits_add_file(bits, 8, 65536, "/nonexistent/map", &err),
			 -ENOENT);
	free(err);
	err = NULL;
	/* Past 2^64 - 1: refused, not read as the largest number (sscanf did). */
	f = fopen(path, "w");
	fprintf(f, "0 1\n99999999999999999999 1\n");
	fclose(f);
	assert_int_equal(cbt_chunk_bits_add_file(bits, 8, 65536, path, &err), -ERANGE);
	assert_non_null(strstr(err, "line 2: number out of range"));
	free(err);
	err = NULL;
	/* A NUL inside a line: refused, not the line cut there (sscanf did). */
	f = fopen(path, "w");
	fwrite("0 1\0 junk\n", 1, 11, f);
	fclose(f);
	assert_int_equal(cbt_chunk_bits_add_file(bits, 8, 65536, path, &err), -EINVAL);
	assert_non_null(strstr(err, "line 1"));
	free(err);
	free(bits);
	tmpdir_remove(dir);
}

/* One line of a dirty-map file (what tests/fuzz/fuzz-dirty-map.c drives). */
static void dirty_map_line(void **state)
{
	uint64_t off = 7, len = 7;

	(void)state;
	assert_int_equal(
		cbt_dirty_map_parse_line("65536 4096\n", strlen("65536 4096\n"), &off, &len), 1);
	assert_true(off == 65536 && len == 4096);
	assert_int_equal(cbt_dirty_map_parse_line(" \t1\t2 # two\r\n", strlen(" \t1\t2 # two\r\n"),
						  &off, &len),
			 1);
	assert_true(off == 1 && len == 2);
	assert_int_equal(cbt_dirty_map_parse_line("18446744073709551615 0",
						  strlen("18446744073709551615 0"), &off, &len),
			 1);
	assert_true(off == UINT64_MAX && len == 0);
	assert_int_equal(cbt_dirty_map_parse_line("", strlen(""), &off, &len), 0);
	assert_int_equal(cbt_dirty_map_parse_line("  # note\n", strlen("  # note\n"), &off, &len),
			 0);
	assert_int_equal(cbt_dirty_map_parse_line("18446744073709551616 0",
						  strlen("18446744073709551616 0"), &off, &len),
			 -ERANGE);
	assert_int_equal(cbt_dirty_map_parse_line("1 99999999999999999999",
						  strlen("1 99999999999999999999"), &off, &len),
			 -ERANGE);
	assert_int_equal(cbt_dirty_map_parse_line("1\n", strlen("1\n"), &off, &len), -EINVAL);
	assert_int_equal(cbt_dirty_map_parse_line("1 2 3", strlen("1 2 3"), &off, &len), -EINVAL);
	assert_int_equal(cbt_dirty_map_parse_line("-1 2", strlen("-1 2"), &off, &len), -EINVAL);
	assert_int_equal(cbt_dirty_map_parse_line("1 -2", strlen("1 -2"), &off, &len), -EINVAL);
	assert_int_equal(cbt_dirty_map_parse_line("+1 2", strlen("+1 2"), &off, &len), -EINVAL);
	assert_int_equal(cbt_dirty_map_parse_line("0x10 2", strlen("0x10 2"), &off, &len), -EINVAL);
	assert_int_equal(cbt_dirty_map_parse_line("1#2 3", strlen("1#2 3"), &off, &len), -EINVAL);
	assert_int_equal(cbt_dirty_map_parse_line("1 2\0 3", 7, &off, &len), -EINVAL);
}

/* ------------------------------------------------------------ round trip */

#define CS    65536u
#define NR    40u
#define VSIZE ((uint64_t)NR * CS - 1000) /* a short last chunk */

static void fill(uint8_t *buf, uint64_t len, unsigned seed)
{
	uint64_t x = 88172645463325252ull ^ seed;

	for (uint64_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
}

static int backup(struct cbt_store *store, int fd, struct cbt_index *idx, const uint8_t *bits,
		  struct cbt_backup_progress *p)
{
	char err[256];
	struct cbt_backup_pipeline_config cfg = {
		.fd = fd,
		.source = "test",
		.size = VSIZE,
		.chunk_size = CS,
		.chunk_bits = bits,
		.store = store,
		.compression = CBT_COMPRESS_ZSTD,
		.index = idx,
		.workers = 3,
	};
	int r = cbt_backup_pipeline_run(&cfg, p, err, sizeof(err));

	if (r < 0)
		print_message("backup: %s\n", err);
	return r;
}

/* The kind of the last restore()'s error (CBT_ERROR_NONE when it succeeded). */
static enum cbt_error_kind last_kind;

static int restore(struct cbt_store *store, int fd, struct cbt_index *idx, bool sparse,
		   struct cbt_restore_progress *p, char *err, size_t errlen)
{
	_cleanup_(cbt_error_clear) struct cbt_error e = CBT_ERROR_INIT;
	int r;
	struct cbt_restore_pipeline_config cfg = {
		.fd = fd,
		.destination = "out",
		.sparse = sparse,
		.size = VSIZE,
		.chunk_size = CS,
		.store = store,
		.index = idx,
		.backup_id = "b",
		.workers = 2,
	};

	r = cbt_restore_pipeline_run(&cfg, p, &e);
	snprintf(err, errlen, "%s", cbt_error_message(&e));
	last_kind = e.kind;
	return r;
}

/* A store whose reads time out as Swift's do, with the detail Swift records. */
static int slow_get(void *data, const char *key, size_t max_len, void **ret_buf, size_t *ret_len)
{
	(void)data, (void)max_len, (void)ret_buf, (void)ret_len;
	cbt_store_set_detail(-ETIMEDOUT,
			     "GET http://swift.test/v1/AUTH_t/c/%s: timed out after 30 s", key);
	return -ETIMEDOUT;
}

static int slow_put(void *data, const char *key, const void *buf, size_t len)
{
	(void)data, (void)key, (void)buf, (void)len;
	return -EROFS;
}

static int slow_exists(void *data, const char *key)
{
	(void)data, (void)key;
	return -ETIMEDOUT;
}

static int slow_delete(void *data, const char *key)
{
	(void)data, (void)key;
	return -EROFS;
}

static int slow_list(void *data, const char *prefix, cbt_store_list_fn fn, void *userdata)
{
	(void)data, (void)prefix, (void)fn, (void)userdata;
	return -ETIMEDOUT;
}

static const struct cbt_store_ops slow_ops = {
	.version = CBT_STORE_OPS_VERSION,
	.name = "slow",
	.put = slow_put,
	.get = slow_get,
	.exists = slow_exists,
	.delete = slow_delete,
	.list = slow_list,
};

static void round_trip(void **state)
{
	char dir[256], src[300], dst[300], storedir[300], err[256];
	struct cbt_store *store = NULL;
	struct cbt_hasher *h = NULL;
	struct cbt_compressor *c = NULL;
	struct cbt_index *idx = NULL, *idx2 = NULL;
	struct cbt_chunk_id zero = { { 0 } }, root1, root2;
	struct cbt_backup_progress bp;
	struct cbt_restore_progress rp;
	uint8_t *data = malloc(VSIZE), *back = malloc(VSIZE), *bits;
	int fd, out;

	(void)state;
	tmpdir_make(dir, sizeof(dir), "pipeline");
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(dst, sizeof(dst), "%s/dst", dir);
	snprintf(storedir, sizeof(storedir), "%s/store", dir);
	assert_int_equal(mkdir(storedir, 0700), 0);
	assert_int_equal(cbt_posix_store_open(storedir, &store), 0);
	assert_int_equal(cbt_hasher_new(NULL, 0, &h), 0);
	assert_int_equal(cbt_compressor_new(CBT_COMPRESS_ZSTD, 0, &c), 0);

	/* Chunks 0-9 data, 10-19 zero, 20-29 one repeated chunk, 30-39 data. */
	fill(data, VSIZE, 1);
	memset(data + 10 * CS, 0, 10 * CS);
	for (unsigned i = 21; i < 30; i++)
		memcpy(data + (uint64_t)i * CS, data + 20ull * CS, CS);
	fd = open(src, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, VSIZE, 0), (ssize_t)VSIZE);

	assert_int_equal(cbt_index_open(store, h, c, &zero, NR, &idx), 0);
	assert_int_equal(backup(store, fd, idx, NULL, &bp), 0);
	assert_int_equal(bp.chunks_done, NR);
	assert_int_equal(bp.bytes_read, VSIZE);
	assert_int_equal(bp.chunks_zero, 10);
	/* 20 distinct data chunks + 1 for the repeated one (maybe put twice in a race). */
	assert_true(bp.chunks_new + bp.chunks_present == 30 - 10 + 10);
	assert_true(bp.chunks_new >= 21 && bp.chunks_new <= 30);
	assert_int_equal(cbt_index_write(idx, store, &root1, NULL), 0);

	/* Restore into a new sparse file: equal, each stored chunk fetched once. */
	out = open(dst, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(ftruncate(out, (off_t)VSIZE), 0);
	assert_int_equal(restore(store, out, idx, true, &rp, err, sizeof(err)), 0);
	assert_int_equal(rp.objects_read, 21);
	assert_int_equal(rp.chunks_zero, 10);
	assert_int_equal(pread(out, back, VSIZE, 0), (ssize_t)VSIZE);
	assert_memory_equal(back, data, VSIZE);

	/* Incremental: change chunk 3 and zero chunk 35; mark 3, 35 and (unchanged) 7. */
	memset(data + 3ull * CS + 100, 0xab, 50);
	memset(data + 35ull * CS, 0, CS);
	assert_int_equal(pwrite(fd, data, VSIZE, 0), (ssize_t)VSIZE);
	bits = cbt_chunk_bits_new(NR);
	cbt_chunk_bit_set(bits, 3);
	cbt_chunk_bit_set(bits, 35);
	cbt_chunk_bit_set(bits, 7);
	assert_int_equal(cbt_index_open(store, h, c, &root1, NR, &idx2), 0);
	assert_int_equal(backup(store, fd, idx2, bits, &bp), 0);
	assert_int_equal(bp.chunks_done, 3);
	assert_int_equal(bp.bytes_read, 3 * CS);
	assert_int_equal(bp.chunks_unchanged, 1);
	assert_int_equal(bp.chunks_new, 1);
	assert_int_equal(bp.chunks_zero, 1);
	assert_int_equal(cbt_index_write(idx2, store, &root2, NULL), 0);

	/* Restore over the existing file (zeros written): equals the new data. */
	memset(back, 0x55, VSIZE);
	assert_int_equal(pwrite(out, back, VSIZE, 0), (ssize_t)VSIZE);
	assert_int_equal(restore(store, out, idx2, false, &rp, err, sizeof(err)), 0);
	assert_int_equal(pread(out, back, VSIZE, 0), (ssize_t)VSIZE);
	assert_memory_equal(back, data, VSIZE);

	/*
	 * A store that times out stops a restore with a transport fault (the
	 * backup is not damaged), and its own detail reaches the message.
	 */
	{
		struct cbt_store *slow = NULL;

		assert_int_equal(cbt_store_new(&slow_ops, NULL, &slow), 0);
		assert_int_equal(restore(slow, out, idx2, false, &rp, err, sizeof(err)),
				 -ETIMEDOUT);
		assert_int_equal(last_kind, CBT_ERROR_STORE);
		assert_non_null(strstr(err, "backup b: chunk "));
		assert_non_null(strstr(err, "timed out after 30 s"));
		cbt_store_free(slow);
	}

	/* A missing chunk stops a restore, naming it and the backup. */
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf %s/chunks", storedir);
		assert_int_equal(system(cmd), 0);
		assert_int_equal(restore(store, out, idx2, false, &rp, err, sizeof(err)), -ENOENT);
		assert_int_equal(last_kind, CBT_ERROR_INTEGRITY);
		assert_non_null(strstr(err, "backup b: chunk "));
		assert_non_null(strstr(err, "missing"));
	}

	free(bits);
	close(fd);
	close(out);
	cbt_index_free(idx);
	cbt_index_free(idx2);
	cbt_hasher_free(h);
	cbt_compressor_free(c);
	cbt_store_free(store);
	free(data);
	free(back);
	tmpdir_remove(dir);
}

struct bad_seen {
	unsigned calls;
	uint64_t position;
	int error;
};

static void bad_report(void *userdata, const struct cbt_chunk_id *id, uint64_t first,
		       uint64_t positions, int error)
{
	struct bad_seen *b = userdata;

	(void)id;
	(void)positions;
	b->calls++;
	b->position = first;
	b->error = error;
}

/* A POSIX store in a fresh directory, a plain hasher, no compression. */
struct plain_repo {
	char dir[256];
	struct cbt_store *store;
	struct cbt_hasher *h;
	struct cbt_compressor *c;
};

static void plain_repo_open(struct plain_repo *r)
{
	tmpdir_make(r->dir, sizeof(r->dir), "pipeline");
	assert_int_equal(cbt_posix_store_open(r->dir, &r->store), 0);
	assert_int_equal(cbt_hasher_new(NULL, 0, &r->h), 0);
	assert_int_equal(cbt_compressor_new(CBT_COMPRESS_NONE, 0, &r->c), 0);
}

static void plain_repo_close(struct plain_repo *r)
{
	cbt_compressor_free(r->c);
	cbt_hasher_free(r->h);
	cbt_store_free(r->store);
	tmpdir_remove(r->dir);
}

/* Store a sound chunk object of len bytes of seeded data (into raw); its id. */
static struct cbt_chunk_id put_chunk(struct plain_repo *r, uint8_t *raw, size_t len, unsigned seed)
{
	char key[CBT_OBJECT_KEY_SIZE];
	uint8_t obj[2 * 4096];
	struct cbt_chunk_id id;
	size_t obj_len;

	assert_true(cbt_chunk_object_max(len) <= sizeof(obj));
	fill(raw, len, seed);
	assert_int_equal(cbt_hasher_hash(r->h, raw, len, &id), 0);
	assert_int_equal(cbt_chunk_encode(r->c, r->h, &id, raw, len, obj, sizeof(obj), &obj_len),
			 0);
	assert_int_equal(cbt_store_put(r->store, cbt_chunk_key(&id, key), obj, obj_len), 0);
	return id;
}

/* backup-verify's run: no destination, bad chunks reported to *seen. */
static int verify(struct plain_repo *r, struct cbt_index *idx, uint64_t size, uint32_t chunk_size,
		  struct bad_seen *seen, struct cbt_restore_progress *rp)
{
	_cleanup_(cbt_error_clear) struct cbt_error err = CBT_ERROR_INIT;
	struct cbt_restore_pipeline_config cfg = {
		.fd = -1,
		.destination = "(verify)",
		.size = size,
		.chunk_size = chunk_size,
		.store = r->store,
		.index = idx,
		.backup_id = "b",
		.workers = 2,
		.keep_going = true,
		.report = bad_report,
		.userdata = seen,
	};
	int e = cbt_restore_pipeline_run(&cfg, rp, &err);

	if (e < 0)
		print_message("verify: %s\n", cbt_error_message(&err));
	return e;
}

/*
 * Verify checks everything restore checks (issue 14 item 7): a chunk that
 * decodes and hashes right but is shorter than its place in the volume
 * fails a restore, and verify reports it corrupt instead of "ok".
 */
static void verify_checks_chunk_length(void **state)
{
	struct plain_repo r;
	char dst[300], err[256];
	struct cbt_index *idx = NULL;
	struct cbt_restore_progress rp;
	struct bad_seen seen = { 0 };
	struct cbt_chunk_id id;
	uint8_t raw[1000];
	int out;

	(void)state;
	plain_repo_open(&r);
	/* A sound object of 1000 bytes, at full chunk 3 of a 40-chunk volume. */
	id = put_chunk(&r, raw, sizeof(raw), 7);
	assert_int_equal(cbt_index_new(r.h, r.c, NR, &idx), 0);
	assert_int_equal(cbt_index_set(idx, 3, &id), 0);

	snprintf(dst, sizeof(dst), "%s/dst", r.dir);
	out = open(dst, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(out >= 0);
	assert_int_equal(restore(r.store, out, idx, true, &rp, err, sizeof(err)), -ERANGE);
	assert_int_equal(last_kind, CBT_ERROR_INTEGRITY);
	assert_non_null(strstr(err, "volume chunk 3 holds 1000 bytes, expected 65536"));
	close(out);

	assert_int_equal(verify(&r, idx, VSIZE, CS, &seen, &rp), 0);
	assert_int_equal(rp.chunks_corrupt, 1);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.position, 3);
	assert_int_equal(seen.error, -ERANGE);
	assert_int_equal(rp.chunks_zero, NR - 1);
	cbt_index_free(idx);
	plain_repo_close(&r);
}

/*
 * Restoring over an existing destination writes every zero chunk, however
 * long the runs between stored chunks (several items of
 * CBT_RESTORE_POSITIONS_MAX positions each).
 */
static void restore_writes_every_zero_chunk(void **state)
{
	enum { N = 1500, SIZE = 4096 };
	const uint64_t stored[] = { 100, 101, 700, N - 1 };
	struct plain_repo r;
	char dst[300];
	struct cbt_index *idx = NULL;
	struct cbt_restore_progress rp;
	struct cbt_chunk_id id;
	uint8_t raw[SIZE], *back = malloc((size_t)N * SIZE);
	int out;

	(void)state;
	assert_non_null(back);
	plain_repo_open(&r);
	id = put_chunk(&r, raw, sizeof(raw), 9);
	assert_int_equal(cbt_index_new(r.h, r.c, N, &idx), 0);
	for (size_t i = 0; i < ELEMENTSOF(stored); i++)
		assert_int_equal(cbt_index_set(idx, stored[i], &id), 0);

	snprintf(dst, sizeof(dst), "%s/dst", r.dir);
	out = open(dst, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(out >= 0);
	memset(back, 0x55, (size_t)N * SIZE);
	assert_int_equal(pwrite(out, back, (size_t)N * SIZE, 0), (ssize_t)N * SIZE);
	{
		struct cbt_restore_pipeline_config cfg = {
			.fd = out,
			.destination = "out",
			.size = (uint64_t)N * SIZE,
			.chunk_size = SIZE,
			.store = r.store,
			.index = idx,
			.backup_id = "b",
			.workers = 2,
		};

		assert_int_equal(cbt_restore_pipeline_run(&cfg, &rp, NULL), 0);
	}
	assert_int_equal(rp.chunks_zero, N - ELEMENTSOF(stored));
	assert_int_equal(pread(out, back, (size_t)N * SIZE, 0), (ssize_t)N * SIZE);
	for (uint64_t c = 0; c < N; c++) {
		bool is_stored = false;

		for (size_t i = 0; i < ELEMENTSOF(stored); i++)
			is_stored |= stored[i] == c;
		if (is_stored)
			assert_memory_equal(back + c * SIZE, raw, SIZE);
		else if (back[c * SIZE] || memcmp(back + c * SIZE, back + c * SIZE + 1, SIZE - 1))
			fail_msg("zero chunk %llu not written", (unsigned long long)c);
	}
	close(out);
	free(back);
	cbt_index_free(idx);
	plain_repo_close(&r);
}

static void on_alarm(int sig)
{
	(void)sig;
	fail_msg("verify of an all-zero index walked its chunks (still running after 30 s)");
}

/*
 * A huge all-zero backup (zero root, the most chunks an index holds) is
 * verified at once (issue 14 item 8): the walk follows the stored pages,
 * not the volume size. It used to fetch 2^50 zero entries one by one.
 */
static void verify_huge_zero_backup(void **state)
{
	const uint64_t nr = CBT_INDEX_CHUNKS_MAX;
	static const struct cbt_chunk_id zero;
	struct plain_repo r;
	struct cbt_index *idx = NULL;
	struct cbt_restore_progress rp;
	struct bad_seen seen = { 0 };

	(void)state;
	plain_repo_open(&r);
	assert_int_equal(cbt_index_open(r.store, r.h, r.c, &zero, nr, &idx), 0);
	signal(SIGALRM, on_alarm);
	alarm(30);
	assert_int_equal(verify(&r, idx, nr * 8192, 8192, &seen, &rp), 0);
	alarm(0);
	assert_true(rp.chunks_total == nr);
	assert_true(rp.chunks_zero == nr);
	assert_int_equal(rp.objects_todo, 0);
	assert_int_equal(seen.calls, 0);
	cbt_index_free(idx);
	plain_repo_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dirty_map_line),
		cmocka_unit_test(verify_checks_chunk_length),
		cmocka_unit_test(verify_huge_zero_backup),
		cmocka_unit_test(restore_writes_every_zero_chunk),
		cmocka_unit_test(pool_processes_every_item_once),
		cmocka_unit_test(pool_first_error_stops),
		cmocka_unit_test(dirty_bytes_to_chunks),
		cmocka_unit_test(dirty_map_blocks_to_chunks),
		cmocka_unit_test(dirty_map_file),
		cmocka_unit_test(round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
