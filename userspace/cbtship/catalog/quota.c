/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Project quotas: limits (projects table, or the handle's defaults) and
 * usage derived from the backups' quota_state (the quota_usage view).
 */
#include <errno.h>
#include <inttypes.h>

#include "cbtship/catalog/catalog-internal.h"

void catalog_quota_set_defaults(struct catalog *c, int64_t backups_limit, int64_t gigabytes_limit)
{
	c->default_backups_limit = backups_limit;
	c->default_gigabytes_limit = gigabytes_limit;
}

static int read_limits(struct catalog *c, const char *project, struct catalog_quota *q)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c,
				 "SELECT backups_limit, gigabytes_limit FROM projects"
				 " WHERE name = :project",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":project", project);
	r = catalog_bound_step(&b);
	if (r < 0)
		return r;
	q->is_default = r == 0;
	q->backups_limit = r ? sqlite3_column_int64(s, 0) : c->default_backups_limit;
	q->gigabytes_limit = r ? sqlite3_column_int64(s, 1) : c->default_gigabytes_limit;
	return 0;
}

static int read_usage(struct catalog *c, const char *project, struct catalog_quota *q)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c,
				 "SELECT backups_in_use, backups_reserved, gigabytes_in_use,"
				 " gigabytes_reserved FROM quota_usage WHERE project = :project",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":project", project);
	r = catalog_bound_step(&b);
	if (r < 0)
		return r;
	q->backups_in_use = r ? catalog_column_u64(s, 0) : 0;
	q->backups_reserved = r ? catalog_column_u64(s, 1) : 0;
	q->gigabytes_in_use = r ? catalog_column_u64(s, 2) : 0;
	q->gigabytes_reserved = r ? catalog_column_u64(s, 3) : 0;
	return 0;
}

int catalog_quota_get(struct catalog *c, const char *project, struct catalog_quota *ret)
{
	struct catalog_quota q = { 0 };
	int r;

	if (!project || !*project)
		return catalog_fail(c, -EINVAL, "no project");
	r = read_limits(c, project, &q);
	if (r < 0)
		return r;
	r = read_usage(c, project, &q);
	if (r < 0)
		return r;
	*ret = q;
	return 0;
}

int catalog_quota_set(struct catalog *c, const char *project, int64_t backups_limit,
		      int64_t gigabytes_limit)
{
	_cleanup_(catalog_rollbackp) struct catalog *txn = NULL;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_quota q;
	struct catalog_binder b;
	int r;

	if (!project || !*project)
		return catalog_fail(c, -EINVAL, "no project");
	if ((backups_limit < CATALOG_UNLIMITED && backups_limit != CATALOG_QUOTA_KEEP) ||
	    (gigabytes_limit < CATALOG_UNLIMITED && gigabytes_limit != CATALOG_QUOTA_KEEP))
		return catalog_fail(c, -EINVAL, "a quota limit is a count, or -1 for unlimited");
	r = catalog_begin(c);
	if (r < 0)
		return r;
	txn = c;
	r = read_limits(c, project, &q);
	if (r < 0)
		return r;
	if (backups_limit == CATALOG_QUOTA_KEEP)
		backups_limit = q.backups_limit;
	if (gigabytes_limit == CATALOG_QUOTA_KEEP)
		gigabytes_limit = q.gigabytes_limit;
	r = catalog_prepare(
		c,
		"INSERT INTO projects (name, backups_limit, gigabytes_limit, updated_at)"
		" VALUES (:project, :backups, :gigabytes, :now)"
		" ON CONFLICT (name) DO UPDATE SET backups_limit = :backups,"
		" gigabytes_limit = :gigabytes, updated_at = :now",
		&s);
	if (r < 0)
		return r;
	b = (struct catalog_binder){ c, s, 0 };
	catalog_bind_text(&b, ":project", project);
	catalog_bind_int64(&b, ":backups", backups_limit);
	catalog_bind_int64(&b, ":gigabytes", gigabytes_limit);
	catalog_bind_int64(&b, ":now", catalog_now());
	r = catalog_bound_step(&b);
	if (r < 0)
		return r;
	return catalog_commit(c);
}

int catalog_quota_check_locked(struct catalog *c, const char *project, uint64_t gigabytes)
{
	struct catalog_quota q;
	uint64_t used;
	int r;

	r = catalog_quota_get(c, project, &q);
	if (r < 0)
		return r;
	used = q.backups_in_use + q.backups_reserved;
	if (q.backups_limit >= 0 && used + 1 > (uint64_t)q.backups_limit)
		return catalog_fail(c, -EDQUOT,
				    "backup quota exceeded for project %s: maximum number of"
				    " backups allowed (%" PRId64 ") exceeded: %" PRIu64
				    " in use, %" PRIu64 " reserved, 1 requested",
				    project, q.backups_limit, q.backups_in_use, q.backups_reserved);
	used = q.gigabytes_in_use + q.gigabytes_reserved;
	if (q.gigabytes_limit >= 0 && used + gigabytes > (uint64_t)q.gigabytes_limit)
		return catalog_fail(
			c, -EDQUOT,
			"backup gigabytes quota exceeded for project %s: requested %" PRIu64
			"G, quota is %" PRId64 "G, %" PRIu64 "G in use and %" PRIu64 "G reserved",
			project, gigabytes, q.gigabytes_limit, q.gigabytes_in_use,
			q.gigabytes_reserved);
	return 0;
}
