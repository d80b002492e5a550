/* SPDX-License-Identifier: GPL-2.0-or-later */
/* AES-256-GCM payload sealing with OpenSSL EVP. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cbtship/encrypt/cipher.h"

struct cbt_cipher {
	EVP_CIPHER *aes;
	EVP_CIPHER_CTX *ctx;
	uint8_t key[CBT_KEY_SIZE];
	uint8_t *scratch; /* decrypted, still compressed payloads */
	size_t scratch_cap;
};

struct cbt_cipher *cbt_cipher_free(struct cbt_cipher *c)
{
	if (!c)
		return NULL;
	EVP_CIPHER_CTX_free(c->ctx);
	EVP_CIPHER_free(c->aes);
	if (c->scratch) {
		OPENSSL_cleanse(c->scratch, c->scratch_cap);
		free(c->scratch);
	}
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
	return NULL;
}

int cbt_cipher_new(const struct cbt_key *key, struct cbt_cipher **ret)
{
	_cleanup_(cbt_cipher_freep) struct cbt_cipher *c = NULL;

	if (!key || !ret)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->aes = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	c->ctx = EVP_CIPHER_CTX_new();
	if (!c->aes || !c->ctx)
		return -ENOMEM;
	if (EVP_CIPHER_get_key_length(c->aes) != CBT_KEY_SIZE ||
	    EVP_CIPHER_get_iv_length(c->aes) != CBT_CIPHER_NONCE_SIZE)
		return -EIO;
	memcpy(c->key, key->data_key, CBT_KEY_SIZE);
	*ret = TAKE_PTR(c);
	return 0;
}

uint8_t *cbt_cipher_scratch(struct cbt_cipher *c, size_t len)
{
	uint8_t *p;

	if (len <= c->scratch_cap)
		return c->scratch;
	p = malloc(len);
	if (!p)
		return NULL;
	if (c->scratch) {
		OPENSSL_cleanse(c->scratch, c->scratch_cap);
		free(c->scratch);
	}
	c->scratch = p;
	c->scratch_cap = len;
	return p;
}

int cbt_cipher_seal(struct cbt_cipher *c, const void *aad, size_t aad_len, const void *in,
		    size_t len, uint8_t *out)
{
	uint8_t *nonce = out, *ct = out + CBT_CIPHER_NONCE_SIZE;
	int n = 0, fin = 0;

	if (len > INT_MAX || aad_len > INT_MAX)
		return -EINVAL;
	/* Never reuse a nonce under a key: a fresh random one per object. */
	if (RAND_bytes(nonce, CBT_CIPHER_NONCE_SIZE) != 1)
		return -EIO;
	if (!EVP_EncryptInit_ex2(c->ctx, c->aes, c->key, nonce, NULL) ||
	    !EVP_EncryptUpdate(c->ctx, NULL, &n, aad, (int)aad_len) ||
	    !EVP_EncryptUpdate(c->ctx, ct, &n, in, (int)len) ||
	    !EVP_EncryptFinal_ex(c->ctx, ct + n, &fin) || (size_t)(n + fin) != len ||
	    !EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_GCM_GET_TAG, CBT_CIPHER_TAG_SIZE, ct + len))
		return -EIO;
	return 0;
}

int cbt_cipher_open(struct cbt_cipher *c, const void *aad, size_t aad_len, const uint8_t *in,
		    size_t in_len, uint8_t *out)
{
	const uint8_t *nonce = in, *ct = in + CBT_CIPHER_NONCE_SIZE;
	size_t len;
	int n = 0, fin = 0;
	uint8_t tag[CBT_CIPHER_TAG_SIZE];

	if (in_len < CBT_CIPHER_OVERHEAD || in_len - CBT_CIPHER_OVERHEAD > INT_MAX ||
	    aad_len > INT_MAX)
		return -EINVAL;
	len = in_len - CBT_CIPHER_OVERHEAD;
	memcpy(tag, ct + len, sizeof(tag));
	if (!EVP_DecryptInit_ex2(c->ctx, c->aes, c->key, nonce, NULL) ||
	    !EVP_DecryptUpdate(c->ctx, NULL, &n, aad, (int)aad_len) ||
	    !EVP_DecryptUpdate(c->ctx, out, &n, ct, (int)len) ||
	    !EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_GCM_SET_TAG, sizeof(tag), tag)) {
		OPENSSL_cleanse(out, len);
		return -EIO;
	}
	if (EVP_DecryptFinal_ex(c->ctx, out + n, &fin) <= 0) {
		/* Whatever was decrypted is unauthenticated: nobody gets to see it. */
		OPENSSL_cleanse(out, len);
		return -EBADE;
	}
	return 0;
}
