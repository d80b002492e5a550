/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The metadata of a tracked device: a block device or a file on a loop. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libcbt/libcbt-internal.h"

/* -EBUSY when a loop device already serves the file at `real` path. */
static int check_not_attached(const char *real)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;

	d = opendir("/sys/block");
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		_cleanup_(fclosep) FILE *f = NULL;
		char path[PATH_MAX + 64], backing[PATH_MAX];

		if (strncmp(de->d_name, "loop", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", de->d_name);
		f = fopen(path, "re");
		if (!f || !fgets(backing, sizeof(backing), f))
			continue;
		backing[strcspn(backing, "\n")] = '\0';
		if (strcmp(backing, real) == 0)
			return -EBUSY;
	}
	return 0;
}

static int open_file(const char *path, uint64_t needed, uint64_t wanted, bool *ret_created,
		     int *ret_fd)
{
	_cleanup_(closep) int fd = -1;
	bool created = false;
	struct stat st;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, 0600);
		created = fd >= 0;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size < needed && ftruncate(fd, (off_t)wanted) < 0) {
		int r = -errno;

		if (created)
			unlink(path);
		return r;
	}
	*ret_created = created;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int cbt_metadata_open(const char *path, uint64_t sectors, uint64_t block_bytes, int *ret_fd,
		      char *ret_word, size_t len, bool *ret_created)
{
	_cleanup_(closep) int fd = -1;
	uint64_t needed, wanted, size;
	bool created = false;
	struct stat st;
	int r;

	if (cbt_block_size_check(block_bytes) < 0)
		return -EINVAL;
	needed = cbt_metadata_bytes(cbt_nr_blocks(sectors * 512, block_bytes));
	wanted = cbt_metadata_default_bytes(sectors * 512, block_bytes);

	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return -errno;
		st.st_mode = S_IFREG; /* made as a file */
	}
	if (S_ISREG(st.st_mode)) {
		_cleanup_(closep) int file_fd = -1;
		_cleanup_(freep) char *real = NULL;

		r = open_file(path, needed, wanted, &created, &file_fd);
		if (r < 0)
			return r;
		real = realpath(path, NULL);
		r = real ? check_not_attached(real) : -errno;
		if (r == 0)
			r = cbt_loop_attach(file_fd, &fd);
		if (r < 0) {
			if (created)
				unlink(path);
			return r;
		}
	} else if (S_ISBLK(st.st_mode)) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (ioctl(fd, BLKGETSIZE64, &size) < 0)
			return -errno;
		if (size < needed)
			return -ENOSPC;
	} else {
		return -EINVAL;
	}

	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	r = cbt_format_devno(major(st.st_rdev), minor(st.st_rdev), ret_word, len);
	if (r < 0)
		goto fail;
	*ret_created = created;
	*ret_fd = TAKE_FD(fd);
	return 0;
fail:
	if (created)
		unlink(path);
	return r;
}
