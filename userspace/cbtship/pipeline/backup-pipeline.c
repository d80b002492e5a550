/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The backup data path: workers read, hash, compress and store chunks. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cbtship/compress/compressor.h"
#include "cbtship/hash/hasher.h"
#include "cbtship/hash/zero.h"
#include "cbtship/pipeline/backup-pipeline.h"
#include "cbtship/pipeline/first-error.h"
#include "cbtship/pipeline/io.h"
#include "cbtship/pipeline/worker-pool.h"
#include "cbtship/repo/chunk-object.h"
#include "cbtship/repo/index-page.h"
#include "cbtship/repo/object-key.h"

struct shared {
	const struct cbt_backup_pipeline_config *cfg;
	pthread_mutex_t lock; /* the index, the counters, the message */
	struct cbt_backup_progress progress;
	struct cbt_first_error error;
};

struct worker {
	struct cbt_hasher *hasher;
	struct cbt_compressor *compressor;
	struct cbt_cipher *cipher; /* NULL: not encrypted */
	uint8_t *raw;
	uint8_t *obj;
};

static void worker_free(struct worker *w)
{
	if (!w)
		return;
	cbt_hasher_free(w->hasher);
	cbt_compressor_free(w->compressor);
	cbt_cipher_free(w->cipher);
	free(w->raw);
	free(w->obj);
	free(w);
}

static int worker_new(const struct cbt_backup_pipeline_config *cfg, struct worker **ret)
{
	struct worker *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	r = cbt_hasher_new(cfg->key ? cfg->key->id_key : NULL, cfg->key ? CBT_KEY_SIZE : 0,
			   &w->hasher);
	if (r >= 0 && cfg->key)
		r = cbt_cipher_new(cfg->key, &w->cipher);
	if (r >= 0)
		r = cbt_compressor_new(cfg->compression, cfg->level, &w->compressor);
	if (r >= 0) {
		w->raw = malloc(cfg->chunk_size);
		w->obj = malloc(cbt_chunk_object_max(cfg->chunk_size));
		if (!w->raw || !w->obj)
			r = -ENOMEM;
	}
	if (r < 0) {
		worker_free(w);
		return r;
	}
	*ret = w;
	return 0;
}

#define fail(s, r, ...) cbt_first_error_set(&(s)->error, (r), __VA_ARGS__)

static int process_chunk(void *state, const void *item, void *shared)
{
	struct worker *w = state;
	struct shared *s = shared;
	const struct cbt_backup_pipeline_config *cfg = s->cfg;
	uint64_t chunk = *(const uint64_t *)item, off = chunk * cfg->chunk_size;
	size_t len =
		cfg->size - off < cfg->chunk_size ? (size_t)(cfg->size - off) : cfg->chunk_size;
	char key[CBT_OBJECT_KEY_SIZE];
	struct cbt_chunk_id id, old;
	bool zero, unchanged = false, present = false;
	size_t obj_len = 0;
	int r;

	r = cbt_pread_full(cfg->fd, w->raw, len, off);
	if (r < 0)
		return fail(s, r, "%s: read of chunk %" PRIu64 " (offset %" PRIu64 ") failed: %s",
			    cfg->source, chunk, off,
			    r == -ENODATA ? "the source is shorter than expected" : strerror(-r));
	zero = cbt_is_zero(w->raw, len);
	if (zero) {
		memset(&id, 0, sizeof(id));
	} else {
		r = cbt_hasher_hash(w->hasher, w->raw, len, &id);
		if (r < 0)
			return fail(s, r, "hashing chunk %" PRIu64 ": %s", chunk, strerror(-r));
	}

	pthread_mutex_lock(&s->lock);
	r = cbt_index_get(cfg->index, chunk, &old);
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		return fail(s, r, "parent index: %s",
			    cbt_index_last_error(cfg->index)->error
				    ? cbt_index_last_error(cfg->index)->message
				    : cbt_chunk_strerror(r));
	if (cbt_chunk_id_equal(&old, &id)) {
		unchanged = true;
	} else if (!zero) {
		cbt_chunk_key(&id, key);
		r = cbt_store_exists(cfg->store, key);
		if (r < 0)
			return fail(s, r, "store: checking %s: %s", key, cbt_store_strerror(r));
		present = r > 0;
		if (!present) {
			r = cbt_chunk_encode_sealed(w->compressor, w->hasher, w->cipher, &id,
						    w->raw, len, w->obj, cbt_chunk_object_max(len),
						    &obj_len);
			if (r < 0)
				return fail(s, r, "encoding chunk %" PRIu64 ": %s", chunk,
					    cbt_chunk_strerror(r));
			r = cbt_store_put(cfg->store, key, w->obj, obj_len);
			if (r < 0)
				return fail(s, r, "store: writing %s (chunk %" PRIu64 "): %s", key,
					    chunk, cbt_store_strerror(r));
		}
	}

	pthread_mutex_lock(&s->lock);
	r = unchanged ? 0 : cbt_index_set(cfg->index, chunk, &id);
	s->progress.chunks_done++;
	s->progress.bytes_read += len;
	if (zero)
		s->progress.chunks_zero++;
	if (unchanged)
		s->progress.chunks_unchanged++;
	else if (present)
		s->progress.chunks_present++;
	else if (!zero) {
		s->progress.chunks_new++;
		s->progress.bytes_stored += obj_len;
	}
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		return fail(s, r, "index: setting chunk %" PRIu64 ": %s", chunk,
			    cbt_chunk_strerror(r));
	return 0;
}

#define READ_AHEAD_CHUNKS 64

/* Chunks advised to the kernel ahead of the one submitted. */
struct read_ahead {
	uint64_t next;	 /* first chunk not looked at yet */
	unsigned window; /* advised and not submitted yet */
};

/*
 * Chunk i (set in the map) is being submitted: keep READ_AHEAD_CHUNKS of
 * the set chunks after it advised (POSIX_FADV_WILLNEED). Only a hint:
 * errors do not matter.
 */
static void read_ahead(const struct cbt_backup_pipeline_config *cfg, uint64_t nr, uint64_t i,
		       struct read_ahead *ra)
{
	if (i < ra->next && ra->window)
		ra->window--;
	if (ra->next <= i)
		ra->next = i + 1;
	for (; ra->next < nr && ra->window < READ_AHEAD_CHUNKS; ra->next++) {
		if (!cbt_chunk_bit_test(cfg->chunk_bits, ra->next))
			continue;
		(void)posix_fadvise(cfg->fd, (off_t)(ra->next * cfg->chunk_size),
				    (off_t)cfg->chunk_size, POSIX_FADV_WILLNEED);
		ra->window++;
	}
}

/*
 * Holes of a sparse source file (SEEK_DATA / SEEK_HOLE): a chunk wholly
 * in a hole is a zero chunk known without reading it. [data, end) is the
 * data region at or after the last offset asked; UINT64_MAX: no more.
 */
struct holes {
	bool enabled; /* a regular file whose file system reports holes */
	uint64_t data, end;
};

static void holes_init(const struct cbt_backup_pipeline_config *cfg, struct holes *h)
{
	struct stat st;

	*h = (struct holes){ .enabled = fstat(cfg->fd, &st) == 0 && S_ISREG(st.st_mode) };
}

static bool in_hole(const struct cbt_backup_pipeline_config *cfg, struct holes *h, uint64_t off,
		    uint64_t len)
{
	off_t d, e;

	if (!h->enabled)
		return false;
	if (off >= h->end) {
		d = lseek(cfg->fd, (off_t)off, SEEK_DATA);
		if (d < 0 && errno == ENXIO) {
			h->data = h->end = UINT64_MAX; /* only a hole up to the end */
		} else if (d < 0 || (e = lseek(cfg->fd, d, SEEK_HOLE)) < 0) {
			h->enabled = false; /* not supported here: read everything */
			return false;
		} else {
			h->data = (uint64_t)d;
			h->end = (uint64_t)e;
		}
	}
	return off + len <= h->data;
}

/* A chunk in a hole: what process_chunk() does for a zero chunk, without the read. */
static int hole_chunk(struct shared *s, uint64_t chunk, uint64_t len)
{
	static const struct cbt_chunk_id zero_id;
	struct cbt_chunk_id old;
	int r;

	pthread_mutex_lock(&s->lock);
	r = cbt_index_get(s->cfg->index, chunk, &old);
	if (r >= 0 && !cbt_index_id_is_zero(&old))
		r = cbt_index_set(s->cfg->index, chunk, &zero_id);
	else if (r >= 0)
		s->progress.chunks_unchanged++;
	if (r >= 0) {
		s->progress.chunks_done++;
		s->progress.bytes_read += len;
		s->progress.chunks_zero++;
		s->progress.chunks_hole++;
	}
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		return fail(s, r, "index: chunk %" PRIu64 " (a hole): %s", chunk,
			    cbt_index_last_error(s->cfg->index)->error
				    ? cbt_index_last_error(s->cfg->index)->message
				    : cbt_chunk_strerror(r));
	return 0;
}

static int tick(struct shared *s)
{
	struct cbt_backup_progress p;

	if (!s->cfg->tick)
		return 0;
	pthread_mutex_lock(&s->lock);
	p = s->progress;
	pthread_mutex_unlock(&s->lock);
	return s->cfg->tick(s->cfg->userdata, &p);
}

int cbt_backup_pipeline_run(const struct cbt_backup_pipeline_config *cfg,
			    struct cbt_backup_progress *ret, char *errbuf, size_t errlen)
{
	_cleanup_(cbt_worker_pool_freep) struct cbt_worker_pool *pool = NULL;
	struct worker *workers[64] = { 0 };
	struct shared s = { .cfg = cfg, .error = { .buf = errbuf, .len = errlen } };
	uint64_t nr, last_tick, interval = cfg->tick_ms ? cfg->tick_ms : 1000;
	int r = 0, t;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!cfg->chunk_size || (cfg->chunk_size & (cfg->chunk_size - 1)) || !cfg->index ||
	    !cfg->workers || cfg->workers > ELEMENTSOF(workers))
		return -EINVAL;
	nr = (cfg->size + cfg->chunk_size - 1) / cfg->chunk_size;
	if (cbt_index_nr_chunks(cfg->index) != nr)
		return -EINVAL;
	for (uint64_t i = 0; i < nr; i++) {
		if (cfg->chunk_bits && !cbt_chunk_bit_test(cfg->chunk_bits, i))
			continue;
		s.progress.chunks_todo++;
		s.progress.bytes_todo +=
			i == nr - 1 ? cfg->size - i * cfg->chunk_size : cfg->chunk_size;
	}
	pthread_mutex_init(&s.lock, NULL);
	s.error.lock = &s.lock;
	for (unsigned i = 0; i < cfg->workers && r >= 0; i++)
		r = worker_new(cfg, &workers[i]);
	if (r >= 0)
		r = cbt_worker_pool_new(cfg->workers, sizeof(uint64_t), 0, process_chunk,
					(void **)workers, &s, &pool);
	if (r < 0) {
		snprintf(errbuf, errlen, "starting the workers: %s", strerror(-r));
		goto out;
	}

	last_tick = cbt_monotonic_ms();
	struct read_ahead ra = { 0 };
	struct holes holes;

	holes_init(cfg, &holes);

	for (uint64_t i = 0; i < nr; i++) {
		if (cfg->chunk_bits) {
			/* Skip clear bytes of the bitmap quickly. */
			if (i % 8 == 0 && !cfg->chunk_bits[i / 8]) {
				i += 7;
				continue;
			}
			if (!cbt_chunk_bit_test(cfg->chunk_bits, i))
				continue;
		}
		/*
		 * The chunks of a dirty map are scattered reads, each one waited
		 * for by a worker: ask the kernel for the next ones now, so that
		 * many reads are in flight (a full read is sequential and has
		 * the kernel's own readahead).
		 */
		uint64_t off = i * cfg->chunk_size;
		uint64_t len =
			cfg->size - off < cfg->chunk_size ? cfg->size - off : cfg->chunk_size;

		if (in_hole(cfg, &holes, off, len)) {
			r = hole_chunk(&s, i, len);
			if (r < 0)
				break;
		} else {
			if (cfg->chunk_bits)
				read_ahead(cfg, nr, i, &ra);
			r = cbt_worker_pool_submit(pool, &i);
			if (r < 0)
				break;
		}
		if (cbt_monotonic_ms() - last_tick >= interval) {
			last_tick = cbt_monotonic_ms();
			t = tick(&s);
			if (t < 0) {
				cbt_worker_pool_cancel(pool, t);
				r = t;
				break;
			}
		}
	}
	t = cbt_worker_pool_finish(pool);
	if (r >= 0)
		r = t;
	if (r >= 0) {
		t = tick(&s);
		if (t < 0)
			r = t;
	}
	if (r == -ECANCELED && errbuf && errlen && !errbuf[0])
		snprintf(errbuf, errlen, "cancelled");
	else if (r < 0 && errbuf && errlen && !errbuf[0])
		snprintf(errbuf, errlen, "%s", strerror(-r));
	if (ret)
		*ret = s.progress;
out:
	pool = cbt_worker_pool_free(pool);
	for (unsigned i = 0; i < ELEMENTSOF(workers); i++)
		worker_free(workers[i]);
	pthread_mutex_destroy(&s.lock);
	return r;
}
