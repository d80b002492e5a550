/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The table of cbtship subcommands. */
#ifndef CBTSHIP_CLI_COMMANDS_H
#define CBTSHIP_CLI_COMMANDS_H

#include <stdio.h>

#include <dm-cbt.h>

#include "cbtship/cli/options.h"
#include "cbtship/cli/output.h"

struct cbtship_command {
	const char *name;
	/*
	 * The arguments, for --help, of a command that parses its own; NULL
	 * when it is made from options and args.
	 */
	const char *synopsis;
	const char *summary;		   /* one line */
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *help;		   /* longer text for `cbtship help NAME`, or NULL */
	const struct cbt_option *options;  /* its options (cbt_command_parse()), or NULL */
	struct cbt_args_spec args;	   /* its positional arguments */
};

/* Terminated by an entry with a NULL name. */
extern const struct cbtship_command cbtship_commands[];

void cbtship_usage(FILE *out);

/* The command of that name, or NULL. */
const struct cbtship_command *cbtship_command_find(const char *name);

/* Print the usage of command `name` (for --help and usage errors). */
void cbtship_command_usage(const char *name, FILE *out);

/* Print its first line only: "usage: cbtship NAME SYNOPSIS". */
void cbtship_command_synopsis(const char *name, FILE *out);

/* The verbs, one file each. */
int cbtship_track(int argc, char **argv);
int cbtship_untrack(int argc, char **argv);
int cbtship_volume_list(int argc, char **argv);
int cbtship_dirty_map(int argc, char **argv);
int cbtship_checkpoint(int argc, char **argv);
int cbtship_commit(int argc, char **argv);
int cbtship_abort(int argc, char **argv);
int cbtship_events(int argc, char **argv);
int cbtship_agent(int argc, char **argv);
int cbtship_backup_create(int argc, char **argv);
int cbtship_backup_restore(int argc, char **argv);
int cbtship_backup_delete(int argc, char **argv);
int cbtship_backup_collect(int argc, char **argv);
int cbtship_backup_verify(int argc, char **argv);
int cbtship_backup_list(int argc, char **argv);
int cbtship_backup_show(int argc, char **argv);
int cbtship_snapshot_create(int argc, char **argv);
int cbtship_snapshot_list(int argc, char **argv);
int cbtship_snapshot_delete(int argc, char **argv);
int cbtship_config_show(int argc, char **argv);
int cbtship_backup_export(int argc, char **argv);
int cbtship_backup_import(int argc, char **argv);
int cbtship_catalog_rebuild(int argc, char **argv);
int cbtship_backup_reset_state(int argc, char **argv);
int cbtship_quota_show(int argc, char **argv);
int cbtship_quota_update(int argc, char **argv);
int cbtship_quota_usage(int argc, char **argv);
int cbtship_service_list(int argc, char **argv);

/* The options of a command that has only --format table|json. */
extern const struct cbt_option cbtship_format_options[];

/* The option tables of the commands, in their files. */
extern const struct cbt_option cbtship_track_options[];
extern const struct cbt_option cbtship_untrack_options[];
extern const struct cbt_option cbtship_volume_list_options[];
extern const struct cbt_option cbtship_dirty_map_options[];
extern const struct cbt_option cbtship_events_options[];
extern const struct cbt_option cbtship_quota_show_options[];
extern const struct cbt_option cbtship_quota_update_options[];
extern const struct cbt_option cbtship_backup_collect_options[];
extern const struct cbt_option cbtship_snapshot_create_options[];
extern const struct cbt_option cbtship_snapshot_list_options[];
extern const struct cbt_option cbtship_backup_list_options[];
extern const struct cbt_option cbtship_agent_options[];
extern const struct cbt_option cbtship_backup_delete_options[];
extern const struct cbt_option cbtship_backup_verify_options[];
extern const struct cbt_option cbtship_backup_reset_state_options[];
extern const struct cbt_option cbtship_catalog_rebuild_options[];
extern const struct cbt_option cbtship_backup_restore_options[];
extern const struct cbt_option cbtship_backup_create_options[];

/*
 * The options of a command that has only --format (among formats, a mask
 * of 1 << CBTSHIP_FORMAT_*) and --help, and exactly nargs arguments (from
 * argv[optind]; named in the synopsis by the command's args.names). 0; -1
 * when --help was printed (exit successfully);
 * CBTSHIP_EXIT_USAGE after printing the usage.
 */
int cbtship_parse_format_only(const char *command, int argc, char **argv, unsigned formats,
			      enum cbtship_format *format, int nargs);

/* Exit status of a usage error (as getopt-based tools use). */
#define CBTSHIP_EXIT_USAGE 2

#endif
