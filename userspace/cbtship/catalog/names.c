/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The words the catalog stores for its enums (cinder's, where cinder has them). */
#include <errno.h>
#include <string.h>

#include "cbtship/catalog/catalog-internal.h"

static const char *const backup_status[_CATALOG_BACKUP_STATUS_MAX] = {
	[CATALOG_BACKUP_CREATING] = "creating", [CATALOG_BACKUP_AVAILABLE] = "available",
	[CATALOG_BACKUP_DELETING] = "deleting", [CATALOG_BACKUP_RESTORING] = "restoring",
	[CATALOG_BACKUP_ERROR] = "error",	[CATALOG_BACKUP_ERROR_DELETING] = "error_deleting",
};

static const char *const volume_status[_CATALOG_VOLUME_STATUS_MAX] = {
	[CATALOG_VOLUME_OK] = "ok",
	[CATALOG_VOLUME_ERROR] = "error",
};

static const char *const snapshot_status[_CATALOG_SNAPSHOT_STATUS_MAX] = {
	[CATALOG_SNAPSHOT_CREATING] = "creating",
	[CATALOG_SNAPSHOT_AVAILABLE] = "available",
	[CATALOG_SNAPSHOT_ERROR] = "error",
};

static const char *const quota_states[_CATALOG_QUOTA_STATE_MAX] = {
	[CATALOG_QUOTA_RESERVED] = "reserved",
	[CATALOG_QUOTA_COMMITTED] = "committed",
	[CATALOG_QUOTA_RELEASED] = "released",
};

static const char *const job_kinds[_CATALOG_JOB_KIND_MAX] = {
	[CATALOG_JOB_BACKUP] = "backup",
	[CATALOG_JOB_RESTORE] = "restore",
};

static const char *const job_states[_CATALOG_JOB_STATE_MAX] = {
	[CATALOG_JOB_QUEUED] = "queued",       [CATALOG_JOB_RUNNING] = "running",
	[CATALOG_JOB_DONE] = "done",	       [CATALOG_JOB_FAILED] = "failed",
	[CATALOG_JOB_CANCELLED] = "cancelled",
};

static const char *to_string(const char *const *table, size_t n, int value)
{
	return value >= 0 && (size_t)value < n ? table[value] : NULL;
}

static int from_string(const char *const *table, size_t n, const char *word)
{
	if (!word)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i], word) == 0)
			return (int)i;
	return -1;
}

const char *catalog_backup_status_to_string(enum catalog_backup_status s)
{
	return to_string(backup_status, ELEMENTSOF(backup_status), (int)s);
}

int catalog_backup_status_from_string(const char *word, enum catalog_backup_status *ret)
{
	int i = from_string(backup_status, ELEMENTSOF(backup_status), word);

	if (i < 0)
		return -EINVAL;
	*ret = (enum catalog_backup_status)i;
	return 0;
}

const char *catalog_volume_status_to_string(enum catalog_volume_status s)
{
	return to_string(volume_status, ELEMENTSOF(volume_status), (int)s);
}

int catalog_volume_status_from_string(const char *word)
{
	return from_string(volume_status, ELEMENTSOF(volume_status), word);
}

const char *catalog_quota_state_to_string(enum catalog_quota_state s)
{
	return to_string(quota_states, ELEMENTSOF(quota_states), (int)s);
}

int catalog_quota_state_from_string(const char *word)
{
	return from_string(quota_states, ELEMENTSOF(quota_states), word);
}

const char *catalog_job_kind_to_string(enum catalog_job_kind k)
{
	return to_string(job_kinds, ELEMENTSOF(job_kinds), (int)k);
}

int catalog_job_kind_from_string(const char *word)
{
	return from_string(job_kinds, ELEMENTSOF(job_kinds), word);
}

const char *catalog_job_state_to_string(enum catalog_job_state s)
{
	return to_string(job_states, ELEMENTSOF(job_states), (int)s);
}

int catalog_job_state_from_string(const char *word)
{
	return from_string(job_states, ELEMENTSOF(job_states), word);
}

const char *catalog_snapshot_status_to_string(enum catalog_snapshot_status s)
{
	return to_string(snapshot_status, ELEMENTSOF(snapshot_status), (int)s);
}

int catalog_snapshot_status_from_string(const char *word)
{
	return from_string(snapshot_status, ELEMENTSOF(snapshot_status), word);
}
