/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbtship backup-reset-state: force a backup's status to available or
 * error, as cinder's backup-reset-state does (the operator guide's way to
 * repair a stuck state, and to cancel a restore: a running restore sees
 * its backup leave 'restoring', stops, and says its destination is not
 * usable; a running backup sees it leave 'creating', stops and aborts its
 * checkpoint).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/backup/backup-open.h"
#include "cbtship/backup/context.h"
#include "cbtship/backup/job.h"
#include "cbtship/cli/commands.h"

#define CANCEL_WAIT_SECONDS 120

/*
 * 'available' only for a backup its back end holds as recorded: its
 * manifest (or Ceph snapshot) present and matching, so that nothing (a
 * restore, the recovery that commits a tracked volume's checkpoint when an
 * available backup matches it) trusts a backup that was never stored.
 */
static int check_stored(struct catalog *c, const struct catalog_backup *b)
{
	_cleanup_(freep) char *root = NULL;
	char err[1024];
	int r;

	r = cbtship_backup_check_stored(b, &root, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr,
			"cbtship backup-reset-state: backup %s cannot be available: %s; --state "
			"error keeps it out of use, backup-delete removes it\n",
			b->id, err);
		return r;
	}
	if (root && !b->index_root && catalog_backup_set_index_root(c, b->id, root) < 0)
		fprintf(stderr, "cbtship backup-reset-state: warning: %s\n", catalog_error(c));
	return 0;
}

const struct cbt_option cbtship_backup_reset_state_options[] = {
	{ "state", 's', "available|error", "the status to force (default available)", 0 },
	CBT_OPTION_END,
};

static int reset_state_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	enum catalog_backup_status *to = ctx;

	(void)opt;
	if (catalog_backup_status_from_string(arg, to) < 0 ||
	    (*to != CATALOG_BACKUP_AVAILABLE && *to != CATALOG_BACKUP_ERROR)) {
		fprintf(stderr, "cbtship backup-reset-state: --state: available or error\n");
		return -EINVAL;
	}
	return 0;
}

int cbtship_backup_reset_state(int argc, char **argv)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	enum catalog_backup_status to = CATALOG_BACKUP_AVAILABLE;
	int r, failed = 0;

	r = cbt_command_parse("backup-reset-state", argc, argv, reset_state_option, &to);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	if (cbtship_catalog_open("backup-reset-state", &c) < 0)
		return EXIT_FAILURE;
	for (int i = optind; i < argc; i++) {
		_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;

		if (cbtship_backup_lookup("backup-reset-state", c, argv[i], &b) < 0) {
			failed = 1;
			continue;
		}
		/* A backup never completed must not become restorable on paper. */
		if (to == CATALOG_BACKUP_AVAILABLE && b->status == CATALOG_BACKUP_CREATING) {
			fprintf(stderr,
				"cbtship backup-reset-state: backup %s is being created (or its "
				"creation was interrupted): it never completed, so it cannot be "
				"available; --state error cancels it, then backup-delete removes "
				"it\n",
				b->id);
			failed = 1;
			continue;
		}
		if (to == CATALOG_BACKUP_AVAILABLE && b->status != CATALOG_BACKUP_AVAILABLE &&
		    check_stored(c, b) < 0) {
			failed = 1;
			continue;
		}
		if (catalog_backup_set_status(c, b->id, to, CATALOG_TRANSITION_RESET,
					      to == CATALOG_BACKUP_ERROR ? "reset by the operator"
									 : NULL) < 0) {
			fprintf(stderr, "cbtship backup-reset-state: %s\n", catalog_error(c));
			failed = 1;
			continue;
		}
		cbtship_log("reset-state %s: %s -> %s", b->id,
			    catalog_backup_status_to_string(b->status),
			    catalog_backup_status_to_string(to));
		/* A running backup or restore was cancelled: wait until it has stopped. */
		if ((b->status == CATALOG_BACKUP_CREATING ||
		     b->status == CATALOG_BACKUP_RESTORING) &&
		    catalog_backup_is_stale(c, b, 0) == 0 &&
		    cbt_job_wait_stopped(c, b->id, "backup-reset-state", CANCEL_WAIT_SECONDS) < 0) {
			fprintf(stderr,
				"cbtship backup-reset-state: the running job of backup %s did not "
				"stop within %d s\n",
				b->id, CANCEL_WAIT_SECONDS);
			failed = 1;
		}
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
