/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Leases kept in the store itself: leases/<kind>-<uuid>.json in the
 * container (Swift container, POSIX or NFS directory), so that they hold
 * between every host that shares it (a host's flock does not).
 *
 * A backup writes its lease before it reads anything of the container
 * (the parent's manifest, the listing of the chunks it may reuse), a
 * thread refreshes it every refresh interval while it runs, and it is
 * removed at the end (commit or abort). A lease whose refreshed_at is
 * older than the stale time (several refresh intervals, well above the
 * clock skew between hosts) is stale: its holder is taken for dead. A
 * lease of this machine (same kernel boot_id) whose process is gone is
 * stale at once.
 *
 * A collection writes a "gc" lease, waits the settle time (at least the
 * time a listing may lag behind a write: then a backup that writes its
 * lease after the collection last looked sees the gc lease), and deletes
 * nothing while a live backup lease exists; a backup that finds a live gc
 * lease waits for it to go (or go stale). docs/repository-format.md gives
 * the argument in full.
 *
 * The lease object:
 *     {"version": 1, "kind": "backup" | "gc", "host": H, "pid": P,
 *      "boot_id": B, "backup_id": ID or null, "created_at": T,
 *      "refreshed_at": T, "refresh_interval": S, "stale_time": S}
 * (times in seconds since the epoch, the writer's clock). A reader takes
 * the larger of its own stale time and the lease's.
 */
#ifndef CBTSHIP_REPO_LEASE_H
#define CBTSHIP_REPO_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "cbt-cleanup.h"
#include "cbtship/store/store.h"

#define CBT_LEASE_KEY_PREFIX "leases/"

enum cbt_lease_kind {
	CBT_LEASE_BACKUP,
	CBT_LEASE_GC,
};

struct cbt_lease_times {
	unsigned refresh; /* seconds between refreshes */
	unsigned stale;	  /* not refreshed for this long: stale */
	unsigned settle;  /* a collection's wait after writing its lease */
};

/* The configured times (backup_lease_refresh_interval, ...). */
void cbt_lease_times_configured(struct cbt_lease_times *ret);

struct cbt_lease;

/*
 * Write a lease of kind (backup_id: the backup, or NULL) into store and
 * start its refresh thread. store is the lease's own (the lease owns it
 * and frees it with the lease): puts must not be batched with the
 * backup's objects (cbt_repository_lease_store()). 0, or a negative errno
 * with a message in *ret_error (to free()).
 */
int cbt_lease_take(struct cbt_store *store, enum cbt_lease_kind kind, const char *backup_id,
		   const struct cbt_lease_times *times, struct cbt_lease **ret, char **ret_error);

/*
 * Stop refreshing, delete the lease object and free. NULL is fine.
 * Always returns NULL; a failed delete is logged (the lease goes stale).
 */
struct cbt_lease *cbt_lease_release(struct cbt_lease *l);
CBT_DEFINE_CLEANUP(struct cbt_lease *, cbt_lease_release, cbt_lease_releasep)

/* The lease's key (leases/...) and its created_at (seconds since the epoch). */
const char *cbt_lease_key(const struct cbt_lease *l);
int64_t cbt_lease_created_at(const struct cbt_lease *l);
/* Is the gc lease (created, key) older than l (created_at, then key)? */
bool cbt_lease_older(int64_t created, const char *key, const struct cbt_lease *l);
/* The lease's store, for scans. */
struct cbt_store *cbt_lease_store(const struct cbt_lease *l);

/*
 * Is the lease still ours? false once the last successful write is older
 * than the stale time less two refresh intervals: others may take it for
 * dead soon, so its holder must stop deleting (a collection) and fail.
 */
bool cbt_lease_held(struct cbt_lease *l);

/* What a scan of leases/ found live (other than the lease skipped). */
struct cbt_lease_scan {
	unsigned backups; /* live backup leases */
	unsigned gcs;	  /* live gc leases */
	unsigned stale;	  /* stale ones (ignored) */
	char holder[256]; /* one live lease of each kind found first, for messages */
	char gc_holder[256];
	/* The oldest live gc lease (created_at, then key, smallest): collections take turns. */
	int64_t oldest_gc_created;
	char oldest_gc_key[128];
	char oldest_gc_holder[256];
};

/*
 * List and read the leases of store, skipping skip_key (NULL: none). A
 * lease deleted between the listing and its read is ignored; one that
 * cannot be parsed counts as a live backup lease (correctness first),
 * named in holder. 0 or a negative errno.
 */
int cbt_lease_scan(struct cbt_store *store, const char *skip_key,
		   const struct cbt_lease_times *times, struct cbt_lease_scan *ret);

/*
 * Remove the stale leases of store (what killed processes left) but
 * skip_key, best effort; the number removed.
 */
unsigned cbt_lease_remove_stale(struct cbt_store *store, const char *skip_key,
				const struct cbt_lease_times *times);

#endif
