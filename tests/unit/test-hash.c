/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Chunk ids: SHA-256 / HMAC-SHA256 known answers, hex, zero test. Host only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cbtship/hash/chunk-id.h"
#include "cbtship/hash/hasher.h"
#include "cbtship/hash/zero.h"

static void assert_id_hex(const struct cbt_chunk_id *id, const char *hex)
{
	char buf[CBT_CHUNK_ID_HEX_SIZE];

	assert_string_equal(cbt_chunk_id_to_hex(id, buf), hex);
}

static void sha256_known_answers(void **state)
{
	_cleanup_(cbt_hasher_freep) struct cbt_hasher *h = NULL;
	struct cbt_chunk_id id;

	(void)state;
	assert_int_equal(cbt_hasher_new(NULL, 0, &h), 0);
	assert_false(cbt_hasher_is_keyed(h));
	assert_int_equal(cbt_hasher_hash(h, "abc", 3, &id), 0);
	assert_id_hex(&id, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(cbt_hasher_hash(h, "", 0, &id), 0);
	assert_id_hex(&id, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* The context is reused: the same input again gives the same id. */
	assert_int_equal(cbt_hasher_hash(h, "abc", 3, &id), 0);
	assert_id_hex(&id, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* RFC 4231, test case 2: key "Jefe". */
static void hmac_sha256_rfc4231_case2(void **state)
{
	static const char data[] = "what do ya want for nothing?";
	_cleanup_(cbt_hasher_freep) struct cbt_hasher *h = NULL;
	struct cbt_chunk_id id;

	(void)state;
	assert_int_equal(cbt_hasher_new((const uint8_t *)"Jefe", 4, &h), 0);
	assert_true(cbt_hasher_is_keyed(h));
	for (int i = 0; i < 3; i++) { /* re-initialised with the same key each time */
		assert_int_equal(cbt_hasher_hash(h, data, strlen(data), &id), 0);
		assert_id_hex(&id,
			      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	}
}

static void keys_give_unlinkable_ids(void **state)
{
	_cleanup_(cbt_hasher_freep) struct cbt_hasher *plain = NULL, *k1 = NULL, *k2 = NULL;
	static const uint8_t key1[32] = { 1 }, key2[32] = { 2 };
	uint8_t data[4096];
	struct cbt_chunk_id a, b, c;

	(void)state;
	memset(data, 0x5a, sizeof(data));
	assert_int_equal(cbt_hasher_new(NULL, 0, &plain), 0);
	assert_int_equal(cbt_hasher_new(key1, sizeof(key1), &k1), 0);
	assert_int_equal(cbt_hasher_new(key2, sizeof(key2), &k2), 0);
	assert_int_equal(cbt_hasher_hash(plain, data, sizeof(data), &a), 0);
	assert_int_equal(cbt_hasher_hash(k1, data, sizeof(data), &b), 0);
	assert_int_equal(cbt_hasher_hash(k2, data, sizeof(data), &c), 0);
	assert_false(cbt_chunk_id_equal(&a, &b));
	assert_false(cbt_chunk_id_equal(&a, &c));
	assert_false(cbt_chunk_id_equal(&b, &c));
	/* Same key, same data: same id (deduplication within a repository). */
	assert_int_equal(cbt_hasher_hash(k1, data, sizeof(data), &c), 0);
	assert_true(cbt_chunk_id_equal(&b, &c));
}

static void hasher_rejects_bad_keys(void **state)
{
	struct cbt_hasher *h = NULL;

	(void)state;
	assert_int_equal(cbt_hasher_new((const uint8_t *)"k", 0, &h), -EINVAL);
	assert_int_equal(cbt_hasher_new(NULL, 4, &h), -EINVAL);
	assert_int_equal(cbt_hasher_new(NULL, 0, NULL), -EINVAL);
	assert_null(h);
	assert_null(cbt_hasher_free(NULL));
}

static void hex_round_trip(void **state)
{
	static const char hex[] =
		"00ff10a5b6c7d8e9f0123456789abcdeffedcba9876543210fedcba987654321";
	struct cbt_chunk_id id, id2;
	char buf[CBT_CHUNK_ID_HEX_SIZE];

	(void)state;
	assert_int_equal(cbt_chunk_id_from_hex(hex, &id), 0);
	assert_int_equal(id.bytes[0], 0x00);
	assert_int_equal(id.bytes[1], 0xff);
	assert_int_equal(id.bytes[3], 0xa5);
	assert_int_equal(id.bytes[31], 0x21);
	assert_string_equal(cbt_chunk_id_to_hex(&id, buf), hex);
	assert_int_equal(cbt_chunk_id_from_hex_n(hex, 64, &id2), 0);
	assert_true(cbt_chunk_id_equal(&id, &id2));
	assert_int_equal(cbt_chunk_id_compare(&id, &id2), 0);
	id2.bytes[31]++;
	assert_true(cbt_chunk_id_compare(&id, &id2) < 0);
}

static void hex_rejects(void **state)
{
	static const char good[] =
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	struct cbt_chunk_id id, orig;
	char buf[80];

	(void)state;
	memset(&id, 0x77, sizeof(id));
	orig = id;
	assert_int_equal(cbt_chunk_id_from_hex(NULL, &id), -EINVAL);
	assert_int_equal(cbt_chunk_id_from_hex("", &id), -EINVAL);
	/* Too short, too long. */
	assert_int_equal(cbt_chunk_id_from_hex_n(good, 63, &id), -EINVAL);
	snprintf(buf, sizeof(buf), "%.63s", good);
	assert_int_equal(cbt_chunk_id_from_hex(buf, &id), -EINVAL);
	snprintf(buf, sizeof(buf), "%s0", good);
	assert_int_equal(cbt_chunk_id_from_hex(buf, &id), -EINVAL);
	snprintf(buf, sizeof(buf), "%s\n", good);
	assert_int_equal(cbt_chunk_id_from_hex(buf, &id), -EINVAL);
	/* Uppercase, non-hex, space, sign: one spelling only. */
	snprintf(buf, sizeof(buf), "%s", good);
	buf[0] = 'B';
	assert_int_equal(cbt_chunk_id_from_hex(buf, &id), -EINVAL);
	buf[0] = 'g';
	assert_int_equal(cbt_chunk_id_from_hex(buf, &id), -EINVAL);
	buf[0] = ' ';
	assert_int_equal(cbt_chunk_id_from_hex(buf, &id), -EINVAL);
	buf[0] = 'b';
	buf[63] = 'X';
	assert_int_equal(cbt_chunk_id_from_hex(buf, &id), -EINVAL);
	assert_memory_equal(&id, &orig, sizeof(id)); /* untouched on error */
	assert_int_equal(cbt_chunk_id_from_hex(good, &id), 0);
}

static void zero_detection(void **state)
{
	static uint8_t buf[1024 + 16];

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_true(cbt_is_zero(buf, 0));
	/* Every start alignment and many lengths: zero, then one set byte anywhere. */
	for (size_t off = 0; off < 9; off++) {
		for (size_t len = 1; len <= 300; len += (len < 80 ? 1 : 37)) {
			assert_true(cbt_is_zero(buf + off, len));
			for (size_t i = 0; i < len; i++) {
				buf[off + i] = 0x80;
				assert_false(cbt_is_zero(buf + off, len));
				buf[off + i] = 0;
			}
			/* A byte just outside the range does not count. */
			buf[off + len] = 1;
			assert_true(cbt_is_zero(buf + off, len));
			buf[off + len] = 0;
		}
	}
	buf[1023] = 1;
	assert_false(cbt_is_zero(buf, 1024));
	assert_true(cbt_is_zero(buf, 1023));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_known_answers),
		cmocka_unit_test(hmac_sha256_rfc4231_case2),
		cmocka_unit_test(keys_give_unlinkable_ids),
		cmocka_unit_test(hasher_rejects_bad_keys),
		cmocka_unit_test(hex_round_trip),
		cmocka_unit_test(hex_rejects),
		cmocka_unit_test(zero_detection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
