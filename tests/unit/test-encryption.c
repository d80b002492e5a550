/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Encryption: key files, HKDF subkeys, AES-256-GCM sealed chunk objects
 * (round trips, tampering of every part, wrong and missing keys,
 * unlinkability across keys). Host only.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "cbtship/encrypt/cipher.h"
#include "cbtship/encrypt/key.h"
#include "cbtship/repo/chunk-object.h"
#include "cbtship/repo/manifest.h"
#include "tmpdir.h"

#define RAW (64 * 1024)

static const uint8_t master1[CBT_KEY_SIZE] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
static const uint8_t master2[CBT_KEY_SIZE] = { 42 };

struct fixture {
	struct cbt_key *k1, *k2;
	struct cbt_hasher *plain, *h1, *h2;
	struct cbt_cipher *c1, *c2;
	struct cbt_compressor *zstd;
	uint8_t *text, *noise, *obj, *obj2, *out;
	size_t obj_len;
	struct cbt_chunk_id text_id; /* under k1 */
};

static void fill_text(uint8_t *p, size_t len)
{
	static const char s[] = "CBTSHIP-SECRET-PLAINTEXT ";

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)s[i % (sizeof(s) - 1)];
}

static void fill_noise(uint8_t *p, size_t len)
{
	uint64_t x = 0x243f6a8885a308d3ULL;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 32);
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(cbt_key_from_bytes(master1, &f->k1), 0);
	assert_int_equal(cbt_key_from_bytes(master2, &f->k2), 0);
	assert_int_equal(cbt_hasher_new(NULL, 0, &f->plain), 0);
	assert_int_equal(cbt_hasher_new(f->k1->id_key, CBT_KEY_SIZE, &f->h1), 0);
	assert_int_equal(cbt_hasher_new(f->k2->id_key, CBT_KEY_SIZE, &f->h2), 0);
	assert_int_equal(cbt_cipher_new(f->k1, &f->c1), 0);
	assert_int_equal(cbt_cipher_new(f->k2, &f->c2), 0);
	assert_int_equal(cbt_compressor_new(CBT_COMPRESS_ZSTD, 0, &f->zstd), 0);
	f->text = malloc(RAW);
	f->noise = malloc(RAW);
	f->obj = malloc(cbt_chunk_object_max(RAW));
	f->obj2 = malloc(cbt_chunk_object_max(RAW));
	f->out = malloc(RAW);
	assert_true(f->text && f->noise && f->obj && f->obj2 && f->out);
	fill_text(f->text, RAW);
	fill_noise(f->noise, RAW);
	assert_int_equal(cbt_hasher_hash(f->h1, f->text, RAW, &f->text_id), 0);
	assert_int_equal(cbt_chunk_encode_sealed(f->zstd, f->h1, f->c1, &f->text_id, f->text, RAW,
						 f->obj, cbt_chunk_object_max(RAW), &f->obj_len),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cbt_key_free(f->k1);
	cbt_key_free(f->k2);
	cbt_hasher_free(f->plain);
	cbt_hasher_free(f->h1);
	cbt_hasher_free(f->h2);
	cbt_cipher_free(f->c1);
	cbt_cipher_free(f->c2);
	cbt_compressor_free(f->zstd);
	free(f->text);
	free(f->noise);
	free(f->obj);
	free(f->obj2);
	free(f->out);
	free(f);
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* What a deliberate attacker does after changing bytes: make both CRCs right again. */
static void fix_crcs(uint8_t *obj, size_t len)
{
	put32(obj + 20, (uint32_t)crc32_z(0, obj + 64, len - 64));
	put32(obj + 60, (uint32_t)crc32_z(0, obj, 60));
}

static int decode_with(struct fixture *f, struct cbt_hasher *h, struct cbt_cipher *c,
		       const struct cbt_chunk_id *expected)
{
	size_t n = 0;

	return cbt_chunk_decode_sealed(f->zstd, h, c, expected, f->obj, f->obj_len, f->out, RAW,
				       &n);
}

static bool contains(const uint8_t *hay, size_t len, const char *needle)
{
	return memmem(hay, len, needle, strlen(needle)) != NULL;
}

/* ------------------------------------------------------------------ keys */

static void subkeys_are_distinct(void **state)
{
	struct fixture *f = *state;
	char fp[CBT_KEY_FINGERPRINT_HEX_SIZE];

	assert_memory_not_equal(f->k1->id_key, f->k1->data_key, CBT_KEY_SIZE);
	assert_memory_not_equal(f->k1->id_key, master1, CBT_KEY_SIZE);
	assert_memory_not_equal(f->k1->data_key, master1, CBT_KEY_SIZE);
	assert_memory_not_equal(f->k1->id_key, f->k2->id_key, CBT_KEY_SIZE);
	/* The manifest MAC key is a third, independent one. */
	assert_memory_not_equal(f->k1->mac_key, f->k1->id_key, CBT_KEY_SIZE);
	assert_memory_not_equal(f->k1->mac_key, f->k1->data_key, CBT_KEY_SIZE);
	assert_memory_not_equal(f->k1->mac_key, master1, CBT_KEY_SIZE);
	assert_memory_not_equal(f->k1->mac_key, f->k2->mac_key, CBT_KEY_SIZE);
	/* A key in memory: the process dumps no core from then on. */
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	/* The fingerprint manifests record is the master key's. */
	assert_int_equal(cbt_manifest_key_fingerprint(master1, CBT_KEY_SIZE, fp), 0);
	assert_string_equal(f->k1->fingerprint, fp);
	assert_string_not_equal(f->k1->fingerprint, f->k2->fingerprint);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void key_files(void **state)
{
	struct fixture *f = *state;
	char dir[256], path[512], hex[2 * CBT_KEY_SIZE + 2];
	struct cbt_key *k = NULL;
	char *err = NULL;

	(void)f;
	tmpdir_make(dir, sizeof(dir), "keys");
	snprintf(path, sizeof(path), "%s/key", dir);

	write_file(path, master1, CBT_KEY_SIZE, 0600);
	assert_int_equal(cbt_key_load(path, &k, &err), 0);
	assert_null(err);
	assert_string_equal(k->fingerprint, f->k1->fingerprint);
	assert_memory_equal(k->data_key, f->k1->data_key, CBT_KEY_SIZE);
	assert_string_equal(k->path, path);
	k = cbt_key_free(k);

	for (int i = 0; i < CBT_KEY_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", master1[i]);
	strcat(hex, "\n");
	write_file(path, hex, strlen(hex), 0400);
	assert_int_equal(cbt_key_load(path, &k, &err), 0);
	assert_string_equal(k->fingerprint, f->k1->fingerprint);
	k = cbt_key_free(k);
	write_file(path, hex, strlen(hex) - 1, 0600); /* no newline */
	assert_int_equal(cbt_key_load(path, &k, &err), 0);
	k = cbt_key_free(k);

	/* Readable by others: refused, naming file and mode. */
	write_file(path, master1, CBT_KEY_SIZE, 0644);
	assert_int_equal(cbt_key_load(path, &k, &err), -EPERM);
	assert_null(k);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "0644"));
	free(err);
	write_file(path, master1, CBT_KEY_SIZE, 0640);
	assert_int_equal(cbt_key_load(path, &k, &err), -EPERM);
	free(err);

	/* Wrong sizes and spellings. */
	write_file(path, master1, CBT_KEY_SIZE - 1, 0600);
	assert_int_equal(cbt_key_load(path, &k, &err), -EINVAL);
	assert_non_null(strstr(err, "31 bytes"));
	free(err);
	write_file(path, hex, strlen(hex) - 2, 0600); /* 63 digits */
	assert_int_equal(cbt_key_load(path, &k, &err), -EINVAL);
	free(err);
	hex[5] = 'g';
	write_file(path, hex, strlen(hex), 0600);
	assert_int_equal(cbt_key_load(path, &k, &err), -EINVAL);
	free(err);
	write_file(path, "", 0, 0600);
	assert_int_equal(cbt_key_load(path, &k, &err), -EINVAL);
	free(err);

	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(cbt_key_load(path, &k, &err), -ENOENT);
	assert_non_null(strstr(err, path));
	free(err);
	tmpdir_remove(dir);
}

/* ------------------------------------------------------------ round trips */

static void round_trip(void **state)
{
	struct fixture *f = *state;
	struct cbt_chunk_header h;
	struct cbt_chunk_id id;
	size_t n = 0, len;

	/* Compressible text: compressed, then sealed. */
	assert_int_equal(cbt_chunk_header_parse(f->obj, f->obj_len, &h), 0);
	assert_int_equal(h.flags, CBT_CHUNK_FLAG_KEYED_ID | CBT_CHUNK_FLAG_ENCRYPTED);
	assert_int_equal(h.compression, CBT_COMPRESS_ZSTD);
	assert_int_equal(h.stored_len + 64, f->obj_len);
	assert_true(h.stored_len < RAW);
	assert_int_equal(decode_with(f, f->h1, f->c1, &f->text_id), 0);
	assert_memory_equal(f->out, f->text, RAW);
	assert_false(contains(f->obj, f->obj_len, "SECRET-PLAINTEXT"));

	/* Noise: stored raw, sealed: exactly nonce and tag more. */
	assert_int_equal(cbt_hasher_hash(f->h1, f->noise, RAW, &id), 0);
	assert_int_equal(cbt_chunk_encode_sealed(f->zstd, f->h1, f->c1, &id, f->noise, RAW, f->obj,
						 cbt_chunk_object_max(RAW), &len),
			 0);
	assert_int_equal(len, 64 + RAW + CBT_CIPHER_OVERHEAD);
	assert_int_equal(f->obj[10], CBT_COMPRESS_NONE);
	assert_memory_not_equal(f->obj + 64 + CBT_CIPHER_NONCE_SIZE, f->noise, 64);
	assert_int_equal(
		cbt_chunk_decode_sealed(f->zstd, f->h1, f->c1, &id, f->obj, len, f->out, RAW, &n),
		0);
	assert_int_equal(n, RAW);
	assert_memory_equal(f->out, f->noise, RAW);
	/* One byte short of the sealed size: refused, not overrun. */
	assert_int_equal(cbt_chunk_encode_sealed(f->zstd, f->h1, f->c1, &id, f->noise, RAW, f->obj,
						 cbt_chunk_object_max(RAW) - 1, &len),
			 -ENOBUFS);
	/* Encryption with plain SHA-256 ids is refused. */
	assert_int_equal(cbt_chunk_encode_sealed(f->zstd, f->plain, f->c1, &id, f->noise, RAW,
						 f->obj, cbt_chunk_object_max(RAW), &len),
			 -EINVAL);
}

static void fresh_nonce_per_object(void **state)
{
	struct fixture *f = *state;
	size_t len2;

	assert_int_equal(cbt_chunk_encode_sealed(f->zstd, f->h1, f->c1, &f->text_id, f->text, RAW,
						 f->obj2, cbt_chunk_object_max(RAW), &len2),
			 0);
	assert_int_equal(len2, f->obj_len);
	assert_memory_equal(f->obj, f->obj2, 20); /* magic .. lengths agree */
	assert_memory_not_equal(f->obj + 64, f->obj2 + 64, CBT_CIPHER_NONCE_SIZE);
	assert_memory_not_equal(f->obj + 64 + CBT_CIPHER_NONCE_SIZE,
				f->obj2 + 64 + CBT_CIPHER_NONCE_SIZE, 32);
}

static void two_keys_unlinkable(void **state)
{
	struct fixture *f = *state;
	struct cbt_chunk_id id1, id2, plain;
	size_t len2;

	assert_int_equal(cbt_hasher_hash(f->h2, f->text, RAW, &id2), 0);
	assert_int_equal(cbt_hasher_hash(f->plain, f->text, RAW, &plain), 0);
	id1 = f->text_id;
	assert_false(cbt_chunk_id_equal(&id1, &id2));
	assert_false(cbt_chunk_id_equal(&id1, &plain));
	assert_int_equal(cbt_chunk_encode_sealed(f->zstd, f->h2, f->c2, &id2, f->text, RAW, f->obj2,
						 cbt_chunk_object_max(RAW), &len2),
			 0);
	assert_memory_not_equal(f->obj + 64, f->obj2 + 64, 64);
	assert_memory_not_equal(f->obj + 24, f->obj2 + 24, CBT_CHUNK_ID_SIZE);
}

/* ------------------------------------------------------------ tampering */

static void tampered_ciphertext(void **state)
{
	struct fixture *f = *state;

	f->obj[64 + CBT_CIPHER_NONCE_SIZE + 5] ^= 0x01;
	/* An accident: the CRC says so first. */
	assert_int_equal(decode_with(f, f->h1, f->c1, &f->text_id), -EBADMSG);
	/* On purpose, CRCs fixed: authentication fails, and nothing comes out. */
	fix_crcs(f->obj, f->obj_len);
	memset(f->out, 0, RAW);
	assert_int_equal(decode_with(f, f->h1, f->c1, &f->text_id), -EBADE);
	assert_false(contains(f->out, RAW, "SECRET-PLAINTEXT"));
}

static void tampered_tag(void **state)
{
	struct fixture *f = *state;

	f->obj[f->obj_len - 1] ^= 0x80;
	fix_crcs(f->obj, f->obj_len);
	assert_int_equal(decode_with(f, f->h1, f->c1, &f->text_id), -EBADE);
}

static void tampered_nonce(void **state)
{
	struct fixture *f = *state;

	f->obj[64] ^= 0x01;
	fix_crcs(f->obj, f->obj_len);
	assert_int_equal(decode_with(f, f->h1, f->c1, &f->text_id), -EBADE);
}

static void tampered_header(void **state)
{
	struct fixture *f = *state;
	struct cbt_chunk_id id;

	/* Another id in the header (fetched without an expected id): the AAD differs. */
	f->obj[24] ^= 0x01;
	fix_crcs(f->obj, f->obj_len);
	assert_int_equal(decode_with(f, f->h1, f->c1, NULL), -EBADE);
	f->obj[24] ^= 0x01;
	/* Claims another (valid) raw length. */
	put32(f->obj + 12, le32(f->obj + 12) - 1);
	fix_crcs(f->obj, f->obj_len);
	assert_int_equal(decode_with(f, f->h1, f->c1, &f->text_id), -EBADE);
	put32(f->obj + 12, RAW);
	/* Swapping headers: a header moved onto another sealed payload. */
	assert_int_equal(cbt_hasher_hash(f->h1, f->noise, RAW, &id), 0);
	fix_crcs(f->obj, f->obj_len);
	assert_int_equal(decode_with(f, f->h1, f->c1, &f->text_id), 0);
	f->obj[11] = CBT_CHUNK_FLAG_KEYED_ID; /* drop the encrypted flag */
	fix_crcs(f->obj, f->obj_len);
	assert_int_equal(decode_with(f, f->h1, f->c1, &f->text_id), -ENOKEY);
}

static void wrong_key(void **state)
{
	struct fixture *f = *state;

	/* Right id keying, wrong data key: authentication fails. */
	assert_int_equal(decode_with(f, f->h1, f->c2, &f->text_id), -EBADE);
	assert_int_equal(decode_with(f, f->h2, f->c2, &f->text_id), -EBADE);
	assert_non_null(strstr(cbt_chunk_strerror(-EBADE), "failed authentication"));
	assert_non_null(strstr(cbt_chunk_strerror(-EBADE), "another key"));
}

static void no_key(void **state)
{
	struct fixture *f = *state;
	size_t n = 0, len;
	struct cbt_chunk_id id;

	assert_int_equal(decode_with(f, f->plain, NULL, &f->text_id), -ENOKEY);
	assert_int_equal(decode_with(f, f->h1, NULL, &f->text_id), -ENOKEY);
	assert_int_equal(cbt_chunk_decode(f->zstd, f->plain, &f->text_id, f->obj, f->obj_len,
					  f->out, RAW, &n),
			 -ENOKEY);
	/* And a plain object read with a key: also refused. */
	assert_int_equal(cbt_hasher_hash(f->plain, f->noise, RAW, &id), 0);
	assert_int_equal(cbt_chunk_encode(f->zstd, f->plain, &id, f->noise, RAW, f->obj,
					  cbt_chunk_object_bound(RAW), &len),
			 0);
	assert_int_equal(cbt_chunk_decode_sealed(f->zstd, f->plain, f->c1, &id, f->obj, len, f->out,
						 RAW, &n),
			 -ENOKEY);
}

static void sealed_lengths_checked(void **state)
{
	struct fixture *f = *state;
	struct cbt_chunk_header h;

	/* A sealed payload shorter than nonce and tag. */
	put32(f->obj + 16, CBT_CIPHER_OVERHEAD - 1);
	fix_crcs(f->obj, 64 + CBT_CIPHER_OVERHEAD - 1);
	assert_int_equal(cbt_chunk_header_parse(f->obj, f->obj_len, &h), -ERANGE);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(subkeys_are_distinct),
		T(key_files),
		T(round_trip),
		T(fresh_nonce_per_object),
		T(two_keys_unlinkable),
		T(tampered_ciphertext),
		T(tampered_tag),
		T(tampered_nonce),
		T(tampered_header),
		T(wrong_key),
		T(no_key),
		T(sealed_lengths_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
