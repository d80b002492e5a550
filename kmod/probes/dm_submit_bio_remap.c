// SPDX-License-Identifier: GPL-2.0-only
/*
 * Feature: dm_submit_bio_remap() and dm_target.accounts_remapped_io, for
 * bios a target submits itself from a worker (Linux 5.18). Required.
 */
#include <linux/device-mapper.h>

static void __maybe_unused cbt_probe(struct dm_target *ti, struct bio *bio)
{
	ti->accounts_remapped_io = true;
	dm_submit_bio_remap(bio, NULL);
}
