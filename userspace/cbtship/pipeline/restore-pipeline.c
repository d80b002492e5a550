/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The restore data path: fetch each stored chunk once, write it everywhere. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "cbtship/compress/compressor.h"
#include "cbtship/hash/hasher.h"
#include "cbtship/pipeline/first-error.h"
#include "cbtship/pipeline/io.h"
#include "cbtship/pipeline/restore-pipeline.h"
#include "cbtship/pipeline/worker-pool.h"
#include "cbtship/repo/chunk-object.h"
#include "cbtship/repo/object-key.h"

struct item {
	struct cbt_chunk_id id; /* zero id: write zeros */
	uint32_t count;
	uint64_t positions[CBT_RESTORE_POSITIONS_MAX];
};

struct shared {
	const struct cbt_restore_pipeline_config *cfg;
	pthread_mutex_t lock;
	struct cbt_restore_progress progress;
	struct cbt_first_error error;
};

struct worker {
	struct cbt_hasher *hasher;
	struct cbt_compressor *compressor;
	struct cbt_cipher *cipher; /* NULL: not encrypted */
	uint8_t *raw;
	size_t raw_len;
	struct cbt_chunk_id last; /* what raw holds; zero id: nothing */
	bool have_last;
};

static void worker_free(struct worker *w)
{
	if (!w)
		return;
	cbt_hasher_free(w->hasher);
	cbt_compressor_free(w->compressor);
	cbt_cipher_free(w->cipher);
	free(w->raw);
	free(w);
}

static int worker_new(const struct cbt_restore_pipeline_config *cfg, struct worker **ret)
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
		r = cbt_compressor_new(CBT_COMPRESS_NONE, 0, &w->compressor);
	if (r >= 0) {
		w->raw = calloc(1, cfg->chunk_size);
		if (!w->raw)
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

static size_t chunk_len(const struct cbt_restore_pipeline_config *cfg, uint64_t chunk)
{
	uint64_t off = chunk * cfg->chunk_size;

	return cfg->size - off < cfg->chunk_size ? (size_t)(cfg->size - off) : cfg->chunk_size;
}

/* An error that says the object is bad (not that the store or memory failed). */
static bool is_damage(int r)
{
	switch (r) {
	case -ENOMSG:
	case -EPROTO:
	case -ENODATA:
	case -EUCLEAN:
	case -EOPNOTSUPP:
	case -EPROTONOSUPPORT:
	case -ERANGE:
	case -EXDEV:
	case -ENOKEY:
	case -EMSGSIZE:
	case -ENOBUFS:
	case -EBADMSG:
	case -EBADE:
	case -EILSEQ:
	case -EKEYREJECTED:
	case -EFBIG:
		return true;
	default:
		return false;
	}
}

static int fetch(struct worker *w, struct shared *s, const struct item *it)
{
	const struct cbt_restore_pipeline_config *cfg = s->cfg;
	char key[CBT_OBJECT_KEY_SIZE], hex[CBT_CHUNK_ID_HEX_SIZE];
	_cleanup_(freep) void *obj = NULL;
	size_t obj_len = 0;
	int r;

	w->have_last = false;
	cbt_chunk_key(&it->id, key);
	r = cbt_store_get(cfg->store, key, cbt_chunk_object_max(cfg->chunk_size), &obj, &obj_len);
	if (r >= 0)
		r = cbt_chunk_decode_sealed(w->compressor, w->hasher, w->cipher, &it->id, obj,
					    obj_len, w->raw, cfg->chunk_size, &w->raw_len);
	if (r >= 0) {
		w->last = it->id;
		w->have_last = true;
		pthread_mutex_lock(&s->lock);
		s->progress.objects_read++;
		s->progress.bytes_fetched += obj_len;
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	cbt_chunk_id_to_hex(&it->id, hex);
	if (cfg->keep_going && (r == -ENOENT || is_damage(r))) {
		if (cfg->report)
			cfg->report(cfg->userdata, &it->id, it->positions[0], it->count, r);
		pthread_mutex_lock(&s->lock);
		if (r == -ENOENT)
			s->progress.chunks_missing += it->count;
		else
			s->progress.chunks_corrupt += it->count;
		pthread_mutex_unlock(&s->lock);
		return 1;
	}
	if (r == -ENOENT)
		return fail(s, r,
			    "backup %s: chunk %s (volume chunk %" PRIu64
			    ") is missing from the store",
			    cfg->backup_id, hex, it->positions[0]);
	return fail(s, r, "backup %s: chunk %s (volume chunk %" PRIu64 "): %s", cfg->backup_id, hex,
		    it->positions[0], cbt_chunk_strerror(r));
}

static int process_item(void *state, const void *item, void *shared)
{
	struct worker *w = state;
	struct shared *s = shared;
	const struct cbt_restore_pipeline_config *cfg = s->cfg;
	const struct item *it = item;
	static const struct cbt_chunk_id zero_id;
	bool zero = cbt_chunk_id_equal(&it->id, &zero_id);
	uint64_t written = 0;
	int r;

	if (zero) {
		if (!w->have_last || !cbt_chunk_id_equal(&w->last, &zero_id)) {
			memset(w->raw, 0, cfg->chunk_size);
			w->last = zero_id;
			w->have_last = true;
		}
	} else if (!w->have_last || !cbt_chunk_id_equal(&w->last, &it->id)) {
		r = fetch(w, s, it);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	for (uint32_t i = 0; i < it->count; i++) {
		size_t len = chunk_len(cfg, it->positions[i]);

		/* Checked when verifying too: a chunk must fill its place exactly. */
		if (!zero && len != w->raw_len) {
			if (!cfg->keep_going)
				return fail(s, -ERANGE,
					    "backup %s: chunk at volume chunk %" PRIu64
					    " holds %zu bytes, expected %zu",
					    cfg->backup_id, it->positions[i], w->raw_len, len);
			if (cfg->report)
				cfg->report(cfg->userdata, &it->id, it->positions[i], 1, -ERANGE);
			pthread_mutex_lock(&s->lock);
			s->progress.chunks_corrupt++;
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		if (cfg->fd < 0)
			continue;
		r = cbt_pwrite_full(cfg->fd, w->raw, len, it->positions[i] * cfg->chunk_size);
		if (r < 0)
			return fail(s, r, "%s: write at offset %" PRIu64 " failed: %s",
				    cfg->destination, it->positions[i] * cfg->chunk_size,
				    strerror(-r));
		written += len;
	}
	pthread_mutex_lock(&s->lock);
	s->progress.bytes_written += written;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int tick(struct shared *s)
{
	struct cbt_restore_progress p;

	if (!s->cfg->tick)
		return 0;
	pthread_mutex_lock(&s->lock);
	p = s->progress;
	pthread_mutex_unlock(&s->lock);
	return s->cfg->tick(s->cfg->userdata, &p);
}

static void db_closep(sqlite3 **db)
{
	if (*db)
		sqlite3_close(*db);
}

static void stmt_finalizep(sqlite3_stmt **st)
{
	if (*st)
		sqlite3_finalize(*st);
}

/* Pass 1: the index into a temporary table of (id, position), non-zero ids only. */
static int load_positions(struct shared *s, sqlite3 *db)
{
	const struct cbt_restore_pipeline_config *cfg = s->cfg;
	_cleanup_(stmt_finalizep) sqlite3_stmt *ins = NULL;
	uint64_t nr = cbt_index_nr_chunks(cfg->index), nonzero = 0;
	struct cbt_chunk_id id;
	int r;

	if (sqlite3_exec(db,
			 "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
			 "PRAGMA cache_size=-8192;"
			 "CREATE TABLE refs (id BLOB NOT NULL, pos INTEGER NOT NULL);"
			 "BEGIN;",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO refs VALUES (?, ?)", -1, &ins, NULL) != SQLITE_OK)
		return fail(s, -EIO, "temporary table: %s", sqlite3_errmsg(db));
	/* Only the stored chunks: all-zero subtrees are skipped, whatever the volume size. */
	for (uint64_t i = 0; (r = cbt_index_next(cfg->index, &i, &id)) > 0; i++) {
		nonzero++;
		sqlite3_bind_blob(ins, 1, id.bytes, CBT_CHUNK_ID_SIZE, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 2, (sqlite3_int64)i);
		if (sqlite3_step(ins) != SQLITE_DONE)
			return fail(s, -EIO, "temporary table: %s", sqlite3_errmsg(db));
		sqlite3_reset(ins);
	}
	if (r < 0)
		return fail(s, r, "backup %s: index: %s", cfg->backup_id,
			    cbt_index_last_error(cfg->index)->error
				    ? cbt_index_last_error(cfg->index)->message
				    : cbt_chunk_strerror(r));
	s->progress.chunks_zero = nr - nonzero;
	if (sqlite3_exec(db, "COMMIT; CREATE INDEX refs_id ON refs (id, pos);", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return fail(s, -EIO, "temporary table: %s", sqlite3_errmsg(db));
	return 0;
}

struct producer {
	struct shared *s;
	struct cbt_worker_pool *pool;
	uint64_t last_tick, interval;
};

static int submit(struct producer *p, const struct item *it)
{
	int r = cbt_worker_pool_submit(p->pool, it);

	if (r < 0)
		return r;
	if (cbt_monotonic_ms() - p->last_tick >= p->interval) {
		p->last_tick = cbt_monotonic_ms();
		r = tick(p->s);
		if (r < 0)
			cbt_worker_pool_cancel(p->pool, r);
	}
	return r;
}

/* Pass 2: each distinct id once, with its positions; then the zero chunks. */
static int produce(struct producer *p, sqlite3 *db)
{
	const struct cbt_restore_pipeline_config *cfg = p->s->cfg;
	_cleanup_(stmt_finalizep) sqlite3_stmt *sel = NULL;
	static const struct cbt_chunk_id zero_id;
	struct item it = { 0 };
	int r, step;

	if (sqlite3_prepare_v2(db, "SELECT id, pos FROM refs ORDER BY id, pos", -1, &sel, NULL) !=
	    SQLITE_OK)
		return fail(p->s, -EIO, "temporary table: %s", sqlite3_errmsg(db));
	while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
		struct cbt_chunk_id id;

		if (sqlite3_column_bytes(sel, 0) != CBT_CHUNK_ID_SIZE)
			return fail(p->s, -EIO, "temporary table: bad row");
		memcpy(id.bytes, sqlite3_column_blob(sel, 0), CBT_CHUNK_ID_SIZE);
		if (it.count &&
		    (!cbt_chunk_id_equal(&id, &it.id) || it.count == CBT_RESTORE_POSITIONS_MAX)) {
			r = submit(p, &it);
			if (r < 0)
				return r;
			it.count = 0;
		}
		if (!it.count)
			p->s->progress.objects_todo += !cbt_chunk_id_equal(&id, &it.id);
		it.id = id;
		it.positions[it.count++] = (uint64_t)sqlite3_column_int64(sel, 1);
	}
	if (step != SQLITE_DONE)
		return fail(p->s, -EIO, "temporary table: %s", sqlite3_errmsg(db));
	if (it.count) {
		r = submit(p, &it);
		if (r < 0)
			return r;
	}
	if (cfg->fd < 0 || cfg->sparse)
		return 0;

	/* An existing destination gets its zero chunks written: the gaps between stored ones. */
	it.id = zero_id;
	it.count = 0;
	for (uint64_t i = 0, next = 0;; i = ++next) {
		struct cbt_chunk_id id;
		int found = cbt_index_next(cfg->index, &next, &id);

		if (found < 0)
			return fail(p->s, found, "backup %s: index: %s", cfg->backup_id,
				    cbt_chunk_strerror(found));
		for (; i < next; i++) {
			it.positions[it.count++] = i;
			if (it.count == CBT_RESTORE_POSITIONS_MAX) {
				r = submit(p, &it);
				if (r < 0)
					return r;
				it.count = 0;
			}
		}
		if (!found)
			break;
	}
	return it.count ? submit(p, &it) : 0;
}

int cbt_restore_pipeline_run(const struct cbt_restore_pipeline_config *cfg,
			     struct cbt_restore_progress *ret, char *errbuf, size_t errlen)
{
	_cleanup_(cbt_worker_pool_freep) struct cbt_worker_pool *pool = NULL;
	_cleanup_(db_closep) sqlite3 *db = NULL;
	struct worker *workers[64] = { 0 };
	struct shared s = { .cfg = cfg, .error = { .buf = errbuf, .len = errlen } };
	struct producer p = { .s = &s };
	int r = 0, t;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!cfg->chunk_size || !cfg->index || !cfg->workers ||
	    cfg->workers > ELEMENTSOF(workers) ||
	    cbt_index_nr_chunks(cfg->index) != (cfg->size + cfg->chunk_size - 1) / cfg->chunk_size)
		return -EINVAL;
	s.progress.chunks_total = cbt_index_nr_chunks(cfg->index);
	pthread_mutex_init(&s.lock, NULL);
	s.error.lock = &s.lock;

	if (sqlite3_open("", &db) != SQLITE_OK) {
		r = fail(&s, -ENOMEM, "temporary table: cannot open");
		goto out;
	}
	r = load_positions(&s, db);
	if (r < 0)
		goto out;

	for (unsigned i = 0; i < cfg->workers && r >= 0; i++)
		r = worker_new(cfg, &workers[i]);
	if (r >= 0)
		r = cbt_worker_pool_new(cfg->workers, sizeof(struct item), 0, process_item,
					(void **)workers, &s, &pool);
	if (r < 0) {
		fail(&s, r, "starting the workers: %s", strerror(-r));
		goto out;
	}
	p.pool = pool;
	p.interval = cfg->tick_ms ? cfg->tick_ms : 1000;
	p.last_tick = cbt_monotonic_ms();
	r = produce(&p, db);
	t = cbt_worker_pool_finish(pool);
	if (r >= 0)
		r = t;
	if (r >= 0) {
		t = tick(&s);
		if (t < 0)
			r = t;
	}
out:
	if (r == -ECANCELED && errbuf && errlen && !errbuf[0])
		snprintf(errbuf, errlen, "cancelled");
	else if (r < 0 && errbuf && errlen && !errbuf[0])
		snprintf(errbuf, errlen, "%s", strerror(-r));
	if (ret)
		*ret = s.progress;
	pool = cbt_worker_pool_free(pool);
	for (unsigned i = 0; i < ELEMENTSOF(workers); i++)
		worker_free(workers[i]);
	pthread_mutex_destroy(&s.lock);
	return r;
}
