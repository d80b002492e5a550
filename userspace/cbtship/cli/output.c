/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Output formats of the listing commands. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cbtship/cli/output.h"

int cbtship_format_parse(const char *command, const char *word, unsigned allowed,
			 enum cbtship_format *ret)
{
	static const char *const names[] = {
		[CBTSHIP_FORMAT_TABLE] = "table",
		[CBTSHIP_FORMAT_JSON] = "json",
		[CBTSHIP_FORMAT_RANGES] = "ranges",
	};
	const char *sep = "";

	for (unsigned i = 0; i < ELEMENTSOF(names); i++) {
		if ((allowed & (1U << i)) && strcmp(word, names[i]) == 0) {
			*ret = (enum cbtship_format)i;
			return 0;
		}
	}
	fprintf(stderr, "cbtship %s: unknown format '%s' (", command, word);
	for (unsigned i = 0; i < ELEMENTSOF(names); i++) {
		if (allowed & (1U << i)) {
			fprintf(stderr, "%s%s", sep, names[i]);
			sep = ", ";
		}
	}
	fprintf(stderr, ")\n");
	return -EINVAL;
}

int cbtship_json_print(json_t *value)
{
	if (json_dumpf(value, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
		return -EIO;
	if (putchar('\n') == EOF || fflush(stdout) == EOF)
		return -EIO;
	return 0;
}

json_t *cbtship_json_u64(uint64_t value)
{
	if (value > (uint64_t)INT64_MAX)
		return json_real((double)value);
	return json_integer((json_int_t)value);
}
