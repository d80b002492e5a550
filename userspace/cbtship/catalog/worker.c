/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Workers: the heartbeats of each host's agent and job workers. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "cbtship/catalog/catalog-internal.h"

struct catalog_worker *catalog_worker_free(struct catalog_worker *w)
{
	if (!w)
		return NULL;
	free(w->host);
	free(w->binary);
	free(w->version);
	free(w);
	return NULL;
}

void catalog_worker_array_free(struct catalog_worker **array, size_t n)
{
	for (size_t i = 0; i < n; i++)
		catalog_worker_free(array[i]);
	free(array);
}

int catalog_worker_heartbeat(struct catalog *c, const char *binary, const char *version)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	if (!binary || !*binary)
		return catalog_fail(c, -EINVAL, "a worker needs a binary name");
	r = catalog_prepare_bind(
		c,
		"INSERT INTO workers (host, binary, pid, version, started_at, heartbeat_at)"
		" VALUES (:host, :binary, :pid, :version, :now, :now)"
		" ON CONFLICT (host, binary) DO UPDATE SET heartbeat_at = :now,"
		" version = :version, pid = :pid,"
		" started_at = CASE WHEN pid = :pid THEN started_at ELSE :now END",
		&s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":host", c->host);
	catalog_bind_text(&b, ":binary", binary);
	catalog_bind_int64(&b, ":pid", getpid());
	catalog_bind_text(&b, ":version", version);
	catalog_bind_int64(&b, ":now", catalog_now());
	r = catalog_bound_step(&b);
	return r < 0 ? r : 0;
}

int catalog_worker_list(struct catalog *c, struct catalog_worker ***ret, size_t *ret_n)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_worker **array = NULL;
	size_t n = 0;
	int r;

	r = catalog_prepare(c,
			    "SELECT host, binary, pid, version, started_at, heartbeat_at"
			    " FROM workers ORDER BY host, binary",
			    &s);
	if (r < 0)
		return r;
	while ((r = catalog_step(c, s)) > 0) {
		struct catalog_worker *w = calloc(1, sizeof(*w));

		if (!w || catalog_column_strdup(s, 0, &w->host) < 0 ||
		    catalog_column_strdup(s, 1, &w->binary) < 0 ||
		    catalog_column_strdup(s, 3, &w->version) < 0) {
			catalog_worker_free(w);
			r = -ENOMEM;
			break;
		}
		w->pid = (pid_t)sqlite3_column_int64(s, 2);
		w->started_at = sqlite3_column_int64(s, 4);
		w->heartbeat_at = sqlite3_column_int64(s, 5);
		r = CATALOG_ARRAY_APPEND(array, n, w);
		if (r < 0) {
			catalog_worker_free(w);
			break;
		}
	}
	if (r < 0) {
		catalog_worker_array_free(array, n);
		return r;
	}
	*ret = array;
	*ret_n = n;
	return 0;
}
