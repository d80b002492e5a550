/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The catalog handle: open (WAL, foreign keys, busy timeout, migrations), free. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cbtship/catalog/catalog-internal.h"
#include "cbtship/state-dir.h"

struct catalog *catalog_free(struct catalog *c)
{
	if (!c)
		return NULL;
	if (c->db)
		sqlite3_close_v2(c->db);
	free(c->path);
	free(c);
	return NULL;
}

const char *catalog_error(const struct catalog *c)
{
	return c->error;
}

const char *catalog_host(const struct catalog *c)
{
	return c->host;
}

int catalog_set_host(struct catalog *c, const char *host)
{
	if (!host || !*host || strlen(host) >= sizeof(c->host))
		return catalog_fail(c, -EINVAL, "catalog: bad host name");
	strcpy(c->host, host);
	return 0;
}

/* PRAGMA journal_mode answers with the mode now in force. */
static int set_wal(struct catalog *c)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	const unsigned char *mode;
	int r;

	r = catalog_prepare(c, "PRAGMA journal_mode = WAL", &s);
	if (r < 0)
		return r;
	r = catalog_step(c, s);
	if (r < 0)
		return r;
	mode = r > 0 ? sqlite3_column_text(s, 0) : NULL;
	if (!mode || strcmp((const char *)mode, "wal") != 0)
		return catalog_fail(c, -EOPNOTSUPP,
				    "catalog %s: cannot use WAL journal mode (journal mode %s)",
				    c->path, mode ? (const char *)mode : "unknown");
	return 0;
}

static int open_db(struct catalog *c)
{
	int r, rc;

	r = cbtship_make_parent_dirs(c->path);
	if (r < 0)
		return catalog_fail(c, r, "catalog %s: cannot create its directory: %s", c->path,
				    strerror(-r));
	rc = sqlite3_open_v2(c->path, &c->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK)
		return catalog_sqlite_fail(c, rc, "open");
	rc = sqlite3_busy_timeout(c->db, CATALOG_BUSY_TIMEOUT_MS);
	if (rc != SQLITE_OK)
		return catalog_sqlite_fail(c, rc, "busy timeout");
	r = catalog_exec(c, "PRAGMA foreign_keys = ON");
	if (r < 0)
		return r;
	r = set_wal(c);
	if (r < 0)
		return r;
	/* A committed removal must survive power loss: the repository's
	 * garbage collection trusts it. */
	r = catalog_exec(c, "PRAGMA synchronous = FULL");
	if (r < 0)
		return r;
	return catalog_schema_migrate(c);
}

/* This boot's identity, as the kernel gives it ("" when it cannot be read). */
static void read_boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

int catalog_open(const char *path, struct catalog **ret, char **ret_error)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (!path || !*path) {
		if (ret_error)
			*ret_error = strdup("catalog: no path");
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->path = strdup(path);
	if (!c->path)
		return -ENOMEM;
	if (gethostname(c->host, sizeof(c->host) - 1) < 0 || !c->host[0])
		strcpy(c->host, "localhost");
	read_boot_id(c->boot_id, sizeof(c->boot_id));
	c->default_backups_limit = CATALOG_DEFAULT_BACKUPS_LIMIT;
	c->default_gigabytes_limit = CATALOG_DEFAULT_GIGABYTES_LIMIT;

	r = open_db(c);
	if (r == -EMEDIUMTYPE && !strstr(c->error, "not a cbtship catalog"))
		catalog_fail(c, r, "%s is not a cbtship catalog (not an SQLite database)", path);
	if (r < 0) {
		if (ret_error)
			*ret_error = strdup(c->error[0] ? c->error : strerror(-r));
		return r;
	}
	*ret = TAKE_PTR(c);
	return 0;
}
