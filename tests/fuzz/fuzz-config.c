/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The configuration file (config/config.c): any bytes either fail with
 * an errno and a message, or give a configuration that dumps (text and
 * JSON) and whose driver settings can be checked. The first byte picks
 * the file mode (secrets are refused in a file others can read).
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cbtship/config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	_cleanup_(freep) char *err = NULL, *derr = NULL;
	mode_t mode = 0600;
	int r;

	if (!null) {
		null = fopen("/dev/null", "we");
		assert(null);
	}
	if (size && data[0] == '\x01') {
		mode = 0644;
		data++;
		size--;
	}
	r = cbt_config_parse("fuzz.conf", data, size, mode, &c, &err);
	if (r < 0) {
		assert(err && *err);
		return 0;
	}
	assert(cbt_config_dump(c, null, false) == 0);
	assert(cbt_config_dump(c, null, true) == 0);
	(void)cbt_config_check_driver(c, &derr);
	return 0;
}
