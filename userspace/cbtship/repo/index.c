/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The per-backup index: a page tree loaded on demand, written copy-on-write. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/hash/zero.h"
#include "cbtship/repo/chunk-object.h"
#include "cbtship/repo/index.h"
#include "cbtship/repo/object-key.h"

#define ENTRY_MASK (CBT_INDEX_PAGE_ENTRIES - 1)

/* Largest object holding a page (never grows when compressed; sealing adds nonce and tag). */
#define PAGE_OBJECT_MAX cbt_chunk_object_max(CBT_INDEX_PAGE_MAX)

/* One page in memory, at (level, index) in the tree. */
struct page {
	struct page *hnext;	  /* hash chain */
	struct page *prev, *next; /* LRU of evictable pages, oldest first */
	uint64_t index;
	uint8_t level;
	bool dirty;  /* changed since loaded or written */
	bool in_lru; /* evictable: clean, or a dirty leaf with a store */
	struct cbt_chunk_id entries[CBT_INDEX_PAGE_ENTRIES]; /* zero beyond the count */
};

struct cbt_index {
	uint64_t nr_chunks;
	unsigned top;		  /* level of the root page */
	struct cbt_chunk_id root; /* the root's id, when the root page is clean */
	struct cbt_store *store;  /* where pages load from (NULL: none yet) */
	struct cbt_hasher *hasher;
	struct cbt_compressor *compressor;
	struct cbt_cipher *cipher; /* encrypted index: seals and opens pages; NULL: plain */

	struct page **buckets; /* (level, index) -> page */
	size_t nr_buckets, nr_pages, peak_pages, max_pages;
	struct page *lru_head, *lru_tail;

	struct cbt_index_stats stats;
	struct cbt_index_error error;
	uint8_t *raw; /* one serialized page */
	uint8_t *obj; /* one page object */
};

/* What loading a page needs; shared by the index and the streaming walk. */
struct loader {
	struct cbt_store *store;
	struct cbt_hasher *hasher;
	struct cbt_compressor *compressor;
	struct cbt_cipher *cipher;
	uint64_t nr_chunks;
	uint8_t *raw; /* CBT_INDEX_PAGE_MAX bytes: the page loaded last */
	struct cbt_index_error *err;
};

__attribute__((format(printf, 6, 7))) static int load_error(struct cbt_index_error *err, int r,
							    const struct cbt_chunk_id *id,
							    unsigned level, uint64_t index,
							    const char *fmt, ...)
{
	char hex[CBT_CHUNK_ID_HEX_SIZE];
	va_list ap;
	int n;

	err->error = r;
	err->page = *id;
	err->level = level;
	err->index = index;
	n = snprintf(err->message, sizeof(err->message),
		     "index page %s (level %u, page %llu): ", cbt_chunk_id_to_hex(id, hex), level,
		     (unsigned long long)index);
	if (n > 0 && (size_t)n < sizeof(err->message)) {
		va_start(ap, fmt);
		vsnprintf(err->message + n, sizeof(err->message) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return r;
}

/*
 * Fetch, decode and check the page id at (level, index); on success its
 * serialized form is in l->raw and its header in *ret.
 */
static int load_page(struct loader *l, const struct cbt_chunk_id *id, unsigned level,
		     uint64_t index, struct cbt_index_page_header *ret)
{
	_cleanup_(freep) void *obj = NULL;
	struct cbt_index_page_header want, hdr;
	char key[CBT_OBJECT_KEY_SIZE];
	size_t len, raw_len;
	int r;

	r = cbt_index_page_expected(l->nr_chunks, level, index, &want);
	if (r < 0)
		return load_error(l->err, -EBADMSG, id, level, index, "no such position");
	if (!l->store)
		return load_error(l->err, -ENOENT, id, level, index, "no store to load it from");
	r = cbt_store_get(l->store, cbt_object_key(CBT_OBJECT_INDEX, id, key), PAGE_OBJECT_MAX,
			  &obj, &len);
	if (r == -ENOENT)
		return load_error(l->err, r, id, level, index, "missing from the store");
	if (r == -EFBIG)
		return load_error(l->err, -EBADMSG, id, level, index,
				  "object larger than any index page");
	if (r < 0)
		return load_error(l->err, r, id, level, index, "cannot read it: %s", strerror(-r));
	r = cbt_chunk_decode_sealed(l->compressor, l->hasher, l->cipher, id, obj, len, l->raw,
				    CBT_INDEX_PAGE_MAX, &raw_len);
	if (r < 0)
		return load_error(l->err, r, id, level, index, "%s", cbt_chunk_strerror(r));
	r = cbt_index_page_parse(l->raw, raw_len, &hdr);
	if (r == -EPROTO)
		return load_error(l->err, r, id, level, index,
				  "index page of an unknown format version");
	if (r < 0)
		return load_error(l->err, r, id, level, index, "not an index page of this format");
	if (hdr.level != want.level || hdr.count != want.count || hdr.covered != want.covered)
		return load_error(l->err, -EBADMSG, id, level, index,
				  "level %u, %u entries, %llu chunks where level %u, %u entries, "
				  "%llu chunks belong (page does not fit its position)",
				  hdr.level, hdr.count, (unsigned long long)hdr.covered, want.level,
				  want.count, (unsigned long long)want.covered);
	*ret = hdr;
	return 0;
}

/* ------------------------------------------------------------ page cache */

static size_t bucket_of(const struct cbt_index *idx, unsigned level, uint64_t index)
{
	uint64_t h = (index ^ ((uint64_t)level << 56)) * UINT64_C(0x9e3779b97f4a7c15);

	return (size_t)(h >> 32) & (idx->nr_buckets - 1);
}

static struct page *lookup(const struct cbt_index *idx, unsigned level, uint64_t index)
{
	for (struct page *p = idx->buckets[bucket_of(idx, level, index)]; p; p = p->hnext)
		if (p->level == level && p->index == index)
			return p;
	return NULL;
}

static int insert(struct cbt_index *idx, struct page *p)
{
	size_t b;

	if (idx->nr_pages >= idx->nr_buckets) { /* grow: keep chains short */
		size_t n = idx->nr_buckets * 2;
		struct page **nb = calloc(n, sizeof(*nb)), **old = idx->buckets;
		size_t old_n = idx->nr_buckets;

		if (!nb)
			return -ENOMEM;
		idx->buckets = nb;
		idx->nr_buckets = n;
		for (size_t i = 0; i < old_n; i++)
			for (struct page *q = old[i], *next; q; q = next) {
				next = q->hnext;
				b = bucket_of(idx, q->level, q->index);
				q->hnext = nb[b];
				nb[b] = q;
			}
		free(old);
	}
	b = bucket_of(idx, p->level, p->index);
	p->hnext = idx->buckets[b];
	idx->buckets[b] = p;
	idx->nr_pages++;
	if (idx->nr_pages > idx->peak_pages)
		idx->peak_pages = idx->nr_pages;
	return 0;
}

static void unhash(struct cbt_index *idx, struct page *p)
{
	struct page **pp = &idx->buckets[bucket_of(idx, p->level, p->index)];

	while (*pp != p)
		pp = &(*pp)->hnext;
	*pp = p->hnext;
	idx->nr_pages--;
}

static void lru_remove(struct cbt_index *idx, struct page *p)
{
	if (!p->in_lru)
		return;
	if (p->prev)
		p->prev->next = p->next;
	else
		idx->lru_head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		idx->lru_tail = p->prev;
	p->prev = p->next = NULL;
	p->in_lru = false;
}

static void lru_add(struct cbt_index *idx, struct page *p)
{
	p->prev = idx->lru_tail;
	p->next = NULL;
	if (idx->lru_tail)
		idx->lru_tail->next = p;
	else
		idx->lru_head = p;
	idx->lru_tail = p;
	p->in_lru = true;
}

static bool evictable(const struct cbt_index *idx, const struct page *p)
{
	return !p->dirty || (p->level == 0 && idx->store);
}

static void touch(struct cbt_index *idx, struct page *p)
{
	lru_remove(idx, p);
	if (evictable(idx, p))
		lru_add(idx, p);
}

/* The page at (level, index), loaded (with its ancestors) when not cached. */
static int get_page(struct cbt_index *idx, unsigned level, uint64_t index, struct page **ret)
{
	struct loader l = {
		.store = idx->store,
		.hasher = idx->hasher,
		.compressor = idx->compressor,
		.cipher = idx->cipher,
		.nr_chunks = idx->nr_chunks,
		.raw = idx->raw,
		.err = &idx->error,
	};
	struct cbt_index_page_header hdr;
	struct cbt_chunk_id id;
	struct page *p = lookup(idx, level, index);
	int r;

	if (p) {
		touch(idx, p);
		*ret = p;
		return 0;
	}
	if (level == idx->top)
		id = idx->root;
	else {
		struct page *parent;

		r = get_page(idx, level + 1, index >> CBT_INDEX_PAGE_SHIFT, &parent);
		if (r < 0)
			return r;
		id = parent->entries[index & ENTRY_MASK];
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->level = (uint8_t)level;
	p->index = index;
	if (!cbt_index_id_is_zero(&id)) {
		r = load_page(&l, &id, level, index, &hdr);
		if (r < 0) {
			free(p);
			return r;
		}
		memcpy(p->entries, idx->raw + CBT_INDEX_PAGE_HEADER_SIZE,
		       (size_t)hdr.count * CBT_CHUNK_ID_SIZE);
	}
	r = insert(idx, p);
	if (r < 0) {
		free(p);
		return r;
	}
	lru_add(idx, p);
	*ret = p;
	return 0;
}

/* The pages from the root down to leaf number `leaf`, loaded: path[level]. */
static int get_path(struct cbt_index *idx, uint64_t leaf, struct page **path)
{
	for (unsigned l = idx->top + 1; l-- > 0;) {
		int r = get_page(idx, l, leaf >> (CBT_INDEX_PAGE_SHIFT * l), &path[l]);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Mark a loaded path dirty from the leaf up (ancestors of dirty are dirty). */
static void mark_dirty(struct cbt_index *idx, struct page **path)
{
	for (unsigned l = 0; l <= idx->top && !path[l]->dirty; l++) {
		path[l]->dirty = true;
		touch(idx, path[l]);
	}
}

/*
 * Write one dirty page whose children are all clean to store (unless it
 * is all zero or already there), and record its id in its parent.
 */
static int write_page(struct cbt_index *idx, struct cbt_store *store, struct page *p)
{
	struct cbt_index_page_header hdr;
	struct cbt_chunk_id id = { { 0 } };
	char key[CBT_OBJECT_KEY_SIZE];
	size_t len, obj_len;
	int r;

	r = cbt_index_page_expected(idx->nr_chunks, p->level, p->index, &hdr);
	if (r < 0)
		return -EINVAL; /* cannot happen: pages beyond the size are never made */
	if (cbt_is_zero(p->entries, (size_t)hdr.count * CBT_CHUNK_ID_SIZE))
		idx->stats.pages_zero++;
	else {
		len = cbt_index_page_serialize(&hdr, p->entries, idx->raw);
		r = cbt_hasher_hash(idx->hasher, idx->raw, len, &id);
		if (r < 0)
			return r;
		cbt_object_key(CBT_OBJECT_INDEX, &id, key);
		r = cbt_store_exists(store, key);
		if (r < 0)
			return r;
		if (r > 0)
			idx->stats.pages_present++;
		else {
			r = cbt_chunk_encode_sealed(idx->compressor, idx->hasher, idx->cipher, &id,
						    idx->raw, len, idx->obj, PAGE_OBJECT_MAX,
						    &obj_len);
			if (r < 0)
				return r;
			r = cbt_store_put(store, key, idx->obj, obj_len);
			if (r < 0)
				return r;
			idx->stats.pages_written++;
			idx->stats.bytes_written += obj_len;
		}
	}
	if (p->level == idx->top)
		idx->root = id;
	else {
		struct page *parent = lookup(idx, p->level + 1u, p->index >> CBT_INDEX_PAGE_SHIFT);

		if (!parent || !parent->dirty)
			return -EINVAL; /* cannot happen: ancestors of dirty pages are dirty */
		parent->entries[p->index & ENTRY_MASK] = id;
	}
	p->dirty = false;
	touch(idx, p);
	return 0;
}

static void evict(struct cbt_index *idx, struct page *p)
{
	lru_remove(idx, p);
	unhash(idx, p);
	free(p);
}

/* Evict down to the limit, writing back dirty leaves when there is a store. */
static int trim(struct cbt_index *idx)
{
	while (idx->nr_pages > idx->max_pages && idx->lru_head) {
		struct page *p = idx->lru_head;

		if (p->dirty) {
			int r = write_page(idx, idx->store, p);

			if (r < 0)
				return r;
		}
		evict(idx, p);
	}
	return 0;
}

/* ------------------------------------------------------------------ API */

static int index_alloc(struct cbt_hasher *h, struct cbt_compressor *c, uint64_t nr_chunks,
		       struct cbt_index **ret)
{
	_cleanup_(cbt_index_freep) struct cbt_index *idx = NULL;

	if (!h || !c || !ret)
		return -EINVAL;
	if (nr_chunks > CBT_INDEX_CHUNKS_MAX)
		return -EFBIG;
	idx = calloc(1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	idx->nr_chunks = nr_chunks;
	idx->top = cbt_index_top_level(nr_chunks);
	idx->hasher = h;
	idx->compressor = c;
	idx->nr_buckets = 64;
	idx->buckets = calloc(idx->nr_buckets, sizeof(*idx->buckets));
	idx->raw = malloc(CBT_INDEX_PAGE_MAX);
	idx->obj = malloc(PAGE_OBJECT_MAX);
	if (!idx->buckets || !idx->raw || !idx->obj)
		return -ENOMEM;
	(void)cbt_index_set_cache_limit(idx, CBT_INDEX_CACHE_DEFAULT); /* nothing to write */
	*ret = TAKE_PTR(idx);
	return 0;
}

int cbt_index_new(struct cbt_hasher *h, struct cbt_compressor *c, uint64_t nr_chunks,
		  struct cbt_index **ret)
{
	return index_alloc(h, c, nr_chunks, ret);
}

int cbt_index_open(struct cbt_store *store, struct cbt_hasher *h, struct cbt_compressor *c,
		   const struct cbt_chunk_id *root, uint64_t nr_chunks, struct cbt_index **ret)
{
	struct cbt_index *idx;
	int r;

	if (!store || !root)
		return -EINVAL;
	r = index_alloc(h, c, nr_chunks, &idx);
	if (r < 0)
		return r;
	idx->store = store;
	idx->root = *root;
	*ret = idx;
	return 0;
}

struct cbt_index *cbt_index_free(struct cbt_index *idx)
{
	if (!idx)
		return NULL;
	if (idx->buckets)
		for (size_t i = 0; i < idx->nr_buckets; i++)
			for (struct page *p = idx->buckets[i], *next; p; p = next) {
				next = p->hnext;
				free(p);
			}
	free(idx->buckets);
	free(idx->raw);
	free(idx->obj);
	free(idx);
	return NULL;
}

uint64_t cbt_index_nr_chunks(const struct cbt_index *idx)
{
	return idx->nr_chunks;
}

int cbt_index_set_cache_limit(struct cbt_index *idx, uint64_t bytes)
{
	uint64_t pages = bytes / sizeof(struct page);

	if (pages < CBT_INDEX_LEVEL_MAX + 1) /* a root-to-leaf path */
		pages = CBT_INDEX_LEVEL_MAX + 1;
	idx->max_pages = pages > SIZE_MAX ? SIZE_MAX : (size_t)pages;
	return trim(idx);
}

size_t cbt_index_cached_pages(const struct cbt_index *idx)
{
	return idx->nr_pages;
}

size_t cbt_index_peak_pages(const struct cbt_index *idx)
{
	return idx->peak_pages;
}

const struct cbt_index_error *cbt_index_last_error(const struct cbt_index *idx)
{
	return &idx->error;
}

int cbt_index_get(struct cbt_index *idx, uint64_t chunk, struct cbt_chunk_id *ret)
{
	struct page *leaf;
	int r;

	if (chunk >= idx->nr_chunks)
		return -ERANGE;
	r = get_page(idx, 0, chunk >> CBT_INDEX_PAGE_SHIFT, &leaf);
	if (r < 0)
		return r;
	*ret = leaf->entries[chunk & ENTRY_MASK];
	return trim(idx);
}

int cbt_index_next(struct cbt_index *idx, uint64_t *chunk, struct cbt_chunk_id *ret)
{
	uint64_t at = *chunk;
	int r;

	while (at < idx->nr_chunks) {
		/* Down from the root to the first entry that is not an all-zero subtree. */
		for (unsigned l = idx->top + 1; l-- > 0;) {
			uint64_t below =
				at >> (CBT_INDEX_PAGE_SHIFT * l); /* child (or chunk) number */
			struct page *p;

			r = get_page(idx, l, below >> CBT_INDEX_PAGE_SHIFT, &p);
			if (r < 0)
				return r;
			if (l == 0) { /* the rest of this leaf */
				uint64_t end = (at | ENTRY_MASK) + 1;

				for (; at < end && at < idx->nr_chunks; at++)
					if (!cbt_index_id_is_zero(&p->entries[at & ENTRY_MASK])) {
						*chunk = at;
						*ret = p->entries[at & ENTRY_MASK];
						r = trim(idx);
						return r < 0 ? r : 1;
					}
				break;
			}
			/* A zero entry whose child is not in memory (set, not yet written): skip
			 * it. */
			if (cbt_index_id_is_zero(&p->entries[below & ENTRY_MASK]) &&
			    !lookup(idx, l - 1, below)) {
				at = (below + 1) << (CBT_INDEX_PAGE_SHIFT * l);
				break;
			}
		}
	}
	*chunk = idx->nr_chunks;
	r = trim(idx);
	return r < 0 ? r : 0;
}

int cbt_index_set(struct cbt_index *idx, uint64_t chunk, const struct cbt_chunk_id *id)
{
	struct page *path[CBT_INDEX_LEVEL_MAX + 1];
	struct cbt_chunk_id *slot;
	int r;

	if (chunk >= idx->nr_chunks)
		return -ERANGE;
	r = get_path(idx, chunk >> CBT_INDEX_PAGE_SHIFT, path);
	if (r < 0)
		return r;
	slot = &path[0]->entries[chunk & ENTRY_MASK];
	if (!cbt_chunk_id_equal(slot, id)) {
		*slot = *id;
		mark_dirty(idx, path);
	}
	return trim(idx);
}

int cbt_index_resize(struct cbt_index *idx, uint64_t new_nr_chunks)
{
	struct page *path[CBT_INDEX_LEVEL_MAX + 1], *fresh[CBT_INDEX_LEVEL_MAX + 1] = { NULL };
	unsigned new_top = cbt_index_top_level(new_nr_chunks);
	int r;

	if (new_nr_chunks < idx->nr_chunks)
		return -EOPNOTSUPP;
	if (new_nr_chunks > CBT_INDEX_CHUNKS_MAX)
		return -EFBIG;
	if (new_nr_chunks == idx->nr_chunks)
		return 0;
	/* The old right edge changes count and coverage: load it, then dirty it. */
	if (idx->nr_chunks > 0) {
		r = get_path(idx, (idx->nr_chunks - 1) >> CBT_INDEX_PAGE_SHIFT, path);
		if (r < 0)
			return r;
	}
	for (unsigned l = idx->top + 1; l <= new_top; l++) {
		fresh[l] = calloc(1, sizeof(struct page));
		if (!fresh[l]) {
			for (unsigned k = idx->top + 1; k < l; k++)
				free(fresh[k]);
			return -ENOMEM;
		}
		fresh[l]->level = (uint8_t)l;
		fresh[l]->dirty = true; /* child 0, the old root, gets its id when written */
	}
	if (idx->nr_chunks > 0)
		mark_dirty(idx, path);
	for (unsigned l = idx->top + 1; l <= new_top; l++) {
		r = insert(idx, fresh[l]);
		if (r < 0) { /* leaves the index as it was, but for dirty pages */
			for (unsigned k = l; k <= new_top; k++)
				free(fresh[k]);
			for (unsigned k = idx->top + 1; k < l; k++)
				evict(idx, fresh[k]);
			return r;
		}
	}
	idx->nr_chunks = new_nr_chunks;
	if (new_top > idx->top)
		idx->root = (struct cbt_chunk_id){ { 0 } }; /* the new root is dirty */
	idx->top = new_top;
	return trim(idx);
}

int cbt_index_write(struct cbt_index *idx, struct cbt_store *store, struct cbt_chunk_id *ret_root,
		    struct cbt_index_stats *stats)
{
	int r;

	if (!store || !ret_root)
		return -EINVAL;
	for (unsigned l = 0; l <= idx->top; l++)
		for (size_t b = 0; b < idx->nr_buckets; b++)
			for (struct page *p = idx->buckets[b]; p; p = p->hnext) {
				if (p->level != l || !p->dirty)
					continue;
				r = write_page(idx, store, p);
				if (r < 0)
					return r;
			}
	if (!idx->store)
		idx->store = store;
	*ret_root = idx->root;
	if (stats)
		*stats = idx->stats;
	idx->stats = (struct cbt_index_stats){ 0 };
	return trim(idx);
}

/* ------------------------------------------------------- streaming walk */

static int walk(struct loader *l, cbt_index_ref_fn fn, void *userdata,
		const struct cbt_chunk_id *id, unsigned level, uint64_t index)
{
	_cleanup_(freep) struct cbt_chunk_id *entries = NULL;
	struct cbt_index_page_header hdr;
	int r;

	r = fn(CBT_INDEX_REF_PAGE, id, userdata);
	if (r == CBT_INDEX_SKIP)
		return 0;
	if (r != 0)
		return r;
	r = load_page(l, id, level, index, &hdr);
	if (r < 0)
		return r;
	entries = malloc((size_t)hdr.count * CBT_CHUNK_ID_SIZE);
	if (!entries)
		return -ENOMEM;
	memcpy(entries, l->raw + CBT_INDEX_PAGE_HEADER_SIZE, (size_t)hdr.count * CBT_CHUNK_ID_SIZE);
	for (uint32_t i = 0; i < hdr.count; i++) {
		if (cbt_index_id_is_zero(&entries[i]))
			continue;
		if (level == 0) {
			r = fn(CBT_INDEX_REF_CHUNK, &entries[i], userdata);
			if (r == CBT_INDEX_SKIP)
				r = 0;
		} else
			r = walk(l, fn, userdata, &entries[i], level - 1,
				 (index << CBT_INDEX_PAGE_SHIFT) + i);
		if (r != 0)
			return r;
	}
	return 0;
}

void cbt_index_set_cipher(struct cbt_index *idx, struct cbt_cipher *cipher)
{
	idx->cipher = cipher;
}

int cbt_index_foreach_page(struct cbt_store *store, struct cbt_hasher *h, struct cbt_compressor *c,
			   const struct cbt_chunk_id *root, uint64_t nr_chunks, cbt_index_ref_fn fn,
			   void *userdata, struct cbt_index_error *err)
{
	return cbt_index_foreach_page_sealed(store, h, c, NULL, root, nr_chunks, fn, userdata, err);
}

int cbt_index_foreach_page_sealed(struct cbt_store *store, struct cbt_hasher *h,
				  struct cbt_compressor *c, struct cbt_cipher *cipher,
				  const struct cbt_chunk_id *root, uint64_t nr_chunks,
				  cbt_index_ref_fn fn, void *userdata, struct cbt_index_error *err)
{
	_cleanup_(freep) uint8_t *raw = NULL;
	struct cbt_index_error dummy;
	struct loader l = {
		.store = store,
		.hasher = h,
		.compressor = c,
		.cipher = cipher,
		.nr_chunks = nr_chunks,
		.err = err ? err : &dummy,
	};

	if (!store || !h || !c || !root || !fn)
		return -EINVAL;
	if (nr_chunks > CBT_INDEX_CHUNKS_MAX)
		return -EFBIG;
	memset(l.err, 0, sizeof(*l.err));
	if (cbt_index_id_is_zero(root))
		return 0;
	raw = malloc(CBT_INDEX_PAGE_MAX);
	if (!raw)
		return -ENOMEM;
	l.raw = raw;
	return walk(&l, fn, userdata, root, cbt_index_top_level(nr_chunks), 0);
}
