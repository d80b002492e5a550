/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcbt: control of dm-cbt tracked devices from user space.
 *
 * Conventions (as in systemd and casync): functions return 0 or a positive
 * value on success and a negative errno on failure; objects are opaque,
 * made with _new() and released with _free().
 */
#ifndef LIBCBT_H
#define LIBCBT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dm-cbt.h>

/* Sizes ---------------------------------------------------------------- */

/*
 * Parse a size such as "65536", "64K", "64KiB", "1M", "4G" (binary units,
 * case-insensitive, optional "iB"/"B" suffix) into bytes.
 * Returns 0, -EINVAL (not a size) or -ERANGE (overflows 64 bits).
 */
int cbt_parse_size(const char *text, uint64_t *ret_bytes);

/* Format bytes as "64 KiB", "1.5 GiB"... into buf (at least 16 bytes). */
const char *cbt_format_size(uint64_t bytes, char *buf, size_t len);

/*
 * Check a tracking block size in bytes: a power of two from 4 KiB to
 * 1 MiB. Returns 0 or -EINVAL.
 */
int cbt_block_size_check(uint64_t bytes);

/* Table lines ------------------------------------------------------------ */

/*
 * Write the parameters of a cbt table line ("<origin> <metadata> <block
 * sectors>") for the given devices and block size in bytes into buf.
 * Returns the length, -EINVAL for a bad block size or a device name with
 * white space, or -ENOBUFS when buf is too small.
 */
int cbt_table_params(const char *origin, const char *metadata, uint64_t block_bytes, char *buf,
		     size_t len);

#endif
