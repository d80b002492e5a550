/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The RBD target's names (cinder's layout) and its failures without a
 * cluster. Host only; tests/integration/rbd-target.sh runs it against a
 * real Ceph.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cbt-cleanup.h"
#include "cbtship/driver/ceph/rbd-image.h"

static void image_names(void **state)
{
	char buf[CBT_RBD_IMAGE_NAME_MAX], small[16], long_id[200];

	(void)state;
	assert_int_equal(
		cbt_rbd_image_name("0f5e4b1c-8d2a-4c6e-9b3f-1a2b3c4d5e6f", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "volume-0f5e4b1c-8d2a-4c6e-9b3f-1a2b3c4d5e6f.backup.base");
	assert_int_equal(cbt_rbd_image_name("vol_1.a:b", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "volume-vol_1.a:b.backup.base");

	assert_int_equal(cbt_rbd_image_name("", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cbt_rbd_image_name(NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cbt_rbd_image_name("a/b", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cbt_rbd_image_name("a@b", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cbt_rbd_image_name("a b", buf, sizeof(buf)), -EINVAL);
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_int_equal(cbt_rbd_image_name(long_id, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cbt_rbd_image_name("12345678", small, sizeof(small)), -ENAMETOOLONG);
}

static void assert_backup_id(const char *snap, const char *want)
{
	_cleanup_(freep) char *id = cbt_rbd_snap_name_backup_id(snap);

	if (!want) {
		assert_null(id);
		return;
	}
	assert_non_null(id);
	assert_string_equal(id, want);
}

static void snapshot_names(void **state)
{
	(void)state;
	/* As cinder names them: backup.<backup id>.snap.<time.time()>. */
	assert_backup_id("backup.5a4d0e1c-1111-2222-3333-444455556666.snap.1700000000.123456",
			 "5a4d0e1c-1111-2222-3333-444455556666");
	assert_backup_id("backup.b0.snap.1700000000", "b0");
	assert_backup_id("backup.a.snap.b.snap.17", "a.snap.b");
	assert_backup_id("backup..snap.17", NULL);
	assert_backup_id("backup.b0", NULL);
	assert_backup_id("snap.b0.snap.1", NULL);
	assert_backup_id("", NULL);
	assert_backup_id(NULL, NULL);
}

static void missing_configuration(void **state)
{
	struct cbt_rbd_config cfg = { .conf = "/nonexistent/ceph.conf", .timeout_seconds = 1 };
	struct cbt_rbd *rbd = NULL;
	char *error = NULL;
	int r;

	(void)state;
	r = cbt_rbd_open(&cfg, &rbd, &error);
	assert_true(r < 0);
	assert_null(rbd);
	assert_non_null(error);
	assert_non_null(strstr(error, "/nonexistent/ceph.conf"));
	free(error);
	error = NULL;
	assert_true(cbt_rbd_ping(&cfg, &error) < 0);
	assert_non_null(error);
	free(error);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(image_names),
		cmocka_unit_test(snapshot_names),
		cmocka_unit_test(missing_configuration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
