/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Zero detection: all-zero chunks are not hashed nor stored. */
#ifndef CBTSHIP_HASH_ZERO_H
#define CBTSHIP_HASH_ZERO_H

#include <stdbool.h>
#include <stddef.h>

/* True when the len bytes at data are all zero (true for len 0). */
bool cbt_is_zero(const void *data, size_t len);

#endif
