/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tracked device above a block device, found through sysfs holders. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "libcbt/libcbt-internal.h"

#define MAX_DEPTH 8

/* The first line of a sysfs file, without its newline. */
static int read_line(const char *path, char *buf, size_t len)
{
	_cleanup_(fclosep) FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		return -EIO;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int sectors_of(const char *devno, uint64_t *ret)
{
	char path[PATH_MAX], line[32];
	int r;

	snprintf(path, sizeof(path), "/sys/dev/block/%s/size", devno);
	r = read_line(path, line, sizeof(line));
	return r < 0 ? r : cbt_parse_u64(line, ret);
}

/* Does the one-target table map all of lower (sectors) one to one? */
static bool maps_whole(const struct cbt_dm_table *t, const char *type, const char *lower,
		       uint64_t sectors)
{
	size_t n = strlen(lower);
	const char *p;

	if (t->n != 1 || strcmp(t->targets[0].type, type) != 0 || t->targets[0].start != 0 ||
	    t->targets[0].length != sectors)
		return false;
	p = t->targets[0].params;
	if (strncmp(p, lower, n) != 0 || p[n] != ' ')
		return false;
	/* linear: "<dev> <offset>"; cbt: "<origin> <metadata> ..." (no offset). */
	return strcmp(type, "cbt") == 0 || strcmp(p + n + 1, "0") == 0;
}

static int walk(const char *devno, bool whole, unsigned depth, char *name, size_t len,
		bool *ret_whole)
{
	_cleanup_(closedirp) DIR *d = NULL;
	char path[PATH_MAX];
	struct dirent *e;
	uint64_t sectors = 0;

	if (depth > MAX_DEPTH)
		return 0;
	if (sectors_of(devno, &sectors) < 0)
		whole = false;
	snprintf(path, sizeof(path), "/sys/dev/block/%s/holders", devno);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		_cleanup_(cbt_dm_table_done) struct cbt_dm_table t = { 0 };
		char holder[32], file[PATH_MAX], dm[DM_NAME_LEN];
		unsigned maj, min;
		int r;

		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "/sys/class/block/%s/dev", e->d_name);
		if (read_line(file, holder, sizeof(holder)) < 0 ||
		    sscanf(holder, "%u:%u", &maj, &min) != 2 ||
		    cbt_dm_name_of(maj, min, dm, sizeof(dm)) < 0 || cbt_dm_get_table(dm, &t) < 0)
			continue;
		if (t.n == 1 && strcmp(t.targets[0].type, "cbt") == 0) {
			snprintf(name, len, "%s", dm);
			*ret_whole = whole && maps_whole(&t, "cbt", devno, sectors);
			return 1;
		}
		r = walk(holder, whole && maps_whole(&t, "linear", devno, sectors), depth + 1, name,
			 len, ret_whole);
		if (r != 0)
			return r;
	}
	return 0;
}

int cbt_device_tracked_above(const char *path, char *name, size_t len, bool *ret_whole)
{
	char devno[32];
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return 0;
	cbt_format_devno(major(st.st_rdev), minor(st.st_rdev), devno, sizeof(devno));
	return walk(devno, true, 0, name, len, ret_whole);
}
