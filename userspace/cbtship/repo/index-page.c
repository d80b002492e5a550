/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Index pages: header layout, serialization, geometry of the page tree. */
#include <errno.h>
#include <string.h>

#include "cbtship/hash/zero.h"
#include "cbtship/repo/index-page.h"

/* Header field offsets (docs/repository-format.md). */
enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 8,
	OFF_LEVEL = 10,
	OFF_SHIFT = 11,
	OFF_COUNT = 12,
	OFF_COVERED = 16,
	OFF_RESERVED = 24,
};

_Static_assert(OFF_RESERVED + 8 == CBT_INDEX_PAGE_HEADER_SIZE, "reserved ends the header");
_Static_assert(sizeof(struct cbt_chunk_id) == CBT_CHUNK_ID_SIZE, "ids are packed");

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

unsigned cbt_index_top_level(uint64_t nr_chunks)
{
	unsigned level = 0;

	while (level < CBT_INDEX_LEVEL_MAX && cbt_index_span(level) < nr_chunks)
		level++;
	return level;
}

uint64_t cbt_index_pages_at(uint64_t nr_chunks, unsigned level)
{
	uint64_t span = cbt_index_span(level);

	if (level == cbt_index_top_level(nr_chunks))
		return 1;
	return (nr_chunks + span - 1) / span;
}

int cbt_index_page_expected(uint64_t nr_chunks, unsigned level, uint64_t index,
			    struct cbt_index_page_header *ret)
{
	unsigned top = cbt_index_top_level(nr_chunks);
	uint64_t span = cbt_index_span(level), child = span >> CBT_INDEX_PAGE_SHIFT, start;

	if (level > top || index >= cbt_index_pages_at(nr_chunks, level))
		return -ERANGE;
	start = index * span;
	ret->level = (uint8_t)level;
	ret->covered = nr_chunks - start < span ? nr_chunks - start : span;
	ret->count = (uint32_t)((ret->covered + child - 1) / child);
	if (ret->count == 0) /* the root of an empty index */
		ret->count = 1;
	return 0;
}

bool cbt_index_id_is_zero(const struct cbt_chunk_id *id)
{
	return cbt_is_zero(id->bytes, CBT_CHUNK_ID_SIZE);
}

size_t cbt_index_page_serialize(const struct cbt_index_page_header *hdr,
				const struct cbt_chunk_id *entries, void *buf)
{
	uint8_t *p = buf;
	size_t n = (size_t)hdr->count * CBT_CHUNK_ID_SIZE;

	memset(p, 0, CBT_INDEX_PAGE_HEADER_SIZE);
	memcpy(p + OFF_MAGIC, CBT_INDEX_PAGE_MAGIC, CBT_INDEX_PAGE_MAGIC_SIZE);
	put_le(p + OFF_VERSION, CBT_INDEX_PAGE_VERSION, 2);
	p[OFF_LEVEL] = hdr->level;
	p[OFF_SHIFT] = CBT_INDEX_PAGE_SHIFT;
	put_le(p + OFF_COUNT, hdr->count, 4);
	put_le(p + OFF_COVERED, hdr->covered, 8);
	memcpy(p + CBT_INDEX_PAGE_HEADER_SIZE, entries, n);
	return CBT_INDEX_PAGE_HEADER_SIZE + n;
}

int cbt_index_page_parse(const void *buf, size_t len, struct cbt_index_page_header *ret)
{
	const uint8_t *p = buf;
	struct cbt_index_page_header hdr;

	if (len < CBT_INDEX_PAGE_HEADER_SIZE ||
	    memcmp(p + OFF_MAGIC, CBT_INDEX_PAGE_MAGIC, CBT_INDEX_PAGE_MAGIC_SIZE) != 0)
		return -EBADMSG;
	if (get_le(p + OFF_VERSION, 2) != CBT_INDEX_PAGE_VERSION)
		return -EPROTO;
	if (p[OFF_SHIFT] != CBT_INDEX_PAGE_SHIFT || get_le(p + OFF_RESERVED, 8) != 0)
		return -EBADMSG;
	hdr.level = p[OFF_LEVEL];
	hdr.count = (uint32_t)get_le(p + OFF_COUNT, 4);
	hdr.covered = get_le(p + OFF_COVERED, 8);
	if (hdr.level > CBT_INDEX_LEVEL_MAX || hdr.count == 0 ||
	    hdr.count > CBT_INDEX_PAGE_ENTRIES || len != cbt_index_page_size(hdr.count))
		return -EBADMSG;
	*ret = hdr;
	return 0;
}
