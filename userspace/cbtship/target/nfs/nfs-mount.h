/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NFS back end's share, mounted on demand (cinder's NFS backup driver:
 * backup_share, backup_mount_options, backup_mount_point_base). Backups
 * then go to a POSIX container in the mounted directory.
 *
 * The mount point is <mount_point_base>/<md5 of the share, in hex>, as
 * cinder's remotefs client names it, so a host can share it with cinder.
 * A share already mounted there is reused; otherwise the directory is
 * made and mount(8) runs (mount -t nfs [-o OPTIONS] SHARE DIR), so that
 * mount.nfs from nfs-common does the protocol negotiation.
 */
#ifndef CBTSHIP_TARGET_NFS_MOUNT_H
#define CBTSHIP_TARGET_NFS_MOUNT_H

/*
 * Mount share (HOST:/EXPORT, [IPV6]:/EXPORT) under mount_point_base with
 * options (NULL: mount's defaults), or find it mounted. On success
 * *ret_path is the mount point (malloc()ed). 0, or a negative errno with a
 * message in *ret_error (malloc()ed) naming the share and why: -EINVAL (a
 * share that is not HOST:/PATH), -ENOENT (no mount.nfs: install
 * nfs-common), -EIO (mount failed: its own message quoted), ...
 */
int cbt_nfs_mount(const char *share, const char *options, const char *mount_point_base,
		  char **ret_path, char **ret_error);

/* The mount point share would have (malloc()ed), whether mounted or not; NULL on ENOMEM. */
char *cbt_nfs_mount_point(const char *share, const char *mount_point_base);

#endif
