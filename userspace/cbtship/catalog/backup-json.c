/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A backup record as JSON, with cinder's field names where cinder has one. */
#include <errno.h>

#include "cbtship/catalog/catalog-internal.h"
#include "cbtship/cli/output.h"

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *time_or_null(int64_t usec)
{
	char buf[40];

	if (!usec)
		return json_null();
	catalog_time_format(usec, buf, sizeof(buf));
	return json_string(buf);
}

/* Set key; takes value (NULL on ENOMEM marks the object as failed). */
static void set(json_t *o, const char *key, json_t *value, bool *failed)
{
	if (!value || json_object_set_new(o, key, value) < 0)
		*failed = true;
}

json_t *catalog_backup_to_json(const struct catalog_backup *b)
{
	_cleanup_(json_decrefp) json_t *o = json_object();
	json_t *owner;
	bool failed = false;

	if (!o)
		return NULL;
	/* cinder's backup view (GET /v3/{project}/backups/{id}) */
	set(o, "id", json_string(b->id), &failed);
	set(o, "name", string_or_null(b->name), &failed);
	set(o, "description", string_or_null(b->description), &failed);
	set(o, "status", json_string(catalog_backup_status_to_string(b->status)), &failed);
	set(o, "fail_reason", string_or_null(b->fail_reason), &failed);
	set(o, "size", cbtship_json_u64(catalog_size_gib(b->volume_size)), &failed);
	set(o, "object_count", cbtship_json_u64(b->object_count), &failed);
	set(o, "container", string_or_null(b->container), &failed);
	set(o, "availability_zone", json_null(), &failed);
	set(o, "volume_id", json_string(b->volume_id), &failed);
	set(o, "snapshot_id", string_or_null(b->snapshot_id), &failed);
	set(o, "parent_id", string_or_null(b->parent_id[0] ? b->parent_id : NULL), &failed);
	set(o, "is_incremental", json_boolean(b->is_incremental), &failed);
	set(o, "has_dependent_backups", json_boolean(b->has_dependent_backups), &failed);
	set(o, "created_at", time_or_null(b->created_at), &failed);
	set(o, "updated_at", time_or_null(b->updated_at), &failed);
	set(o, "data_timestamp", time_or_null(b->data_timestamp), &failed);
	set(o, "os-backup-project-attr:project_id", string_or_null(b->project), &failed);
	/* cbtship's own */
	set(o, "service", json_string(cbt_service_to_string(b->service)), &failed);
	set(o, "volume_size", cbtship_json_u64(b->volume_size), &failed);
	set(o, "chunk_size", json_integer(b->chunk_size), &failed);
	set(o, "checkpoint", cbtship_json_u64(b->checkpoint), &failed);
	set(o, "generation", string_or_null(b->generation), &failed);
	set(o, "bytes_read", cbtship_json_u64(b->bytes_read), &failed);
	set(o, "bytes_stored", cbtship_json_u64(b->bytes_stored), &failed);
	set(o, "chunks_total", cbtship_json_u64(b->chunks_total), &failed);
	set(o, "chunks_new", cbtship_json_u64(b->chunks_new), &failed);
	set(o, "chunks_zero", cbtship_json_u64(b->chunks_zero), &failed);
	set(o, "started_at", time_or_null(b->started_at), &failed);
	set(o, "finished_at", time_or_null(b->finished_at), &failed);
	owner = json_object();
	if (owner) {
		set(owner, "pid", json_integer(b->owner_pid), &failed);
		set(owner, "host", string_or_null(b->owner_host), &failed);
		set(owner, "heartbeat_at", time_or_null(b->heartbeat_at), &failed);
	}
	set(o, "owner", owner, &failed);
	/* The running job's progress: a backup being made, or a restore. */
	if (b->status == CATALOG_BACKUP_CREATING || b->status == CATALOG_BACKUP_RESTORING) {
		json_t *p = json_object();

		if (p) {
			set(p, "bytes_done", cbtship_json_u64(b->progress_done), &failed);
			set(p, "bytes_total", cbtship_json_u64(b->progress_total), &failed);
			set(p, "percent",
			    json_real(b->progress_total ? 100.0 * (double)b->progress_done /
								  (double)b->progress_total
							: 0.0),
			    &failed);
		}
		set(o, "progress", p, &failed);
	} else {
		set(o, "progress", json_null(), &failed);
	}
	if (failed)
		return NULL;
	return TAKE_PTR(o);
}
