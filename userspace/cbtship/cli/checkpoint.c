/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtship checkpoint, commit, abort: the target's protocol, by hand. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/cli/commands.h"
#include "libcbt.h"

/* NAME must be a tracked device; usage errors and messages name it. */
static int check_device(const char *verb, const char *name)
{
	int r = cbt_device_is_tracked(name);

	if (r > 0)
		return 0;
	fprintf(stderr, "cbtship %s: '%s': %s\n", verb, name,
		r == 0 ? "not a tracked device" : strerror(-r));
	return -ENODEV;
}

static int parse_checkpoint(const char *verb, const char *text, uint64_t *ret)
{
	uint64_t v;
	char *end;

	errno = 0;
	if (text[0] < '0' || text[0] > '9' || (v = strtoull(text, &end, 10), errno) || *end ||
	    v == 0) {
		fprintf(stderr, "cbtship %s: bad checkpoint number '%s'\n", verb, text);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

int cbtship_checkpoint(int argc, char **argv)
{
	uint64_t n;
	int r;

	r = cbt_command_parse("checkpoint", argc, argv, NULL, NULL);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	argv += optind - 1;
	if (check_device("checkpoint", argv[1]) < 0)
		return EXIT_FAILURE;
	r = cbt_checkpoint(argv[1], &n);
	if (r < 0) {
		fprintf(stderr, "cbtship checkpoint: '%s': %s\n", argv[1],
			r == -EBADMSG ? "the target answered no checkpoint number"
			: r == -EBUSY ? "a checkpoint is outstanding: commit or abort it first"
			: r == -EIO   ? "the metadata device failed (state error)"
				      : strerror(-r));
		return EXIT_FAILURE;
	}
	printf("%" PRIu64 "\n", n);
	return EXIT_SUCCESS;
}

static int finish(int argc, char **argv, const char *verb,
		  int (*send)(const char *name, uint64_t checkpoint))
{
	uint64_t n;
	int r;

	r = cbt_command_parse(verb, argc, argv, NULL, NULL);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	argv += optind - 1;
	if (parse_checkpoint(verb, argv[2], &n) < 0)
		return CBTSHIP_EXIT_USAGE;
	if (check_device(verb, argv[1]) < 0)
		return EXIT_FAILURE;
	r = send(argv[1], n);
	if (r < 0) {
		fprintf(stderr, "cbtship %s: '%s' checkpoint %" PRIu64 ": %s\n", verb, argv[1], n,
			r == -EINVAL ? "refused by the target (not the outstanding checkpoint?)"
				     : strerror(-r));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

int cbtship_commit(int argc, char **argv)
{
	return finish(argc, argv, "commit", cbt_commit);
}

int cbtship_abort(int argc, char **argv)
{
	return finish(argc, argv, "abort", cbt_abort);
}
