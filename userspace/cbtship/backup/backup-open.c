/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/backup/backup-open.h"
#include "cbtship/backup/context.h"
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
	if (m->hashing != CBT_MANIFEST_HASH_SHA256) {
		fprintf(stderr, "cbtship %s: backup %s is encrypted/keyed: not supported yet\n",
			command, b->id);
		return -EOPNOTSUPP;
	}
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
