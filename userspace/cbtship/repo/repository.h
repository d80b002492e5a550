/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An open chunk repository: the object store of one container plus what
 * reading and writing its objects needs (the hasher and compressor used
 * for index pages), and the container's lock.
 *
 * A container is where cinder's `--container` points: for the POSIX
 * service an absolute directory, or a name under backup_posix_path
 * (default $state_path/backup); for NFS a name in the mounted
 * backup_share; for Swift a Swift container. The default is the
 * configuration's backup_container (backup_swift_container for Swift),
 * CBT_REPOSITORY_DEFAULT_CONTAINER unless set.
 *
 * What keeps a collection from removing a chunk that a running backup
 * has just found present and referenced is the backup's lease in the
 * store itself (repo/lease.h): it holds between every host sharing the
 * container (a Swift container, a POSIX directory on a share).
 *
 * The lock is an optimisation on top, never the guarantee: backups hold
 * it shared for their run, and a collection started on this host skips at
 * once a container where a backup of this host runs. For POSIX and NFS it
 * is flock() on <container>/.lock; for Swift a lock file in this host's
 * state directory.
 */
#ifndef CBTSHIP_REPO_REPOSITORY_H
#define CBTSHIP_REPO_REPOSITORY_H

#include <stdbool.h>

#include "cbt-cleanup.h"
#include "cbtship/catalog/catalog.h"
#include "cbtship/compress/compressor.h"
#include "cbtship/encrypt/cipher.h"
#include "cbtship/encrypt/key.h"
#include "cbtship/hash/hasher.h"
#include "cbtship/store/store.h"

#define CBT_REPOSITORY_DEFAULT_CONTAINER "volumebackups"

struct cbt_repository {
	struct cbt_store *store;
	struct cbt_hasher *hasher;	   /* unkeyed SHA-256 */
	struct cbt_compressor *compressor; /* zstd, for index pages */
	/*
	 * The encryption key (backup_encryption_key_file, or a command's
	 * --encryption-key-file), loaded by cbt_repository_load_key(); with it
	 * the HMAC hasher and the cipher for encrypted index pages. NULL: none.
	 */
	struct cbt_key *key;
	struct cbt_hasher *key_hasher;
	struct cbt_cipher *cipher;
	enum cbt_service service;
	char *container; /* as recorded in the catalog and manifests */
	char *path;	 /* POSIX, NFS: the directory; NULL otherwise */
	int lock_fd;
	/*
	 * The format new backups are written in: 2, chunks and index pages
	 * in packs (store is then a pack store, repo/pack-store.h, which
	 * reads format-1 loose objects too); 1 only in the tests'
	 * CBTSHIP_WRITE_FORMAT=1 mode (store as the backend opened it).
	 */
	int format;
};

/*
 * Objects the repository's store has written so far: the packs uploaded
 * in format 2, else loose (the caller's count of chunks and pages put).
 */
uint64_t cbt_repository_objects_written(struct cbt_repository *repo, uint64_t loose);

/* Flags of cbt_repository_open(). */
enum {
	CBT_REPOSITORY_CREATE = 1 << 0, /* make the directory when missing */
};

/*
 * Open container (NULL: the default) of service. 0, or a negative errno
 * with a message in *ret_error (to free()).
 */
int cbt_repository_open(enum cbt_service service, const char *container, unsigned flags,
			struct cbt_repository **ret, char **ret_error);
struct cbt_repository *cbt_repository_free(struct cbt_repository *repo);
CBT_DEFINE_CLEANUP(struct cbt_repository *, cbt_repository_free, cbt_repository_freep)

/*
 * Load the encryption key in effect (cbtship_key_file()) into
 * repo, once. 1 when loaded (now or before), 0 when none is configured,
 * or a negative errno with a message naming the file in *ret_error (to
 * free()): mode open to group or others, wrong size, unreadable.
 */
int cbt_repository_load_key(struct cbt_repository *repo, char **ret_error);

/*
 * --encryption-key-file FILE: override backup_encryption_key_file for
 * this run (path is kept, not copied: argv). 0, or -EINVAL (printed,
 * prefixed by command) for an empty path.
 */
int cbtship_set_key_file(const char *command, const char *path);

/* The key file in effect: --encryption-key-file, else the configuration's; NULL: none. */
const char *cbtship_key_file(void);

/*
 * A store of repo's container for leases only (its own connection or
 * directory handle, so that its puts and flushes are not batched with a
 * backup's objects, nor packed). 0, or a negative errno with a message in
 * *ret_error (to free()).
 */
int cbt_repository_lease_store(struct cbt_repository *repo, struct cbt_store **ret,
			       char **ret_error);

struct cbt_lease;

/*
 * A backup's lease (backup_id) in repo's container, taken before the
 * backup reads anything of it; then wait while a collection holds a live
 * gc lease there (a message on stderr says so). 0, or a negative errno
 * with a message in *ret_error (to free()).
 */
int cbt_repository_lease_backup(struct cbt_repository *repo, const char *backup_id,
				struct cbt_lease **ret, char **ret_error);

/*
 * Take the container's lock, shared or exclusive, waiting for it (a
 * message on stderr says why when it has to wait). 0 or -errno.
 */
int cbt_repository_lock(struct cbt_repository *repo, bool exclusive);
/* The same without waiting: -EWOULDBLOCK when another process holds it. */
int cbt_repository_trylock(struct cbt_repository *repo, bool exclusive);
/* Let it go (no-op when not held). */
void cbt_repository_unlock(struct cbt_repository *repo);

#endif
