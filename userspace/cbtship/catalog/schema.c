/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The catalog schema and its forward migrations. migrations[i] takes a
 * catalog from version i to i + 1; each runs in the same transaction as
 * its schema_version row. Never edit a released migration: append one.
 * The tables are described in catalog.h.
 */
#include <errno.h>
#include <string.h>

#include "cbtship/catalog/catalog-internal.h"

#define STR_(x) #x
#define STR(x)	STR_(x)

static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE volumes ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  name TEXT NOT NULL UNIQUE,"
	"  project TEXT NOT NULL,"
	"  origin_path TEXT NOT NULL,"
	"  origin_size INTEGER NOT NULL CHECK (origin_size >= 0),"
	"  origin_uuid TEXT,"
	"  block_size INTEGER NOT NULL DEFAULT 0 CHECK (block_size >= 0),"
	"  chunk_size INTEGER NOT NULL CHECK (chunk_size >= 0),"
	"  tracked INTEGER NOT NULL CHECK (tracked IN (0, 1)),"
	"  last_generation TEXT,"
	"  last_checkpoint INTEGER NOT NULL DEFAULT 0,"
	"  status TEXT NOT NULL CHECK (status IN ('ok', 'error')),"
	"  status_reason TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	");"
	"CREATE INDEX volumes_project ON volumes (project);"
	"CREATE TABLE backups ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  id TEXT NOT NULL UNIQUE,"
	"  volume_id TEXT NOT NULL,"
	"  project TEXT NOT NULL,"
	"  name TEXT,"
	"  description TEXT,"
	"  status TEXT NOT NULL CHECK (status IN ('creating', 'available', 'deleting',"
	"    'restoring', 'error', 'error_deleting')),"
	"  fail_reason TEXT,"
	"  parent_id TEXT,"
	"  is_incremental INTEGER NOT NULL CHECK (is_incremental IN (0, 1)),"
	"  container TEXT,"
	"  service TEXT NOT NULL CHECK (service IN ('posix', 'swift', 'ceph', 'nfs')),"
	"  snapshot_id TEXT,"
	"  checkpoint INTEGER NOT NULL DEFAULT 0,"
	"  generation TEXT,"
	"  volume_size INTEGER NOT NULL CHECK (volume_size >= 0),"
	"  chunk_size INTEGER NOT NULL CHECK (chunk_size >= 0),"
	"  bytes_read INTEGER NOT NULL DEFAULT 0,"
	"  bytes_stored INTEGER NOT NULL DEFAULT 0,"
	"  chunks_total INTEGER NOT NULL DEFAULT 0,"
	"  chunks_new INTEGER NOT NULL DEFAULT 0,"
	"  chunks_zero INTEGER NOT NULL DEFAULT 0,"
	"  object_count INTEGER NOT NULL DEFAULT 0,"
	"  quota_gigabytes INTEGER NOT NULL CHECK (quota_gigabytes >= 0),"
	"  quota_state TEXT NOT NULL CHECK (quota_state IN ('reserved', 'committed',"
	"    'released')),"
	"  data_timestamp INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  started_at INTEGER,"
	"  finished_at INTEGER,"
	"  owner_pid INTEGER,"
	"  owner_host TEXT,"
	"  heartbeat_at INTEGER"
	");"
	"CREATE INDEX backups_volume ON backups (volume_id, status);"
	"CREATE INDEX backups_project ON backups (project, quota_state);"
	"CREATE INDEX backups_parent ON backups (parent_id);"
	"CREATE INDEX backups_status ON backups (status);"
	"CREATE TABLE projects ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  backups_limit INTEGER NOT NULL CHECK (backups_limit >= -1),"
	"  gigabytes_limit INTEGER NOT NULL CHECK (gigabytes_limit >= -1),"
	"  updated_at INTEGER NOT NULL"
	");"
	"CREATE VIEW quota_usage AS SELECT project,"
	"  SUM(quota_state = 'committed') AS backups_in_use,"
	"  SUM(quota_state = 'reserved') AS backups_reserved,"
	"  SUM(CASE quota_state WHEN 'committed' THEN quota_gigabytes ELSE 0 END)"
	"    AS gigabytes_in_use,"
	"  SUM(CASE quota_state WHEN 'reserved' THEN quota_gigabytes ELSE 0 END)"
	"    AS gigabytes_reserved"
	"  FROM backups GROUP BY project;"
	"CREATE TABLE jobs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  kind TEXT NOT NULL CHECK (kind IN ('backup', 'restore')),"
	"  backup_id TEXT NOT NULL REFERENCES backups (id) ON DELETE CASCADE,"
	"  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed',"
	"    'cancelled')),"
	"  pid INTEGER,"
	"  host TEXT,"
	"  bytes_done INTEGER NOT NULL DEFAULT 0,"
	"  bytes_total INTEGER NOT NULL DEFAULT 0,"
	"  cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),"
	"  error TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  started_at INTEGER,"
	"  updated_at INTEGER NOT NULL,"
	"  finished_at INTEGER"
	");"
	"CREATE INDEX jobs_backup ON jobs (backup_id);"
	"CREATE INDEX jobs_state ON jobs (state, host);",
	/* 1 -> 2 */
	"ALTER TABLE volumes ADD COLUMN settled_checkpoint INTEGER NOT NULL DEFAULT 0;",
	/* 2 -> 3 */
	"CREATE TABLE snapshots ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  volume_id TEXT NOT NULL,"
	"  project TEXT NOT NULL,"
	"  name TEXT,"
	"  description TEXT,"
	"  status TEXT NOT NULL CHECK (status IN ('creating', 'available', 'error')),"
	"  fail_reason TEXT,"
	"  checkpoint INTEGER NOT NULL DEFAULT 0,"
	"  generation TEXT,"
	"  holds_checkpoint INTEGER NOT NULL DEFAULT 0 CHECK (holds_checkpoint IN (0, 1)),"
	"  volume_size INTEGER NOT NULL CHECK (volume_size >= 0),"
	"  owner_pid INTEGER,"
	"  owner_host TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	");"
	"CREATE INDEX snapshots_volume ON snapshots (volume_id);",
	/* 3 -> 4 */
	"ALTER TABLE backups ADD COLUMN progress_done INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE backups ADD COLUMN progress_total INTEGER NOT NULL DEFAULT 0;",
	/* 4 -> 5 */
	"ALTER TABLE volumes ADD COLUMN metadata_path TEXT;"
	"ALTER TABLE volumes ADD COLUMN origin_identity TEXT;"
	"ALTER TABLE volumes ADD COLUMN full_read_reason TEXT;"
	"ALTER TABLE jobs ADD COLUMN boot_id TEXT;"
	"ALTER TABLE backups ADD COLUMN owner_boot TEXT;"
	"ALTER TABLE snapshots ADD COLUMN owner_boot TEXT;"
	"CREATE TABLE workers ("
	"  host TEXT NOT NULL,"
	"  binary TEXT NOT NULL,"
	"  pid INTEGER,"
	"  version TEXT,"
	"  started_at INTEGER NOT NULL,"
	"  heartbeat_at INTEGER NOT NULL,"
	"  PRIMARY KEY (host, binary)"
	");",
	/* 5 -> 6 */
	"CREATE TABLE garbage ("
	"  service TEXT NOT NULL,"
	"  container TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  marked_at INTEGER NOT NULL,"
	"  PRIMARY KEY (service, container)"
	");",
	/* 6 -> 7 */
	"ALTER TABLE backups ADD COLUMN index_root TEXT;"
	"ALTER TABLE backups ADD COLUMN restore_path TEXT;"
	"ALTER TABLE backups ADD COLUMN restore_volume_id TEXT;"
	"ALTER TABLE backups ADD COLUMN restore_created INTEGER NOT NULL DEFAULT 0"
	" CHECK (restore_created IN (0, 1));"
	"ALTER TABLE volumes ADD COLUMN imported INTEGER NOT NULL DEFAULT 0"
	" CHECK (imported IN (0, 1));",
};

_Static_assert(ELEMENTSOF(migrations) == CATALOG_SCHEMA_VERSION,
	       "one migration per schema version");

static int query_int(struct catalog *c, const char *sql, int64_t *ret)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	int r;

	r = catalog_prepare(c, sql, &s);
	if (r < 0)
		return r;
	r = catalog_step(c, s);
	if (r < 0)
		return r;
	*ret = r > 0 ? sqlite3_column_int64(s, 0) : 0;
	return 0;
}

int catalog_schema_version(struct catalog *c)
{
	int64_t v;
	int r;

	r = query_int(c, "SELECT MAX(version) FROM schema_version", &v);
	return r < 0 ? r : (int)v;
}

/* The version of the database inside the caller's transaction. */
static int current_version(struct catalog *c, int64_t *ret)
{
	int64_t app_id, has_table, objects;
	int r;

	r = query_int(c, "PRAGMA application_id", &app_id);
	if (r < 0)
		return r;
	if (app_id != 0 && app_id != CATALOG_APPLICATION_ID)
		return catalog_fail(c, -EMEDIUMTYPE,
				    "%s is not a cbtship catalog (SQLite application id %#llx)",
				    c->path, (unsigned long long)app_id);
	r = query_int(c,
		      "SELECT COUNT(*) FROM sqlite_master"
		      " WHERE type = 'table' AND name = 'schema_version'",
		      &has_table);
	if (r < 0)
		return r;
	if (!has_table) {
		r = query_int(c, "SELECT COUNT(*) FROM sqlite_master", &objects);
		if (r < 0)
			return r;
		if (objects > 0)
			return catalog_fail(c, -EMEDIUMTYPE,
					    "%s is not a cbtship catalog (an SQLite database"
					    " without a schema_version table)",
					    c->path);
		*ret = 0;
		return 0;
	}
	return query_int(c, "SELECT COALESCE(MAX(version), 0) FROM schema_version", ret);
}

static int record_version(struct catalog *c, int64_t version)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c,
				 "INSERT INTO schema_version (version, applied_at)"
				 " VALUES (:version, :now)",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_int64(&b, ":version", version);
	catalog_bind_int64(&b, ":now", catalog_now());
	if (b.r < 0)
		return b.r;
	return catalog_step(c, s);
}

static int run_script(struct catalog *c, const char *sql, int64_t version)
{
	char *msg = NULL;
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		int r = catalog_sqlite_fail(c, rc, "migration");

		catalog_fail(c, r, "catalog %s: migration to schema version %lld failed: %s",
			     c->path, (long long)version, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return r;
	}
	return 0;
}

int catalog_schema_migrate(struct catalog *c)
{
	_cleanup_(catalog_rollbackp) struct catalog *txn = NULL;
	int64_t version;
	int r;

	r = catalog_begin(c);
	if (r < 0)
		return r;
	txn = c;
	r = current_version(c, &version);
	if (r < 0)
		return r;
	if (version > CATALOG_SCHEMA_VERSION)
		return catalog_fail(c, -EPROTONOSUPPORT,
				    "catalog %s has schema version %lld, newer than this cbtship"
				    " knows (%d): use a newer cbtship",
				    c->path, (long long)version, CATALOG_SCHEMA_VERSION);
	if (version == CATALOG_SCHEMA_VERSION)
		return catalog_commit(c);
	if (version == 0) {
		r = run_script(c,
			       "CREATE TABLE schema_version ("
			       "  version INTEGER PRIMARY KEY NOT NULL,"
			       "  applied_at INTEGER NOT NULL);"
			       "PRAGMA application_id = " STR(CATALOG_APPLICATION_ID) ";",
			       0);
		if (r < 0)
			return r;
	}
	for (; version < CATALOG_SCHEMA_VERSION; version++) {
		r = run_script(c, migrations[version], version + 1);
		if (r < 0)
			return r;
		r = record_version(c, version + 1);
		if (r < 0)
			return r;
	}
	return catalog_commit(c);
}
