/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Notifications of backup and restore jobs, as cinder names them:
 * backup.create.start / .progress / .end, backup.restore.start / .progress
 * / .end, backup.delete.end. One JSON object per line, written to the
 * configuration's backup_events_file: appended to a regular file (created
 * 0600), or sent to a UNIX socket (stream or datagram) listening at that
 * path. Progress goes out every backup_timer_interval seconds while
 * backup_enable_progress_timer is true. Best effort: a notification that
 * cannot be written is logged once and never fails a job.
 *
 * {"event": "backup.create.progress", "timestamp": "2026-...", "host": ...,
 *  "backup_id": ..., "volume_id": ..., "project": ..., "status": ...,
 *  "bytes_done": N, "bytes_total": N, "fail_reason": null}
 */
#ifndef CBTSHIP_BACKUP_NOTIFY_H
#define CBTSHIP_BACKUP_NOTIFY_H

#include <stdint.h>

#include "cbtship/catalog/catalog.h"

struct cbt_notifier {
	const char *kind; /* "create", "restore", "delete" */
	double last;	  /* when the last progress went out */
};

/* "start", "end" (status and fail_reason from b), or "progress". */
void cbt_notify(struct cbt_notifier *n, const char *phase, const struct catalog *c,
		const struct catalog_backup *b, uint64_t bytes_done, uint64_t bytes_total);

/* A progress notification when backup_timer_interval has passed since the last. */
void cbt_notify_progress(struct cbt_notifier *n, const struct catalog *c,
			 const struct catalog_backup *b, uint64_t bytes_done, uint64_t bytes_total);

#endif
