/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtship events: print the events of the dm_cbt family as they come. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cbt-cleanup.h"
#include "cbtship/cli/commands.h"
#include "libcbt.h"

CBT_DEFINE_CLEANUP(struct cbt_events *, cbt_events_free, cbt_events_freep)

static int parse_count(const char *text, unsigned long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoul(text, &end, 10);
	return text[0] >= '0' && text[0] <= '9' && !errno && !*end ? 0 : -EINVAL;
}

int cbtship_events(int argc, char **argv)
{
	static const struct option options[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_(cbt_events_freep) struct cbt_events *ev = NULL;
	unsigned long count = 0, timeout = 0, seen = 0;
	struct timespec start, now;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:t:h", options, NULL)) != -1) {
		switch (c) {
		case 'c':
		case 't':
			if (parse_count(optarg, c == 'c' ? &count : &timeout) < 0) {
				fprintf(stderr, "cbtship events: bad number '%s'\n", optarg);
				return CBTSHIP_EXIT_USAGE;
			}
			break;
		case 'h':
			cbtship_command_usage("events", stdout);
			return EXIT_SUCCESS;
		default:
			cbtship_command_usage("events", stderr);
			return CBTSHIP_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cbtship_command_usage("events", stderr);
		return CBTSHIP_EXIT_USAGE;
	}
	r = cbt_events_new(&ev);
	if (r < 0) {
		fprintf(stderr, "cbtship events: cannot subscribe to the %s events: %s\n",
			DM_CBT_GENL_NAME,
			r == -EPROTONOSUPPORT ? "the kernel has no such family (dm-cbt module "
						"missing or too old)"
					      : strerror(-r));
		return EXIT_FAILURE;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!count || seen < count) {
		struct cbt_event e;
		int wait = -1;

		if (timeout) {
			long elapsed;

			clock_gettime(CLOCK_MONOTONIC, &now);
			elapsed = (now.tv_sec - start.tv_sec) * 1000 +
				  (now.tv_nsec - start.tv_nsec) / 1000000;
			if (elapsed >= (long)timeout * 1000)
				break;
			wait = (int)((long)timeout * 1000 - elapsed);
		}
		r = cbt_events_receive(ev, wait, &e);
		if (r < 0) {
			fprintf(stderr, "cbtship events: %s\n",
				r == -ENOBUFS ? "events were lost (receive queue overflow)"
					      : strerror(-r));
			return EXIT_FAILURE;
		}
		if (r == 0)
			break;
		const char *what = cbt_event_to_string(e.event);

		if (what)
			printf("%s %s %" PRIu64 "\n", e.name, what, e.checkpoint);
		else
			printf("%s event-%u %" PRIu64 "\n", e.name, (unsigned)e.event,
			       e.checkpoint);
		fflush(stdout);
		seen++;
	}
	if (count && seen < count) {
		fprintf(stderr, "cbtship events: timed out after %lu of %lu events\n", seen, count);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
