/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loop devices for metadata files: attached with LO_FLAGS_AUTOCLEAR. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "libcbt/libcbt-internal.h"

/* LOOP_CONFIGURE (Linux 5.8) in one step, else LOOP_SET_FD + SET_STATUS64. */
static int configure(int loop_fd, int file_fd)
{
	struct loop_config config = { .fd = (unsigned)file_fd };
	char link[64];
	ssize_t n;

	config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", file_fd);
	n = readlink(link, (char *)config.info.lo_file_name, LO_NAME_SIZE - 1);
	if (n < 0)
		n = 0;
	config.info.lo_file_name[n] = '\0';

	if (ioctl(loop_fd, LOOP_CONFIGURE, &config) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOTTY)
		return -errno;
	if (ioctl(loop_fd, LOOP_SET_FD, file_fd) < 0)
		return -errno;
	if (ioctl(loop_fd, LOOP_SET_STATUS64, &config.info) < 0) {
		int r = -errno;

		(void)ioctl(loop_fd, LOOP_CLR_FD, 0);
		return r;
	}
	return 0;
}

int cbt_loop_attach(int file_fd, int *ret_loop_fd)
{
	_cleanup_(closep) int control = -1;

	control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (control < 0)
		return -errno;
	/* Another program may take the free device first: try again. */
	for (unsigned attempt = 0; attempt < 64; attempt++) {
		_cleanup_(closep) int loop_fd = -1;
		char path[32];
		int nr, r;

		nr = ioctl(control, LOOP_CTL_GET_FREE);
		if (nr < 0)
			return -errno;
		snprintf(path, sizeof(path), "/dev/loop%d", nr);
		loop_fd = open(path, O_RDWR | O_CLOEXEC);
		if (loop_fd < 0)
			return -errno;
		r = configure(loop_fd, file_fd);
		if (r == -EBUSY)
			continue;
		if (r < 0)
			return r;
		*ret_loop_fd = TAKE_FD(loop_fd);
		return 0;
	}
	return -EBUSY;
}

/* The kernel name of the block device `word` ("loop3") from sysfs. */
static int kernel_name(const char *word, char *buf, size_t len)
{
	char link[64], target[PATH_MAX];
	const char *base;
	ssize_t n;

	if (snprintf(link, sizeof(link), "/sys/dev/block/%s", word) >= (int)sizeof(link) ||
	    strchr(word, '/'))
		return -EINVAL;
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return errno == ENOENT ? -ENXIO : -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENOBUFS;
	strcpy(buf, base);
	return 0;
}

int cbt_loop_get_backing(const char *word, char *path, size_t len, uint64_t *ret_dev,
			 uint64_t *ret_ino)
{
	_cleanup_(fclosep) FILE *f = NULL;
	char kname[64], sys[128], node[80];

	if (kernel_name(word, kname, sizeof(kname)) < 0 || strncmp(kname, "loop", 4) != 0)
		return -ENXIO;
	snprintf(sys, sizeof(sys), "/sys/block/%s/loop/backing_file", kname);
	f = fopen(sys, "re");
	if (!f)
		return -ENXIO; /* not bound */
	if (!fgets(path, (int)len, f))
		return -ENXIO;
	path[strcspn(path, "\n")] = '\0';
	if (ret_dev || ret_ino) {
		_cleanup_(closep) int fd = -1;
		struct loop_info64 info;

		snprintf(node, sizeof(node), "/dev/%s", kname);
		fd = open(node, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (ioctl(fd, LOOP_GET_STATUS64, &info) < 0)
			return errno == ENXIO ? -ENXIO : -errno;
		if (ret_dev)
			*ret_dev = info.lo_device;
		if (ret_ino)
			*ret_ino = info.lo_inode;
	}
	return 0;
}

int cbt_blockdev_sectors(const char *word, uint64_t *ret)
{
	_cleanup_(fclosep) FILE *f = NULL;
	char sys[96], line[32];

	if (strchr(word, '/'))
		return -EINVAL;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%s/size", word);
	f = fopen(sys, "re");
	if (!f)
		return errno == ENOENT ? -ENXIO : -errno;
	if (!fgets(line, sizeof(line), f))
		return -EIO;
	line[strcspn(line, "\n")] = '\0';
	return cbt_parse_u64(line, ret) < 0 ? -EIO : 0;
}
