/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libcbt sizes and table lines. Requires: nothing but the host. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libcbt.h"

static void parse_plain_and_units(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(cbt_parse_size("65536", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(cbt_parse_size("64K", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(cbt_parse_size("64KiB", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(cbt_parse_size("1m", &v), 0);
	assert_int_equal(v, 1048576);
	assert_int_equal(cbt_parse_size("4G", &v), 0);
	assert_int_equal(v, UINT64_C(4) << 30);
	assert_int_equal(cbt_parse_size("2 TiB", &v), 0);
	assert_int_equal(v, UINT64_C(2) << 40);
}

static void parse_rejects_garbage(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(cbt_parse_size("", &v), -EINVAL);
	assert_int_equal(cbt_parse_size("K", &v), -EINVAL);
	assert_int_equal(cbt_parse_size("-1", &v), -EINVAL);
	assert_int_equal(cbt_parse_size("12Q", &v), -EINVAL);
	assert_int_equal(cbt_parse_size("1.5G", &v), -EINVAL);
	assert_int_equal(cbt_parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(cbt_parse_size("16777216T", &v), -ERANGE);
	assert_int_equal(v, 7); /* untouched on error */
}

static void format_sizes(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(cbt_format_size(512, buf, sizeof(buf)), "512 B");
	assert_string_equal(cbt_format_size(65536, buf, sizeof(buf)), "64 KiB");
	assert_string_equal(cbt_format_size(1536 * 1024, buf, sizeof(buf)), "1.5 MiB");
	assert_string_equal(cbt_format_size(UINT64_C(4) << 30, buf, sizeof(buf)), "4 GiB");
}

static void block_sizes(void **state)
{
	(void)state;
	assert_int_equal(cbt_block_size_check(4096), 0);
	assert_int_equal(cbt_block_size_check(65536), 0);
	assert_int_equal(cbt_block_size_check(1 << 20), 0);
	assert_int_equal(cbt_block_size_check(2048), -EINVAL);
	assert_int_equal(cbt_block_size_check(2 << 20), -EINVAL);
	assert_int_equal(cbt_block_size_check(12288), -EINVAL);
	assert_int_equal(cbt_block_size_check(0), -EINVAL);
}

static void table_params(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(cbt_table_params("/dev/vdb", "/dev/loop0", 65536, buf, sizeof(buf)), 23);
	assert_string_equal(buf, "/dev/vdb /dev/loop0 128");
	assert_int_equal(cbt_table_params("/dev/vdb", "/dev/loop0", 3000, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(cbt_table_params("/dev/a b", "/dev/loop0", 4096, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(cbt_table_params("/dev/vdb", "/dev/loop0", 4096, buf, 8), -ENOBUFS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_plain_and_units), cmocka_unit_test(parse_rejects_garbage),
		cmocka_unit_test(format_sizes),		 cmocka_unit_test(block_sizes),
		cmocka_unit_test(table_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
