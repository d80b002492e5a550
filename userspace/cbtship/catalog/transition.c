/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Backup status transitions (cinder's rules) and the quota that follows them. */
#include <errno.h>
#include <string.h>

#include "cbtship/catalog/catalog-internal.h"

#define BIT(s) (1U << (s))

/* Allowed targets of each status without flags. */
static const unsigned allowed[_CATALOG_BACKUP_STATUS_MAX] = {
	[CATALOG_BACKUP_CREATING] = BIT(CATALOG_BACKUP_AVAILABLE) | BIT(CATALOG_BACKUP_ERROR),
	[CATALOG_BACKUP_AVAILABLE] = BIT(CATALOG_BACKUP_DELETING) | BIT(CATALOG_BACKUP_RESTORING),
	[CATALOG_BACKUP_RESTORING] = BIT(CATALOG_BACKUP_AVAILABLE) | BIT(CATALOG_BACKUP_ERROR),
	[CATALOG_BACKUP_DELETING] = BIT(CATALOG_BACKUP_ERROR_DELETING),
	[CATALOG_BACKUP_ERROR] = BIT(CATALOG_BACKUP_DELETING),
	[CATALOG_BACKUP_ERROR_DELETING] = 0,
};

bool catalog_backup_transition_allowed(enum catalog_backup_status from,
				       enum catalog_backup_status to, unsigned flags)
{
	if ((unsigned)from >= _CATALOG_BACKUP_STATUS_MAX ||
	    (unsigned)to >= _CATALOG_BACKUP_STATUS_MAX)
		return false;
	if (allowed[from] & BIT(to))
		return true;
	if ((flags & CATALOG_TRANSITION_FORCE) && to == CATALOG_BACKUP_DELETING)
		return true;
	if ((flags & CATALOG_TRANSITION_RESET) &&
	    (to == CATALOG_BACKUP_AVAILABLE || to == CATALOG_BACKUP_ERROR))
		return true;
	return false;
}

static const char *hint(enum catalog_backup_status to)
{
	if (to == CATALOG_BACKUP_DELETING)
		return " (backup-delete --force removes a backup in any status)";
	if (to == CATALOG_BACKUP_AVAILABLE || to == CATALOG_BACKUP_ERROR)
		return " (backup-reset-state can set it)";
	return "";
}

/* Record the generation and checkpoint of a new available backup on its volume. */
static int volume_shipped_locked(struct catalog *c, const char *volume_id,
				 const unsigned char *generation, int64_t checkpoint, int64_t now)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c,
				 "UPDATE volumes SET last_generation = :generation,"
				 " last_checkpoint = :checkpoint,"
				 /* A new generation numbers its checkpoints from 1 again. */
				 " settled_checkpoint = CASE WHEN last_generation IS :generation"
				 " THEN MAX(settled_checkpoint, :checkpoint) ELSE :checkpoint END,"
				 /* A backup made here: the record is this host's now. */
				 " imported = 0, updated_at = :now WHERE id = :id",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":generation", (const char *)generation);
	catalog_bind_int64(&b, ":checkpoint", checkpoint);
	catalog_bind_int64(&b, ":now", now);
	catalog_bind_text(&b, ":id", volume_id);
	if (b.r < 0)
		return b.r;
	return catalog_step(c, s);
}

static int write_status_locked(struct catalog *c, const char *id, enum catalog_backup_status to,
			       enum catalog_quota_state quota, const char *fail_reason, int64_t now)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c,
				 "UPDATE backups SET status = :status, quota_state = :quota,"
				 " fail_reason = COALESCE(:reason, fail_reason), updated_at = :now"
				 " WHERE id = :id",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":status", catalog_backup_status_to_string(to));
	catalog_bind_text(&b, ":quota", catalog_quota_state_to_string(quota));
	catalog_bind_text(&b, ":reason", fail_reason);
	catalog_bind_int64(&b, ":now", now);
	catalog_bind_text(&b, ":id", id);
	if (b.r < 0)
		return b.r;
	return catalog_step(c, s);
}

int catalog_backup_set_status(struct catalog *c, const char *id, enum catalog_backup_status to,
			      unsigned flags, const char *fail_reason)
{
	_cleanup_(catalog_rollbackp) struct catalog *txn = NULL;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	enum catalog_backup_status from;
	enum catalog_quota_state quota;
	struct catalog_binder b;
	int64_t now = catalog_now();
	int r, q;

	if (!catalog_backup_status_to_string(to))
		return catalog_fail(c, -EINVAL, "bad backup status %d", (int)to);
	r = catalog_begin(c);
	if (r < 0)
		return r;
	txn = c;
	r = catalog_prepare_bind(c,
				 "SELECT status, quota_state, volume_id, generation, checkpoint"
				 " FROM backups WHERE id = :id",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":id", id);
	r = catalog_bound_step(&b);
	if (r < 0)
		return r;
	if (r == 0)
		return catalog_fail(c, -ENOENT, "no backup %s in the catalog", id);
	if (catalog_backup_status_from_string((const char *)sqlite3_column_text(s, 0), &from) < 0)
		return catalog_fail(c, -EBADMSG, "backup %s has an unknown status '%s'", id,
				    (const char *)sqlite3_column_text(s, 0));
	q = catalog_quota_state_from_string((const char *)sqlite3_column_text(s, 1));
	quota = q < 0 ? CATALOG_QUOTA_RELEASED : (enum catalog_quota_state)q;

	if (!catalog_backup_transition_allowed(from, to, flags))
		return catalog_fail(c, -EINVAL, "backup %s is %s: it cannot become %s%s", id,
				    catalog_backup_status_to_string(from),
				    catalog_backup_status_to_string(to), hint(to));

	if (to == CATALOG_BACKUP_AVAILABLE)
		quota = CATALOG_QUOTA_COMMITTED;
	else if (from == CATALOG_BACKUP_CREATING && quota == CATALOG_QUOTA_RESERVED)
		quota = CATALOG_QUOTA_RELEASED;

	if (from == CATALOG_BACKUP_CREATING && to == CATALOG_BACKUP_AVAILABLE &&
	    sqlite3_column_type(s, 3) != SQLITE_NULL) {
		r = volume_shipped_locked(c, (const char *)sqlite3_column_text(s, 2),
					  sqlite3_column_text(s, 3), sqlite3_column_int64(s, 4),
					  now);
		if (r < 0)
			return r;
	}
	r = write_status_locked(c, id, to, quota, fail_reason, now);
	if (r < 0)
		return r;
	sqlite3_reset(s); /* no statement left running at COMMIT */
	return catalog_commit(c);
}
