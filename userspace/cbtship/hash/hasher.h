/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The chunk hasher: SHA-256 of the raw data, or HMAC-SHA256 under the
 * repository key when one is given, so that equal data in two repositories
 * with different keys gets unlinkable ids. OpenSSL EVP underneath; the
 * contexts are kept for the object's life, so hashing allocates nothing.
 *
 * Not thread-safe: one hasher per worker thread.
 */
#ifndef CBTSHIP_HASH_HASHER_H
#define CBTSHIP_HASH_HASHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbt-cleanup.h"
#include "cbtship/hash/chunk-id.h"

struct cbt_hasher;

/*
 * key NULL (and key_len 0): plain SHA-256. Otherwise HMAC-SHA256 with the
 * key_len bytes at key (key_len must not be 0; the key is copied into
 * OpenSSL's context, the caller may wipe its copy). 0, -EINVAL or -ENOMEM.
 */
int cbt_hasher_new(const uint8_t *key, size_t key_len, struct cbt_hasher **ret);

/* Always returns NULL. */
struct cbt_hasher *cbt_hasher_free(struct cbt_hasher *h);
CBT_DEFINE_CLEANUP(struct cbt_hasher *, cbt_hasher_free, cbt_hasher_freep)

/* True when ids are HMACs under a key (recorded in chunk object headers). */
bool cbt_hasher_is_keyed(const struct cbt_hasher *h);

/* The id of len bytes at data. 0, or -EIO when OpenSSL fails. */
int cbt_hasher_hash(struct cbt_hasher *h, const void *data, size_t len, struct cbt_chunk_id *ret);

#endif
