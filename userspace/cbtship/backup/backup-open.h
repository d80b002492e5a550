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

/*
 * Seal a new manifest: with a key, its MAC (cbt_manifest_mac() under the
 * key's mac_key); without a key, or for a manifest of version 1, nothing.
 * 0 or a negative errno.
 */
int cbtship_manifest_seal(struct cbt_manifest *m, const struct cbt_key *key);

/*
 * May manifest m, read from the store, be trusted for backup b? Its index
 * root must be the one the catalog recorded for b (when it has one), and
 * an encrypted manifest's MAC must be right under key (when given; a
 * version 1 manifest has none). 0, or -EUCLEAN (another root) or
 * -EBADMSG (wrong MAC) with the reason in err.
 */
int cbtship_manifest_trusted(const struct catalog_backup *b, const struct cbt_manifest *m,
			     const struct cbt_key *key, char *err, size_t errlen);

/*
 * Does b's back end hold b as the record describes it? For the chunked
 * repository: its manifest is present, of this backup, and agrees with
 * the record (volume, size, chunk size, parent, tracking generation and
 * checkpoint, and the index root the catalog recorded); for Ceph: the
 * backup's snapshot is on the volume's backup image, of the record's
 * size. 0 (and, for a chunked backup, *ret_root_hex, when not NULL, the
 * manifest's index root to free()), or a negative errno with the reason
 * in err.
 */
int cbtship_backup_check_stored(const struct catalog_backup *b, char **ret_root_hex, char *err,
				size_t errlen);

#endif
