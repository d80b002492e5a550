/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Background jobs: a backup-create or backup-restore returns as soon as
 * its record exists (creating / restoring) and goes on in a worker
 * process of its own, which waits in the catalog's queue for its turn (at
 * most backup_workers jobs run at once on a host) and beats the host's
 * heartbeat (service-list) while it waits and runs. With --wait the same
 * queue is waited on in the foreground.
 *
 *   cbt_job_queue()      the job row (queued) for a record
 *   cbt_job_detach()     fork the worker; the caller's process prints the
 *                        record and leaves (cbt_job_leave())
 *   cbt_job_wait_turn()  queue until the job may run (or is cancelled)
 *   cbt_job_beat()       heartbeat and progress while it runs
 *   cbt_job_end()        done, failed or cancelled
 */
#ifndef CBTSHIP_BACKUP_JOB_H
#define CBTSHIP_BACKUP_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "cbtship/catalog/catalog.h"

#define CBTSHIP_WORKER_BINARY "cbtship-backup"

struct cbt_job {
	int64_t id;
	enum catalog_job_kind kind;
	char backup_id[CATALOG_ID_MAX];
	const char *command; /* "backup-create", for messages */
	bool detached;	     /* in the background worker */
};

/* Queue a job on backup_id, waited on by this process. 0 or -errno (message printed). */
int cbt_job_queue(struct catalog *c, enum catalog_job_kind kind, const char *backup_id,
		  const char *command, struct cbt_job *ret);

/*
 * Go on in a background worker: closes *c and forks. The worker leaves
 * the session, its stdin and stdout are /dev/null and its stderr the log
 * (<state dir>/log/cbtship.log); it reopens the catalog into *c and takes
 * over the backup record and the job. Returns 0 in the worker; 1 in the
 * calling process once the worker has taken over (it prints and calls
 * cbt_job_leave()); a negative errno there when no worker could start
 * (message printed).
 */
int cbt_job_detach(struct catalog **c, struct cbt_job *job);

/* Leave the calling process after cbt_job_detach() returned 1: flush stdout and
 * _exit(0), touching nothing the worker now owns. */
_Noreturn void cbt_job_leave(void);

/*
 * Wait for the job's turn: 0 once it runs. -ECANCELED when it was
 * cancelled while queued, or its backup left status `expect` (deleted
 * with --force, reset); the job is ended then. Other errors: -errno.
 */
int cbt_job_wait_turn(struct catalog *c, struct cbt_job *job, enum catalog_backup_status expect);

/* Heartbeat of the worker and progress of the job (call every few seconds). */
void cbt_job_beat(struct catalog *c, const struct cbt_job *job, uint64_t done, uint64_t total);

/* End the job: r >= 0 done, -ECANCELED cancelled, else failed with error. */
void cbt_job_end(struct catalog *c, struct cbt_job *job, int r, const char *error);

/*
 * After a cancel (the backup moved out of creating or restoring): wait up
 * to seconds for the process that owns backup_id on this host to stop.
 * 0 when it has (or is elsewhere, or is this process), -ETIMEDOUT.
 */
int cbt_job_wait_stopped(struct catalog *c, const char *backup_id, const char *command,
			 unsigned seconds);

/* The version text of this program ("1.2.3"). */
const char *cbtship_version(void);

#endif
