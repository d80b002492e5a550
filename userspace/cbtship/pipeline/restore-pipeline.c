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
#include "cbtship/repo/location-cache.h"
#include "cbtship/repo/object-key.h"
#include "cbtship/repo/pack-store.h"

/*
 * Ranged reads of packs: neighbours closer than this are read in one
 * request; in a local store (CBT_STORE_LOCAL) only adjacent ones: there a
 * gap costs its bytes, and the packs of a long chain of incrementals hold
 * many entries later backups replaced (a chain of 30 fetched 2.1x the
 * bytes of a full of the same data with 256 KiB gaps).
 */
#define RANGE_GAP_MAX  (256u * 1024)
#define RANGE_ROWS_MAX 512
/* All the workers' range buffers together, at most (each 1..8 MiB). */
#define RANGE_BUFFERS_TOTAL (UINT64_C(32) << 20)

/* One (entry, position) of a range: rows in offset, then position order. */
struct range_row {
	struct cbt_chunk_id id;
	uint64_t offset; /* in the pack */
	uint32_t length;
	uint64_t position; /* volume chunk */
	bool first;	   /* the entry's first row in the plan (counted as an object then) */
};

/* One ranged read of a pack and what it holds. */
struct range {
	char pack[CBT_PACK_KEY_SIZE];
	uint64_t offset, end;
	size_t n;
	struct range_row rows[RANGE_ROWS_MAX];
};

struct item {
	struct cbt_chunk_id id; /* zero id: write zeros */
	uint32_t count;
	uint64_t positions[CBT_RESTORE_POSITIONS_MAX];
	bool is_range; /* a ranged read of a pack: range, not the above */
	struct range range;
};

struct shared {
	const struct cbt_restore_pipeline_config *cfg;
	size_t range_max; /* bytes of one ranged read */
	size_t range_gap; /* bytes of a gap read over rather than making another request */
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
	uint8_t *range_buf; /* for ranged reads, range_cap bytes (allocated on first use) */
	size_t range_cap;
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
	free(w->range_buf);
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

/* The kind of a store's errno (error.h), or the one given. */
#define fail(s, r, ...)		   cbt_first_error_set(&(s)->error, (r), __VA_ARGS__)
#define fail_kind(s, kind, r, ...) cbt_first_error_set_kind(&(s)->error, (kind), (r), __VA_ARGS__)

static size_t chunk_len(const struct cbt_restore_pipeline_config *cfg, uint64_t chunk)
{
	uint64_t off = chunk * cfg->chunk_size;

	return cfg->size - off < cfg->chunk_size ? (size_t)(cfg->size - off) : cfg->chunk_size;
}

/* An object that fails its checks (not absent, and not the store or memory failing). */
static bool is_damage(int r)
{
	return r != -ENOENT && cbt_error_kind_of_store(r) == CBT_ERROR_INTEGRITY;
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
		    it->positions[0], is_damage(r) ? cbt_chunk_strerror(r) : cbt_store_strerror(r));
}

/* Write the raw data in w at a position. */
static int write_at(struct worker *w, struct shared *s, uint64_t position, bool zero,
		    uint64_t *written)
{
	const struct cbt_restore_pipeline_config *cfg = s->cfg;
	size_t len = chunk_len(cfg, position);
	int r;

	if (cfg->fd < 0)
		return 0;
	if (!zero && len != w->raw_len)
		return fail(s, -EBADMSG,
			    "backup %s: chunk at volume chunk %" PRIu64
			    " holds %zu bytes, expected %zu",
			    cfg->backup_id, position, w->raw_len, len);
	r = cbt_pwrite_full(cfg->fd, w->raw, len, position * cfg->chunk_size);
	if (r < 0)
		return fail_kind(s, CBT_ERROR_DESTINATION, r,
				 "%s: write at offset %" PRIu64 " failed: %s", cfg->destination,
				 position * cfg->chunk_size, strerror(-r));
	*written += len;
	return 0;
}

/* A bad entry (or a whole unreadable range): reported, or the run's error. */
static int range_bad(struct shared *s, const struct range *rg, size_t first, size_t end, int r)
{
	const struct cbt_restore_pipeline_config *cfg = s->cfg;
	char hex[CBT_CHUNK_ID_HEX_SIZE];

	if (cfg->keep_going && (r == -ENOENT || is_damage(r))) {
		for (size_t i = first; i < end;) {
			size_t j = i;

			while (j < end && rg->rows[j].offset == rg->rows[i].offset)
				j++;
			if (cfg->report)
				cfg->report(cfg->userdata, &rg->rows[i].id, rg->rows[i].position,
					    j - i, r);
			pthread_mutex_lock(&s->lock);
			if (r == -ENOENT)
				s->progress.chunks_missing += j - i;
			else
				s->progress.chunks_corrupt += j - i;
			pthread_mutex_unlock(&s->lock);
			i = j;
		}
		return 0;
	}
	cbt_chunk_id_to_hex(&rg->rows[first].id, hex);
	if (r == -ENOENT)
		return fail(s, r,
			    "backup %s: chunk %s (volume chunk %" PRIu64
			    ") is missing from the store (its pack %s is gone)",
			    cfg->backup_id, hex, rg->rows[first].position, rg->pack);
	return fail(s, r,
		    "backup %s: chunk %s (volume chunk %" PRIu64 ", pack %s offset %" PRIu64
		    "): %s",
		    cfg->backup_id, hex, rg->rows[first].position, rg->pack, rg->rows[first].offset,
		    is_damage(r) ? cbt_chunk_strerror(r) : cbt_store_strerror(r));
}

/*
 * A pack planned for this restore is gone: a collection may have
 * rewritten it since (its live entries copied into a new pack first), so
 * the backup is whole and this restore only read a stale plan. The cache
 * synced again, an entry now found in another pack makes this a fault
 * (the backup stays available; run the restore again), not damage.
 * 1 (moved, the run's error set), 0 (not found elsewhere: really absent).
 */
static int pack_moved(struct shared *s, const struct range *rg)
{
	struct cbt_location_cache *lc = cbt_pack_store_cache(s->cfg->store);
	struct cbt_location loc;
	char *msg = NULL;

	if (!lc || cbt_pack_store_sync(s->cfg->store, NULL, &msg) < 0) {
		free(msg);
		return 0;
	}
	if (cbt_location_cache_lookup(lc, CBT_PACK_ENTRY_CHUNK, &rg->rows[0].id, &loc) <= 0 ||
	    strcmp(loc.pack, rg->pack) == 0)
		return 0;
	fail_kind(s, CBT_ERROR_STORE, -ESTALE,
		  "backup %s: pack %s was rewritten by a collection while this restore read "
		  "it (its entries are now in %s, among others): the backup is whole; run the "
		  "restore again",
		  s->cfg->backup_id, rg->pack, loc.pack);
	return 1;
}

/* One ranged read of a pack, then each entry decoded once and written at each of its positions. */
static int process_range(struct worker *w, struct shared *s, const struct range *rg)
{
	const struct cbt_restore_pipeline_config *cfg = s->cfg;
	size_t want = (size_t)(rg->end - rg->offset), got = 0;
	uint64_t written = 0, objects = 0;
	int r;

	if (w->range_cap < want) {
		/*
		 * Once, at the most a range can be (range_max, or one entry
		 * larger than that): growing it by realloc left the freed
		 * smaller buffers in each thread's malloc arena.
		 */
		size_t cap = s->range_max + cbt_chunk_object_max(cfg->chunk_size);

		free(w->range_buf);
		w->range_buf = malloc(cap > want ? cap : want);
		w->range_cap = w->range_buf ? (cap > want ? cap : want) : 0;
		if (!w->range_buf)
			return fail_kind(s, CBT_ERROR_LOCAL, -ENOMEM, "out of memory");
	}
	r = cbt_store_get_range(cfg->store, rg->pack, rg->offset, want, w->range_buf, &got, NULL);
	if (r == -ENOENT && pack_moved(s, rg))
		return -ESTALE;
	if (r < 0)
		return range_bad(s, rg, 0, rg->n, r);
	pthread_mutex_lock(&s->lock);
	s->progress.bytes_fetched += got;
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < rg->n;) {
		const struct range_row *e = &rg->rows[i];
		uint64_t rel = e->offset - rg->offset;
		size_t j = i;

		while (j < rg->n && rg->rows[j].offset == e->offset)
			j++;
		if (rel + e->length > got)
			r = -ENODATA; /* the pack is shorter than its table says */
		else
			r = cbt_chunk_decode_sealed(w->compressor, w->hasher, w->cipher, &e->id,
						    w->range_buf + rel, e->length, w->raw,
						    cfg->chunk_size, &w->raw_len);
		if (r < 0) {
			r = range_bad(s, rg, i, j, r);
			if (r < 0)
				return r;
			i = j;
			continue;
		}
		objects += e->first;
		for (size_t k = i; k < j; k++) {
			r = write_at(w, s, rg->rows[k].position, false, &written);
			if (r < 0)
				return r;
		}
		i = j;
	}
	w->have_last = false; /* raw holds a chunk no loose item names */
	pthread_mutex_lock(&s->lock);
	s->progress.objects_read += objects;
	s->progress.bytes_written += written;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int process_item(void *state, const void *item, void *shared)
{
	struct worker *w = state;
	struct shared *s = shared;
	const struct cbt_restore_pipeline_config *cfg = s->cfg;
	const struct item *it = item;

	if (it->is_range)
		return process_range(w, s, &it->range);
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
			return fail_kind(s, CBT_ERROR_DESTINATION, r,
					 "%s: write at offset %" PRIu64 " failed: %s",
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
			 "PRAGMA cache_size=-4096;"
			 "CREATE TABLE refs (id BLOB NOT NULL, pos INTEGER NOT NULL);"
			 "BEGIN;",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO refs VALUES (?, ?)", -1, &ins, NULL) != SQLITE_OK)
		return fail_kind(s, CBT_ERROR_LOCAL, -EIO, "temporary table: %s",
				 sqlite3_errmsg(db));
	/* Only the stored chunks: all-zero subtrees are skipped, whatever the volume size. */
	for (uint64_t i = 0; (r = cbt_index_next(cfg->index, &i, &id)) > 0; i++) {
		nonzero++;
		sqlite3_bind_blob(ins, 1, id.bytes, CBT_CHUNK_ID_SIZE, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 2, (sqlite3_int64)i);
		if (sqlite3_step(ins) != SQLITE_DONE)
			return fail_kind(s, CBT_ERROR_LOCAL, -EIO, "temporary table: %s",
					 sqlite3_errmsg(db));
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
		return fail_kind(s, CBT_ERROR_LOCAL, -EIO, "temporary table: %s",
				 sqlite3_errmsg(db));
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

/*
 * Pass 1b: where each id is. With a pack store, its location cache (synced
 * now) is attached and joined: plan (id, pos, pack, off, len), pack NULL
 * for ids in no pack (loose format-1 objects), and the names of the packs
 * used copied into pnames, so the cache is detached before the long read.
 */
static int make_plan(struct shared *s, sqlite3 *db)
{
	const struct cbt_restore_pipeline_config *cfg = s->cfg;
	struct cbt_location_cache *lc = cbt_pack_store_cache(cfg->store);
	_cleanup_(stmt_finalizep) sqlite3_stmt *att = NULL;
	char *err = NULL;
	int r;

	if (!lc)
		return sqlite3_exec(
			       db,
			       "CREATE TABLE plan AS SELECT id, pos, NULL AS pack, NULL AS off,"
			       " NULL AS len FROM refs;"
			       "CREATE TABLE pnames (no INTEGER PRIMARY KEY, name TEXT);",
			       NULL, NULL, NULL) == SQLITE_OK
			       ? 0
			       : fail_kind(s, CBT_ERROR_LOCAL, -EIO, "temporary table: %s",
					   sqlite3_errmsg(db));
	r = cbt_pack_store_sync(cfg->store, NULL, &err);
	if (r < 0) {
		fail(s, r, "backup %s: the packs of the container: %s", cfg->backup_id,
		     err ? err : strerror(-r));
		free(err);
		return r;
	}
	if (sqlite3_prepare_v2(db, "ATTACH DATABASE ? AS loc", -1, &att, NULL) != SQLITE_OK)
		return fail_kind(s, CBT_ERROR_LOCAL, -EIO, "temporary table: %s",
				 sqlite3_errmsg(db));
	sqlite3_bind_text(att, 1, cbt_location_cache_file(lc), -1, SQLITE_STATIC);
	if (sqlite3_step(att) != SQLITE_DONE)
		return fail_kind(s, CBT_ERROR_LOCAL, -EIO, "location cache %s: %s",
				 cbt_location_cache_file(lc), sqlite3_errmsg(db));
	if (sqlite3_exec(db,
			 "CREATE TABLE plan AS SELECT r.id AS id, r.pos AS pos, e.pack AS pack,"
			 " e.offset AS off, e.length AS len FROM refs r LEFT JOIN loc.entries e"
			 " ON e.id = r.id AND e.type = 0 AND e.pack = (SELECT x.pack FROM"
			 " loc.entries x WHERE x.id = r.id AND x.type = 0 LIMIT 1);"
			 "CREATE TABLE pnames AS SELECT no, name FROM loc.packs WHERE no IN"
			 " (SELECT DISTINCT pack FROM plan WHERE pack IS NOT NULL);"
			 "CREATE INDEX pnames_no ON pnames (no);"
			 "DETACH DATABASE loc;",
			 NULL, NULL, NULL) != SQLITE_OK)
		return fail_kind(s, CBT_ERROR_LOCAL, -EIO, "temporary table (plan): %s",
				 sqlite3_errmsg(db));
	return 0;
}

/* Submit the range being built, if any. */
static int submit_range(struct producer *p, struct item *it)
{
	int r;

	if (!it->is_range || !it->range.n)
		return 0;
	r = submit(p, it);
	it->range.n = 0;
	return r;
}

/*
 * Pass 2: the plan in (pack, offset) order. Entries of one pack closer
 * than RANGE_GAP_MAX go into one ranged read of at most range_max bytes
 * (so each pack is read once, front to back, in a few large requests);
 * ids in no pack are fetched one by one as loose objects, each distinct
 * id once; then the zero chunks.
 */
static int produce(struct producer *p, sqlite3 *db)
{
	const struct cbt_restore_pipeline_config *cfg = p->s->cfg;
	_cleanup_(stmt_finalizep) sqlite3_stmt *sel = NULL;
	_cleanup_(stmt_finalizep) sqlite3_stmt *name = NULL;
	static const struct cbt_chunk_id zero_id;
	_cleanup_(freep) struct item *it = calloc(1, sizeof(*it));
	sqlite3_int64 cur_pack = -1;
	uint64_t last_off = UINT64_MAX;
	int r, step;

	if (!it)
		return fail_kind(p->s, CBT_ERROR_LOCAL, -ENOMEM, "out of memory");
	if (sqlite3_prepare_v2(
		    db, "SELECT pack, off, len, id, pos FROM plan ORDER BY pack, off, id, pos", -1,
		    &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT name FROM pnames WHERE no = ?", -1, &name, NULL) !=
		    SQLITE_OK)
		return fail_kind(p->s, CBT_ERROR_LOCAL, -EIO, "temporary table: %s",
				 sqlite3_errmsg(db));
	while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
		struct cbt_chunk_id id;
		uint64_t pos = (uint64_t)sqlite3_column_int64(sel, 4);

		if (sqlite3_column_bytes(sel, 3) != CBT_CHUNK_ID_SIZE)
			return fail_kind(p->s, CBT_ERROR_LOCAL, -EIO, "temporary table: bad row");
		memcpy(id.bytes, sqlite3_column_blob(sel, 3), CBT_CHUNK_ID_SIZE);
		if (sqlite3_column_type(sel, 0) == SQLITE_NULL) {
			/* A loose object: one item per id (and per CBT_RESTORE_POSITIONS_MAX). */
			if (it->count && (!cbt_chunk_id_equal(&id, &it->id) ||
					  it->count == CBT_RESTORE_POSITIONS_MAX)) {
				r = submit(p, it);
				if (r < 0)
					return r;
				it->count = 0;
			}
			if (!it->count)
				p->s->progress.objects_todo += !cbt_chunk_id_equal(&id, &it->id);
			it->id = id;
			it->positions[it->count++] = pos;
			continue;
		}
		if (it->count) { /* the loose ones come first (NULL sorts first) */
			r = submit(p, it);
			if (r < 0)
				return r;
			it->count = 0;
		}
		{
			sqlite3_int64 pack = sqlite3_column_int64(sel, 0);
			uint64_t off = (uint64_t)sqlite3_column_int64(sel, 1);
			uint32_t len = (uint32_t)sqlite3_column_int64(sel, 2);
			struct range *rg = &it->range;

			if (it->is_range && rg->n &&
			    (pack != cur_pack || rg->n == RANGE_ROWS_MAX ||
			     off > rg->end + p->s->range_gap ||
			     (off + len > rg->offset + p->s->range_max && off != last_off))) {
				r = submit_range(p, it);
				if (r < 0)
					return r;
			}
			if (pack != cur_pack) {
				sqlite3_bind_int64(name, 1, pack);
				if (sqlite3_step(name) != SQLITE_ROW)
					return fail_kind(p->s, CBT_ERROR_LOCAL, -EIO,
							 "temporary table: no pack %lld",
							 (long long)pack);
				snprintf(rg->pack, sizeof(rg->pack), "%s",
					 (const char *)sqlite3_column_text(name, 0));
				sqlite3_reset(name);
				cur_pack = pack;
				last_off = UINT64_MAX;
			}
			if (!rg->n) {
				it->is_range = true;
				rg->offset = off;
				rg->end = off;
			}
			if (off != last_off)
				p->s->progress.objects_todo++;
			rg->rows[rg->n].id = id;
			rg->rows[rg->n].offset = off;
			rg->rows[rg->n].length = len;
			rg->rows[rg->n].position = pos;
			rg->rows[rg->n].first = off != last_off;
			rg->n++;
			last_off = off;
			if (off + len > rg->end)
				rg->end = off + len;
		}
	}
	if (step != SQLITE_DONE)
		return fail_kind(p->s, CBT_ERROR_LOCAL, -EIO, "temporary table: %s",
				 sqlite3_errmsg(db));
	if (it->count) {
		r = submit(p, it);
		if (r < 0)
			return r;
		it->count = 0;
	}
	r = submit_range(p, it);
	if (r < 0)
		return r;
	it->is_range = false;
	if (cfg->fd < 0 || cfg->sparse)
		return 0;

	/* An existing destination gets its zero chunks written: the gaps between stored ones. */
	it->id = zero_id;
	it->count = 0;
	for (uint64_t i = 0, next = 0;; i = ++next) {
		struct cbt_chunk_id id;
		int found = cbt_index_next(cfg->index, &next, &id);

		if (found < 0)
			return fail(p->s, found, "backup %s: index: %s", cfg->backup_id,
				    cbt_chunk_strerror(found));
		for (; i < next; i++) {
			it->positions[it->count++] = i;
			if (it->count == CBT_RESTORE_POSITIONS_MAX) {
				r = submit(p, it);
				if (r < 0)
					return r;
				it->count = 0;
			}
		}
		if (!found)
			break;
	}
	return it->count ? submit(p, it) : 0;
}

int cbt_restore_pipeline_run(const struct cbt_restore_pipeline_config *cfg,
			     struct cbt_restore_progress *ret, struct cbt_error *err)
{
	_cleanup_(cbt_worker_pool_freep) struct cbt_worker_pool *pool = NULL;
	_cleanup_(db_closep) sqlite3 *db = NULL;
	struct worker *workers[64] = { 0 };
	struct shared s = { .cfg = cfg, .error = { .error = err } };
	struct producer p = { .s = &s };
	int r = 0, t;

	cbt_error_clear(err);
	if (!cfg->chunk_size || !cfg->index || !cfg->workers ||
	    cfg->workers > ELEMENTSOF(workers) ||
	    cbt_index_nr_chunks(cfg->index) != (cfg->size + cfg->chunk_size - 1) / cfg->chunk_size)
		return cbt_error_set(err, CBT_ERROR_LOCAL, -EINVAL,
				     "backup %s: the index does not match the volume size",
				     cfg->backup_id);
	s.progress.chunks_total = cbt_index_nr_chunks(cfg->index);
	pthread_mutex_init(&s.lock, NULL);
	s.error.lock = &s.lock;

	if (sqlite3_open("", &db) != SQLITE_OK) {
		r = fail_kind(&s, CBT_ERROR_LOCAL, -ENOMEM, "temporary table: cannot open");
		goto out;
	}
	r = load_positions(&s, db);
	if (r >= 0)
		r = make_plan(&s, db);
	if (r < 0)
		goto out;
	s.range_gap = cbt_store_flags(cfg->store) & CBT_STORE_LOCAL ? 0 : RANGE_GAP_MAX;
	s.range_max = (size_t)(RANGE_BUFFERS_TOTAL / cfg->workers);
	if (s.range_max > (8u << 20))
		s.range_max = 8u << 20;
	if (s.range_max < (1u << 20))
		s.range_max = 1u << 20;

	for (unsigned i = 0; i < cfg->workers && r >= 0; i++)
		r = worker_new(cfg, &workers[i]);
	if (r >= 0)
		r = cbt_worker_pool_new(cfg->workers, sizeof(struct item), 0, process_item,
					(void **)workers, &s, &pool);
	if (r < 0) {
		fail_kind(&s, CBT_ERROR_LOCAL, r, "starting the workers: %s", strerror(-r));
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
	if (r == -ECANCELED)
		cbt_error_set(err, CBT_ERROR_CANCELLED, r, "cancelled");
	else if (r < 0)
		cbt_error_set(err, cbt_error_kind_of_store(r), r, "%s", strerror(-r));
	if (ret)
		*ret = s.progress;
	pool = cbt_worker_pool_free(pool);
	for (unsigned i = 0; i < ELEMENTSOF(workers); i++)
		worker_free(workers[i]);
	pthread_mutex_destroy(&s.lock);
	return r;
}
