/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The option parser, synopsis and option list built from one table per command. */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cbt-cleanup.h"
#include "cbtship/backup/context.h"
#include "cbtship/cli/commands.h"
#include "cbtship/cli/options.h"

/* getopt_long's value for --help and -h (no table key is that large). */
#define KEY_HELP 0x1ff

static size_t options_count(const struct cbt_option *options)
{
	size_t n = 0;

	while (options && options[n].name)
		n++;
	return n;
}

static const struct cbt_option *find_key(const struct cbt_option *options, int key)
{
	for (size_t i = 0; options && options[i].name; i++)
		if (options[i].key == key)
			return &options[i];
	return NULL;
}

static const struct cbt_option *find_name(const struct cbt_option *options, const char *name,
					  size_t len)
{
	for (size_t i = 0; options && options[i].name; i++)
		if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
			return &options[i];
	return NULL;
}

static void usage_line(const char *command, FILE *out)
{
	cbtship_command_synopsis(command, out);
	fprintf(out, "(see 'cbtship help %s')\n", command);
}

/* An error of getopt_long's (opterr is 0): say which, in our words. */
static void option_error(const char *command, const struct cbt_option *options, int argc,
			 char **argv, int c)
{
	/* The word getopt stopped at: the last one it consumed. */
	const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	const struct cbt_option *o = NULL;

	if (word[0] == '-' && word[1] == '-') {
		const char *eq = strchr(word + 2, '=');

		o = find_name(options, word + 2, eq ? (size_t)(eq - word - 2) : strlen(word + 2));
	} else if (optopt) {
		o = find_key(options, optopt);
		if (o && !(o->flags & CBT_OPT_SHORT))
			o = NULL;
	}
	if (c == ':' && o)
		fprintf(stderr, "cbtship %s: option '--%s' needs an argument (%s)\n", command,
			o->name, o->arg);
	else if (o && !o->arg)
		fprintf(stderr, "cbtship %s: option '--%s' takes no argument\n", command, o->name);
	else if (word[0] == '-' && word[1] == '-')
		fprintf(stderr, "cbtship %s: unknown option '%s'\n", command, word);
	else
		fprintf(stderr, "cbtship %s: unknown option '-%c'\n", command,
			optopt ? optopt : '?');
}

int cbt_options_parse(const char *command, const struct cbt_option *options,
		      const struct cbt_args_spec *args, int argc, char **argv, cbt_option_fn fn,
		      void *ctx)
{
	size_t n = options_count(options);
	_cleanup_(freep) struct option *longopts = calloc(n + 2, sizeof(*longopts));
	/* ':' first: a missing argument is ':', apart from an unknown option's '?'. */
	_cleanup_(freep) char *shortopts = malloc(2 * n + 3);
	char *s = shortopts;
	int c, nargs;

	if (!longopts || !shortopts) {
		fprintf(stderr, "cbtship %s: %s\n", command, strerror(ENOMEM));
		return CBTSHIP_EXIT_USAGE;
	}
	*s++ = ':';
	*s++ = 'h';
	for (size_t i = 0; i < n; i++) {
		longopts[i] = (struct option){
			.name = options[i].name,
			.has_arg = options[i].arg ? required_argument : no_argument,
			.val = options[i].key,
		};
		if (options[i].flags & CBT_OPT_SHORT) {
			*s++ = (char)options[i].key;
			if (options[i].arg)
				*s++ = ':';
		}
	}
	*s = '\0';
	longopts[n] = (struct option){ .name = "help", .has_arg = no_argument, .val = KEY_HELP };

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct cbt_option *o;

		if (c == KEY_HELP || c == 'h') {
			cbtship_command_usage(command, stdout);
			return CBT_OPTIONS_HELP;
		}
		o = c == '?' || c == ':' ? NULL : find_key(options, c);
		if (!o) {
			option_error(command, options, argc, argv, c);
			usage_line(command, stderr);
			return CBTSHIP_EXIT_USAGE;
		}
		if (fn && fn(ctx, o, o->arg ? optarg : NULL) < 0)
			return CBTSHIP_EXIT_USAGE;
	}
	nargs = argc - optind;
	if (args && (nargs < args->min || (args->max >= 0 && nargs > args->max))) {
		if (nargs > 0 && args->max >= 0 && nargs > args->max)
			fprintf(stderr, "cbtship %s: unexpected argument '%s'\n", command,
				argv[optind + args->max]);
		else
			fprintf(stderr, "cbtship %s: missing argument (%s)\n", command,
				args->names);
		usage_line(command, stderr);
		return CBTSHIP_EXIT_USAGE;
	}
	return 0;
}

int cbt_command_parse(const char *command, int argc, char **argv, cbt_option_fn fn, void *ctx)
{
	const struct cbtship_command *c = cbtship_command_find(command);

	return cbt_options_parse(command, c ? c->options : NULL, c ? &c->args : NULL, argc, argv,
				 fn, ctx);
}

void cbt_options_synopsis(const struct cbt_option *options, const struct cbt_args_spec *args,
			  char *out, size_t size)
{
	size_t len = 0;

	if (size == 0)
		return;
	out[0] = '\0';
#define APPEND(...)                                                                          \
	do {                                                                                 \
		int w_ = snprintf(out + len, size - len, __VA_ARGS__);                       \
		len = w_ < 0 ? len : len + (size_t)w_ >= size ? size - 1 : len + (size_t)w_; \
	} while (0)
	for (size_t i = 0; options && options[i].name; i++) {
		const struct cbt_option *o = &options[i];

		if (o->flags & CBT_OPT_HIDDEN)
			continue;
		APPEND("%s[--%s%s%s]", len ? " " : "", o->name, o->arg ? " " : "",
		       o->arg ? o->arg : "");
	}
	if (args && args->names && args->names[0])
		APPEND("%s%s", len ? " " : "", args->names);
#undef APPEND
}

/*
 * The option list: the help texts start in one column (past the widest
 * name, at most MAX_COLUMN; a longer name has its text on the next line)
 * and are filled to WIDTH; '\n' in a text starts a new line.
 */
#define MAX_COLUMN 26
#define WIDTH	   79

static int name_width(const struct cbt_option *o)
{
	return 2 + (o->flags & CBT_OPT_SHORT ? 4 : 0) + 2 + (int)strlen(o->name) +
	       (o->arg ? 1 + (int)strlen(o->arg) : 0);
}

static const char *option_help(const struct cbt_option *o, char *buf, size_t size)
{
	if (o->help || strcmp(o->name, "format") != 0 || !o->arg)
		return o->help;
	snprintf(buf, size, "output format, one of %s (default %.*s)", o->arg,
		 (int)strcspn(o->arg, "|"), o->arg);
	return buf;
}

/* Print text from column `at` (the cursor is at column `w`), filled to WIDTH. */
static void fill(const char *text, int at, int w, FILE *out)
{
	bool line_empty = true;

	for (const char *p = text; *p;) {
		size_t l;

		if (*p == '\n') {
			fputc('\n', out);
			w = 0;
			line_empty = true;
			p++;
			continue;
		}
		if (*p == ' ') {
			p++;
			continue;
		}
		l = strcspn(p, " \n");
		if (!line_empty && w + 1 + (int)l > WIDTH) {
			fputc('\n', out);
			w = 0;
			line_empty = true;
		}
		if (w < at) {
			fprintf(out, "%*s", at - w, "");
			w = at;
		} else if (!line_empty) {
			fputc(' ', out);
			w++;
		}
		fprintf(out, "%.*s", (int)l, p);
		w += (int)l;
		line_empty = false;
		p += l;
	}
	fputc('\n', out);
}

void cbt_options_print(const struct cbt_option *options, FILE *out)
{
	int column = 0;

	for (size_t i = 0; options && options[i].name; i++) {
		int w = name_width(&options[i]) + 2;

		if (!(options[i].flags & CBT_OPT_HIDDEN) && w <= MAX_COLUMN && w > column)
			column = w;
	}
	for (size_t i = 0; options && options[i].name; i++) {
		const struct cbt_option *o = &options[i];
		char buf[160];
		const char *help = option_help(o, buf, sizeof(buf));
		int w;

		if ((o->flags & CBT_OPT_HIDDEN) || !help)
			continue;
		if (o->flags & CBT_OPT_SHORT)
			w = fprintf(out, "  -%c, --%s%s%s", o->key, o->name, o->arg ? " " : "",
				    o->arg ? o->arg : "");
		else
			w = fprintf(out, "  --%s%s%s", o->name, o->arg ? " " : "",
				    o->arg ? o->arg : "");
		if (w > column - 2) {
			fputc('\n', out);
			w = 0;
		}
		fill(help, column, w, out);
	}
}

int cbtship_option_format(const char *command, const struct cbt_option *opt, const char *arg,
			  enum cbtship_format *ret)
{
	static const char *const names[] = {
		[CBTSHIP_FORMAT_TABLE] = "table",
		[CBTSHIP_FORMAT_JSON] = "json",
		[CBTSHIP_FORMAT_RANGES] = "ranges",
	};
	unsigned allowed = 0;

	for (const char *p = opt->arg; *p;) {
		size_t l = strcspn(p, "|");

		for (unsigned i = 0; i < ELEMENTSOF(names); i++)
			if (strlen(names[i]) == l && strncmp(p, names[i], l) == 0)
				allowed |= 1u << i;
		p += l;
		if (*p == '|')
			p++;
	}
	return cbtship_format_parse(command, arg, allowed, ret);
}

int cbtship_option_backup_driver(const char *command, const char *arg)
{
	char *err = NULL;

	if (cbt_config_set(cbtship_config_mutable(), "backup_driver", arg, "--backup-driver",
			   &err) >= 0)
		return 0;
	fprintf(stderr, "cbtship %s: %s\n", command, err ? err : "bad --backup-driver");
	free(err);
	return -EINVAL;
}
