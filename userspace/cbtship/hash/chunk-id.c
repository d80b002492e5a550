/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Chunk ids in hex: formatting and strict parsing. */
#include <errno.h>

#include "cbtship/hash/chunk-id.h"

static const char hex_digits[16] = "0123456789abcdef";

char *cbt_chunk_id_to_hex(const struct cbt_chunk_id *id, char buf[static CBT_CHUNK_ID_HEX_SIZE])
{
	for (size_t i = 0; i < CBT_CHUNK_ID_SIZE; i++) {
		buf[2 * i] = hex_digits[id->bytes[i] >> 4];
		buf[2 * i + 1] = hex_digits[id->bytes[i] & 0xf];
	}
	buf[CBT_CHUNK_ID_HEX_LEN] = '\0';
	return buf;
}

/* Lowercase only: one spelling per id, so keys and ids compare as strings. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int cbt_chunk_id_from_hex_n(const char *s, size_t len, struct cbt_chunk_id *ret)
{
	struct cbt_chunk_id id;

	if (!s || len != CBT_CHUNK_ID_HEX_LEN)
		return -EINVAL;
	for (size_t i = 0; i < CBT_CHUNK_ID_SIZE; i++) {
		int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		id.bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	*ret = id;
	return 0;
}

int cbt_chunk_id_from_hex(const char *s, struct cbt_chunk_id *ret)
{
	if (!s)
		return -EINVAL;
	return cbt_chunk_id_from_hex_n(s, strnlen(s, CBT_CHUNK_ID_HEX_LEN + 1), ret);
}
