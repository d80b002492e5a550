// SPDX-License-Identifier: GPL-2.0-only
/*
 * Feature: dm_get_device() takes a blk_mode_t of BLK_OPEN_* flags (Linux
 * 6.5; before, an fmode_t of FMODE_* flags). Optional: HAVE_BLK_MODE_T
 * selects the flags.
 */
#include <linux/device-mapper.h>

static int __maybe_unused cbt_probe(struct dm_target *ti, const char *path,
				    struct dm_dev **dev)
{
	blk_mode_t mode = BLK_OPEN_READ | BLK_OPEN_WRITE;

	return dm_get_device(ti, path, mode, dev);
}
