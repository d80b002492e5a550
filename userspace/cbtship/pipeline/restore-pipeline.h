/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The restore data path, in parallel, reading each stored chunk once:
 *
 *   index -> (id, positions) grouped by id -> get -> decode + verify the
 *   hash -> write at every position of that id
 *
 * The producer first walks the index (in order, through its bounded page
 * cache) into a temporary on-disk SQLite table of (id, position), then
 * hands the workers one id with its positions at a time (up to
 * CBT_RESTORE_POSITIONS_MAX per item: an id repeated more often than that
 * is fetched once per item, a worker skips the fetch when its previous
 * item had the same id). Memory: workers * 2 * chunk_size, the index
 * cache and SQLite's page cache, whatever the volume size.
 *
 * With fd < 0 nothing is written: that is `backup-verify`, which with
 * keep_going goes on past bad chunks and reports each one.
 */
#ifndef CBTSHIP_PIPELINE_RESTORE_PIPELINE_H
#define CBTSHIP_PIPELINE_RESTORE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbtship/hash/chunk-id.h"
#include "cbtship/encrypt/key.h"
#include "cbtship/error.h"
#include "cbtship/repo/index.h"
#include "cbtship/store/store.h"

#define CBT_RESTORE_POSITIONS_MAX 64

struct cbt_restore_progress {
	uint64_t chunks_total;	 /* chunks of the volume */
	uint64_t chunks_zero;	 /* zero chunks (holes, or zeros written) */
	uint64_t objects_todo;	 /* distinct stored chunks */
	uint64_t objects_read;	 /* fetched and verified */
	uint64_t bytes_fetched;	 /* object bytes fetched */
	uint64_t bytes_written;	 /* bytes written to the destination */
	uint64_t chunks_missing; /* verify: not in the store */
	uint64_t chunks_corrupt; /* verify: fail to decode or verify */
};

typedef int (*cbt_restore_tick_fn)(void *userdata, const struct cbt_restore_progress *progress);

/* verify: called for each bad stored chunk (error: -ENOENT missing, else a codec error). */
typedef void (*cbt_restore_report_fn)(void *userdata, const struct cbt_chunk_id *id,
				      uint64_t first_position, uint64_t positions, int error);

struct cbt_restore_pipeline_config {
	int fd;			 /* destination, -1: verify only */
	const char *destination; /* its name, for messages */
	bool sparse;   /* zero chunks: leave holes (a new file) instead of writing zeros */
	uint64_t size; /* volume bytes */
	uint32_t chunk_size;
	struct cbt_store *store;
	const struct cbt_key *key; /* encrypted backup's key; NULL: plain */
	struct cbt_index *index;
	const char *backup_id; /* for messages */
	unsigned workers;
	bool keep_going; /* verify: report bad chunks and go on */
	cbt_restore_report_fn report;
	cbt_restore_tick_fn tick;
	void *userdata;
	unsigned tick_ms; /* 0: 1000 */
};

/*
 * Run it. 0 when every chunk was restored (or, verifying with keep_going,
 * checked: see the missing and corrupt counts), else a negative errno
 * with *err (when not NULL) set to the first failure: its kind says
 * whether the backup is damaged (CBT_ERROR_INTEGRITY: an object that
 * fails its checks, or one the store does not hold; the pack store
 * answers -ENOENT only after a listing confirmed it, a listing that
 * could not be read gives the store's own error) or a fault of the store
 * (CBT_ERROR_STORE: a timeout, a reset connection, a 5xx, EIO), of the
 * destination or of this host; its message names the chunk and the
 * backup.
 */
int cbt_restore_pipeline_run(const struct cbt_restore_pipeline_config *cfg,
			     struct cbt_restore_progress *ret, struct cbt_error *err);

#endif
