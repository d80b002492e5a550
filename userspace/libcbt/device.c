/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tracked devices: create, remove, find, describe, query. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libcbt/libcbt-internal.h"

static bool is_dm_name(const char *name)
{
	return name && *name && strlen(name) < DM_NAME_LEN && !strchr(name, '/') &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

int cbt_table_build(const char *origin, const char *metadata, uint64_t sectors,
		    uint64_t block_bytes, unsigned flags, struct cbt_dm_table *ret)
{
	char params[256];
	int n;

	n = cbt_table_params(origin, metadata, block_bytes, params, sizeof(params));
	if (n < 0)
		return n;
	if ((flags & CBT_CREATE_FORMAT) &&
	    snprintf(params + n, sizeof(params) - (size_t)n, " 1 %s", DM_CBT_OPT_FORMAT) >=
		    (int)(sizeof(params) - (size_t)n))
		return -ENOBUFS;
	ret->targets = calloc(1, sizeof(*ret->targets));
	if (!ret->targets)
		return -ENOMEM;
	ret->n = 1;
	ret->targets[0].start = 0;
	ret->targets[0].length = sectors;
	ret->targets[0].type = strdup(DM_CBT_TARGET_NAME);
	ret->targets[0].params = strdup(params);
	if (!ret->targets[0].type || !ret->targets[0].params) {
		cbt_dm_table_done(ret);
		return -ENOMEM;
	}
	return 0;
}

int cbt_hidden_name(const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s", name, CBT_HIDDEN_SUFFIX);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int cbt_base_name(const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s", name, CBT_BASE_SUFFIX);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Layout: name (cbt over name-cbt-real) -> name-cbt-real (linear over the
 * whole origin), the hidden device marked as ours by its dm UUID so that
 * it is told apart from the hidden device of cbt_device_insert(), which
 * holds a device's own table and must outlive untracking.
 */
int cbt_device_create(const char *name, const char *origin_path, const char *metadata,
		      uint64_t block_bytes, unsigned flags)
{
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table linear = { 0 };
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table table = { 0 };
	_cleanup_(closep) int metadata_fd = -1;
	char origin[32], meta[32], hidden[DM_NAME_LEN], hidden_word[32], params[64];
	char uuid[DM_NAME_LEN + sizeof(CBT_CREATED_UUID_PREFIX)];
	struct cbt_identity id;
	struct dm_info info;
	bool created = false;
	struct stat st;
	uint64_t sectors;
	int r;

	if (!is_dm_name(name) || !origin_path || !metadata)
		return -EINVAL;
	if (block_bytes == 0)
		block_bytes = DM_CBT_DEFAULT_BLOCK_SECTORS * 512;
	if (cbt_block_size_check(block_bytes) < 0)
		return -EINVAL;
	r = cbt_hidden_name(name, hidden, sizeof(hidden));
	if (r < 0)
		return r;
	snprintf(uuid, sizeof(uuid), "%s%s", CBT_CREATED_UUID_PREFIX, name);
	r = cbt_dm_get_info(name, &info);
	if (r == 0)
		return -EEXIST;
	if (r != -ENXIO)
		return r;
	r = cbt_dm_get_info(hidden, &info);
	if (r == 0)
		return -EEXIST;
	if (r != -ENXIO)
		return r;

	if (stat(origin_path, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	r = cbt_format_devno(major(st.st_rdev), minor(st.st_rdev), origin, sizeof(origin));
	if (r < 0)
		return r;
	r = cbt_identify(origin_path, &id);
	if (r < 0)
		return r;
	sectors = id.size_bytes / 512;
	if (sectors == 0)
		return -EINVAL;
	snprintf(params, sizeof(params), "%s 0", origin);
	r = cbt_dm_table_one("linear", sectors, params, &linear);
	if (r < 0)
		return r;

	r = cbt_metadata_open(metadata, sectors, block_bytes, &metadata_fd, meta, sizeof(meta),
			      &created);
	if (r < 0)
		return r;
	r = cbt_dm_create_uuid(hidden, uuid, &linear);
	if (r < 0)
		goto fail_metadata;
	r = cbt_dm_get_devno(hidden, hidden_word, sizeof(hidden_word));
	if (r == 0)
		r = cbt_table_build(hidden_word, meta, sectors, block_bytes, flags, &table);
	if (r == 0)
		r = cbt_dm_create(name, &table);
	if (r < 0)
		goto fail_hidden;
	return 0;

fail_hidden:
	(void)cbt_dm_remove_retry(hidden);
fail_metadata:
	if (created)
		unlink(metadata);
	return r;
}

/* The parameters of `name`'s cbt table as the kernel has them. */
static int get_table_raw(const char *name, struct cbt_table *ret)
{
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table table = { 0 };
	int r;

	r = cbt_dm_get_table(name, &table);
	if (r < 0)
		return r;
	if (table.n != 1 || strcmp(table.targets[0].type, DM_CBT_TARGET_NAME) != 0)
		return -EMEDIUMTYPE;
	r = cbt_table_parse(table.targets[0].params, ret);
	if (r == 0)
		ret->sectors = table.targets[0].length;
	return r;
}

int cbt_device_layout(const char *name)
{
	char hidden[DM_NAME_LEN], origin_name[DM_NAME_LEN], uuid[256], expected[256];
	struct cbt_table t;
	unsigned maj, min;
	char end;
	int r;

	r = get_table_raw(name, &t);
	if (r < 0)
		return r;
	if (sscanf(t.origin, "%u:%u%c", &maj, &min, &end) != 2)
		return CBT_LAYOUT_DIRECT;
	if (cbt_dm_name_of(maj, min, origin_name, sizeof(origin_name)) < 0)
		return CBT_LAYOUT_DIRECT;
	if (cbt_hidden_name(name, hidden, sizeof(hidden)) < 0 || strcmp(origin_name, hidden) != 0)
		return CBT_LAYOUT_DIRECT;
	r = cbt_dm_get_uuid(hidden, uuid, sizeof(uuid));
	if (r < 0)
		return r;
	snprintf(expected, sizeof(expected), "%s%s", CBT_CREATED_UUID_PREFIX, name);
	return strcmp(uuid, expected) == 0 ? CBT_LAYOUT_CREATED : CBT_LAYOUT_INSERTED;
}

/*
 * The origin of a device made by cbt_device_create(): the device under its
 * hidden linear table, found through the base device while views exist.
 */
static int created_origin(const char *name, char *word, size_t len)
{
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table table = { 0 };
	char hidden[DM_NAME_LEN], base[DM_NAME_LEN], base_word[32], dev[64];
	unsigned long long offset;
	char end;
	int r;

	r = cbt_hidden_name(name, hidden, sizeof(hidden));
	if (r == 0)
		r = cbt_dm_get_table(hidden, &table);
	if (r < 0)
		return r;
	if (table.n == 1 && strcmp(table.targets[0].type, "snapshot-origin") == 0) {
		r = cbt_base_name(name, base, sizeof(base));
		if (r == 0)
			r = cbt_dm_get_devno(base, base_word, sizeof(base_word));
		if (r < 0)
			return r;
		if (strcmp(table.targets[0].params, base_word) != 0)
			return -EMEDIUMTYPE;
		cbt_dm_table_done(&table);
		r = cbt_dm_get_table(base, &table);
		if (r < 0)
			return r;
	}
	if (table.n != 1 || strcmp(table.targets[0].type, "linear") != 0 ||
	    sscanf(table.targets[0].params, "%63s %llu%c", dev, &offset, &end) != 2 || offset != 0)
		return -EMEDIUMTYPE;
	if (strlen(dev) >= len)
		return -ENOBUFS;
	strcpy(word, dev);
	return 0;
}

int cbt_device_get_table(const char *name, struct cbt_table *ret)
{
	char word[sizeof(ret->origin)];
	int r;

	r = get_table_raw(name, ret);
	if (r < 0)
		return r;
	if (cbt_device_layout(name) == CBT_LAYOUT_CREATED &&
	    created_origin(name, word, sizeof(word)) == 0)
		strcpy(ret->origin, word);
	return 0;
}

int cbt_dm_name_of_path(const char *path, char *buf, size_t len)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	return cbt_dm_name_of(major(st.st_rdev), minor(st.st_rdev), buf, len);
}

int cbt_device_is_tracked(const char *name)
{
	struct cbt_table t;
	int r = cbt_device_get_table(name, &t);

	if (r == -ENXIO || r == -EMEDIUMTYPE)
		return 0;
	return r < 0 ? r : 1;
}

int cbt_device_open_count(const char *name)
{
	struct dm_info info;
	int r = cbt_dm_get_info(name, &info);

	return r < 0 ? r : info.open_count;
}

int cbt_device_get_status(const char *name, struct cbt_status *ret)
{
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table status = { 0 };
	int r;

	r = cbt_dm_get_status_targets(name, &status);
	if (r < 0)
		return r;
	if (status.n != 1 || strcmp(status.targets[0].type, DM_CBT_TARGET_NAME) != 0)
		return -EMEDIUMTYPE;
	return cbt_status_parse(status.targets[0].params, ret);
}

int cbt_device_is_inserted(const char *name)
{
	int r = cbt_device_layout(name);

	return r < 0 ? r : r == CBT_LAYOUT_INSERTED;
}

int cbt_device_has_views(const char *name)
{
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table table = { 0 };
	char hidden[DM_NAME_LEN], base[DM_NAME_LEN];
	struct dm_info info;
	int r;

	r = cbt_hidden_name(name, hidden, sizeof(hidden));
	if (r == 0)
		r = cbt_base_name(name, base, sizeof(base));
	if (r < 0)
		return r;
	r = cbt_dm_get_table(hidden, &table);
	if (r == 0 && table.n == 1 && strcmp(table.targets[0].type, "snapshot-origin") == 0)
		return 1;
	if (r < 0 && r != -ENXIO)
		return r;
	r = cbt_dm_get_info(base, &info);
	if (r == -ENXIO)
		return 0;
	return r < 0 ? r : 1;
}

int cbt_device_remove(const char *name)
{
	char hidden[DM_NAME_LEN];
	int layout, r;

	layout = cbt_device_layout(name);
	if (layout < 0)
		return layout;
	if (layout == CBT_LAYOUT_INSERTED)
		return -EPERM; /* its users would lose it: eject instead */
	if (layout == CBT_LAYOUT_CREATED) {
		r = cbt_hidden_name(name, hidden, sizeof(hidden));
		if (r == 0)
			r = cbt_device_has_views(name);
		if (r < 0)
			return r;
		if (r > 0)
			return -EBUSY; /* remove the views first */
	}
	r = cbt_dm_remove_retry(name);
	if (r < 0 || layout != CBT_LAYOUT_CREATED)
		return r;
	return cbt_dm_remove_retry(hidden);
}

int cbt_device_untrack(const char *name)
{
	int r = cbt_device_is_inserted(name);

	if (r < 0)
		return r;
	return r ? cbt_device_eject(name) : cbt_device_remove(name);
}

char **cbt_strv_free(char **strv)
{
	if (strv)
		for (char **s = strv; *s; s++)
			free(*s);
	free(strv);
	return NULL;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cbt_device_list(char ***ret_names)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	char **names = NULL;
	struct dm_names *entry;
	size_t n = 0;
	int r;

	dmt = cbt_dm_task_new(DM_DEVICE_LIST, NULL);
	if (!dmt)
		return cbt_dm_task_new_error();
	r = cbt_dm_task_run(dmt);
	if (r < 0)
		return r;
	entry = dm_task_get_names(dmt);
	names = calloc(1, sizeof(char *));
	if (!names)
		return -ENOMEM;
	if (entry && entry->dev) {
		for (;;) {
			r = cbt_device_is_tracked(entry->name);
			if (r > 0) {
				char **grown = realloc(names, (n + 2) * sizeof(char *));

				if (!grown) {
					cbt_strv_free(names);
					return -ENOMEM;
				}
				names = grown;
				names[n] = strdup(entry->name);
				names[n + 1] = NULL;
				if (!names[n]) {
					cbt_strv_free(names);
					return -ENOMEM;
				}
				n++;
			}
			if (!entry->next)
				break;
			entry = (struct dm_names *)((char *)entry + entry->next);
		}
	}
	qsort(names, n, sizeof(char *), compare_strings);
	*ret_names = names;
	return 0;
}

int cbt_device_describe(const char *word, char *buf, size_t len)
{
	char name[DM_NAME_LEN], path[64], target[PATH_MAX];
	unsigned maj, min;
	const char *base;
	ssize_t n;
	char end;
	int r;

	if (sscanf(word, "%u:%u%c", &maj, &min, &end) == 2) {
		if (cbt_dm_name_of(maj, min, name, sizeof(name)) == 0) {
			r = snprintf(buf, len, "/dev/mapper/%s", name);
			return r < 0 || (size_t)r >= len ? -ENOBUFS : 0;
		}
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", maj, min);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			base = strrchr(target, '/');
			base = base ? base + 1 : target;
			r = snprintf(buf, len, "/dev/%s", base);
			return r < 0 || (size_t)r >= len ? -ENOBUFS : 0;
		}
	}
	r = snprintf(buf, len, "%s", word);
	return r < 0 || (size_t)r >= len ? -ENOBUFS : 0;
}
