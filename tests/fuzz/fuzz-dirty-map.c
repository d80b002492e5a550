/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The dirty-map file of `backup-create --dirty-map FILE`
 * (source/dirty-chunks.c): each line parsed, each pair marked on a small
 * bitmap, as cbt_chunk_bits_add_file() does.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/source/dirty-chunks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum { NR_CHUNKS = 300, CHUNK_SIZE = 4096 };
	static uint8_t bits[NR_CHUNKS / 8 + 1];
	char *line = malloc(size + 1);
	size_t pos = 0;

	if (!line)
		return 0;
	memset(bits, 0, sizeof(bits));
	while (pos < size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t n = nl ? (size_t)(nl - (data + pos)) + 1 : size - pos;
		uint64_t off = 0, len = 0;
		int r;

		memcpy(line, data + pos, n);
		line[n] = '\0';
		pos += n;
		r = cbt_dirty_map_parse_line(line, n, &off, &len);
		assert(r == 0 || r == 1 || r == -EINVAL || r == -ERANGE);
		if (r > 0)
			cbt_chunk_bits_add_bytes(bits, NR_CHUNKS, CHUNK_SIZE, off, len);
	}
	/* Nothing past the last chunk is ever marked. */
	for (unsigned i = NR_CHUNKS; i < 8 * sizeof(bits); i++)
		assert(!(bits[i / 8] & (1u << (i % 8))));
	free(line);
	return 0;
}
