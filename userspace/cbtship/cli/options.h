/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A command's options, declared once: the table gives the parser
 * (getopt_long), the synopsis and the option list of the command's help,
 * and through the help the man page (man/gen-commands).
 */
#ifndef CBTSHIP_CLI_OPTIONS_H
#define CBTSHIP_CLI_OPTIONS_H

#include <stdio.h>

#include "cbtship/cli/output.h"

/* Flags of a struct cbt_option. */
#define CBT_OPT_SHORT  (1u << 0) /* also accepted as -KEY (key is a letter) */
#define CBT_OPT_HIDDEN (1u << 1) /* accepted, but in neither synopsis nor help */

struct cbt_option {
	const char *name; /* the long name, without "--" */
	int key;	  /* what the callback is given; a letter when CBT_OPT_SHORT */
	const char *arg;  /* the argument's name in the help ("FILE", "table|json"),
			     NULL when the option takes none */
	const char *help; /* its line(s) in the help ('\n' between lines), or NULL:
			     in the synopsis only */
	unsigned flags;
};

/* Terminates a table. */
#define CBT_OPTION_END                 \
	{                              \
		NULL, 0, NULL, NULL, 0 \
	}

/*
 * The --format option: its arg lists the formats the command accepts
 * ("table|json", the first the default); its help line is made from them;
 * cbtship_option_format() parses its value against them.
 */
#define CBT_OPTION_FORMAT_KEY 0x101
#define CBT_OPTION_FORMAT(formats)                                \
	{                                                         \
		"format", CBT_OPTION_FORMAT_KEY, formats, NULL, 0 \
	}

/*
 * --backup-driver: overrides the configuration's backup_driver for this
 * command (cbtship_option_backup_driver()); drivers lists those it takes.
 */
#define CBT_OPTION_BACKUP_DRIVER_KEY 0x102
#define CBT_OPTION_BACKUP_DRIVER(drivers, help)                                 \
	{                                                                       \
		"backup-driver", CBT_OPTION_BACKUP_DRIVER_KEY, drivers, help, 0 \
	}

/* --encryption-key-file FILE: cbtship_set_key_file() takes its value. */
#define CBT_OPTION_KEY_FILE_KEY 0x103
#define CBT_OPTION_KEY_FILE(help)                                               \
	{                                                                       \
		"encryption-key-file", CBT_OPTION_KEY_FILE_KEY, "FILE", help, 0 \
	}

/*
 * Called for each option given, in order: key is its table entry's key, arg
 * its argument (NULL when it takes none). 0 goes on; a negative errno stops
 * the parse as a usage error (the callback printed why).
 */
typedef int (*cbt_option_fn)(void *ctx, const struct cbt_option *opt, const char *arg);

/* The positional arguments of a command, for the parser and the synopsis. */
struct cbt_args_spec {
	const char *names; /* in the synopsis: "DEV", "NAME N", "BACKUP...", "[PROJECT]" */
	int min, max;	   /* how many; max -1: no limit */
};

/* What cbt_options_parse() returns besides 0. */
#define CBT_OPTIONS_HELP (-1) /* --help was printed on stdout: exit successfully */

/*
 * Parse argv (argv[0] the command) against options: each option goes to
 * fn(ctx, ...), --help and -h print the help of `command` (from
 * cbtship_commands[]) on stdout. Unknown options, missing or unexpected
 * arguments and a count of positional arguments outside args print one
 * line "cbtship COMMAND: ..." and the usage line on stderr.
 *
 * 0, with optind the index of the first positional argument;
 * CBT_OPTIONS_HELP; CBTSHIP_EXIT_USAGE (also when fn failed).
 */
int cbt_options_parse(const char *command, const struct cbt_option *options,
		      const struct cbt_args_spec *args, int argc, char **argv, cbt_option_fn fn,
		      void *ctx);

/*
 * The same for a command of cbtship_commands[], with its own table and
 * positional arguments.
 */
int cbt_command_parse(const char *command, int argc, char **argv, cbt_option_fn fn, void *ctx);

/* The synopsis "[--name NAME] [--force] ARGS" into out (truncated to size). */
void cbt_options_synopsis(const struct cbt_option *options, const struct cbt_args_spec *args,
			  char *out, size_t size);

/* The option list of the help: "  --name NAME   help", one per option. */
void cbt_options_print(const struct cbt_option *options, FILE *out);

/*
 * The value of a CBT_OPTION_FORMAT option among the formats its arg names
 * ("table|json"); prints the error itself. 0 or -EINVAL.
 */
int cbtship_option_format(const char *command, const struct cbt_option *opt, const char *arg,
			  enum cbtship_format *ret);

/*
 * The value of --backup-driver: sets backup_driver in the configuration
 * (origin "--backup-driver"); prints the error itself. 0 or -EINVAL.
 */
int cbtship_option_backup_driver(const char *command, const char *arg);

#endif
