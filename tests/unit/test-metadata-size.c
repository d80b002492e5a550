/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Metadata sizes and cbtship's default metadata path. Requires: nothing but the host. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cbtship/state-dir.h"
#include "libcbt.h"

#define KiB UINT64_C(1024)
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)
#define TiB (GiB * 1024)

static void nr_blocks(void **state)
{
	(void)state;
	assert_int_equal(cbt_nr_blocks(64 * MiB, 64 * KiB), 1024);
	assert_int_equal(cbt_nr_blocks(64 * MiB + 512, 64 * KiB), 1025); /* partial block */
	assert_int_equal(cbt_nr_blocks(64 * MiB + 100, 64 * KiB), 1024); /* partial sector */
	assert_int_equal(cbt_nr_blocks(4 * KiB, 4 * KiB), 1);
	assert_int_equal(cbt_nr_blocks(0, 4 * KiB), 0);
	assert_int_equal(cbt_nr_blocks(MiB, 3000), 0); /* bad block size */
}

static void metadata_bytes(void **state)
{
	(void)state;
	/* 4 KiB superblock area + 2 areas of round_up(ceil(n / 8), 4096) */
	assert_int_equal(cbt_metadata_bytes(0), 4096);
	assert_int_equal(cbt_metadata_bytes(1), 4096 + 2 * 4096);
	assert_int_equal(cbt_metadata_bytes(8 * 4096), 4096 + 2 * 4096);
	assert_int_equal(cbt_metadata_bytes(8 * 4096 + 1), 4096 + 2 * 8192);
	/* 1 TiB at 64 KiB: 16 Mi blocks, 2 MiB per area */
	assert_int_equal(cbt_metadata_bytes(cbt_nr_blocks(TiB, 64 * KiB)), 4096 + 4 * MiB);
	/* 1 TiB at 4 KiB: 256 Mi blocks, 32 MiB per area */
	assert_int_equal(cbt_metadata_bytes(cbt_nr_blocks(TiB, 4 * KiB)), 4096 + 64 * MiB);
}

static void default_file_size(void **state)
{
	(void)state;
	assert_int_equal(cbt_metadata_default_bytes(64 * MiB, 64 * KiB), MiB);
	assert_int_equal(cbt_metadata_default_bytes(TiB, 64 * KiB), 5 * MiB);
	assert_int_equal(cbt_metadata_default_bytes(TiB, 4 * KiB), 65 * MiB);
	assert_int_equal(cbt_metadata_default_bytes(TiB, 5000), 0);
	assert_true(cbt_metadata_default_bytes(TiB, 4 * KiB) >=
		    cbt_metadata_bytes(cbt_nr_blocks(TiB, 4 * KiB)));
}

static void default_metadata_path(void **state)
{
	char buf[256];

	(void)state;
	unsetenv(CBTSHIP_STATE_DIR_ENV);
	assert_int_equal(cbtship_default_metadata_path("vol1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/var/lib/cbtship/metadata/vol1.meta");
	setenv(CBTSHIP_STATE_DIR_ENV, "/srv/cbt", 1);
	assert_int_equal(cbtship_default_metadata_path("vol1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/srv/cbt/metadata/vol1.meta");
	setenv(CBTSHIP_STATE_DIR_ENV, "", 1);
	assert_string_equal(cbtship_state_dir(), CBTSHIP_STATE_DIR_DEFAULT);
	assert_int_equal(cbtship_default_metadata_path("a/b", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cbtship_default_metadata_path("..", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cbtship_default_metadata_path("", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cbtship_default_metadata_path("vol1", buf, 10), -ENAMETOOLONG);
	unsetenv(CBTSHIP_STATE_DIR_ENV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nr_blocks),
		cmocka_unit_test(metadata_bytes),
		cmocka_unit_test(default_file_size),
		cmocka_unit_test(default_metadata_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
