/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The catalog record of a tracked volume: what `cbtship track` writes
 * (origin, metadata, block size, origin identity) so that the agent can
 * re-create the device at boot, and what `untrack` and the agent change.
 */
#ifndef CBTSHIP_VOLUME_RECORD_H
#define CBTSHIP_VOLUME_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "cbtship/catalog/catalog.h"

/*
 * path made absolute against the working directory, without resolving
 * symbolic links (a /dev/disk/by-id name stays one). 0 or -ENAMETOOLONG,
 * or the errno of getcwd().
 */
int cbtship_absolute_path(const char *path, char *buf, size_t len);

struct cbtship_tracked_volume {
	const char *name;	     /* the dm name, /dev/mapper/NAME */
	const char *origin_path;     /* absolute */
	const char *metadata_path;   /* absolute */
	uint64_t block_bytes;	     /* tracking block */
	uint64_t origin_size;	     /* bytes */
	const char *origin_uuid;     /* blkid UUID of its content, NULL: none */
	const char *origin_identity; /* cbt_origin_identity() */
};

/*
 * Add the record of a volume just put under tracking, or update the one of
 * that name: tracked, status ok, project cbtship_project(). 0 or a
 * negative errno (catalog_error() says why).
 */
int cbtship_volume_record_tracked(struct catalog *c, const struct cbtship_tracked_volume *t);

/* tracked := 0; the record stays (backups refer to it). 0, or -ENOENT when
 * the catalog has no volume of that name. */
int cbtship_volume_record_untracked(struct catalog *c, const char *name);

/* Set the status (and its reason, NULL: none) of v in the catalog and in *v. */
int cbtship_volume_set_status(struct catalog *c, struct catalog_volume *v,
			      enum catalog_volume_status status, const char *reason);

/* What a negative errno of cbt_device_create() or cbt_device_insert() means. */
const char *cbtship_track_strerror(int r);

#endif
