/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SHA-256 / HMAC-SHA256 chunk hashing with OpenSSL 3 EVP. */
#include <errno.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "cbtship/hash/hasher.h"

struct cbt_hasher {
	/* Exactly one of the two: plain digest, or keyed MAC. */
	EVP_MD *md;
	EVP_MD_CTX *md_ctx;
	EVP_MAC *mac;
	EVP_MAC_CTX *mac_ctx;
};

struct cbt_hasher *cbt_hasher_free(struct cbt_hasher *h)
{
	if (!h)
		return NULL;
	EVP_MD_CTX_free(h->md_ctx);
	EVP_MD_free(h->md);
	EVP_MAC_CTX_free(h->mac_ctx);
	EVP_MAC_free(h->mac);
	free(h);
	return NULL;
}

static int hasher_init_mac(struct cbt_hasher *h, const uint8_t *key, size_t key_len)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};

	h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!h->mac)
		return -ENOMEM;
	h->mac_ctx = EVP_MAC_CTX_new(h->mac);
	if (!h->mac_ctx)
		return -ENOMEM;
	/* The key is set once; each hash re-initialises with key NULL. */
	if (!EVP_MAC_init(h->mac_ctx, key, key_len, params))
		return -EIO;
	if (EVP_MAC_CTX_get_mac_size(h->mac_ctx) != CBT_CHUNK_ID_SIZE)
		return -EIO;
	return 0;
}

static int hasher_init_md(struct cbt_hasher *h)
{
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!h->md)
		return -ENOMEM;
	h->md_ctx = EVP_MD_CTX_new();
	if (!h->md_ctx)
		return -ENOMEM;
	if (EVP_MD_get_size(h->md) != CBT_CHUNK_ID_SIZE)
		return -EIO;
	return 0;
}

int cbt_hasher_new(const uint8_t *key, size_t key_len, struct cbt_hasher **ret)
{
	_cleanup_(cbt_hasher_freep) struct cbt_hasher *h = NULL;
	int r;

	if (!ret || (key && key_len == 0) || (!key && key_len != 0))
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	r = key ? hasher_init_mac(h, key, key_len) : hasher_init_md(h);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(h);
	return 0;
}

bool cbt_hasher_is_keyed(const struct cbt_hasher *h)
{
	return h->mac_ctx != NULL;
}

int cbt_hasher_hash(struct cbt_hasher *h, const void *data, size_t len, struct cbt_chunk_id *ret)
{
	if (h->mac_ctx) {
		size_t out = 0;

		if (!EVP_MAC_init(h->mac_ctx, NULL, 0, NULL) ||
		    !EVP_MAC_update(h->mac_ctx, data, len) ||
		    !EVP_MAC_final(h->mac_ctx, ret->bytes, &out, sizeof(ret->bytes)) ||
		    out != CBT_CHUNK_ID_SIZE)
			return -EIO;
		return 0;
	}
	unsigned int out = 0;

	if (!EVP_DigestInit_ex2(h->md_ctx, h->md, NULL) ||
	    !EVP_DigestUpdate(h->md_ctx, data, len) ||
	    !EVP_DigestFinal_ex(h->md_ctx, ret->bytes, &out) || out != CBT_CHUNK_ID_SIZE)
		return -EIO;
	return 0;
}
