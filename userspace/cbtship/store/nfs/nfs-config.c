/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The NFS back end's options of cbtship.conf (cinder's names), registered by config.c. */
#include <stdint.h>

#include "cbtship/config/config-option.h"

const struct cbt_config_option cbt_nfs_config_options[] = {
	{ "backup_share", T_SHARE, CBT_CONFIG_OFF(backup_share), NULL, 0, 0, 0, G_NFS },
	{ "backup_mount_options", T_STR, CBT_CONFIG_OFF(backup_mount_options), NULL, 0, 0, 0,
	  G_NFS },
	{ "backup_mount_point_base", T_PATH, CBT_CONFIG_OFF(backup_mount_point_base),
	  "$state_path/backup_mount", 0, 0, 0, G_NFS },
	{ NULL, T_STR, 0, NULL, 0, 0, 0, NULL },
};
