/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbtship: ships incremental backups of dm-cbt tracked volumes.
 *
 * This file only dispatches subcommands; each verb lives in its own file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/commands.h"

static const struct cbtship_command *find_command(const char *name)
{
	for (const struct cbtship_command *c = cbtship_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int main(int argc, char **argv)
{
	const struct cbtship_command *cmd;

	if (argc < 2) {
		cbtship_usage(stderr);
		return EXIT_FAILURE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cbtship_usage(stdout);
		return EXIT_SUCCESS;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("cbtship %d.%d.%d\n", DM_CBT_VERSION_MAJOR, DM_CBT_VERSION_MINOR,
		       DM_CBT_VERSION_PATCH);
		return EXIT_SUCCESS;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "cbtship: unknown command '%s' (see 'cbtship --help')\n", argv[1]);
		return EXIT_FAILURE;
	}
	return cmd->run(argc - 1, argv + 1);
}
