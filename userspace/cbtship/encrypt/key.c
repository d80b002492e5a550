/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Key files, and the HKDF-SHA256 subkeys derived from them. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "cbtship/encrypt/key.h"
#include "cbtship/encrypt/secret.h"

/*
 * Distinct info strings make the subkeys independent: knowing one
 * (say, the HMAC key of an id computation gone wrong) tells nothing about
 * the others. The salt is fixed: the master key is already uniformly
 * random, HKDF only has to separate the uses.
 */
#define HKDF_SALT     "cbtship-backup-key-v1"
#define HKDF_INFO_ID  "cbtship chunk id hmac-sha256 v1"
#define HKDF_INFO_AES "cbtship payload aes-256-gcm v1"
#define HKDF_INFO_MAC "cbtship manifest hmac-sha256 v1"

/* A raw key, or 64 hex digits and a newline, with room to see "too long". */
#define KEY_FILE_READ_MAX 256

struct cbt_key *cbt_key_free(struct cbt_key *k)
{
	if (!k)
		return NULL;
	free(k->path);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
	return NULL;
}

static int hkdf(const uint8_t master[static CBT_KEY_SIZE], const char *info,
		uint8_t out[static CBT_KEY_SIZE])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t len = CBT_KEY_SIZE;
	int r = -EIO;

	if (!ctx)
		return -ENOMEM;
	if (EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0 &&
	    EVP_PKEY_CTX_set1_hkdf_salt(ctx, (const unsigned char *)HKDF_SALT,
					(int)strlen(HKDF_SALT)) > 0 &&
	    EVP_PKEY_CTX_set1_hkdf_key(ctx, master, CBT_KEY_SIZE) > 0 &&
	    EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)info, (int)strlen(info)) > 0 &&
	    EVP_PKEY_derive(ctx, out, &len) > 0 && len == CBT_KEY_SIZE)
		r = 0;
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int cbt_key_from_bytes(const uint8_t master[static CBT_KEY_SIZE], struct cbt_key **ret)
{
	_cleanup_(cbt_key_freep) struct cbt_key *k = NULL;
	int r;

	(void)cbt_secret_hold(); /* key material in memory: no core dump of it */
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	r = hkdf(master, HKDF_INFO_ID, k->id_key);
	if (r >= 0)
		r = hkdf(master, HKDF_INFO_AES, k->data_key);
	if (r >= 0)
		r = hkdf(master, HKDF_INFO_MAC, k->mac_key);
	if (r >= 0)
		r = cbt_manifest_key_fingerprint(master, CBT_KEY_SIZE, k->fingerprint);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(k);
	return 0;
}

static int fail(char **ret_error, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;

	if (ret_error) {
		va_start(ap, fmt);
		if (vasprintf(ret_error, fmt, ap) < 0)
			*ret_error = NULL;
		va_end(ap);
	}
	return r;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 32 raw bytes, or 64 hex digits with an optional final newline. */
static int parse_key(const uint8_t *buf, size_t len, uint8_t master[static CBT_KEY_SIZE])
{
	if (len == CBT_KEY_SIZE) {
		memcpy(master, buf, CBT_KEY_SIZE);
		return 0;
	}
	if (len == 2 * CBT_KEY_SIZE + 1 && buf[len - 1] == '\n')
		len--;
	if (len != 2 * CBT_KEY_SIZE)
		return -EINVAL;
	for (size_t i = 0; i < CBT_KEY_SIZE; i++) {
		int hi = unhex((char)buf[2 * i]), lo = unhex((char)buf[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		master[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int cbt_key_load(const char *path, struct cbt_key **ret, char **ret_error)
{
	_cleanup_(cbt_key_freep) struct cbt_key *k = NULL;
	_cleanup_(closep) int fd = -1;
	uint8_t buf[KEY_FILE_READ_MAX], master[CBT_KEY_SIZE];
	size_t len = 0;
	struct stat st;
	int r;

	if (ret_error)
		*ret_error = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fail(ret_error, -errno, "encryption key file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		return fail(ret_error, -errno, "encryption key file %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(ret_error, -EINVAL, "encryption key file %s is not a regular file",
			    path);
	/* A key others can read is no secret: refuse it before reading it. */
	if (st.st_mode & 077)
		return fail(ret_error, -EPERM,
			    "encryption key file %s has mode %04o: group and others must have "
			    "no access (chmod 600 %s)",
			    path, (unsigned)(st.st_mode & 07777), path);
	(void)cbt_secret_hold();
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			OPENSSL_cleanse(buf, sizeof(buf));
			return fail(ret_error, r, "encryption key file %s: %s", path, strerror(-r));
		}
		if (n == 0 || (len += (size_t)n) == sizeof(buf))
			break;
	}
	r = parse_key(buf, len, master);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (r < 0)
		return fail(ret_error, r,
			    "encryption key file %s holds %s%zu bytes: it must hold a 32-byte key, "
			    "raw or as 64 hex digits",
			    path, len == sizeof(buf) ? "at least " : "", len);
	r = cbt_key_from_bytes(master, &k);
	OPENSSL_cleanse(master, sizeof(master));
	if (r < 0)
		return fail(ret_error, r, "encryption key file %s: deriving the keys: %s", path,
			    strerror(-r));
	k->path = strdup(path);
	if (!k->path)
		return fail(ret_error, -ENOMEM, "out of memory");
	*ret = TAKE_PTR(k);
	return 0;
}
