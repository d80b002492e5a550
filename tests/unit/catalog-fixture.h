/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A catalog in a fresh mkdtemp() directory, for the catalog unit tests. */
#ifndef TESTS_UNIT_CATALOG_FIXTURE_H
#define TESTS_UNIT_CATALOG_FIXTURE_H

#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "tmpdir.h"

#include "cbtship/catalog/catalog.h"

struct fixture {
	char dir[PATH_MAX];
	char path[PATH_MAX + 16];
	struct catalog *c;
};

static inline int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *err = NULL;
	int r;

	assert_non_null(f);
	tmpdir_make(f->dir, sizeof(f->dir), "catalog");
	snprintf(f->path, sizeof(f->path), "%s/catalog.db", f->dir);
	r = catalog_open(f->path, &f->c, &err);
	if (r < 0)
		print_error("catalog_open: %s\n", err ? err : "?");
	free(err);
	assert_int_equal(r, 0);
	*state = f;
	return 0;
}

static inline int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	catalog_free(f->c);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

/* Run SQL on the catalog file behind the handle's back (ages, corruption). */
static inline void fixture_sql(const struct fixture *f, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
	sqlite3_close(db);
}

/* A volume of size bytes in project, added to the catalog. */
static inline void fixture_volume(struct fixture *f, const char *name, const char *project,
				  uint64_t size, struct catalog_volume *v)
{
	*v = (struct catalog_volume){
		.name = (char *)name,
		.project = (char *)project,
		.origin_path = (char *)"/dev/vdb",
		.origin_size = size,
		.block_size = 65536,
		.chunk_size = 65536,
		.tracked = true,
	};
	assert_int_equal(catalog_volume_add(f->c, v), 0);
}

/* A new backup record ('creating') of volume; 0 or the error of create. */
static inline int fixture_backup(struct fixture *f, const struct catalog_volume *v,
				 const char *name, const char *parent, struct catalog_backup *b)
{
	*b = (struct catalog_backup){
		.project = v->project,
		.name = (char *)name,
		.is_incremental = parent != NULL,
		.service = CBT_SERVICE_POSIX,
		.volume_size = v->origin_size,
		.chunk_size = v->chunk_size,
	};
	strcpy(b->volume_id, v->id);
	if (parent)
		snprintf(b->parent_id, sizeof(b->parent_id), "%s", parent);
	return catalog_backup_create(f->c, b);
}

#endif
