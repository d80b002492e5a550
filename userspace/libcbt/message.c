/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The target's messages: checkpoint, commit, abort, mark_dirty, invalidate,
 * prepare_detach.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "libcbt/libcbt-internal.h"

/* Send `message` to sector 0 of `name`; the response, if wanted, in buf. */
static int send_message(const char *name, const char *message, char *buf, size_t len)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	const char *response;
	int r;

	dmt = cbt_dm_task_new(DM_DEVICE_TARGET_MSG, name);
	if (!dmt)
		return cbt_dm_task_new_error();
	if (!dm_task_set_sector(dmt, 0) || !dm_task_set_message(dmt, message))
		return -ENOMEM;
	r = cbt_dm_task_run(dmt);
	if (r < 0)
		return r;
	if (buf) {
		response = dm_task_get_message_response(dmt);
		if (!response || strlen(response) >= len)
			return -EBADMSG;
		strcpy(buf, response);
	}
	return 0;
}

int cbt_checkpoint_response_parse(const char *text, uint64_t *ret)
{
	char word[32];
	size_t n;

	if (!text)
		return -EINVAL;
	n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	if (n == 0 || n >= sizeof(word))
		return -EINVAL;
	memcpy(word, text, n);
	word[n] = '\0';
	if (cbt_parse_u64(word, ret) < 0 || *ret == 0)
		return -EINVAL;
	return 0;
}

int cbt_checkpoint(const char *name, uint64_t *ret_checkpoint)
{
	char response[64];
	int r;

	r = send_message(name, DM_CBT_MSG_CHECKPOINT, response, sizeof(response));
	if (r < 0)
		return r;
	return cbt_checkpoint_response_parse(response, ret_checkpoint) < 0 ? -EBADMSG : 0;
}

static int message_with_number(const char *name, const char *verb, uint64_t n)
{
	char message[64];

	snprintf(message, sizeof(message), "%s %" PRIu64, verb, n);
	return send_message(name, message, NULL, 0);
}

int cbt_commit(const char *name, uint64_t checkpoint)
{
	return message_with_number(name, DM_CBT_MSG_COMMIT, checkpoint);
}

int cbt_abort(const char *name, uint64_t checkpoint)
{
	return message_with_number(name, DM_CBT_MSG_ABORT, checkpoint);
}

int cbt_mark_dirty(const char *name, uint64_t first, uint64_t count)
{
	char message[96];

	snprintf(message, sizeof(message), "%s %" PRIu64 " %" PRIu64, DM_CBT_MSG_MARK_DIRTY, first,
		 count);
	return send_message(name, message, NULL, 0);
}

int cbt_invalidate(const char *name)
{
	return send_message(name, DM_CBT_MSG_INVALIDATE, NULL, 0);
}

int cbt_prepare_detach(const char *name)
{
	return send_message(name, DM_CBT_MSG_PREPARE_DETACH, NULL, 0);
}
