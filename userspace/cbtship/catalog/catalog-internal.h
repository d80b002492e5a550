/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Inside the catalog: the handle, SQLite helpers shared by its files. */
#ifndef CBTSHIP_CATALOG_INTERNAL_H
#define CBTSHIP_CATALOG_INTERNAL_H

#include <limits.h>
#include <sqlite3.h>

#include "cbtship/catalog/catalog.h"

struct catalog {
	sqlite3 *db;
	char *path;
	char host[HOST_NAME_MAX + 1];
	char boot_id[40]; /* /proc/sys/kernel/random/boot_id, "" when unknown */
	int64_t default_backups_limit;
	int64_t default_gigabytes_limit;
	char error[512];
};

CBT_DEFINE_CLEANUP(sqlite3_stmt *, sqlite3_finalize, sqlite3_finalizep)

/* Record a message for catalog_error() and return r. */
int catalog_fail(struct catalog *c, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Map an SQLite result code to a negative errno, recording its message. */
int catalog_sqlite_fail(struct catalog *c, int rc, const char *what);

/* Prepare sql (-errno on failure, message recorded). */
int catalog_prepare(struct catalog *c, const char *sql, sqlite3_stmt **ret);

/* Step: 1 for a row, 0 when done, negative errno. */
int catalog_step(struct catalog *c, sqlite3_stmt *s);

/* Run a statement without parameters or rows. */
int catalog_exec(struct catalog *c, const char *sql);

/*
 * Transactions: catalog_begin() takes the write lock at once
 * (BEGIN IMMEDIATE, waiting up to the busy timeout), so what a
 * transaction reads cannot change before it commits. Pair with
 *     _cleanup_(catalog_rollbackp) struct catalog *txn = c;
 * which rolls back unless catalog_commit() succeeded.
 */
int catalog_begin(struct catalog *c);
int catalog_commit(struct catalog *c);
void catalog_rollbackp(struct catalog **c);

/*
 * Bind by name (":name"), remembering the first failure: bind a whole
 * row, then check b.r once. Strings are bound SQLITE_STATIC (they must
 * outlive the statement's steps); a NULL string binds NULL.
 */
struct catalog_binder {
	struct catalog *c;
	sqlite3_stmt *s;
	int r;
};

/* Prepare sql and start a binder on it. */
int catalog_prepare_bind(struct catalog *c, const char *sql, sqlite3_stmt **ret,
			 struct catalog_binder *b);
/* The first bind failure, else catalog_step() of the bound statement. */
int catalog_bound_step(struct catalog_binder *b);

void catalog_bind_text(struct catalog_binder *b, const char *name, const char *value);
void catalog_bind_int64(struct catalog_binder *b, const char *name, int64_t value);
void catalog_bind_u64(struct catalog_binder *b, const char *name, uint64_t value);
/* 0 binds NULL (an unset time or pid). */
void catalog_bind_int64_or_null(struct catalog_binder *b, const char *name, int64_t value);

/* Column readers: a copy of a text column (NULL for NULL; -ENOMEM). */
int catalog_column_strdup(sqlite3_stmt *s, int col, char **ret);
void catalog_column_id(sqlite3_stmt *s, int col, char ret[CATALOG_ID_MAX]);
uint64_t catalog_column_u64(sqlite3_stmt *s, int col);

/* Enum <-> word tables (names.c); -1 for an unknown word. */
int catalog_volume_status_from_string(const char *word);
int catalog_snapshot_status_from_string(const char *word);
int catalog_quota_state_from_string(const char *word);
int catalog_job_kind_from_string(const char *word);
int catalog_job_state_from_string(const char *word);

/* Migrate the open database to CATALOG_SCHEMA_VERSION (schema.c). */
int catalog_schema_migrate(struct catalog *c);

/*
 * Quota check inside the caller's transaction: may project take one more
 * backup of gigabytes GiB? 0, or -EDQUOT with the numbers recorded.
 */
int catalog_quota_check_locked(struct catalog *c, const char *project, uint64_t gigabytes);

/* Is process pid alive on this host? (kill(pid, 0) is not ESRCH) */
bool catalog_pid_alive(pid_t pid);

/* Append item to the malloc()ed array of n elements: 0, or -ENOMEM (not added). */
#define CATALOG_ARRAY_APPEND(array, n, item)                                               \
	({                                                                                 \
		__typeof__(array) _grown = realloc((array), ((n) + 1) * sizeof(*(array))); \
		int _r = -ENOMEM;                                                          \
		if (_grown) {                                                              \
			(array) = _grown;                                                  \
			(array)[(n)++] = (item);                                           \
			_r = 0;                                                            \
		}                                                                          \
		_r;                                                                        \
	})

#endif
