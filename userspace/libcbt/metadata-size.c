/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How big the metadata of a tracked device is. */
#include "libcbt.h"

#define SECTOR_BYTES 512
#define PAGE_BYTES   UINT64_C(4096)

static uint64_t div_round_up(uint64_t n, uint64_t d)
{
	return n / d + (n % d != 0);
}

static uint64_t round_up(uint64_t n, uint64_t align)
{
	return div_round_up(n, align) * align;
}

uint64_t cbt_nr_blocks(uint64_t origin_bytes, uint64_t block_bytes)
{
	if (cbt_block_size_check(block_bytes) < 0)
		return 0;
	return div_round_up(origin_bytes / SECTOR_BYTES, block_bytes / SECTOR_BYTES);
}

uint64_t cbt_metadata_bytes(uint64_t nr_blocks)
{
	uint64_t area = round_up(div_round_up(nr_blocks, 8), PAGE_BYTES);

	return DM_CBT_AREA0_SECTOR * SECTOR_BYTES + 2 * area;
}

uint64_t cbt_metadata_default_bytes(uint64_t origin_bytes, uint64_t block_bytes)
{
	if (cbt_block_size_check(block_bytes) < 0)
		return 0;
	return round_up(cbt_metadata_bytes(cbt_nr_blocks(origin_bytes, block_bytes)),
			CBT_METADATA_FILE_ALIGN);
}
