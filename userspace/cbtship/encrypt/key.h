/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Backup encryption keys. A key file holds 32 random bytes, raw or as 64
 * hex digits (optionally followed by a newline), and must not be
 * accessible to group or others. From that master key HKDF-SHA256
 * derives three independent subkeys, so that neither use can weaken the
 * other:
 *
 *   id_key    HMAC-SHA256 chunk and index page ids (equal data under two
 *             keys gets unrelated ids, so objects cannot be linked);
 *   data_key  AES-256-GCM of chunk and index page payloads;
 *   mac_key   HMAC-SHA256 of manifests (cbt_manifest_mac()), so that a
 *             manifest changed in the store (another index root) is
 *             refused.
 *
 * The fingerprint (cbt_manifest_key_fingerprint() of the master key) is
 * what manifests record: it names the key without revealing it.
 *
 * Every copy of key material is wiped (OPENSSL_cleanse) when freed.
 */
#ifndef CBTSHIP_ENCRYPT_KEY_H
#define CBTSHIP_ENCRYPT_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "cbt-cleanup.h"
#include "cbtship/repo/manifest.h"

#define CBT_KEY_SIZE 32

struct cbt_key {
	uint8_t id_key[CBT_KEY_SIZE];			/* HMAC-SHA256 ids */
	uint8_t data_key[CBT_KEY_SIZE];			/* AES-256-GCM */
	uint8_t mac_key[CBT_KEY_SIZE];			/* HMAC-SHA256 of manifests */
	char fingerprint[CBT_KEY_FINGERPRINT_HEX_SIZE]; /* of the master key */
	char *path;					/* where it came from, or NULL */
};

/* Derive the subkeys and fingerprint of a 32-byte master key. 0, -ENOMEM, -EIO. */
int cbt_key_from_bytes(const uint8_t master[static CBT_KEY_SIZE], struct cbt_key **ret);

/*
 * Load a key file. 0, or a negative errno with a message naming the file
 * in *ret_error (to free()): -EPERM when group or others may access it
 * (its mode is given), -EINVAL when it does not hold a key of the right
 * size, or the error of opening or reading it.
 */
int cbt_key_load(const char *path, struct cbt_key **ret, char **ret_error);

/* Wipes and frees; always returns NULL. */
struct cbt_key *cbt_key_free(struct cbt_key *k);
CBT_DEFINE_CLEANUP(struct cbt_key *, cbt_key_free, cbt_key_freep)

#endif
