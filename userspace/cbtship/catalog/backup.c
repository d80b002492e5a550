/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Backup records: create (with its quota reservation), read, list, update, remove. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cbtship/catalog/catalog-internal.h"

/* Read by backup_from_row() in this order; has_dependent_backups is derived. */
#define BACKUP_COLUMNS                                                                           \
	"b.id, b.volume_id, b.project, b.name, b.description, b.status, b.fail_reason,"          \
	" b.parent_id, b.is_incremental,"                                                        \
	" EXISTS (SELECT 1 FROM backups d WHERE d.parent_id = b.id), b.container, b.service,"    \
	" b.snapshot_id, b.checkpoint, b.generation, b.volume_size, b.chunk_size, b.bytes_read," \
	" b.bytes_stored, b.chunks_total, b.chunks_new, b.chunks_zero, b.object_count,"          \
	" b.quota_gigabytes, b.quota_state, b.data_timestamp, b.created_at, b.updated_at,"       \
	" b.started_at, b.finished_at, b.owner_pid, b.owner_host, b.heartbeat_at,"               \
	" b.progress_done, b.progress_total, b.owner_boot, b.index_root, b.restore_path,"        \
	" b.restore_volume_id, b.restore_created"

struct catalog_backup *catalog_backup_free(struct catalog_backup *b)
{
	if (!b)
		return NULL;
	free(b->project);
	free(b->name);
	free(b->description);
	free(b->fail_reason);
	free(b->container);
	free(b->snapshot_id);
	free(b->owner_boot);
	free(b->generation);
	free(b->owner_host);
	free(b->index_root);
	free(b->restore_path);
	free(b->restore_volume_id);
	free(b);
	return NULL;
}

void catalog_backup_array_free(struct catalog_backup **array, size_t n)
{
	for (size_t i = 0; i < n; i++)
		catalog_backup_free(array[i]);
	free(array);
}

uint64_t catalog_size_gib(uint64_t bytes)
{
	return bytes / CATALOG_GIB + (bytes % CATALOG_GIB != 0);
}

static int backup_from_row(sqlite3_stmt *s, struct catalog_backup **ret)
{
	_cleanup_(catalog_backup_freep) struct catalog_backup *b = calloc(1, sizeof(*b));
	int e;

	if (!b)
		return -ENOMEM;
	catalog_column_id(s, 0, b->id);
	catalog_column_id(s, 1, b->volume_id);
	if (catalog_column_strdup(s, 2, &b->project) < 0 ||
	    catalog_column_strdup(s, 3, &b->name) < 0 ||
	    catalog_column_strdup(s, 4, &b->description) < 0 ||
	    catalog_column_strdup(s, 6, &b->fail_reason) < 0 ||
	    catalog_column_strdup(s, 10, &b->container) < 0 ||
	    catalog_column_strdup(s, 12, &b->snapshot_id) < 0 ||
	    catalog_column_strdup(s, 14, &b->generation) < 0 ||
	    catalog_column_strdup(s, 31, &b->owner_host) < 0)
		return -ENOMEM;
	if (catalog_backup_status_from_string((const char *)sqlite3_column_text(s, 5), &b->status) <
	    0)
		b->status = CATALOG_BACKUP_ERROR;
	catalog_column_id(s, 7, b->parent_id);
	b->is_incremental = sqlite3_column_int(s, 8) != 0;
	b->has_dependent_backups = sqlite3_column_int(s, 9) != 0;
	if (cbt_service_from_string((const char *)sqlite3_column_text(s, 11), &b->service) < 0)
		b->service = CBT_SERVICE_POSIX;
	b->checkpoint = catalog_column_u64(s, 13);
	b->volume_size = catalog_column_u64(s, 15);
	b->chunk_size = (uint32_t)sqlite3_column_int64(s, 16);
	b->bytes_read = catalog_column_u64(s, 17);
	b->bytes_stored = catalog_column_u64(s, 18);
	b->chunks_total = catalog_column_u64(s, 19);
	b->chunks_new = catalog_column_u64(s, 20);
	b->chunks_zero = catalog_column_u64(s, 21);
	b->object_count = catalog_column_u64(s, 22);
	b->quota_gigabytes = catalog_column_u64(s, 23);
	e = catalog_quota_state_from_string((const char *)sqlite3_column_text(s, 24));
	b->quota_state = e < 0 ? CATALOG_QUOTA_RELEASED : (enum catalog_quota_state)e;
	b->data_timestamp = sqlite3_column_int64(s, 25);
	b->created_at = sqlite3_column_int64(s, 26);
	b->updated_at = sqlite3_column_int64(s, 27);
	b->started_at = sqlite3_column_int64(s, 28);
	b->finished_at = sqlite3_column_int64(s, 29);
	b->owner_pid = (pid_t)sqlite3_column_int64(s, 30);
	b->heartbeat_at = sqlite3_column_int64(s, 32);
	b->progress_done = catalog_column_u64(s, 33);
	b->progress_total = catalog_column_u64(s, 34);
	if (catalog_column_strdup(s, 35, &b->owner_boot) < 0 ||
	    catalog_column_strdup(s, 36, &b->index_root) < 0 ||
	    catalog_column_strdup(s, 37, &b->restore_path) < 0 ||
	    catalog_column_strdup(s, 38, &b->restore_volume_id) < 0)
		return -ENOMEM;
	b->restore_created = sqlite3_column_int(s, 39) != 0;
	*ret = TAKE_PTR(b);
	return 0;
}

/* The parent named by a new backup: in the catalog, of the same volume. */
static int check_parent_locked(struct catalog *c, const struct catalog_backup *b)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder bind;
	const unsigned char *volume;
	int r;

	r = catalog_prepare(c, "SELECT volume_id FROM backups WHERE id = :id", &s);
	if (r < 0)
		return r;
	bind = (struct catalog_binder){ c, s, 0 };
	catalog_bind_text(&bind, ":id", b->parent_id);
	if (bind.r < 0)
		return bind.r;
	r = catalog_step(c, s);
	if (r < 0)
		return r;
	if (r == 0)
		return catalog_fail(c, -ENOENT, "parent backup %s is not in the catalog",
				    b->parent_id);
	volume = sqlite3_column_text(s, 0);
	if (!volume || strcmp((const char *)volume, b->volume_id) != 0)
		return catalog_fail(c, -EINVAL, "parent backup %s is a backup of volume %s, not %s",
				    b->parent_id, volume ? (const char *)volume : "?",
				    b->volume_id);
	return 0;
}

static int insert_backup(struct catalog *c, const struct catalog_backup *b)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder bind;
	int r;

	r = catalog_prepare(
		c,
		"INSERT INTO backups (id, volume_id, project, name, description, status,"
		" fail_reason, parent_id, is_incremental, container, service, snapshot_id,"
		" checkpoint, generation, volume_size, chunk_size, quota_gigabytes, quota_state,"
		" data_timestamp, created_at, updated_at, owner_pid, owner_host, heartbeat_at,"
		" owner_boot)"
		" VALUES (:id, :volume_id, :project, :name, :description, 'creating', NULL,"
		" :parent_id, :is_incremental, :container, :service, :snapshot_id, :checkpoint,"
		" :generation, :volume_size, :chunk_size, :quota_gigabytes, 'reserved',"
		" :data_timestamp, :now, :now, :owner_pid, :owner_host, :now, :owner_boot)",
		&s);
	if (r < 0)
		return r;
	bind = (struct catalog_binder){ c, s, 0 };
	catalog_bind_text(&bind, ":id", b->id);
	catalog_bind_text(&bind, ":volume_id", b->volume_id);
	catalog_bind_text(&bind, ":project", b->project);
	catalog_bind_text(&bind, ":name", b->name);
	catalog_bind_text(&bind, ":description", b->description);
	catalog_bind_text(&bind, ":parent_id", b->parent_id[0] ? b->parent_id : NULL);
	catalog_bind_int64(&bind, ":is_incremental", b->is_incremental);
	catalog_bind_text(&bind, ":container", b->container);
	catalog_bind_text(&bind, ":service", cbt_service_to_string(b->service));
	catalog_bind_text(&bind, ":snapshot_id", b->snapshot_id);
	catalog_bind_u64(&bind, ":checkpoint", b->checkpoint);
	catalog_bind_text(&bind, ":generation", b->generation);
	catalog_bind_u64(&bind, ":volume_size", b->volume_size);
	catalog_bind_int64(&bind, ":chunk_size", b->chunk_size);
	catalog_bind_u64(&bind, ":quota_gigabytes", b->quota_gigabytes);
	catalog_bind_int64(&bind, ":data_timestamp", b->data_timestamp);
	catalog_bind_int64(&bind, ":now", b->created_at);
	catalog_bind_int64(&bind, ":owner_pid", b->owner_pid);
	catalog_bind_text(&bind, ":owner_host", c->host);
	catalog_bind_text(&bind, ":owner_boot", c->boot_id[0] ? c->boot_id : NULL);
	if (bind.r < 0)
		return bind.r;
	r = catalog_step(c, s);
	if (r == -EEXIST)
		return catalog_fail(c, r, "a backup with id %s exists already", b->id);
	return r;
}

int catalog_backup_create(struct catalog *c, struct catalog_backup *b)
{
	_cleanup_(catalog_rollbackp) struct catalog *txn = NULL;
	int r;

	if (!b->project || !*b->project || !b->volume_id[0])
		return catalog_fail(c, -EINVAL, "a backup needs a project and a volume");
	if (!cbt_service_to_string(b->service))
		return catalog_fail(c, -EINVAL, "bad backup service %d", (int)b->service);
	if (!b->id[0]) {
		r = catalog_id_new(b->id);
		if (r < 0)
			return catalog_fail(c, r, "cannot make a backup id: %s", strerror(-r));
	}
	b->quota_gigabytes = catalog_size_gib(b->volume_size);
	b->created_at = b->updated_at = b->heartbeat_at = catalog_now();
	if (!b->data_timestamp)
		b->data_timestamp = b->created_at;
	if (!b->owner_pid)
		b->owner_pid = getpid();

	r = catalog_begin(c);
	if (r < 0)
		return r;
	txn = c;
	r = catalog_quota_check_locked(c, b->project, b->quota_gigabytes);
	if (r < 0)
		return r;
	if (b->parent_id[0]) {
		r = check_parent_locked(c, b);
		if (r < 0)
			return r;
	}
	r = insert_backup(c, b);
	if (r < 0)
		return r;
	r = catalog_commit(c);
	if (r < 0)
		return r;
	b->status = CATALOG_BACKUP_CREATING;
	b->quota_state = CATALOG_QUOTA_RESERVED;
	b->has_dependent_backups = false;
	return 0;
}

/* Run a query expected to give at most one backup. */
static int get_one(struct catalog *c, sqlite3_stmt *s, struct catalog_backup **ret)
{
	int r = catalog_step(c, s);

	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	return backup_from_row(s, ret);
}

int catalog_backup_get(struct catalog *c, const char *id, struct catalog_backup **ret)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c, "SELECT " BACKUP_COLUMNS " FROM backups b WHERE b.id = :id", &s,
				 &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":id", id);
	if (b.r < 0)
		return b.r;
	r = get_one(c, s, ret);
	if (r == -ENOENT)
		return catalog_fail(c, r, "no backup %s in the catalog", id);
	return r;
}

int catalog_backup_find(struct catalog *c, const char *name_or_id, const char *project,
			struct catalog_backup **ret)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	_cleanup_(catalog_backup_freep) struct catalog_backup *found = NULL;
	struct catalog_binder b;
	int r;

	if (!name_or_id)
		return catalog_fail(c, -EINVAL, "no backup name or id");
	/* The id match sorts first; two name matches are ambiguous. */
	r = catalog_prepare_bind(c,
				 "SELECT " BACKUP_COLUMNS " FROM backups b"
				 " WHERE (b.id = :key OR b.name = :key)"
				 " AND (:project IS NULL OR b.project = :project)"
				 " ORDER BY b.id = :key DESC LIMIT 2",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":key", name_or_id);
	catalog_bind_text(&b, ":project", project);
	if (b.r < 0)
		return b.r;
	r = get_one(c, s, &found);
	if (r == -ENOENT)
		return catalog_fail(c, r, "no backup '%s'%s%s in the catalog", name_or_id,
				    project ? " in project " : "", project ? project : "");
	if (r < 0)
		return r;
	if (strcmp(found->id, name_or_id) != 0) {
		r = catalog_step(c, s);
		if (r < 0)
			return r;
		if (r > 0)
			return catalog_fail(c, -ENOTUNIQ,
					    "more than one backup is named '%s': use an id",
					    name_or_id);
	}
	*ret = TAKE_PTR(found);
	return 0;
}

int catalog_backup_update(struct catalog *c, struct catalog_backup *b)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder bind;
	int r;

	b->updated_at = catalog_now();
	r = catalog_prepare(
		c,
		"UPDATE backups SET name = :name, description = :description,"
		" container = :container, snapshot_id = :snapshot_id,"
		" is_incremental = :is_incremental, checkpoint = :checkpoint,"
		" generation = :generation, chunk_size = :chunk_size, bytes_read = :bytes_read,"
		" bytes_stored = :bytes_stored, chunks_total = :chunks_total,"
		" chunks_new = :chunks_new, chunks_zero = :chunks_zero,"
		" object_count = :object_count, data_timestamp = :data_timestamp,"
		" started_at = :started_at, finished_at = :finished_at, updated_at = :now"
		" WHERE id = :id",
		&s);
	if (r < 0)
		return r;
	bind = (struct catalog_binder){ c, s, 0 };
	catalog_bind_text(&bind, ":id", b->id);
	catalog_bind_text(&bind, ":name", b->name);
	catalog_bind_text(&bind, ":description", b->description);
	catalog_bind_text(&bind, ":container", b->container);
	catalog_bind_text(&bind, ":snapshot_id", b->snapshot_id);
	catalog_bind_int64(&bind, ":is_incremental", b->is_incremental);
	catalog_bind_u64(&bind, ":checkpoint", b->checkpoint);
	catalog_bind_text(&bind, ":generation", b->generation);
	catalog_bind_int64(&bind, ":chunk_size", b->chunk_size);
	catalog_bind_u64(&bind, ":bytes_read", b->bytes_read);
	catalog_bind_u64(&bind, ":bytes_stored", b->bytes_stored);
	catalog_bind_u64(&bind, ":chunks_total", b->chunks_total);
	catalog_bind_u64(&bind, ":chunks_new", b->chunks_new);
	catalog_bind_u64(&bind, ":chunks_zero", b->chunks_zero);
	catalog_bind_u64(&bind, ":object_count", b->object_count);
	catalog_bind_int64(&bind, ":data_timestamp", b->data_timestamp);
	catalog_bind_int64_or_null(&bind, ":started_at", b->started_at);
	catalog_bind_int64_or_null(&bind, ":finished_at", b->finished_at);
	catalog_bind_int64(&bind, ":now", b->updated_at);
	if (bind.r < 0)
		return bind.r;
	r = catalog_step(c, s);
	if (r < 0)
		return r;
	if (sqlite3_changes(c->db) == 0)
		return catalog_fail(c, -ENOENT, "no backup %s in the catalog", b->id);
	return 0;
}

int catalog_backup_delete(struct catalog *c, const char *id)
{
	_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder bind;
	int r;

	r = catalog_prepare(c, "DELETE FROM backups WHERE id = :id AND status = 'deleting'", &s);
	if (r < 0)
		return r;
	bind = (struct catalog_binder){ c, s, 0 };
	catalog_bind_text(&bind, ":id", id);
	if (bind.r < 0)
		return bind.r;
	r = catalog_step(c, s);
	if (r < 0)
		return r;
	if (sqlite3_changes(c->db) > 0)
		return 0;
	r = catalog_backup_get(c, id, &b);
	if (r < 0)
		return r;
	return catalog_fail(c, -EINVAL, "backup %s is %s: only a deleting backup is removed", id,
			    catalog_backup_status_to_string(b->status));
}

int catalog_backup_latest_available(struct catalog *c, const char *volume_id, int64_t before,
				    struct catalog_backup **ret)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c,
				 "SELECT " BACKUP_COLUMNS " FROM backups b"
				 " WHERE b.volume_id = :volume_id AND b.status = 'available'"
				 " AND (:before <= 0 OR b.data_timestamp < :before)"
				 " ORDER BY b.data_timestamp DESC, b.seq DESC LIMIT 1",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":volume_id", volume_id);
	catalog_bind_int64(&b, ":before", before);
	if (b.r < 0)
		return b.r;
	r = get_one(c, s, ret);
	if (r == -ENOENT)
		return catalog_fail(c, r, "volume %s has no available backup", volume_id);
	return r;
}

int catalog_backup_foreach(struct catalog *c, const struct catalog_backup_filter *filter,
			   int (*cb)(const struct catalog_backup *b, void *userdata),
			   void *userdata)
{
	static const struct catalog_backup_filter all = { .admin = true };
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	if (!filter)
		filter = &all;
	if (!filter->admin && !filter->project)
		return catalog_fail(c, -EINVAL, "listing backups needs a project (or admin)");
	r = catalog_prepare_bind(c,
				 "SELECT " BACKUP_COLUMNS " FROM backups b"
				 " WHERE (:project IS NULL OR b.project = :project)"
				 " AND (:volume_id IS NULL OR b.volume_id = :volume_id)"
				 " AND (:parent_id IS NULL OR b.parent_id = :parent_id)"
				 " AND (:status IS NULL OR b.status = :status)"
				 " ORDER BY b.created_at DESC, b.seq DESC",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":project", filter->project);
	catalog_bind_text(&b, ":volume_id", filter->volume_id);
	catalog_bind_text(&b, ":parent_id", filter->parent_id);
	catalog_bind_text(&b, ":status",
			  filter->by_status ? catalog_backup_status_to_string(filter->status)
					    : NULL);
	if (b.r < 0)
		return b.r;
	while ((r = catalog_step(c, s)) > 0) {
		_cleanup_(catalog_backup_freep) struct catalog_backup *backup = NULL;

		r = backup_from_row(s, &backup);
		if (r < 0)
			return r;
		r = cb(backup, userdata);
		if (r < 0)
			return r;
	}
	return r;
}

struct collect {
	struct catalog_backup **array;
	size_t n;
};

static int collect_one(const struct catalog_backup *b, void *userdata)
{
	struct collect *col = userdata;
	struct catalog_backup *copy = calloc(1, sizeof(*copy));

	if (!copy)
		return -ENOMEM;
	*copy = *b;
	copy->project = b->project ? strdup(b->project) : NULL;
	copy->name = b->name ? strdup(b->name) : NULL;
	copy->description = b->description ? strdup(b->description) : NULL;
	copy->fail_reason = b->fail_reason ? strdup(b->fail_reason) : NULL;
	copy->container = b->container ? strdup(b->container) : NULL;
	copy->snapshot_id = b->snapshot_id ? strdup(b->snapshot_id) : NULL;
	copy->generation = b->generation ? strdup(b->generation) : NULL;
	copy->owner_host = b->owner_host ? strdup(b->owner_host) : NULL;
	copy->owner_boot = b->owner_boot ? strdup(b->owner_boot) : NULL;
	copy->index_root = b->index_root ? strdup(b->index_root) : NULL;
	copy->restore_path = b->restore_path ? strdup(b->restore_path) : NULL;
	copy->restore_volume_id = b->restore_volume_id ? strdup(b->restore_volume_id) : NULL;
	if ((b->index_root && !copy->index_root) || (b->restore_path && !copy->restore_path) ||
	    (b->restore_volume_id && !copy->restore_volume_id) || (b->project && !copy->project) ||
	    (b->name && !copy->name) || (b->description && !copy->description) ||
	    (b->fail_reason && !copy->fail_reason) || (b->container && !copy->container) ||
	    (b->snapshot_id && !copy->snapshot_id) || (b->generation && !copy->generation) ||
	    (b->owner_host && !copy->owner_host) || (b->owner_boot && !copy->owner_boot) ||
	    CATALOG_ARRAY_APPEND(col->array, col->n, copy) < 0) {
		catalog_backup_free(copy);
		return -ENOMEM;
	}
	return 0;
}

int catalog_backup_list(struct catalog *c, const struct catalog_backup_filter *filter,
			struct catalog_backup ***ret, size_t *ret_n)
{
	struct collect col = { NULL, 0 };
	int r;

	r = catalog_backup_foreach(c, filter, collect_one, &col);
	if (r < 0) {
		catalog_backup_array_free(col.array, col.n);
		return r;
	}
	*ret = col.array;
	*ret_n = col.n;
	return 0;
}

int catalog_backup_children(struct catalog *c, const char *id, struct catalog_backup ***ret,
			    size_t *ret_n)
{
	const struct catalog_backup_filter filter = { .admin = true, .parent_id = id };

	return catalog_backup_list(c, &filter, ret, ret_n);
}

static int backup_import(struct catalog *c, struct catalog_backup *b, bool check_quota)
{
	_cleanup_(catalog_rollbackp) struct catalog *txn = NULL;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder bind;
	int r;

	if (!b->id[0] || !b->project || !*b->project || !b->volume_id[0])
		return catalog_fail(c, -EINVAL,
				    "an imported backup needs an id, a project and a "
				    "volume");
	if (!cbt_service_to_string(b->service))
		return catalog_fail(c, -EINVAL, "bad backup service %d", (int)b->service);
	b->quota_gigabytes = catalog_size_gib(b->volume_size);
	if (!b->created_at)
		b->created_at = catalog_now();
	if (!b->data_timestamp)
		b->data_timestamp = b->created_at;
	r = catalog_begin(c);
	if (r < 0)
		return r;
	txn = c;
	if (check_quota) {
		r = catalog_quota_check_locked(c, b->project, b->quota_gigabytes);
		if (r < 0)
			return r;
	}
	r = insert_backup(c, b);
	if (r >= 0)
		r = catalog_backup_update(c, b);
	if (r >= 0 && b->index_root)
		r = catalog_backup_set_index_root(c, b->id, b->index_root);
	if (r < 0)
		return r;
	r = catalog_prepare_bind(
		c,
		"UPDATE backups SET status = 'available', quota_state = 'committed',"
		" owner_pid = NULL, owner_host = NULL, owner_boot = NULL, heartbeat_at = NULL"
		" WHERE id = :id",
		&s, &bind);
	if (r < 0)
		return r;
	catalog_bind_text(&bind, ":id", b->id);
	r = catalog_bound_step(&bind);
	if (r < 0)
		return r;
	r = catalog_commit(c);
	if (r < 0)
		return r;
	b->status = CATALOG_BACKUP_AVAILABLE;
	b->quota_state = CATALOG_QUOTA_COMMITTED;
	return 0;
}

int catalog_backup_import(struct catalog *c, struct catalog_backup *b)
{
	return backup_import(c, b, false);
}

int catalog_backup_import_within_quota(struct catalog *c, struct catalog_backup *b)
{
	return backup_import(c, b, true);
}

/* Bind :id, run b's UPDATE of one backup row: -ENOENT when there is none. */
static int backup_set(struct catalog *c, struct catalog_binder *b, const char *id)
{
	int r;

	catalog_bind_text(b, ":id", id);
	r = catalog_bound_step(b);
	if (r < 0)
		return r;
	if (sqlite3_changes(c->db) == 0)
		return catalog_fail(c, -ENOENT, "no backup %s in the catalog", id);
	return 0;
}

int catalog_backup_set_index_root(struct catalog *c, const char *id, const char *root_hex)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c, "UPDATE backups SET index_root = :root WHERE id = :id", &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":root", root_hex);
	return backup_set(c, &b, id);
}

int catalog_backup_set_restore(struct catalog *c, const char *id, const char *path,
			       const char *volume_id, bool created)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c,
				 "UPDATE backups SET restore_path = :path,"
				 " restore_volume_id = :volume, restore_created = :created"
				 " WHERE id = :id",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":path", path);
	catalog_bind_text(&b, ":volume", volume_id);
	catalog_bind_int64(&b, ":created", created);
	return backup_set(c, &b, id);
}
