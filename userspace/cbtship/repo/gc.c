/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Collection of a container's content-addressed objects, under a gc lease
 * (gc.h): reference counts kept in a database of this host, updated by
 * what changed since the last collection; packs re-planned where counts
 * crossed zero or new packs came.
 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cbtship/backup/context.h"
#include "cbtship/repo/gc.h"
#include "cbtship/repo/chunk-object.h"
#include "cbtship/repo/index.h"
#include "cbtship/repo/manifest.h"
#include "cbtship/repo/object-key.h"
#include "cbtship/repo/pack-store.h"
#include "cbtship/state-dir.h"

/* Seconds between looks at the leases while marking and sweeping. */
#define LEASE_CHECK_SECONDS 2.0

struct gc {
	struct cbt_repository *repo;
	const struct cbt_gc_options *o;
	struct cbt_lease_times times;
	struct cbt_lease *lease;
	sqlite3 *db; /* the reference counts (main), temp tables, the location cache (lc) */
	sqlite3_stmt *inc, *dec, *drop, *changed, *mark, *doomed, *listed_has;
	struct cbt_gc_stats stats;
	double next_check;
	uint64_t entry_bytes; /* of the packs' entries */
	int64_t live;	      /* ids with a count > 0 */
	int dir;	      /* +1 counting a manifest in, -1 out */
	bool in_txn;	      /* the pass's transaction is open */
	bool attached;	      /* lc is the location cache */
	bool rebuild;	      /* counts cleared this pass: every manifest counted again */
	bool replan;	      /* every pack accounted again */
	bool walk_failed;     /* a failure of the walk's callback (message set) */
	bool missing;	      /* a decrement found no count: the database is off */
	char **ret_error;
};

static int set_error(struct gc *g, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_error(struct gc *g, int r, const char *fmt, ...)
{
	va_list ap;

	if (g->ret_error && !*g->ret_error) {
		va_start(ap, fmt);
		if (vasprintf(g->ret_error, fmt, ap) < 0)
			*g->ret_error = NULL;
		va_end(ap);
	}
	return r;
}

static int db_fail(struct gc *g)
{
	g->walk_failed = true;
	return set_error(g, -EIO, "garbage collection: reference counts: %s",
			 sqlite3_errmsg(g->db));
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Is it still safe to go on? No live backup lease on any host, and ours
 * refreshed. -EAGAIN (yield) or -ETIMEDOUT, with the message.
 */
static int check_leases(struct gc *g)
{
	struct cbt_lease_scan scan;
	int r;

	g->next_check = now_seconds() + LEASE_CHECK_SECONDS;
	if (!cbt_lease_held(g->lease))
		return set_error(g, -ETIMEDOUT,
				 "the collection's lease %s could not be refreshed in time: "
				 "stopped",
				 cbt_lease_key(g->lease));
	r = cbt_lease_scan(cbt_lease_store(g->lease), cbt_lease_key(g->lease), &g->times, &scan);
	if (r < 0)
		return set_error(g, r, "listing the leases: %s", strerror(-r));
	if (scan.gcs && cbt_lease_older(scan.oldest_gc_created, scan.oldest_gc_key, g->lease))
		return set_error(g, -EAGAIN,
				 "another collection runs in container %s (%s): this one yields "
				 "to it",
				 g->repo->container, scan.oldest_gc_holder);
	if (scan.backups)
		return set_error(g, -EAGAIN,
				 "%u backup%s running in container %s (%s): the collection "
				 "yields to %s and runs again later",
				 scan.backups, scan.backups == 1 ? " is" : "s are",
				 g->repo->container, scan.holder,
				 scan.backups == 1 ? "it" : "them");
	return 0;
}

static int maybe_check_leases(struct gc *g)
{
	return now_seconds() >= g->next_check ? check_leases(g) : 0;
}

/* Run sql with no row; -EIO with the message. */
static int exec(struct gc *g, const char *sql)
{
	return sqlite3_exec(g->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : db_fail(g);
}

/* The first column of sql's first row (0 when none); -EIO. */
static int query_i64(struct gc *g, const char *sql, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int step;

	if (sqlite3_prepare_v2(g->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(g);
	step = sqlite3_step(st);
	*ret = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : db_fail(g);
}

static int meta_set(struct gc *g, const char *k, int64_t v)
{
	sqlite3_stmt *st = NULL;
	int step;

	if (sqlite3_prepare_v2(g->db, "INSERT OR REPLACE INTO meta VALUES (?, ?)", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_fail(g);
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? 0 : db_fail(g);
}

static int meta_get(struct gc *g, const char *k, int64_t dflt, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int step;

	if (sqlite3_prepare_v2(g->db, "SELECT v FROM meta WHERE k = ?", -1, &st, NULL) != SQLITE_OK)
		return db_fail(g);
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	*ret = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : dflt;
	sqlite3_finalize(st);
	return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : db_fail(g);
}

/* Bind (page, id) as parameters 1 and 2 and step st once: its count, 0 (deleted), or -1 (no row).
 */
static int step_ref(struct gc *g, sqlite3_stmt *st, int page, const struct cbt_chunk_id *id,
		    int64_t *ret)
{
	int step;

	sqlite3_bind_int(st, 1, page);
	sqlite3_bind_blob(st, 2, id->bytes, CBT_CHUNK_ID_SIZE, SQLITE_STATIC);
	step = sqlite3_step(st);
	*ret = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	while (step == SQLITE_ROW)
		step = sqlite3_step(st);
	sqlite3_reset(st);
	return step == SQLITE_DONE ? 0 : db_fail(g);
}

/* (page, id) crossed zero this pass: the packs holding it are accounted again. */
static int note_changed(struct gc *g, int page, const struct cbt_chunk_id *id)
{
	int64_t dummy;

	if (g->rebuild)
		return 0; /* every pack is accounted again */
	return step_ref(g, g->changed, page, id, &dummy);
}

/*
 * One reference of a walk, counted in (g->dir > 0) or out. A page whose
 * count leaves 0 has its children counted in (walked: loaded from the
 * store); one whose count reaches 0 has them counted out (loaded too);
 * any other page is skipped, its children's counts already say it.
 */
static int count_ref(enum cbt_index_ref kind, const struct cbt_chunk_id *id, void *userdata)
{
	struct gc *g = userdata;
	int page = kind == CBT_INDEX_REF_PAGE;
	int64_t n;
	int r;

	r = step_ref(g, g->dir > 0 ? g->inc : g->dec, page, id, &n);
	if (r < 0)
		return r;
	g->stats.refs_changed++;
	if (g->dir < 0) {
		if (n < 0) {
			/* Counted out more often than in: the database is off. */
			g->missing = true;
			g->walk_failed = true;
			return -EUCLEAN;
		}
		if (n > 0)
			return page ? CBT_INDEX_SKIP : 0;
		r = step_ref(g, g->drop, page, id, &n);
		if (r < 0)
			return r;
		g->live--;
	} else {
		if (n > 1) {
			if (page)
				g->stats.pages_shared++;
			return page ? CBT_INDEX_SKIP : 0;
		}
		g->live++;
	}
	r = note_changed(g, page, id);
	if (r < 0)
		return r;
	if (page) {
		g->stats.pages_walked++;
		r = maybe_check_leases(g);
		if (r < 0) {
			g->walk_failed = true;
			return r;
		}
	}
	return 0;
}

#ifdef CBTSHIP_TEST_HOOKS
/* Today's full mark (the test hook's reference): marks is the set of what is referenced. */
static int full_mark_ref(enum cbt_index_ref kind, const struct cbt_chunk_id *id, void *userdata)
{
	struct gc *g = userdata;
	int changes;

	sqlite3_bind_int(g->mark, 1, kind == CBT_INDEX_REF_PAGE);
	sqlite3_bind_blob(g->mark, 2, id->bytes, CBT_CHUNK_ID_SIZE, SQLITE_STATIC);
	if (sqlite3_step(g->mark) != SQLITE_DONE) {
		sqlite3_reset(g->mark);
		return db_fail(g);
	}
	changes = sqlite3_changes(g->db);
	sqlite3_reset(g->mark);
	if (kind == CBT_INDEX_REF_PAGE && !changes)
		return CBT_INDEX_SKIP; /* marked with everything under it already */
	return 0;
}

#endif

/* What counting a manifest in or out needs; kept in the database for when it is gone. */
struct counted {
	char *id;
	struct cbt_chunk_id root;
	uint64_t nr_chunks;
	bool encrypted;
	char *fingerprint;
};

static void counted_free(struct counted *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].fingerprint);
	}
	free(v);
}

/* May an encrypted index be walked? The key loaded and the same. */
static int check_key(struct gc *g, const char *backup_id, const char *fingerprint)
{
	char *msg = NULL;
	int r;

	/*
	 * An encrypted index can only be walked with its key. Without it
	 * what this backup references is unknown, so nothing may go: the
	 * garbage stays until a collection that has every key it needs.
	 */
	r = cbt_repository_load_key(g->repo, &msg);
	if (r < 0) {
		set_error(g, r,
			  "backup %s is encrypted and the key cannot be used (%s): nothing "
			  "was deleted",
			  backup_id, msg ? msg : strerror(-r));
		free(msg);
		return r;
	}
	if (r == 0)
		return set_error(g, -ENOKEY,
				 "backup %s is encrypted (key fingerprint %s) and no "
				 "encryption key is given: its index cannot be read, so "
				 "nothing was deleted (give its key with "
				 "--encryption-key-file or backup_encryption_key_file)",
				 backup_id, fingerprint ? fingerprint : "?");
	if (!fingerprint || strcmp(g->repo->key->fingerprint, fingerprint) != 0)
		return set_error(g, -EKEYREJECTED,
				 "backup %s is encrypted with another key (fingerprint %s, "
				 "not %s's %s): its index cannot be read, so nothing was "
				 "deleted",
				 backup_id, fingerprint ? fingerprint : "?", g->repo->key->path,
				 g->repo->key->fingerprint);
	return 0;
}

static int walk(struct gc *g, const struct counted *m, cbt_index_ref_fn fn,
		struct cbt_index_error *err)
{
	if (m->encrypted)
		return cbt_index_foreach_page_sealed(g->repo->store, g->repo->key_hasher,
						     g->repo->compressor, g->repo->cipher, &m->root,
						     m->nr_chunks, fn, g, err);
	return cbt_index_foreach_page(g->repo->store, g->repo->hasher, g->repo->compressor,
				      &m->root, m->nr_chunks, fn, g, err);
}

/* A manifest listed and not counted yet: read it, count its index in, remember it. */
static int count_in(struct gc *g, const char *backup_id)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL;
	struct cbt_index_error err = { 0 };
	struct counted c = { 0 };
	sqlite3_stmt *st = NULL;
	char *msg = NULL;
	int r, step;

	r = cbt_manifest_read(g->repo->store, backup_id, &m, &msg);
	if (r == -ENOENT) {
		/* Deleted since the listing: what it referenced is garbage or another's. */
		free(msg);
		return 0;
	}
	if (r < 0) {
		set_error(g, r,
			  "manifest of backup %s cannot be read (%s): nothing was deleted, since "
			  "what it references is unknown",
			  backup_id, msg ? msg : strerror(-r));
		free(msg);
		return r;
	}
	if (m->encryption != CBT_MANIFEST_ENCRYPTION_NONE) {
		r = check_key(g, backup_id, m->key_fingerprint);
		if (r < 0)
			return r;
	} else if (m->hashing != CBT_MANIFEST_HASH_SHA256)
		return set_error(g, -EOPNOTSUPP,
				 "backup %s uses a keyed repository: collection needs its key",
				 backup_id);
	c.root = m->index.root;
	c.nr_chunks = m->nr_chunks;
	c.encrypted = m->encryption != CBT_MANIFEST_ENCRYPTION_NONE;
	g->dir = 1;
	g->walk_failed = false;
	r = walk(g, &c, count_ref, &err);
	if (r < 0 && g->walk_failed)
		return r; /* the message is set */
	if (r < 0)
		return set_error(g, r,
				 "index of backup %s cannot be walked (%s): nothing was deleted",
				 backup_id, err.error ? err.message : strerror(-r));
	if (sqlite3_prepare_v2(g->db, "INSERT OR REPLACE INTO manifests VALUES (?, ?, ?, ?, ?)", -1,
			       &st, NULL) != SQLITE_OK)
		return db_fail(g);
	sqlite3_bind_text(st, 1, backup_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, c.root.bytes, CBT_CHUNK_ID_SIZE, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)c.nr_chunks);
	sqlite3_bind_int(st, 4, c.encrypted);
	if (c.encrypted)
		sqlite3_bind_text(st, 5, m->key_fingerprint, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? 0 : db_fail(g);
}

/*
 * A manifest counted and no longer listed (deleted): count its index out.
 * 1 when that cannot be done (a page that reached 0 cannot be read, e.g.
 * another host's collection deleted it, or the counts are off): the
 * caller rebuilds. 0 done, or a negative errno (message set).
 */
static int count_out(struct gc *g, const struct counted *c)
{
	struct cbt_index_error err = { 0 };
	sqlite3_stmt *st = NULL;
	int r, step;

	if (c->encrypted) {
		r = check_key(g, c->id, c->fingerprint);
		if (r < 0)
			return r;
	}
	g->dir = -1;
	g->walk_failed = false;
	g->missing = false;
	r = walk(g, c, count_ref, &err);
	if (r < 0 && g->walk_failed && !g->missing)
		return r; /* the database, or the leases: the message is set */
	if (r < 0) {
		cbtship_log(
			"collect %s: the index of deleted backup %s cannot be counted out (%s): "
			"the reference counts are rebuilt from the manifests",
			g->repo->container, c->id,
			g->missing  ? "a count is missing"
			: err.error ? err.message
				    : strerror(-r));
		return 1;
	}
	if (sqlite3_prepare_v2(g->db, "DELETE FROM manifests WHERE id = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_fail(g);
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? 0 : db_fail(g);
}

static int list_manifest(const char *backup_id, void *userdata)
{
	struct gc *g = userdata;
	sqlite3_stmt *st = NULL;
	int step;

	if (sqlite3_prepare_v2(g->db, "INSERT OR IGNORE INTO temp.listed VALUES (?)", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(g);
	sqlite3_bind_text(st, 1, backup_id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? 0 : db_fail(g);
}

struct known {
	struct gc *g;
	int r;
};

/* A backup the catalog knows as available here: is its manifest listed? */
static int check_known(const struct catalog_backup *b, void *userdata)
{
	struct known *k = userdata;
	struct gc *g = k->g;
	int r;

	if (b->service != g->repo->service || !b->container ||
	    strcmp(b->container, g->repo->container) != 0)
		return 0;
	sqlite3_bind_text(g->listed_has, 1, b->id, -1, SQLITE_STATIC);
	r = sqlite3_step(g->listed_has);
	sqlite3_reset(g->listed_has);
	if (r == SQLITE_ROW)
		return 0;
	if (r != SQLITE_DONE)
		return k->r = db_fail(g);
	return k->r = set_error(
		       g, -ESTALE,
		       "the listing of container %s lacks the manifest of backup %s, which the "
		       "catalog records as available: the listing may be incomplete (an "
		       "eventually consistent store) or the manifest was lost; nothing was "
		       "deleted (run backup-verify %s, and collect again later)",
		       g->repo->container, b->id, b->id);
}

/* The rows of sql (id, root, nr_chunks, encrypted, fingerprint; or id alone) into *ret. */
static int select_counted(struct gc *g, const char *sql, struct counted **ret, size_t *ret_n)
{
	sqlite3_stmt *st = NULL;
	struct counted *v = NULL;
	size_t n = 0, cap = 0;
	int step;

	if (sqlite3_prepare_v2(g->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(g);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct counted *c;

		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct counted *nv = realloc(v, ncap * sizeof(*v));

			if (!nv) {
				step = SQLITE_NOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		c = &v[n++];
		memset(c, 0, sizeof(*c));
		c->id = strdup((const char *)sqlite3_column_text(st, 0));
		if (sqlite3_column_count(st) > 1) {
			if (sqlite3_column_bytes(st, 1) == CBT_CHUNK_ID_SIZE)
				memcpy(c->root.bytes, sqlite3_column_blob(st, 1),
				       CBT_CHUNK_ID_SIZE);
			c->nr_chunks = (uint64_t)sqlite3_column_int64(st, 2);
			c->encrypted = sqlite3_column_int(st, 3) != 0;
			if (sqlite3_column_type(st, 4) != SQLITE_NULL)
				c->fingerprint = strdup((const char *)sqlite3_column_text(st, 4));
		}
		if (!c->id) {
			step = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE) {
		counted_free(v, n);
		return step == SQLITE_NOMEM ? -ENOMEM : db_fail(g);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Every count cleared: the next counting-in is the full mark. */
static int clear_counts(struct gc *g)
{
	g->rebuild = true;
	g->replan = true;
	g->live = 0;
	return exec(g, "DELETE FROM refs; DELETE FROM manifests; DELETE FROM temp.changed;");
}

/* Count in the listed manifests not counted yet. */
static int count_new(struct gc *g)
{
	struct counted *v = NULL;
	size_t n = 0;
	int r;

	r = select_counted(g,
			   "SELECT l.id FROM temp.listed l WHERE NOT EXISTS"
			   " (SELECT 1 FROM manifests m WHERE m.id = l.id) ORDER BY l.id",
			   &v, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r >= 0; i++)
		r = count_in(g, v[i].id);
	counted_free(v, n);
	return r;
}

/*
 * One pass over the listing: the manifests listed and not counted are
 * counted in, then those counted and no longer listed counted out (in
 * first: a page shared by both never reaches 0, so is never read). The
 * catalog's available backups must all be listed.
 */
static int count_pass(struct gc *g)
{
	struct catalog_backup_filter filter = {
		.admin = true,
		.by_status = true,
		.status = CATALOG_BACKUP_AVAILABLE,
	};
	struct known k = { .g = g };
	struct counted *gone = NULL;
	size_t n = 0;
	int r;

	r = exec(g, "DELETE FROM temp.listed");
	if (r < 0)
		return r;
	r = cbt_manifest_list(g->repo->store, list_manifest, g);
	if (r < 0) {
		set_error(g, r, "listing the manifests: %s", strerror(-r));
		return r;
	}
	if (g->o && g->o->catalog) {
		r = catalog_backup_foreach(g->o->catalog, &filter, check_known, &k);
		if (k.r < 0)
			return k.r;
		if (r < 0)
			return set_error(g, r, "reading the catalog: %s",
					 catalog_error(g->o->catalog));
	}
	r = count_new(g);
	if (r < 0)
		return r;
	r = select_counted(g,
			   "SELECT id, root, nr_chunks, encrypted, fingerprint FROM manifests m"
			   " WHERE NOT EXISTS (SELECT 1 FROM temp.listed l WHERE l.id = m.id)"
			   " ORDER BY id",
			   &gone, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		r = count_out(g, &gone[i]);
		if (r < 0)
			break;
		if (r > 0) {
			/* Rebuild: today's full mark, from the manifests listed. */
			r = clear_counts(g);
			if (r >= 0)
				r = count_new(g);
			break;
		}
	}
	counted_free(gone, n);
	return r;
}

static int find_doomed(const char *key, void *userdata)
{
	struct gc *g = userdata;
	struct cbt_chunk_id id;
	int page;

	if (cbt_object_key_parse(CBT_OBJECT_CHUNK, key, &id) == 0)
		page = 0;
	else if (cbt_object_key_parse(CBT_OBJECT_INDEX, key, &id) == 0)
		page = 1;
	else
		return 0; /* not ours: leave it */
	g->stats.objects_listed++;
	sqlite3_bind_int(g->doomed, 1, page);
	sqlite3_bind_blob(g->doomed, 2, id.bytes, CBT_CHUNK_ID_SIZE, SQLITE_STATIC);
	sqlite3_bind_text(g->doomed, 3, key, -1, SQLITE_STATIC);
	if (sqlite3_step(g->doomed) != SQLITE_DONE) {
		sqlite3_reset(g->doomed);
		return db_fail(g);
	}
	sqlite3_reset(g->doomed);
	return 0;
}

/* Delete the loose objects listed and not referenced (counts taken right before, new manifests
 * included). */
static int sweep(struct gc *g)
{
	sqlite3_stmt *sel = NULL;
	int r = 0, step;

	if (sqlite3_prepare_v2(g->db,
			       "SELECT d.key, d.page FROM temp.doomed d WHERE NOT EXISTS"
			       " (SELECT 1 FROM refs m WHERE m.page = d.page AND m.id = d.id)",
			       -1, &sel, NULL) != SQLITE_OK)
		return db_fail(g);
	while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(sel, 0);

		r = maybe_check_leases(g);
		if (r < 0)
			break;
		r = cbt_store_delete(g->repo->store, key);
		if (r < 0 && r != -ENOENT) {
			set_error(g, r, "deleting %s: %s", key, strerror(-r));
			break;
		}
		r = 0;
		if (sqlite3_column_int(sel, 1))
			g->stats.pages_deleted++;
		else
			g->stats.chunks_deleted++;
	}
	if (r == 0 && step != SQLITE_DONE)
		r = db_fail(g);
	sqlite3_finalize(sel);
	if (r >= 0) {
		r = cbt_store_flush(g->repo->store);
		if (r < 0)
			set_error(g, r, "flushing the deletes: %s", strerror(-r));
	}
	return r;
}

/*
 * The pack each referenced id is kept in: the readable one recorded last
 * (a rewrite's new pack has a larger number than the pack it copies).
 * KEPT(e) is that pack's number for the entry e.
 */
#define KEPT(e)                                                                       \
	"(SELECT MAX(e2.pack) FROM lc.entries e2 JOIN lc.packs p2 ON p2.no = e2.pack" \
	" AND p2.bad IS NULL WHERE e2.id = " e ".id AND e2.type = " e ".type)"

/* The live bytes of pack p.no: its entries referenced and kept there. */
#define LIVE_OF_P                                                          \
	"(SELECT COALESCE(SUM(e.length), 0) FROM lc.entries e JOIN refs r" \
	" ON r.page = e.type AND r.id = e.id WHERE e.pack = p.no AND e.pack = " KEPT("e") ")"

/*
 * Account the packs this pass may have changed (touched): those holding
 * an id whose count crossed zero (when use_changed), those not accounted
 * yet (new: written since, or an orphan's), and those holding an id of a
 * new one (its older copy is no longer the one kept); all of them on a
 * replan. Reads lc as it is now.
 */
static int account(struct gc *g, bool use_changed)
{
	int64_t n;
	int r;

	if (!g->replan) {
		/* A pack accounted that the cache lost or renumbered (another host deleted it). */
		r = query_i64(g,
			      "SELECT COUNT(*) FROM packs a WHERE NOT EXISTS (SELECT 1"
			      " FROM lc.packs p WHERE p.no = a.no AND p.name = a.name"
			      " AND p.bad IS NULL)",
			      &n);
		if (r < 0)
			return r;
		if (n > 0) {
			cbtship_log("collect %s: %" PRId64 " packs accounted are no longer in the "
				    "location cache: every pack is accounted again",
				    g->repo->container, n);
			g->replan = true;
		}
	}
	r = exec(g, "DELETE FROM temp.touched; DELETE FROM temp.fresh;");
	if (r < 0)
		return r;
	if (g->replan)
		r = exec(g, "DELETE FROM packs;"
			    "INSERT INTO temp.touched SELECT no FROM lc.packs WHERE bad IS NULL;");
	else {
		r = exec(g,
			 "INSERT INTO temp.fresh SELECT p.no FROM lc.packs p WHERE"
			 " p.bad IS NULL AND NOT EXISTS (SELECT 1 FROM packs a WHERE a.no = p.no);"
			 "INSERT OR IGNORE INTO temp.touched SELECT no FROM temp.fresh;"
			 "INSERT OR IGNORE INTO temp.touched SELECT DISTINCT e2.pack"
			 " FROM temp.fresh f JOIN lc.entries e ON e.pack = f.no"
			 " JOIN lc.entries e2 ON e2.id = e.id AND e2.type = e.type;");
		if (r >= 0 && use_changed)
			r = exec(g, "INSERT OR IGNORE INTO temp.touched SELECT DISTINCT e.pack"
				    " FROM temp.changed c JOIN lc.entries e"
				    " ON e.id = c.id AND e.type = c.page");
	}
	if (r < 0)
		return r;
	r = exec(g, "DELETE FROM temp.touched WHERE no NOT IN"
		    " (SELECT no FROM lc.packs WHERE bad IS NULL);"
		    "DELETE FROM packs WHERE no IN (SELECT no FROM temp.touched);"
		    "INSERT INTO packs SELECT p.no, p.name, p.size,"
		    " (SELECT COALESCE(SUM(e.length), 0) FROM lc.entries e WHERE e.pack = "
		    "p.no), " LIVE_OF_P " FROM lc.packs p JOIN temp.touched t ON t.no = p.no;");
	if (r < 0)
		return r;
	r = query_i64(g, "SELECT COUNT(*) FROM temp.touched", &n);
	if (r < 0)
		return r;
	g->stats.packs_touched += (uint64_t)n;
	g->replan = false;
	return 0;
}

#ifdef CBTSHIP_TEST_HOOKS
/*
 * Tests: $CBTSHIP_TEST_GC_VERIFY=1 runs today's full mark too and fails
 * the collection (-EUCLEAN, before any delete) when its live set, or the
 * live bytes of a pack, differ from the incremental ones.
 */
static int verify(struct gc *g)
{
	const char *v = getenv("CBTSHIP_TEST_GC_VERIFY");
	struct counted *all = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int r, step;

	if (!v || strcmp(v, "1") != 0)
		return 0;
	r = exec(g, "CREATE TEMP TABLE IF NOT EXISTS marks (page INTEGER, id BLOB,"
		    " PRIMARY KEY (page, id)) WITHOUT ROWID; DELETE FROM temp.marks;");
	if (r < 0)
		return r;
	if (!g->mark && sqlite3_prepare_v2(g->db, "INSERT OR IGNORE INTO temp.marks VALUES (?, ?)",
					   -1, &g->mark, NULL) != SQLITE_OK)
		return db_fail(g);
	r = select_counted(g, "SELECT id, root, nr_chunks, encrypted, fingerprint FROM manifests",
			   &all, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct cbt_index_error err = { 0 };

		if (all[i].encrypted) {
			r = check_key(g, all[i].id, all[i].fingerprint);
			if (r < 0)
				break;
		}
		r = walk(g, &all[i], full_mark_ref, &err);
		if (r < 0)
			set_error(g, r, "verify: the full mark of backup %s: %s", all[i].id,
				  err.error ? err.message : strerror(-r));
	}
	counted_free(all, n);
	if (r < 0)
		return r;
	if (sqlite3_prepare_v2(
		    g->db,
		    "SELECT 'counted, not marked', page, hex(id) FROM (SELECT page, id FROM refs"
		    " EXCEPT SELECT page, id FROM temp.marks)"
		    " UNION ALL SELECT 'marked, not counted', page, hex(id) FROM (SELECT page, id"
		    " FROM temp.marks EXCEPT SELECT page, id FROM refs) LIMIT 1",
		    -1, &st, NULL) != SQLITE_OK)
		return db_fail(g);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		r = set_error(
			g, -EUCLEAN, "verify: the incremental and the full mark differ: %s %s %s",
			sqlite3_column_text(st, 0), sqlite3_column_int(st, 1) ? "page" : "chunk",
			sqlite3_column_text(st, 2));
	else if (step != SQLITE_DONE)
		r = db_fail(g);
	sqlite3_finalize(st);
	if (r < 0 || !g->attached)
		return r;
	/* Every pack's live bytes as today's plan computes them. */
	if (sqlite3_prepare_v2(
		    g->db,
		    "WITH keep AS (SELECT e.type AS type, e.id AS id, MAX(e.pack) AS pack"
		    " FROM temp.marks m JOIN lc.entries e ON e.id = m.id AND e.type = m.page"
		    " JOIN lc.packs p ON p.no = e.pack AND p.bad IS NULL GROUP BY e.type, e.id),"
		    " full AS (SELECT p.no AS no, p.name AS name,"
		    " (SELECT COALESCE(SUM(e.length), 0) FROM keep k JOIN lc.entries e"
		    "  ON e.id = k.id AND e.type = k.type AND e.pack = k.pack WHERE k.pack = p.no)"
		    " AS live, (SELECT COALESCE(SUM(e.length), 0) FROM lc.entries e"
		    "  WHERE e.pack = p.no) AS entry_bytes FROM lc.packs p WHERE p.bad IS NULL)"
		    " SELECT f.name, f.live, f.entry_bytes, a.live, a.entry_bytes FROM full f"
		    " LEFT JOIN packs a ON a.no = f.no WHERE a.no IS NULL OR a.live != f.live"
		    " OR a.entry_bytes != f.entry_bytes"
		    " UNION ALL SELECT a.name, NULL, NULL, a.live, a.entry_bytes FROM packs a"
		    " WHERE NOT EXISTS (SELECT 1 FROM full f WHERE f.no = a.no) LIMIT 1",
		    -1, &st, NULL) != SQLITE_OK)
		return db_fail(g);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		r = set_error(g, -EUCLEAN,
			      "verify: pack %s: the full plan has %s live of %s bytes, the "
			      "incremental %s of %s",
			      sqlite3_column_text(st, 0),
			      sqlite3_column_type(st, 1) == SQLITE_NULL
				      ? "none"
				      : (const char *)sqlite3_column_text(st, 1),
			      sqlite3_column_type(st, 2) == SQLITE_NULL
				      ? "-"
				      : (const char *)sqlite3_column_text(st, 2),
			      sqlite3_column_type(st, 3) == SQLITE_NULL
				      ? "none"
				      : (const char *)sqlite3_column_text(st, 3),
			      sqlite3_column_type(st, 4) == SQLITE_NULL
				      ? "-"
				      : (const char *)sqlite3_column_text(st, 4));
	else if (step != SQLITE_DONE)
		r = db_fail(g);
	sqlite3_finalize(st);
	return r;
}
#else
static int verify(struct gc *g)
{
	(void)g;
	return 0;
}
#endif

/*
 * May the pack no go? None of its entries is referenced and kept there
 * (checked now, whatever the accounting said: never delete an entry whose
 * count is > 0 without a copy), and every other pack holding a kept copy
 * of its referenced entries exists now (a HEAD: a listing may still show
 * a deleted pack). 1 yes, 0 no (counted), or a negative errno.
 */
static int copies_confirmed(struct gc *g, struct cbt_store *inner, int64_t no, const char *pname)
{
	sqlite3_stmt *st = NULL;
	int r = 1, step;

	if (sqlite3_prepare_v2(g->db,
			       "SELECT p.name FROM lc.entries e JOIN refs r"
			       " ON r.page = e.type AND r.id = e.id"
			       " LEFT JOIN lc.packs p ON p.no = " KEPT("e") " WHERE e.pack = ?1"
									    " GROUP BY p.no",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(g);
	sqlite3_bind_int64(st, 1, no);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int e;

		if (!name || strcmp(name, pname) == 0) {
			cbtship_log("collect: pack %s still holds the only kept copy of a "
				    "referenced entry: it is kept",
				    pname);
			g->stats.packs_kept_unverified++;
			r = 0;
			break;
		}
		e = cbt_store_exists(inner, name);
		if (e < 0) {
			r = set_error(g, e, "checking pack %s: %s", name, strerror(-e));
			break;
		}
		if (e == 0) {
			cbtship_log("collect: pack %s is listed but missing: the packs whose "
				    "entries it holds are kept",
				    name);
			g->stats.packs_kept_unverified++;
			r = 0;
			break;
		}
	}
	if (r >= 0 && step != SQLITE_ROW && step != SQLITE_DONE)
		r = db_fail(g);
	sqlite3_finalize(st);
	return r;
}

static int delete_pack(struct gc *g, struct cbt_store *inner, struct cbt_location_cache *lc,
		       int64_t no, const char *name)
{
	sqlite3_stmt *st = NULL;
	int r = maybe_check_leases(g);

	if (r < 0)
		return r;
	r = cbt_store_delete(inner, name);
	if (r < 0 && r != -ENOENT)
		return set_error(g, r, "deleting pack %s: %s", name, strerror(-r));
	if (cbt_location_cache_remove_pack(lc, name) < 0)
		cbtship_log("collect: the location cache keeps the deleted pack %s: %s", name,
			    cbt_location_cache_error(lc));
	/* Gone from the accounting (a kill before this: the next one replans). */
	if (sqlite3_prepare_v2(g->db, "DELETE FROM packs WHERE no = ?", -1, &st, NULL) != SQLITE_OK)
		return db_fail(g);
	sqlite3_bind_int64(st, 1, no);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : db_fail(g);
}

/* Copy the kept entries of pack no into the pack store's open packs. */
static int copy_pack(struct gc *g, struct cbt_store *ps, struct cbt_store *inner, int64_t no,
		     const char *name)
{
	sqlite3_stmt *st = NULL;
	_cleanup_(freep) void *buf = NULL;
	size_t cap = 0;
	int r = 0, step;

	if (sqlite3_prepare_v2(
		    g->db,
		    "SELECT e.type, e.id, e.offset, e.length FROM lc.entries e JOIN refs r"
		    " ON r.page = e.type AND r.id = e.id"
		    " WHERE e.pack = ?1 AND ?1 = " KEPT("e") " ORDER BY e.offset",
		    -1, &st, NULL) != SQLITE_OK)
		return db_fail(g);
	sqlite3_bind_int64(st, 1, no);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int type = sqlite3_column_int(st, 0);
		uint64_t offset = (uint64_t)sqlite3_column_int64(st, 2);
		size_t len = (size_t)sqlite3_column_int64(st, 3), got = 0;
		char key[CBT_OBJECT_KEY_SIZE];
		struct cbt_chunk_id id;

		if (sqlite3_column_bytes(st, 1) != CBT_CHUNK_ID_SIZE ||
		    (type != CBT_OBJECT_CHUNK && type != CBT_OBJECT_INDEX)) {
			r = set_error(g, -EBADMSG, "the location cache holds a bad entry of %s",
				      name);
			break;
		}
		memcpy(id.bytes, sqlite3_column_blob(st, 1), CBT_CHUNK_ID_SIZE);
		if (len > cap) {
			void *n = realloc(buf, len);

			if (!n) {
				r = -ENOMEM;
				break;
			}
			buf = n;
			cap = len;
		}
		r = maybe_check_leases(g);
		if (r < 0)
			break;
		r = cbt_store_get_range(inner, name, offset, len, buf, &got, NULL);
		if (r >= 0 && got != len)
			r = -ENODATA;
		if (r < 0) {
			set_error(g, r, "reading an entry of pack %s: %s", name, strerror(-r));
			break;
		}
		cbt_object_key((enum cbt_object_kind)type, &id, key);
		r = cbt_store_put(ps, key, buf, len);
		if (r < 0) {
			set_error(g, r, "copying an entry of pack %s: %s", name, strerror(-r));
			break;
		}
		g->stats.entries_copied++;
	}
	if (r >= 0 && step != SQLITE_DONE)
		r = db_fail(g);
	sqlite3_finalize(st);
	return r;
}

struct pack_row {
	int64_t no;
	char name[CBT_PACK_KEY_SIZE];
	uint64_t size, live; /* bytes of its entries, of those kept */
};

/*
 * The packs as accounted into rows (most unused first; the empty ones
 * lead), and the totals into the stats.
 */
static int plan_packs(struct gc *g, struct pack_row **ret, size_t *ret_n)
{
	struct pack_row *rows = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int step;

	/* Unused: entries nothing references, or kept elsewhere (tables and trailers are not). */
	if (sqlite3_prepare_v2(
		    g->db,
		    "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(entry_bytes), 0),"
		    " COALESCE(SUM(live), 0) FROM packs",
		    -1, &st, NULL) != SQLITE_OK)
		return db_fail(g);
	if (sqlite3_step(st) == SQLITE_ROW) {
		g->stats.packs = (uint64_t)sqlite3_column_int64(st, 0);
		g->stats.pack_bytes = (uint64_t)sqlite3_column_int64(st, 1);
		g->entry_bytes = (uint64_t)sqlite3_column_int64(st, 2);
		g->stats.pack_bytes_unused = g->entry_bytes - (uint64_t)sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(g->db,
			       "SELECT no, name, entry_bytes, live FROM packs"
			       " ORDER BY CAST(live AS REAL) / MAX(entry_bytes, 1), no",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(g);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct pack_row *nr = realloc(rows, ncap * sizeof(*rows));

			if (!nr) {
				sqlite3_finalize(st);
				free(rows);
				return -ENOMEM;
			}
			rows = nr;
			cap = ncap;
		}
		rows[n].no = sqlite3_column_int64(st, 0);
		snprintf(rows[n].name, sizeof(rows[n].name), "%s", sqlite3_column_text(st, 1));
		rows[n].size = (uint64_t)sqlite3_column_int64(st, 2);
		rows[n].live = (uint64_t)sqlite3_column_int64(st, 3);
		n++;
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE) {
		free(rows);
		return db_fail(g);
	}
	*ret = rows;
	*ret_n = n;
	return 0;
}

/* Deletes the packs with nothing kept, then rewrites while too much is unused. */
static int sweep_packs(struct gc *g)
{
	struct cbt_store *ps = g->repo->store, *inner;
	struct cbt_location_cache *lc;
	_cleanup_(freep) struct pack_row *rows = NULL;
	size_t n = 0, chosen = 0;
	uint64_t total, unused;
	int max_unused, r;

	if (!g->attached)
		return 0;
	inner = cbt_pack_store_inner(ps);
	lc = cbt_pack_store_cache(ps);
	r = plan_packs(g, &rows, &n);
	if (r < 0)
		return r;
	total = g->entry_bytes;
	unused = g->stats.pack_bytes_unused;
	max_unused = g->o && g->o->max_unused_set ? g->o->max_unused
		     : cbtship_config()		  ? cbtship_config()->backup_collect_max_unused
						  : 5;
	for (size_t i = 0; i < n && rows[i].live == 0; i++) {
		r = copies_confirmed(g, inner, rows[i].no, rows[i].name);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		r = delete_pack(g, inner, lc, rows[i].no, rows[i].name);
		if (r < 0)
			return r;
		g->stats.packs_deleted++;
		total -= rows[i].size;
		unused -= rows[i].size;
		rows[i].size = 0; /* done */
	}
	/* Rewrite: each chosen pack's bytes go, its live bytes come back in a new pack. */
	for (size_t i = 0; i < n; i++) {
		if (rows[i].size == 0 || rows[i].live == 0)
			continue;
		if ((double)unused <= (double)max_unused / 100.0 * (double)total)
			break;
		if (rows[i].live >= rows[i].size)
			break; /* nothing to gain from the rest */
		r = copy_pack(g, ps, inner, rows[i].no, rows[i].name);
		if (r < 0)
			return r;
		total -= rows[i].size - rows[i].live;
		unused -= rows[i].size - rows[i].live;
		rows[i].live = UINT64_MAX; /* chosen */
		chosen++;
	}
	if (!chosen)
		return 0;
	/* The copies durable (uploaded, in the cache), only then the originals go. */
	r = cbt_store_flush(ps);
	if (r < 0)
		return set_error(g, r, "storing the rewritten packs: %s", strerror(-r));
	for (size_t i = 0; i < n; i++) {
		if (rows[i].live != UINT64_MAX)
			continue;
		r = copies_confirmed(g, inner, rows[i].no, rows[i].name);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		r = delete_pack(g, inner, lc, rows[i].no, rows[i].name);
		if (r < 0)
			return r;
		g->stats.packs_rewritten++;
	}
	/* The new packs accounted now (and the older copies of what they hold). */
	r = exec(g, "BEGIN");
	if (r < 0)
		return r;
	r = account(g, false);
	if (r < 0) {
		(void)sqlite3_exec(g->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	return exec(g, "COMMIT");
}

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS manifests (id TEXT PRIMARY KEY, root BLOB,"
	" nr_chunks INTEGER, encrypted INTEGER, fingerprint TEXT) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS refs (page INTEGER, id BLOB, count INTEGER,"
	" PRIMARY KEY (page, id)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS packs (no INTEGER PRIMARY KEY, name TEXT, size INTEGER,"
	" entry_bytes INTEGER, live INTEGER);"
	"CREATE TEMP TABLE listed (id TEXT PRIMARY KEY) WITHOUT ROWID;"
	"CREATE TEMP TABLE changed (page INTEGER, id BLOB, PRIMARY KEY (page, id)) WITHOUT ROWID;"
	"CREATE TEMP TABLE touched (no INTEGER PRIMARY KEY);"
	"CREATE TEMP TABLE fresh (no INTEGER PRIMARY KEY);"
	"CREATE TEMP TABLE doomed (page INTEGER, id BLOB, key TEXT);";

#define REFS_VERSION 1

/* The reference-count file of the container: the location cache's, ".sqlite" -> ".refs.sqlite". */
static int refs_path(struct gc *g, char **ret)
{
	_cleanup_(freep) char *lc = NULL;
	size_t len;
	int r;

	r = cbt_location_cache_path(cbt_service_to_string(g->repo->service), g->repo->container,
				    &lc);
	if (r < 0)
		return r;
	len = strlen(lc);
	if (len > 7 && strcmp(lc + len - 7, ".sqlite") == 0)
		lc[len - 7] = '\0';
	return asprintf(ret, "%s.refs.sqlite", lc) < 0 ? -ENOMEM : 0;
}

static int try_open(struct gc *g, const char *path)
{
	int64_t version;

	if (sqlite3_open_v2(path, &g->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK)
		return -EIO;
	sqlite3_busy_timeout(g->db, 30000);
	if (sqlite3_exec(g->db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			 "PRAGMA cache_size=-8192; PRAGMA temp_store=FILE;",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(g->db, schema, NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	if (meta_get(g, "version", 0, &version) < 0)
		return -EIO;
	if (version == 0) {
		/* New (or emptied): nothing counted; the first pass is the full mark. */
		if (exec(g, "DELETE FROM refs; DELETE FROM manifests; DELETE FROM packs;"
			    "DELETE FROM meta;") < 0 ||
		    meta_set(g, "version", REFS_VERSION) < 0)
			return -EIO;
		g->rebuild = true;
		g->replan = true;
	} else if (version != REFS_VERSION)
		return -EIO;
	return 0;
}

static void close_db(struct gc *g)
{
	sqlite3_stmt **sts[] = { &g->inc,  &g->dec,    &g->drop,      &g->changed,
				 &g->mark, &g->doomed, &g->listed_has };

	for (size_t i = 0; i < sizeof(sts) / sizeof(sts[0]); i++) {
		sqlite3_finalize(*sts[i]);
		*sts[i] = NULL;
	}
	if (g->db)
		sqlite3_close(g->db);
	g->db = NULL;
}

/*
 * Open the reference counts (a file that is not one of this schema is
 * made anew: derived data, rebuilt by the next pass), attach the location
 * cache, and begin the pass's transaction.
 */
static int open_db(struct gc *g)
{
	_cleanup_(freep) char *path = NULL;
	sqlite3_stmt *st = NULL;
	int r;

	r = refs_path(g, &path);
	if (r < 0)
		return set_error(g, r, "garbage collection: %s", strerror(-r));
	r = cbtship_make_parent_dirs(path);
	if (r < 0)
		return set_error(g, r, "garbage collection: %s: %s", path, strerror(-r));
	r = try_open(g, path);
	if (r < 0) {
		_cleanup_(freep) char *wal = NULL;
		_cleanup_(freep) char *shm = NULL;

		cbtship_log("collect %s: the reference counts %s are unusable (%s): made anew",
			    g->repo->container, path, g->db ? sqlite3_errmsg(g->db) : "open");
		close_db(g);
		unlink(path);
		if (asprintf(&wal, "%s-wal", path) >= 0)
			unlink(wal);
		if (asprintf(&shm, "%s-shm", path) >= 0)
			unlink(shm);
		r = try_open(g, path);
		if (r < 0)
			return set_error(g, -EIO, "garbage collection: reference counts %s: %s",
					 path, g->db ? sqlite3_errmsg(g->db) : "cannot open");
	}
	if (cbt_is_pack_store(g->repo->store)) {
		struct cbt_location_cache *lc = cbt_pack_store_cache(g->repo->store);

		if (!lc)
			return set_error(g, -EIO, "garbage collection: no location cache");
		if (sqlite3_prepare_v2(g->db, "ATTACH DATABASE ?1 AS lc", -1, &st, NULL) !=
		    SQLITE_OK)
			return db_fail(g);
		sqlite3_bind_text(st, 1, cbt_location_cache_file(lc), -1, SQLITE_STATIC);
		r = sqlite3_step(st);
		sqlite3_finalize(st);
		if (r != SQLITE_DONE)
			return db_fail(g);
		g->attached = true;
	}
	if (sqlite3_prepare_v2(g->db,
			       "INSERT INTO refs VALUES (?1, ?2, 1) ON CONFLICT (page, id)"
			       " DO UPDATE SET count = count + 1 RETURNING count",
			       -1, &g->inc, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g->db,
			       "UPDATE refs SET count = count - 1 WHERE page = ?1 AND id = ?2"
			       " RETURNING count",
			       -1, &g->dec, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g->db, "DELETE FROM refs WHERE page = ?1 AND id = ?2", -1, &g->drop,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g->db, "INSERT OR IGNORE INTO temp.changed VALUES (?1, ?2)", -1,
			       &g->changed, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g->db,
			       "INSERT INTO temp.doomed SELECT ?1, ?2, ?3 WHERE NOT EXISTS"
			       " (SELECT 1 FROM refs WHERE page = ?1 AND id = ?2)",
			       -1, &g->doomed, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g->db, "SELECT 1 FROM temp.listed WHERE id = ?", -1, &g->listed_has,
			       NULL) != SQLITE_OK)
		return db_fail(g);
	/*
	 * Deferred, not IMMEDIATE: that would take the write lock of lc too,
	 * and the pack store writes it (a new pack found while reading pages).
	 * Only main is written; lc is read after the sync.
	 */
	if (exec(g, "BEGIN") < 0)
		return -EIO;
	g->in_txn = true;
	if (meta_get(g, "live", 0, &g->live) < 0)
		return -EIO;
	return 0;
}

/* The pass's counts and accounting made durable (before anything is deleted). */
static int commit_pass(struct gc *g)
{
	int64_t n;
	int r;

	r = meta_set(g, "live", g->live);
	if (r >= 0)
		r = query_i64(g, "SELECT COUNT(*) FROM manifests", &n);
	if (r < 0)
		return r;
	g->stats.manifests = (uint64_t)n;
	g->stats.objects_marked = (uint64_t)g->live;
	r = exec(g, "COMMIT");
	if (r >= 0)
		g->in_txn = false;
	return r;
}

static int collect(struct gc *g)
{
	_cleanup_(freep) char *msg = NULL;
	struct cbt_store *ls = NULL;
	int r;

	r = cbt_repository_lease_store(g->repo, &ls, &msg);
	if (r < 0)
		return set_error(g, r, "%s", msg ? msg : strerror(-r));
	r = cbt_lease_take(ls, CBT_LEASE_GC, NULL, &g->times, &g->lease, &msg);
	if (r < 0)
		return set_error(g, r, "%s", msg ? msg : strerror(-r));
	/*
	 * A backup whose lease write came before ours is in the listing after
	 * the settle time; one that writes later sees ours and waits for it.
	 */
	if (g->times.settle)
		sleep(g->times.settle);
	(void)cbt_lease_remove_stale(cbt_lease_store(g->lease), cbt_lease_key(g->lease), &g->times);
	r = check_leases(g);
	/* Opened once this collection is the one running: one pass at a time per file. */
	if (r >= 0)
		r = open_db(g);
	if (r >= 0)
		r = count_pass(g);
	if (r >= 0) {
		r = cbt_store_list(g->repo->store, CBT_CHUNK_KEY_PREFIX, find_doomed, g);
		if (r >= 0)
			r = cbt_store_list(g->repo->store, CBT_INDEX_KEY_PREFIX, find_doomed, g);
		if (r < 0 && !(g->ret_error && *g->ret_error))
			set_error(g, r, "listing the objects: %s", strerror(-r));
	}
	/* Right before deleting: the leases, and manifests that appeared since. */
	if (r >= 0)
		r = check_leases(g);
	if (r >= 0)
		r = count_pass(g);
	if (r >= 0 && g->attached) {
		struct cbt_location_sync_stats ss;

		free(msg);
		msg = NULL;
		r = cbt_pack_store_sync(g->repo->store, &ss, &msg);
		if (r < 0)
			set_error(g, r, "syncing the location cache: %s", msg ? msg : strerror(-r));
		if (r >= 0)
			r = account(g, true);
	}
	if (r >= 0)
		r = verify(g);
	if (r >= 0)
		r = commit_pass(g);
	if (r >= 0)
		r = sweep(g);
	if (r >= 0)
		r = sweep_packs(g);
	if (r >= 0)
		g->stats.refs_rebuilt = g->rebuild;
	return r;
}

int cbt_collect_repository(struct cbt_repository *repo, const struct cbt_gc_options *o,
			   struct cbt_gc_stats *ret, char **ret_error)
{
	struct gc g = { .repo = repo, .o = o, .ret_error = ret_error };
	double start = now_seconds();
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (o && o->times)
		g.times = *o->times;
	else
		cbt_lease_times_configured(&g.times);
	r = collect(&g);
	if (g.in_txn)
		(void)sqlite3_exec(g.db, "ROLLBACK", NULL, NULL, NULL);
	/*
	 * After deletes, the lease is held one more settle time: a backup
	 * waiting for it then lists the store no sooner than that after the
	 * last delete, so an eventually consistent listing no longer shows a
	 * deleted pack that it could take for a place to deduplicate against.
	 */
	if (g.lease && g.times.settle &&
	    g.stats.chunks_deleted + g.stats.pages_deleted + g.stats.packs_deleted +
			    g.stats.packs_rewritten >
		    0)
		sleep(g.times.settle);
	g.lease = cbt_lease_release(g.lease);
	g.stats.refs_rebuilt = g.rebuild;
	g.stats.seconds = now_seconds() - start;
	if (ret)
		*ret = g.stats;
	close_db(&g);
	return r;
}

int cbt_collect_container(struct catalog *c, enum cbt_service service, const char *container,
			  struct cbt_gc_stats *ret, char **ret_error)
{
	_cleanup_(cbt_repository_freep) struct cbt_repository *repo = NULL;
	struct cbt_gc_options o = { .catalog = c };
	struct cbt_gc_stats gs = { 0 };
	int64_t seq = 0;
	int marked, r;

	if (ret_error)
		*ret_error = NULL;
	r = cbt_repository_open(service, container, 0, &repo, ret_error);
	if (r < 0)
		return r;
	/* The optimisation: a backup of this host runs there, so the leases would say so. */
	r = cbt_repository_trylock(repo, true);
	if (r == -EWOULDBLOCK) {
		if (ret_error && asprintf(ret_error,
					  "a backup of this host runs in container %s: the "
					  "collection runs later",
					  repo->container) < 0)
			*ret_error = NULL;
		return -EAGAIN;
	}
	cbt_repository_unlock(repo);
	marked = catalog_garbage_get(c, service, repo->container, &seq);
	r = cbt_collect_repository(repo, &o, &gs, ret_error);
	if (ret)
		*ret = gs;
	if (r < 0) {
		cbtship_log("collect %s %s: %s: %s", cbt_service_to_string(service),
			    repo->container, r == -EAGAIN ? "yielded" : "failed",
			    ret_error && *ret_error ? *ret_error : strerror(-r));
		return r;
	}
	if (marked > 0 && catalog_garbage_clear(c, service, repo->container, seq) < 0)
		cbtship_log("collect %s %s: cannot clear its garbage mark: %s",
			    cbt_service_to_string(service), repo->container, catalog_error(c));
	cbtship_log("collect %s %s: done in %.1f s: %" PRIu64 " manifests, %" PRIu64
		    " pages walked, %" PRIu64 " shared pages skipped, %" PRIu64
		    " loose objects listed, %" PRIu64 " chunks and %" PRIu64
		    " index pages deleted; %" PRIu64 " packs of %" PRIu64 " bytes (%" PRIu64
		    " unused): %" PRIu64 " deleted, %" PRIu64 " rewritten (%" PRIu64
		    " entries copied); %" PRIu64 " reference counts changed%s, %" PRIu64
		    " packs of %" PRIu64 " accounted again",
		    cbt_service_to_string(service), repo->container, gs.seconds, gs.manifests,
		    gs.pages_walked, gs.pages_shared, gs.objects_listed, gs.chunks_deleted,
		    gs.pages_deleted, gs.packs, gs.pack_bytes, gs.pack_bytes_unused,
		    gs.packs_deleted, gs.packs_rewritten, gs.entries_copied, gs.refs_changed,
		    gs.refs_rebuilt ? " (rebuilt from every manifest)" : "", gs.packs_touched,
		    gs.packs);
	return 0;
}
