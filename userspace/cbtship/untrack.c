/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtship untrack: stop tracking, restoring a live device's own table. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/commands.h"
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

int cbtship_untrack(int argc, char **argv)
{
	static const struct option options[] = {
		{ "keep-history", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool keep_history = false;
	const char *name;
	int c, r, inserted;

	optind = 1;
	while ((c = getopt_long(argc, argv, "kh", options, NULL)) != -1) {
		switch (c) {
		case 'k':
			keep_history = true;
			break;
		case 'h':
			cbtship_command_usage("untrack", stdout);
			return EXIT_SUCCESS;
		default:
			cbtship_command_usage("untrack", stderr);
			return CBTSHIP_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		cbtship_command_usage("untrack", stderr);
		return CBTSHIP_EXIT_USAGE;
	}
	name = argv[optind];

	r = cbt_device_is_tracked(name);
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
	}
	r = inserted ? cbt_device_eject(name) : cbt_device_remove(name);
	if (r < 0) {
		fprintf(stderr, "cbtship untrack: cannot untrack '%s': %s\n", name,
			r == -EBUSY ? "the device is open (close it first)" : strerror(-r));
		return EXIT_FAILURE;
	}
	if (inserted)
		printf("%s: untracked, original table restored\n", name);
	else
		printf("%s: untracked, /dev/mapper/%s removed\n", name, name);
	return EXIT_SUCCESS;
}
