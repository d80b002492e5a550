/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbt-cleanup.h"
#include "cbtship/source/dirty-chunks.h"
#include "cbtship/pipeline/backup-pipeline.h"

uint8_t *cbt_chunk_bits_new(uint64_t nr_chunks)
{
	return calloc(nr_chunks / 8 + 1, 1);
}

void cbt_chunk_bits_add_bytes(uint8_t *bits, uint64_t nr_chunks, uint32_t chunk_size,
			      uint64_t offset, uint64_t length)
{
	uint64_t first, last;

	if (!length)
		return;
	first = offset / chunk_size;
	last = (offset + length - 1) / chunk_size;
	if (offset + length < offset) /* overflow: to the end */
		last = nr_chunks - 1;
	for (uint64_t i = first; i <= last && i < nr_chunks; i++)
		cbt_chunk_bit_set(bits, i);
}

void cbt_chunk_bits_add_map(uint8_t *bits, uint64_t nr_chunks, uint32_t chunk_size,
			    const struct cbt_map *map, uint64_t block_bytes)
{
	uint64_t cursor = 0, first, count;

	while (cbt_map_next_run(map, &cursor, &first, &count) > 0)
		cbt_chunk_bits_add_bytes(bits, nr_chunks, chunk_size, first * block_bytes,
					 count * block_bytes);
}

/* One decimal number of digits only, then a blank or the end; -ERANGE past 2^64 - 1. */
static int parse_u64(const char **p, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (**p < '0' || **p > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(*p, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end && !strchr(" \t\r\n", *end))
		return -EINVAL;
	*p = end;
	*ret = v;
	return 0;
}

int cbt_dirty_map_parse_line(const char *line, size_t len, uint64_t *ret_offset,
			     uint64_t *ret_length)
{
	const char *p = line;
	int r;

	if (strlen(line) != len) /* a NUL inside the line */
		return -EINVAL;
	p += strspn(p, " \t\r\n");
	if (!*p || *p == '#')
		return 0;
	r = parse_u64(&p, ret_offset);
	if (r < 0)
		return r;
	p += strspn(p, " \t\r\n");
	r = parse_u64(&p, ret_length);
	if (r < 0)
		return r;
	p += strspn(p, " \t\r\n");
	return !*p || *p == '#' ? 1 : -EINVAL;
}

int cbt_chunk_bits_add_file(uint8_t *bits, uint64_t nr_chunks, uint32_t chunk_size,
			    const char *path, char **ret_error)
{
	_cleanup_(fclosep) FILE *f = fopen(path, "re");
	_cleanup_(freep) char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;

	if (!f) {
		int r = -errno;

		if (ret_error && asprintf(ret_error, "dirty map %s: %s", path, strerror(-r)) < 0)
			*ret_error = NULL;
		return r;
	}
	for (ssize_t n; (n = getline(&line, &cap, f)) >= 0;) {
		uint64_t off, len;
		int r;

		lineno++;
		r = cbt_dirty_map_parse_line(line, (size_t)n, &off, &len);
		if (r < 0) {
			if (ret_error &&
			    asprintf(ret_error,
				     r == -ERANGE ? "dirty map %s, line %u: number out of range"
						  : "dirty map %s, line %u: expected \"OFFSET "
						    "LENGTH\" in decimal bytes",
				     path, lineno) < 0)
				*ret_error = NULL;
			return r;
		}
		if (r > 0)
			cbt_chunk_bits_add_bytes(bits, nr_chunks, chunk_size, off, len);
	}
	if (ferror(f)) {
		if (ret_error && asprintf(ret_error, "dirty map %s: read error", path) < 0)
			*ret_error = NULL;
		return -EIO;
	}
	return 0;
}
