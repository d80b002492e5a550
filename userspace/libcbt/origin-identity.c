/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which device an origin is, as text that its content cannot change: size
 * plus the identity the hardware or device-mapper gives it (sysfs), the
 * GPT partition UUID of a partition (libblkid), the backing file of a loop
 * device, or the inode of a regular file. Never a file system UUID: that
 * is content, which a guest rewrites.
 */
#include <blkid.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libcbt/libcbt-internal.h"

CBT_DEFINE_CLEANUP(blkid_probe, blkid_free_probe, blkid_free_probep)

struct identity_text {
	char *buf;
	size_t len, used;
	int r;
};

static void text_add(struct identity_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void text_add(struct identity_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->r < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->len - t->used)
		t->r = -ENOBUFS;
	else
		t->used += (size_t)n;
}

/*
 * The first line of dir/name, trimmed, inner white space as '_' (a SCSI
 * wwid has spaces): 1, or 0 when missing or empty.
 */
static int read_attr(const char *dir, const char *name, char *buf, size_t len)
{
	_cleanup_(fclosep) FILE *f = NULL;
	char path[PATH_MAX], line[512], *s, *e;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return 0;
	f = fopen(path, "re");
	if (!f || !fgets(line, sizeof(line), f))
		return 0;
	for (s = line; *s && isspace((unsigned char)*s); s++)
		;
	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		;
	*e = '\0';
	for (char *p = s; *p; p++)
		if (isspace((unsigned char)*p) || !isprint((unsigned char)*p))
			*p = '_';
	if (!*s || strlen(s) >= len)
		return 0;
	strcpy(buf, s);
	return 1;
}

/* key=<attribute of dir> for the first of names that is present. */
static void add_attr(struct identity_text *t, const char *key, const char *dir,
		     const char *const *names)
{
	char value[512];

	for (; *names; names++)
		if (read_attr(dir, *names, value, sizeof(value))) {
			text_add(t, " %s=%s", key, value);
			return;
		}
}

int cbt_identity_compose(const char *sysfs_dir, uint64_t size_bytes, const char *part_uuid,
			 char *buf, size_t len)
{
	static const char *const wwid[] = { "wwid", "device/wwid", NULL };
	static const char *const serial[] = { "serial", "device/serial", NULL };
	static const char *const dm_uuid[] = { "dm/uuid", NULL };
	struct identity_text t = { .buf = buf, .len = len };
	char disk[PATH_MAX], probe[PATH_MAX];
	const char *hw = sysfs_dir;

	if (len == 0)
		return -ENOBUFS;
	buf[0] = '\0';
	text_add(&t, "size=%" PRIu64, size_bytes);
	if (sysfs_dir) {
		add_attr(&t, "dm-uuid", sysfs_dir, dm_uuid);
		/* A partition's disk is its parent directory in sysfs. */
		snprintf(probe, sizeof(probe), "%s/partition", sysfs_dir);
		if (access(probe, F_OK) == 0 &&
		    snprintf(disk, sizeof(disk), "%s/..", sysfs_dir) < (int)sizeof(disk))
			hw = disk;
		add_attr(&t, "wwid", hw, wwid);
		add_attr(&t, "serial", hw, serial);
	}
	if (part_uuid && *part_uuid)
		text_add(&t, " partuuid=%s", part_uuid);
	return t.r;
}

/* PART_ENTRY_UUID of a partition (libblkid reads its disk's table); "" if none. */
static void partition_uuid(const char *path, char *buf, size_t len)
{
	_cleanup_(blkid_free_probep) blkid_probe pr = NULL;
	const char *value = NULL;

	buf[0] = '\0';
	pr = blkid_new_probe_from_filename(path);
	if (!pr)
		return;
	blkid_probe_enable_superblocks(pr, 0);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	if (blkid_do_safeprobe(pr) == 0 &&
	    blkid_probe_lookup_value(pr, "PART_ENTRY_UUID", &value, NULL) == 0 && value &&
	    strlen(value) < len)
		strcpy(buf, value);
}

static int block_identity(const char *path, const struct stat *st, char *buf, size_t len)
{
	_cleanup_(closep) int fd = -1;
	char link[64], dir[PATH_MAX], pfile[PATH_MAX + 16], word[32], part_uuid[64] = "";
	char backing[PATH_MAX];
	uint64_t size, bdev, bino;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, BLKGETSIZE64, &size) < 0)
		return -errno;
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(st->st_rdev),
		 minor(st->st_rdev));
	if (!realpath(link, dir))
		return -errno;
	if (snprintf(pfile, sizeof(pfile), "%s/partition", dir) < (int)sizeof(pfile) &&
	    access(pfile, F_OK) == 0)
		partition_uuid(path, part_uuid, sizeof(part_uuid));
	r = cbt_identity_compose(dir, size, part_uuid, buf, len);
	if (r < 0)
		return r;
	/* A loop device is the file behind it. */
	r = cbt_format_devno(major(st->st_rdev), minor(st->st_rdev), word, sizeof(word));
	if (r >= 0 && cbt_loop_get_backing(word, backing, sizeof(backing), &bdev, &bino) == 0) {
		struct identity_text t = { .buf = buf, .len = len, .used = strlen(buf) };

		text_add(&t, " loop-dev=%u:%u loop-ino=%" PRIu64, major((dev_t)bdev),
			 minor((dev_t)bdev), bino);
		return t.r;
	}
	return 0;
}

int cbt_origin_identity(const char *path, char *buf, size_t len)
{
	struct identity_text t = { .buf = buf, .len = len };
	struct stat st;

	if (!path || !buf || len == 0)
		return -EINVAL;
	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return block_identity(path, &st, buf, len);
	if (!S_ISREG(st.st_mode))
		return -ENOTBLK;
	buf[0] = '\0';
	text_add(&t, "size=%" PRIu64 " dev=%u:%u ino=%" PRIu64, (uint64_t)st.st_size,
		 major(st.st_dev), minor(st.st_dev), (uint64_t)st.st_ino);
	return t.r;
}
