/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The location cache: an SQLite file of (id -> pack, offset, length), synced from the store. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cbt-bytes.h"
#include "cbtship/repo/location-cache.h"
#include "cbtship/state-dir.h"

#define SCHEMA_VERSION	"1"
#define BUSY_TIMEOUT_MS 60000

struct cbt_location_cache {
	sqlite3 *db;
	char *path;
	pthread_mutex_t lock;
	sqlite3_stmt *lookup;
	char error[512];
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=NORMAL;"
	"PRAGMA cache_size=-4096;"
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS packs (no INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" size INTEGER NOT NULL, entries INTEGER NOT NULL, bad TEXT);"
	"CREATE TABLE IF NOT EXISTS entries (id BLOB NOT NULL, type INTEGER NOT NULL,"
	" pack INTEGER NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL,"
	" PRIMARY KEY (id, type, pack)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS entries_pack ON entries (pack);"
	"INSERT OR IGNORE INTO meta VALUES ('schema', '" SCHEMA_VERSION "');";

static int sql_fail(struct cbt_location_cache *lc, const char *what)
{
	snprintf(lc->error, sizeof(lc->error), "location cache %s: %s: %s", lc->path, what,
		 sqlite3_errmsg(lc->db));
	return -EIO;
}

static void stmt_finalizep(sqlite3_stmt **st)
{
	if (*st)
		sqlite3_finalize(*st);
}

int cbt_location_cache_path(const char *service, const char *container, char **ret)
{
	_cleanup_(freep) char *name = strdup(container);

	if (!name)
		return -ENOMEM;
	for (char *p = name; *p; p++)
		if (*p == '/')
			*p = '_';
	if (asprintf(ret, "%s/packs/%s-%s.sqlite", cbtship_state_dir(), service, name) < 0)
		return -ENOMEM;
	return 0;
}

static int open_db(struct cbt_location_cache *lc)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
	bool ok;

	if (sqlite3_open_v2(lc->path, &lc->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		return sql_fail(lc, "open");
	sqlite3_busy_timeout(lc->db, BUSY_TIMEOUT_MS);
	if (sqlite3_exec(lc->db, schema, NULL, NULL, NULL) != SQLITE_OK)
		return sql_fail(lc, "schema");
	if (sqlite3_prepare_v2(lc->db, "SELECT value FROM meta WHERE key = 'schema'", -1, &st,
			       NULL) != SQLITE_OK)
		return sql_fail(lc, "schema");
	ok = sqlite3_step(st) == SQLITE_ROW &&
	     strcmp((const char *)sqlite3_column_text(st, 0), SCHEMA_VERSION) == 0;
	if (!ok) {
		snprintf(lc->error, sizeof(lc->error), "location cache %s: another schema",
			 lc->path);
		return -EIO;
	}
	if (sqlite3_prepare_v2(lc->db,
			       "SELECT p.name, e.offset, e.length FROM entries e JOIN packs p ON "
			       "p.no = e.pack WHERE e.id = ? AND e.type = ? LIMIT 1",
			       -1, &lc->lookup, NULL) != SQLITE_OK)
		return sql_fail(lc, "prepare");
	return 0;
}

static void close_db(struct cbt_location_cache *lc)
{
	if (lc->lookup)
		sqlite3_finalize(lc->lookup);
	lc->lookup = NULL;
	if (lc->db)
		sqlite3_close(lc->db);
	lc->db = NULL;
}

int cbt_location_cache_open(const char *path, struct cbt_location_cache **ret, char **ret_error)
{
	struct cbt_location_cache *lc;
	int r;

	if (ret_error)
		*ret_error = NULL;
	lc = calloc(1, sizeof(*lc));
	if (!lc)
		return -ENOMEM;
	pthread_mutex_init(&lc->lock, NULL);
	lc->path = strdup(path);
	if (!lc->path) {
		cbt_location_cache_free(lc);
		return -ENOMEM;
	}
	r = cbtship_make_parent_dirs(path);
	if (r >= 0) {
		r = open_db(lc);
		if (r < 0) {
			/* A cache: a file that is not one of this schema is made anew. */
			_cleanup_(freep) char *wal = NULL;
			_cleanup_(freep) char *shm = NULL;

			close_db(lc);
			unlink(path);
			if (asprintf(&wal, "%s-wal", path) >= 0)
				unlink(wal);
			if (asprintf(&shm, "%s-shm", path) >= 0)
				unlink(shm);
			r = open_db(lc);
		}
	} else
		snprintf(lc->error, sizeof(lc->error), "location cache %s: %s", path, strerror(-r));
	if (r < 0) {
		if (ret_error)
			*ret_error = strdup(lc->error);
		cbt_location_cache_free(lc);
		return r;
	}
	*ret = lc;
	return 0;
}

struct cbt_location_cache *cbt_location_cache_free(struct cbt_location_cache *lc)
{
	if (!lc)
		return NULL;
	close_db(lc);
	pthread_mutex_destroy(&lc->lock);
	free(lc->path);
	free(lc);
	return NULL;
}

const char *cbt_location_cache_file(const struct cbt_location_cache *lc)
{
	return lc->path;
}

const char *cbt_location_cache_error(const struct cbt_location_cache *lc)
{
	return lc->error;
}

int cbt_location_cache_lookup(struct cbt_location_cache *lc, enum cbt_pack_entry_type type,
			      const struct cbt_chunk_id *id, struct cbt_location *ret)
{
	int rc, r = 0;

	pthread_mutex_lock(&lc->lock);
	sqlite3_bind_blob(lc->lookup, 1, id->bytes, CBT_CHUNK_ID_SIZE, SQLITE_STATIC);
	sqlite3_bind_int(lc->lookup, 2, (int)type);
	rc = sqlite3_step(lc->lookup);
	if (rc == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(lc->lookup, 0);

		snprintf(ret->pack, sizeof(ret->pack), "%s", name ? name : "");
		ret->offset = (uint64_t)sqlite3_column_int64(lc->lookup, 1);
		ret->length = (uint32_t)sqlite3_column_int64(lc->lookup, 2);
		r = 1;
	} else if (rc != SQLITE_DONE)
		r = sql_fail(lc, "lookup");
	sqlite3_reset(lc->lookup);
	sqlite3_clear_bindings(lc->lookup);
	pthread_mutex_unlock(&lc->lock);
	return r;
}

/* Under the lock, in a transaction. */
static int add_pack_locked(struct cbt_location_cache *lc, const char *pack_key, uint64_t size,
			   const struct cbt_pack_entry *e, size_t n, const char *bad)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *ins_pack = NULL;
	_cleanup_(stmt_finalizep) sqlite3_stmt *ins = NULL;
	sqlite3_int64 no;

	if (sqlite3_prepare_v2(lc->db, "INSERT OR IGNORE INTO packs VALUES (NULL, ?, ?, ?, ?)", -1,
			       &ins_pack, NULL) != SQLITE_OK)
		return sql_fail(lc, "prepare");
	sqlite3_bind_text(ins_pack, 1, pack_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins_pack, 2, (sqlite3_int64)size);
	sqlite3_bind_int64(ins_pack, 3, (sqlite3_int64)n);
	if (bad)
		sqlite3_bind_text(ins_pack, 4, bad, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(ins_pack, 4);
	if (sqlite3_step(ins_pack) != SQLITE_DONE)
		return sql_fail(lc, "adding a pack");
	if (sqlite3_changes(lc->db) == 0)
		return 0; /* known already (another process added it) */
	no = sqlite3_last_insert_rowid(lc->db);
	if (sqlite3_prepare_v2(lc->db, "INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?)", -1,
			       &ins, NULL) != SQLITE_OK)
		return sql_fail(lc, "prepare");
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_blob(ins, 1, e[i].id.bytes, CBT_CHUNK_ID_SIZE, SQLITE_STATIC);
		sqlite3_bind_int(ins, 2, e[i].type);
		sqlite3_bind_int64(ins, 3, no);
		sqlite3_bind_int64(ins, 4, (sqlite3_int64)e[i].offset);
		sqlite3_bind_int64(ins, 5, (sqlite3_int64)e[i].length);
		if (sqlite3_step(ins) != SQLITE_DONE)
			return sql_fail(lc, "adding an entry");
		sqlite3_reset(ins);
	}
	return 0;
}

static int add_pack(struct cbt_location_cache *lc, const char *pack_key, uint64_t size,
		    const struct cbt_pack_entry *e, size_t n, const char *bad)
{
	int r;

	pthread_mutex_lock(&lc->lock);
	if (sqlite3_exec(lc->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		r = sql_fail(lc, "begin");
		pthread_mutex_unlock(&lc->lock);
		return r;
	}
	r = add_pack_locked(lc, pack_key, size, e, n, bad);
	if (r >= 0 && sqlite3_exec(lc->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		r = sql_fail(lc, "commit");
	if (r < 0)
		sqlite3_exec(lc->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&lc->lock);
	return r;
}

int cbt_location_cache_add_pack(struct cbt_location_cache *lc, const char *pack_key, uint64_t size,
				const struct cbt_pack_entry *e, size_t n)
{
	return add_pack(lc, pack_key, size, e, n, NULL);
}

/* Under the lock. */
static int remove_pack_locked(struct cbt_location_cache *lc, const char *pack_key)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(
		    lc->db,
		    "DELETE FROM entries WHERE pack = (SELECT no FROM packs WHERE name = ?)", -1,
		    &st, NULL) != SQLITE_OK)
		return sql_fail(lc, "prepare");
	sqlite3_bind_text(st, 1, pack_key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sql_fail(lc, "removing a pack");
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(lc->db, "DELETE FROM packs WHERE name = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return sql_fail(lc, "prepare");
	sqlite3_bind_text(st, 1, pack_key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sql_fail(lc, "removing a pack");
	return 0;
}

int cbt_location_cache_remove_pack(struct cbt_location_cache *lc, const char *pack_key)
{
	int r;

	pthread_mutex_lock(&lc->lock);
	if (sqlite3_exec(lc->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		r = sql_fail(lc, "begin");
		pthread_mutex_unlock(&lc->lock);
		return r;
	}
	r = remove_pack_locked(lc, pack_key);
	if (r >= 0 && sqlite3_exec(lc->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		r = sql_fail(lc, "commit");
	if (r < 0)
		sqlite3_exec(lc->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&lc->lock);
	return r;
}

int cbt_location_cache_has_pack(struct cbt_location_cache *lc, const char *pack_key)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
	int r, rc;

	pthread_mutex_lock(&lc->lock);
	if (sqlite3_prepare_v2(lc->db, "SELECT 1 FROM packs WHERE name = ?", -1, &st, NULL) !=
	    SQLITE_OK) {
		r = sql_fail(lc, "prepare");
	} else {
		sqlite3_bind_text(st, 1, pack_key, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		r = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : sql_fail(lc, "lookup");
	}
	pthread_mutex_unlock(&lc->lock);
	return r;
}

int cbt_location_cache_count(struct cbt_location_cache *lc, uint64_t *ret_packs,
			     uint64_t *ret_entries)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
	int r = 0;

	pthread_mutex_lock(&lc->lock);
	if (sqlite3_prepare_v2(
		    lc->db, "SELECT (SELECT count(*) FROM packs), (SELECT count(*) FROM entries)",
		    -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		r = sql_fail(lc, "count");
	else {
		if (ret_packs)
			*ret_packs = (uint64_t)sqlite3_column_int64(st, 0);
		if (ret_entries)
			*ret_entries = (uint64_t)sqlite3_column_int64(st, 1);
	}
	pthread_mutex_unlock(&lc->lock);
	return r;
}

/* ---- sync */

struct sync {
	struct cbt_location_cache *lc;
	sqlite3_stmt *ins;
	int error;
};

static int collect_listed(const char *key, void *userdata)
{
	struct sync *s = userdata;
	struct cbt_pack_id id;

	if (cbt_pack_key_parse(key, &id) < 0)
		return 0; /* not a pack: a stray object, ignored */
	sqlite3_bind_text(s->ins, 1, key, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s->ins) != SQLITE_DONE)
		return sql_fail(s->lc, "listing");
	sqlite3_reset(s->ins);
	return 0;
}

/* The first name of a temporary table after prev ("" for the first): 1, 0 at the end. */
static int next_in(struct cbt_location_cache *lc, const char *table, const char *prev, char *buf,
		   size_t len)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
	char sql[128];
	int rc, r;

	snprintf(sql, sizeof(sql), "SELECT name FROM %s WHERE name > ? ORDER BY name LIMIT 1",
		 table);
	pthread_mutex_lock(&lc->lock);
	if (sqlite3_prepare_v2(lc->db, sql, -1, &st, NULL) != SQLITE_OK) {
		r = sql_fail(lc, "prepare");
	} else {
		sqlite3_bind_text(st, 1, prev, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
			r = 1;
		} else
			r = rc == SQLITE_DONE ? 0 : sql_fail(lc, "sync");
	}
	pthread_mutex_unlock(&lc->lock);
	return r;
}

/* A single-integer query. */
static int64_t query_int(struct cbt_location_cache *lc, const char *sql)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(lc->db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		return -1;
	return sqlite3_column_int64(st, 0);
}

int cbt_location_cache_sync(struct cbt_location_cache *lc, struct cbt_store *store,
			    const struct cbt_pack_codec *pc,
			    struct cbt_location_sync_stats *ret_stats, char **ret_error)
{
	struct cbt_location_sync_stats stats = { 0 };
	struct sync s = { .lc = lc };
	char key[CBT_PACK_KEY_SIZE];
	int r;

	if (ret_error)
		*ret_error = NULL;
	/* The listing into a temporary table (on disk: bounded memory). */
	pthread_mutex_lock(&lc->lock);
	r = sqlite3_exec(lc->db,
			 "CREATE TEMP TABLE IF NOT EXISTS listed (name TEXT PRIMARY KEY);"
			 "DELETE FROM listed;",
			 NULL, NULL, NULL) == SQLITE_OK
		    ? 0
		    : sql_fail(lc, "temporary table");
	if (r >= 0 && sqlite3_prepare_v2(lc->db, "INSERT OR IGNORE INTO listed VALUES (?)", -1,
					 &s.ins, NULL) != SQLITE_OK)
		r = sql_fail(lc, "prepare");
	pthread_mutex_unlock(&lc->lock);
	if (r >= 0) {
		/* The callback runs in this thread; the lock is not needed by the store. */
		pthread_mutex_lock(&lc->lock);
		sqlite3_exec(lc->db, "BEGIN", NULL, NULL, NULL);
		r = cbt_store_list(store, CBT_PACK_KEY_PREFIX, collect_listed, &s);
		sqlite3_exec(lc->db, r < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
		pthread_mutex_unlock(&lc->lock);
		if (r < 0 && ret_error)
			*ret_error = cbt_strdup_printf("listing the packs: %s",
						       lc->error[0] ? lc->error : strerror(-r));
	}
	if (s.ins)
		sqlite3_finalize(s.ins);
	if (r < 0)
		return r;

	/*
	 * Recorded but not listed: gone, or written so lately that the
	 * listing does not show it yet (Swift updates listings
	 * asynchronously). Each is asked for (HEAD) and forgotten only when
	 * the store says it is not there.
	 */
	pthread_mutex_lock(&lc->lock);
	if (sqlite3_exec(lc->db,
			 "CREATE TEMP TABLE IF NOT EXISTS gonep (name TEXT PRIMARY KEY);"
			 "DELETE FROM gonep;"
			 "INSERT INTO gonep SELECT name FROM packs WHERE name NOT IN"
			 " (SELECT name FROM listed);"
			 "CREATE TEMP TABLE IF NOT EXISTS newp (name TEXT PRIMARY KEY);"
			 "DELETE FROM newp;"
			 "INSERT INTO newp SELECT name FROM listed WHERE name NOT IN"
			 " (SELECT name FROM packs);",
			 NULL, NULL, NULL) != SQLITE_OK)
		r = sql_fail(lc, "comparing with the listing");
	else
		stats.packs_listed = (uint64_t)query_int(lc, "SELECT count(*) FROM listed");
	pthread_mutex_unlock(&lc->lock);
	key[0] = '\0';
	while (r >= 0) {
		char prev[CBT_PACK_KEY_SIZE];

		snprintf(prev, sizeof(prev), "%s", key);
		r = next_in(lc, "gonep", prev, key, sizeof(key));
		if (r <= 0)
			break;
		r = cbt_store_exists(store, key);
		if (r == 0) {
			r = cbt_location_cache_remove_pack(lc, key);
			if (r >= 0)
				stats.packs_removed++;
		} else
			r = 0; /* there (not listed yet), or unknown: kept */
	}
	key[0] = '\0';
	while (r >= 0) {
		_cleanup_(freep) struct cbt_pack_entry *e = NULL;
		size_t n = 0;
		uint64_t size = 0;

		char prev[CBT_PACK_KEY_SIZE];

		snprintf(prev, sizeof(prev), "%s", key);
		r = next_in(lc, "newp", prev, key, sizeof(key));
		if (r <= 0)
			break;
		r = cbt_pack_read_table(store, key, pc, &e, &n, &size);
		if (r == -ENOENT) {
			r = 0; /* deleted since the listing */
			continue;
		}
		if (r == -ENOKEY || r == -EBADE || r == -EKEYREJECTED) {
			r = 0; /* sealed (or another key's): read by a sync that has the key */
			stats.packs_sealed++;
			continue;
		}
		if (r < 0 && r != -ENOMEM && r != -EIO && r != -EAGAIN && r != -ETIMEDOUT &&
		    r != -ECONNREFUSED && r != -EACCES) {
			/* The pack is damaged: recorded as bad, not read again. */
			r = add_pack(lc, key, size, NULL, 0, cbt_pack_strerror(r));
			stats.packs_bad++;
			continue;
		}
		if (r < 0) {
			if (ret_error)
				*ret_error = cbt_strdup_printf("reading the table of pack %s: %s",
							       key, cbt_pack_strerror(r));
			break;
		}
		r = add_pack(lc, key, size, e, n, NULL);
		if (r >= 0) {
			stats.packs_added++;
			stats.entries_added += n;
		}
	}
	if (r < 0 && ret_error && !*ret_error)
		*ret_error = strdup(lc->error[0] ? lc->error : strerror(-r));
	if (ret_stats)
		*ret_stats = stats;
	return r < 0 ? r : 0;
}
