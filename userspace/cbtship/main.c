/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbtship: ships incremental backups of dm-cbt tracked volumes.
 *
 * This file only dispatches subcommands; each verb lives in its own file.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/backup/context.h"
#include "cbtship/cli/commands.h"
#include "cbtship/state-dir.h"

/* --config FILE: the configuration file (default $CBTSHIP_CONFIG, /etc/cbtship/cbtship.conf). */
static int load_config(const char *path)
{
	struct cbt_config *cfg = NULL;
	char *err = NULL;
	int r = cbt_config_load(path, &cfg, &err);

	if (r < 0) {
		fprintf(stderr, "cbtship: configuration: %s\n", err ? err : strerror(-r));
		free(err);
		return r;
	}
	cbtship_config_set(cfg);
	cbtship_state_dir_set(cfg->state_path);
	return 0;
}

int main(int argc, char **argv)
{
	const struct cbtship_command *cmd;
	const char *config = NULL;
	int i = 1;

	/* Writes to a closed connection come back as EPIPE, never as a signal. */
	signal(SIGPIPE, SIG_IGN);
	/* Global options, before the command (as the openstack client takes them). */
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cbtship_usage(stdout);
			return EXIT_SUCCESS;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("cbtship %d.%d.%d\n", DM_CBT_VERSION_MAJOR, DM_CBT_VERSION_MINOR,
			       DM_CBT_VERSION_PATCH);
			return EXIT_SUCCESS;
		}
		if (i + 1 < argc && strcmp(argv[i], "--config") == 0)
			config = argv[i + 1];
		else if (i + 1 < argc && strcmp(argv[i], "--os-project-name") == 0)
			cbtship_project_set(argv[i + 1]);
		else {
			fprintf(stderr,
				"cbtship: unknown global option '%s' (see 'cbtship --help')\n",
				argv[i]);
			return CBTSHIP_EXIT_USAGE;
		}
		i += 2;
	}
	if (i >= argc) {
		cbtship_usage(stderr);
		return EXIT_FAILURE;
	}
	cmd = cbtship_command_find(argv[i]);
	if (!cmd) {
		fprintf(stderr, "cbtship: unknown command '%s' (see 'cbtship --help')\n", argv[i]);
		return EXIT_FAILURE;
	}
	if (load_config(config) < 0)
		return EXIT_FAILURE;
	i = cmd->run(argc - i, argv + i);
	cbtship_config_set(NULL);
	return i;
}
