/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SQLite statements, transactions, parameters and columns for the catalog. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/catalog/catalog-internal.h"

int catalog_fail(struct catalog *c, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	return r;
}

static int sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_NOTADB:
		return -EMEDIUMTYPE;
	case SQLITE_CORRUPT:
		return -EBADMSG;
	case SQLITE_RANGE:
	case SQLITE_MISUSE:
	case SQLITE_ERROR:
		return -EINVAL;
	default:
		return -EIO;
	}
}

int catalog_sqlite_fail(struct catalog *c, int rc, const char *what)
{
	const char *msg = c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);

	return catalog_fail(c, sqlite_errno(rc), "catalog %s: %s: %s", c->path ? c->path : "", what,
			    msg);
}

int catalog_prepare(struct catalog *c, const char *sql, sqlite3_stmt **ret)
{
	int rc = sqlite3_prepare_v2(c->db, sql, -1, ret, NULL);

	if (rc != SQLITE_OK) {
		*ret = NULL;
		return catalog_sqlite_fail(c, rc, "prepare");
	}
	return 0;
}

int catalog_step(struct catalog *c, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_fail(c, rc, "query");
}

int catalog_prepare_bind(struct catalog *c, const char *sql, sqlite3_stmt **ret,
			 struct catalog_binder *b)
{
	int r = catalog_prepare(c, sql, ret);

	if (r < 0)
		return r;
	*b = (struct catalog_binder){ c, *ret, 0 };
	return 0;
}

int catalog_bound_step(struct catalog_binder *b)
{
	if (b->r < 0)
		return b->r;
	return catalog_step(b->c, b->s);
}

int catalog_exec(struct catalog *c, const char *sql)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	int r;

	r = catalog_prepare(c, sql, &s);
	if (r < 0)
		return r;
	do {
		r = catalog_step(c, s);
	} while (r > 0);
	return r;
}

int catalog_begin(struct catalog *c)
{
	return catalog_exec(c, "BEGIN IMMEDIATE");
}

int catalog_commit(struct catalog *c)
{
	return catalog_exec(c, "COMMIT");
}

void catalog_rollbackp(struct catalog **c)
{
	if (*c && (*c)->db && !sqlite3_get_autocommit((*c)->db))
		(void)sqlite3_exec((*c)->db, "ROLLBACK", NULL, NULL, NULL);
}

static int bind_index(struct catalog_binder *b, const char *name)
{
	int i;

	if (b->r < 0)
		return 0;
	i = sqlite3_bind_parameter_index(b->s, name);
	if (i == 0)
		b->r = catalog_fail(b->c, -EINVAL, "catalog: no parameter %s", name);
	return i;
}

static void bind_result(struct catalog_binder *b, int rc)
{
	if (rc != SQLITE_OK && b->r >= 0)
		b->r = catalog_sqlite_fail(b->c, rc, "bind");
}

void catalog_bind_text(struct catalog_binder *b, const char *name, const char *value)
{
	int i = bind_index(b, name);

	if (i > 0)
		bind_result(b, value ? sqlite3_bind_text(b->s, i, value, -1, SQLITE_STATIC)
				     : sqlite3_bind_null(b->s, i));
}

void catalog_bind_int64(struct catalog_binder *b, const char *name, int64_t value)
{
	int i = bind_index(b, name);

	if (i > 0)
		bind_result(b, sqlite3_bind_int64(b->s, i, value));
}

void catalog_bind_u64(struct catalog_binder *b, const char *name, uint64_t value)
{
	if (value > (uint64_t)INT64_MAX) {
		if (b->r >= 0)
			b->r = catalog_fail(b->c, -ERANGE, "catalog: %s: %llu is too large", name,
					    (unsigned long long)value);
		return;
	}
	catalog_bind_int64(b, name, (int64_t)value);
}

void catalog_bind_int64_or_null(struct catalog_binder *b, const char *name, int64_t value)
{
	int i = bind_index(b, name);

	if (i > 0)
		bind_result(b, value ? sqlite3_bind_int64(b->s, i, value)
				     : sqlite3_bind_null(b->s, i));
}

int catalog_column_strdup(sqlite3_stmt *s, int col, char **ret)
{
	const unsigned char *text;

	*ret = NULL;
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return 0;
	text = sqlite3_column_text(s, col);
	if (!text)
		return -ENOMEM;
	*ret = strdup((const char *)text);
	return *ret ? 0 : -ENOMEM;
}

void catalog_column_id(sqlite3_stmt *s, int col, char ret[CATALOG_ID_MAX])
{
	const unsigned char *text = sqlite3_column_text(s, col);

	snprintf(ret, CATALOG_ID_MAX, "%s", text ? (const char *)text : "");
}

uint64_t catalog_column_u64(sqlite3_stmt *s, int col)
{
	int64_t v = sqlite3_column_int64(s, col);

	return v < 0 ? 0 : (uint64_t)v;
}
