/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtship untrack: stop tracking, restoring a live device's own table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/backup/context.h"
#include "cbtship/cli/commands.h"
#include "cbtship/volume-record.h"
#include "libcbt.h"

/* A volume with point-in-time views cannot lose its snapshot-origin. */
static bool refuse_views(const char *name)
{
	char **views = NULL;
	int r;

	r = cbt_view_list(name, &views);
	if (r < 0) {
		fprintf(stderr, "cbtship untrack: '%s': cannot list its views: %s\n", name,
			strerror(-r));
		return true;
	}
	if (views[0])
		fprintf(stderr,
			"cbtship untrack: cannot untrack '%s': it has point-in-time views (%s%s): "
			"remove them first\n",
			name, views[0], views[1] ? ", ..." : "");
	r = views[0] != NULL;
	cbt_strv_free(views);
	return r;
}

/*
 * No device, but the catalog still says tracked (an earlier untrack could
 * not write it, or the device is gone): only the record changes. true when
 * that was the case and it is done.
 */
static bool forget_record(const char *name)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	_cleanup_(catalog_volume_freep) struct catalog_volume *v = NULL;

	if (cbtship_catalog_open("untrack", &c) < 0 || catalog_volume_get(c, name, &v) < 0 ||
	    !v->tracked)
		return false;
	if (cbtship_volume_record_untracked(c, name) < 0) {
		fprintf(stderr, "cbtship untrack: '%s': %s\n", name, catalog_error(c));
		return false;
	}
	printf("%s: no tracked device on this host; its catalog record now says untracked\n", name);
	return true;
}

const struct cbt_option cbtship_untrack_options[] = {
	{ "keep-history", 'k', NULL,
	  "keep the history (skip invalidating it): for when nothing can write to the device "
	  "until it is tracked again",
	  CBT_OPT_SHORT },
	CBT_OPTION_END,
};

static int untrack_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	(void)arg;
	if (opt->key == 'k')
		*(bool *)ctx = true;
	return 0;
}

int cbtship_untrack(int argc, char **argv)
{
	_cleanup_(catalog_freep) struct catalog *catalog = NULL;
	bool keep_history = false;
	const char *name;
	int r, inserted;

	r = cbt_command_parse("untrack", argc, argv, untrack_option, &keep_history);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	name = argv[optind];

	r = cbt_device_is_tracked(name);
	if (r == 0 && forget_record(name))
		return EXIT_SUCCESS;
	if (r <= 0) {
		fprintf(stderr, "cbtship untrack: '%s': %s\n", name,
			r == 0 ? "not a tracked device (no dm device with a cbt table of that name)"
			       : strerror(-r));
		return EXIT_FAILURE;
	}
	inserted = cbt_device_is_inserted(name);
	if (inserted < 0) {
		fprintf(stderr, "cbtship untrack: '%s': %s\n", name, strerror(-inserted));
		return EXIT_FAILURE;
	}
	/* Refuse before invalidating the history if it cannot go away. */
	if (refuse_views(name))
		return EXIT_FAILURE;
	/* The record must say untracked, or the agent re-attaches it at boot. */
	if (cbtship_catalog_open("untrack", &catalog) < 0)
		return EXIT_FAILURE;
	if (!inserted) {
		r = cbt_device_open_count(name);
		if (r != 0) {
			fprintf(stderr, "cbtship untrack: cannot untrack '%s': %s\n", name,
				r > 0 ? "/dev/mapper device is open (close it first)"
				      : strerror(-r));
			return EXIT_FAILURE;
		}
	}
	if (!keep_history) {
		r = cbt_invalidate(name);
		if (r < 0)
			fprintf(stderr,
				"cbtship untrack: warning: '%s': cannot invalidate the history "
				"(%s): tracking again with this metadata may miss writes made "
				"meanwhile; use --format-metadata then\n",
				name, strerror(-r));
	} else {
		/* Without it the target takes the detach for someone else's. */
		r = cbt_prepare_detach(name);
		if (r < 0) {
			fprintf(stderr,
				"cbtship untrack: cannot keep the history of '%s': the target "
				"refused prepare_detach (%s%s); nothing changed\n",
				name, strerror(-r),
				r == -EINVAL ? ": dm-cbt older than 0.4? reload the module" : "");
			return EXIT_FAILURE;
		}
	}
	r = inserted ? cbt_device_eject(name) : cbt_device_remove(name);
	if (r < 0) {
		fprintf(stderr, "cbtship untrack: cannot untrack '%s': %s\n", name,
			r == -EBUSY ? "the device is open (close it first)" : strerror(-r));
		return EXIT_FAILURE;
	}
	r = cbtship_volume_record_untracked(catalog, name);
	if (r < 0 && r != -ENOENT) {
		fprintf(stderr,
			"cbtship untrack: '%s' is untracked, but the catalog still says tracked "
			"(%s): the agent will track it again at boot; run 'cbtship untrack %s' "
			"again once the catalog can be written\n",
			name, catalog_error(catalog)[0] ? catalog_error(catalog) : strerror(-r),
			name);
		return EXIT_FAILURE;
	}
	if (inserted)
		printf("%s: untracked, original table restored\n", name);
	else
		printf("%s: untracked, /dev/mapper/%s removed\n", name, name);
	return EXIT_SUCCESS;
}
