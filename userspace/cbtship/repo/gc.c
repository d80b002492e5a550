/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Mark and sweep of a container's content-addressed objects, under a gc lease (gc.h). */
#include <errno.h>
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

/* Seconds between looks at the leases while marking and sweeping. */
#define LEASE_CHECK_SECONDS 2.0

struct gc {
	struct cbt_repository *repo;
	const struct cbt_gc_options *o;
	struct cbt_lease_times times;
	struct cbt_lease *lease;
	sqlite3 *db;
	sqlite3_stmt *mark, *doomed, *manifest_add, *manifest_has;
	struct cbt_gc_stats stats;
	double next_check;
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
	return set_error(g, -EIO, "garbage collection: temporary table: %s", sqlite3_errmsg(g->db));
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

static int mark_ref(enum cbt_index_ref kind, const struct cbt_chunk_id *id, void *userdata)
{
	struct gc *g = userdata;
	int changes, r;

	sqlite3_bind_int(g->mark, 1, kind == CBT_INDEX_REF_PAGE);
	sqlite3_bind_blob(g->mark, 2, id->bytes, CBT_CHUNK_ID_SIZE, SQLITE_STATIC);
	if (sqlite3_step(g->mark) != SQLITE_DONE)
		return db_fail(g);
	changes = sqlite3_changes(g->db);
	sqlite3_reset(g->mark);
	g->stats.objects_marked += (uint64_t)changes;
	if (kind == CBT_INDEX_REF_PAGE) {
		if (!changes) {
			/* Marked with everything under it already: not walked again. */
			g->stats.pages_shared++;
			return CBT_INDEX_SKIP;
		}
		g->stats.pages_walked++;
		r = maybe_check_leases(g);
		if (r < 0)
			return r;
	}
	return 0;
}

static int mark_manifest(struct gc *g, const char *backup_id)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL;
	struct cbt_index_error err = { 0 };
	char *msg = NULL;
	int r;

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
					 backup_id, m->key_fingerprint);
		if (strcmp(g->repo->key->fingerprint, m->key_fingerprint) != 0)
			return set_error(g, -EKEYREJECTED,
					 "backup %s is encrypted with another key (fingerprint %s, "
					 "not %s's %s): its index cannot be read, so nothing was "
					 "deleted",
					 backup_id, m->key_fingerprint, g->repo->key->path,
					 g->repo->key->fingerprint);
	} else if (m->hashing != CBT_MANIFEST_HASH_SHA256)
		return set_error(g, -EOPNOTSUPP,
				 "backup %s uses a keyed repository: collection needs its key",
				 backup_id);
	g->stats.manifests++;
	if (m->encryption != CBT_MANIFEST_ENCRYPTION_NONE)
		r = cbt_index_foreach_page_sealed(g->repo->store, g->repo->key_hasher,
						  g->repo->compressor, g->repo->cipher,
						  &m->index.root, m->nr_chunks, mark_ref, g, &err);
	else
		r = cbt_index_foreach_page(g->repo->store, g->repo->hasher, g->repo->compressor,
					   &m->index.root, m->nr_chunks, mark_ref, g, &err);
	if (r == -EAGAIN || r == -ETIMEDOUT)
		return r; /* the message is set */
	if (r < 0)
		return set_error(g, r,
				 "index of backup %s cannot be walked (%s): nothing was deleted",
				 backup_id, err.error ? err.message : strerror(-r));
	return 0;
}

/* A manifest listed: remember it; mark it when it is new. */
static int list_manifest(const char *backup_id, void *userdata)
{
	struct gc *g = userdata;
	int r;

	sqlite3_bind_text(g->manifest_add, 1, backup_id, -1, SQLITE_STATIC);
	r = sqlite3_step(g->manifest_add);
	sqlite3_reset(g->manifest_add);
	if (r != SQLITE_DONE)
		return db_fail(g);
	if (!sqlite3_changes(g->db))
		return 0; /* marked in an earlier pass */
	return mark_manifest(g, backup_id);
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
	sqlite3_bind_text(g->manifest_has, 1, b->id, -1, SQLITE_STATIC);
	r = sqlite3_step(g->manifest_has);
	sqlite3_reset(g->manifest_has);
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

/* Every manifest of the store marked, and every available backup of the catalog among them. */
static int mark_all(struct gc *g)
{
	struct catalog_backup_filter filter = {
		.admin = true,
		.by_status = true,
		.status = CATALOG_BACKUP_AVAILABLE,
	};
	struct known k = { .g = g };
	int r;

	r = cbt_manifest_list(g->repo->store, list_manifest, g);
	if (r < 0) {
		set_error(g, r, "listing the manifests: %s", strerror(-r));
		return r;
	}
	if (!g->o || !g->o->catalog)
		return 0;
	r = catalog_backup_foreach(g->o->catalog, &filter, check_known, &k);
	if (k.r < 0)
		return k.r;
	if (r < 0)
		return set_error(g, r, "reading the catalog: %s", catalog_error(g->o->catalog));
	return 0;
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
	if (sqlite3_step(g->doomed) != SQLITE_DONE)
		return db_fail(g);
	sqlite3_reset(g->doomed);
	return 0;
}

/* Delete what is listed and not marked (marks taken right before, new manifests included). */
static int sweep(struct gc *g)
{
	sqlite3_stmt *sel = NULL;
	int r = 0, step;

	if (sqlite3_prepare_v2(g->db,
			       "SELECT d.key, d.page FROM doomed d WHERE NOT EXISTS"
			       " (SELECT 1 FROM marks m WHERE m.page = d.page AND m.id = d.id)",
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

static int open_db(struct gc *g)
{
	if (sqlite3_open("", &g->db) != SQLITE_OK)
		return set_error(g, -ENOMEM, "garbage collection: cannot open a temporary table");
	if (sqlite3_exec(g->db,
			 "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
			 "PRAGMA cache_size=-8192;"
			 "CREATE TABLE marks (page INTEGER, id BLOB, PRIMARY KEY (page, id))"
			 " WITHOUT ROWID;"
			 "CREATE TABLE doomed (page INTEGER, id BLOB, key TEXT);"
			 "CREATE TABLE manifests (id TEXT PRIMARY KEY) WITHOUT ROWID;"
			 "BEGIN;",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g->db, "INSERT OR IGNORE INTO marks VALUES (?, ?)", -1, &g->mark,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g->db,
			       "INSERT INTO doomed SELECT ?1, ?2, ?3 WHERE NOT EXISTS"
			       " (SELECT 1 FROM marks WHERE page = ?1 AND id = ?2)",
			       -1, &g->doomed, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g->db, "INSERT OR IGNORE INTO manifests VALUES (?)", -1,
			       &g->manifest_add, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g->db, "SELECT 1 FROM manifests WHERE id = ?", -1, &g->manifest_has,
			       NULL) != SQLITE_OK)
		return db_fail(g);
	return 0;
}

static int collect(struct gc *g)
{
	_cleanup_(freep) char *msg = NULL;
	struct cbt_store *ls = NULL;
	int r;

	r = open_db(g);
	if (r < 0)
		return r;
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
	if (r >= 0)
		r = mark_all(g);
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
		r = mark_all(g);
	if (r >= 0)
		r = sweep(g);
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
	g.lease = cbt_lease_release(g.lease);
	g.stats.seconds = now_seconds() - start;
	if (ret)
		*ret = g.stats;
	sqlite3_finalize(g.mark);
	sqlite3_finalize(g.doomed);
	sqlite3_finalize(g.manifest_add);
	sqlite3_finalize(g.manifest_has);
	if (g.db)
		sqlite3_close(g.db);
	return r;
}

int cbt_collect_container(struct catalog *c, enum catalog_service service, const char *container,
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
		cbtship_log("collect %s %s: %s: %s", catalog_service_to_string(service),
			    repo->container, r == -EAGAIN ? "yielded" : "failed",
			    ret_error && *ret_error ? *ret_error : strerror(-r));
		return r;
	}
	if (marked > 0 && catalog_garbage_clear(c, service, repo->container, seq) < 0)
		cbtship_log("collect %s %s: cannot clear its garbage mark: %s",
			    catalog_service_to_string(service), repo->container, catalog_error(c));
	cbtship_log("collect %s %s: done in %.1f s: %" PRIu64 " manifests, %" PRIu64
		    " pages walked, %" PRIu64 " shared pages skipped, %" PRIu64
		    " objects listed, %" PRIu64 " chunks and %" PRIu64 " index pages deleted",
		    catalog_service_to_string(service), repo->container, gs.seconds, gs.manifests,
		    gs.pages_walked, gs.pages_shared, gs.objects_listed, gs.chunks_deleted,
		    gs.pages_deleted);
	return 0;
}
