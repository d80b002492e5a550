/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The location cache: where each chunk and index page of a container's
 * packs is (pack, offset, length), in an SQLite file of this host,
 * <state dir>/packs/<service>-<container>.sqlite. It is a cache: the
 * packs' own tables (repo/pack.h) are the truth, and sync() rebuilds it
 * from the store at any time (list packs/, read the table of each pack
 * not yet known, drop the packs gone from the listing). Deleting the file
 * loses nothing.
 *
 * Tables (docs/repository-format.md "Location cache"):
 *
 *   packs   (no INTEGER PRIMARY KEY, name TEXT UNIQUE, size, entries, bad)
 *   entries (id BLOB(32), type, pack -> packs.no, offset, length),
 *           PRIMARY KEY (id, type, pack), WITHOUT ROWID; index on pack
 *
 * An id may be in several packs (duplicates are harmless: any location
 * serves). Memory is SQLite's page cache (4 MiB), whatever the number of
 * entries. Several processes may use one file at once (WAL, a busy
 * timeout); one handle may be used by several threads (a mutex).
 *
 * Functions return 0 (or a count, or 1/0 for found/absent) or a negative
 * errno; -EIO for an SQLite failure, with the message in
 * cbt_location_cache_error().
 */
#ifndef CBTSHIP_REPO_LOCATION_CACHE_H
#define CBTSHIP_REPO_LOCATION_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "cbt-cleanup.h"
#include "cbtship/compress/compressor.h"
#include "cbtship/hash/hasher.h"
#include "cbtship/repo/pack.h"
#include "cbtship/store/store.h"

struct cbt_location_cache;

struct cbt_location {
	char pack[CBT_PACK_KEY_SIZE]; /* the pack's key */
	uint64_t offset;
	uint32_t length;
};

/*
 * The cache file of a container: <state dir>/packs/<service>-<container
 * with '/' as '_'>.sqlite (a POSIX container may be an absolute path),
 * malloc()ed into *ret. 0 or -ENOMEM.
 */
int cbt_location_cache_path(const char *service, const char *container, char **ret);

/*
 * Open (creating it and its directory) the cache at path. A file that is
 * not a cache of this schema is replaced. 0, -EIO (message in *ret_error,
 * to free(), when not NULL), -ENOMEM.
 */
int cbt_location_cache_open(const char *path, struct cbt_location_cache **ret, char **ret_error);
struct cbt_location_cache *cbt_location_cache_free(struct cbt_location_cache *lc);
CBT_DEFINE_CLEANUP(struct cbt_location_cache *, cbt_location_cache_free, cbt_location_cache_freep)

/* The file's path (for ATTACH by a reader: see the restore pipeline). */
const char *cbt_location_cache_file(const struct cbt_location_cache *lc);

/* The last SQLite message ("" if none). */
const char *cbt_location_cache_error(const struct cbt_location_cache *lc);

/* Where (type, id) is: 1 and *ret, 0 when no known pack holds it. */
int cbt_location_cache_lookup(struct cbt_location_cache *lc, enum cbt_pack_entry_type type,
			      const struct cbt_chunk_id *id, struct cbt_location *ret);

/*
 * Record a pack and its entries, in one transaction (a pack already
 * known is left as it is). 0 or -EIO.
 */
int cbt_location_cache_add_pack(struct cbt_location_cache *lc, const char *pack_key, uint64_t size,
				const struct cbt_pack_entry *e, size_t n);

/* Forget a pack and its entries (gone from the store). 0 or -EIO. */
int cbt_location_cache_remove_pack(struct cbt_location_cache *lc, const char *pack_key);

/* 1 when the pack is recorded (readable or bad), 0 when not. */
int cbt_location_cache_has_pack(struct cbt_location_cache *lc, const char *pack_key);

/* Packs and entries recorded. */
int cbt_location_cache_count(struct cbt_location_cache *lc, uint64_t *ret_packs,
			     uint64_t *ret_entries);

struct cbt_location_sync_stats {
	uint64_t packs_listed;
	uint64_t packs_added;	/* tables read now */
	uint64_t packs_removed; /* gone from the listing */
	uint64_t packs_bad;	/* whose table cannot be read (recorded, not retried) */
	uint64_t packs_sealed;	/* skipped: sealed, and no key given */
	uint64_t entries_added;
};

/*
 * Bring the cache in line with the store's listing of packs/: read the
 * table of every listed pack not recorded (ranged reads, decoded with pc),
 * and forget each recorded pack that is not listed and that the store
 * says is not there (exists(): Swift may list a new object only later,
 * so a pack just written is not forgotten for being missing from the
 * listing). A pack whose
 * table is corrupt is recorded as bad with the reason (and reported in
 * stats), never fatal; a pack that vanished meanwhile, or whose table is
 * sealed and pc has no key (packs_sealed), is skipped (and read at the
 * next sync: one with the key records it). 0, or a
 * store or SQLite error (message in *ret_error when not NULL).
 */
int cbt_location_cache_sync(struct cbt_location_cache *lc, struct cbt_store *store,
			    const struct cbt_pack_codec *pc,
			    struct cbt_location_sync_stats *ret_stats, char **ret_error);

#endif
