/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The commit protocol between the commands and the drivers, written once
 * and taking what it needs as parameters (no process-wide state), so that
 * tests/unit/test-orchestration.c drives it with a fake driver and a real
 * catalog.
 *
 * So far restore's half: the record is 'restoring' and claimed by the
 * caller (backup-restore: status, claim, job); the driver restores; the
 * destination is flushed; the record is settled by the error's kind,
 * never by its text: restored, or a fault of the store, the destination
 * or this host, leave the backup available; an object absent or failing
 * its checks (CBT_ERROR_INTEGRITY) marks it error with the message; a
 * cancelled restore leaves the record to whoever cancelled it. Backup's
 * half (record, view and checkpoint, driver, available, commit or abort)
 * is still in backup/backup-create.c.
 */
#ifndef CBTSHIP_BACKUP_ORCHESTRATION_H
#define CBTSHIP_BACKUP_ORCHESTRATION_H

#include "cbtship/catalog/catalog.h"
#include "cbtship/driver/driver.h"
#include "cbtship/error.h"

enum cbt_restore_outcome {
	CBT_RESTORE_DONE,      /* every byte written: available */
	CBT_RESTORE_FAULT,     /* the store, destination or host failed: still available */
	CBT_RESTORE_DAMAGED,   /* the backup is damaged: error */
	CBT_RESTORE_CANCELLED, /* the record is the canceller's */
};

/* What a restore that returned r with err means for its backup. */
enum cbt_restore_outcome cbt_restore_outcome(int r, const struct cbt_error *err);

/*
 * Run the driver's restore of the opened reader into to, then flush
 * to->fd (a failure to flush is the destination's). 0, or a negative
 * errno with *err set.
 */
int cbt_orchestrate_restore(const struct cbt_driver *driver, struct cbt_driver_reader *reader,
			    const struct cbt_driver_restore *to,
			    struct cbt_restore_progress *progress, struct cbt_error *err);

/*
 * Settle backup_id after a restore that returned r with err: available,
 * error (with the message as its fail_reason) or untouched (cancelled),
 * as cbt_restore_outcome() says. Returns the outcome, or a negative
 * errno when the catalog refused (catalog_error(c) says why).
 */
int cbt_restore_settle(struct catalog *c, const char *backup_id, int r,
		       const struct cbt_error *err);

#endif
