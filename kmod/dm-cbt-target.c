// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cbt: changed block tracking device-mapper target.
 *
 * Table line:
 *   cbt <origin dev> <metadata dev> <block size in sectors> [#opt args ...]
 *
 * This first version only remaps every bio to the origin, split at block
 * boundaries; tracking arrives on top of it.
 */
#include <linux/device-mapper.h>
#include <linux/module.h>
#include <linux/slab.h>

#include <dm-cbt.h>

#define DM_MSG_PREFIX "cbt"

struct cbt_c {
	struct dm_target *ti;
	struct dm_dev *origin;
	struct dm_dev *metadata;
	u32 block_sectors;
};

/*
 * Constructor arguments
 */

static int parse_block_size(struct cbt_c *cbt, struct dm_arg_set *as,
			    char **error)
{
	const char *arg = dm_shift_arg(as);
	unsigned int sectors;

	if (!arg || kstrtouint(arg, 10, &sectors)) {
		*error = "Invalid block size: not a number of sectors";
		return -EINVAL;
	}
	if (sectors < DM_CBT_MIN_BLOCK_SECTORS ||
	    sectors > DM_CBT_MAX_BLOCK_SECTORS || !is_power_of_2(sectors)) {
		*error = "Invalid block size: must be a power of two from 8 to 2048 sectors";
		return -EINVAL;
	}
	cbt->block_sectors = sectors;
	return 0;
}

static int parse_features(struct dm_arg_set *as, char **error)
{
	static const struct dm_arg _args[] = {
		{0, 0, "Invalid number of feature arguments"},
	};
	unsigned int argc;
	int r;

	if (!as->argc)
		return 0;
	r = dm_read_arg_group(_args, as, &argc, error);
	if (r)
		return r;
	return 0;
}

static void cbt_free(struct cbt_c *cbt)
{
	if (cbt->metadata)
		dm_put_device(cbt->ti, cbt->metadata);
	if (cbt->origin)
		dm_put_device(cbt->ti, cbt->origin);
	kfree(cbt);
}

/*
 * cbt <origin dev> <metadata dev> <block size in sectors> [#opt args ...]
 */
static int cbt_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	struct cbt_c *cbt;
	int r;

	if (argc < 3) {
		ti->error = "Invalid argument count: need <origin> <metadata> <block size>";
		return -EINVAL;
	}

	cbt = kzalloc(sizeof(*cbt), GFP_KERNEL);
	if (!cbt) {
		ti->error = "Cannot allocate cbt context";
		return -ENOMEM;
	}
	cbt->ti = ti;

	r = dm_get_device(ti, dm_shift_arg(&as), dm_table_get_mode(ti->table),
			  &cbt->origin);
	if (r) {
		ti->error = "Cannot open origin device";
		goto bad;
	}

	r = dm_get_device(ti, dm_shift_arg(&as), FMODE_READ | FMODE_WRITE,
			  &cbt->metadata);
	if (r) {
		ti->error = "Cannot open metadata device";
		goto bad;
	}

	r = parse_block_size(cbt, &as, &ti->error);
	if (r)
		goto bad;

	r = parse_features(&as, &ti->error);
	if (r)
		goto bad;

	if (ti->begin + ti->len > bdev_nr_sectors(cbt->origin->bdev)) {
		ti->error = "Origin device is smaller than the target";
		r = -EINVAL;
		goto bad;
	}

	r = dm_set_target_max_io_len(ti, cbt->block_sectors);
	if (r) {
		ti->error = "Cannot set the maximum I/O length";
		goto bad;
	}

	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->num_write_zeroes_bios = 1;
	ti->private = cbt;
	return 0;

bad:
	cbt_free(cbt);
	return r;
}

static void cbt_dtr(struct dm_target *ti)
{
	cbt_free(ti->private);
}

/*
 * I/O
 */

static int cbt_map(struct dm_target *ti, struct bio *bio)
{
	struct cbt_c *cbt = ti->private;

	bio_set_dev(bio, cbt->origin->bdev);
	if (bio_sectors(bio))
		bio->bi_iter.bi_sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	return DM_MAPIO_REMAPPED;
}

/*
 * Status and device information
 */

static void cbt_status(struct dm_target *ti, status_type_t type,
		       unsigned int status_flags, char *result,
		       unsigned int maxlen)
{
	struct cbt_c *cbt = ti->private;
	unsigned int sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%u %llu", cbt->block_sectors,
		       (unsigned long long)dm_sector_div_up(ti->len,
							    cbt->block_sectors));
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %s %u", cbt->origin->name, cbt->metadata->name,
		       cbt->block_sectors);
		break;
	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",origin=%s,metadata=%s,block_sectors=%u;",
		       cbt->origin->name, cbt->metadata->name,
		       cbt->block_sectors);
		break;
	}
}

static int cbt_iterate_devices(struct dm_target *ti,
			       iterate_devices_callout_fn fn, void *data)
{
	struct cbt_c *cbt = ti->private;

	return fn(ti, cbt->origin, 0, ti->len, data);
}

static struct target_type cbt_target = {
	.name = DM_CBT_TARGET_NAME,
	.version = { DM_CBT_VERSION_MAJOR, DM_CBT_VERSION_MINOR,
		     DM_CBT_VERSION_PATCH },
	.module = THIS_MODULE,
	.ctr = cbt_ctr,
	.dtr = cbt_dtr,
	.map = cbt_map,
	.status = cbt_status,
	.iterate_devices = cbt_iterate_devices,
};

static int __init dm_cbt_init(void)
{
	return dm_register_target(&cbt_target);
}

static void __exit dm_cbt_exit(void)
{
	dm_unregister_target(&cbt_target);
}

module_init(dm_cbt_init);
module_exit(dm_cbt_exit);

MODULE_DESCRIPTION(DM_NAME " changed block tracking target");
MODULE_AUTHOR("dm-cbt developers");
MODULE_LICENSE("GPL");
