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
#ifndef CBTSHIP_STORE_NFS_NFS_MOUNT_H
#define CBTSHIP_STORE_NFS_NFS_MOUNT_H

/*
 * Mount share (HOST:/EXPORT, [IPV6]:/EXPORT) under mount_point_base with
 * options (one comma-separated list for mount -o; NULL or blank: mount's
 * defaults), or find it mounted. On success *ret_path is the mount point
 * (malloc()ed), under the canonical (realpath) form of mount_point_base.
 *
 * - The base and the mount point are made (mode 0700, parents too).
 * - /proc/self/mountinfo decides "already mounted": nfs or nfs4 at exactly
 *   the mount point with the same source (trailing slashes aside) is
 *   reused; another share or another file system there is an error.
 * - Otherwise mount(8) runs directly (an argv, no shell) as
 *   mount -t nfs -o OPTIONS SHARE DIR, with retry=0 added unless the
 *   options name retry (mount.nfs would retry a failing mount for two
 *   minutes), killed with its process group after 60 s
 *   ($CBTSHIP_NFS_MOUNT_TIMEOUT seconds when set, for tests). Its
 *   messages are captured for the error. A mount point made for a failed
 *   mount is removed again.
 * - Callers with the same base are serialized (flock on the base), so two
 *   processes never stack two mounts.
 *
 * 0, or a negative errno with a message in *ret_error (malloc()ed; may be
 * NULL) naming the share and why: -EINVAL (a share that is not
 * HOST:/PATH, blanks in the options, a relative base), -ENOENT (no
 * mount.nfs: install nfs-common), -EBUSY (something else is mounted at
 * the mount point), -EIO (mount failed: its own message quoted),
 * -ETIMEDOUT (mount killed at the time bound), ...
 */
int cbt_nfs_mount(const char *share, const char *options, const char *mount_point_base,
		  char **ret_path, char **ret_error);

/*
 * The mount point share would have (malloc()ed), whether mounted or not:
 * mount_point_base as given (not made canonical) / MD5 of share in hex.
 * NULL on ENOMEM, or when MD5 is unavailable (a FIPS-only provider).
 */
char *cbt_nfs_mount_point(const char *share, const char *mount_point_base);

#endif
