/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What restore, verify and delete start from: the catalog record of the
 * backup named on the command line (by id or name, within the project),
 * its container, and its manifest and index from the container.
 */
#ifndef CBTSHIP_BACKUP_BACKUP_OPEN_H
#define CBTSHIP_BACKUP_BACKUP_OPEN_H

#include "cbtship/repo/repository.h"
#include "cbtship/catalog/catalog.h"
#include "cbtship/repo/index.h"
#include "cbtship/repo/manifest.h"

/* Find the backup (prints the error, prefixed with command, on failure). */
int cbtship_backup_lookup(const char *command, struct catalog *c, const char *word,
			  struct catalog_backup **ret);

/* Open b's container (prints the error on failure). */
int cbtship_backup_repository(const char *command, const struct catalog_backup *b,
			      struct cbt_repository **ret);

/*
 * Whether repo has the key manifest m needs: none for a plain backup; for
 * an encrypted one the configured key (loaded into repo) with the
 * fingerprint m records. Prints why not (missing key: -ENOKEY, another
 * key: -EKEYREJECTED, unusable key file) before anything is read.
 */
int cbtship_backup_check_key(const char *command, const char *backup_id,
			     struct cbt_repository *repo, const struct cbt_manifest *m);

/*
 * Read b's manifest from repo (checking the key an encrypted one needs,
 * see cbtship_backup_check_key) and open its index, checking the manifest
 * against the record (prints the error on failure).
 */
int cbtship_backup_open_index(const char *command, const struct catalog_backup *b,
			      struct cbt_repository *repo, struct cbt_manifest **ret_manifest,
			      struct cbt_index **ret_index);

#endif
