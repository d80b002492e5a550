/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A store that answers exists() for chunk keys from one listing instead of
 * one request per chunk: for object stores where a request costs a round
 * trip (Swift), a backup would otherwise send a HEAD before every PUT, and
 * on a new container every one of them answers 404.
 *
 * At creation the keys under CBT_CHUNK_KEY_PREFIX are listed once (10,000
 * per request on Swift) and the first 8 bytes of each chunk id kept in a
 * sorted array (8 bytes per object: 32 MiB for 4 million objects; above
 * max_keys the listing is dropped and every call goes to the store). Then:
 *
 *   - a chunk id whose prefix is not in the listing, nor put since, is
 *     absent: 0, no request;
 *   - one whose prefix is there is asked of the store (a HEAD), so that a
 *     prefix shared by two ids can only cost a request, never a chunk;
 *   - every other call goes to the store as it is.
 *
 * Objects another process puts after the listing are not known: they may
 * be put again, which content addressing makes harmless. None can vanish
 * meanwhile: garbage collection waits for the container's lock, which a
 * backup holds shared.
 */
#ifndef CBTSHIP_STORE_KNOWN_KEYS_H
#define CBTSHIP_STORE_KNOWN_KEYS_H

#include <stddef.h>

#include "cbtship/store/store.h"

#define CBT_KNOWN_KEYS_MAX_DEFAULT (4u << 20)

/*
 * Wrap inner (owned by the new store from then on, also on failure). The
 * listing failing is not an error: the wrapper then passes every call on.
 * 0 or -ENOMEM.
 */
int cbt_known_keys_store_new(struct cbt_store *inner, size_t max_keys, struct cbt_store **ret);

#endif
