/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The status line of the cbt target, parsed strictly. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libcbt/libcbt-internal.h"

static const char *const state_names[] = {
	[DM_CBT_STATE_OK_ID] = DM_CBT_STATE_OK,
	[DM_CBT_STATE_INVALID_ID] = DM_CBT_STATE_INVALID,
	[DM_CBT_STATE_ERROR_ID] = DM_CBT_STATE_ERROR,
};

const char *cbt_state_to_string(enum dm_cbt_state state)
{
	if ((unsigned)state >= ELEMENTSOF(state_names))
		return NULL;
	return state_names[state];
}

int cbt_state_from_string(const char *word, enum dm_cbt_state *ret)
{
	for (unsigned i = 0; i < ELEMENTSOF(state_names); i++) {
		if (strcmp(word, state_names[i]) == 0) {
			*ret = (enum dm_cbt_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

void cbt_uuid_format(const uint8_t uuid[16], char buf[CBT_UUID_STRING_MAX])
{
	snprintf(buf, CBT_UUID_STRING_MAX,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", uuid[0],
		 uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8], uuid[9],
		 uuid[10], uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);
}

/* 8-4-4-4-12 hexadecimal digits; stored lower case. */
static int parse_uuid(const char *text, char out[CBT_UUID_STRING_MAX])
{
	if (strlen(text) != CBT_UUID_STRING_MAX - 1)
		return -EINVAL;
	for (size_t i = 0; i < CBT_UUID_STRING_MAX - 1; i++) {
		char c = text[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return -EINVAL;
		} else if (c >= 'A' && c <= 'F') {
			c = (char)(c - 'A' + 'a');
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return -EINVAL;
		}
		out[i] = c;
	}
	out[CBT_UUID_STRING_MAX - 1] = '\0';
	return 0;
}

static int parse_block_sectors(const char *text, uint32_t *ret)
{
	uint64_t v;

	if (cbt_parse_u64(text, &v) < 0 || v > UINT32_MAX || cbt_block_size_check(v * 512) < 0)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

int cbt_status_parse(const char *params, struct cbt_status *ret)
{
	_cleanup_(freep) char *copy = NULL;
	char *fields[DM_CBT_STATUS_FIELDS + 1], *save = NULL, *word;
	struct cbt_status s = { 0 };
	size_t n = 0;

	if (!params)
		return -EINVAL;
	copy = strdup(params);
	if (!copy)
		return -ENOMEM;
	for (word = strtok_r(copy, " \t\n", &save); word; word = strtok_r(NULL, " \t\n", &save)) {
		if (n == ELEMENTSOF(fields))
			return -EINVAL;
		fields[n++] = word;
	}
	if (n != DM_CBT_STATUS_FIELDS)
		return -EINVAL;

	if (parse_block_sectors(fields[0], &s.block_sectors) < 0 ||
	    cbt_parse_u64(fields[1], &s.nr_blocks) < 0 ||
	    cbt_parse_u64(fields[2], &s.current_dirty) < 0 ||
	    cbt_parse_u64(fields[3], &s.checkpoint) < 0 ||
	    cbt_parse_u64(fields[5], &s.frozen_dirty) < 0 || parse_uuid(fields[6], s.uuid) < 0 ||
	    cbt_state_from_string(fields[7], &s.state) < 0)
		return -EINVAL;

	if (strcmp(fields[4], "-") == 0) {
		s.frozen_checkpoint = DM_CBT_NO_FROZEN;
		if (s.frozen_dirty != 0)
			return -EINVAL;
	} else if (cbt_parse_u64(fields[4], &s.frozen_checkpoint) < 0 ||
		   s.frozen_checkpoint == DM_CBT_NO_FROZEN || s.frozen_checkpoint > s.checkpoint) {
		return -EINVAL;
	}
	if (s.current_dirty > s.nr_blocks || s.frozen_dirty > s.nr_blocks)
		return -EINVAL;

	*ret = s;
	return 0;
}
