/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which chunks an incremental reads: the chunks that a dirty map touches,
 * as a bitmap for the pipeline (bit i: chunk i). The map is either the
 * frozen map of a tracked volume (blocks of the tracking block size,
 * which may be smaller or larger than a chunk) or, for an untracked
 * source, a dirty-map file: one "OFFSET LENGTH" pair of decimal byte
 * counts per line, '#' starting a comment (what `cbtship dirty-map
 * --format ranges` prints, in bytes).
 */
#ifndef CBTSHIP_SOURCE_DIRTY_CHUNKS_H
#define CBTSHIP_SOURCE_DIRTY_CHUNKS_H

#include <stdint.h>

#include "libcbt.h"

/* A zeroed bitmap for nr_chunks chunks (free()). NULL on ENOMEM. */
uint8_t *cbt_chunk_bits_new(uint64_t nr_chunks);

/* Mark the chunks overlapping bytes [offset, offset + length), clamped to the volume. */
void cbt_chunk_bits_add_bytes(uint8_t *bits, uint64_t nr_chunks, uint32_t chunk_size,
			      uint64_t offset, uint64_t length);

/* Mark the chunks of every dirty block of map (blocks of block_bytes). */
void cbt_chunk_bits_add_map(uint8_t *bits, uint64_t nr_chunks, uint32_t chunk_size,
			    const struct cbt_map *map, uint64_t block_bytes);

/*
 * One line of a dirty-map file (len bytes, NUL-terminated, newline
 * included or not): 1 with the pair in *ret_offset and *ret_length, 0
 * for a blank or comment line, -EINVAL (not two decimal numbers, or a NUL
 * in the line) or -ERANGE (a number above 2^64 - 1).
 */
int cbt_dirty_map_parse_line(const char *line, size_t len, uint64_t *ret_offset,
			     uint64_t *ret_length);

/*
 * Mark the chunks of a dirty-map file. 0, or a negative errno with a
 * message naming the file and line in *ret_error (to free()).
 */
int cbt_chunk_bits_add_file(uint8_t *bits, uint64_t nr_chunks, uint32_t chunk_size,
			    const char *path, char **ret_error);

#endif
