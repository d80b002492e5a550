/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtship config-show: the effective configuration, secrets masked. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cbtship/backup/context.h"
#include "cbtship/commands.h"
#include "cbtship/output.h"

int cbtship_config_show(int argc, char **argv)
{
	static const struct option options[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum cbtship_format format = CBTSHIP_FORMAT_TABLE;
	const struct cbt_config *cfg;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (cbtship_format_parse("config-show", optarg,
						 1u << CBTSHIP_FORMAT_TABLE |
							 1u << CBTSHIP_FORMAT_JSON,
						 &format) < 0)
				return CBTSHIP_EXIT_USAGE;
			break;
		case 'h':
			cbtship_command_usage("config-show", stdout);
			return EXIT_SUCCESS;
		default:
			cbtship_command_usage("config-show", stderr);
			return CBTSHIP_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cbtship_command_usage("config-show", stderr);
		return CBTSHIP_EXIT_USAGE;
	}
	cfg = cbtship_config();
	if (!cfg || cbt_config_dump(cfg, stdout, format == CBTSHIP_FORMAT_JSON) < 0) {
		fprintf(stderr, "cbtship config-show: cannot print the configuration\n");
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
