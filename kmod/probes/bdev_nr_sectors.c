// SPDX-License-Identifier: GPL-2.0-only
/*
 * Feature: bdev_nr_sectors(), the size of a block device (Linux 5.15).
 * Required.
 */
#include <linux/blkdev.h>

static sector_t __maybe_unused cbt_probe(struct block_device *bdev)
{
	return bdev_nr_sectors(bdev);
}
