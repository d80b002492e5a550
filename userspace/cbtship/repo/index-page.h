/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Index pages: the serialized form of one node of a backup's index tree,
 * and the tree's geometry (docs/repository-format.md, "Index").
 *
 * A page is a 32-byte little-endian header followed by `count` 32-byte
 * ids. A leaf (level 0) holds the chunk ids of up to 1024 consecutive
 * chunks; an inner page (level L > 0) holds the page ids of up to 1024
 * consecutive pages of level L - 1. The all-zero id means "zero chunk"
 * in a leaf and "all-zero subtree, not stored" in an inner page (and for
 * the root). The shape of the tree follows from the volume's chunk count
 * alone, so a page's level, count and covered chunks are fixed by its
 * position and checked when it is read.
 */
#ifndef CBTSHIP_REPO_INDEX_PAGE_H
#define CBTSHIP_REPO_INDEX_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbtship/hash/chunk-id.h"

#define CBT_INDEX_PAGE_MAGIC	   "CBTINDEX" /* 8 bytes, no NUL on disk */
#define CBT_INDEX_PAGE_MAGIC_SIZE  8
#define CBT_INDEX_PAGE_VERSION	   1
#define CBT_INDEX_PAGE_HEADER_SIZE 32

/* log2 of the entries per page: 1024 ids, 32 KiB of entries. */
#define CBT_INDEX_PAGE_SHIFT   10
#define CBT_INDEX_PAGE_ENTRIES (UINT32_C(1) << CBT_INDEX_PAGE_SHIFT)

/* Largest serialized page: header + 1024 ids (32800 bytes). */
#define CBT_INDEX_PAGE_MAX \
	(CBT_INDEX_PAGE_HEADER_SIZE + (size_t)CBT_INDEX_PAGE_ENTRIES * CBT_CHUNK_ID_SIZE)

/* Most chunks an index addresses (2^50: 64 EiB at 64 KiB), and its top level. */
#define CBT_INDEX_CHUNKS_MAX (UINT64_C(1) << 50)
#define CBT_INDEX_LEVEL_MAX  4

/* A parsed page header. */
struct cbt_index_page_header {
	uint8_t level;	  /* 0: leaf */
	uint32_t count;	  /* entries, 1..1024 */
	uint64_t covered; /* chunk positions under this page */
};

/* Chunk positions under one page of the level: 1024^(level + 1). */
static inline uint64_t cbt_index_span(unsigned level)
{
	return UINT64_C(1) << (CBT_INDEX_PAGE_SHIFT * (level + 1));
}

/* The level of the root page for nr_chunks (0 for 0..1024 chunks). */
unsigned cbt_index_top_level(uint64_t nr_chunks);

/* Pages of the level in an index of nr_chunks chunks. */
uint64_t cbt_index_pages_at(uint64_t nr_chunks, unsigned level);

/*
 * The header a page at (level, index) must have in an index of nr_chunks
 * chunks. -ERANGE when there is no page at that position.
 */
int cbt_index_page_expected(uint64_t nr_chunks, unsigned level, uint64_t index,
			    struct cbt_index_page_header *ret);

/* True for the all-zero id (zero chunk, or all-zero subtree). */
bool cbt_index_id_is_zero(const struct cbt_chunk_id *id);

/* Bytes of a serialized page of count entries. */
static inline size_t cbt_index_page_size(uint32_t count)
{
	return CBT_INDEX_PAGE_HEADER_SIZE + (size_t)count * CBT_CHUNK_ID_SIZE;
}

/*
 * Serialize a page (hdr->count entries from entries) into buf, which holds
 * cbt_index_page_size(hdr->count) bytes; returns that size.
 */
size_t cbt_index_page_serialize(const struct cbt_index_page_header *hdr,
				const struct cbt_chunk_id *entries, void *buf);

/*
 * Parse a serialized page of len bytes; on success the header is in *ret
 * and the entries start at buf + CBT_INDEX_PAGE_HEADER_SIZE. Returns 0,
 * -EPROTO (unknown version) or -EBADMSG (bad magic, page shift, reserved
 * bytes, count, or a length that does not match the count).
 */
int cbt_index_page_parse(const void *buf, size_t len, struct cbt_index_page_header *ret);

#endif
