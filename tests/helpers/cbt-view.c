/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbt-view: drive libcbt's point-in-time views from test scripts.
 *
 *   cbt-view create NAME TAG COW_DIR [COW_SIZE]   prints the view (as get)
 *   cbt-view remove NAME TAG
 *   cbt-view check NAME TAG      "valid USED TOTAL" (exit 0) or
 *                                "invalid USED TOTAL" (exit 3), in sectors
 *   cbt-view get NAME TAG        name=, path=, cow_path=, checkpoint=,
 *                                cow_bytes=, generation= lines
 *   cbt-view list NAME           one tag per line
 *
 * A failure prints "cbt-view: ACTION NAME TAG: <strerror> (errno N)" and
 * exits 1; a usage error exits 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcbt.h"

static int usage(void)
{
	fprintf(stderr, "usage: cbt-view create NAME TAG COW_DIR [COW_SIZE]\n"
			"       cbt-view remove|check|get NAME TAG\n"
			"       cbt-view list NAME\n");
	return 2;
}

static int failed(const char *action, const char *name, const char *tag, int r)
{
	fprintf(stderr, "cbt-view: %s %s %s: %s (errno %d)\n", action, name, tag ? tag : "",
		strerror(-r), -r);
	return 1;
}

static void print_info(const struct cbt_view_info *v)
{
	printf("name=%s\npath=%s\ncow_path=%s\ncheckpoint=%" PRIu64 "\ncow_bytes=%" PRIu64
	       "\ngeneration=%s\n",
	       v->name, v->path, v->cow_path, v->checkpoint, v->cow_bytes, v->generation);
}

int main(int argc, char **argv)
{
	struct cbt_view_info info;
	uint64_t a = 0, b = 0;
	const char *action;
	int r;

	if (argc < 3)
		return usage();
	action = argv[1];
	if (strcmp(action, "create") == 0) {
		uint64_t bytes = 0;

		if (argc != 5 && argc != 6)
			return usage();
		if (argc == 6 && cbt_parse_size(argv[5], &bytes) < 0)
			return usage();
		r = cbt_view_create(argv[2], argv[3], argv[4], bytes, &info);
		if (r < 0)
			return failed(action, argv[2], argv[3], r);
		print_info(&info);
		return 0;
	}
	if (strcmp(action, "list") == 0) {
		char **tags = NULL;

		if (argc != 3)
			return usage();
		r = cbt_view_list(argv[2], &tags);
		if (r < 0)
			return failed(action, argv[2], NULL, r);
		for (char **t = tags; *t; t++)
			printf("%s\n", *t);
		cbt_strv_free(tags);
		return 0;
	}
	if (argc != 4)
		return usage();
	if (strcmp(action, "remove") == 0) {
		r = cbt_view_remove(argv[2], argv[3]);
		if (r < 0)
			return failed(action, argv[2], argv[3], r);
		return 0;
	}
	if (strcmp(action, "check") == 0) {
		r = cbt_view_check(argv[2], argv[3], &a, &b);
		if (r < 0)
			return failed(action, argv[2], argv[3], r);
		printf("%s %" PRIu64 " %" PRIu64 "\n", r ? "valid" : "invalid", a, b);
		return r ? 0 : 3;
	}
	if (strcmp(action, "get") == 0) {
		r = cbt_view_get(argv[2], argv[3], &info);
		if (r < 0)
			return failed(action, argv[2], argv[3], r);
		print_info(&info);
		return 0;
	}
	return usage();
}
