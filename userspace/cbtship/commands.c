/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The subcommand table and the usage text built from it. */
#include <stdlib.h>
#include <string.h>

#include "cbtship/commands.h"

static int cmd_help(int argc, char **argv);

const struct cbtship_command cbtship_commands[] = {
	{ "help", "[COMMAND]", "show the commands, or one command's usage", cmd_help },
	{ NULL, NULL, NULL, NULL },
};

void cbtship_usage(FILE *out)
{
	fprintf(out, "usage: cbtship COMMAND [ARGS...]\n\ncommands:\n");
	for (const struct cbtship_command *c = cbtship_commands; c->name; c++)
		fprintf(out, "  %-16s %s\n", c->name, c->summary);
	fprintf(out, "\n  --version        print the version\n");
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		cbtship_usage(stdout);
		return EXIT_SUCCESS;
	}
	for (const struct cbtship_command *c = cbtship_commands; c->name; c++) {
		if (strcmp(c->name, argv[1]) == 0) {
			printf("usage: cbtship %s %s\n\n%s\n", c->name, c->synopsis, c->summary);
			return EXIT_SUCCESS;
		}
	}
	fprintf(stderr, "cbtship: no command '%s'\n", argv[1]);
	return EXIT_FAILURE;
}
