/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Where cbtship keeps its state on this host. */
#ifndef CBTSHIP_STATE_DIR_H
#define CBTSHIP_STATE_DIR_H

#include <stddef.h>

#define CBTSHIP_STATE_DIR_DEFAULT "/var/lib/cbtship"
#define CBTSHIP_STATE_DIR_ENV	  "CBTSHIP_STATE_DIR"

/*
 * The configuration's state_path once cbtship_state_dir_set() was called;
 * before, $CBTSHIP_STATE_DIR, or CBTSHIP_STATE_DIR_DEFAULT when unset or
 * empty (which is also the configuration's default).
 */
const char *cbtship_state_dir(void);
void cbtship_state_dir_set(const char *dir);

/*
 * The default metadata file of the tracked device `name`:
 * <state dir>/metadata/<name>.meta. Returns 0, -EINVAL (a name that is no
 * file name) or -ENAMETOOLONG.
 */
int cbtship_default_metadata_path(const char *name, char *buf, size_t len);

/* Make the directory holding path, and its parents (mode 0700). */
int cbtship_make_parent_dirs(const char *path);

/* Make the directory dir itself, and its parents (mode 0700). */
int cbtship_make_dirs(const char *dir);

#endif
