/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reaping what dead processes left: jobs, creating and restoring backups (see agent.h). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cbtship/agent/agent.h"
#include "cbtship/backup/tracked-recovery.h"
#include "cbtship/state-dir.h"

/*
 * A dead backup of a volume tracked here: the recovery backup-create
 * itself runs first (it marks the record). true when the volume is tracked
 * here: the record is then left to that recovery, and one that could not
 * settle now (a checkpoint not aborted yet) is tried again at the next reap.
 */
static bool recover_tracked(struct catalog *c, struct agent_log *log,
			    const struct catalog_backup *b)
{
	_cleanup_(catalog_volume_freep) struct catalog_volume *v = NULL;
	struct cbt_status st;
	char err[512];
	int r;

	if (catalog_volume_get(c, b->volume_id, &v) < 0 || !v->tracked ||
	    cbt_device_is_tracked(v->name) <= 0)
		return false;
	r = cbt_tracked_recover(c, v, v->name, &st, err, sizeof(err));
	if (r == -EBUSY)
		agent_log_info(log, "%s: not settled now: %s", v->name, err);
	else if (r < 0)
		agent_log_error(log, "%s: cannot settle what backup %s left: %s", v->name, b->id,
				err);
	else
		agent_log_info(log, "%s: settled what the dead backup %s left (marked error)",
			       v->name, b->id);
	return true;
}

/* Is path a file directly in the state directory's restore/, where restores create theirs? */
static bool in_restore_dir(const char *path)
{
	char dir[PATH_MAX];
	size_t n;

	snprintf(dir, sizeof(dir), "%s/restore/", cbtship_state_dir());
	n = strlen(dir);
	return strncmp(path, dir, n) == 0 && path[n] && !strchr(path + n, '/');
}

/*
 * The destination of a dead restore: a file it created is removed; a
 * volume of the catalog it overwrote is marked unusable (status error);
 * any other destination is named in the log as incomplete.
 */
static void settle_dead_restore(struct catalog *c, struct agent_log *log,
				const struct catalog_backup *b)
{
	const char *path = b->restore_path;
	char reason[PATH_MAX + 160];

	if (!path)
		return;
	if (b->restore_created && in_restore_dir(path)) {
		if (unlink(path) < 0 && errno != ENOENT)
			agent_log_error(log,
					"backup %s: cannot remove %s, the incomplete image of its "
					"dead restore: %s",
					b->id, path, strerror(errno));
		else
			agent_log_info(log,
				       "backup %s: removed %s, the incomplete image of its "
				       "dead restore",
				       b->id, path);
	} else {
		snprintf(reason, sizeof(reason),
			 "the restore of backup %s died half way: %s is partly overwritten and "
			 "not usable",
			 b->id, path);
		if (b->restore_volume_id &&
		    catalog_volume_set_status(c, b->restore_volume_id, CATALOG_VOLUME_ERROR,
					      reason) < 0)
			agent_log_error(log, "volume %s: cannot mark it unusable: %s",
					b->restore_volume_id, catalog_error(c));
		agent_log_error(log, "%s", reason);
	}
	if (catalog_backup_set_restore(c, b->id, NULL, NULL, false) < 0)
		agent_log_error(log, "backup %s: %s", b->id, catalog_error(c));
}

static void reap_backup(struct catalog *c, struct agent_log *log, const struct catalog_backup *b)
{
	if (b->status == CATALOG_BACKUP_RESTORING) {
		/* cinder's cleanup at start: the backup is intact, the destination is not. */
		if (catalog_backup_set_status(c, b->id, CATALOG_BACKUP_AVAILABLE, 0, NULL) < 0) {
			agent_log_error(log, "backup %s: cannot end its dead restore: %s", b->id,
					catalog_error(c));
			return;
		}
		agent_log_info(log, "backup %s: its restore's process died: available again",
			       b->id);
		settle_dead_restore(c, log, b);
		return;
	}
	if (recover_tracked(c, log, b))
		return;
	/* Untracked volumes, or a device not here: the record alone. */
	if (cbt_backup_fail_if_dead(c, b) > 0)
		agent_log_info(log, "backup %s: its process died: marked error", b->id);
}

void agent_reap(struct catalog *c, struct agent_log *log)
{
	struct catalog_backup **stale = NULL;
	unsigned jobs = 0;
	size_t n = 0;

	if (catalog_job_reap(c, &jobs) < 0)
		agent_log_error(log, "cannot reap jobs: %s", catalog_error(c));
	else if (jobs)
		agent_log_info(log, "%u job%s whose worker is gone ended as failed", jobs,
			       jobs == 1 ? "" : "s");
	if (catalog_backup_list_stale(c, 0, &stale, &n) < 0) {
		agent_log_error(log, "cannot list stale backups: %s", catalog_error(c));
		return;
	}
	for (size_t i = 0; i < n; i++)
		reap_backup(c, log, stale[i]);
	catalog_backup_array_free(stale, n);
}
