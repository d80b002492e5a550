/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Temporary directories for the unit tests: made fresh, removed whole. */
#ifndef CBT_TEST_TMPDIR_H
#define CBT_TEST_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

/* After <cmocka.h>. */

/* Make $TMPDIR (or /tmp)/cbt-NAME-XXXXXX into buf. */
static inline void tmpdir_make(char *buf, size_t len, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(buf, len, "%s/cbt-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	assert_non_null(mkdtemp(buf));
}

static inline int tmpdir_remove_entry(const char *path, const struct stat *st, int type,
				      struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	remove(path);
	return 0;
}

/* Remove dir and everything below it. */
static inline void tmpdir_remove(const char *dir)
{
	nftw(dir, tmpdir_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
