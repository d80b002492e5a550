/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Collection of a container: reference counts and sweep, safe between hosts.
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
 * Mark, incremental: a collection costs what changed since the last one,
 * not the container. Each host keeps a reference-count database per
 * container beside its location cache (<state dir>/packs/<service>-
 * <container>.refs.sqlite; docs/repository-format.md "Garbage
 * collection"): the manifests counted (with their root, chunk count and
 * key fingerprint: what counting one out needs once it is gone), a count
 * per page and chunk, and per pack its entry and live bytes. Derived
 * data: deleting it loses nothing, the next collection rebuilds it.
 * Each pass lists the manifests and, in one SQLite transaction, counts
 * in the new ones (a page whose count leaves 0 is read and its children
 * counted in; a page counted already is not walked) and then counts out
 * the deleted ones (a page reaching 0 is read and its children counted
 * out; in first, so a page shared with a new backup is never read). A
 * page reaching 0 that cannot be read (another host's collection deleted
 * it) or a count missing makes the pass clear the counts and count every
 * manifest in again: the full mark, each distinct page walked once, as
 * on a host's first collection (and, when several hosts collect one
 * container, after the other host deleted a deleted backup's pages:
 * counting out reads them; see docs). The manifests are listed again right
 * before deleting and those that appeared meanwhile are counted in.
 *
 * Why counts and not a mark kept across collections: a mark cannot lose
 * anything without a full walk; counts say exactly which pages and
 * chunks a deleted backup alone referenced, by reading those pages only.
 * Why per host and not in the store: it is derived, any host rebuilds
 * it; a store copy would need its own leases and consistency.
 *
 * Never on an incomplete listing: when catalog is given, every backup it
 * records as available in this container must be in the manifests/
 * listing, else nothing is deleted (-ESTALE, naming the backup). A
 * manifest that cannot be read or walked stops it likewise.
 *
 * Sweep: the loose objects (chunks/, indexes/: format 1) with no count
 * are deleted. Packs (repo/pack-store.h): the location cache is synced
 * from the store and only the touched packs are accounted again: those
 * holding an id whose count crossed zero this pass, those not accounted
 * yet (new backups, rewrites, orphans of cancelled backups, another
 * host's duplicates) and those holding an id of one of these (their copy
 * is no longer the kept one); the others keep their live bytes. (Not
 * "numbered above the last accounted": the cache gives a deleted last
 * pack's number again.) A pack accounted that the cache lost makes every
 * pack accounted again. The counts and accounting are committed before
 * anything is deleted. Each live entry is kept in one pack (the one the
 * cache recorded last, so the copy a rewrite made wins over the old one);
 * a pack accounted with no live entry is deleted once checked again
 * against the counts as they are now (never an entry with a count and
 * no other copy) and each pack that holds a kept copy of its referenced
 * entries is confirmed present by a HEAD, not trusted to the listing;
 * then, while more than max_unused % of the pack bytes are unused (a sum
 * over packs), the packs with the largest unused fraction are rewritten:
 * their kept
 * entries are put into new packs through the pack store, flushed
 * (uploaded, durable), and only then the old packs deleted. A kill at any
 * point loses nothing (a copy is deleted only when another is durable;
 * only objects no manifest references go; a kill before the commit
 * loses the pass, after it the accounting keeps the unused packs for the
 * next), and a rerun finishes.
 * Test build: $CBTSHIP_TEST_GC_VERIFY=1 also runs the full mark and fails
 * the collection (-EUCLEAN, naming the first difference) when it finds
 * another live set or other live bytes for a pack.
 * Collections take turns: one yields to an older live gc lease. After
 * deleting, a collection keeps its lease one more settle time, so that the
 * listing a waiting backup then takes no longer shows what was deleted.
 *
 * Encrypted backups: their index pages are sealed, so walking them needs
 * the key (repo's configured one, loaded on the first encrypted manifest).
 * A manifest to walk (counted in, counted out, or on a rebuild; one
 * counted already and still listed is not walked) whose key is missing
 * or another (fingerprints differ) stops
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
	uint64_t pages_walked;	 /* index pages loaded to count them in or out, this pass */
	uint64_t pages_shared;	 /* references to pages counted already (not walked again) */
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
	/* The reference counts (incremental) */
	uint64_t refs_changed;	/* counts changed this pass */
	uint64_t packs_touched; /* packs accounted again this pass (of packs) */
	bool refs_rebuilt;	/* the counts were rebuilt from every manifest (full mark) */
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
int cbt_collect_container(struct catalog *c, enum cbt_service service, const char *container,
			  struct cbt_gc_stats *ret, char **ret_error);

#endif
