/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Manifests (repo/manifest.c), as read from a store: any bytes either fail
 * with an errno and a message, or give a manifest that passes its own
 * check and writes back to JSON that parses again to the same text.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/repo/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL, *again = NULL;
	_cleanup_(freep) char *err = NULL, *json = NULL, *json2 = NULL;
	int r;

	r = cbt_manifest_from_json((const char *)data, size, &m, &err);
	if (r < 0) {
		assert(err && *err);
		return 0;
	}
	assert(cbt_manifest_check(m, NULL) == 0);
	r = cbt_manifest_to_json(m, CBT_MANIFEST_JSON_COMPACT, &json, NULL);
	assert(r == 0);
	r = cbt_manifest_from_json(json, strlen(json), &again, NULL);
	assert(r == 0);
	r = cbt_manifest_to_json(again, CBT_MANIFEST_JSON_COMPACT, &json2, NULL);
	assert(r == 0 && strcmp(json, json2) == 0);
	return 0;
}
