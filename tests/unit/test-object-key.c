/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Repository object names and store key validation. Host only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cbt-cleanup.h"
#include "cbtship/repo/object-key.h"
#include "cbtship/store/key.h"

static const char hex[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

static void chunk_and_index_keys(void **state)
{
	char buf[CBT_OBJECT_KEY_SIZE];
	struct cbt_chunk_id id, back;

	(void)state;
	assert_int_equal(cbt_chunk_id_from_hex(hex, &id), 0);
	assert_string_equal(cbt_chunk_key(&id, buf), "chunks/ba/"
						     "ba7816bf8f01cfea414140de5dae2223"
						     "b00361a396177a9cb410ff61f20015ad");
	assert_true(cbt_store_key_valid(buf));
	assert_int_equal(cbt_object_key_parse(CBT_OBJECT_CHUNK, buf, &back), 0);
	assert_true(cbt_chunk_id_equal(&id, &back));
	assert_int_equal(cbt_object_key_parse(CBT_OBJECT_INDEX, buf, &back), -EINVAL);

	cbt_object_key(CBT_OBJECT_INDEX, &id, buf);
	assert_int_equal(strlen(buf), CBT_OBJECT_KEY_SIZE - 1);
	assert_int_equal(strncmp(buf, "indexes/ba/ba7816bf", 19), 0);
	assert_int_equal(cbt_object_key_parse(CBT_OBJECT_INDEX, buf, &back), 0);
	assert_true(cbt_chunk_id_equal(&id, &back));
}

static void chunk_key_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"chunks/bb/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"chunks/BA/BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"chunks/ba/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
		"chunks/ba/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.tmp",
		"chunks/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"chunk/ba/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"chunks/ba",
		"chunks/",
		"",
	};
	struct cbt_chunk_id id;

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(cbt_object_key_parse(CBT_OBJECT_CHUNK, bad[i], &id), -EINVAL);
	assert_int_equal(cbt_object_key_parse(CBT_OBJECT_CHUNK, NULL, &id), -EINVAL);
}

static void manifest_keys(void **state)
{
	char buf[CBT_MANIFEST_KEY_SIZE], id[CBT_BACKUP_ID_MAX + 1], longid[CBT_BACKUP_ID_MAX + 2];

	(void)state;
	assert_int_equal(cbt_manifest_key("7f0c1c5e-2d3b-4b6a-9a51-0f1e2d3c4b5a", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "manifests/7f0c1c5e-2d3b-4b6a-9a51-0f1e2d3c4b5a.json");
	assert_true(cbt_store_key_valid(buf));
	assert_int_equal(cbt_manifest_key_parse(buf, id, sizeof(id)), 0);
	assert_string_equal(id, "7f0c1c5e-2d3b-4b6a-9a51-0f1e2d3c4b5a");

	assert_int_equal(cbt_manifest_key("", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cbt_manifest_key("a/b", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cbt_manifest_key("a.b", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cbt_manifest_key("x", buf, 5), -ENAMETOOLONG);
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(cbt_manifest_key(longid, buf, sizeof(buf)), -EINVAL);
	longid[CBT_BACKUP_ID_MAX] = '\0'; /* exactly the maximum fits */
	assert_int_equal(cbt_manifest_key(longid, buf, sizeof(buf)), 0);

	assert_int_equal(cbt_manifest_key_parse("manifests/.json", id, sizeof(id)), -EINVAL);
	assert_int_equal(cbt_manifest_key_parse("manifests/abc", id, sizeof(id)), -EINVAL);
	assert_int_equal(cbt_manifest_key_parse("manifests/a.b.json", id, sizeof(id)), -EINVAL);
	assert_int_equal(cbt_manifest_key_parse("manifest/abc.json", id, sizeof(id)), -EINVAL);
	assert_int_equal(cbt_manifest_key_parse("manifests/abc.json", id, 3), -EINVAL);
}

static void store_keys(void **state)
{
	static const char *const good[] = { "a", "chunks/ab/cd", "manifests/x-1_2.json",
					    "a.b/c..d/e" };
	static const char *const bad[] = { "",	     "/a", "a/",  "a//b",  ".a", "a/.b", "a/./b",
					   "a/../b", "..", "a b", "a/b\n", "é",	 "a\\b" };
	char longkey[CBT_STORE_KEY_MAX + 2];

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(good); i++)
		assert_true(cbt_store_key_valid(good[i]));
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_false(cbt_store_key_valid(bad[i]));
	assert_false(cbt_store_key_valid(NULL));
	/* Length limits: a key, and one component. */
	memset(longkey, 'a', sizeof(longkey));
	for (size_t i = 100; i < CBT_STORE_KEY_MAX; i += 101)
		longkey[i] = '/';
	longkey[CBT_STORE_KEY_MAX] = '\0';
	assert_true(cbt_store_key_valid(longkey));
	longkey[CBT_STORE_KEY_MAX] = 'a';
	longkey[CBT_STORE_KEY_MAX + 1] = '\0';
	assert_false(cbt_store_key_valid(longkey));
	memset(longkey, 'a', 256);
	longkey[256] = '\0';
	assert_false(cbt_store_key_valid(longkey));
	longkey[255] = '\0';
	assert_true(cbt_store_key_valid(longkey));

	assert_true(cbt_store_prefix_valid(""));
	assert_true(cbt_store_prefix_valid("chunks/"));
	assert_true(cbt_store_prefix_valid("chunks/a"));
	assert_false(cbt_store_prefix_valid("chunks/*"));
	assert_false(cbt_store_prefix_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(chunk_and_index_keys),
		cmocka_unit_test(chunk_key_parse_rejects),
		cmocka_unit_test(manifest_keys),
		cmocka_unit_test(store_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
