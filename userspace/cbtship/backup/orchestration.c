/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The commit protocol, written once (see the header). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cbtship/backup/orchestration.h"

enum cbt_restore_outcome cbt_restore_outcome(int r, const struct cbt_error *err)
{
	if (r >= 0)
		return CBT_RESTORE_DONE;
	switch (err && cbt_error_is_set(err) ? err->kind : cbt_error_kind_of_store(r)) {
	case CBT_ERROR_CANCELLED:
		return CBT_RESTORE_CANCELLED;
	case CBT_ERROR_INTEGRITY:
		return CBT_RESTORE_DAMAGED;
	default:
		return CBT_RESTORE_FAULT;
	}
}

int cbt_orchestrate_restore(const struct cbt_driver *driver, struct cbt_driver_reader *reader,
			    const struct cbt_driver_restore *to,
			    struct cbt_restore_progress *progress, struct cbt_error *err)
{
	int r = driver->restore(reader, to, progress, err);

	if (r >= 0 && to->fd >= 0 && fdatasync(to->fd) < 0)
		r = cbt_error_set(err, CBT_ERROR_DESTINATION, -errno, "%s: flushing: %s",
				  to->destination, strerror(errno));
	return r;
}

int cbt_restore_settle(struct catalog *c, const char *backup_id, int r, const struct cbt_error *err)
{
	enum cbt_restore_outcome o = cbt_restore_outcome(r, err);
	int q = 0;

	switch (o) {
	case CBT_RESTORE_CANCELLED:
		break;
	case CBT_RESTORE_DAMAGED:
		q = catalog_backup_set_status(c, backup_id, CATALOG_BACKUP_ERROR, 0,
					      cbt_error_message(err));
		break;
	case CBT_RESTORE_DONE:
	case CBT_RESTORE_FAULT:
		q = catalog_backup_set_status(c, backup_id, CATALOG_BACKUP_AVAILABLE, 0, NULL);
		break;
	}
	return q < 0 ? q : (int)o;
}
