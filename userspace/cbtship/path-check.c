/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Paths an imported record may name (see the header). */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "cbtship/path-check.h"

/* A relative path of names: no "." or ".." components, no empty ones, no leading '/'. */
bool cbt_path_clean_relative(const char *path)
{
	const char *p = path;

	if (!*p || *p == '/')
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/')
			p++;
		if (!*p && p[-1] == '/')
			return false;
	}
	return true;
}

/* An absolute path without "." or ".." components, empty components or control characters. */
bool cbt_path_clean_absolute(const char *path)
{
	if (path[0] != '/' || strlen(path) >= PATH_MAX)
		return false;
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return cbt_path_clean_relative(path + 1) || path[1] == '\0';
}

/* Is dir the directory path or one of its parents? */
bool cbt_path_within(const char *path, const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return n && strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}
