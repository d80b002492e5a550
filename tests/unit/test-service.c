/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The registry of back ends (driver/service.h): the words stored on disk,
 * cinder's class and module paths, which spellings each reader takes, and
 * each back end's driver (driver/driver.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cbtship/driver/driver.h"
#include "cbtship/driver/service.h"

/* The words are stored in catalogs, manifests and records: never change. */
static void stored_words(void **state)
{
	static const char *const words[_CBT_SERVICE_MAX] = { "posix", "swift", "ceph", "nfs" };
	enum cbt_service s;

	(void)state;
	assert_int_equal(_CBT_SERVICE_MAX, 4);
	for (int i = 0; i < _CBT_SERVICE_MAX; i++) {
		assert_string_equal(cbt_service_to_string((enum cbt_service)i), words[i]);
		assert_int_equal(cbt_service_from_string(words[i], &s), 0);
		assert_int_equal(s, i);
	}
	assert_null(cbt_service_to_string(_CBT_SERVICE_MAX));
	assert_null(cbt_service_to_string((enum cbt_service) - 1));
	assert_int_equal(cbt_service_from_string("Swift", &s), -EINVAL);
	assert_int_equal(cbt_service_from_string("", &s), -EINVAL);
	assert_int_equal(cbt_service_from_string(NULL, &s), -EINVAL);
}

static void cinder_paths(void **state)
{
	enum cbt_service s;

	(void)state;
	assert_string_equal(cbt_service_cinder_class(CBT_SERVICE_POSIX),
			    "cinder.backup.drivers.posix.PosixBackupDriver");
	assert_string_equal(cbt_service_cinder_class(CBT_SERVICE_SWIFT),
			    "cinder.backup.drivers.swift.SwiftBackupDriver");
	assert_string_equal(cbt_service_cinder_class(CBT_SERVICE_CEPH),
			    "cinder.backup.drivers.ceph.CephBackupDriver");
	assert_string_equal(cbt_service_cinder_class(CBT_SERVICE_NFS),
			    "cinder.backup.drivers.nfs.NFSBackupDriver");
	assert_null(cbt_service_cinder_class(_CBT_SERVICE_MAX));

	/* A record's backup_service: class paths and our exact names. */
	assert_int_equal(cbt_service_from_record("cinder.backup.drivers.nfs.NFSBackupDriver", &s),
			 0);
	assert_int_equal(s, CBT_SERVICE_NFS);
	assert_int_equal(cbt_service_from_record("ceph", &s), 0);
	assert_int_equal(s, CBT_SERVICE_CEPH);
	assert_int_equal(cbt_service_from_record("cinder.backup.drivers.nfs", &s), -EINVAL);
	assert_int_equal(cbt_service_from_record("NFS", &s), -EINVAL);

	/* backup_driver: names in any case, module and class paths. */
	assert_int_equal(cbt_service_from_config("SWIFT", &s), 0);
	assert_int_equal(s, CBT_SERVICE_SWIFT);
	assert_int_equal(cbt_service_from_config("cinder.backup.drivers.posix", &s), 0);
	assert_int_equal(s, CBT_SERVICE_POSIX);
	assert_int_equal(cbt_service_from_config("cinder.backup.drivers.ceph.CephBackupDriver", &s),
			 0);
	assert_int_equal(s, CBT_SERVICE_CEPH);
	assert_int_equal(cbt_service_from_config("cinder.backup.drivers.gcs", &s), -EOPNOTSUPP);
	assert_int_equal(cbt_service_from_config("tape", &s), -EINVAL);
}

/* Every back end has a complete driver of this version; what each can do. */
static void drivers(void **state)
{
	(void)state;
	for (int i = 0; i < _CBT_SERVICE_MAX; i++) {
		const struct cbt_driver *d = cbt_service_driver((enum cbt_service)i);

		assert_non_null(d);
		assert_int_equal(d->version, CBT_DRIVER_VERSION);
		assert_non_null(d->name);
		assert_non_null(d->title);
		assert_non_null(d->ping);
		assert_non_null(d->check_stored);
		assert_non_null(d->open_reader);
		assert_non_null(d->release);
		assert_non_null(d->reacquire);
		assert_non_null(d->restore);
		assert_non_null(d->close_reader);
		assert_non_null(d->verify);
		assert_non_null(d->holds);
		assert_non_null(d->container_allowed);
		assert_non_null(d->delete);
		if (!(d->flags & CBT_DRIVER_COLLECTS))
			assert_non_null(d->no_garbage);
	}
	assert_null(cbt_service_driver(_CBT_SERVICE_MAX));
	assert_ptr_equal(cbt_service_driver(CBT_SERVICE_POSIX), &cbt_chunked_driver);
	assert_ptr_equal(cbt_service_driver(CBT_SERVICE_SWIFT), &cbt_chunked_driver);
	assert_ptr_equal(cbt_service_driver(CBT_SERVICE_NFS), &cbt_chunked_driver);
	assert_ptr_equal(cbt_service_driver(CBT_SERVICE_CEPH), &cbt_ceph_driver);
	/* Ceph: no encryption, no manifests to rebuild from, nothing to collect, no index. */
	assert_int_equal(cbt_ceph_driver.flags, 0);
	assert_int_equal(cbt_chunked_driver.flags, CBT_DRIVER_ENCRYPTS | CBT_DRIVER_DEDUPLICATES |
							   CBT_DRIVER_SELF_DESCRIBING |
							   CBT_DRIVER_COLLECTS |
							   CBT_DRIVER_INDEXED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stored_words),
		cmocka_unit_test(cinder_paths),
		cmocka_unit_test(drivers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
