/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbt-nfs-mount: drive the NFS back end's mount helper from test scripts.
 *
 *   cbt-nfs-mount mount SHARE OPTIONS BASE   mount (or find mounted) SHARE
 *                                            under BASE; prints the mount
 *                                            point. OPTIONS "" for none.
 *   cbt-nfs-mount point SHARE BASE           prints the mount point SHARE
 *                                            would have
 *
 * A failure prints "cbt-nfs-mount: <message> (errno N)" and exits 1; a
 * usage error exits 2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbt-cleanup.h"
#include "cbtship/store/nfs/nfs-mount.h"

static int usage(void)
{
	fprintf(stderr, "usage: cbt-nfs-mount mount SHARE OPTIONS BASE\n"
			"       cbt-nfs-mount point SHARE BASE\n");
	return 2;
}

int main(int argc, char **argv)
{
	_cleanup_(freep) char *path = NULL;
	_cleanup_(freep) char *error = NULL;
	int r;

	if (argc == 4 && strcmp(argv[1], "point") == 0) {
		path = cbt_nfs_mount_point(argv[2], argv[3]);
		if (!path) {
			fprintf(stderr, "cbt-nfs-mount: no mount point for %s\n", argv[2]);
			return 1;
		}
		printf("%s\n", path);
		return 0;
	}
	if (argc != 5 || strcmp(argv[1], "mount") != 0)
		return usage();
	r = cbt_nfs_mount(argv[2], argv[3], argv[4], &path, &error);
	if (r < 0) {
		fprintf(stderr, "cbt-nfs-mount: %s (errno %d)\n", error ? error : strerror(-r), -r);
		return 1;
	}
	printf("%s\n", path);
	return 0;
}
