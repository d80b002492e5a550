/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The state directory and the default metadata files in it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cbtship/state-dir.h"

/* A copy: the configuration may replace its strings (cbt_config_set()). */
static char state_dir_copy[PATH_MAX];
static const char *state_dir_set;

void cbtship_state_dir_set(const char *dir)
{
	state_dir_set = NULL;
	if (dir && snprintf(state_dir_copy, sizeof(state_dir_copy), "%s", dir) <
			   (int)sizeof(state_dir_copy))
		state_dir_set = state_dir_copy;
}

const char *cbtship_state_dir(void)
{
	const char *dir = state_dir_set ? state_dir_set : getenv(CBTSHIP_STATE_DIR_ENV);

	return dir && *dir ? dir : CBTSHIP_STATE_DIR_DEFAULT;
}

int cbtship_default_metadata_path(const char *name, char *buf, size_t len)
{
	int n;

	if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return -EINVAL;
	n = snprintf(buf, len, "%s/metadata/%s.meta", cbtship_state_dir(), name);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int cbtship_make_parent_dirs(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int cbtship_make_dirs(const char *dir)
{
	char buf[PATH_MAX];
	int n = snprintf(buf, sizeof(buf), "%s/x", dir);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	return cbtship_make_parent_dirs(buf);
}
