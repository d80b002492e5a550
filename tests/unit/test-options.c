/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The option parser of the commands (cli/options.c). Requires: nothing but the host. */
#include <errno.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cbtship/cli/commands.h"
#include "cbtship/cli/options.h"

enum { K_FORCE = 0x200, K_SECRET };

static const struct cbt_option table[] = {
	{ "force", K_FORCE, NULL, "do it anyway", 0 },
	{ "name", 'n', "NAME", "the name", CBT_OPT_SHORT },
	{ "quiet", 'q', NULL, "say less", CBT_OPT_SHORT },
	{ "secret", K_SECRET, "S", "not shown", CBT_OPT_HIDDEN },
	CBT_OPTION_FORMAT("table|json"),
	CBT_OPTION_END,
};

static const struct cbt_args_spec one_or_two = { "A [B]", 1, 2 };

struct seen {
	char log[512];
	int fail_key; /* the callback fails on this key */
};

static int record(void *ctx, const struct cbt_option *opt, const char *arg)
{
	struct seen *s = ctx;
	size_t l = strlen(s->log);

	snprintf(s->log + l, sizeof(s->log) - l, "%s%s=%s", l ? " " : "", opt->name,
		 arg ? arg : "-");
	return opt->key == s->fail_key ? -EINVAL : 0;
}

/* What fd (1 or 2) received while running the parse; *ret its result. */
struct captured {
	char out[4096];
	int ret;
};

static void parse_capturing(int fd, const char *command, const struct cbt_option *opts,
			    const struct cbt_args_spec *args, int argc, char **argv, struct seen *s,
			    struct captured *c)
{
	char path[] = "/tmp/test-options-XXXXXX";
	int tmp = mkstemp(path), saved;
	ssize_t n;

	assert_true(tmp >= 0);
	unlink(path);
	fflush(stdout);
	fflush(stderr);
	saved = dup(fd);
	assert_true(saved >= 0);
	dup2(tmp, fd);
	c->ret = cbt_options_parse(command, opts, args, argc, argv, record, s);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, fd);
	close(saved);
	n = pread(tmp, c->out, sizeof(c->out) - 1, 0);
	close(tmp);
	c->out[n > 0 ? n : 0] = '\0';
}

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(fd, s, c, ...) \
	parse_capturing(fd, "test", table, &one_or_two, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), s, c)

static void each_kind(void **state)
{
	struct seen s = { .fail_key = -1 };
	struct captured c;
	char **argv = ARGV("test", "--force", "-n", "a", "--name=b", "--name", "c", "-q",
			   "--secret", "x", "first", "--format", "json", "second");

	(void)state;
	parse_capturing(2, "test", table, &one_or_two, 14, argv, &s, &c);
	assert_int_equal(c.ret, 0);
	assert_string_equal(c.out, "");
	assert_string_equal(s.log, "force=- name=a name=b name=c quiet=- secret=x format=json");
	/* The positional arguments come last, in order (getopt permutes). */
	assert_int_equal(optind, 12);
	assert_string_equal(argv[optind], "first");
	assert_string_equal(argv[optind + 1], "second");
}

static void unknown_option(void **state)
{
	struct seen s = { .fail_key = -1 };
	struct captured c;

	(void)state;
	PARSE(2, &s, &c, "test", "--nope", "a");
	assert_int_equal(c.ret, CBTSHIP_EXIT_USAGE);
	assert_non_null(strstr(c.out, "cbtship test: unknown option '--nope'\n"));
	assert_non_null(strstr(c.out, "(see 'cbtship help test')"));
	/* --force has no short form: -f is unknown. */
	PARSE(2, &s, &c, "test", "-f", "a");
	assert_int_equal(c.ret, CBTSHIP_EXIT_USAGE);
	assert_non_null(strstr(c.out, "cbtship test: unknown option '-f'\n"));
	assert_string_equal(s.log, "");
}

static void missing_argument(void **state)
{
	struct seen s = { .fail_key = -1 };
	struct captured c;

	(void)state;
	PARSE(2, &s, &c, "test", "a", "--name");
	assert_int_equal(c.ret, CBTSHIP_EXIT_USAGE);
	assert_non_null(strstr(c.out, "cbtship test: option '--name' needs an argument (NAME)\n"));
	PARSE(2, &s, &c, "test", "a", "-n");
	assert_int_equal(c.ret, CBTSHIP_EXIT_USAGE);
	assert_non_null(strstr(c.out, "cbtship test: option '--name' needs an argument (NAME)\n"));
	PARSE(2, &s, &c, "test", "--force=yes", "a");
	assert_int_equal(c.ret, CBTSHIP_EXIT_USAGE);
	assert_non_null(strstr(c.out, "cbtship test: option '--force' takes no argument\n"));
	assert_string_equal(s.log, "");
}

static void positional_count(void **state)
{
	struct seen s = { .fail_key = -1 };
	struct captured c;

	(void)state;
	PARSE(2, &s, &c, "test", "--force");
	assert_int_equal(c.ret, CBTSHIP_EXIT_USAGE);
	assert_non_null(strstr(c.out, "cbtship test: missing argument (A [B])\n"));
	PARSE(2, &s, &c, "test", "a", "b", "c");
	assert_int_equal(c.ret, CBTSHIP_EXIT_USAGE);
	assert_non_null(strstr(c.out, "cbtship test: unexpected argument 'c'\n"));
	PARSE(2, &s, &c, "test", "a", "b");
	assert_int_equal(c.ret, 0);
}

static void callback_failure(void **state)
{
	struct seen s = { .fail_key = 'n' };
	struct captured c;

	(void)state;
	PARSE(2, &s, &c, "test", "--name", "x", "--force", "a");
	assert_int_equal(c.ret, CBTSHIP_EXIT_USAGE);
	/* It stopped there: --force was not seen. */
	assert_string_equal(s.log, "name=x");
}

static void help_of_a_command(void **state)
{
	const struct cbtship_command *track = cbtship_command_find("track");
	struct seen s = { .fail_key = -1 };
	struct captured c;
	char **argv = ARGV("track", "--name", "x", "--help", "dev");

	(void)state;
	assert_non_null(track);
	parse_capturing(1, "track", track->options, &track->args, 5, argv, &s, &c);
	assert_int_equal(c.ret, CBT_OPTIONS_HELP);
	assert_non_null(strstr(c.out, "usage: cbtship track [--name NAME] [--block-size SIZE] "
				      "[--metadata FILE|DEV] [--format-metadata] DEV\n"));
	assert_non_null(strstr(c.out, "\n  -b, --block-size SIZE  tracking granularity"));
	argv = ARGV("track", "-h");
	parse_capturing(1, "track", track->options, &track->args, 2, argv, &s, &c);
	assert_int_equal(c.ret, CBT_OPTIONS_HELP);
	assert_non_null(strstr(c.out, "usage: cbtship track "));
}

static void synopsis_and_list(void **state)
{
	char syn[256], *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	cbt_options_synopsis(table, &one_or_two, syn, sizeof(syn));
	/* Hidden options are in neither. */
	assert_string_equal(syn, "[--force] [--name NAME] [--quiet] [--format table|json] A [B]");
	f = open_memstream(&text, &len);
	assert_non_null(f);
	cbt_options_print(table, f);
	fclose(f);
	assert_string_equal(text,
			    "  --force              do it anyway\n"
			    "  -n, --name NAME      the name\n"
			    "  -q, --quiet          say less\n"
			    "  --format table|json  output format, one of table|json (default "
			    "table)\n");
	free(text);
	/* Truncated, still terminated. */
	cbt_options_synopsis(table, &one_or_two, syn, 12);
	assert_string_equal(syn, "[--force] [");
}

static void format_values(void **state)
{
	const struct cbt_option *format = &table[4];
	enum cbtship_format f = CBTSHIP_FORMAT_RANGES;

	(void)state;
	assert_int_equal(cbtship_option_format("test", format, "json", &f), 0);
	assert_int_equal(f, CBTSHIP_FORMAT_JSON);
	assert_int_equal(cbtship_option_format("test", format, "table", &f), 0);
	assert_int_equal(f, CBTSHIP_FORMAT_TABLE);
	assert_int_equal(cbtship_option_format("test", format, "ranges", &f), -EINVAL);
	assert_int_equal(f, CBTSHIP_FORMAT_TABLE);
}

/* Every command's table: names and keys unique, short keys letters, not -h. */
static void command_tables(void **state)
{
	(void)state;
	for (const struct cbtship_command *c = cbtship_commands; c->name; c++) {
		for (size_t i = 0; c->options && c->options[i].name; i++) {
			const struct cbt_option *o = &c->options[i];

			assert_string_not_equal(o->name, "help");
			if (o->flags & CBT_OPT_SHORT) {
				assert_true((o->key >= 'a' && o->key <= 'z') ||
					    (o->key >= 'A' && o->key <= 'Z'));
				assert_int_not_equal(o->key, 'h');
			}
			for (size_t j = 0; j < i; j++) {
				assert_string_not_equal(c->options[j].name, o->name);
				assert_int_not_equal(c->options[j].key, o->key);
			}
		}
		if (!c->synopsis) {
			assert_true(c->args.min >= 0);
			assert_true(c->args.max < 0 || c->args.max >= c->args.min);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_kind),	     cmocka_unit_test(unknown_option),
		cmocka_unit_test(missing_argument),  cmocka_unit_test(positional_count),
		cmocka_unit_test(callback_failure),  cmocka_unit_test(help_of_a_command),
		cmocka_unit_test(synopsis_and_list), cmocka_unit_test(format_values),
		cmocka_unit_test(command_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
