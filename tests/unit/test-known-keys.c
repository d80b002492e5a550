/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The known-keys store (store/known-keys.h): exists() of chunk keys from
 * one listing, counted at the inner store (a POSIX store in a mkdtemp
 * directory under a counting wrapper).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "cbtship/store/known-keys.h"
#include "cbtship/store/posix/posix.h"

struct counter {
	struct cbt_store *inner;
	int exists, puts, lists;
};

static int c_put(void *d, const char *key, const void *buf, size_t len)
{
	((struct counter *)d)->puts++;
	return cbt_store_put(((struct counter *)d)->inner, key, buf, len);
}

static int c_get(void *d, const char *key, size_t max, void **buf, size_t *len)
{
	return cbt_store_get(((struct counter *)d)->inner, key, max, buf, len);
}

static int c_exists(void *d, const char *key)
{
	((struct counter *)d)->exists++;
	return cbt_store_exists(((struct counter *)d)->inner, key);
}

static int c_delete(void *d, const char *key)
{
	return cbt_store_delete(((struct counter *)d)->inner, key);
}

static int c_list(void *d, const char *prefix, cbt_store_list_fn fn, void *userdata)
{
	((struct counter *)d)->lists++;
	return cbt_store_list(((struct counter *)d)->inner, prefix, fn, userdata);
}

static int c_flush(void *d)
{
	return cbt_store_flush(((struct counter *)d)->inner);
}

/* The counter owns its inner store, as the known-keys store owns the counter. */
static void c_free(void *d)
{
	cbt_store_free(((struct counter *)d)->inner);
}

static const struct cbt_store_ops counting_ops = {
	.version = CBT_STORE_OPS_VERSION,
	.name = "counting",
	.put = c_put,
	.get = c_get,
	.exists = c_exists,
	.delete = c_delete,
	.list = c_list,
	.flush = c_flush,
	.free = c_free,
	.flags = CBT_STORE_USES_MD5, /* passed on by the wrapper (Swift's ETag) */
};

/* chunks/<2 hex>/<64 hex> of the id p, 0xaa x 7 (its 8-byte prefix), then b x 24. */
static void key_of(char key[80], unsigned p, unsigned b)
{
	int n = snprintf(key, 80, "chunks/%02x/%02x", p, p);

	for (int i = 1; i < 32; i++)
		n += snprintf(key + n, 80 - (size_t)n, "%02x", i < 8 ? 0xaa : b);
}

static void known_keys(void **state)
{
	char dir[64], key[80];
	struct cbt_store *posix = NULL, *counted = NULL, *known = NULL;
	struct counter c = { 0 };

	(void)state;
	tmpdir_make(dir, sizeof(dir), "known-keys");
	assert_int_equal(cbt_posix_store_open(dir, &posix), 0);
	for (unsigned i = 0; i < 3; i++) {
		key_of(key, 0x10 + i, 0xaa);
		assert_int_equal(cbt_store_put(posix, key, "x", 1), 0);
	}
	assert_int_equal(cbt_store_put(posix, "manifests/m.json", "{}", 2), 0);
	assert_int_equal(cbt_store_flush(posix), 0);
	c.inner = posix;
	assert_int_equal(cbt_store_new(&counting_ops, &c, &counted), 0);
	assert_int_equal(cbt_known_keys_store_new(counted, 0, &known), 0);
	assert_int_equal(c.lists, 1);
	assert_string_equal(cbt_store_name(known), "counting");
	assert_int_equal(cbt_store_flags(known), CBT_STORE_USES_MD5);
	assert_int_equal(cbt_store_flags(posix), CBT_STORE_LOCAL);

	/* Absent: answered from the listing, no request. */
	key_of(key, 0x20, 0xaa);
	assert_int_equal(cbt_store_exists(known, key), 0);
	assert_int_equal(c.exists, 0);
	/* Listed: confirmed by the store. */
	key_of(key, 0x11, 0xaa);
	assert_int_equal(cbt_store_exists(known, key), 1);
	assert_int_equal(c.exists, 1);
	/* Same 8-byte prefix, another id: the store says no. */
	key_of(key, 0x11, 0x55);
	assert_int_equal(cbt_store_exists(known, key), 0);
	assert_int_equal(c.exists, 2);
	/* Put since the listing: known. */
	key_of(key, 0x30, 0xcc);
	assert_int_equal(cbt_store_exists(known, key), 0);
	assert_int_equal(cbt_store_put(known, key, "y", 1), 0);
	assert_int_equal(cbt_store_exists(known, key), 1);
	assert_int_equal(c.exists, 3);
	/* Other keys go to the store. */
	assert_int_equal(cbt_store_exists(known, "manifests/m.json"), 1);
	assert_int_equal(c.exists, 4);
	cbt_store_free(known);

	/* More keys than allowed: no listing, every call goes to the store. */
	c = (struct counter){ 0 };
	assert_int_equal(cbt_posix_store_open(dir, &posix), 0);
	c.inner = posix;
	assert_int_equal(cbt_store_new(&counting_ops, &c, &counted), 0);
	assert_int_equal(cbt_known_keys_store_new(counted, 2, &known), 0);
	key_of(key, 0x20, 0xbb);
	assert_int_equal(cbt_store_exists(known, key), 0);
	assert_int_equal(c.exists, 1);
	cbt_store_free(known);
	tmpdir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
