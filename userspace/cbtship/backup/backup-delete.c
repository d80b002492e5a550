/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbtship backup-delete: remove backups, in any order (every index is
 * logically full, so no backup needs another). The chunks and index pages
 * no remaining backup references are reclaimed later, by a collection of
 * the container (repo/gc.h: backup-collect, the agent).
 *
 * Order, so that a crash anywhere leaves nothing that looks restorable
 * but is not: the record goes to 'deleting'; the container is marked as
 * holding garbage in the catalog; the manifest (the backup's commit
 * point) is deleted; the record is removed. Seconds, whatever the
 * container holds. A crash leaves a 'deleting' record, and deleting it
 * again finishes the job.
 *
 * --force also takes 'creating' (cancelling a running backup: its owner
 * sees the status change, stops, aborts its checkpoint and exits; this
 * waits for that), 'restoring' and 'error_deleting' backups.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cbtship/backup/backup-open.h"
#include "cbtship/backup/context.h"
#include "cbtship/backup/job.h"
#include "cbtship/cli/commands.h"
#include "cbtship/driver/driver.h"

#define CANCEL_WAIT_SECONDS 120

/*
 * The back end's part (its driver's delete), then the record. On failure
 * the record is error_deleting, with the reason.
 */
static int delete_stored(struct catalog *c, const struct catalog_backup *b)
{
	_cleanup_(cbt_error_clear) struct cbt_error err = CBT_ERROR_INIT;
	struct cbt_driver_deleted done = { 0 };
	int r;

	r = cbt_service_driver(b->service)->delete (c, b, &done, &err);
	if (r < 0) {
		const char *msg = cbt_error_message(&err);

		fprintf(stderr, "cbtship backup-delete: backup %s: %s\n", b->id, msg);
		(void)catalog_backup_set_status(c, b->id, CATALOG_BACKUP_ERROR_DELETING, 0, msg);
		cbtship_log("delete %s: failed: %s", b->id, msg);
		return r;
	}
	r = catalog_backup_delete(c, b->id);
	if (r < 0) {
		fprintf(stderr, "cbtship backup-delete: %s\n", catalog_error(c));
		return r;
	}
	cbtship_log("delete %s: done, %s", b->id, done.log);
	fprintf(stderr, "deleted backup %s: %s\n", b->id, done.user);
	return 0;
}

/* Did the job of a creating backup end before it ever ran? */
static bool never_started(struct catalog *c, const char *id)
{
	_cleanup_(catalog_job_freep) struct catalog_job *j = NULL;

	return catalog_job_get_last(c, id, &j) == 0 && j->kind == CATALOG_JOB_BACKUP &&
	       !j->started_at && j->state != CATALOG_JOB_QUEUED && j->state != CATALOG_JOB_RUNNING;
}

static int delete_one(struct catalog *c, const char *word, bool force)
{
	_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;
	bool running;
	int r;

	if (cbtship_backup_lookup("backup-delete", c, word, &b) < 0)
		return -ENOENT;
	running = (b->status == CATALOG_BACKUP_CREATING || b->status == CATALOG_BACKUP_RESTORING) &&
		  catalog_backup_is_stale(c, b, 0) == 0;
	if (b->status != CATALOG_BACKUP_AVAILABLE && b->status != CATALOG_BACKUP_ERROR &&
	    b->status != CATALOG_BACKUP_DELETING && !force) {
		fprintf(stderr,
			"cbtship backup-delete: backup %s is %s%s: only available or error backups "
			"can be deleted without --force\n",
			b->id, catalog_backup_status_to_string(b->status),
			running ? " (running)"
				: (b->status == CATALOG_BACKUP_CREATING ? " (stale)" : ""));
		return -EBUSY;
	}
	if (b->status != CATALOG_BACKUP_DELETING) {
		r = catalog_backup_set_status(c, b->id, CATALOG_BACKUP_DELETING,
					      force ? CATALOG_TRANSITION_FORCE : 0, NULL);
		if (r < 0) {
			fprintf(stderr, "cbtship backup-delete: %s\n", catalog_error(c));
			return r;
		}
	}
	if (running) {
		r = cbt_job_wait_stopped(c, b->id, "backup-delete", CANCEL_WAIT_SECONDS);
		if (r < 0) {
			fprintf(stderr,
				"cbtship backup-delete: backup %s: its running job did not stop in "
				"%d s; run backup-delete --force again later\n",
				b->id, CANCEL_WAIT_SECONDS);
			return r;
		}
		cbtship_log("delete %s: cancelled the running backup", b->id);
	}

	/* Cancelled while queued: it stored nothing, so nothing is collected. */
	if (b->status == CATALOG_BACKUP_CREATING && never_started(c, b->id)) {
		r = catalog_backup_delete(c, b->id);
		if (r < 0) {
			fprintf(stderr, "cbtship backup-delete: %s\n", catalog_error(c));
			return r;
		}
		cbtship_log("delete %s: cancelled while queued", b->id);
		fprintf(stderr,
			"deleted backup %s: cancelled while queued, it had stored nothing\n",
			b->id);
		return 0;
	}
	return delete_stored(c, b);
}

const struct cbt_option cbtship_backup_delete_options[] = {
	{ "force", 'F', NULL, "also creating, restoring and error_deleting backups", 0 },
	CBT_OPTION_KEY_FILE("the key of encrypted backups"),
	CBT_OPTION_END,
};

static int delete_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	if (opt->key == 'F') {
		*(bool *)ctx = true;
		return 0;
	}
	return cbtship_set_key_file("backup-delete", arg) < 0 ? -EINVAL : 0;
}

int cbtship_backup_delete(int argc, char **argv)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	bool force = false;
	int r, failed = 0;

	r = cbt_command_parse("backup-delete", argc, argv, delete_option, &force);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	if (cbtship_catalog_open("backup-delete", &c) < 0)
		return EXIT_FAILURE;
	for (int i = optind; i < argc; i++)
		if (delete_one(c, argv[i], force) < 0)
			failed++;
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
