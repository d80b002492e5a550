/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * AES-256-GCM for chunk and index page payloads (OpenSSL EVP). A sealed
 * payload is nonce (12 random bytes, fresh for every object) || ciphertext
 * || tag (16 bytes), CBT_CIPHER_OVERHEAD bytes more than the plaintext.
 * The caller's associated data (the chunk header) is authenticated with
 * it, so a header cannot be moved onto another payload.
 *
 * Random 96-bit nonces: NIST SP 800-38D bounds one key to 2^32 messages,
 * which is 2^32 distinct stored objects (chunks are deduplicated, each is
 * sealed once), 128 TiB of 32 KiB chunks, per key.
 *
 * Not thread-safe: one cipher per worker thread.
 */
#ifndef CBTSHIP_ENCRYPT_CIPHER_H
#define CBTSHIP_ENCRYPT_CIPHER_H

#include <stddef.h>
#include <stdint.h>

#include "cbt-cleanup.h"
#include "cbtship/encrypt/key.h"

#define CBT_CIPHER_NONCE_SIZE 12
#define CBT_CIPHER_TAG_SIZE   16
#define CBT_CIPHER_OVERHEAD   (CBT_CIPHER_NONCE_SIZE + CBT_CIPHER_TAG_SIZE)

struct cbt_cipher;

/* A cipher under key's data key (copied). 0, -ENOMEM or -EIO. */
int cbt_cipher_new(const struct cbt_key *key, struct cbt_cipher **ret);

/* Wipes and frees; always returns NULL. */
struct cbt_cipher *cbt_cipher_free(struct cbt_cipher *c);
CBT_DEFINE_CLEANUP(struct cbt_cipher *, cbt_cipher_free, cbt_cipher_freep)

/*
 * Seal len bytes at in into out (len + CBT_CIPHER_OVERHEAD bytes): a new
 * random nonce, the ciphertext, the tag. in may be out +
 * CBT_CIPHER_NONCE_SIZE (encryption in place). 0, -EIO.
 */
int cbt_cipher_seal(struct cbt_cipher *c, const void *aad, size_t aad_len, const void *in,
		    size_t len, uint8_t *out);

/*
 * Open a sealed payload of in_len bytes (at least CBT_CIPHER_OVERHEAD)
 * into out (in_len - CBT_CIPHER_OVERHEAD bytes). -EBADE when the tag does
 * not authenticate payload and aad (tampered with, or another key): out
 * is then wiped, unauthenticated plaintext is never handed out. -EINVAL,
 * -EIO.
 */
int cbt_cipher_open(struct cbt_cipher *c, const void *aad, size_t aad_len, const uint8_t *in,
		    size_t in_len, uint8_t *out);

/*
 * A buffer of at least len bytes owned by the cipher (kept between calls,
 * wiped when freed): where the chunk codec opens a compressed payload
 * before decompressing it. NULL when out of memory.
 */
uint8_t *cbt_cipher_scratch(struct cbt_cipher *c, size_t len);

#endif
