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
#include "cbtship/repo/pack-store.h"

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
	uint64_t entry_bytes; /* of the packs' entries */
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

/* Run sql with no row; -EIO with the message. */
static int exec(struct gc *g, const char *sql)
{
	return sqlite3_exec(g->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : db_fail(g);
}

/* The packs (name, size, kept bytes) into plan, and what is kept where into keep. */
static int plan_packs(struct gc *g, struct cbt_location_cache *lc)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (exec(g, "COMMIT") < 0)
		return -EIO;
	if (sqlite3_prepare_v2(g->db, "ATTACH DATABASE ?1 AS lc", -1, &st, NULL) != SQLITE_OK)
		return db_fail(g);
	sqlite3_bind_text(st, 1, cbt_location_cache_file(lc), -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return db_fail(g);
	/*
	 * Each marked id is kept in one readable pack: the one recorded last
	 * (a rewrite's new pack has a larger number than the pack it copies).
	 */
	r = exec(g, "CREATE TEMP TABLE keep AS"
		    " SELECT e.type AS type, e.id AS id, MAX(e.pack) AS pack"
		    " FROM marks m JOIN lc.entries e ON e.id = m.id AND e.type = m.page"
		    " JOIN lc.packs p ON p.no = e.pack AND p.bad IS NULL"
		    " GROUP BY e.type, e.id;"
		    "CREATE INDEX temp.keep_pack ON keep (pack);"
		    "CREATE TEMP TABLE plan AS"
		    " SELECT p.no AS no, p.name AS name, p.size AS size,"
		    " (SELECT COALESCE(SUM(e.length), 0) FROM keep k JOIN lc.entries e"
		    "  ON e.id = k.id AND e.type = k.type AND e.pack = k.pack"
		    "  WHERE k.pack = p.no) AS live,"
		    " (SELECT COALESCE(SUM(e.length), 0) FROM lc.entries e WHERE e.pack = p.no)"
		    "  AS entry_bytes"
		    " FROM lc.packs p WHERE p.bad IS NULL;");
	if (r < 0)
		return r;
	/* Unused: entries no manifest references, or kept elsewhere (tables and trailers are not).
	 */
	if (sqlite3_prepare_v2(g->db,
			       "SELECT COUNT(*), SUM(size), SUM(entry_bytes), SUM(live) FROM plan",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(g);
	if (sqlite3_step(st) == SQLITE_ROW) {
		g->stats.packs = (uint64_t)sqlite3_column_int64(st, 0);
		g->stats.pack_bytes = (uint64_t)sqlite3_column_int64(st, 1);
		g->entry_bytes = (uint64_t)sqlite3_column_int64(st, 2);
		g->stats.pack_bytes_unused = g->entry_bytes - (uint64_t)sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	return 0;
}

/*
 * May the pack no (whose kept entries, if any, are copied elsewhere
 * durably) go? Every other pack holding a kept copy of its marked
 * entries must exist now (a HEAD: a listing may still show a deleted
 * pack). 1 yes, 0 no (counted), or a negative errno.
 */
static int copies_confirmed(struct gc *g, struct cbt_store *inner, int64_t no)
{
	sqlite3_stmt *st = NULL;
	int r = 1, step;

	if (sqlite3_prepare_v2(
		    g->db,
		    "SELECT DISTINCT p.name FROM lc.entries e JOIN keep k"
		    " ON k.id = e.id AND k.type = e.type JOIN lc.packs p ON p.no = k.pack"
		    " WHERE e.pack = ?1 AND k.pack != ?1",
		    -1, &st, NULL) != SQLITE_OK)
		return db_fail(g);
	sqlite3_bind_int64(st, 1, no);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int e = cbt_store_exists(inner, name);

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
		       const char *name)
{
	int r = maybe_check_leases(g);

	if (r < 0)
		return r;
	r = cbt_store_delete(inner, name);
	if (r < 0 && r != -ENOENT)
		return set_error(g, r, "deleting pack %s: %s", name, strerror(-r));
	if (cbt_location_cache_remove_pack(lc, name) < 0)
		cbtship_log("collect: the location cache keeps the deleted pack %s: %s", name,
			    cbt_location_cache_error(lc));
	return 0;
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
		    "SELECT e.type, e.id, e.offset, e.length FROM keep k JOIN lc.entries e"
		    " ON e.id = k.id AND e.type = k.type AND e.pack = k.pack"
		    " WHERE k.pack = ? ORDER BY e.offset",
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

/* Deletes the packs with nothing kept, then rewrites while too much is unused. */
static int sweep_packs(struct gc *g)
{
	struct cbt_store *ps = g->repo->store, *inner;
	struct cbt_location_cache *lc;
	struct cbt_location_sync_stats ss;
	_cleanup_(freep) struct pack_row *rows = NULL;
	_cleanup_(freep) char *msg = NULL;
	size_t n = 0, cap = 0, chosen = 0;
	sqlite3_stmt *st = NULL;
	uint64_t total, unused;
	int max_unused, r, step;

	if (!cbt_is_pack_store(ps))
		return 0;
	inner = cbt_pack_store_inner(ps);
	lc = cbt_pack_store_cache(ps);
	r = cbt_pack_store_sync(ps, &ss, &msg);
	if (r < 0)
		return set_error(g, r, "syncing the location cache: %s", msg ? msg : strerror(-r));
	r = plan_packs(g, lc);
	if (r < 0)
		return r;
	/* Most unused first; the empty ones lead. */
	if (sqlite3_prepare_v2(g->db,
			       "SELECT no, name, entry_bytes, live FROM plan"
			       " ORDER BY CAST(live AS REAL) / MAX(entry_bytes, 1), no",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(g);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct pack_row *nr = realloc(rows, ncap * sizeof(*rows));

			if (!nr) {
				sqlite3_finalize(st);
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
	if (step != SQLITE_DONE)
		return db_fail(g);
	total = g->entry_bytes;
	unused = g->stats.pack_bytes_unused;
	max_unused = g->o && g->o->max_unused_set ? g->o->max_unused
		     : cbtship_config()		  ? cbtship_config()->backup_collect_max_unused
						  : 5;
	for (size_t i = 0; i < n && rows[i].live == 0; i++) {
		r = copies_confirmed(g, inner, rows[i].no);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		r = delete_pack(g, inner, lc, rows[i].name);
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
		r = copies_confirmed(g, inner, rows[i].no);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		r = delete_pack(g, inner, lc, rows[i].name);
		if (r < 0)
			return r;
		g->stats.packs_rewritten++;
	}
	return 0;
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
	if (r >= 0)
		r = sweep_packs(g);
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
		    " loose objects listed, %" PRIu64 " chunks and %" PRIu64
		    " index pages deleted; %" PRIu64 " packs of %" PRIu64 " bytes (%" PRIu64
		    " unused): %" PRIu64 " deleted, %" PRIu64 " rewritten (%" PRIu64
		    " entries copied)",
		    catalog_service_to_string(service), repo->container, gs.seconds, gs.manifests,
		    gs.pages_walked, gs.pages_shared, gs.objects_listed, gs.chunks_deleted,
		    gs.pages_deleted, gs.packs, gs.pack_bytes, gs.pack_bytes_unused,
		    gs.packs_deleted, gs.packs_rewritten, gs.entries_copied);
	return 0;
}
