/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fixed set of worker threads fed through a bounded queue: the data
 * path's parallel stage (backup: read, hash, compress, store; restore:
 * fetch, verify, write). The producer (the caller's thread) submits items;
 * submit blocks while the queue is full, so memory stays bounded by
 * (workers + queue depth) items whatever the volume size.
 *
 * Each worker gets its own state (worker_state[i]: a hasher, a compressor,
 * buffers: whatever is not thread-safe). The first error a worker returns
 * stops the pool: later submits fail with it, queued items are dropped,
 * and cbt_worker_pool_finish() returns it. Errors are negative errnos.
 */
#ifndef CBTSHIP_PIPELINE_WORKER_POOL_H
#define CBTSHIP_PIPELINE_WORKER_POOL_H

#include <stddef.h>

#include "cbt-cleanup.h"

/* Process one item (size bytes copied at submit). 0 or a negative errno. */
typedef int (*cbt_worker_fn)(void *worker_state, const void *item, void *shared);

struct cbt_worker_pool;

/*
 * Start `workers` threads (1..64), each calling fn(worker_state[i], item,
 * shared) for the items it takes. Items are item_size bytes; the queue
 * holds queue_depth of them (0: 2 * workers). 0, -EINVAL, -ENOMEM or the
 * error of pthread_create.
 */
int cbt_worker_pool_new(unsigned workers, size_t item_size, size_t queue_depth, cbt_worker_fn fn,
			void **worker_state, void *shared, struct cbt_worker_pool **ret);

/*
 * Queue a copy of item; waits while the queue is full. 0, or the pool's
 * first error (nothing queued then).
 */
int cbt_worker_pool_submit(struct cbt_worker_pool *p, const void *item);

/* Stop now: drop queued items, make later submits fail with error. */
void cbt_worker_pool_cancel(struct cbt_worker_pool *p, int error);

/* The first error so far (0: none). */
int cbt_worker_pool_error(struct cbt_worker_pool *p);

/*
 * Wait for every queued item to be processed and the threads to end.
 * Returns the first error (0: every item succeeded). Call once.
 */
int cbt_worker_pool_finish(struct cbt_worker_pool *p);

/* Finish (if not done) and release. Always returns NULL. */
struct cbt_worker_pool *cbt_worker_pool_free(struct cbt_worker_pool *p);
CBT_DEFINE_CLEANUP(struct cbt_worker_pool *, cbt_worker_pool_free, cbt_worker_pool_freep)

#endif
