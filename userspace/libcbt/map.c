/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cbt_map: a set of blocks, one bit each, with its runs. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>

#include "libcbt/libcbt-internal.h"

#define WORD_BITS 64U

struct cbt_map {
	uint64_t nr_blocks;
	size_t nr_words;
	uint64_t words[];
};

int cbt_map_new(uint64_t nr_blocks, struct cbt_map **ret)
{
	uint64_t nr_words = nr_blocks / WORD_BITS + (nr_blocks % WORD_BITS != 0);
	struct cbt_map *map;

	if (nr_words > (SIZE_MAX - sizeof(*map)) / sizeof(uint64_t))
		return -ENOMEM;
	map = calloc(1, sizeof(*map) + (size_t)nr_words * sizeof(uint64_t));
	if (!map)
		return -ENOMEM;
	map->nr_blocks = nr_blocks;
	map->nr_words = (size_t)nr_words;
	*ret = map;
	return 0;
}

struct cbt_map *cbt_map_free(struct cbt_map *map)
{
	free(map);
	return NULL;
}

uint64_t cbt_map_nr_blocks(const struct cbt_map *map)
{
	return map->nr_blocks;
}

int cbt_map_set(struct cbt_map *map, uint64_t block)
{
	if (block >= map->nr_blocks)
		return -ERANGE;
	map->words[block / WORD_BITS] |= UINT64_C(1) << (block % WORD_BITS);
	return 0;
}

int cbt_map_set_range(struct cbt_map *map, uint64_t first, uint64_t count)
{
	if (first > map->nr_blocks || count > map->nr_blocks - first)
		return -ERANGE;
	for (uint64_t b = first; b < first + count;) {
		uint64_t bit = b % WORD_BITS, n = WORD_BITS - bit;

		if (n > first + count - b)
			n = first + count - b;
		map->words[b / WORD_BITS] |=
			(n == WORD_BITS ? ~UINT64_C(0) : ((UINT64_C(1) << n) - 1) << bit);
		b += n;
	}
	return 0;
}

bool cbt_map_test(const struct cbt_map *map, uint64_t block)
{
	if (block >= map->nr_blocks)
		return false;
	return (map->words[block / WORD_BITS] >> (block % WORD_BITS)) & 1;
}

uint64_t cbt_map_count(const struct cbt_map *map)
{
	uint64_t n = 0;

	for (size_t i = 0; i < map->nr_words; i++)
		n += (uint64_t)__builtin_popcountll(map->words[i]);
	return n;
}

int cbt_map_add_bits(struct cbt_map *map, uint64_t first, const void *bits, size_t len)
{
	const uint8_t *bytes = bits;
	uint64_t room, full;

	if (first > map->nr_blocks)
		return -ERANGE;
	/*
	 * Check first, a byte at a time and only past the end of the map: a
	 * bad chunk changes nothing.
	 */
	room = map->nr_blocks - first;
	full = room / 8;
	for (uint64_t i = full; i < len; i++) {
		uint8_t allowed = i == full ? (uint8_t)((1u << (room % 8)) - 1) : 0;

		if (bytes[i] & ~allowed)
			return -EBADMSG;
	}
	/* Past the map's end there are only zeroes: nothing to add. */
	if (len > (room + 7) / 8)
		len = (room + 7) / 8;
	if (first % WORD_BITS == 0) {
		/* The kernel's chunks start on word boundaries: OR whole words. */
		uint64_t *w = map->words + first / WORD_BITS;
		size_t i = 0;

		for (; i + 8 <= len; i += 8) {
			uint64_t v;

			memcpy(&v, bytes + i, 8);
			w[i / 8] |= le64toh(v);
		}
		for (; i < len; i++)
			w[i / 8] |= (uint64_t)bytes[i] << (8 * (i % 8));
		return 0;
	}
	for (size_t i = 0; i < len; i++)
		for (unsigned j = 0; bytes[i] && j < 8; j++)
			if ((bytes[i] >> j) & 1)
				(void)cbt_map_set(map, first + (uint64_t)i * 8 + j);
	return 0;
}

/* The first block >= from whose bit equals `set`, or nr_blocks. */
static uint64_t find_next(const struct cbt_map *map, uint64_t from, bool set)
{
	while (from < map->nr_blocks) {
		uint64_t w = map->words[from / WORD_BITS];

		if (!set)
			w = ~w;
		w &= ~UINT64_C(0) << (from % WORD_BITS);
		if (w) {
			uint64_t b = from / WORD_BITS * WORD_BITS + (uint64_t)__builtin_ctzll(w);

			return b < map->nr_blocks ? b : map->nr_blocks;
		}
		from = (from / WORD_BITS + 1) * WORD_BITS;
	}
	return map->nr_blocks;
}

int cbt_map_next_run(const struct cbt_map *map, uint64_t *cursor, uint64_t *ret_first,
		     uint64_t *ret_count)
{
	uint64_t first, end;

	first = find_next(map, *cursor, true);
	if (first >= map->nr_blocks) {
		*cursor = map->nr_blocks;
		return 0;
	}
	end = find_next(map, first, false);
	*ret_first = first;
	*ret_count = end - first;
	*cursor = end;
	return 1;
}
