/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A backup record (backup-export's backup_service and backup_url), decoded. */
#ifndef CBTSHIP_BACKUP_BACKUP_RECORD_H
#define CBTSHIP_BACKUP_BACKUP_RECORD_H

#include "cbtship/repo/manifest.h"

/*
 * Decode the record of backup-import: service is "posix", "swift",
 * "ceph", "nfs" or cinder's driver class name, url the backup_url
 * (NUL-terminated). The manifest into *ret; or -EINVAL (unknown service,
 * or a record of another service) or cbt_manifest_import_url()'s error,
 * with a sentence in *ret_error (free()).
 */
int cbtship_backup_record_decode(const char *service, const char *url, struct cbt_manifest **ret,
				 char **ret_error);

#endif
