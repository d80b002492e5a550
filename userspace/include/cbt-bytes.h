/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Little-endian integers in byte buffers (the on-disk formats: chunk
 * objects, packs), and a printf into a new string.
 */
#ifndef CBT_BYTES_H
#define CBT_BYTES_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

static inline void cbt_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void cbt_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void cbt_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t cbt_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t cbt_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t cbt_get_le64(const uint8_t *p)
{
	return (uint64_t)cbt_get_le32(p) | (uint64_t)cbt_get_le32(p + 4) << 32;
}

/* A new string (to free()), or NULL when out of memory. */
static inline char *cbt_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline char *cbt_strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

#endif
