/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The driver path's error (error.h): first error wins, kinds of store errnos. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cbt-cleanup.h"
#include "cbtship/error.h"

static void first_wins(void **state)
{
	_cleanup_(cbt_error_clear) struct cbt_error e = CBT_ERROR_INIT;

	(void)state;
	assert_false(cbt_error_is_set(&e));
	assert_string_equal(cbt_error_message(&e), "");
	assert_int_equal(cbt_error_set(&e, CBT_ERROR_STORE, -ETIMEDOUT, "GET %s: timed out", "k"),
			 -ETIMEDOUT);
	assert_int_equal(cbt_error_set(&e, CBT_ERROR_INTEGRITY, -EBADMSG, "later"), -EBADMSG);
	assert_int_equal(e.kind, CBT_ERROR_STORE);
	assert_int_equal(e.errnum, -ETIMEDOUT);
	assert_string_equal(cbt_error_message(&e), "GET k: timed out");
	cbt_error_clear(&e);
	assert_false(cbt_error_is_set(&e));
	assert_null(e.message);
	/* No kind given: still an error; a positive r is made an errno. */
	assert_int_equal(cbt_error_set(&e, CBT_ERROR_NONE, 5, "x"), 5);
	assert_int_equal(e.kind, CBT_ERROR_LOCAL);
	assert_int_equal(e.errnum, -EIO);
	assert_int_equal(cbt_error_set(NULL, CBT_ERROR_STORE, -EIO, "ignored"), -EIO);
}

static void kinds(void **state)
{
	(void)state;
	assert_int_equal(cbt_error_kind_of_store(0), CBT_ERROR_NONE);
	assert_int_equal(cbt_error_kind_of_store(-ECANCELED), CBT_ERROR_CANCELLED);
	/* Absent or failing its checks: the backup is damaged. */
	assert_int_equal(cbt_error_kind_of_store(-ENOENT), CBT_ERROR_INTEGRITY);
	assert_int_equal(cbt_error_kind_of_store(-EBADMSG), CBT_ERROR_INTEGRITY);
	assert_int_equal(cbt_error_kind_of_store(-EKEYREJECTED), CBT_ERROR_INTEGRITY);
	assert_int_equal(cbt_error_kind_of_store(-ENOKEY), CBT_ERROR_INTEGRITY);
	/* The store's faults are not. */
	assert_int_equal(cbt_error_kind_of_store(-ETIMEDOUT), CBT_ERROR_STORE);
	assert_int_equal(cbt_error_kind_of_store(-EIO), CBT_ERROR_STORE);
	assert_int_equal(cbt_error_kind_of_store(-EAGAIN), CBT_ERROR_STORE);
	assert_int_equal(cbt_error_kind_of_store(-ENOSPC), CBT_ERROR_STORE);
	assert_string_equal(cbt_error_kind_to_string(CBT_ERROR_INTEGRITY), "integrity");
	assert_null(cbt_error_kind_to_string(_CBT_ERROR_KIND_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_wins),
		cmocka_unit_test(kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
