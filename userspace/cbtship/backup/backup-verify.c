/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtship backup-verify: read a backup back and check it (its driver's verify). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cbtship/backup/backup-open.h"
#include "cbtship/backup/context.h"
#include "cbtship/cli/commands.h"
#include "cbtship/cli/output.h"
#include "cbtship/driver/driver.h"

const struct cbt_option cbtship_backup_verify_options[] = {
	CBT_OPTION_KEY_FILE("the key of an encrypted backup"),
	CBT_OPTION_FORMAT("table|json"),
	CBT_OPTION_END,
};

static int verify_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	if (opt->key == CBT_OPTION_KEY_FILE_KEY)
		return cbtship_set_key_file("backup-verify", arg) < 0 ? -EINVAL : 0;
	return cbtship_option_format("backup-verify", opt, arg, ctx);
}

int cbtship_backup_verify(int argc, char **argv)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;
	enum cbtship_format format = CBTSHIP_FORMAT_TABLE;
	int r;

	r = cbt_command_parse("backup-verify", argc, argv, verify_option, &format);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	if (cbtship_catalog_open("backup-verify", &c) < 0)
		return EXIT_FAILURE;
	if (cbtship_backup_lookup("backup-verify", c, argv[optind], &b) < 0)
		return EXIT_FAILURE;
	return cbt_service_driver(b->service)->verify(b, format);
}
