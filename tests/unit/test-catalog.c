/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The catalog: schema, volumes, backups, transitions, parents, JSON, jobs. Requires: the host. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "catalog-fixture.h"

#define GIB CATALOG_GIB

static int64_t query_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* Schema ------------------------------------------------------------------ */

static void schema_create_and_reopen(void **state)
{
	struct fixture *f = *state;
	_cleanup_(catalog_volume_freep) struct catalog_volume *got = NULL;
	struct catalog_volume v;
	char nested[PATH_MAX + 32];
	struct catalog *c2 = NULL;
	char *err = NULL;

	assert_int_equal(catalog_schema_version(f->c), CATALOG_SCHEMA_VERSION);
	fixture_volume(f, "vol0", "p1", GIB, &v);
	f->c = catalog_free(f->c);

	/* What is on disk: WAL, the application id, one migration row. */
	assert_int_equal(query_int(f->path, "PRAGMA application_id"), CATALOG_APPLICATION_ID);
	assert_int_equal(query_int(f->path, "SELECT COUNT(*) FROM schema_version"),
			 CATALOG_SCHEMA_VERSION);
	assert_int_equal(query_int(f->path, "SELECT MAX(version) FROM schema_version"),
			 CATALOG_SCHEMA_VERSION);
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *s = NULL;

		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
		sqlite3_finalize(s);
		sqlite3_close(db);
	}

	/* Reopen: no second migration, the data is there. */
	assert_int_equal(catalog_open(f->path, &f->c, &err), 0);
	assert_null(err);
	assert_int_equal(catalog_schema_version(f->c), CATALOG_SCHEMA_VERSION);
	assert_int_equal(query_int(f->path, "SELECT COUNT(*) FROM schema_version"),
			 CATALOG_SCHEMA_VERSION);
	assert_int_equal(catalog_volume_get(f->c, "vol0", &got), 0);
	assert_string_equal(got->id, v.id);

	/* Foreign keys are on in the handle's connection: a job needs its backup. */
	assert_int_equal(catalog_job_add(f->c, CATALOG_JOB_BACKUP, "no-such-backup", NULL),
			 -ENOENT);

	/* The directory is made when missing. */
	snprintf(nested, sizeof(nested), "%s/a/b/catalog.db", f->dir);
	assert_int_equal(catalog_open(nested, &c2, NULL), 0);
	assert_int_equal(catalog_schema_version(c2), CATALOG_SCHEMA_VERSION);
	catalog_free(c2);
}

static void schema_newer_refused(void **state)
{
	struct fixture *f = *state;
	struct catalog *c = NULL;
	char *err = NULL;

	f->c = catalog_free(f->c);
	fixture_sql(f, "INSERT INTO schema_version (version, applied_at) VALUES (99, 0)");
	assert_int_equal(catalog_open(f->path, &c, &err), -EPROTONOSUPPORT);
	assert_null(c);
	assert_non_null(err);
	print_message("%s\n", err);
	assert_non_null(strstr(err, "schema version 99"));
	assert_non_null(strstr(err, "newer cbtship"));
	free(err);
	/* Nothing was changed by the refusal. */
	assert_int_equal(query_int(f->path, "SELECT MAX(version) FROM schema_version"), 99);
}

static void schema_foreign_refused(void **state)
{
	struct fixture *f = *state;
	char other[PATH_MAX + 16], text[PATH_MAX + 16];
	struct catalog *c = NULL;
	char *err = NULL;
	sqlite3 *db = NULL;
	FILE *fp;

	snprintf(other, sizeof(other), "%s/other.db", f->dir);
	assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(catalog_open(other, &c, &err), -EMEDIUMTYPE);
	assert_non_null(strstr(err, "not a cbtship catalog"));
	free(err);

	snprintf(text, sizeof(text), "%s/text.db", f->dir);
	fp = fopen(text, "w");
	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database\n", fp);
	fclose(fp);
	assert_int_equal(catalog_open(text, &c, &err), -EMEDIUMTYPE);
	print_message("%s\n", err);
	free(err);
	assert_null(c);
}

/* Volumes ----------------------------------------------------------------- */

static void volume_crud(void **state)
{
	struct fixture *f = *state;
	_cleanup_(catalog_volume_freep) struct catalog_volume *got = NULL;
	struct catalog_volume v, w, dup;
	struct catalog_volume **list = NULL;
	size_t n = 0;

	fixture_volume(f, "vol1", "p1", 10 * GIB, &v);
	assert_int_equal(strlen(v.id), 36);
	assert_int_equal(v.id[14], '4'); /* version 4 UUID */
	assert_true(v.created_at > 0);

	dup = v;
	dup.id[0] = '\0';
	assert_int_equal(catalog_volume_add(f->c, &dup), -EEXIST);
	assert_non_null(strstr(catalog_error(f->c), "vol1"));
	dup.name = NULL;
	assert_int_equal(catalog_volume_add(f->c, &dup), -EINVAL);

	assert_int_equal(catalog_volume_get(f->c, v.id, &got), 0);
	assert_string_equal(got->name, "vol1");
	assert_string_equal(got->project, "p1");
	assert_string_equal(got->origin_path, "/dev/vdb");
	assert_int_equal(got->origin_size, 10 * GIB);
	assert_null(got->origin_uuid);
	assert_int_equal(got->block_size, 65536);
	assert_true(got->tracked);
	assert_int_equal(got->status, CATALOG_VOLUME_OK);
	got = catalog_volume_free(got);

	/* Update every mutable field, then read it back by name. */
	v.origin_uuid = (char *)"b9e0a1c4-0000-4000-8000-000000000001";
	v.origin_size = 11 * GIB;
	v.tracked = false;
	v.status = CATALOG_VOLUME_ERROR;
	v.status_reason = (char *)"metadata device failed";
	v.last_generation = (char *)"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
	v.last_checkpoint = 7;
	v.settled_checkpoint = 9;
	v.metadata_path = (char *)"/var/lib/cbtship/metadata/vol1.meta";
	v.origin_identity = (char *)"size=11811160064 uuid=b9e0a1c4";
	v.full_read_reason = (char *)"the target invalidated the map";
	assert_int_equal(catalog_volume_update(f->c, &v), 0);
	assert_int_equal(catalog_volume_get(f->c, "vol1", &got), 0);
	assert_string_equal(got->origin_uuid, v.origin_uuid);
	assert_int_equal(got->origin_size, 11 * GIB);
	assert_false(got->tracked);
	assert_int_equal(got->status, CATALOG_VOLUME_ERROR);
	assert_string_equal(got->status_reason, "metadata device failed");
	assert_string_equal(got->last_generation, v.last_generation);
	assert_int_equal(got->last_checkpoint, 7);
	assert_int_equal(got->settled_checkpoint, 9);
	assert_string_equal(got->metadata_path, v.metadata_path);
	assert_string_equal(got->origin_identity, v.origin_identity);
	assert_string_equal(got->full_read_reason, v.full_read_reason);
	assert_true(got->updated_at >= got->created_at);
	got = catalog_volume_free(got);

	fixture_volume(f, "vol2", "p2", GIB, &w);
	assert_int_equal(catalog_volume_list(f->c, "p2", &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0]->name, "vol2");
	catalog_volume_array_free(list, n);
	assert_int_equal(catalog_volume_list(f->c, NULL, &list, &n), 0);
	assert_int_equal(n, 2);
	catalog_volume_array_free(list, n);

	assert_int_equal(catalog_volume_delete(f->c, v.id), 0);
	assert_int_equal(catalog_volume_get(f->c, "vol1", &got), -ENOENT);
	assert_non_null(strstr(catalog_error(f->c), "vol1"));
	assert_int_equal(catalog_volume_delete(f->c, v.id), -ENOENT);
	strcpy(v.id, "nope");
	assert_int_equal(catalog_volume_update(f->c, &v), -ENOENT);
}

/* Backups ----------------------------------------------------------------- */

static int count_cb(const struct catalog_backup *b, void *userdata)
{
	(void)b;
	(*(int *)userdata)++;
	return 0;
}

static int stop_cb(const struct catalog_backup *b, void *userdata)
{
	(void)b;
	(void)userdata;
	return -ECANCELED;
}

static void backup_crud(void **state)
{
	struct fixture *f = *state;
	_cleanup_(catalog_backup_freep) struct catalog_backup *got = NULL;
	struct catalog_volume v, w;
	struct catalog_backup a, b, c, d;
	struct catalog_backup **list = NULL;
	struct catalog_backup_filter filter = { 0 };
	size_t n = 0;
	int count = 0;

	fixture_volume(f, "vol", "p1", 3 * GIB + 1, &v);
	fixture_volume(f, "other", "p2", GIB, &w);
	assert_int_equal(fixture_backup(f, &v, "full", NULL, &a), 0);
	assert_int_equal(a.status, CATALOG_BACKUP_CREATING);
	assert_int_equal(a.quota_state, CATALOG_QUOTA_RESERVED);
	assert_int_equal(a.quota_gigabytes, 4);
	assert_int_equal(a.owner_pid, getpid());
	assert_int_equal(strlen(a.id), 36);

	assert_int_equal(catalog_backup_get(f->c, a.id, &got), 0);
	assert_string_equal(got->volume_id, v.id);
	assert_string_equal(got->project, "p1");
	assert_string_equal(got->name, "full");
	assert_null(got->description);
	assert_int_equal(got->status, CATALOG_BACKUP_CREATING);
	assert_string_equal(got->parent_id, "");
	assert_false(got->is_incremental);
	assert_false(got->has_dependent_backups);
	assert_int_equal(got->service, CBT_SERVICE_POSIX);
	assert_int_equal(got->volume_size, 3 * GIB + 1);
	assert_int_equal(got->chunk_size, 65536);
	assert_string_equal(got->owner_host, catalog_host(f->c));
	assert_int_equal(got->owner_pid, getpid());
	assert_true(got->heartbeat_at > 0);
	assert_int_equal(got->data_timestamp, got->created_at);
	assert_int_equal(got->started_at, 0);

	/* The backup code's fields, as it fills them in. */
	got->description = strdup("nightly");
	got->container = strdup("/srv/backups");
	got->generation = strdup("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	got->checkpoint = 3;
	got->bytes_read = 3 * GIB;
	got->bytes_stored = 12345;
	got->chunks_total = 49153;
	got->chunks_new = 17;
	got->chunks_zero = 49000;
	got->object_count = 18;
	got->started_at = got->created_at + 1;
	got->finished_at = got->created_at + 2;
	assert_int_equal(catalog_backup_update(f->c, got), 0);
	got = catalog_backup_free(got);
	assert_int_equal(catalog_backup_get(f->c, a.id, &got), 0);
	assert_string_equal(got->description, "nightly");
	assert_string_equal(got->container, "/srv/backups");
	assert_string_equal(got->generation, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	assert_int_equal(got->checkpoint, 3);
	assert_int_equal(got->bytes_read, 3 * GIB);
	assert_int_equal(got->bytes_stored, 12345);
	assert_int_equal(got->chunks_total, 49153);
	assert_int_equal(got->chunks_new, 17);
	assert_int_equal(got->chunks_zero, 49000);
	assert_int_equal(got->object_count, 18);
	assert_int_equal(got->started_at, got->created_at + 1);
	assert_int_equal(got->finished_at, got->created_at + 2);
	got = catalog_backup_free(got);

	/* Incremental children; a parent must exist and be of the same volume. */
	assert_int_equal(fixture_backup(f, &v, "inc", a.id, &b), 0);
	assert_int_equal(fixture_backup(f, &v, "inc", a.id, &c), 0);
	assert_int_equal(fixture_backup(f, &v, "x", "0f1e2d3c-0000-4000-8000-000000000000", &d),
			 -ENOENT);
	assert_int_equal(fixture_backup(f, &w, "x", a.id, &d), -EINVAL);
	assert_int_equal(fixture_backup(f, &w, "theirs", NULL, &d), 0);

	assert_int_equal(catalog_backup_get(f->c, a.id, &got), 0);
	assert_true(got->has_dependent_backups);
	got = catalog_backup_free(got);
	assert_int_equal(catalog_backup_children(f->c, a.id, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0]->id, c.id); /* newest first */
	assert_string_equal(list[1]->id, b.id);
	assert_string_equal(list[0]->parent_id, a.id);
	assert_true(list[0]->is_incremental);
	catalog_backup_array_free(list, n);
	assert_int_equal(catalog_backup_children(f->c, b.id, &list, &n), 0);
	assert_int_equal(n, 0);
	catalog_backup_array_free(list, n);

	/* Find by id or name, scoped by project. */
	assert_int_equal(catalog_backup_find(f->c, "full", "p1", &got), 0);
	assert_string_equal(got->id, a.id);
	got = catalog_backup_free(got);
	assert_int_equal(catalog_backup_find(f->c, a.id, NULL, &got), 0);
	got = catalog_backup_free(got);
	assert_int_equal(catalog_backup_find(f->c, a.id, "p2", &got), -ENOENT);
	assert_int_equal(catalog_backup_find(f->c, "inc", "p1", &got), -ENOTUNIQ);
	assert_non_null(strstr(catalog_error(f->c), "use an id"));
	assert_int_equal(catalog_backup_find(f->c, "theirs", "p1", &got), -ENOENT);
	assert_int_equal(catalog_backup_find(f->c, "theirs", NULL, &got), 0);
	got = catalog_backup_free(got);

	/* Lists: a project sees its own, an admin all; by volume and status. */
	assert_int_equal(catalog_backup_list(f->c, &filter, &list, &n), -EINVAL);
	filter.project = "p1";
	assert_int_equal(catalog_backup_list(f->c, &filter, &list, &n), 0);
	assert_int_equal(n, 3);
	catalog_backup_array_free(list, n);
	filter = (struct catalog_backup_filter){ .admin = true };
	assert_int_equal(catalog_backup_list(f->c, &filter, &list, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(list[0]->id, d.id);
	assert_string_equal(list[3]->id, a.id);
	catalog_backup_array_free(list, n);
	filter.volume_id = w.id;
	assert_int_equal(catalog_backup_foreach(f->c, &filter, count_cb, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(catalog_backup_set_status(f->c, b.id, CATALOG_BACKUP_ERROR, 0, "boom"), 0);
	filter = (struct catalog_backup_filter){ .admin = true,
						 .by_status = true,
						 .status = CATALOG_BACKUP_ERROR };
	assert_int_equal(catalog_backup_list(f->c, &filter, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0]->id, b.id);
	assert_string_equal(list[0]->fail_reason, "boom");
	catalog_backup_array_free(list, n);
	assert_int_equal(catalog_backup_foreach(f->c, NULL, stop_cb, NULL), -ECANCELED);

	/* Removal only from deleting. */
	assert_int_equal(catalog_backup_delete(f->c, b.id), -EINVAL);
	assert_non_null(strstr(catalog_error(f->c), "error"));
	assert_int_equal(catalog_backup_set_status(f->c, b.id, CATALOG_BACKUP_DELETING, 0, NULL),
			 0);
	assert_int_equal(catalog_backup_delete(f->c, b.id), 0);
	assert_int_equal(catalog_backup_get(f->c, b.id, &got), -ENOENT);
	assert_int_equal(catalog_backup_delete(f->c, b.id), -ENOENT);
}

/* Transitions ------------------------------------------------------------- */

#define CR CATALOG_BACKUP_CREATING
#define AV CATALOG_BACKUP_AVAILABLE
#define DE CATALOG_BACKUP_DELETING
#define RE CATALOG_BACKUP_RESTORING
#define ER CATALOG_BACKUP_ERROR
#define ED CATALOG_BACKUP_ERROR_DELETING
#define N  _CATALOG_BACKUP_STATUS_MAX

static void snapshot_crud(void **state)
{
	struct fixture *f = *state;
	_cleanup_(catalog_snapshot_freep) struct catalog_snapshot *got = NULL;
	struct catalog_snapshot s = { 0 }, t = { 0 };
	struct catalog_snapshot **list = NULL;
	struct catalog_volume v, w;
	size_t n = 0;

	fixture_volume(f, "vol1", "p1", GIB, &v);
	fixture_volume(f, "vol2", "p1", GIB, &w);
	assert_int_equal(catalog_snapshot_add(f->c, &s), -EINVAL);
	snprintf(s.volume_id, sizeof(s.volume_id), "%s", v.id);
	s.project = (char *)"p1";
	s.name = (char *)"daily";
	s.volume_size = GIB;
	assert_int_equal(catalog_snapshot_add(f->c, &s), 0);
	assert_int_equal(strlen(s.id), 36);
	assert_int_equal(s.status, CATALOG_SNAPSHOT_CREATING);

	/* A live owner: not stale; a dead one: stale. */
	assert_int_equal(catalog_snapshot_find(f->c, "daily", "p1", &got), 0);
	assert_string_equal(got->id, s.id);
	assert_int_equal(got->owner_pid, getpid());
	assert_false(catalog_snapshot_is_stale(f->c, got));
	got = catalog_snapshot_free(got);
	fixture_sql(f, "UPDATE snapshots SET owner_pid = 2147483000");
	assert_int_equal(catalog_snapshot_find(f->c, s.id, NULL, &got), 0);
	assert_true(catalog_snapshot_is_stale(f->c, got));
	got = catalog_snapshot_free(got);

	/* Another project does not see it. */
	assert_int_equal(catalog_snapshot_find(f->c, "daily", "p2", &got), -ENOENT);
	assert_non_null(strstr(catalog_error(f->c), "daily"));

	s.status = CATALOG_SNAPSHOT_AVAILABLE;
	s.checkpoint = 42;
	s.generation = (char *)"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
	s.holds_checkpoint = true;
	assert_int_equal(catalog_snapshot_update(f->c, &s), 0);
	assert_int_equal(catalog_snapshot_find(f->c, s.id, "p1", &got), 0);
	assert_int_equal(got->status, CATALOG_SNAPSHOT_AVAILABLE);
	assert_int_equal(got->checkpoint, 42);
	assert_string_equal(got->generation, s.generation);
	assert_true(got->holds_checkpoint);
	assert_false(catalog_snapshot_is_stale(f->c, got));
	got = catalog_snapshot_free(got);

	/* Two named alike: the name is ambiguous, the ids are not. */
	snprintf(t.volume_id, sizeof(t.volume_id), "%s", w.id);
	t.project = (char *)"p1";
	t.name = (char *)"daily";
	assert_int_equal(catalog_snapshot_add(f->c, &t), 0);
	assert_int_equal(catalog_snapshot_find(f->c, "daily", NULL, &got), -ENOTUNIQ);
	assert_int_equal(catalog_snapshot_find(f->c, t.id, NULL, &got), 0);
	got = catalog_snapshot_free(got);

	assert_int_equal(catalog_snapshot_list(f->c, v.id, NULL, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0]->id, s.id);
	catalog_snapshot_array_free(list, n);
	assert_int_equal(catalog_snapshot_list(f->c, NULL, "p1", &list, &n), 0);
	assert_int_equal(n, 2);
	catalog_snapshot_array_free(list, n);

	assert_int_equal(catalog_snapshot_delete(f->c, s.id), 0);
	assert_int_equal(catalog_snapshot_delete(f->c, s.id), -ENOENT);
	assert_int_equal(catalog_snapshot_find(f->c, s.id, NULL, &got), -ENOENT);
	s.status = (enum catalog_snapshot_status)99;
	assert_int_equal(catalog_snapshot_update(f->c, &t), 0);
	assert_int_equal(catalog_snapshot_update(f->c, &s), -EINVAL);
}

static void transition_table(void **state)
{
	/* expected[from][to] without flags, cinder's rules */
	static const bool expected[N][N] = {
		[CR] = { [AV] = true, [ER] = true },
		[AV] = { [DE] = true, [RE] = true },
		[RE] = { [AV] = true, [ER] = true },
		[DE] = { [ED] = true },
		[ER] = { [DE] = true },
		[ED] = { 0 },
	};

	(void)state;
	for (int from = 0; from < N; from++) {
		for (int to = 0; to < N; to++) {
			enum catalog_backup_status fs = from, ts = to;
			bool reset = ts == AV || ts == ER;
			bool plain = catalog_backup_transition_allowed(fs, ts, 0);
			bool force =
				catalog_backup_transition_allowed(fs, ts, CATALOG_TRANSITION_FORCE);
			bool rst =
				catalog_backup_transition_allowed(fs, ts, CATALOG_TRANSITION_RESET);

			if (plain != expected[from][to] ||
			    force != (expected[from][to] || ts == DE) ||
			    rst != (expected[from][to] || reset))
				fail_msg("%s -> %s: allowed %d, forced %d, reset %d",
					 catalog_backup_status_to_string(fs),
					 catalog_backup_status_to_string(ts), plain, force, rst);
		}
	}
	assert_false(catalog_backup_transition_allowed(N, AV, CATALOG_TRANSITION_RESET));
	assert_false(catalog_backup_transition_allowed(AV, N, CATALOG_TRANSITION_FORCE));
}

static enum catalog_backup_status status_of(struct fixture *f, const char *id)
{
	_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;

	assert_int_equal(catalog_backup_get(f->c, id, &b), 0);
	return b->status;
}

static void step(struct fixture *f, const char *id, enum catalog_backup_status to, unsigned flags)
{
	int r = catalog_backup_set_status(f->c, id, to, flags, NULL);

	if (r < 0)
		print_error("%s\n", catalog_error(f->c));
	assert_int_equal(r, 0);
	assert_int_equal(status_of(f, id), to);
}

static void refused(struct fixture *f, const char *id, enum catalog_backup_status to,
		    unsigned flags)
{
	enum catalog_backup_status before = status_of(f, id);

	assert_int_equal(catalog_backup_set_status(f->c, id, to, flags, NULL), -EINVAL);
	assert_non_null(strstr(catalog_error(f->c), catalog_backup_status_to_string(before)));
	assert_non_null(strstr(catalog_error(f->c), catalog_backup_status_to_string(to)));
	assert_int_equal(status_of(f, id), before);
}

static void transitions_in_catalog(void **state)
{
	struct fixture *f = *state;
	_cleanup_(catalog_backup_freep) struct catalog_backup *got = NULL;
	struct catalog_volume v;
	struct catalog_backup a, b, c;

	catalog_quota_set_defaults(f->c, CATALOG_UNLIMITED, CATALOG_UNLIMITED);
	fixture_volume(f, "vol", "p1", GIB, &v);

	/* The life of a good backup, with every allowed edge on the way. */
	assert_int_equal(fixture_backup(f, &v, "a", NULL, &a), 0);
	refused(f, a.id, DE, 0);
	refused(f, a.id, RE, 0);
	refused(f, a.id, ED, 0);
	refused(f, a.id, CR, CATALOG_TRANSITION_RESET);
	step(f, a.id, AV, 0); /* creating -> available */
	refused(f, a.id, CR, 0);
	refused(f, a.id, ER, 0); /* only by reset-state */
	refused(f, a.id, ED, CATALOG_TRANSITION_FORCE);
	step(f, a.id, RE, 0);	 /* available -> restoring */
	refused(f, a.id, RE, 0); /* one restore at a time */
	refused(f, a.id, DE, 0);
	step(f, a.id, AV, 0); /* restoring -> available */
	step(f, a.id, RE, 0);
	step(f, a.id, ER, 0); /* restoring -> error (cancelled restore) */
	refused(f, a.id, AV, 0);
	refused(f, a.id, RE, 0);
	step(f, a.id, AV, CATALOG_TRANSITION_RESET);
	step(f, a.id, DE, 0); /* available -> deleting */
	refused(f, a.id, AV, 0);
	refused(f, a.id, DE, 0);
	step(f, a.id, ED, 0); /* deleting -> error_deleting */
	refused(f, a.id, DE, 0);
	refused(f, a.id, AV, 0);
	step(f, a.id, DE, CATALOG_TRANSITION_FORCE);
	assert_int_equal(catalog_backup_delete(f->c, a.id), 0); /* deleting -> removed */

	/* A failed creation: creating -> error -> deleting -> removed. */
	assert_int_equal(fixture_backup(f, &v, "b", NULL, &b), 0);
	assert_int_equal(catalog_backup_set_status(f->c, b.id, ER, 0, "target full"), 0);
	assert_int_equal(catalog_backup_get(f->c, b.id, &got), 0);
	assert_int_equal(got->status, ER);
	assert_string_equal(got->fail_reason, "target full");
	got = catalog_backup_free(got);
	refused(f, b.id, RE, 0);
	refused(f, b.id, ED, 0);
	step(f, b.id, DE, 0); /* error -> deleting */
	assert_int_equal(catalog_backup_delete(f->c, b.id), 0);

	/* Forced delete of a backup in flight; reset-state from every status. */
	assert_int_equal(fixture_backup(f, &v, "c", NULL, &c), 0);
	step(f, c.id, DE, CATALOG_TRANSITION_FORCE); /* creating -> deleting (cancel) */
	step(f, c.id, ER, CATALOG_TRANSITION_RESET); /* deleting -> error */
	step(f, c.id, ER, CATALOG_TRANSITION_RESET); /* error -> error */
	step(f, c.id, DE, 0);
	step(f, c.id, AV, CATALOG_TRANSITION_RESET); /* deleting -> available */
	step(f, c.id, RE, 0);
	step(f, c.id, AV, CATALOG_TRANSITION_RESET); /* restoring -> available */
	step(f, c.id, DE, 0);
	step(f, c.id, ED, 0);
	step(f, c.id, ER, CATALOG_TRANSITION_RESET); /* error_deleting -> error */
	step(f, c.id, DE, CATALOG_TRANSITION_FORCE | CATALOG_TRANSITION_RESET);
	assert_int_equal(catalog_backup_set_status(f->c, "nope", AV, 0, NULL), -ENOENT);
	assert_int_equal(catalog_backup_set_status(f->c, c.id, N, CATALOG_TRANSITION_RESET, NULL),
			 -EINVAL);
}

/* The volume learns the generation and checkpoint its last backup shipped. */
static void available_updates_volume(void **state)
{
	struct fixture *f = *state;
	_cleanup_(catalog_volume_freep) struct catalog_volume *vol = NULL;
	_cleanup_(catalog_backup_freep) struct catalog_backup *got = NULL;
	struct catalog_volume v;
	struct catalog_backup a, b;

	catalog_quota_set_defaults(f->c, CATALOG_UNLIMITED, CATALOG_UNLIMITED);
	fixture_volume(f, "vol", "p1", GIB, &v);
	assert_int_equal(fixture_backup(f, &v, "a", NULL, &a), 0);
	assert_int_equal(catalog_backup_get(f->c, a.id, &got), 0);
	got->generation = strdup("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	got->checkpoint = 5;
	assert_int_equal(catalog_backup_update(f->c, got), 0);
	assert_int_equal(catalog_volume_get(f->c, v.id, &vol), 0);
	assert_null(vol->last_generation);
	vol = catalog_volume_free(vol);
	assert_int_equal(catalog_backup_set_status(f->c, a.id, AV, 0, NULL), 0);
	assert_int_equal(catalog_volume_get(f->c, v.id, &vol), 0);
	assert_string_equal(vol->last_generation, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	assert_int_equal(vol->last_checkpoint, 5);
	assert_int_equal(vol->settled_checkpoint, 5);
	vol = catalog_volume_free(vol);
	got = catalog_backup_free(got);

	/* A new tracking generation counts from 1 again: settled follows it down. */
	assert_int_equal(fixture_backup(f, &v, "b", NULL, &b), 0);
	assert_int_equal(catalog_backup_get(f->c, b.id, &got), 0);
	got->generation = strdup("11111111-2222-4333-8444-555555555555");
	got->checkpoint = 1;
	assert_int_equal(catalog_backup_update(f->c, got), 0);
	assert_int_equal(catalog_backup_set_status(f->c, b.id, AV, 0, NULL), 0);
	assert_int_equal(catalog_volume_get(f->c, v.id, &vol), 0);
	assert_int_equal(vol->last_checkpoint, 1);
	assert_int_equal(vol->settled_checkpoint, 1);
	vol = catalog_volume_free(vol);

	/* One field alone; the full-read reason cleared only if still the one seen. */
	assert_int_equal(catalog_volume_set_full_read_reason(f->c, v.id, "first"), 0);
	assert_int_equal(catalog_volume_set_full_read_reason(f->c, v.id, "second"), 0);
	assert_int_equal(catalog_volume_clear_full_read_reason(f->c, v.id, "first"), 0);
	assert_int_equal(catalog_volume_get(f->c, v.id, &vol), 0);
	assert_string_equal(vol->full_read_reason, "second");
	assert_int_equal(vol->settled_checkpoint, 1);
	vol = catalog_volume_free(vol);
	assert_int_equal(catalog_volume_clear_full_read_reason(f->c, v.id, "second"), 1);
	assert_int_equal(catalog_volume_set_status(f->c, v.id, CATALOG_VOLUME_ERROR, "why"), 0);
	assert_int_equal(catalog_volume_get(f->c, v.id, &vol), 0);
	assert_null(vol->full_read_reason);
	assert_int_equal(vol->status, CATALOG_VOLUME_ERROR);
	assert_string_equal(vol->status_reason, "why");
	assert_int_equal(catalog_volume_set_status(f->c, "no-such-volume", CATALOG_VOLUME_OK, NULL),
			 -ENOENT);
}

/* Parents ----------------------------------------------------------------- */

static void latest_available(void **state)
{
	struct fixture *f = *state;
	_cleanup_(catalog_backup_freep) struct catalog_backup *got = NULL;
	struct catalog_volume v, w;
	struct catalog_backup a, b, c, d, e;

	catalog_quota_set_defaults(f->c, CATALOG_UNLIMITED, CATALOG_UNLIMITED);
	fixture_volume(f, "vol", "p1", GIB, &v);
	fixture_volume(f, "other", "p1", GIB, &w);
	assert_int_equal(catalog_backup_latest_available(f->c, v.id, 0, &got), -ENOENT);
	assert_non_null(strstr(catalog_error(f->c), "no available backup"));

	assert_int_equal(fixture_backup(f, &v, "a", NULL, &a), 0);
	assert_int_equal(catalog_backup_latest_available(f->c, v.id, 0, &got), -ENOENT);
	assert_int_equal(catalog_backup_set_status(f->c, a.id, AV, 0, NULL), 0);
	assert_int_equal(fixture_backup(f, &v, "b", a.id, &b), 0);
	assert_int_equal(catalog_backup_set_status(f->c, b.id, AV, 0, NULL), 0);
	assert_int_equal(fixture_backup(f, &v, "c", b.id, &c), 0);
	assert_int_equal(catalog_backup_set_status(f->c, c.id, ER, 0, "x"), 0);
	assert_int_equal(fixture_backup(f, &v, "d", b.id, &d), 0); /* creating */
	assert_int_equal(fixture_backup(f, &w, "e", NULL, &e), 0);
	assert_int_equal(catalog_backup_set_status(f->c, e.id, AV, 0, NULL), 0);

	assert_int_equal(catalog_backup_latest_available(f->c, v.id, 0, &got), 0);
	assert_string_equal(got->id, b.id);
	got = catalog_backup_free(got);

	/* From a snapshot taken before b: the parent is a (cinder's rule). */
	assert_int_equal(catalog_backup_latest_available(f->c, v.id, b.data_timestamp, &got), 0);
	assert_string_equal(got->id, a.id);
	got = catalog_backup_free(got);
	assert_int_equal(catalog_backup_latest_available(f->c, v.id, a.data_timestamp, &got),
			 -ENOENT);

	/* A restoring backup is not a parent; an older available one is. */
	assert_int_equal(catalog_backup_set_status(f->c, b.id, RE, 0, NULL), 0);
	assert_int_equal(catalog_backup_latest_available(f->c, v.id, 0, &got), 0);
	assert_string_equal(got->id, a.id);
	got = catalog_backup_free(got);

	assert_int_equal(catalog_backup_latest_available(f->c, w.id, 0, &got), 0);
	assert_string_equal(got->id, e.id);
}

/* JSON -------------------------------------------------------------------- */

static void json_fields(void **state)
{
	struct fixture *f = *state;
	_cleanup_(catalog_backup_freep) struct catalog_backup *got = NULL;
	_cleanup_(json_decrefp) json_t *o = NULL;
	struct catalog_volume v;
	struct catalog_backup a, b;
	const char *created;

	fixture_volume(f, "vol", "p1", 5 * GIB + 4096, &v);
	assert_int_equal(fixture_backup(f, &v, "full", NULL, &a), 0);
	assert_int_equal(fixture_backup(f, &v, "inc", a.id, &b), 0);
	assert_int_equal(catalog_backup_get(f->c, a.id, &got), 0);
	got->description = strdup("first");
	got->container = strdup("backups");
	got->object_count = 42;
	got->bytes_stored = 1000;
	assert_int_equal(catalog_backup_update(f->c, got), 0);
	got = catalog_backup_free(got);
	assert_int_equal(catalog_backup_set_status(f->c, a.id, AV, 0, NULL), 0);
	assert_int_equal(catalog_backup_get(f->c, a.id, &got), 0);

	o = catalog_backup_to_json(got);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "id")), a.id);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "full");
	assert_string_equal(json_string_value(json_object_get(o, "description")), "first");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "available");
	assert_int_equal(json_integer_value(json_object_get(o, "size")), 6);
	assert_int_equal(json_integer_value(json_object_get(o, "object_count")), 42);
	assert_string_equal(json_string_value(json_object_get(o, "container")), "backups");
	assert_true(json_is_null(json_object_get(o, "availability_zone")));
	assert_string_equal(json_string_value(json_object_get(o, "volume_id")), v.id);
	assert_true(json_is_null(json_object_get(o, "snapshot_id")));
	assert_true(json_is_null(json_object_get(o, "fail_reason")));
	assert_true(json_is_null(json_object_get(o, "parent_id")));
	assert_true(json_is_false(json_object_get(o, "is_incremental")));
	assert_true(json_is_true(json_object_get(o, "has_dependent_backups")));
	assert_string_equal(
		json_string_value(json_object_get(o, "os-backup-project-attr:project_id")), "p1");
	assert_string_equal(json_string_value(json_object_get(o, "service")), "posix");
	assert_int_equal(json_integer_value(json_object_get(o, "volume_size")), 5 * GIB + 4096);
	assert_int_equal(json_integer_value(json_object_get(o, "bytes_stored")), 1000);
	assert_true(json_is_null(json_object_get(o, "started_at")));
	created = json_string_value(json_object_get(o, "created_at"));
	assert_non_null(created);
	/* cinder's "2024-01-31T12:00:00.000000" */
	assert_int_equal(strlen(created), 26);
	assert_int_equal(created[10], 'T');
	assert_int_equal(created[19], '.');
	assert_non_null(json_string_value(json_object_get(o, "updated_at")));
	assert_non_null(json_string_value(json_object_get(o, "data_timestamp")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "owner"), "pid")),
			 getpid());
	json_decref(TAKE_PTR(o));
	got = catalog_backup_free(got);

	assert_int_equal(catalog_backup_get(f->c, b.id, &got), 0);
	o = catalog_backup_to_json(got);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "creating");
	assert_string_equal(json_string_value(json_object_get(o, "parent_id")), a.id);
	assert_true(json_is_true(json_object_get(o, "is_incremental")));
	assert_true(json_is_false(json_object_get(o, "has_dependent_backups")));
	assert_true(json_is_null(json_object_get(o, "description")));
}

static void time_format(void **state)
{
	char buf[40];

	(void)state;
	catalog_time_format(INT64_C(1706702400123456), buf, sizeof(buf));
	assert_string_equal(buf, "2024-01-31T12:00:00.123456");
	catalog_time_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000000");
}

/* Jobs -------------------------------------------------------------------- */

static void jobs(void **state)
{
	struct fixture *f = *state;
	_cleanup_(catalog_job_freep) struct catalog_job *j = NULL;
	struct catalog_volume v;
	struct catalog_backup a, b, c;
	int64_t ja, jb, jc, id;

	catalog_quota_set_defaults(f->c, CATALOG_UNLIMITED, CATALOG_UNLIMITED);
	fixture_volume(f, "vol", "p1", GIB, &v);
	assert_int_equal(fixture_backup(f, &v, "a", NULL, &a), 0);
	assert_int_equal(fixture_backup(f, &v, "b", NULL, &b), 0);
	assert_int_equal(fixture_backup(f, &v, "c", NULL, &c), 0);
	assert_int_equal(catalog_job_add(f->c, CATALOG_JOB_BACKUP, a.id, &ja), 0);
	assert_int_equal(catalog_job_add(f->c, CATALOG_JOB_BACKUP, b.id, &jb), 0);
	assert_int_equal(catalog_job_add(f->c, CATALOG_JOB_RESTORE, c.id, &jc), 0);

	assert_int_equal(catalog_job_get(f->c, ja, &j), 0);
	assert_int_equal(j->state, CATALOG_JOB_QUEUED);
	assert_int_equal(j->kind, CATALOG_JOB_BACKUP);
	assert_string_equal(j->backup_id, a.id);
	assert_int_equal(j->pid, getpid()); /* the process that waits on it */
	j = catalog_job_free(j);

	/* At most one running here: the oldest queued job is taken first. */
	assert_int_equal(catalog_job_claim_next(f->c, 1, getpid(), &id), 0);
	assert_int_equal(id, ja);
	assert_int_equal(catalog_job_claim_next(f->c, 1, getpid(), &id), -EAGAIN);
	assert_int_equal(catalog_job_get_active(f->c, a.id, &j), 0);
	assert_int_equal(j->state, CATALOG_JOB_RUNNING);
	assert_int_equal(j->pid, getpid());
	assert_string_equal(j->host, catalog_host(f->c));
	j = catalog_job_free(j);

	assert_int_equal(catalog_job_progress(f->c, ja, 100, 1000), 0);
	assert_int_equal(catalog_job_get(f->c, ja, &j), 0);
	assert_int_equal(j->bytes_done, 100);
	assert_int_equal(j->bytes_total, 1000);
	j = catalog_job_free(j);
	assert_int_equal(catalog_job_progress(f->c, jb, 1, 2), -ENOENT); /* queued */

	/* Cancel: a queued job at once, a running one when it looks. */
	assert_int_equal(catalog_job_should_stop(f->c, ja), 0);
	assert_int_equal(catalog_job_request_cancel(f->c, jb), 0);
	assert_int_equal(catalog_job_get(f->c, jb, &j), 0);
	assert_int_equal(j->state, CATALOG_JOB_CANCELLED);
	j = catalog_job_free(j);
	assert_int_equal(catalog_job_request_cancel(f->c, ja), 0);
	assert_int_equal(catalog_job_should_stop(f->c, ja), 1);
	assert_int_equal(catalog_job_finish(f->c, ja, CATALOG_JOB_CANCELLED, "cancelled"), 0);
	assert_int_equal(catalog_job_finish(f->c, ja, CATALOG_JOB_DONE, NULL), -EINVAL);
	assert_int_equal(catalog_job_request_cancel(f->c, ja), -EINVAL);
	assert_int_equal(catalog_job_get_active(f->c, a.id, &j), -ENOENT);

	/* A job whose process died does not count as running. */
	assert_int_equal(catalog_job_claim_next(f->c, 1, 0x7ffffff0, &id), 0);
	assert_int_equal(id, jc);
	assert_int_equal(catalog_job_claim_next(f->c, 1, getpid(), &id), -ENOENT);
	assert_int_equal(catalog_job_finish(f->c, jc, CATALOG_JOB_RUNNING, NULL), -EINVAL);

	/* Removing a backup removes its jobs; a gone job means stop. */
	assert_int_equal(catalog_backup_set_status(f->c, c.id, DE, CATALOG_TRANSITION_FORCE, NULL),
			 0);
	assert_int_equal(catalog_backup_delete(f->c, c.id), 0);
	assert_int_equal(catalog_job_get(f->c, jc, &j), -ENOENT);
	assert_int_equal(catalog_job_should_stop(f->c, jc), 1);
	assert_int_equal(catalog_job_add(f->c, CATALOG_JOB_RESTORE, c.id, &id), -ENOENT);
}

/* catalog_job_start(): in turn, at most max_running; reap the dead. */
static void jobs_in_turn(void **state)
{
	struct fixture *f = *state;
	_cleanup_(catalog_job_freep) struct catalog_job *j = NULL;
	struct catalog_volume v;
	struct catalog_backup a, b, c;
	int64_t ja, jb, jc;
	unsigned n;

	catalog_quota_set_defaults(f->c, CATALOG_UNLIMITED, CATALOG_UNLIMITED);
	fixture_volume(f, "vol", "p1", GIB, &v);
	assert_int_equal(fixture_backup(f, &v, "a", NULL, &a), 0);
	assert_int_equal(fixture_backup(f, &v, "b", NULL, &b), 0);
	assert_int_equal(fixture_backup(f, &v, "c", NULL, &c), 0);
	assert_int_equal(catalog_job_add(f->c, CATALOG_JOB_BACKUP, a.id, &ja), 0);
	assert_int_equal(catalog_job_add(f->c, CATALOG_JOB_BACKUP, b.id, &jb), 0);
	assert_int_equal(catalog_job_add(f->c, CATALOG_JOB_RESTORE, c.id, &jc), 0);
	assert_int_equal(catalog_job_set_pid(f->c, ja, getpid()), 0);
	assert_int_equal(catalog_job_set_pid(f->c, jb, getppid()), 0);
	assert_int_equal(catalog_job_set_pid(f->c, jc, 0x7ffffff0), 0); /* gone */

	/* b waits behind a, queued in a live process. */
	assert_int_equal(catalog_job_start(f->c, jb, 2, getppid()), -EAGAIN);
	assert_int_equal(catalog_job_start(f->c, ja, 2, getpid()), 0);
	assert_int_equal(catalog_job_start(f->c, ja, 2, getpid()), -ECANCELED);
	/* a runs: b may start with 2 slots, not with 1. */
	assert_int_equal(catalog_job_start(f->c, jb, 1, getppid()), -EAGAIN);
	assert_non_null(strstr(catalog_error(f->c), "at most 1"));
	assert_int_equal(catalog_job_start(f->c, jb, 2, getppid()), 0);
	assert_int_equal(catalog_job_get(f->c, jb, &j), 0);
	assert_int_equal(j->state, CATALOG_JOB_RUNNING);
	assert_int_equal(j->pid, getppid());
	j = catalog_job_free(j);

	/* A cancelled queued job never starts. */
	assert_int_equal(catalog_job_request_cancel(f->c, jc), 0);
	assert_int_equal(catalog_job_start(f->c, jc, 8, getpid()), -ECANCELED);

	/* Reaping ends the jobs of dead processes only. */
	assert_int_equal(catalog_job_add(f->c, CATALOG_JOB_RESTORE, c.id, &jc), 0);
	assert_int_equal(catalog_job_set_pid(f->c, jc, 0x7ffffff0), 0);
	assert_int_equal(catalog_job_reap(f->c, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(catalog_job_get(f->c, jc, &j), 0);
	assert_int_equal(j->state, CATALOG_JOB_FAILED);
	assert_non_null(strstr(j->error, "gone"));
	j = catalog_job_free(j);
	assert_int_equal(catalog_job_get(f->c, ja, &j), 0);
	assert_int_equal(j->state, CATALOG_JOB_RUNNING);
	j = catalog_job_free(j);

	/* After a reboot a recorded pid may be anyone's: another boot's job is dead. */
	fixture_sql(f, "UPDATE jobs SET boot_id = 'an-earlier-boot' WHERE state = 'running'");
	assert_int_equal(catalog_job_reap(f->c, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(catalog_job_get(f->c, ja, &j), 0);
	assert_int_equal(j->state, CATALOG_JOB_FAILED);
}

static void owner_of_another_boot(void **state)
{
	struct fixture *f = *state;
	_cleanup_(catalog_backup_freep) struct catalog_backup *got = NULL;
	struct catalog_volume v;
	struct catalog_backup a;

	catalog_quota_set_defaults(f->c, CATALOG_UNLIMITED, CATALOG_UNLIMITED);
	fixture_volume(f, "vol", "p1", GIB, &v);
	assert_int_equal(fixture_backup(f, &v, "a", NULL, &a), 0);
	assert_int_equal(catalog_backup_get(f->c, a.id, &got), 0);
	assert_int_equal(got->owner_pid, getpid());
	assert_int_equal(catalog_backup_is_stale(f->c, got, 0), 0);
	got = catalog_backup_free(got);
	/* The same pid, alive, but recorded under another boot. */
	fixture_sql(f, "UPDATE backups SET owner_boot = 'an-earlier-boot'");
	assert_int_equal(catalog_backup_get(f->c, a.id, &got), 0);
	assert_int_equal(catalog_backup_is_stale(f->c, got, 0), 1);
	assert_false(catalog_owner_alive(f->c, getpid(), "an-earlier-boot"));
	assert_true(catalog_owner_alive(f->c, getpid(), NULL));
}

static void workers_heartbeat(void **state)
{
	struct fixture *f = *state;
	struct catalog_worker **w = NULL;
	size_t n = 0;
	int64_t first;

	assert_int_equal(catalog_worker_list(f->c, &w, &n), 0);
	assert_int_equal(n, 0);
	catalog_worker_array_free(w, n);
	assert_int_equal(catalog_worker_heartbeat(f->c, "cbtship-backup", "1.0"), 0);
	assert_int_equal(catalog_worker_list(f->c, &w, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(w[0]->host, catalog_host(f->c));
	assert_string_equal(w[0]->binary, "cbtship-backup");
	assert_int_equal(w[0]->pid, getpid());
	first = w[0]->heartbeat_at;
	assert_true(w[0]->started_at == first);
	catalog_worker_array_free(w, n);
	usleep(2000);
	assert_int_equal(catalog_worker_heartbeat(f->c, "cbtship-backup", "1.0"), 0);
	assert_int_equal(catalog_worker_list(f->c, &w, &n), 0);
	assert_int_equal(n, 1);
	assert_true(w[0]->heartbeat_at > first);
	assert_true(w[0]->started_at == first); /* the same process */
	catalog_worker_array_free(w, n);
	assert_int_equal(catalog_worker_heartbeat(f->c, "", NULL), -EINVAL);
}

/* Version 6: the index root and the restore destination, and import within quota. */
static void backup_root_restore_import(void **state)
{
	struct fixture *f = *state;
	_cleanup_(catalog_backup_freep) struct catalog_backup *got = NULL;
	static const char root[] =
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	struct catalog_volume v;
	struct catalog_backup a, imp = { 0 };

	fixture_volume(f, "vol", "p1", 3 * GIB, &v);
	assert_int_equal(fixture_backup(f, &v, "full", NULL, &a), 0);
	assert_int_equal(catalog_backup_get(f->c, a.id, &got), 0);
	assert_null(got->index_root);
	assert_null(got->restore_path);
	got = catalog_backup_free(got);

	assert_int_equal(catalog_backup_set_index_root(f->c, a.id, root), 0);
	assert_int_equal(catalog_backup_set_restore(f->c, a.id, "/srv/x.img", v.id, true), 0);
	assert_int_equal(catalog_backup_get(f->c, a.id, &got), 0);
	assert_string_equal(got->index_root, root);
	assert_string_equal(got->restore_path, "/srv/x.img");
	assert_string_equal(got->restore_volume_id, v.id);
	assert_true(got->restore_created);
	got = catalog_backup_free(got);
	assert_int_equal(catalog_backup_set_restore(f->c, a.id, NULL, NULL, false), 0);
	assert_int_equal(catalog_backup_get(f->c, a.id, &got), 0);
	assert_null(got->restore_path);
	assert_null(got->restore_volume_id);
	assert_false(got->restore_created);
	got = catalog_backup_free(got);
	assert_int_equal(catalog_backup_set_index_root(f->c, "no-such-backup", root), -ENOENT);

	/* 3 GiB reserved by a; a limit of 5 GiB leaves no room for another 3. */
	assert_int_equal(catalog_quota_set(f->c, "p1", CATALOG_QUOTA_KEEP, 5), 0);
	snprintf(imp.id, sizeof(imp.id), "%s", "3d6c7a52-2a8e-4c4e-9d0b-0d9a1c1f7a10");
	snprintf(imp.volume_id, sizeof(imp.volume_id), "%s", v.id);
	imp.project = "p1";
	imp.volume_size = 3 * GIB;
	imp.chunk_size = 65536;
	imp.index_root = (char *)root;
	assert_int_equal(catalog_backup_import_within_quota(f->c, &imp), -EDQUOT);
	assert_int_equal(catalog_backup_get(f->c, imp.id, &got), -ENOENT);
	assert_int_equal(catalog_quota_set(f->c, "p1", CATALOG_QUOTA_KEEP, 6), 0);
	assert_int_equal(catalog_backup_import_within_quota(f->c, &imp), 0);
	assert_int_equal(catalog_backup_get(f->c, imp.id, &got), 0);
	assert_int_equal(got->status, CATALOG_BACKUP_AVAILABLE);
	assert_string_equal(got->index_root, root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(schema_create_and_reopen, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(schema_newer_refused, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(schema_foreign_refused, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(volume_crud, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(backup_crud, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(backup_root_restore_import, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(snapshot_crud, fixture_setup, fixture_teardown),
		cmocka_unit_test(transition_table),
		cmocka_unit_test_setup_teardown(transitions_in_catalog, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(available_updates_volume, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(latest_available, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(json_fields, fixture_setup, fixture_teardown),
		cmocka_unit_test(time_format),
		cmocka_unit_test_setup_teardown(jobs, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(jobs_in_turn, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(owner_of_another_boot, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(workers_heartbeat, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
