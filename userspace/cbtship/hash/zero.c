/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * All-zero test, word-wise: bytes up to an 8-byte boundary, then 64 bytes
 * per step OR-ed together (the compiler vectorises this), then the tail.
 * Loads go through memcpy so any buffer type is fine (no aliasing UB).
 */
#include <stdint.h>
#include <string.h>

#include "cbtship/hash/zero.h"

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

bool cbt_is_zero(const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0 && ((uintptr_t)p & 7)) {
		if (*p)
			return false;
		p++;
		len--;
	}
	while (len >= 64) {
		uint64_t acc = 0;

		for (size_t i = 0; i < 64; i += 8)
			acc |= load64(p + i);
		if (acc)
			return false;
		p += 64;
		len -= 64;
	}
	while (len >= 8) {
		if (load64(p))
			return false;
		p += 8;
		len -= 8;
	}
	while (len > 0) {
		if (*p)
			return false;
		p++;
		len--;
	}
	return true;
}
