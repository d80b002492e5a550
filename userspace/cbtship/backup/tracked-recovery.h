/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Putting a tracked volume back in order before cbtship takes a checkpoint
 * on it (backup-create, snapshot-create): what a crashed or killed run
 * left behind is settled so that no change is lost.
 *
 *  - views of dead backups are removed; a live backup's view makes it
 *    -EBUSY; the views of available snapshots are kept;
 *  - 'creating' backups and snapshots whose process died become 'error';
 *    a snapshot whose view is gone (a reboot) becomes 'error' too;
 *  - an outstanding checkpoint is committed when a backup that shipped it
 *    became available, kept when an available snapshot holds it, and
 *    aborted (its blocks merged back into the current map) otherwise.
 */
#ifndef CBTSHIP_BACKUP_TRACKED_RECOVERY_H
#define CBTSHIP_BACKUP_TRACKED_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "cbtship/catalog/catalog.h"
#include "libcbt.h"

/*
 * Recover the tracked device dm_name of volume v; its status afterwards
 * in *ret_status. 0, or a negative errno with a message in err.
 */
int cbt_tracked_recover(struct catalog *c, struct catalog_volume *v, const char *dm_name,
			struct cbt_status *ret_status, char *err, size_t errlen);

/*
 * A 'creating' backup whose process died (catalog_backup_is_stale() with no
 * age limit) becomes 'error', logged. 1 when it did, 0 when b is not such a
 * record (or the catalog refused).
 */
int cbt_backup_fail_if_dead(struct catalog *c, const struct catalog_backup *b);

/*
 * Record that cbtship decided the outcome (commit or abort) of checkpoint
 * n of volume v (in the catalog and in *v). Best effort: a warning on
 * stderr when the catalog cannot be written.
 */
void cbt_tracked_settle(struct catalog *c, struct catalog_volume *v, uint64_t n);

/*
 * Why cbt_view_create() refused (r) on volume volume_id, for a message:
 * names the snapshot holding a checkpoint. Returns buf or a static string.
 */
const char *cbt_tracked_refusal(struct catalog *c, const char *volume_id, int r, char *buf,
				size_t len);

#endif
