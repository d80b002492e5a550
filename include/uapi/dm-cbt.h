/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * dm-cbt: the ABI between the dm-cbt device-mapper target and user space.
 *
 * Included by the kernel module (kmod/) and by libcbt (userspace/).
 * Only fixed-width __u types: the same bytes mean the same thing on both
 * sides.
 */
#ifndef _UAPI_DM_CBT_H
#define _UAPI_DM_CBT_H

#include <linux/types.h>

/* The target's name in a table line: "cbt <origin> <metadata> <block size>" */
#define DM_CBT_TARGET_NAME "cbt"

#define DM_CBT_VERSION_MAJOR 0
#define DM_CBT_VERSION_MINOR 1
#define DM_CBT_VERSION_PATCH 0

/* Tracking block size, in 512-byte sectors: a power of two in this range. */
#define DM_CBT_MIN_BLOCK_SECTORS 8U	/* 4 KiB */
#define DM_CBT_MAX_BLOCK_SECTORS 2048U	/* 1 MiB */
#define DM_CBT_DEFAULT_BLOCK_SECTORS 128U /* 64 KiB */

#endif /* _UAPI_DM_CBT_H */
