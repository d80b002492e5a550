/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pack store: a store decorator (as store/known-keys.h) that writes
 * chunks and index pages into packs (repo/pack.h) and finds them through
 * the location cache (repo/location-cache.h), so that the backup
 * pipeline, the index code and the manifest writer keep calling put,
 * get and exists on chunks/<h2>/<id> and indexes/<h2>/<id> keys:
 *
 *   put (chunks/, indexes/)  appends the object to the open pack, a
 *                            spool file (O_TMPFILE in spool_dir, else in
 *                            $TMPDIR or /var/tmp): no RAM, and an upload
 *                            can be retried. A pack reaching pack_size
 *                            (or CBT_PACK_ENTRIES_MAX entries) is closed
 *                            (table, trailer) and queued for one of the
 *                            `uploaders` threads: put_file of the inner
 *                            store (Swift: PUT with Content-Length and the
 *                            MD5 as ETag, computed while spooling; POSIX:
 *                            the spool file linked or copied in, durable
 *                            with the store's batched syncs). At most
 *                            `queued` closed packs wait: put() then waits.
 *                            An uploaded pack goes into the cache.
 *   exists, get (same keys)  the open and queued packs first, then the
 *                            cache (a ranged get of the entry from its
 *                            pack), then the loose format-1 object in the
 *                            inner store. The cache is synced from the
 *                            store's listing at the first such call, and
 *                            again (at most every 10 s) when a key is found
 *                            nowhere, or a pack the cache names is gone.
 *   flush                    closes the open pack, waits for every upload,
 *                            then flushes the inner store: after it
 *                            returns 0 every put so far is durable and
 *                            listed in the cache.
 *   put of other keys, list, delete, get_range, put_file: passed on.
 *   free                     does not upload what was not flushed (a
 *                            backup that fails before its manifest leaves
 *                            nothing to collect from its open packs).
 *
 * A put that fails to upload makes every later put and flush fail with
 * its error (the backup fails; nothing references its objects).
 *
 * delete of a chunk or page key removes only a loose object: an entry in
 * a pack is reclaimed by rewriting the pack (the collect helper's job).
 */
#ifndef CBTSHIP_REPO_PACK_STORE_H
#define CBTSHIP_REPO_PACK_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "cbtship/repo/location-cache.h"
#include "cbtship/store/store.h"

/* Swift: cinder's backup_swift_object_size default. */
#define CBT_PACK_SIZE_SWIFT_DEFAULT UINT64_C(52428800)
/* POSIX and NFS (backup_posix_pack_size): see docs/repository-format.md for the measurement. */
#define CBT_PACK_SIZE_POSIX_DEFAULT (UINT64_C(64) << 20)
#define CBT_PACK_SIZE_MIN	    (UINT64_C(1) << 20)
#define CBT_PACK_SIZE_MAX	    (UINT64_C(4) << 30)

struct cbt_pack_store_config {
	uint64_t pack_size;	/* target bytes per pack; 0: CBT_PACK_SIZE_POSIX_DEFAULT */
	unsigned uploaders;	/* upload threads; 0: 2 */
	unsigned queued;	/* closed packs waiting at most; 0: uploaders */
	const char *spool_dir;	/* NULL: $TMPDIR, else /var/tmp */
	const char *cache_path; /* the location cache file (required) */
};

/*
 * Wrap inner (owned from then on, also on failure). Opens the cache;
 * nothing is listed yet. 0, or a negative errno with a message in
 * *ret_error (to free(), when not NULL).
 */
int cbt_pack_store_new(struct cbt_store *inner, const struct cbt_pack_store_config *cfg,
		       struct cbt_store **ret, char **ret_error);

/* Whether s is a pack store. */
bool cbt_is_pack_store(const struct cbt_store *s);

/*
 * Sync the cache with the store's listing now (see location-cache.h).
 * 0 or a negative errno with a message in *ret_error; -EINVAL when s is
 * not a pack store.
 */
int cbt_pack_store_sync(struct cbt_store *s, struct cbt_location_sync_stats *ret_stats,
			char **ret_error);

/* The location cache (owned by the store), NULL when s is not a pack store. */
struct cbt_location_cache *cbt_pack_store_cache(struct cbt_store *s);

/* The inner store (owned by s); s itself when it is not a pack store. */
struct cbt_store *cbt_pack_store_inner(struct cbt_store *s);

/* What was written (counts since the store was made). */
struct cbt_pack_store_stats {
	uint64_t packs_uploaded;
	uint64_t bytes_uploaded;
	uint64_t entries_packed;
};
void cbt_pack_store_stats(struct cbt_store *s, struct cbt_pack_store_stats *ret);

#endif
