/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Ceph back end of the backup commands, as cinder's Ceph backup driver
 * does it (driver/ceph/rbd-image.c holds the librbd side; docs/ceph-driver.md the
 * layout): one backup image per volume in backup_ceph_pool (the backup's
 * container), written in place, and one RBD snapshot per backup. A full
 * backup writes every extent that holds data (and zeroes the rest when
 * the image held an earlier backup); an incremental writes only the units
 * of its dirty map, the tracking blocks of a tracked volume (no chunk
 * amplification). The snapshot, taken last, is the commit point. A
 * restore reads the snapshot's allocated extents only (rbd_diff_iterate2);
 * deleting a backup removes its snapshot, and the image goes with the
 * last one.
 *
 * There is no chunk store, so no content hash: verify reads every extent
 * back (the cluster checks its own data), it cannot detect silent
 * corruption the way the chunk repository can.
 *
 * The image between snapshots holds the writes of a backup that failed:
 * the next incremental of a tracked volume rewrites them (the failed
 * run's checkpoint was aborted, so its blocks are in the next map);
 * backup-create makes the next backup of an untracked source read
 * everything in that case.
 */
#ifndef CBTSHIP_DRIVER_CEPH_CEPH_BACKUP_H
#define CBTSHIP_DRIVER_CEPH_CEPH_BACKUP_H

#include <stdbool.h>
#include <stdint.h>

#include "cbtship/pipeline/backup-pipeline.h"
#include "cbtship/pipeline/restore-pipeline.h"
#include "cbtship/driver/ceph/rbd-image.h"

/* Connect to the configured cluster (backup_ceph_conf, _user) and pool (NULL: backup_ceph_pool). */
int cbt_ceph_connect(const char *pool, struct cbt_rbd **ret, char **ret_error);

struct cbt_ceph_backup {
	struct cbt_rbd *rbd;
	const char *volume_id;
	const char *backup_id;
	int fd;		     /* the source */
	const char *source;  /* its name, for messages */
	uint64_t size;	     /* bytes to back up */
	uint32_t unit;	     /* bytes per bit of bits */
	const uint8_t *bits; /* units to write; NULL: everything (a full backup) */
	cbt_backup_tick_fn tick;
	void *userdata;
};

/*
 * Write what b says to the volume's image, then take the backup's
 * snapshot (its name into *ret_snap, malloc()ed). Progress: bytes_read,
 * chunks_* in units, bytes_stored the bytes written (zeroing not
 * counted). 0, or a negative errno with a message in err.
 */
int cbt_ceph_backup_run(const struct cbt_ceph_backup *b, struct cbt_backup_progress *progress,
			char **ret_snap, char *err, size_t errlen);

/*
 * Restore backup_id of volume_id into fd (size bytes). sparse: fd is a
 * new file of that size, holes may stay; else every byte is written.
 * Progress: bytes_written, bytes_fetched, objects_read (extents). 0, or
 * a negative errno with *err set (integrity: the snapshot is missing or
 * short; store: the cluster failed; destination: a write failed).
 */
int cbt_ceph_restore_run(struct cbt_rbd *rbd, const char *volume_id, const char *backup_id, int fd,
			 bool sparse, uint64_t size, cbt_restore_tick_fn tick, void *userdata,
			 struct cbt_restore_progress *progress, struct cbt_error *err);

/* Remove the snapshot of backup_id, and the image when it was the last. 0 or -errno. */
int cbt_ceph_delete(struct cbt_rbd *rbd, const char *volume_id, const char *backup_id, char *err,
		    size_t errlen);

#endif
