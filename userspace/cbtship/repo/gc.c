/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Mark and sweep of a container's content-addressed objects. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cbtship/repo/gc.h"
#include "cbtship/repo/chunk-object.h"
#include "cbtship/repo/index.h"
#include "cbtship/repo/manifest.h"
#include "cbtship/repo/object-key.h"

struct gc {
	struct cbt_repository *repo;
	sqlite3 *db;
	sqlite3_stmt *mark, *is_marked, *doomed;
	struct cbt_gc_stats stats;
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

static int mark_ref(enum cbt_index_ref kind, const struct cbt_chunk_id *id, void *userdata)
{
	struct gc *g = userdata;

	sqlite3_bind_int(g->mark, 1, kind == CBT_INDEX_REF_PAGE);
	sqlite3_bind_blob(g->mark, 2, id->bytes, CBT_CHUNK_ID_SIZE, SQLITE_STATIC);
	if (sqlite3_step(g->mark) != SQLITE_DONE)
		return db_fail(g);
	g->stats.objects_marked += (uint64_t)sqlite3_changes(g->db);
	sqlite3_reset(g->mark);
	return 0;
}

static int mark_manifest(const char *backup_id, void *userdata)
{
	struct gc *g = userdata;
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL;
	struct cbt_index_error err = { 0 };
	char *msg = NULL;
	int r;

	r = cbt_manifest_read(g->repo->store, backup_id, &m, &msg);
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
		 * garbage stays until a delete that has every key it needs.
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
	if (r < 0)
		return set_error(g, r,
				 "index of backup %s cannot be walked (%s): nothing was deleted",
				 backup_id, err.error ? err.message : strerror(-r));
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
	sqlite3_bind_int(g->is_marked, 1, page);
	sqlite3_bind_blob(g->is_marked, 2, id.bytes, CBT_CHUNK_ID_SIZE, SQLITE_STATIC);
	if (sqlite3_step(g->is_marked) == SQLITE_ROW) {
		sqlite3_reset(g->is_marked);
		return 0;
	}
	sqlite3_reset(g->is_marked);
	sqlite3_bind_text(g->doomed, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int(g->doomed, 2, page);
	if (sqlite3_step(g->doomed) != SQLITE_DONE)
		return db_fail(g);
	sqlite3_reset(g->doomed);
	return 0;
}

static int sweep(struct gc *g)
{
	sqlite3_stmt *sel = NULL;
	int r = 0, step;

	if (sqlite3_prepare_v2(g->db, "SELECT key, page FROM doomed", -1, &sel, NULL) != SQLITE_OK)
		return db_fail(g);
	while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(sel, 0);

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
	return r;
}

int cbt_repository_collect(struct cbt_repository *repo, struct cbt_gc_stats *ret, char **ret_error)
{
	struct gc g = { .repo = repo, .ret_error = ret_error };
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (sqlite3_open("", &g.db) != SQLITE_OK) {
		r = set_error(&g, -ENOMEM, "garbage collection: cannot open a temporary table");
		goto out;
	}
	if (sqlite3_exec(g.db,
			 "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
			 "PRAGMA cache_size=-8192;"
			 "CREATE TABLE marks (page INTEGER, id BLOB, PRIMARY KEY (page, id))"
			 " WITHOUT ROWID;"
			 "CREATE TABLE doomed (key TEXT, page INTEGER);"
			 "BEGIN;",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g.db, "INSERT OR IGNORE INTO marks VALUES (?, ?)", -1, &g.mark,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g.db, "SELECT 1 FROM marks WHERE page = ? AND id = ?", -1,
			       &g.is_marked, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g.db, "INSERT INTO doomed VALUES (?, ?)", -1, &g.doomed, NULL) !=
		    SQLITE_OK) {
		r = db_fail(&g);
		goto out;
	}
	r = cbt_manifest_list(repo->store, mark_manifest, &g);
	if (r < 0) {
		set_error(&g, r, "listing the manifests: %s", strerror(-r));
		goto out;
	}
	r = cbt_store_list(repo->store, CBT_CHUNK_KEY_PREFIX, find_doomed, &g);
	if (r >= 0)
		r = cbt_store_list(repo->store, CBT_INDEX_KEY_PREFIX, find_doomed, &g);
	if (r < 0) {
		set_error(&g, r, "listing the objects: %s", strerror(-r));
		goto out;
	}
	r = sweep(&g);
out:
	if (ret)
		*ret = g.stats;
	sqlite3_finalize(g.mark);
	sqlite3_finalize(g.is_marked);
	sqlite3_finalize(g.doomed);
	if (g.db)
		sqlite3_close(g.db);
	return r;
}
