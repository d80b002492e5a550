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
 */
#ifndef CBTSHIP_BACKUP_GC_H
#define CBTSHIP_BACKUP_GC_H

#include <stdint.h>

#include "cbtship/backup/repository.h"

struct cbt_gc_stats {
	uint64_t manifests;
	uint64_t objects_marked; /* distinct objects referenced */
	uint64_t chunks_deleted;
	uint64_t pages_deleted;
};

int cbt_repository_collect(struct cbt_repository *repo, struct cbt_gc_stats *ret, char **ret_error);

#endif
