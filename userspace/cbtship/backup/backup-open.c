/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/backup/backup-open.h"
#include "cbtship/backup/context.h"
#include "cbtship/driver/driver.h"
#include "cbtship/repo/chunk-object.h"

int cbtship_backup_lookup(const char *command, struct catalog *c, const char *word,
			  struct catalog_backup **ret)
{
	int r = catalog_backup_find(c, word, cbtship_project(), ret);

	if (r == -ENOENT)
		fprintf(stderr, "cbtship %s: no backup '%s' in project %s\n", command, word,
			cbtship_project());
	else if (r == -ENOTUNIQ)
		fprintf(stderr, "cbtship %s: several backups are named '%s': use the id\n", command,
			word);
	else if (r < 0)
		fprintf(stderr, "cbtship %s: %s\n", command, catalog_error(c));
	return r;
}

int cbtship_backup_repository(const char *command, const struct catalog_backup *b,
			      struct cbt_repository **ret)
{
	char *err = NULL;
	int r = cbt_repository_open(b->service, b->container, 0, ret, &err);

	if (r < 0) {
		fprintf(stderr, "cbtship %s: backup %s: %s\n", command, b->id,
			err ? err : strerror(-r));
		free(err);
	}
	return r;
}

int cbtship_backup_check_key(const char *command, const char *backup_id,
			     struct cbt_repository *repo, const struct cbt_manifest *m)
{
	char *err = NULL;
	int r;

	if (m->encryption == CBT_MANIFEST_ENCRYPTION_NONE) {
		if (m->hashing == CBT_MANIFEST_HASH_SHA256)
			return 0;
		/* Keyed ids without encryption: no cbtship writes that. */
		fprintf(stderr,
			"cbtship %s: backup %s has keyed chunk ids but no encryption: not "
			"supported\n",
			command, backup_id);
		return -EOPNOTSUPP;
	}
	r = cbt_repository_load_key(repo, &err);
	if (r < 0) {
		fprintf(stderr,
			"cbtship %s: backup %s is encrypted, and its key cannot be used: %s\n",
			command, backup_id, err ? err : strerror(-r));
		free(err);
		return r;
	}
	if (r == 0) {
		fprintf(stderr,
			"cbtship %s: backup %s is encrypted (%s, key fingerprint %s): give its key "
			"with --encryption-key-file or backup_encryption_key_file\n",
			command, backup_id, cbt_manifest_encryption_to_string(m->encryption),
			m->key_fingerprint);
		return -ENOKEY;
	}
	if (strcmp(repo->key->fingerprint, m->key_fingerprint) != 0) {
		fprintf(stderr,
			"cbtship %s: backup %s was encrypted with another key: %s has "
			"fingerprint %s, the backup's key %s\n",
			command, backup_id, repo->key->path, repo->key->fingerprint,
			m->key_fingerprint);
		return -EKEYREJECTED;
	}
	return 0;
}

int cbtship_manifest_seal(struct cbt_manifest *m, const struct cbt_key *key)
{
	char mac[CBT_CHUNK_ID_HEX_SIZE];
	int r;

	/* A version 1 manifest (written for an older reader) has no MAC. */
	if (!key || m->version < 2)
		return 0;
	r = cbt_manifest_mac(m, key->mac_key, sizeof(key->mac_key), mac);
	if (r < 0)
		return r;
	free(m->mac);
	m->mac = strdup(mac);
	return m->mac ? 0 : -ENOMEM;
}

int cbtship_manifest_trusted(const struct catalog_backup *b, const struct cbt_manifest *m,
			     const struct cbt_key *key, char *err, size_t errlen)
{
	char hex[CBT_CHUNK_ID_HEX_SIZE];
	int r;

	cbt_chunk_id_to_hex(&m->index.root, hex);
	if (b->index_root && strcmp(b->index_root, hex) != 0) {
		snprintf(err, errlen,
			 "its manifest names index root %s, but the catalog recorded %s when the "
			 "backup was made: the manifest was changed or replaced, refused",
			 hex, b->index_root);
		return -EUCLEAN;
	}
	if (!key || m->encryption == CBT_MANIFEST_ENCRYPTION_NONE)
		return 0;
	r = cbt_manifest_mac_check(m, key->mac_key, sizeof(key->mac_key));
	if (r == -EBADMSG)
		snprintf(err, errlen,
			 "its manifest's MAC is wrong under the key (fingerprint %s): the manifest "
			 "was changed, or not written with this key, refused",
			 key->fingerprint);
	else if (r < 0)
		snprintf(err, errlen, "checking its manifest's MAC: %s", strerror(-r));
	return r < 0 ? r : 0;
}

int cbtship_backup_open_index(const char *command, const struct catalog_backup *b,
			      struct cbt_repository *repo, struct cbt_manifest **ret_manifest,
			      struct cbt_index **ret_index)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL;
	_cleanup_(cbt_index_freep) struct cbt_index *idx = NULL;
	struct cbt_chunk_id probe;
	char *err = NULL;
	int r;

	r = cbt_manifest_read(repo->store, b->id, &m, &err);
	if (r < 0) {
		fprintf(stderr, "cbtship %s: backup %s: manifest: %s\n", command, b->id,
			r == -ENOENT ? "missing from the container (the backup was never "
				       "completed, or its container lost it)"
				     : (err ? err : strerror(-r)));
		free(err);
		return r;
	}
	if (m->volume.size != b->volume_size || m->chunk_size != b->chunk_size) {
		fprintf(stderr,
			"cbtship %s: backup %s: the manifest (%llu bytes, %u-byte chunks) "
			"disagrees "
			"with the catalog (%llu bytes, %u-byte chunks)\n",
			command, b->id, (unsigned long long)m->volume.size, m->chunk_size,
			(unsigned long long)b->volume_size, b->chunk_size);
		return -EUCLEAN;
	}
	r = cbtship_backup_check_key(command, b->id, repo, m);
	if (r < 0)
		return r;
	{
		char why[512];

		r = cbtship_manifest_trusted(b, m, repo->key, why, sizeof(why));
		if (r < 0) {
			fprintf(stderr, "cbtship %s: backup %s: %s\n", command, b->id, why);
			return r;
		}
	}
	if (m->encryption != CBT_MANIFEST_ENCRYPTION_NONE) {
		r = cbt_index_open(repo->store, repo->key_hasher, repo->compressor, &m->index.root,
				   m->nr_chunks, &idx);
		if (r >= 0)
			cbt_index_set_cipher(idx, repo->cipher);
	} else
		r = cbt_index_open(repo->store, repo->hasher, repo->compressor, &m->index.root,
				   m->nr_chunks, &idx);
	if (r >= 0 && m->nr_chunks)
		r = cbt_index_get(idx, 0, &probe);
	if (r < 0) {
		fprintf(stderr, "cbtship %s: backup %s: index: %s\n", command, b->id,
			idx && cbt_index_last_error(idx)->error ? cbt_index_last_error(idx)->message
								: cbt_chunk_strerror(r));
		return r;
	}
	*ret_manifest = TAKE_PTR(m);
	*ret_index = TAKE_PTR(idx);
	return 0;
}

int cbtship_backup_check_stored(const struct catalog_backup *b, char **ret_root_hex, char *err,
				size_t errlen)
{
	_cleanup_(cbt_error_clear) struct cbt_error error = CBT_ERROR_INIT;
	int r = cbt_service_driver(b->service)->check_stored(b, ret_root_hex, &error);

	if (r < 0)
		snprintf(err, errlen, "%s", cbt_error_message(&error));
	return r;
}
