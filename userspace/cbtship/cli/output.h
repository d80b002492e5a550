/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Output formats of the listing commands. */
#ifndef CBTSHIP_CLI_OUTPUT_H
#define CBTSHIP_CLI_OUTPUT_H

#include <stdint.h>

#include <jansson.h> /* defines json_decrefp() for _cleanup_ */

#include "cbt-cleanup.h"

enum cbtship_format {
	CBTSHIP_FORMAT_TABLE,
	CBTSHIP_FORMAT_JSON,
	CBTSHIP_FORMAT_RANGES,
};

/*
 * Parse a --format word among the `allowed` formats (a bit mask of
 * 1 << CBTSHIP_FORMAT_*). 0 or -EINVAL.
 */
/* Parse a --format word among the allowed ones; prints the error itself. */
int cbtship_format_parse(const char *command, const char *word, unsigned allowed,
			 enum cbtship_format *ret);

/* Print a JSON value on stdout, indented, with a final newline. 0 or -EIO. */
int cbtship_json_print(json_t *value);

/* A JSON integer for a uint64_t (jansson integers are signed 64 bits). */
json_t *cbtship_json_u64(uint64_t value);

#endif
