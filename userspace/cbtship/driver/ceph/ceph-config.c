/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Ceph back end's options of cbtship.conf (cinder's names), registered by config.c. */
#include <stdint.h>

#include "cbtship/config/config-option.h"

const struct cbt_config_option cbt_ceph_config_options[] = {
	{ "backup_ceph_conf", T_PATH, CBT_CONFIG_OFF(backup_ceph_conf), "/etc/ceph/ceph.conf", 0, 0,
	  0, G_CEPH },
	{ "backup_ceph_user", T_STR, CBT_CONFIG_OFF(backup_ceph_user), "cinder", 0, 0, F_EMPTY_OK,
	  G_CEPH },
	{ "backup_ceph_pool", T_SWIFT_CONTAINER, CBT_CONFIG_OFF(backup_ceph_pool), "backups", 0, 0,
	  0, G_CEPH },
	{ "backup_ceph_chunk_size", T_SIZE, CBT_CONFIG_OFF(backup_ceph_chunk_size), "134217728", 1,
	  INT64_MAX, F_IGNORED, G_CEPH },
	{ "backup_ceph_stripe_unit", T_SIZE, CBT_CONFIG_OFF(backup_ceph_stripe_unit), "0", 0,
	  INT64_MAX, F_IGNORED, G_CEPH },
	{ "backup_ceph_stripe_count", T_INT, CBT_CONFIG_OFF(backup_ceph_stripe_count), "0", 0,
	  INT32_MAX, F_IGNORED, G_CEPH },
	{ "rados_connect_timeout", T_INT, CBT_CONFIG_OFF(rados_connect_timeout), "-1", -1,
	  INT32_MAX, 0, G_CEPH },
	{ NULL, T_STR, 0, NULL, 0, 0, 0, NULL },
};
