/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtship events: print the events of the dm_cbt family as they come. */
#include <errno.h>
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

const struct cbt_option cbtship_events_options[] = {
	{ "count", 'c', "N", "stop after N events", CBT_OPT_SHORT },
	{ "timeout", 't', "SECONDS", "stop after SECONDS seconds (fails if fewer than N came)",
	  CBT_OPT_SHORT },
	CBT_OPTION_END,
};

struct events_opts {
	unsigned long count, timeout;
};

static int events_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	struct events_opts *o = ctx;

	if (parse_count(arg, opt->key == 'c' ? &o->count : &o->timeout) < 0) {
		fprintf(stderr, "cbtship events: bad number '%s'\n", arg);
		return -EINVAL;
	}
	return 0;
}

int cbtship_events(int argc, char **argv)
{
	struct events_opts o = { 0 };
	_cleanup_(cbt_events_freep) struct cbt_events *ev = NULL;
	unsigned long count, timeout, seen = 0;
	struct timespec start, now;
	int r;

	r = cbt_command_parse("events", argc, argv, events_option, &o);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	count = o.count;
	timeout = o.timeout;
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
