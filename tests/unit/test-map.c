/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbt_map: bits, counts, runs, kernel chunks. Requires: nothing but the host. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libcbt.h"

/* Collect the runs of map as "first+count ..." for easy comparison. */
static const char *runs(const struct cbt_map *map, char *buf, size_t len)
{
	uint64_t cursor = 0, first, count;
	size_t used = 0;

	buf[0] = '\0';
	while (cbt_map_next_run(map, &cursor, &first, &count) > 0) {
		int n = snprintf(buf + used, len - used, "%s%llu+%llu", used ? " " : "",
				 (unsigned long long)first, (unsigned long long)count);
		assert_true(n > 0 && (size_t)n < len - used);
		used += (size_t)n;
	}
	assert_int_equal(cursor, cbt_map_nr_blocks(map));
	return buf;
}

static void empty(void **state)
{
	struct cbt_map *m;
	char buf[256];

	(void)state;
	assert_int_equal(cbt_map_new(1000, &m), 0);
	assert_int_equal(cbt_map_nr_blocks(m), 1000);
	assert_int_equal(cbt_map_count(m), 0);
	assert_string_equal(runs(m, buf, sizeof(buf)), "");
	assert_false(cbt_map_test(m, 0));
	assert_false(cbt_map_test(m, 5000));
	cbt_map_free(m);

	assert_int_equal(cbt_map_new(0, &m), 0);
	assert_string_equal(runs(m, buf, sizeof(buf)), "");
	assert_int_equal(cbt_map_set(m, 0), -ERANGE);
	cbt_map_free(m);
}

static void full(void **state)
{
	static const uint64_t sizes[] = { 1, 63, 64, 65, 128, 1000 };
	char buf[256], want[64];

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct cbt_map *m;

		assert_int_equal(cbt_map_new(sizes[i], &m), 0);
		assert_int_equal(cbt_map_set_range(m, 0, sizes[i]), 0);
		assert_int_equal(cbt_map_count(m), sizes[i]);
		snprintf(want, sizeof(want), "0+%llu", (unsigned long long)sizes[i]);
		assert_string_equal(runs(m, buf, sizeof(buf)), want);
		cbt_map_free(m);
	}
}

static void first_and_last(void **state)
{
	struct cbt_map *m;
	char buf[256];

	(void)state;
	assert_int_equal(cbt_map_new(130, &m), 0);
	assert_int_equal(cbt_map_set(m, 0), 0);
	assert_int_equal(cbt_map_set(m, 129), 0);
	assert_int_equal(cbt_map_set(m, 130), -ERANGE);
	assert_true(cbt_map_test(m, 0));
	assert_true(cbt_map_test(m, 129));
	assert_false(cbt_map_test(m, 128));
	assert_int_equal(cbt_map_count(m), 2);
	assert_string_equal(runs(m, buf, sizeof(buf)), "0+1 129+1");
	cbt_map_free(m);
}

static void across_words(void **state)
{
	struct cbt_map *m;
	char buf[256];

	(void)state;
	assert_int_equal(cbt_map_new(300, &m), 0);
	assert_int_equal(cbt_map_set_range(m, 60, 10), 0);  /* 60..69 over 64 */
	assert_int_equal(cbt_map_set_range(m, 127, 2), 0);  /* 127, 128 */
	assert_int_equal(cbt_map_set_range(m, 190, 70), 0); /* 190..259: whole word 192..255 */
	assert_int_equal(cbt_map_set_range(m, 299, 1), 0);
	assert_int_equal(cbt_map_set_range(m, 299, 2), -ERANGE);
	assert_int_equal(cbt_map_set_range(m, 301, 0), -ERANGE);
	assert_int_equal(cbt_map_set_range(m, 300, 0), 0);
	assert_int_equal(cbt_map_count(m), 10 + 2 + 70 + 1);
	assert_string_equal(runs(m, buf, sizeof(buf)), "60+10 127+2 190+70 299+1");
	/* Adjacent ranges set separately are one run. */
	assert_int_equal(cbt_map_set_range(m, 70, 57), 0);
	assert_string_equal(runs(m, buf, sizeof(buf)), "60+69 190+70 299+1");
	cbt_map_free(m);
}

static void resumed_cursor(void **state)
{
	uint64_t cursor = 0, first, count;
	struct cbt_map *m;

	(void)state;
	assert_int_equal(cbt_map_new(200, &m), 0);
	assert_int_equal(cbt_map_set_range(m, 10, 5), 0);
	assert_int_equal(cbt_map_set_range(m, 100, 100), 0);
	assert_int_equal(cbt_map_next_run(m, &cursor, &first, &count), 1);
	assert_int_equal(first, 10);
	assert_int_equal(count, 5);
	assert_int_equal(cursor, 15);
	cursor = 150; /* a cursor inside a run starts there */
	assert_int_equal(cbt_map_next_run(m, &cursor, &first, &count), 1);
	assert_int_equal(first, 150);
	assert_int_equal(count, 50);
	assert_int_equal(cbt_map_next_run(m, &cursor, &first, &count), 0);
	cbt_map_free(m);
}

static void kernel_chunks(void **state)
{
	static const uint8_t chunk[] = { 0x01, 0x80, 0x00, 0xff };
	static const uint8_t tail[] = { 0x03 };
	static const uint8_t past[] = { 0x04 };
	struct cbt_map *m;
	char buf[256];

	(void)state;
	assert_int_equal(cbt_map_new(42, &m), 0);
	/* bit b of byte i is block first + 8 i + b */
	assert_int_equal(cbt_map_add_bits(m, 0, chunk, sizeof(chunk)), 0);
	assert_string_equal(runs(m, buf, sizeof(buf)), "0+1 15+1 24+8");
	/* blocks 40, 41 are the last; 42 is past the end */
	assert_int_equal(cbt_map_add_bits(m, 40, tail, sizeof(tail)), 0);
	assert_int_equal(cbt_map_add_bits(m, 40, past, sizeof(past)), -EBADMSG);
	assert_int_equal(cbt_map_add_bits(m, 43, tail, 0), -ERANGE);
	/* zero bits past the end are fine */
	assert_int_equal(cbt_map_add_bits(m, 40, (const uint8_t[]){ 0x00, 0x00 }, 2), 0);
	assert_string_equal(runs(m, buf, sizeof(buf)), "0+1 15+1 24+8 40+2");
	assert_int_equal(cbt_map_count(m), 12);
	cbt_map_free(m);
}

/* Word-aligned chunks take the fast path; the result must be the same. */
static void kernel_chunks_word_aligned(void **state)
{
	uint8_t chunk[24] = { 0 };
	struct cbt_map *m;
	char buf[256];

	(void)state;
	assert_int_equal(cbt_map_new(200, &m), 0);
	chunk[0] = 0x01;  /* block 64 */
	chunk[9] = 0x80;  /* block 64 + 79 = 143 */
	chunk[16] = 0xff; /* blocks 192..199, the last eight */
	assert_int_equal(cbt_map_add_bits(m, 64, chunk, 17), 0);
	assert_string_equal(runs(m, buf, sizeof(buf)), "64+1 143+1 192+8");
	/* a longer chunk of zeroes past the end is harmless (ASan watches) */
	assert_int_equal(cbt_map_add_bits(m, 64, chunk, sizeof(chunk)), 0);
	assert_int_equal(cbt_map_count(m), 10);
	chunk[17] = 0x01; /* block 200: past the end */
	assert_int_equal(cbt_map_add_bits(m, 64, chunk, sizeof(chunk)), -EBADMSG);
	assert_int_equal(cbt_map_count(m), 10);
	cbt_map_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty),
		cmocka_unit_test(full),
		cmocka_unit_test(first_and_last),
		cmocka_unit_test(across_words),
		cmocka_unit_test(resumed_cursor),
		cmocka_unit_test(kernel_chunks),
		cmocka_unit_test(kernel_chunks_word_aligned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
