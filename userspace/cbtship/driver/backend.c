/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The registry of back ends: their names, cinder's paths and drivers (service.h). */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "cbtship/driver/driver.h"
#include "cbtship/driver/service.h"

#define CINDER_DRIVERS "cinder.backup.drivers."

static const struct backend {
	const char *name;	   /* ours and cinder's backup_service word */
	const char *cinder_module; /* cinder's backup_driver (old style) */
	const char *cinder_class;  /* cinder's backup_driver, and a record's backup_service */
	const struct cbt_driver *driver;
} backends[_CBT_SERVICE_MAX] = {
	[CBT_SERVICE_POSIX] = { "posix", CINDER_DRIVERS "posix",
				CINDER_DRIVERS "posix.PosixBackupDriver", &cbt_chunked_driver },
	[CBT_SERVICE_SWIFT] = { "swift", CINDER_DRIVERS "swift",
				CINDER_DRIVERS "swift.SwiftBackupDriver", &cbt_chunked_driver },
	[CBT_SERVICE_CEPH] = { "ceph", CINDER_DRIVERS "ceph",
			       CINDER_DRIVERS "ceph.CephBackupDriver", &cbt_ceph_driver },
	[CBT_SERVICE_NFS] = { "nfs", CINDER_DRIVERS "nfs", CINDER_DRIVERS "nfs.NFSBackupDriver",
			      &cbt_chunked_driver },
};

const struct cbt_driver *cbt_service_driver(enum cbt_service s)
{
	return (unsigned)s < _CBT_SERVICE_MAX ? backends[s].driver : NULL;
}

const char *cbt_service_to_string(enum cbt_service s)
{
	return (unsigned)s < _CBT_SERVICE_MAX ? backends[s].name : NULL;
}

const char *cbt_service_cinder_class(enum cbt_service s)
{
	return (unsigned)s < _CBT_SERVICE_MAX ? backends[s].cinder_class : NULL;
}

int cbt_service_from_string(const char *word, enum cbt_service *ret)
{
	if (!word)
		return -EINVAL;
	for (int s = 0; s < _CBT_SERVICE_MAX; s++)
		if (strcmp(word, backends[s].name) == 0) {
			*ret = (enum cbt_service)s;
			return 0;
		}
	return -EINVAL;
}

int cbt_service_from_record(const char *word, enum cbt_service *ret)
{
	if (!word)
		return -EINVAL;
	for (int s = 0; s < _CBT_SERVICE_MAX; s++)
		if (strcmp(word, backends[s].cinder_class) == 0) {
			*ret = (enum cbt_service)s;
			return 0;
		}
	return cbt_service_from_string(word, ret);
}

int cbt_service_from_config(const char *word, enum cbt_service *ret)
{
	if (!word)
		return -EINVAL;
	for (int s = 0; s < _CBT_SERVICE_MAX; s++)
		if (strcasecmp(word, backends[s].name) == 0 ||
		    strcmp(word, backends[s].cinder_module) == 0 ||
		    strcmp(word, backends[s].cinder_class) == 0) {
			*ret = (enum cbt_service)s;
			return 0;
		}
	if (strncmp(word, CINDER_DRIVERS, strlen(CINDER_DRIVERS)) == 0)
		return -EOPNOTSUPP;
	return -EINVAL;
}
