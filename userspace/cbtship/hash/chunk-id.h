/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Chunk ids: the 32-byte SHA-256 (or HMAC-SHA256, when the repository is
 * keyed) of a chunk's raw data, and their 64-character lowercase hex form.
 */
#ifndef CBTSHIP_HASH_CHUNK_ID_H
#define CBTSHIP_HASH_CHUNK_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CBT_CHUNK_ID_SIZE     32
#define CBT_CHUNK_ID_HEX_LEN  (2 * CBT_CHUNK_ID_SIZE)
#define CBT_CHUNK_ID_HEX_SIZE (CBT_CHUNK_ID_HEX_LEN + 1) /* with the NUL */

struct cbt_chunk_id {
	uint8_t bytes[CBT_CHUNK_ID_SIZE];
};

static inline bool cbt_chunk_id_equal(const struct cbt_chunk_id *a, const struct cbt_chunk_id *b)
{
	return memcmp(a->bytes, b->bytes, CBT_CHUNK_ID_SIZE) == 0;
}

/* memcmp order, which is also the order of the hex forms (for sorting). */
static inline int cbt_chunk_id_compare(const struct cbt_chunk_id *a, const struct cbt_chunk_id *b)
{
	return memcmp(a->bytes, b->bytes, CBT_CHUNK_ID_SIZE);
}

/* Write the 64 lowercase hex digits and a NUL into buf; returns buf. */
char *cbt_chunk_id_to_hex(const struct cbt_chunk_id *id, char buf[static CBT_CHUNK_ID_HEX_SIZE]);

/*
 * Parse exactly 64 lowercase hex digits followed by the end of the string.
 * 0, or -EINVAL (wrong length, uppercase, any other character); *ret is
 * untouched on error.
 */
int cbt_chunk_id_from_hex(const char *s, struct cbt_chunk_id *ret);

/* The same on the len bytes at s (no NUL needed): len must be 64. */
int cbt_chunk_id_from_hex_n(const char *s, size_t len, struct cbt_chunk_id *ret);

#endif
