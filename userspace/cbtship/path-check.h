/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The paths a backup record from elsewhere (backup-import, catalog-rebuild)
 * may name, checked before any becomes a path to open or write.
 */
#ifndef CBTSHIP_PATH_CHECK_H
#define CBTSHIP_PATH_CHECK_H

#include <stdbool.h>

/* A relative path of names: no "." or ".." components, no empty ones, no leading '/'. */
bool cbt_path_clean_relative(const char *path);
/* An absolute path without "." or ".." components, empty components or control characters. */
bool cbt_path_clean_absolute(const char *path);
/* Is dir the directory path or one of its parents? */
bool cbt_path_within(const char *path, const char *dir);

#endif
