/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libcbt status lines, table lines, message results. Requires: nothing but the host. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libcbt.h"

#define UUID "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

static void status_good_no_frozen(void **state)
{
	struct cbt_status s;

	(void)state;
	assert_int_equal(cbt_status_parse("128 1024 17 0 - 0 " UUID " ok", &s), 0);
	assert_int_equal(s.block_sectors, 128);
	assert_int_equal(s.nr_blocks, 1024);
	assert_int_equal(s.current_dirty, 17);
	assert_int_equal(s.checkpoint, 0);
	assert_int_equal(s.frozen_checkpoint, DM_CBT_NO_FROZEN);
	assert_int_equal(s.frozen_dirty, 0);
	assert_string_equal(s.uuid, UUID);
	assert_int_equal(s.state, DM_CBT_STATE_OK_ID);
}

static void status_good_frozen(void **state)
{
	struct cbt_status s;

	(void)state;
	assert_int_equal(cbt_status_parse("8 18446744073709551615 0 7 7 5 " UUID " invalid", &s),
			 0);
	assert_int_equal(s.block_sectors, 8);
	assert_int_equal(s.nr_blocks, UINT64_MAX);
	assert_int_equal(s.checkpoint, 7);
	assert_int_equal(s.frozen_checkpoint, 7);
	assert_int_equal(s.frozen_dirty, 5);
	assert_int_equal(s.state, DM_CBT_STATE_INVALID_ID);
}

static void status_good_variants(void **state)
{
	struct cbt_status s;

	(void)state;
	/* Upper-case UUID digits are stored lower case. */
	assert_int_equal(
		cbt_status_parse("2048 1 1 3 2 1 0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0 error", &s),
		0);
	assert_string_equal(s.uuid, UUID);
	assert_int_equal(s.state, DM_CBT_STATE_ERROR_ID);
	assert_int_equal(s.block_sectors, 2048);
	/* A trailing newline and doubled blanks are not errors. */
	assert_int_equal(cbt_status_parse("128  10 0 0 - 0 " UUID " ok\n", &s), 0);
}

static void status_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"128 1024",					/* the old 2-field line */
		"128 1024 17 0 - 0 " UUID,			/* 7 fields */
		"128 1024 17 0 - 0 " UUID " ok extra",		/* 9 fields */
		"x 1024 17 0 - 0 " UUID " ok",			/* not a number */
		"-128 1024 17 0 - 0 " UUID " ok",		/* sign */
		"+128 1024 17 0 - 0 " UUID " ok",		/* sign */
		"128 1024k 17 0 - 0 " UUID " ok",		/* trailing garbage */
		"128 18446744073709551616 0 0 - 0 " UUID " ok", /* overflow */
		"24 1024 17 0 - 0 " UUID " ok",			/* not a power of two */
		"4 1024 17 0 - 0 " UUID " ok",			/* below 4 KiB */
		"4096 1024 17 0 - 0 " UUID " ok",		/* above 1 MiB */
		"128 1024 1025 0 - 0 " UUID " ok",		/* more dirty than blocks */
		"128 1024 0 3 2 1025 " UUID " ok",		/* frozen dirty > blocks */
		"128 1024 17 0 - 3 " UUID " ok",		/* frozen dirty, no frozen */
		"128 1024 17 3 0 0 " UUID " ok",		/* frozen 0: is "-" */
		"128 1024 17 3 4 0 " UUID " ok",		/* frozen after last */
		"128 1024 17 3 x 0 " UUID " ok",		/* frozen not a number */
		"128 1024 17 0 - 0 0f1e2d3c4b5a69788796a5b4c3d2e1f0 ok",     /* no dashes */
		"128 1024 17 0 - 0 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f ok",  /* short */
		"128 1024 17 0 - 0 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg ok", /* not hex */
		"128 1024 17 0 - 0 0f1e2d3c-4b5a-6978-8796a-5b4c3d2e1f0 ok", /* dash misplaced */
		"128 1024 17 0 - 0 " UUID " OK",			     /* unknown state */
		"128 1024 17 0 - 0 " UUID " broken",			     /* unknown state */
	};
	struct cbt_status s;

	(void)state;
	memset(&s, 0x5a, sizeof(s));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%s\n", bad[i]);
		assert_int_equal(cbt_status_parse(bad[i], &s), -EINVAL);
	}
	assert_int_equal(cbt_status_parse(NULL, &s), -EINVAL);
	assert_int_equal(s.block_sectors, 0x5a5a5a5a); /* untouched */
}

static void states_and_uuids(void **state)
{
	static const uint8_t bytes[16] = { 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
					   0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0 };
	char buf[CBT_UUID_STRING_MAX];
	enum dm_cbt_state st;

	(void)state;
	cbt_uuid_format(bytes, buf);
	assert_string_equal(buf, UUID);
	assert_string_equal(cbt_state_to_string(DM_CBT_STATE_OK_ID), DM_CBT_STATE_OK);
	assert_string_equal(cbt_state_to_string(DM_CBT_STATE_ERROR_ID), DM_CBT_STATE_ERROR);
	assert_null(cbt_state_to_string((enum dm_cbt_state)3));
	assert_int_equal(cbt_state_from_string("invalid", &st), 0);
	assert_int_equal(st, DM_CBT_STATE_INVALID_ID);
	assert_int_equal(cbt_state_from_string("", &st), -EINVAL);
}

static void table_lines(void **state)
{
	struct cbt_table t;

	(void)state;
	assert_int_equal(cbt_table_parse("254:16 7:0 128", &t), 0);
	assert_string_equal(t.origin, "254:16");
	assert_string_equal(t.metadata, "7:0");
	assert_int_equal(t.block_sectors, 128);
	assert_int_equal(cbt_table_parse("254:16 7:0 8 1 format", &t), 0);
	assert_int_equal(t.block_sectors, 8);
	assert_int_equal(cbt_table_parse("254:16 7:0", &t), -EINVAL);
	assert_int_equal(cbt_table_parse("254:16 7:0 100", &t), -EINVAL);
	assert_int_equal(cbt_table_parse("254:16 7:0 8 2 format", &t), -EINVAL);
	assert_int_equal(cbt_table_parse("254:16 7:0 8 1 format x", &t), -EINVAL);
	assert_int_equal(cbt_table_parse("254:16 7:0 8 x", &t), -EINVAL);
}

static void checkpoint_responses(void **state)
{
	uint64_t n = 99;

	(void)state;
	assert_int_equal(cbt_checkpoint_response_parse("1", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(cbt_checkpoint_response_parse("42\n", &n), 0);
	assert_int_equal(n, 42);
	assert_int_equal(cbt_checkpoint_response_parse("", &n), -EINVAL);
	assert_int_equal(cbt_checkpoint_response_parse("0", &n), -EINVAL);
	assert_int_equal(cbt_checkpoint_response_parse("4 2", &n), -EINVAL);
	assert_int_equal(cbt_checkpoint_response_parse("-1", &n), -EINVAL);
	assert_int_equal(cbt_checkpoint_response_parse(NULL, &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_good_no_frozen), cmocka_unit_test(status_good_frozen),
		cmocka_unit_test(status_good_variants),	 cmocka_unit_test(status_malformed),
		cmocka_unit_test(states_and_uuids),	 cmocka_unit_test(table_lines),
		cmocka_unit_test(checkpoint_responses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
