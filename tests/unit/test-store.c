/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The generic object-store wrapper, with a fake backend. Host only. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cbtship/store/store.h"

struct fake {
	int calls;
	int freed;
};

static int fake_put(void *data, const char *key, const void *buf, size_t len)
{
	(void)key, (void)buf, (void)len;
	((struct fake *)data)->calls++;
	return 0;
}

static int fake_get(void *data, const char *key, size_t max_len, void **ret_buf, size_t *ret_len)
{
	(void)key, (void)max_len, (void)ret_buf, (void)ret_len;
	((struct fake *)data)->calls++;
	return -ENOENT;
}

static int fake_exists(void *data, const char *key)
{
	(void)key;
	((struct fake *)data)->calls++;
	return 0;
}

static int fake_delete(void *data, const char *key)
{
	(void)key;
	((struct fake *)data)->calls++;
	return -ENOENT;
}

static int fake_list(void *data, const char *prefix, cbt_store_list_fn fn, void *userdata)
{
	((struct fake *)data)->calls++;
	assert_non_null(prefix);
	return fn("k", userdata);
}

static void fake_free(void *data)
{
	((struct fake *)data)->freed++;
}

static const struct cbt_store_ops fake_ops = {
	.version = CBT_STORE_OPS_VERSION,
	.name = "fake",
	.put = fake_put,
	.get = fake_get,
	.exists = fake_exists,
	.delete = fake_delete,
	.list = fake_list,
	.free = fake_free,
};

static int count_cb(const char *key, void *userdata)
{
	(void)key;
	(*(int *)userdata)++;
	return 0;
}

static void wraps_backend(void **state)
{
	struct fake f = { 0 };
	struct cbt_store *s = NULL;
	void *buf;
	size_t len;
	int n = 0;

	(void)state;
	assert_int_equal(cbt_store_new(&fake_ops, &f, &s), 0);
	assert_string_equal(cbt_store_name(s), "fake");
	assert_int_equal(cbt_store_put(s, "a/b", "x", 1), 0);
	assert_int_equal(cbt_store_get(s, "a/b", 0, &buf, &len), -ENOENT);
	assert_int_equal(cbt_store_exists(s, "a/b"), 0);
	assert_int_equal(cbt_store_delete(s, "a/b"), -ENOENT);
	assert_int_equal(cbt_store_list(s, NULL, count_cb, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(f.calls, 5);
	/* Invalid keys never reach the backend. */
	assert_int_equal(cbt_store_put(s, "../etc/passwd", "x", 1), -EINVAL);
	assert_int_equal(cbt_store_get(s, "/abs", 0, &buf, &len), -EINVAL);
	assert_int_equal(cbt_store_exists(s, "a//b"), -EINVAL);
	assert_int_equal(cbt_store_delete(s, ".tmp-1-2"), -EINVAL);
	assert_int_equal(cbt_store_list(s, "a b", count_cb, &n), -EINVAL);
	assert_int_equal(cbt_store_put(s, "a", NULL, 1), -EINVAL);
	assert_int_equal(f.calls, 5);
	assert_null(cbt_store_free(s));
	assert_int_equal(f.freed, 1);
	assert_null(cbt_store_free(NULL));
}

static void rejects_bad_ops(void **state)
{
	struct cbt_store_ops ops = fake_ops;
	struct cbt_store *s = NULL;
	struct fake f = { 0 };

	(void)state;
	ops.version = CBT_STORE_OPS_VERSION + 1;
	assert_int_equal(cbt_store_new(&ops, &f, &s), -EPROTONOSUPPORT);
	ops = fake_ops;
	ops.list = NULL;
	assert_int_equal(cbt_store_new(&ops, &f, &s), -EINVAL);
	ops = fake_ops;
	ops.name = NULL;
	assert_int_equal(cbt_store_new(&ops, &f, &s), -EINVAL);
	assert_int_equal(cbt_store_new(NULL, &f, &s), -EINVAL);
	assert_null(s);
	assert_int_equal(f.freed, 0); /* on failure the caller keeps its data */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wraps_backend),
		cmocka_unit_test(rejects_bad_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
