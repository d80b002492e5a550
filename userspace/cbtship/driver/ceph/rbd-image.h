/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Ceph RBD backup target (librbd), laid out as cinder's Ceph backup
 * driver lays it out, so an operator finds what they know:
 *
 *   pool (backup_ceph_pool, default "backups")
 *     volume-<volume_id>.backup.base          one image per volume, the size
 *                                            of the volume at its last backup
 *       @backup.<backup_id>.snap.<timestamp>  one snapshot per backup
 *
 * A backup writes the volume's data (a full backup: everything; an
 * incremental: the dirty extents) into the image, flushes, and takes a
 * snapshot: the snapshot is the backup. A restore reads a snapshot: the
 * extents rbd_diff_iterate2() reports as allocated, everything else reads
 * as zeros. A delete removes the snapshot, and the image with its last
 * snapshot. Details and limits: docs/ceph-driver.md.
 *
 * Every call returns 0 (or a count) or a negative errno. Calls taking
 * char **ret_error set it to NULL on success and, on failure, to a
 * malloc()ed message naming the pool, image and snapshot and what
 * librados/librbd said (the caller frees it; it may stay NULL when memory
 * ran out). The handles are not thread-safe unless said otherwise.
 */
#ifndef CBTSHIP_DRIVER_CEPH_RBD_IMAGE_H
#define CBTSHIP_DRIVER_CEPH_RBD_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cbt-cleanup.h"

#define CBT_RBD_DEFAULT_POOL	  "backups"
#define CBT_RBD_DEFAULT_TIMEOUT	  30 /* seconds */
#define CBT_RBD_SNAP_NAME_MAX	  256
#define CBT_RBD_IMAGE_NAME_MAX	  256
#define CBT_RBD_WRITE_QUEUE	  32	      /* writes in flight per image */
#define CBT_RBD_WRITE_QUEUE_BYTES (16u << 20) /* bytes in flight per image (memory) */

struct cbt_rbd_config {
	/*
	 * backup_ceph_conf: the ceph.conf to read. NULL: librados's search,
	 * $CEPH_CONF first, then /etc/ceph/ceph.conf, ~/.ceph/config,
	 * ./ceph.conf. CEPH_ARGS is honoured too.
	 */
	const char *conf;
	/*
	 * backup_ceph_user, without "client.". NULL: "admin", the id the
	 * ceph and rbd tools use, whose keyring a Ceph node has in
	 * /etc/ceph. cinder's own default is "cinder"; the caller passes it
	 * when a client.cinder key is installed (the keyring is found by the
	 * conf's `keyring` option, by default /etc/ceph/ceph.client.cinder.keyring).
	 */
	const char *user;
	/* backup_ceph_pool. NULL: "backups". */
	const char *pool;
	/*
	 * Seconds before connecting (client_mount_timeout), a mon command
	 * (rados_mon_op_timeout) or an OSD operation (rados_osd_op_timeout)
	 * gives up with -ETIMEDOUT: a dead cluster fails instead of hanging.
	 * 0: CBT_RBD_DEFAULT_TIMEOUT. A backup or restore makes many
	 * operations; each has its own bound (a backup whose OSDs die
	 * fails after about three: the writes in flight, the flush, the
	 * close).
	 */
	unsigned timeout_seconds;
};

/* A connection to the cluster and the pool. */
struct cbt_rbd;
/* The backup image of one volume, open for writing. */
struct cbt_rbd_image;
/* One snapshot of a backup image, open read-only. */
struct cbt_rbd_snap;

/* Connect (bounded by timeout_seconds) and open the pool (-ENOENT: no such pool). */
int cbt_rbd_open(const struct cbt_rbd_config *cfg, struct cbt_rbd **ret, char **ret_error);
/* Always returns NULL. The images and snapshots opened must be freed first. */
struct cbt_rbd *cbt_rbd_free(struct cbt_rbd *rbd);
CBT_DEFINE_CLEANUP(struct cbt_rbd *, cbt_rbd_free, cbt_rbd_freep)

const char *cbt_rbd_pool(const struct cbt_rbd *rbd);

/*
 * For service-list: connect, open the pool and read one object (the pool's
 * rbd_directory) so that the OSDs answer too; then disconnect. 0 when up.
 */
int cbt_rbd_ping(const struct cbt_rbd_config *cfg, char **ret_error);

/* "volume-<volume_id>.backup.base" into buf; -EINVAL for a bad id, -ENAMETOOLONG. */
int cbt_rbd_image_name(const char *volume_id, char *buf, size_t len);

/*
 * Open the backup image of volume_id for writing. With create, a missing
 * image is created (format 2, layering only: no exclusive lock, so two
 * writers never fight over a lock; the caller keeps one backup per volume
 * at a time). A size other than 0 resizes the image to it (grown when
 * the volume grew, shrunk when it shrank; the snapshots keep their own
 * size and data). -ENOENT when missing and !create. *ret_created says
 * whether it was just created (may be NULL): a new image reads as zeros,
 * so a full backup need not write its zero extents.
 */
int cbt_rbd_image_open(struct cbt_rbd *rbd, const char *volume_id, uint64_t size, bool create,
		       struct cbt_rbd_image **ret, bool *ret_created, char **ret_error);
/*
 * Waits for the writes in flight (their errors are lost: call
 * cbt_rbd_image_flush() first). Always returns NULL.
 */
struct cbt_rbd_image *cbt_rbd_image_free(struct cbt_rbd_image *img);
CBT_DEFINE_CLEANUP(struct cbt_rbd_image *, cbt_rbd_image_free, cbt_rbd_image_freep)

uint64_t cbt_rbd_image_size(const struct cbt_rbd_image *img);

/*
 * Write len bytes at offset, asynchronously: buf is copied, and the call
 * returns when the write is queued (it waits while CBT_RBD_WRITE_QUEUE
 * writes or CBT_RBD_WRITE_QUEUE_BYTES bytes are in flight). The first
 * failure of a queued write is returned by the next write, discard or
 * flush, and every call after it fails too. Thread-safe: several threads
 * may write (distinct ranges) to one image.
 */
int cbt_rbd_image_write(struct cbt_rbd_image *img, uint64_t offset, const void *buf, size_t len,
			char **ret_error);
/*
 * Make len bytes at offset read as zeros (a zero extent of the volume), with
 * librbd's write-zeroes: whole RADOS objects are deallocated, partial ones
 * zeroed. (A discard would not do: librbd skips the parts of a discard
 * smaller than an object by default, rbd_skip_partial_discard, and they
 * would keep their old data.) Queued like a write; thread-safe.
 */
int cbt_rbd_image_discard(struct cbt_rbd_image *img, uint64_t offset, uint64_t len,
			  char **ret_error);
/* Wait for every queued write and make it durable; the first error of any. */
int cbt_rbd_image_flush(struct cbt_rbd_image *img, char **ret_error);

/*
 * Flush, then take the snapshot of a backup: "backup.<backup_id>.snap.<t>"
 * with t the time in seconds, as cinder names it (time.time()). Its name
 * goes to *ret_name (malloc()ed; may be NULL). -EEXIST when backup_id
 * already has a snapshot on this image.
 */
int cbt_rbd_snap_create(struct cbt_rbd_image *img, const char *backup_id, char **ret_name,
			char **ret_error);

struct cbt_rbd_snap_info {
	char *name;
	uint64_t id;	   /* increasing: the order of creation */
	uint64_t size;	   /* the image size at that snapshot */
	int64_t timestamp; /* seconds since the epoch, from the cluster */
	char *backup_id;   /* parsed from a cbtship/cinder name, else NULL */
};

/*
 * The backup id in a snapshot name "backup.<backup_id>.snap.<timestamp>"
 * (malloc()ed), or NULL when the name is not one (or out of memory).
 */
char *cbt_rbd_snap_name_backup_id(const char *snap_name);

/*
 * The snapshots of the backup image of volume_id, oldest first, into a
 * malloc()ed array (free with cbt_rbd_snap_list_free). Returns the count;
 * -ENOENT when the volume has no backup image.
 */
int cbt_rbd_snap_list(struct cbt_rbd *rbd, const char *volume_id,
		      struct cbt_rbd_snap_info **ret_snaps, char **ret_error);
void cbt_rbd_snap_list_free(struct cbt_rbd_snap_info *snaps, int n);

/*
 * The snapshot of backup_id on the image of volume_id (its name, malloc()ed),
 * as cinder finds it: by the prefix "backup.<backup_id>.snap.". -ENOENT
 * when there is none.
 */
int cbt_rbd_snap_find(struct cbt_rbd *rbd, const char *volume_id, const char *backup_id,
		      char **ret_name, char **ret_error);

/* Remove one snapshot (-ENOENT when missing). The image stays. */
int cbt_rbd_snap_remove(struct cbt_rbd *rbd, const char *volume_id, const char *snap_name,
			char **ret_error);

/*
 * Remove the backup image of volume_id when it has no snapshot left: 1 when
 * removed, 0 when kept (it still has snapshots), -ENOENT when there is no
 * image, -EBUSY when someone has it open.
 */
int cbt_rbd_image_remove_if_unused(struct cbt_rbd *rbd, const char *volume_id, char **ret_error);

/* Open a snapshot for reading (restore). -ENOENT when the image or snapshot is missing. */
int cbt_rbd_snap_open(struct cbt_rbd *rbd, const char *volume_id, const char *snap_name,
		      struct cbt_rbd_snap **ret, char **ret_error);
struct cbt_rbd_snap *cbt_rbd_snap_free(struct cbt_rbd_snap *snap);
CBT_DEFINE_CLEANUP(struct cbt_rbd_snap *, cbt_rbd_snap_free, cbt_rbd_snap_freep)

/* The volume size at that backup: the size to restore. */
uint64_t cbt_rbd_snap_size(const struct cbt_rbd_snap *snap);

/*
 * Called for each extent of the snapshot holding data, in increasing
 * offset order (exists is true; a false extent, if librbd ever reports
 * one, reads as zeros). Return 0 to go on; anything else stops the walk
 * and is returned.
 */
typedef int (*cbt_rbd_extent_fn)(uint64_t offset, uint64_t len, bool exists, void *userdata);

/*
 * Walk the allocated extents of the snapshot (rbd_diff_iterate2 from the
 * image's creation, not whole objects): what is not reported reads as
 * zeros and a restore may leave it as a hole.
 */
int cbt_rbd_snap_extents(struct cbt_rbd_snap *snap, cbt_rbd_extent_fn fn, void *userdata,
			 char **ret_error);
/*
 * Read len bytes at offset of the snapshot (short only at its end).
 * Returns the count. Thread-safe: several threads may read one snapshot.
 */
ssize_t cbt_rbd_snap_read(struct cbt_rbd_snap *snap, uint64_t offset, void *buf, size_t len,
			  char **ret_error);

/*
 * Walk the extents that differ between snapshot from_snap (NULL: the
 * image's creation) and to_snap of volume_id: what an incremental backup
 * wrote. Extents zeroed by to_snap come with exists false.
 */
int cbt_rbd_snap_diff(struct cbt_rbd *rbd, const char *volume_id, const char *from_snap,
		      const char *to_snap, cbt_rbd_extent_fn fn, void *userdata, char **ret_error);

#endif
