/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Garbage collection of a container, mark and sweep: every index page and
 * chunk that some manifest's index references is marked (in a temporary
 * on-disk SQLite table, so memory stays bounded), then every chunk and
 * page object not marked is deleted. The objects of a deleted backup, of a
 * cancelled or killed one, and orphans of any crash all go the same way.
 *
 * Call it holding the container's lock exclusively (no backup running in
 * the container), else a chunk a running backup has just found present
 * could go. A manifest that cannot be read stops the collection before
 * anything is deleted: what it references is unknown.
 *
 * Encrypted backups: their index pages are sealed, so walking them needs
 * the key (repo's configured one, loaded on the first encrypted manifest).
 * A manifest whose key is missing or another (fingerprints differ) stops
 * the collection likewise, before anything is deleted: correctness first,
 * never delete what some manifest may reference. So a container should
 * hold the backups of one key (and plain ones); in a container shared by
 * several keys deletes succeed but collection stops (the record is left
 * error_deleting, the garbage stays). docs/repository-format.md says why
 * index pages are not left readable without the key instead.
 */
#ifndef CBTSHIP_REPO_GC_H
#define CBTSHIP_REPO_GC_H

#include <stdint.h>

#include "cbtship/repo/repository.h"

struct cbt_gc_stats {
	uint64_t manifests;
	uint64_t objects_marked; /* distinct objects referenced */
	uint64_t chunks_deleted;
	uint64_t pages_deleted;
};

int cbt_repository_collect(struct cbt_repository *repo, struct cbt_gc_stats *ret, char **ret_error);

#endif
