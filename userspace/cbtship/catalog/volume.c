/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Volume records. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/catalog/catalog-internal.h"

#define VOLUME_COLUMNS                                                                       \
	"id, name, project, origin_path, origin_size, origin_uuid, block_size, chunk_size,"  \
	" tracked, last_generation, last_checkpoint, status, status_reason, created_at,"     \
	" updated_at, settled_checkpoint, metadata_path, origin_identity, full_read_reason," \
	" imported"

struct catalog_volume *catalog_volume_free(struct catalog_volume *v)
{
	if (!v)
		return NULL;
	free(v->name);
	free(v->project);
	free(v->origin_path);
	free(v->origin_uuid);
	free(v->last_generation);
	free(v->status_reason);
	free(v->metadata_path);
	free(v->origin_identity);
	free(v->full_read_reason);
	free(v);
	return NULL;
}

void catalog_volume_array_free(struct catalog_volume **array, size_t n)
{
	for (size_t i = 0; i < n; i++)
		catalog_volume_free(array[i]);
	free(array);
}

static int volume_from_row(sqlite3_stmt *s, struct catalog_volume **ret)
{
	_cleanup_(catalog_volume_freep) struct catalog_volume *v = calloc(1, sizeof(*v));
	int status;

	if (!v)
		return -ENOMEM;
	catalog_column_id(s, 0, v->id);
	if (catalog_column_strdup(s, 1, &v->name) < 0 ||
	    catalog_column_strdup(s, 2, &v->project) < 0 ||
	    catalog_column_strdup(s, 3, &v->origin_path) < 0 ||
	    catalog_column_strdup(s, 5, &v->origin_uuid) < 0 ||
	    catalog_column_strdup(s, 9, &v->last_generation) < 0 ||
	    catalog_column_strdup(s, 12, &v->status_reason) < 0 ||
	    catalog_column_strdup(s, 16, &v->metadata_path) < 0 ||
	    catalog_column_strdup(s, 17, &v->origin_identity) < 0 ||
	    catalog_column_strdup(s, 18, &v->full_read_reason) < 0)
		return -ENOMEM;
	v->origin_size = catalog_column_u64(s, 4);
	v->block_size = (uint32_t)sqlite3_column_int64(s, 6);
	v->chunk_size = (uint32_t)sqlite3_column_int64(s, 7);
	v->tracked = sqlite3_column_int(s, 8) != 0;
	v->last_checkpoint = catalog_column_u64(s, 10);
	status = catalog_volume_status_from_string((const char *)sqlite3_column_text(s, 11));
	v->status = status < 0 ? CATALOG_VOLUME_ERROR : (enum catalog_volume_status)status;
	v->created_at = sqlite3_column_int64(s, 13);
	v->updated_at = sqlite3_column_int64(s, 14);
	v->settled_checkpoint = catalog_column_u64(s, 15);
	v->imported = sqlite3_column_int(s, 19) != 0;
	*ret = TAKE_PTR(v);
	return 0;
}

static void bind_volume(struct catalog_binder *b, const struct catalog_volume *v)
{
	catalog_bind_text(b, ":id", v->id);
	catalog_bind_text(b, ":name", v->name);
	catalog_bind_text(b, ":project", v->project);
	catalog_bind_text(b, ":origin_path", v->origin_path);
	catalog_bind_u64(b, ":origin_size", v->origin_size);
	catalog_bind_text(b, ":origin_uuid", v->origin_uuid);
	catalog_bind_int64(b, ":block_size", v->block_size);
	catalog_bind_int64(b, ":chunk_size", v->chunk_size);
	catalog_bind_int64(b, ":tracked", v->tracked);
	catalog_bind_text(b, ":last_generation", v->last_generation);
	catalog_bind_u64(b, ":last_checkpoint", v->last_checkpoint);
	catalog_bind_u64(b, ":settled_checkpoint", v->settled_checkpoint);
	catalog_bind_text(b, ":status", catalog_volume_status_to_string(v->status));
	catalog_bind_text(b, ":status_reason", v->status_reason);
	catalog_bind_int64(b, ":updated_at", v->updated_at);
	catalog_bind_text(b, ":metadata_path", v->metadata_path);
	catalog_bind_text(b, ":origin_identity", v->origin_identity);
	catalog_bind_text(b, ":full_read_reason", v->full_read_reason);
	catalog_bind_int64(b, ":imported", v->imported);
}

static int check_volume(struct catalog *c, const struct catalog_volume *v)
{
	if (!v->name || !*v->name || !v->project || !*v->project || !v->origin_path ||
	    !*v->origin_path)
		return catalog_fail(c, -EINVAL, "a volume needs a name, a project and an origin");
	if (!catalog_volume_status_to_string(v->status))
		return catalog_fail(c, -EINVAL, "bad volume status %d", (int)v->status);
	return 0;
}

int catalog_volume_add(struct catalog *c, struct catalog_volume *v)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = check_volume(c, v);
	if (r < 0)
		return r;
	if (!v->id[0]) {
		r = catalog_id_new(v->id);
		if (r < 0)
			return catalog_fail(c, r, "cannot make a volume id: %s", strerror(-r));
	}
	v->created_at = v->updated_at = catalog_now();
	r = catalog_prepare_bind(
		c,
		"INSERT INTO volumes (" VOLUME_COLUMNS ") VALUES (:id, :name, :project,"
		" :origin_path, :origin_size, :origin_uuid, :block_size, :chunk_size,"
		" :tracked, :last_generation, :last_checkpoint, :status,"
		" :status_reason, :created_at, :updated_at, :settled_checkpoint,"
		" :metadata_path, :origin_identity, :full_read_reason, :imported)",
		&s, &b);
	if (r < 0)
		return r;
	bind_volume(&b, v);
	catalog_bind_int64(&b, ":created_at", v->created_at);
	r = catalog_bound_step(&b);
	if (r == -EEXIST)
		return catalog_fail(c, r, "a volume named '%s' or with id %s exists already",
				    v->name, v->id);
	return r;
}

static int get_by(struct catalog *c, const char *sql, const char *key, struct catalog_volume **ret)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c, sql, &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":key", key);
	r = catalog_bound_step(&b);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	return volume_from_row(s, ret);
}

int catalog_volume_get(struct catalog *c, const char *name_or_id, struct catalog_volume **ret)
{
	int r;

	if (!name_or_id)
		return catalog_fail(c, -EINVAL, "no volume name or id");
	r = get_by(c, "SELECT " VOLUME_COLUMNS " FROM volumes WHERE id = :key", name_or_id, ret);
	if (r == -ENOENT)
		r = get_by(c, "SELECT " VOLUME_COLUMNS " FROM volumes WHERE name = :key",
			   name_or_id, ret);
	if (r == -ENOENT)
		return catalog_fail(c, r, "no volume '%s' in the catalog", name_or_id);
	return r;
}

int catalog_volume_update(struct catalog *c, struct catalog_volume *v)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = check_volume(c, v);
	if (r < 0)
		return r;
	v->updated_at = catalog_now();
	r = catalog_prepare(
		c,
		"UPDATE volumes SET name = :name, project = :project,"
		" origin_path = :origin_path, origin_size = :origin_size,"
		" origin_uuid = :origin_uuid, block_size = :block_size,"
		" chunk_size = :chunk_size, tracked = :tracked,"
		" last_generation = :last_generation, last_checkpoint = :last_checkpoint,"
		" settled_checkpoint = :settled_checkpoint,"
		" status = :status, status_reason = :status_reason,"
		" metadata_path = :metadata_path, origin_identity = :origin_identity,"
		" full_read_reason = :full_read_reason, imported = :imported,"
		" updated_at = :updated_at WHERE id = :id",
		&s);
	if (r < 0)
		return r;
	b = (struct catalog_binder){ c, s, 0 };
	bind_volume(&b, v);
	r = catalog_bound_step(&b);
	if (r == -EEXIST)
		return catalog_fail(c, r, "a volume named '%s' exists already", v->name);
	if (r < 0)
		return r;
	if (sqlite3_changes(c->db) == 0)
		return catalog_fail(c, -ENOENT, "no volume %s in the catalog", v->id);
	return 0;
}

int catalog_volume_delete(struct catalog *c, const char *id)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c, "DELETE FROM volumes WHERE id = :id", &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":id", id);
	r = catalog_bound_step(&b);
	if (r < 0)
		return r;
	if (sqlite3_changes(c->db) == 0)
		return catalog_fail(c, -ENOENT, "no volume %s in the catalog", id);
	return 0;
}

int catalog_volume_list(struct catalog *c, const char *project, struct catalog_volume ***ret,
			size_t *ret_n)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_volume **array = NULL;
	struct catalog_binder b;
	size_t n = 0;
	int r;

	r = catalog_prepare_bind(c,
				 "SELECT " VOLUME_COLUMNS " FROM volumes"
				 " WHERE :project IS NULL OR project = :project ORDER BY name",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":project", project);
	if (b.r < 0)
		return b.r;
	while ((r = catalog_step(c, s)) > 0) {
		struct catalog_volume *v;

		r = volume_from_row(s, &v);
		if (r >= 0) {
			r = CATALOG_ARRAY_APPEND(array, n, v);
			if (r < 0)
				catalog_volume_free(v);
		}
		if (r < 0)
			break;
	}
	if (r < 0) {
		catalog_volume_array_free(array, n);
		return r;
	}
	*ret = array;
	*ret_n = n;
	return 0;
}

/* One UPDATE of volume id; -ENOENT when it matched nothing (changed: 1 or 0). */
static int volume_set(struct catalog *c, struct catalog_binder *b, const char *id, int *ret_changed)
{
	int r;

	catalog_bind_int64(b, ":now", catalog_now());
	catalog_bind_text(b, ":id", id);
	r = catalog_bound_step(b);
	if (r < 0)
		return r;
	if (ret_changed) {
		*ret_changed = sqlite3_changes(c->db) > 0;
		return 0;
	}
	if (sqlite3_changes(c->db) == 0)
		return catalog_fail(c, -ENOENT, "no volume %s in the catalog", id);
	return 0;
}

int catalog_volume_set_status(struct catalog *c, const char *id, enum catalog_volume_status status,
			      const char *reason)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	if (!catalog_volume_status_to_string(status))
		return catalog_fail(c, -EINVAL, "bad volume status %d", (int)status);
	r = catalog_prepare_bind(c,
				 "UPDATE volumes SET status = :status, status_reason = :reason,"
				 " updated_at = :now WHERE id = :id",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":status", catalog_volume_status_to_string(status));
	catalog_bind_text(&b, ":reason", reason);
	return volume_set(c, &b, id, NULL);
}

int catalog_volume_set_full_read_reason(struct catalog *c, const char *id, const char *reason)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c,
				 "UPDATE volumes SET full_read_reason = :reason, updated_at = :now"
				 " WHERE id = :id",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":reason", reason);
	return volume_set(c, &b, id, NULL);
}

int catalog_volume_clear_full_read_reason(struct catalog *c, const char *id, const char *seen)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r, changed;

	r = catalog_prepare_bind(c,
				 "UPDATE volumes SET full_read_reason = NULL, updated_at = :now"
				 " WHERE id = :id AND full_read_reason = :seen",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":seen", seen);
	r = volume_set(c, &b, id, &changed);
	return r < 0 ? r : changed;
}
