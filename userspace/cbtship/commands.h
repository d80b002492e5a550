/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The table of cbtship subcommands. */
#ifndef CBTSHIP_COMMANDS_H
#define CBTSHIP_COMMANDS_H

#include <stdio.h>

#include <dm-cbt.h>

struct cbtship_command {
	const char *name;
	const char *synopsis;		   /* arguments, for --help */
	const char *summary;		   /* one line */
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

/* Terminated by an entry with a NULL name. */
extern const struct cbtship_command cbtship_commands[];

void cbtship_usage(FILE *out);

#endif
