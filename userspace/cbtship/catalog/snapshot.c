/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Snapshot records: a point-in-time view of a tracked volume kept for later backups. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cbtship/catalog/catalog-internal.h"

#define SNAPSHOT_COLUMNS                                                                          \
	"id, volume_id, project, name, description, status, fail_reason, checkpoint, generation," \
	" holds_checkpoint, volume_size, owner_pid, owner_host, created_at, updated_at,"          \
	" owner_boot"

struct catalog_snapshot *catalog_snapshot_free(struct catalog_snapshot *s)
{
	if (!s)
		return NULL;
	free(s->project);
	free(s->name);
	free(s->description);
	free(s->fail_reason);
	free(s->generation);
	free(s->owner_host);
	free(s->owner_boot);
	free(s);
	return NULL;
}

void catalog_snapshot_array_free(struct catalog_snapshot **array, size_t n)
{
	for (size_t i = 0; i < n; i++)
		catalog_snapshot_free(array[i]);
	free(array);
}

static int snapshot_from_row(sqlite3_stmt *st, struct catalog_snapshot **ret)
{
	_cleanup_(catalog_snapshot_freep) struct catalog_snapshot *s = calloc(1, sizeof(*s));
	int status;

	if (!s)
		return -ENOMEM;
	catalog_column_id(st, 0, s->id);
	catalog_column_id(st, 1, s->volume_id);
	if (catalog_column_strdup(st, 2, &s->project) < 0 ||
	    catalog_column_strdup(st, 3, &s->name) < 0 ||
	    catalog_column_strdup(st, 4, &s->description) < 0 ||
	    catalog_column_strdup(st, 6, &s->fail_reason) < 0 ||
	    catalog_column_strdup(st, 8, &s->generation) < 0 ||
	    catalog_column_strdup(st, 12, &s->owner_host) < 0 ||
	    catalog_column_strdup(st, 15, &s->owner_boot) < 0)
		return -ENOMEM;
	status = catalog_snapshot_status_from_string((const char *)sqlite3_column_text(st, 5));
	s->status = status < 0 ? CATALOG_SNAPSHOT_ERROR : (enum catalog_snapshot_status)status;
	s->checkpoint = catalog_column_u64(st, 7);
	s->holds_checkpoint = sqlite3_column_int(st, 9) != 0;
	s->volume_size = catalog_column_u64(st, 10);
	s->owner_pid = (pid_t)sqlite3_column_int64(st, 11);
	s->created_at = sqlite3_column_int64(st, 13);
	s->updated_at = sqlite3_column_int64(st, 14);
	*ret = TAKE_PTR(s);
	return 0;
}

int catalog_snapshot_add(struct catalog *c, struct catalog_snapshot *s)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	struct catalog_binder b;
	int r;

	if (!s->volume_id[0] || !s->project || !*s->project)
		return catalog_fail(c, -EINVAL, "a snapshot needs a volume and a project");
	if (!s->id[0]) {
		r = catalog_id_new(s->id);
		if (r < 0)
			return catalog_fail(c, r, "cannot make a snapshot id: %s", strerror(-r));
	}
	s->status = CATALOG_SNAPSHOT_CREATING;
	s->owner_pid = getpid();
	s->created_at = s->updated_at = catalog_now();
	r = catalog_prepare_bind(c,
				 "INSERT INTO snapshots (" SNAPSHOT_COLUMNS ") VALUES (:id,"
				 " :volume_id, :project, :name, :description, 'creating', NULL,"
				 " 0, NULL, 0, :volume_size, :pid, :host, :now, :now, :boot)",
				 &st, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":id", s->id);
	catalog_bind_text(&b, ":volume_id", s->volume_id);
	catalog_bind_text(&b, ":project", s->project);
	catalog_bind_text(&b, ":name", s->name);
	catalog_bind_text(&b, ":description", s->description);
	catalog_bind_u64(&b, ":volume_size", s->volume_size);
	catalog_bind_int64(&b, ":pid", s->owner_pid);
	catalog_bind_text(&b, ":host", c->host);
	catalog_bind_text(&b, ":boot", c->boot_id[0] ? c->boot_id : NULL);
	catalog_bind_int64(&b, ":now", s->created_at);
	r = catalog_bound_step(&b);
	if (r == -EEXIST)
		return catalog_fail(c, r, "a snapshot with id %s exists already", s->id);
	return r < 0 ? r : 0;
}

int catalog_snapshot_find(struct catalog *c, const char *name_or_id, const char *project,
			  struct catalog_snapshot **ret)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	_cleanup_(catalog_snapshot_freep) struct catalog_snapshot *found = NULL;
	struct catalog_binder b;
	int r;

	if (!name_or_id)
		return catalog_fail(c, -EINVAL, "no snapshot name or id");
	/* The id match sorts first; two name matches are ambiguous. */
	r = catalog_prepare_bind(c,
				 "SELECT " SNAPSHOT_COLUMNS " FROM snapshots"
				 " WHERE (id = :key OR name = :key)"
				 " AND (:project IS NULL OR project = :project)"
				 " ORDER BY id = :key DESC LIMIT 2",
				 &st, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":key", name_or_id);
	catalog_bind_text(&b, ":project", project);
	r = catalog_bound_step(&b);
	if (r == 0)
		return catalog_fail(c, -ENOENT, "no snapshot '%s'%s%s in the catalog", name_or_id,
				    project ? " in project " : "", project ? project : "");
	if (r < 0)
		return r;
	r = snapshot_from_row(st, &found);
	if (r < 0)
		return catalog_fail(c, r, "out of memory");
	if (strcmp(found->id, name_or_id) != 0) {
		r = catalog_step(c, st);
		if (r < 0)
			return r;
		if (r > 0)
			return catalog_fail(c, -ENOTUNIQ,
					    "more than one snapshot is named '%s': use an id",
					    name_or_id);
	}
	*ret = TAKE_PTR(found);
	return 0;
}

int catalog_snapshot_update(struct catalog *c, struct catalog_snapshot *s)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	struct catalog_binder b;
	int r;

	if (!catalog_snapshot_status_to_string(s->status))
		return catalog_fail(c, -EINVAL, "bad snapshot status %d", (int)s->status);
	s->updated_at = catalog_now();
	r = catalog_prepare_bind(c,
				 "UPDATE snapshots SET status = :status, fail_reason = :reason,"
				 " checkpoint = :checkpoint, generation = :generation,"
				 " holds_checkpoint = :holds, updated_at = :now WHERE id = :id",
				 &st, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":status", catalog_snapshot_status_to_string(s->status));
	catalog_bind_text(&b, ":reason", s->fail_reason);
	catalog_bind_u64(&b, ":checkpoint", s->checkpoint);
	catalog_bind_text(&b, ":generation", s->generation);
	catalog_bind_int64(&b, ":holds", s->holds_checkpoint);
	catalog_bind_int64(&b, ":now", s->updated_at);
	catalog_bind_text(&b, ":id", s->id);
	r = catalog_bound_step(&b);
	if (r < 0)
		return r;
	if (sqlite3_changes(c->db) == 0)
		return catalog_fail(c, -ENOENT, "no snapshot %s in the catalog", s->id);
	return 0;
}

int catalog_snapshot_delete(struct catalog *c, const char *id)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c, "DELETE FROM snapshots WHERE id = :id", &st, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":id", id);
	r = catalog_bound_step(&b);
	if (r < 0)
		return r;
	if (sqlite3_changes(c->db) == 0)
		return catalog_fail(c, -ENOENT, "no snapshot %s in the catalog", id);
	return 0;
}

int catalog_snapshot_list(struct catalog *c, const char *volume_id, const char *project,
			  struct catalog_snapshot ***ret, size_t *ret_n)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	struct catalog_snapshot **array = NULL;
	struct catalog_binder b;
	size_t n = 0;
	int r;

	r = catalog_prepare_bind(c,
				 "SELECT " SNAPSHOT_COLUMNS " FROM snapshots"
				 " WHERE (:volume IS NULL OR volume_id = :volume)"
				 " AND (:project IS NULL OR project = :project)"
				 " ORDER BY created_at, id",
				 &st, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":volume", volume_id);
	catalog_bind_text(&b, ":project", project);
	if (b.r < 0)
		return b.r;
	while ((r = catalog_step(c, st)) > 0) {
		struct catalog_snapshot *s;

		r = snapshot_from_row(st, &s);
		if (r >= 0) {
			r = CATALOG_ARRAY_APPEND(array, n, s);
			if (r < 0)
				catalog_snapshot_free(s);
		}
		if (r < 0)
			break;
	}
	if (r < 0) {
		catalog_snapshot_array_free(array, n);
		return r;
	}
	*ret = array;
	*ret_n = n;
	return 0;
}

bool catalog_snapshot_is_stale(const struct catalog *c, const struct catalog_snapshot *s)
{
	return s->status == CATALOG_SNAPSHOT_CREATING && s->owner_host &&
	       strcmp(s->owner_host, c->host) == 0 &&
	       !catalog_owner_alive(c, s->owner_pid, s->owner_boot);
}
