/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-backup manifest (docs/repository-format.md, "Manifest"): one JSON
 * object under manifests/<backup id>.json, written last, so that its
 * presence is the commit point of the backup. It describes the backup
 * completely (volume, parent, chunking, hashing, index root, statistics,
 * tracking state, where it is stored), so that a lost catalog can be
 * rebuilt from the manifests alone, and a backup record can be exported
 * (backup_service + backup_url) and imported elsewhere. It never holds a
 * secret: a keyed repository records only the key's fingerprint.
 *
 * Parsing is strict: every field must be present with its type (null where
 * the field allows it), unknown fields, another format or a newer version
 * are refused, and each failure has its own message naming the field.
 * Functions return 0 or a negative errno; those taking char **ret_error
 * set it (when not NULL) on failure to a one-line message to free():
 *
 *   -EBADMSG          not JSON, or truncated
 *   -EMEDIUMTYPE      JSON, but not a cbtship manifest / backup record
 *   -EPROTONOSUPPORT  a newer version of the format
 *   -EINVAL           a field missing, of the wrong type or out of range
 *   -EOPNOTSUPP       a feature this build does not support (an unknown encryption scheme)
 *   -ENOENT           no manifest for that backup
 *   -EXDEV            the manifest holds another backup than its key says
 *   -EFBIG            larger than CBT_MANIFEST_MAX_SIZE
 *   -ENOMEM, or the store's own errno
 */
#ifndef CBTSHIP_REPO_MANIFEST_H
#define CBTSHIP_REPO_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbt-cleanup.h"
#include "cbtship/driver/service.h"
#include "cbtship/compress/compression.h"
#include "cbtship/hash/chunk-id.h"
#include "cbtship/store/store.h"

#define CBT_MANIFEST_FORMAT "cbtship-manifest"
/*
 * 2: the backup's chunks and index pages are in packs (repository format
 * 2), and an encrypted manifest carries a MAC (field "mac"); 1: loose
 * objects, no MAC. Readers resolve ids the same way for both (a pack
 * entry, else a loose object), so the version says which cbtship can read
 * the backup, not how to read it.
 */
#define CBT_MANIFEST_VERSION 2
#define CBT_RECORD_FORMAT    "cbtship-backup-record"
#define CBT_RECORD_VERSION   1

/* A manifest is a few KiB; refuse to read anything much larger. */
#define CBT_MANIFEST_MAX_SIZE (1024 * 1024)

#define CBT_MANIFEST_CHUNK_SIZE_MIN (4 * 1024)
#define CBT_MANIFEST_CHUNK_SIZE_MAX (16 * 1024 * 1024)

/* SHA-256 fingerprint of a repository key: 64 lowercase hex digits. */
#define CBT_KEY_FINGERPRINT_HEX_SIZE CBT_CHUNK_ID_HEX_SIZE

enum cbt_manifest_hashing {
	CBT_MANIFEST_HASH_SHA256,      /* "sha256": unkeyed repository */
	CBT_MANIFEST_HASH_HMAC_SHA256, /* "hmac-sha256": keyed repository */
	_CBT_MANIFEST_HASH_MAX,
};

/* Payload encryption; "aes-256-gcm" needs "hmac-sha256" hashing. */
enum cbt_manifest_encryption {
	CBT_MANIFEST_ENCRYPTION_NONE,
	CBT_MANIFEST_ENCRYPTION_AES_256_GCM, /* "aes-256-gcm": chunks and index pages sealed */
	_CBT_MANIFEST_ENCRYPTION_MAX,
};

/*
 * A manifest. Every string is owned (malloc()ed, freed by
 * cbt_manifest_free()); "may be NULL" fields are JSON null when NULL, all
 * others are required. Times are microseconds since the epoch, UTC.
 */
struct cbt_manifest {
	int version;	   /* of the format: CBT_MANIFEST_VERSION when new, 1 as read */
	char *mac;	   /* version 2: 64 hex, HMAC of an encrypted one; NULL otherwise */
	char *backup_id;   /* cbt_backup_id_check() */
	char *name;	   /* may be NULL */
	char *description; /* may be NULL */
	char *project;
	struct {
		char *id;	   /* cbt_backup_id_check() (a UUID) */
		char *name;	   /* the volume's name in the catalog */
		uint64_t size;	   /* bytes */
		char *origin_uuid; /* blkid UUID of the origin, may be NULL */
	} volume;
	char *parent_id; /* may be NULL: set iff incremental */
	bool incremental;
	char *snapshot_id; /* snapshot backed up from, may be NULL */
	int64_t created_at;
	int64_t data_timestamp; /* when the data was taken */
	int64_t finished_at;
	uint32_t chunk_size; /* power of two, 64 KiB .. 16 MiB */
	uint64_t nr_chunks;  /* ceil(volume.size / chunk_size) */
	enum cbt_compression compression;
	enum cbt_manifest_hashing hashing;
	char *key_fingerprint; /* 64 hex when keyed, NULL otherwise */
	enum cbt_manifest_encryption encryption;
	struct {
		struct cbt_chunk_id root;
		uint64_t pages;
	} index;
	struct {
		uint64_t bytes_read;
		uint64_t bytes_stored;
		uint64_t chunks_total;
		uint64_t chunks_new;
		uint64_t chunks_zero;
		uint64_t objects_written;
	} stats;
	struct {
		char *generation;	/* dm-cbt generation UUID, NULL: untracked */
		uint64_t checkpoint;	/* checkpoint number shipped, 0: none */
		bool full_read;		/* every chunk was read */
		char *full_read_reason; /* why, may be NULL */
	} tracking;
	enum cbt_service service;
	char *container; /* may be "" (the target's root) */
};

/* A zeroed manifest (sha256, no encryption, posix). 0 or -ENOMEM. */
int cbt_manifest_new(struct cbt_manifest **ret);
/* Always returns NULL. */
struct cbt_manifest *cbt_manifest_free(struct cbt_manifest *m);
CBT_DEFINE_CLEANUP(struct cbt_manifest *, cbt_manifest_free, cbt_manifest_freep)

const char *cbt_manifest_hashing_to_string(enum cbt_manifest_hashing h);
const char *cbt_manifest_encryption_to_string(enum cbt_manifest_encryption e);

/*
 * The fingerprint recorded for a repository key: SHA-256 of
 * "cbtship-key-fingerprint-v1" followed by the key bytes, in hex. It
 * identifies the key without revealing it, and differs from every HMAC
 * chunk id made with the key. 0, -EINVAL (empty key) or -EIO.
 */
int cbt_manifest_key_fingerprint(const uint8_t *key, size_t key_len,
				 char ret[static CBT_KEY_FINGERPRINT_HEX_SIZE]);

/*
 * The MAC of an encrypted manifest (version 2): HMAC-SHA256 under
 * mac_key (the key's manifest subkey, encrypt/key.h) of the compact
 * sorted JSON of m without its "mac" field, as 64 lowercase hex digits.
 * 0, -EINVAL (m does not check), -ENOMEM or -EIO.
 */
int cbt_manifest_mac(const struct cbt_manifest *m, const uint8_t *mac_key, size_t key_len,
		     char ret[static CBT_CHUNK_ID_HEX_SIZE]);

/*
 * Check the MAC of an encrypted manifest: 0 when it is right, 1 when m has
 * none to check (plain, or an encrypted manifest of version 1, which
 * predates MACs: the catalog's index root is then its only protection),
 * -EBADMSG when it is wrong (the manifest was changed, or made without
 * the key).
 */
int cbt_manifest_mac_check(const struct cbt_manifest *m, const uint8_t *mac_key, size_t key_len);

/* Check every field's value and their consistency (what to_json writes). */
int cbt_manifest_check(const struct cbt_manifest *m, char **ret_error);

/* Flags of cbt_manifest_to_json(). */
enum {
	CBT_MANIFEST_JSON_COMPACT = 1 << 0, /* one line; default: indented */
};

/*
 * Serialise m (after cbt_manifest_check()) as a JSON text with sorted keys,
 * NUL-terminated, into *ret (free()).
 */
int cbt_manifest_to_json(const struct cbt_manifest *m, unsigned flags, char **ret,
			 char **ret_error);

/* Parse and check the len bytes at json (no NUL needed). */
int cbt_manifest_from_json(const char *json, size_t len, struct cbt_manifest **ret,
			   char **ret_error);

/*
 * Check m, flush the store (every object the backup wrote becomes
 * durable), put m under cbt_manifest_key(m->backup_id) and flush again:
 * when this returns 0 the backup is committed.
 */
int cbt_manifest_write(struct cbt_store *store, const struct cbt_manifest *m, char **ret_error);

/* Read, parse and check the manifest of backup_id. */
int cbt_manifest_read(struct cbt_store *store, const char *backup_id, struct cbt_manifest **ret,
		      char **ret_error);

/*
 * Called with the backup id of each manifest in the store, in sorted order;
 * as for cbt_store_list_fn, nonzero stops the walk and is returned.
 */
typedef int (*cbt_manifest_list_fn)(const char *backup_id, void *userdata);

/*
 * Enumerate the backups that have a manifest (keys under manifests/ that are
 * not manifest keys are skipped). 0, the callback's value, or the store's
 * errno.
 */
int cbt_manifest_list(struct cbt_store *store, cbt_manifest_list_fn fn, void *userdata);

/*
 * The backup_url of an exported record: base64 of the compact JSON
 * {"format": CBT_RECORD_FORMAT, "version": 1, "service", "container",
 * "manifest": {...}}; everything needed to find and restore the backup, no
 * secret. The backup_service is cbt_service_to_string(m->service).
 */
int cbt_manifest_export_url(const struct cbt_manifest *m, char **ret_url, char **ret_error);

/*
 * Decode a backup_url: -EBADMSG for bad base64 or non-JSON, -EMEDIUMTYPE
 * for another format, -EPROTONOSUPPORT for a newer version, -EINVAL for a
 * bad manifest or service/container that disagree with it.
 */
int cbt_manifest_import_url(const char *url, struct cbt_manifest **ret, char **ret_error);

#endif
