/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtship config-show: the effective configuration, secrets masked. */
#include <stdio.h>
#include <stdlib.h>

#include "cbtship/backup/context.h"
#include "cbtship/cli/commands.h"
#include "cbtship/cli/output.h"

int cbtship_config_show(int argc, char **argv)
{
	enum cbtship_format format;
	const struct cbt_config *cfg;
	int r = cbtship_parse_format_only("config-show", argc, argv,
					  1u << CBTSHIP_FORMAT_TABLE | 1u << CBTSHIP_FORMAT_JSON,
					  &format, 0);

	if (r)
		return r < 0 ? EXIT_SUCCESS : r;
	cfg = cbtship_config();
	if (!cfg || cbt_config_dump(cfg, stdout, format == CBTSHIP_FORMAT_JSON) < 0) {
		fprintf(stderr, "cbtship config-show: cannot print the configuration\n");
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
