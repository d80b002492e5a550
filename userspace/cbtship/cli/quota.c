/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbtship quota-show, quota-update, quota-usage: a project's backup quotas,
 * as cinder's quota commands show the backup ones (backups,
 * backup_gigabytes). Usage is derived from the backups' records (see
 * catalog.h): in use once available, reserved while creating.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/backup/context.h"
#include "cbtship/cli/commands.h"
#include "cbtship/cli/output.h"

struct quota_opts {
	const char *command;
	enum cbtship_format format;
	int64_t backups, gigabytes; /* quota-update; CATALOG_QUOTA_KEEP when not given */
	const char *project;
};

/* -1 (unlimited) or a count. */
static int parse_limit(const char *command, const char *what, const char *s, int64_t *ret)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < -1) {
		fprintf(stderr, "cbtship %s: bad %s '%s': a count, or -1 for no limit\n", command,
			what, s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

const struct cbt_option cbtship_quota_show_options[] = {
	CBT_OPTION_FORMAT("table|json"),
	CBT_OPTION_END,
};

const struct cbt_option cbtship_quota_update_options[] = {
	{ "backups", 'b', "N", "the most backups the project may have (-1: no limit)", 0 },
	{ "backup-gigabytes", 'g', "G", "the most gigabytes its backups may take (-1: no limit)",
	  0 },
	CBT_OPTION_FORMAT("table|json"),
	CBT_OPTION_END,
};

static int quota_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	struct quota_opts *o = ctx;

	if (opt->key == 'b' || opt->key == 'g')
		return parse_limit(o->command, opt->key == 'b' ? "--backups" : "--backup-gigabytes",
				   arg, opt->key == 'b' ? &o->backups : &o->gigabytes);
	return cbtship_option_format(o->command, opt, arg, &o->format);
}

/* 0; -1 when --help was printed; CBTSHIP_EXIT_USAGE. */
static int parse(int argc, char **argv, bool update, struct quota_opts *o)
{
	int r;

	o->format = CBTSHIP_FORMAT_TABLE;
	o->backups = o->gigabytes = CATALOG_QUOTA_KEEP;
	r = cbt_command_parse(o->command, argc, argv, quota_option, o);
	if (r)
		return r;
	/* The project: the argument, else the one cbtship acts for. */
	o->project = optind < argc ? argv[optind] : cbtship_project();
	if (update && o->backups == CATALOG_QUOTA_KEEP && o->gigabytes == CATALOG_QUOTA_KEEP) {
		fprintf(stderr,
			"cbtship %s: nothing to update: give --backups and/or "
			"--backup-gigabytes\n",
			o->command);
		return CBTSHIP_EXIT_USAGE;
	}
	return 0;
}

static json_t *limit_json(int64_t v)
{
	return json_integer(v);
}

static int show(const struct quota_opts *o, bool usage)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	struct catalog_quota q;

	if (cbtship_catalog_open(o->command, &c) < 0)
		return EXIT_FAILURE;
	if (catalog_quota_get(c, o->project, &q) < 0) {
		fprintf(stderr, "cbtship %s: %s\n", o->command, catalog_error(c));
		return EXIT_FAILURE;
	}
	if (o->format == CBTSHIP_FORMAT_JSON) {
		_cleanup_(json_decrefp) json_t *j = NULL;

		if (usage)
			j = json_pack("{s:s, s:{s:o, s:o, s:o}, s:{s:o, s:o, s:o}}", "project",
				      o->project, "backups", "in_use",
				      cbtship_json_u64(q.backups_in_use), "reserved",
				      cbtship_json_u64(q.backups_reserved), "limit",
				      limit_json(q.backups_limit), "backup_gigabytes", "in_use",
				      cbtship_json_u64(q.gigabytes_in_use), "reserved",
				      cbtship_json_u64(q.gigabytes_reserved), "limit",
				      limit_json(q.gigabytes_limit));
		else
			j = json_pack("{s:s, s:o, s:o, s:b}", "project", o->project, "backups",
				      limit_json(q.backups_limit), "backup_gigabytes",
				      limit_json(q.gigabytes_limit), "default", q.is_default);
		return j && cbtship_json_print(j) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	}
	if (usage) {
		printf("| %-16s | %8s | %8s | %8s |\n", "Type", "In_use", "Reserved", "Limit");
		printf("| %-16s | %8" PRIu64 " | %8" PRIu64 " | %8" PRId64 " |\n", "backups",
		       q.backups_in_use, q.backups_reserved, q.backups_limit);
		printf("| %-16s | %8" PRIu64 " | %8" PRIu64 " | %8" PRId64 " |\n",
		       "backup_gigabytes", q.gigabytes_in_use, q.gigabytes_reserved,
		       q.gigabytes_limit);
	} else {
		printf("| %-16s | %8s |\n", "Property", "Value");
		printf("| %-16s | %8" PRId64 " |\n", "backups", q.backups_limit);
		printf("| %-16s | %8" PRId64 " |\n", "backup_gigabytes", q.gigabytes_limit);
	}
	return EXIT_SUCCESS;
}

int cbtship_quota_show(int argc, char **argv)
{
	struct quota_opts o = { .command = "quota-show" };
	int r = parse(argc, argv, false, &o);

	return r < 0 ? EXIT_SUCCESS : r ? r : show(&o, false);
}

int cbtship_quota_usage(int argc, char **argv)
{
	struct quota_opts o = { .command = "quota-usage" };
	int r = parse(argc, argv, false, &o);

	return r < 0 ? EXIT_SUCCESS : r ? r : show(&o, true);
}

int cbtship_quota_update(int argc, char **argv)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	struct quota_opts o = { .command = "quota-update" };
	int r = parse(argc, argv, true, &o);

	if (r)
		return r < 0 ? EXIT_SUCCESS : r;
	if (cbtship_catalog_open(o.command, &c) < 0)
		return EXIT_FAILURE;
	if (catalog_quota_set(c, o.project, o.backups, o.gigabytes) < 0) {
		fprintf(stderr, "cbtship quota-update: %s\n", catalog_error(c));
		return EXIT_FAILURE;
	}
	cbtship_log("quota of project %s: backups %" PRId64 ", backup_gigabytes %" PRId64
		    " (-2: unchanged)",
		    o.project, o.backups, o.gigabytes);
	c = catalog_free(c);
	return show(&o, false);
}
