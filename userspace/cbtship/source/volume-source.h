/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The source side of a backup: what VOLUME names (a volume of the catalog,
 * a tracked dm device, or a plain block device / image file), its catalog
 * record (made on its first backup), how large it is and whether it is in
 * use.
 */
#ifndef CBTSHIP_SOURCE_VOLUME_SOURCE_H
#define CBTSHIP_SOURCE_VOLUME_SOURCE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "cbtship/catalog/catalog.h"

struct cbt_volume_source {
	struct catalog_volume *volume; /* owned */
	bool tracked;		       /* a dm-cbt device on this host */
	char dm_name[128];	       /* tracked: its dm name */
	char path[PATH_MAX];	       /* the device or file to read (tracked: /dev/mapper/NAME) */
	uint64_t size;		       /* bytes now */
	bool in_use;		       /* open by someone else (a guest, a mount) */
	bool is_block_device;
};

void cbt_volume_source_done(struct cbt_volume_source *s);

/* Flags of cbt_volume_source_resolve(). */
enum {
	CBT_SOURCE_ADD = 1 << 0, /* add a catalog record when it has none */
};

/*
 * Resolve word: a catalog volume (by id or name), else a tracked dm
 * device by name, else a path to a block device or regular file. A new
 * record gets project, chunk_size. 0, or a negative errno with a message
 * in *ret_error (to free()): -ENOENT when nothing matches.
 */
int cbt_volume_source_resolve(struct catalog *c, const char *word, const char *project,
			      uint32_t chunk_size, unsigned flags, struct cbt_volume_source *ret,
			      char **ret_error);

/* Size of an open block device or regular file. 0 or -errno. */
int cbt_fd_size(int fd, uint64_t *ret);

#endif
