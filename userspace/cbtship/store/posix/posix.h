/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The POSIX directory object store: a local directory or a mounted share
 * (cinder's backup_share / backup_posix_path). A key is a relative path
 * under the root; its directories are made on demand.
 *
 * put writes a temporary dot-file in the final directory and leaves it
 * pending; a batch of pending objects (up to 1024 objects or 256 MiB, or
 * all of them on flush) is made durable with one syncfs(), renamed to the
 * final names, and the renames made durable with a second syncfs(). So a
 * crash never leaves a partial object under a final name, at the cost of
 * two syncs per batch rather than two fsyncs per object. Pending objects
 * are seen by this store's exists(), get(), delete() and list() (the
 * last two flush first). On any error
 * (ENOSPC included) the temporaries are removed. Directories it creates
 * are fsynced into their parents. delete fsyncs the directory too. Empty
 * fan-out directories are left in place (they are reused).
 *
 * Temporaries orphaned by a crash are dot-files, which list() never shows;
 * removing old ones is left to a repository sweep.
 */
#ifndef CBTSHIP_STORE_POSIX_POSIX_H
#define CBTSHIP_STORE_POSIX_POSIX_H

#include "cbtship/store/store.h"

/*
 * Open the store rooted at the existing directory path. 0, or -ENOENT
 * (no such directory), -ENOTDIR, -EACCES, -ENOMEM...: see
 * cbt_posix_store_strerror().
 */
int cbt_posix_store_open(const char *path, struct cbt_store **ret);

/* A message for an error of this store ("the directory does not exist"). */
const char *cbt_posix_store_strerror(int err);

#endif
