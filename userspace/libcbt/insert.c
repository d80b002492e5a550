/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Live insertion: a dm device in use gets tracked without being detached.
 *
 *   before:  name (linear ...)
 *   after:   name (cbt over name-cbt-real) -> name-cbt-real (linear ...)
 *
 * The original table is copied to the hidden device first, then `name` is
 * suspended (in-flight I/O drains, file systems freeze), reloaded with the
 * cbt table and resumed: its users never see it go away.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "libcbt/libcbt-internal.h"

static int hidden_name(const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s", name, CBT_HIDDEN_SUFFIX);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Suspend `name`, load table, resume; on failure `name` runs as before. */
static int swap_table(const char *name, const struct cbt_dm_table *table,
		      const struct cbt_dm_table *previous)
{
	_cleanup_(cbt_signals_release) struct cbt_signals held = { .held = false };
	int r;

	cbt_signals_hold(&held);
	r = cbt_dm_suspend(name);
	if (r < 0)
		return r;
	r = cbt_dm_reload(name, table);
	if (r < 0) {
		(void)cbt_dm_resume(name); /* the old table is still live */
		return r;
	}
	r = cbt_dm_resume(name);
	if (r < 0) {
		/* Put the old table back in the inactive slot and resume that. */
		if (cbt_dm_reload(name, previous) == 0)
			(void)cbt_dm_resume(name);
		return r;
	}
	return 0;
}

int cbt_device_insert(const char *name, const char *metadata, uint64_t block_bytes, unsigned flags)
{
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table original = { 0 };
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table tracked = { 0 };
	_cleanup_(closep) int metadata_fd = -1;
	char hidden[DM_NAME_LEN], origin[32], meta[32];
	struct dm_info info;
	bool created = false;
	uint64_t sectors;
	int r;

	if (!name || !metadata)
		return -EINVAL;
	if (block_bytes == 0)
		block_bytes = DM_CBT_DEFAULT_BLOCK_SECTORS * 512;
	if (cbt_block_size_check(block_bytes) < 0)
		return -EINVAL;
	r = hidden_name(name, hidden, sizeof(hidden));
	if (r < 0)
		return r;
	r = cbt_dm_get_info(name, &info);
	if (r < 0)
		return r;
	if (info.suspended || !info.live_table)
		return -EBUSY;
	r = cbt_dm_get_table(name, &original);
	if (r < 0)
		return r;
	if (original.n == 0)
		return -ENODATA;
	if (original.n == 1 && strcmp(original.targets[0].type, DM_CBT_TARGET_NAME) == 0)
		return -EALREADY;
	/*
	 * A hidden device nobody opens, under a name that is not cbt: the
	 * leftover of a cbt layer that something else replaced (LVM reloads
	 * its own table over an LV tracked in place at lvextend). The target
	 * recorded that detach, so the history starts anew; the leftover goes.
	 */
	r = cbt_dm_get_info(hidden, &info);
	if (r == 0 && info.open_count == 0)
		r = cbt_dm_remove(hidden) < 0 ? -EEXIST : -ENXIO;
	else if (r == 0)
		return -EEXIST;
	if (r != -ENXIO)
		return r;
	sectors = cbt_dm_table_sectors(&original);

	r = cbt_metadata_open(metadata, sectors, block_bytes, &metadata_fd, meta, sizeof(meta),
			      &created);
	if (r < 0)
		return r;
	r = cbt_dm_create(hidden, &original);
	if (r < 0)
		goto fail_metadata;
	r = cbt_dm_get_info(hidden, &info);
	if (r == 0)
		r = cbt_format_devno(info.major, info.minor, origin, sizeof(origin));
	if (r == 0)
		r = cbt_table_build(origin, meta, sectors, block_bytes, flags, &tracked);
	if (r == 0)
		r = swap_table(name, &tracked, &original);
	if (r < 0)
		goto fail_hidden;
	return 0;

fail_hidden:
	(void)cbt_dm_remove(hidden);
fail_metadata:
	if (created)
		unlink(metadata);
	return r;
}

int cbt_device_eject(const char *name)
{
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table original = { 0 };
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table tracked = { 0 };
	char hidden[DM_NAME_LEN];
	int r;

	r = cbt_device_is_inserted(name);
	if (r < 0)
		return r;
	if (r == 0)
		return -EINVAL;
	r = cbt_device_has_views(name);
	if (r < 0)
		return r;
	if (r > 0)
		return -EBUSY; /* remove the views first */
	r = hidden_name(name, hidden, sizeof(hidden));
	if (r < 0)
		return r;
	r = cbt_dm_get_table(name, &tracked);
	if (r < 0)
		return r;
	r = cbt_dm_get_table(hidden, &original);
	if (r < 0)
		return r;
	r = swap_table(name, &original, &tracked);
	if (r < 0)
		return r;
	return cbt_dm_remove(hidden);
}
