/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Collection of a container, mark and sweep, safe between hosts.
 *
 * backup-delete removes a backup's manifest and record only and marks the
 * container as holding garbage in the catalog; this is the separate step
 * that reclaims the space (cbtship backup-collect, and the agent on the
 * containers marked).
 *
 * Leases (repo/lease.h): a gc lease is written, then the settle time
 * waited; a live backup lease of any host makes the collection yield
 * (-EAGAIN, nothing more deleted; try again later), looked for after the
 * settle, every few seconds while marking and sweeping, and right before
 * the first delete. A collection whose own lease could not be refreshed
 * stops (-ETIMEDOUT).
 *
 * Mark: every index page and chunk some manifest references goes into a
 * temporary on-disk SQLite table; a page already marked is not walked
 * again (the pages an incremental shares with its parent are walked once,
 * so marking costs the distinct pages of the container, not backups x
 * volume size). The manifests are listed again right before deleting and
 * those that appeared meanwhile are marked too.
 *
 * Never on an incomplete listing: when catalog is given, every backup it
 * records as available in this container must be in the manifests/
 * listing, else nothing is deleted (-ESTALE, naming the backup). A
 * manifest that cannot be read or walked stops it likewise.
 *
 * Sweep: the loose objects (chunks/, indexes/) not marked are deleted.
 * Packs (repo/pack-store.h): the location cache is synced from the store,
 * each live entry is kept in one pack (the one the cache recorded last,
 * so the copy a rewrite made wins over the old one), a pack with no kept
 * entry is deleted (once each pack that holds a kept copy of its marked
 * entries is confirmed present by a HEAD, not trusted to the listing);
 * then, while more than max_unused % of the pack bytes are unused, the
 * packs with the largest unused fraction are rewritten: their kept
 * entries are put into new packs through the pack store, flushed
 * (uploaded, durable), and only then the old packs deleted. A kill at any
 * point loses nothing (a copy is deleted only when another is durable;
 * only objects no manifest references go), and a rerun finishes.
 * Collections take turns: one yields to an older live gc lease. After
 * deleting, a collection keeps its lease one more settle time, so that the
 * listing a waiting backup then takes no longer shows what was deleted.
 *
 * Encrypted backups: their index pages are sealed, so walking them needs
 * the key (repo's configured one, loaded on the first encrypted manifest).
 * A manifest whose key is missing or another (fingerprints differ) stops
 * the collection likewise, before anything is deleted: correctness first,
 * never delete what some manifest may reference. So a container should
 * hold the backups of one key (and plain ones). docs/repository-format.md
 * says why index pages are not left readable without the key instead.
 */
#ifndef CBTSHIP_REPO_GC_H
#define CBTSHIP_REPO_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "cbtship/repo/lease.h"
#include "cbtship/repo/repository.h"

struct cbt_gc_stats {
	uint64_t manifests;
	uint64_t objects_marked; /* distinct objects referenced */
	uint64_t pages_walked;	 /* index pages loaded */
	uint64_t pages_shared;	 /* references to pages marked already (not walked again) */
	uint64_t objects_listed; /* loose chunks and pages in the store */
	uint64_t chunks_deleted;
	uint64_t pages_deleted;
	/* Packs (format 2) */
	uint64_t packs;		    /* known, readable */
	uint64_t pack_bytes;	    /* their bytes before */
	uint64_t pack_bytes_unused; /* entries nothing references, or kept in another pack */
	uint64_t packs_deleted;	    /* no live entry */
	uint64_t packs_rewritten;   /* live entries copied into new packs, then deleted */
	uint64_t entries_copied;
	uint64_t packs_kept_unverified; /* not deleted: a copy elsewhere could not be confirmed */
	double seconds;
};

struct cbt_gc_options {
	/* The catalog whose available backups must all be listed; NULL: no check. */
	struct catalog *catalog;
	/* NULL: the configured ones. */
	const struct cbt_lease_times *times;
	/* Rewrite packs while more than max_unused % of pack bytes is unused (else configured). */
	bool max_unused_set;
	int max_unused;
};

/*
 * Collect repo's container. 0 when done; -EAGAIN when it yielded to a
 * running backup (the message names it); other negative errnos with a
 * message in *ret_error (to free()). *ret (may be NULL) gets what was done.
 */
int cbt_collect_repository(struct cbt_repository *repo, const struct cbt_gc_options *o,
			   struct cbt_gc_stats *ret, char **ret_error);

/*
 * Collect container (NULL: the default) of service as the command and the
 * agent do: skipped at once (-EAGAIN) when a backup of this host holds the
 * container's lock; catalog's available backups checked in the listing;
 * the container's garbage mark cleared when done (unless marked again
 * meanwhile). Outcome logged. 0, -EAGAIN (yielded: try later) or another
 * negative errno, with a message in *ret_error (to free()).
 */
int cbt_collect_container(struct catalog *c, enum catalog_service service, const char *container,
			  struct cbt_gc_stats *ret, char **ret_error);

#endif
