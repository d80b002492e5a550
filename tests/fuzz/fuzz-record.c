/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Backup records of backup-import (backup/backup-record.c): the input is
 * "SERVICE\nURL" (no newline: the URL alone, service "posix"). A decoded
 * record exports to a URL that decodes to the same manifest.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/backup/backup-record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL, *again = NULL;
	_cleanup_(freep) char *text = NULL, *err = NULL, *url = NULL, *j1 = NULL, *j2 = NULL;
	const char *service = "posix", *record;
	char *nl;
	int r;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	record = text;
	nl = strchr(text, '\n');
	if (nl) {
		*nl = '\0';
		service = text;
		record = nl + 1;
	}
	r = cbtship_backup_record_decode(service, record, &m, &err);
	if (r < 0) {
		assert(err && *err);
		return 0;
	}
	assert(cbt_manifest_export_url(m, &url, NULL) == 0);
	free(err);
	err = NULL;
	assert(cbtship_backup_record_decode(service, url, &again, &err) == 0);
	assert(cbt_manifest_to_json(m, CBT_MANIFEST_JSON_COMPACT, &j1, NULL) == 0);
	assert(cbt_manifest_to_json(again, CBT_MANIFEST_JSON_COMPACT, &j2, NULL) == 0);
	assert(strcmp(j1, j2) == 0);
	return 0;
}
