/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-backup index: one entry per chunk of the volume, the chunk's id
 * or "zero chunk" (the all-zero id: a real SHA-256 or HMAC-SHA256 equal
 * to 32 zero bytes would need a preimage of zero, impossible in practice).
 *
 * It is stored as a content-addressed tree of pages (repo/index-page.h,
 * docs/repository-format.md "Index"): leaves of 1024 chunk ids, inner
 * pages of 1024 page ids, one root id naming the whole index. Pages are
 * chunk objects under indexes/<h2>/<id>, where id is the hasher's hash of
 * the serialized page (HMAC in a keyed repository, so page ids do not
 * link repositories either). All-zero pages are not stored: their id is
 * the zero id, so a sparse volume's index is a handful of pages.
 *
 * An incremental opens its parent's index, sets the changed entries and
 * writes: only the pages it changed (the leaves and their ancestors) are
 * written, the rest are shared with the parent by id.
 *
 * Memory: pages are loaded on demand into a cache bounded by a byte limit
 * (cbt_index_set_cache_limit, default CBT_INDEX_CACHE_DEFAULT). Clean
 * pages are evicted least recently used first. Dirty pages stay until
 * written, except dirty leaves of an index that has a store (opened, or
 * written once): when over the limit those are written back early (a
 * content-addressed page written early is harmless: an aborted backup's
 * pages are garbage like its chunks). Dirty inner pages always stay (one
 * per 1024 dirty leaves). So for bounded memory during a large full
 * backup, open the zero root (cbt_index_open with a zero root id) rather
 * than cbt_index_new.
 *
 * The index borrows the hasher and compressor (not thread-safe: one index
 * per thread, or a lock around it). Errors are negative errnos; when a
 * page fails to load, cbt_index_last_error() names it.
 */
#ifndef CBTSHIP_REPO_INDEX_H
#define CBTSHIP_REPO_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbt-cleanup.h"
#include "cbtship/compress/compressor.h"
#include "cbtship/encrypt/cipher.h"
#include "cbtship/hash/chunk-id.h"
#include "cbtship/hash/hasher.h"
#include "cbtship/repo/index-page.h"
#include "cbtship/store/store.h"

/* Default bound of the page cache: 4 MiB, 128 pages. */
#define CBT_INDEX_CACHE_DEFAULT (UINT64_C(4) << 20)

struct cbt_index;

/* What a write did (counts since the previous write). */
struct cbt_index_stats {
	uint64_t pages_written; /* pages put into the store */
	uint64_t bytes_written; /* object bytes of those puts */
	uint64_t pages_present; /* non-zero pages already in the store, not put */
	uint64_t pages_zero;	/* all-zero pages, not stored */
};

/* The last page that failed to load, and why. */
struct cbt_index_error {
	int error;		  /* negative errno; 0: none */
	struct cbt_chunk_id page; /* its id */
	unsigned level;		  /* its position in the tree */
	uint64_t index;
	char message[224]; /* "index page <hex> (level 0, page 3): missing from the store" */
};

/*
 * A new all-zero index of nr_chunks chunks (0..CBT_INDEX_CHUNKS_MAX),
 * kept in memory until written. h hashes pages, c compresses them; both
 * are borrowed and must outlive the index. 0, -EFBIG or -ENOMEM.
 */
int cbt_index_new(struct cbt_hasher *h, struct cbt_compressor *c, uint64_t nr_chunks,
		  struct cbt_index **ret);

/*
 * Open the index whose root id is *root (the zero id: an all-zero index)
 * for a volume of nr_chunks chunks, loading pages from store as needed
 * (store borrowed too). Nothing is read yet: pages load on first use,
 * so a missing or corrupt root shows at the first get or set (call
 * cbt_index_get(idx, 0, ...) to check early). 0, -EINVAL, -EFBIG, -ENOMEM.
 */
int cbt_index_open(struct cbt_store *store, struct cbt_hasher *h, struct cbt_compressor *c,
		   const struct cbt_chunk_id *root, uint64_t nr_chunks, struct cbt_index **ret);

/*
 * An encrypted index: pages are sealed with cipher (borrowed) when
 * written and must be sealed with it when loaded; h must then be keyed.
 * Call it before the first get, set or write.
 */
void cbt_index_set_cipher(struct cbt_index *idx, struct cbt_cipher *cipher);

/* Always returns NULL. Unwritten changes are dropped. */
struct cbt_index *cbt_index_free(struct cbt_index *idx);
CBT_DEFINE_CLEANUP(struct cbt_index *, cbt_index_free, cbt_index_freep)

uint64_t cbt_index_nr_chunks(const struct cbt_index *idx);

/*
 * Bound the page cache to about bytes (at least a root-to-leaf path is
 * kept). May write back dirty leaves (see above): 0 or a store error.
 */
int cbt_index_set_cache_limit(struct cbt_index *idx, uint64_t bytes);

/* Pages in memory now, and the most there were at once. */
size_t cbt_index_cached_pages(const struct cbt_index *idx);
size_t cbt_index_peak_pages(const struct cbt_index *idx);

/*
 * The id of chunk number `chunk` into *ret (zero id: zero chunk). 0,
 * -ERANGE (chunk beyond the index), or a page load error: -ENOENT (page
 * missing), a chunk codec error (cbt_chunk_strerror: corrupt object),
 * -EBADMSG / -EPROTO (a page that is not an index page of this format or
 * whose level, count or coverage does not fit its position), -ENOMEM.
 * Also any store error of an early write-back.
 */
int cbt_index_get(struct cbt_index *idx, uint64_t chunk, struct cbt_chunk_id *ret);

/*
 * The first chunk at or after *chunk that is not a zero chunk: 1 with its
 * number in *chunk and its id in *ret, or 0 at the end (*chunk =
 * nr_chunks). All-zero subtrees are skipped without visiting their
 * chunks, so the cost follows the stored pages, not the volume size.
 * Errors as cbt_index_get.
 */
int cbt_index_next(struct cbt_index *idx, uint64_t *chunk, struct cbt_chunk_id *ret);

/*
 * Set the id of chunk number `chunk` (zero id: zero chunk). Setting the
 * value already there changes nothing; otherwise the leaf and its
 * ancestors become dirty. Errors as cbt_index_get.
 */
int cbt_index_set(struct cbt_index *idx, uint64_t chunk, const struct cbt_chunk_id *id);

/*
 * Grow to new_nr_chunks; the new entries are zero chunks. The pages on
 * the old right edge become dirty (their count and coverage change) and
 * the tree gains levels as needed. 0, -EOPNOTSUPP (shrinking), -EFBIG,
 * or a page load error.
 */
int cbt_index_resize(struct cbt_index *idx, uint64_t new_nr_chunks);

/*
 * Write the dirty pages to store, bottom-up (children before parents, so
 * a crash never leaves a page naming a missing child), skipping all-zero
 * pages and pages the store already has. *ret_root gets the root id (the
 * zero id for an all-zero index); stats (may be NULL) what was done since
 * the previous write, early write-backs included. An index made by
 * cbt_index_new loads from store afterwards. 0 or a store / codec error.
 */
int cbt_index_write(struct cbt_index *idx, struct cbt_store *store, struct cbt_chunk_id *ret_root,
		    struct cbt_index_stats *stats);

/* The last load error (error 0 when none). */
const struct cbt_index_error *cbt_index_last_error(const struct cbt_index *idx);

/* What cbt_index_foreach_page() reports. */
enum cbt_index_ref {
	CBT_INDEX_REF_PAGE,  /* an index page (key: CBT_OBJECT_INDEX) */
	CBT_INDEX_REF_CHUNK, /* a chunk (key: CBT_OBJECT_CHUNK) */
};

/*
 * Return 0 to go on; anything else stops the walk and is returned (a
 * negative errno, or a positive "found, stop"), except CBT_INDEX_SKIP
 * for a page: its subtree is neither loaded nor walked (a collection's
 * mark skips a page it marked already: shared pages are walked once).
 */
#define CBT_INDEX_SKIP 0x5c1b
typedef int (*cbt_index_ref_fn)(enum cbt_index_ref kind, const struct cbt_chunk_id *id,
				void *userdata);

/*
 * Call fn for every stored object the index rooted at *root (for
 * nr_chunks chunks) references: each non-zero page id, then what it holds
 * (depth first, in chunk order), and each non-zero chunk id of its
 * leaves. Zero ids are skipped. An id appears once per reference (a chunk
 * stored twice in the volume, or a page shared by two subtrees, is
 * reported each time). Streaming: holds one page per level (at most
 * five), whatever the index size. Load errors as cbt_index_get, described
 * in *err when err is not NULL.
 */
int cbt_index_foreach_page(struct cbt_store *store, struct cbt_hasher *h, struct cbt_compressor *c,
			   const struct cbt_chunk_id *root, uint64_t nr_chunks, cbt_index_ref_fn fn,
			   void *userdata, struct cbt_index_error *err);

/* The same for an encrypted index (cipher NULL: plain, as above). */
int cbt_index_foreach_page_sealed(struct cbt_store *store, struct cbt_hasher *h,
				  struct cbt_compressor *c, struct cbt_cipher *cipher,
				  const struct cbt_chunk_id *root, uint64_t nr_chunks,
				  cbt_index_ref_fn fn, void *userdata, struct cbt_index_error *err);

#endif
