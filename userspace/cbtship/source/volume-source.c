/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Resolving VOLUME to a catalog record and something to read. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cbtship/source/volume-source.h"
#include "libcbt.h"

static int set_error(char **ret_error, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_error(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;

	if (ret_error) {
		va_start(ap, fmt);
		if (vasprintf(ret_error, fmt, ap) < 0)
			*ret_error = NULL;
		va_end(ap);
	}
	return r;
}

void cbt_volume_source_done(struct cbt_volume_source *s)
{
	s->volume = catalog_volume_free(s->volume);
}

int cbt_fd_size(int fd, uint64_t *ret)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, ret) < 0 ? -errno : 0;
	if (S_ISREG(st.st_mode)) {
		*ret = (uint64_t)st.st_size;
		return 0;
	}
	return -EINVAL;
}

/* Size, kind and use of path. */
static int probe(struct cbt_volume_source *s, char **ret_error)
{
	_cleanup_(closep) int fd = -1;
	struct stat st;
	int r;

	fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return set_error(ret_error, -errno, "%s: %s", s->path, strerror(errno));
	if (fstat(fd, &st) < 0)
		return set_error(ret_error, -errno, "%s: %s", s->path, strerror(errno));
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
		return set_error(ret_error, -EINVAL,
				 "%s is neither a block device nor a regular file", s->path);
	s->is_block_device = S_ISBLK(st.st_mode);
	r = cbt_fd_size(fd, &s->size);
	if (r < 0)
		return set_error(ret_error, r, "%s: size: %s", s->path, strerror(-r));
	if (s->tracked) {
		r = cbt_device_open_count(s->dm_name);
		/* Our own descriptor counts once. */
		s->in_use = r > 1;
	} else if (s->is_block_device) {
		int excl = open(s->path, O_RDONLY | O_EXCL | O_CLOEXEC);

		if (excl < 0 && errno == EBUSY)
			s->in_use = true;
		if (excl >= 0)
			close(excl);
	}
	return 0;
}

static int origin_of_tracked(const char *name, char *buf, size_t len)
{
	struct cbt_table t;
	char desc[256];
	int r;

	r = cbt_device_get_table(name, &t);
	if (r < 0)
		return r;
	r = cbt_device_describe(t.origin, desc, sizeof(desc));
	if (r < 0)
		return r;
	r = snprintf(buf, len, "%s%s", desc[0] == '/' ? "" : "/dev/mapper/", desc);
	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}

int cbt_volume_source_resolve(struct catalog *c, const char *word, const char *project,
			      uint32_t chunk_size, unsigned flags, struct cbt_volume_source *ret,
			      char **ret_error)
{
	_cleanup_(catalog_volume_freep) struct catalog_volume *v = NULL;
	struct cbt_volume_source s = { 0 };
	char origin[PATH_MAX], real[PATH_MAX];
	struct cbt_identity id = { 0 };
	bool known;
	int r;

	if (ret_error)
		*ret_error = NULL;
	r = catalog_volume_get(c, word, &v);
	if (r < 0 && r != -ENOENT)
		return set_error(ret_error, r, "%s", catalog_error(c));
	known = r >= 0;
	if (known) {
		s.tracked = v->tracked;
		if (s.tracked) {
			snprintf(s.dm_name, sizeof(s.dm_name), "%s", v->name);
			if (cbt_device_is_tracked(s.dm_name) <= 0)
				return set_error(
					ret_error, -ENODEV,
					"volume %s is tracked, but /dev/mapper/%s is not a "
					"tracked device on this host now",
					v->name, v->name);
			snprintf(s.path, sizeof(s.path), "/dev/mapper/%s", s.dm_name);
		} else {
			snprintf(s.path, sizeof(s.path), "%s", v->origin_path);
		}
	} else if (!strchr(word, '/') && strlen(word) < sizeof(s.dm_name) &&
		   cbt_device_is_tracked(word) > 0) {
		s.tracked = true;
		snprintf(s.dm_name, sizeof(s.dm_name), "%s", word);
		snprintf(s.path, sizeof(s.path), "/dev/mapper/%s", word);
	} else {
		if (!realpath(word, real))
			return set_error(ret_error, -ENOENT,
					 "no volume, tracked device or file named '%s'", word);
		/* A known volume under its real path? */
		r = catalog_volume_get(c, real, &v);
		if (r < 0 && r != -ENOENT)
			return set_error(ret_error, r, "%s", catalog_error(c));
		known = r >= 0;
		snprintf(s.path, sizeof(s.path), "%s", real);
	}

	r = probe(&s, ret_error);
	if (r < 0)
		return r;

	if (!known) {
		if (!(flags & CBT_SOURCE_ADD))
			return set_error(ret_error, -ENOENT, "'%s' has no backups", word);
		v = calloc(1, sizeof(*v));
		if (!v)
			return -ENOMEM;
		if (s.tracked) {
			struct cbt_table t;

			if (origin_of_tracked(s.dm_name, origin, sizeof(origin)) < 0)
				snprintf(origin, sizeof(origin), "%s", s.path);
			if (cbt_device_get_table(s.dm_name, &t) == 0)
				v->block_size = t.block_sectors * 512;
		} else {
			snprintf(origin, sizeof(origin), "%s", s.path);
		}
		if (cbt_identify(origin, &id) == 0 && id.uuid[0])
			v->origin_uuid = id.uuid;
		v->name = s.tracked ? s.dm_name : s.path;
		v->project = (char *)project;
		v->origin_path = origin;
		v->origin_size = s.size;
		v->chunk_size = chunk_size;
		v->tracked = s.tracked;
		v->status = CATALOG_VOLUME_OK;
		r = catalog_volume_add(c, v);
		/* The strings were borrowed: do not free them. */
		v->name = v->project = v->origin_path = v->origin_uuid = NULL;
		if (r < 0)
			return set_error(ret_error, r, "%s", catalog_error(c));
		free(v);
		v = NULL;
		r = catalog_volume_get(c, s.tracked ? s.dm_name : s.path, &v);
		if (r < 0)
			return set_error(ret_error, r, "%s", catalog_error(c));
	}
	s.volume = TAKE_PTR(v);
	*ret = s;
	return 0;
}
