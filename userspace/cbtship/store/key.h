/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Object keys as every store accepts them: 1..CBT_STORE_KEY_MAX bytes,
 * components separated by single '/', each 1..CBT_STORE_KEY_COMPONENT_MAX
 * characters among [A-Za-z0-9._-] not starting with '.' (so no "." or
 * "..", and stores may use dot names for their own temporaries). Keys are
 * case-sensitive and sort bytewise.
 */
#ifndef CBTSHIP_STORE_KEY_H
#define CBTSHIP_STORE_KEY_H

#include <stdbool.h>
#include <stddef.h>

#define CBT_STORE_KEY_MAX	    1024
#define CBT_STORE_KEY_COMPONENT_MAX 255

bool cbt_store_key_valid(const char *key);

/* True for one component (a file name) of a valid key. */
bool cbt_store_key_component_valid(const char *name, size_t len);

/*
 * A list prefix: empty, or up to CBT_STORE_KEY_MAX characters among the
 * key characters and '/' (it need not end at a component boundary).
 */
bool cbt_store_prefix_valid(const char *prefix);

#endif
