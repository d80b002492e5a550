/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libcbt internals shared between its files; not installed. */
#ifndef LIBCBT_INTERNAL_H
#define LIBCBT_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <libdevmapper.h>

#include "cbt-cleanup.h"
#include "libcbt.h"

/* linux/dm-ioctl.h has it; libdevmapper.h does not export it. */
#ifndef DM_NAME_LEN
#define DM_NAME_LEN 128
#endif

CBT_DEFINE_CLEANUP(struct dm_task *, dm_task_destroy, dm_task_destroyp)

/* Strict decimal: digits only, fits in 64 bits. 0 or -EINVAL. */
int cbt_parse_u64(const char *text, uint64_t *ret);

/* "major:minor" into buf. */
int cbt_format_devno(uint32_t major, uint32_t minor, char *buf, size_t len);

/* device-mapper ------------------------------------------------------------ */

/* One target of a table. */
struct cbt_dm_target {
	uint64_t start;
	uint64_t length;
	char *type;
	char *params;
};

struct cbt_dm_table {
	size_t n;
	struct cbt_dm_target *targets;
};

void cbt_dm_table_done(struct cbt_dm_table *table);
uint64_t cbt_dm_table_sectors(const struct cbt_dm_table *table);

/*
 * A task of `type` for the device `name` (may be NULL), libdevmapper set up
 * first for a system without udev when none runs. NULL: out of memory.
 */
struct dm_task *cbt_dm_task_new(int type, const char *name);

/* Why cbt_dm_task_new() failed: -ENODEV (no device-mapper) or -ENOMEM. */
int cbt_dm_task_new_error(void);

/* Run the task: 0 or the negative errno of the ioctl (-EIO if unknown). */
int cbt_dm_task_run(struct dm_task *dmt);

/* Info of `name`: -ENXIO when it does not exist. */
int cbt_dm_get_info(const char *name, struct dm_info *ret);

/* The live table of `name`; its status lines as "params". */
int cbt_dm_get_table(const char *name, struct cbt_dm_table *ret);
int cbt_dm_get_status_targets(const char *name, struct cbt_dm_table *ret);

/* Add every target of table to a CREATE or RELOAD task. */
int cbt_dm_task_add_table(struct dm_task *dmt, const struct cbt_dm_table *table);

/* Create `name` with table (loaded and resumed), its node in /dev/mapper. */
int cbt_dm_create(const char *name, const struct cbt_dm_table *table);
/* The same with a dm UUID (NULL: none). */
int cbt_dm_create_uuid(const char *name, const char *uuid, const struct cbt_dm_table *table);

/* The dm UUID of `name` ("" if it has none); -ENXIO when it does not exist. */
int cbt_dm_get_uuid(const char *name, char *buf, size_t len);

/* The "major:minor" of the dm device `name`. */
int cbt_dm_get_devno(const char *name, char *buf, size_t len);

/* A table of one target of `type` over [0, sectors). */
int cbt_dm_table_one(const char *type, uint64_t sectors, const char *params,
		     struct cbt_dm_table *ret);

/* Suspend (flushing) or resume `name`. */
/*
 * While a device is suspended, every I/O to it waits: a process killed
 * then (SIGTERM, Ctrl-C, a stop by SIGTSTP) would leave it hanging. So the
 * asynchronous signals are held (blocked in the calling thread) from just
 * before the first suspend until every device is resumed; what arrived
 * meanwhile is delivered after. Only SIGKILL and SIGSTOP cannot be held.
 * Declare with _cleanup_(cbt_signals_release): every return releases.
 */
struct cbt_signals {
	sigset_t old;
	bool held;
};
void cbt_signals_hold(struct cbt_signals *s);
void cbt_signals_release(struct cbt_signals *s);

int cbt_dm_suspend(const char *name);
int cbt_dm_resume(const char *name);

/* Load table as the inactive table of `name`. */
int cbt_dm_reload(const char *name, const struct cbt_dm_table *table);

/* Remove `name` and its node; the second retries while it is briefly open. */
int cbt_dm_remove(const char *name);
int cbt_dm_remove_retry(const char *name);

/* Drop the inactive table of `name`. */
int cbt_dm_clear(const char *name);

/* The dm name of a device number: -ENXIO if it is no dm device. */
int cbt_dm_name_of(uint32_t major, uint32_t minor, char *buf, size_t len);

/* The cbt table for origin/metadata words, block_bytes and flags. */
int cbt_table_build(const char *origin, const char *metadata, uint64_t sectors,
		    uint64_t block_bytes, unsigned flags, struct cbt_dm_table *ret);

/* How a cbt device reaches its origin. */
enum cbt_layout {
	CBT_LAYOUT_DIRECT,   /* cbt over the origin itself (dmsetup, older libcbt) */
	CBT_LAYOUT_CREATED,  /* cbt_device_create(): over a hidden linear made for it */
	CBT_LAYOUT_INSERTED, /* cbt_device_insert(): over a hidden copy of its own table */
};

/* The layout of the tracked device `name` (or -ENXIO, -EMEDIUMTYPE...). */
int cbt_device_layout(const char *name);

/* "<name>" CBT_HIDDEN_SUFFIX, CBT_BASE_SUFFIX; -ENAMETOOLONG. */
int cbt_hidden_name(const char *name, char *buf, size_t len);
int cbt_base_name(const char *name, char *buf, size_t len);

/*
 * 1 if `name` has point-in-time views or the remains of one (its hidden
 * device is snapshot-origin, or the base device exists), 0 if not.
 */
int cbt_device_has_views(const char *name);

/* Metadata ----------------------------------------------------------------- */

/*
 * Open the metadata for a device of `sectors` sectors tracked at
 * block_bytes: a block device is checked for size; a regular file (made
 * when missing) is extended if needed and attached to a new
 * LO_FLAGS_AUTOCLEAR loop device. On success *ret_fd is an open fd on the
 * block device to keep open until the table holding it is loaded (the loop
 * device would clear itself otherwise), ret_word its "major:minor" and
 * *ret_created whether the file was made (to unlink it when giving up).
 */
int cbt_metadata_open(const char *path, uint64_t sectors, uint64_t block_bytes, int *ret_fd,
		      char *ret_word, size_t len, bool *ret_created);

/* Attach a regular file to a free loop device with LO_FLAGS_AUTOCLEAR. */
int cbt_loop_attach(int file_fd, int *ret_loop_fd);

/*
 * The file behind the loop device with device word `word` ("7:3"): its
 * path (sysfs backing_file, " (deleted)" if unlinked) and, if the pointers
 * are not NULL, its st_dev and st_ino. -ENXIO: not a bound loop device.
 */
int cbt_loop_get_backing(const char *word, char *path, size_t len, uint64_t *ret_dev,
			 uint64_t *ret_ino);

/*
 * The identity text of cbt_origin_identity() for a block device of
 * size_bytes whose sysfs directory is sysfs_dir (NULL: none) and whose
 * partition entry UUID is part_uuid (NULL or "": none). Separate for tests.
 */
int cbt_identity_compose(const char *sysfs_dir, uint64_t size_bytes, const char *part_uuid,
			 char *buf, size_t len);

/* The size in sectors of the block device with device word `word`. */
int cbt_blockdev_sectors(const char *word, uint64_t *ret);

#endif
