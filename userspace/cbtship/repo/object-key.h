/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Names of the repository's objects in the object store
 * (docs/repository-format.md, "Key layout"):
 *
 *   chunks/<first 2 hex of id>/<64 hex of id>     chunk objects
 *   indexes/<first 2 hex of id>/<64 hex of id>    index pages (repo/index*.c)
 *   manifests/<backup id>.json                    manifests (repo/manifest.c)
 *
 * The two-hex fan-out keeps directories small on POSIX targets (256
 * directories, each 1/256 of the chunks) and spreads object-store
 * partitions.
 */
#ifndef CBTSHIP_REPO_OBJECT_KEY_H
#define CBTSHIP_REPO_OBJECT_KEY_H

#include <stddef.h>

#include "cbtship/hash/chunk-id.h"

/* Content-addressed kinds of object. */
enum cbt_object_kind {
	CBT_OBJECT_CHUNK,
	CBT_OBJECT_INDEX,
	_CBT_OBJECT_KIND_MAX,
};

#define CBT_CHUNK_KEY_PREFIX	"chunks/"
#define CBT_INDEX_KEY_PREFIX	"indexes/"
#define CBT_MANIFEST_KEY_PREFIX "manifests/"
#define CBT_MANIFEST_KEY_SUFFIX ".json"

/* Room for any content-addressed key and its NUL ("indexes/" is longest). */
#define CBT_OBJECT_KEY_SIZE (sizeof(CBT_INDEX_KEY_PREFIX) - 1 + 3 + CBT_CHUNK_ID_HEX_LEN + 1)

/* Longest backup id in a manifest key. */
#define CBT_BACKUP_ID_MAX 128

/* Room for any manifest key and its NUL. */
#define CBT_MANIFEST_KEY_SIZE \
	(sizeof(CBT_MANIFEST_KEY_PREFIX) - 1 + CBT_BACKUP_ID_MAX + sizeof(CBT_MANIFEST_KEY_SUFFIX))

/* The key of a content-addressed object, written into buf; returns buf. */
char *cbt_object_key(enum cbt_object_kind kind, const struct cbt_chunk_id *id,
		     char buf[static CBT_OBJECT_KEY_SIZE]);

/* Shorthand for the key of a chunk. */
static inline char *cbt_chunk_key(const struct cbt_chunk_id *id,
				  char buf[static CBT_OBJECT_KEY_SIZE])
{
	return cbt_object_key(CBT_OBJECT_CHUNK, id, buf);
}

/*
 * Parse a content-addressed key of the given kind back into its id,
 * strictly (prefix, fan-out matching the id, 64 lowercase hex, nothing
 * after). 0 or -EINVAL.
 */
int cbt_object_key_parse(enum cbt_object_kind kind, const char *key, struct cbt_chunk_id *ret);

/*
 * A backup id usable in keys: 1..CBT_BACKUP_ID_MAX characters among
 * [A-Za-z0-9_-] (UUIDs are).
 */
int cbt_backup_id_check(const char *backup_id);

/* "manifests/<backup id>.json" into buf. 0, -EINVAL or -ENAMETOOLONG. */
int cbt_manifest_key(const char *backup_id, char *buf, size_t len);

/*
 * The backup id of a manifest key, into buf (at least CBT_BACKUP_ID_MAX +
 * 1 bytes). 0 or -EINVAL (not a manifest key).
 */
int cbt_manifest_key_parse(const char *key, char *buf, size_t len);

#endif
