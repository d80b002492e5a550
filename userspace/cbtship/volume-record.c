/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The catalog record of a tracked volume (see the header). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cbtship/backup/context.h"
#include "cbtship/volume-record.h"

int cbtship_absolute_path(const char *path, char *buf, size_t len)
{
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/')
		n = snprintf(buf, len, "%s", path);
	else if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	else
		n = snprintf(buf, len, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd,
			     strncmp(path, "./", 2) == 0 ? path + 2 : path);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Replace an owned string field by a copy of value (NULL: none). */
static int replace(char **field, const char *value)
{
	char *copy = NULL;

	if (value && !(copy = strdup(value)))
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

int cbtship_volume_record_tracked(struct catalog *c, const struct cbtship_tracked_volume *t)
{
	_cleanup_(catalog_volume_freep) struct catalog_volume *v = NULL;
	int r;

	r = catalog_volume_get(c, t->name, &v);
	if (r == -ENOENT) {
		struct catalog_volume nv = {
			.name = (char *)t->name,
			.project = (char *)cbtship_project(),
			.origin_path = (char *)t->origin_path,
			.origin_size = t->origin_size,
			.origin_uuid = (char *)t->origin_uuid,
			.block_size = (uint32_t)t->block_bytes,
			.tracked = true,
			.status = CATALOG_VOLUME_OK,
			.metadata_path = (char *)t->metadata_path,
			.origin_identity = (char *)t->origin_identity,
		};

		return catalog_volume_add(c, &nv);
	}
	if (r < 0)
		return r;
	if (replace(&v->project, cbtship_project()) < 0 ||
	    replace(&v->origin_path, t->origin_path) < 0 ||
	    replace(&v->origin_uuid, t->origin_uuid) < 0 ||
	    replace(&v->metadata_path, t->metadata_path) < 0 ||
	    replace(&v->origin_identity, t->origin_identity) < 0 ||
	    replace(&v->status_reason, NULL) < 0)
		return -ENOMEM;
	v->origin_size = t->origin_size;
	v->block_size = (uint32_t)t->block_bytes;
	v->tracked = true;
	v->status = CATALOG_VOLUME_OK;
	return catalog_volume_update(c, v);
}

int cbtship_volume_record_untracked(struct catalog *c, const char *name)
{
	_cleanup_(catalog_volume_freep) struct catalog_volume *v = NULL;
	int r;

	r = catalog_volume_get(c, name, &v);
	if (r < 0)
		return r;
	if (!v->tracked)
		return 0;
	v->tracked = false;
	return catalog_volume_update(c, v);
}

int cbtship_volume_set_status(struct catalog *c, struct catalog_volume *v,
			      enum catalog_volume_status status, const char *reason)
{
	if (v->status == status &&
	    (v->status_reason && reason ? strcmp(v->status_reason, reason) == 0
					: v->status_reason == reason))
		return 0;
	if (replace(&v->status_reason, reason) < 0)
		return -ENOMEM;
	v->status = status;
	return catalog_volume_set_status(c, v->id, status, reason);
}

const char *cbtship_track_strerror(int r)
{
	switch (r) {
	case -EEXIST:
		return "a device-mapper device of that name already exists";
	case -EALREADY:
		return "it is already tracked";
	case -ENOSPC:
		return "the metadata device is too small";
	case -EBUSY:
		return "busy (the metadata is in use by another cbt device or already on a loop "
		       "device, or the device is suspended: see dmesg)";
	case -ENOTBLK:
		return "not a block device";
	case -EINVAL:
		return "refused (bad argument, or the kernel refused the table: see dmesg)";
	case -ENODATA:
		return "the device has no live table";
	case -ENODEV:
		return "no device-mapper in the kernel (or dm-cbt is not loaded)";
	default:
		return strerror(-r);
	}
}
