/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The back ends cbtship ships backups to: one enum and one name table for
 * the configuration (backup_driver), the catalog (backups.service, the
 * garbage marks), manifests and backup records (their "service" field).
 * The words are cinder's backup_service names and are stored on disk:
 * never renumber or rename one. driver/backend.c holds the table.
 */
#ifndef CBTSHIP_DRIVER_SERVICE_H
#define CBTSHIP_DRIVER_SERVICE_H

enum cbt_service {
	CBT_SERVICE_POSIX, /* "posix" */
	CBT_SERVICE_SWIFT, /* "swift" */
	CBT_SERVICE_CEPH,  /* "ceph" */
	CBT_SERVICE_NFS,   /* "nfs" */
	_CBT_SERVICE_MAX,
};

/* "posix", "swift", "ceph", "nfs"; NULL when out of range. */
const char *cbt_service_to_string(enum cbt_service s);

/* Our names, exactly (the catalog's and manifests' words). 0 or -EINVAL. */
int cbt_service_from_string(const char *word, enum cbt_service *ret);

/*
 * cinder's class path of the back end's driver
 * ("cinder.backup.drivers.swift.SwiftBackupDriver"), as cinder writes it
 * in a backup record's backup_service.
 */
const char *cbt_service_cinder_class(enum cbt_service s);

/*
 * backup_service of an imported record: cinder's class path, or one of
 * our names exactly. 0 or -EINVAL.
 */
int cbt_service_from_record(const char *word, enum cbt_service *ret);

/*
 * backup_driver of the configuration: one of our names in any case,
 * cinder's module path ("cinder.backup.drivers.swift") or class path.
 * 0; -EOPNOTSUPP for another cinder driver ("cinder.backup.drivers.*");
 * -EINVAL for anything else.
 */
int cbt_service_from_config(const char *word, enum cbt_service *ret);

#endif
