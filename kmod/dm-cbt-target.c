// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cbt: changed block tracking device-mapper target.
 *
 * Table line:
 *   cbt <origin dev> <metadata dev> <block size in sectors> [#opt args ...]
 *
 * Every write reaches the origin unchanged. The target records which
 * blocks were written in two bitmaps: 'current' (written since the last
 * checkpoint) and 'frozen' (the set of an outstanding checkpoint, being
 * shipped by user space). The rule that makes it crash-safe: a block's bit
 * is durable on the metadata device before the first write to that block
 * in the current epoch is issued. Such first writes are deferred to a
 * worker, which commits their bits in one batch and then issues them;
 * writes to blocks already marked go straight through.
 */
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dm-cbt.h"

/* The metadata device's open mode (a blk_mode_t since Linux 6.5). */
#ifdef HAVE_BLK_MODE_T
#define CBT_OPEN_READ_WRITE (BLK_OPEN_READ | BLK_OPEN_WRITE)
#else
#define CBT_OPEN_READ_WRITE (FMODE_READ | FMODE_WRITE)
#endif

/*
 * Helpers
 */

static struct cbt_bio *cbt_bio_data(struct bio *bio)
{
	return dm_per_bio_data(bio, sizeof(struct cbt_bio));
}

/* Writes, discards and write-zeroes change blocks; empty flushes do not. */
static bool bio_changes_data(struct bio *bio)
{
	return op_is_write(bio_op(bio)) && bio_sectors(bio);
}

static void bio_block_range(struct cbt_c *cbt, struct bio *bio, u64 *first,
			    u64 *last)
{
	unsigned int shift = ilog2(cbt->md.block_sectors);
	sector_t sector = bio->bi_iter.bi_sector;

	*first = sector >> shift;
	*last = (sector + bio_sectors(bio) - 1) >> shift;
}

static bool range_marked(const unsigned long *map, u64 first, u64 last)
{
	u64 b;

	for (b = first; b <= last; b++)
		if (!cbt_test(map, b))
			return false;
	return true;
}

static const char *state_name(enum cbt_state state)
{
	switch (state) {
	case CBT_OK:
		return DM_CBT_STATE_OK;
	case CBT_INVALID:
		return DM_CBT_STATE_INVALID;
	default:
		return DM_CBT_STATE_ERROR;
	}
}

const char *cbt_device_name(struct cbt_c *cbt)
{
	if (cbt->name[0])
		return cbt->name;
	return dm_device_name(dm_table_get_md(cbt->ti->table));
}

dev_t cbt_device_devt(struct cbt_c *cbt)
{
	return disk_devt(dm_disk(dm_table_get_md(cbt->ti->table)));
}

/*
 * Every constructed instance, to refuse one metadata device shared by two
 * dm devices (a reload of the same device legitimately opens it twice),
 * and to find the table a new one takes over from.
 */
static LIST_HEAD(cbt_instances);
static DEFINE_MUTEX(cbt_instances_lock);
static atomic64_t cbt_next_map_id = ATOMIC64_INIT(0);

/*
 * Claim the metadata device for this instance: the check and the insertion
 * under one lock, so that two tables loaded at once cannot both claim it.
 */
static int cbt_instance_add(struct cbt_c *cbt)
{
	struct mapped_device *md = dm_table_get_md(cbt->ti->table);
	dev_t metadata = cbt->md.dev->bdev->bd_dev;
	struct cbt_c *other;
	int r = 0;

	mutex_lock(&cbt_instances_lock);
	list_for_each_entry(other, &cbt_instances, instances)
		if (other->md.dev->bdev->bd_dev == metadata &&
		    (dm_table_get_md(other->ti->table) != md ||
		     other->ti->table == cbt->ti->table))
			r = -EBUSY;
	if (!r) {
		list_add(&cbt->instances, &cbt_instances);
		cbt->map_id = atomic64_inc_return(&cbt_next_map_id);
	}
	mutex_unlock(&cbt_instances_lock);
	return r;
}

static void cbt_instance_del(struct cbt_c *cbt)
{
	if (!cbt->map_id)
		return;
	mutex_lock(&cbt_instances_lock);
	list_del(&cbt->instances);
	mutex_unlock(&cbt_instances_lock);
	cbt->map_id = 0;
}

/*
 * Is there a loaded table of the same dm device on the same metadata, that
 * this one replaces at its first resume? dm destroys the old table only
 * after the new one has resumed, so it is still listed here.
 */
static bool cbt_takes_over(struct cbt_c *cbt)
{
	struct mapped_device *md = dm_table_get_md(cbt->ti->table);
	dev_t metadata = cbt->md.dev->bdev->bd_dev;
	struct cbt_c *other;
	bool found = false;

	mutex_lock(&cbt_instances_lock);
	list_for_each_entry(other, &cbt_instances, instances)
		if (other != cbt && READ_ONCE(other->loaded) &&
		    other->md.dev->bdev->bd_dev == metadata &&
		    dm_table_get_md(other->ti->table) == md)
			found = true;
	mutex_unlock(&cbt_instances_lock);
	return found;
}

/*
 * In-flight writes and quiescing
 */

/*
 * Writes in flight are counted per CPU: the pass-through path takes no
 * locked instruction. A checkpoint sets 'quiescing', waits one RCU grace
 * period (after which every writer that missed the flag has counted
 * itself), then waits for the sum to reach zero. The sum cannot read zero
 * early: every increment precedes the first read, and a decrement is only
 * seen after its increment.
 */
static void inflight_get(struct cbt_c *cbt)
{
	this_cpu_inc(*cbt->inflight);
}

static void inflight_put(struct cbt_c *cbt)
{
	this_cpu_dec(*cbt->inflight);
	if (READ_ONCE(cbt->quiescing))
		wake_up(&cbt->inflight_wait);
}

static bool inflight_drained(struct cbt_c *cbt)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(*per_cpu_ptr(cbt->inflight, cpu));
	return sum == 0;
}

/*
 * Hold new writes in the worker's queue and wait until every write already
 * sent to the origin has completed. Called with cbt->lock held, so the
 * worker cannot send more.
 */
static void quiesce(struct cbt_c *cbt)
{
	WRITE_ONCE(cbt->quiescing, true);
	synchronize_rcu(); /* every cbt_map() that missed the flag has counted */
	wait_event(cbt->inflight_wait, inflight_drained(cbt));
}

static void unquiesce(struct cbt_c *cbt)
{
	/* Orders the map pointer swap before the end of quiescing. */
	smp_store_release(&cbt->quiescing, false);
	queue_work(cbt->wq, &cbt->worker);
}

/*
 * Committing bits: a batch of bitmap pages, copied from 'current', gets
 * the new bits, is written and flushed; only then are the bits set in
 * 'current'.
 */

struct page_batch {
	u64 index[CBT_IO_BATCH];
	unsigned int nr;
	u64 newly_set;
};

static void enter_error_state(struct cbt_c *cbt, int error);

static unsigned long *batch_page(struct cbt_c *cbt, struct page_batch *pb,
				 u64 page)
{
	unsigned int i;

	for (i = 0; i < pb->nr; i++)
		if (pb->index[i] == page)
			return cbt->md.io_pages[i];
	if (pb->nr == CBT_IO_BATCH)
		return NULL;
	memcpy(cbt->md.io_pages[pb->nr],
	       (u8 *)cbt->current_map + page * CBT_PAGE_BYTES, CBT_PAGE_BYTES);
	pb->index[pb->nr] = page;
	return cbt->md.io_pages[pb->nr++];
}

static int batch_commit(struct cbt_c *cbt, struct page_batch *pb)
{
	struct cbt_metadata *md = &cbt->md;
	unsigned int i, w;
	int r;

	if (!pb->nr)
		return 0;
	r = cbt_metadata_write_page_bufs(md, md->current_area, pb->index, pb->nr);
	if (!r)
		r = cbt_metadata_flush(md);
	if (r) {
		enter_error_state(cbt, r);
		pb->nr = 0;
		pb->newly_set = 0;
		return r;
	}
	/* Durable: now the bits may let writes pass. */
	for (i = 0; i < pb->nr; i++) {
		unsigned long *dst = cbt->current_map +
				     pb->index[i] * (CBT_PAGE_BYTES / sizeof(long));
		const unsigned long *src = md->io_pages[i];

		for (w = 0; w < CBT_PAGE_BYTES / sizeof(long); w++)
			WRITE_ONCE(dst[w], dst[w] | src[w]);
		__set_bit(pb->index[i], md->maybe_set[md->current_area]);
	}
	cbt->current_dirty += pb->newly_set;
	pb->nr = 0;
	pb->newly_set = 0;
	return 0;
}

/* Add block b to the batch, committing the batch first when it is full. */
static int batch_mark(struct cbt_c *cbt, struct page_batch *pb, u64 b)
{
	unsigned long *page;
	int r;

	if (cbt_test(cbt->current_map, b))
		return 0;
	page = batch_page(cbt, pb, b / CBT_BITS_PER_PAGE);
	if (!page) {
		r = batch_commit(cbt, pb);
		if (r)
			return r;
		page = batch_page(cbt, pb, b / CBT_BITS_PER_PAGE);
	}
	if (!__test_and_set_bit_le(b % CBT_BITS_PER_PAGE, page))
		pb->newly_set++;
	return 0;
}

static int mark_range(struct cbt_c *cbt, u64 first, u64 last)
{
	struct page_batch pb = { .nr = 0 };
	u64 b;
	int r;

	for (b = first; b <= last; b++) {
		r = batch_mark(cbt, &pb, b);
		if (r)
			return r;
	}
	return batch_commit(cbt, &pb);
}

/* Every block dirty, durably. Used by invalidate and by the loader. */
int cbt_mark_all(struct cbt_c *cbt)
{
	return mark_range(cbt, 0, cbt->md.nr_blocks - 1);
}

static void set_all_in_core(struct cbt_c *cbt)
{
	u64 b;

	for (b = 0; b < cbt->md.nr_blocks; b++)
		set_bit_le(b, cbt->current_map);
	cbt->current_dirty = cbt->md.nr_blocks;
}

/*
 * Record durably that history is lost (new generation, INVALID flag): from
 * then on every block counts as dirty, so writes may pass untracked.
 */
static bool persist_invalid(struct cbt_c *cbt)
{
	if (cbt->invalid_durable)
		return true;
	if (cbt_metadata_write_superblock(&cbt->md))
		return false;
	cbt->invalid_durable = true;
	set_all_in_core(cbt);
	return true;
}

/*
 * The metadata device failed. Rather than under-report, the generation
 * changes and every block counts as dirty, once that is durable. Until it
 * is, a write to an unmarked block fails (loudly: kernel log, status,
 * event) instead of reaching the origin untracked; writes to marked blocks
 * go on.
 */
static void enter_error_state(struct cbt_c *cbt, int error)
{
	if (cbt->state == CBT_ERROR)
		return;
	DMERR("%s: metadata I/O failed (%d): every block now counts as dirty; reload the table once the metadata device works",
	      cbt_device_name(cbt), error);
	cbt_map_change_begin(cbt);
	WRITE_ONCE(cbt->state, CBT_ERROR);
	cbt_map_change_end(cbt);
	cbt->invalid_durable = false; /* this loss is not recorded yet */
	uuid_gen(&cbt->md.uuid);
	cbt->md.flags |= DM_CBT_SB_INVALID;
	if (!persist_invalid(cbt))
		DMERR("%s: cannot record the loss either: writes to unmarked blocks fail until the metadata device works",
		      cbt_device_name(cbt));
	cbt_netlink_event(cbt, DM_CBT_EVENT_METADATA_ERROR);
}

/*
 * The worker: commits the bits of deferred first writes, then issues them.
 */

static void issue_bio(struct cbt_c *cbt, struct bio *bio)
{
	cbt_bio_data(bio)->counted = true;
	inflight_get(cbt);
	dm_submit_bio_remap(bio, NULL);
}

static void do_worker(struct work_struct *ws)
{
	struct cbt_c *cbt = container_of(ws, struct cbt_c, worker);
	struct page_batch pb = { .nr = 0 };
	struct bio_list bios;
	struct bio *bio;
	u64 first, last, b;
	bool all_pass;

	mutex_lock(&cbt->lock);
	spin_lock_irq(&cbt->deferred_lock);
	bios = cbt->deferred;
	bio_list_init(&cbt->deferred);
	spin_unlock_irq(&cbt->deferred_lock);

	/* One commit for all first writes that arrived together. */
	bio_list_for_each(bio, &bios) {
		bio_block_range(cbt, bio, &first, &last);
		for (b = first; b <= last; b++)
			if (batch_mark(cbt, &pb, b))
				break;
	}
	batch_commit(cbt, &pb);

	/*
	 * After a failed commit, writes pass only if the loss of history is
	 * durable (one attempt per batch) or their blocks' bits are.
	 */
	all_pass = cbt->state != CBT_ERROR || persist_invalid(cbt);
	while ((bio = bio_list_pop(&bios))) {
		bio_block_range(cbt, bio, &first, &last);
		if (all_pass || range_marked(cbt->current_map, first, last)) {
			issue_bio(cbt, bio);
		} else {
			DMERR_LIMIT("%s: write to block %llu failed: it cannot be tracked",
				    cbt_device_name(cbt), first);
			bio_io_error(bio);
		}
	}
	mutex_unlock(&cbt->lock);
}

static void defer_bio(struct cbt_c *cbt, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&cbt->deferred_lock, flags);
	bio_list_add(&cbt->deferred, bio);
	spin_unlock_irqrestore(&cbt->deferred_lock, flags);
	queue_work(cbt->wq, &cbt->worker);
}

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
	cbt->md.block_sectors = sectors;
	return 0;
}

static int parse_features(struct cbt_c *cbt, struct dm_arg_set *as,
			  char **error)
{
	static const struct dm_arg _args[] = {
		{0, 1, "Invalid number of feature arguments"},
	};
	unsigned int argc;
	const char *arg;
	int r;

	if (!as->argc)
		return 0;
	r = dm_read_arg_group(_args, as, &argc, error);
	if (r)
		return r;
	while (argc--) {
		arg = dm_shift_arg(as);
		if (!strcasecmp(arg, DM_CBT_OPT_FORMAT)) {
			cbt->format_requested = true;
		} else {
			*error = "Unknown feature argument";
			return -EINVAL;
		}
	}
	if (as->argc) {
		*error = "Too many arguments";
		return -EINVAL;
	}
	return 0;
}

static void cbt_free(struct cbt_c *cbt)
{
	cbt_instance_del(cbt);
	if (cbt->wq)
		destroy_workqueue(cbt->wq);
	cbt_metadata_destroy(&cbt->md);
	vfree(cbt->current_map);
	vfree(cbt->frozen_map);
	if (cbt->md.dev)
		dm_put_device(cbt->ti, cbt->md.dev);
	if (cbt->origin)
		dm_put_device(cbt->ti, cbt->origin);
	free_percpu(cbt->inflight);
	kfree(cbt);
}

/*
 * cbt <origin dev> <metadata dev> <block size in sectors> [#opt args ...]
 */
static int cbt_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	struct dm_dev *metadata;
	struct cbt_c *cbt;
	u64 nr_blocks;
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
	cbt->inflight = alloc_percpu(long);
	if (!cbt->inflight) {
		kfree(cbt);
		ti->error = "Cannot allocate cbt context";
		return -ENOMEM;
	}
	mutex_init(&cbt->lock);
	spin_lock_init(&cbt->deferred_lock);
	bio_list_init(&cbt->deferred);
	INIT_WORK(&cbt->worker, do_worker);
	init_waitqueue_head(&cbt->inflight_wait);
	INIT_LIST_HEAD(&cbt->registry);

	r = dm_get_device(ti, dm_shift_arg(&as), dm_table_get_mode(ti->table),
			  &cbt->origin);
	if (r) {
		ti->error = "Cannot open origin device";
		goto bad;
	}

	r = dm_get_device(ti, dm_shift_arg(&as), CBT_OPEN_READ_WRITE,
			  &metadata);
	if (r) {
		ti->error = "Cannot open metadata device";
		goto bad;
	}
	cbt->md.dev = metadata;
	if (metadata->bdev->bd_dev == cbt->origin->bdev->bd_dev) {
		ti->error = "Origin and metadata are the same device";
		r = -EINVAL;
		goto bad;
	}
	r = cbt_instance_add(cbt);
	if (r) {
		ti->error = "Metadata device is in use by another cbt device";
		goto bad;
	}

	r = parse_block_size(cbt, &as, &ti->error);
	if (r)
		goto bad;

	r = parse_features(cbt, &as, &ti->error);
	if (r)
		goto bad;

	if (ti->len > bdev_nr_sectors(cbt->origin->bdev)) {
		ti->error = "Origin device is smaller than the target";
		r = -EINVAL;
		goto bad;
	}

	nr_blocks = dm_sector_div_up(ti->len, cbt->md.block_sectors);
	if (nr_blocks > CBT_MAX_BLOCKS) {
		ti->error = "Volume has too many blocks: use a larger block size";
		r = -EINVAL;
		goto bad;
	}
	r = cbt_metadata_init(&cbt->md, metadata, cbt->md.block_sectors, nr_blocks);
	if (r) {
		ti->error = "Cannot allocate metadata buffers";
		goto bad;
	}

	/* Refuse a wrong metadata device now; it is read at resume. */
	r = cbt_metadata_check(&cbt->md, cbt->format_requested, &ti->error);
	if (r < 0)
		goto bad;

	cbt->current_map = vzalloc(cbt->md.nr_pages * CBT_PAGE_BYTES);
	cbt->frozen_map = vzalloc(cbt->md.nr_pages * CBT_PAGE_BYTES);
	if (!cbt->current_map || !cbt->frozen_map) {
		ti->error = "Cannot allocate the bitmaps";
		r = -ENOMEM;
		goto bad;
	}

	cbt->wq = alloc_ordered_workqueue("dm-" DM_MSG_PREFIX, WQ_MEM_RECLAIM);
	if (!cbt->wq) {
		ti->error = "Cannot allocate the workqueue";
		r = -ENOMEM;
		goto bad;
	}

	/*
	 * Bios are not split at block boundaries: the map path and the worker
	 * handle a bio spanning many blocks (as they must for discards), and
	 * splitting a 1 MiB write into 16 clones costs more than testing 16
	 * bits.
	 */
	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->num_write_zeroes_bios = 1;
	ti->per_io_data_size = sizeof(struct cbt_bio);
	ti->accounts_remapped_io = true;
	ti->private = cbt;
	return 0;

bad:
	cbt_free(cbt);
	return r;
}

static void cbt_dtr(struct dm_target *ti)
{
	struct cbt_c *cbt = ti->private;

	cbt_registry_del(cbt);
	cbt_free(cbt);
}

/*
 * I/O
 */

static int cbt_map(struct dm_target *ti, struct bio *bio)
{
	struct cbt_c *cbt = ti->private;
	struct cbt_bio *pb = cbt_bio_data(bio);
	u64 first, last;

	pb->counted = false;
	bio_set_dev(bio, cbt->origin->bdev);
	if (bio_sectors(bio))
		bio->bi_iter.bi_sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	if (!bio_changes_data(bio))
		return DM_MAPIO_REMAPPED;

	bio_block_range(cbt, bio, &first, &last);
	rcu_read_lock(); /* quiesce() waits for this section */
	/* Acquire: pairs with the release in unquiesce(), after the swap. */
	if (!smp_load_acquire(&cbt->quiescing) &&
	    range_marked(READ_ONCE(cbt->current_map), first, last)) {
		inflight_get(cbt);
		rcu_read_unlock();
		pb->counted = true;
		return DM_MAPIO_REMAPPED;
	}
	rcu_read_unlock();
	defer_bio(cbt, bio);
	return DM_MAPIO_SUBMITTED;
}

static int cbt_end_io(struct dm_target *ti, struct bio *bio,
		      blk_status_t *error)
{
	struct cbt_c *cbt = ti->private;
	struct cbt_bio *pb = cbt_bio_data(bio);

	if (pb->counted) {
		pb->counted = false;
		inflight_put(cbt);
	}
	return DM_ENDIO_DONE;
}

/*
 * Messages: the checkpoint protocol
 */

static int take_checkpoint(struct cbt_c *cbt, char *result, unsigned int maxlen)
{
	struct cbt_metadata *md = &cbt->md;
	u32 old_area = md->current_area, spare = !old_area;
	unsigned long *tmp;
	int r;

	if (md->frozen_checkpoint != DM_CBT_NO_FROZEN) {
		DMWARN("%s: checkpoint refused: checkpoint %llu is outstanding (commit or abort it first)",
		       cbt_device_name(cbt), md->frozen_checkpoint);
		return -EBUSY;
	}

	quiesce(cbt);
	/* The spare area becomes the new, empty current set. */
	r = cbt_metadata_write_map(md, spare, NULL, NULL, md->maybe_set[spare]);
	if (!r) {
		md->checkpoint++;
		md->frozen_checkpoint = md->checkpoint;
		md->current_area = spare;
		md->flags &= ~DM_CBT_SB_INVALID;
		r = cbt_metadata_write_superblock(md);
		if (r) {
			md->checkpoint--;
			md->frozen_checkpoint = DM_CBT_NO_FROZEN;
			md->current_area = old_area;
		}
	}
	if (r) {
		enter_error_state(cbt, r);
		unquiesce(cbt);
		return r;
	}
	bitmap_zero(md->maybe_set[spare], md->nr_pages);
	cbt_map_change_begin(cbt);
	tmp = cbt->frozen_map;
	WRITE_ONCE(cbt->frozen_map, cbt->current_map);
	WRITE_ONCE(cbt->current_map, tmp);
	cbt->frozen_dirty = cbt->current_dirty;
	cbt->current_dirty = 0;
	if (cbt->state == CBT_INVALID)
		cbt->state = CBT_OK; /* the frozen set holds everything */
	cbt_map_change_end(cbt);
	unquiesce(cbt);

	scnprintf(result, maxlen, "%llu", md->checkpoint);
	cbt_netlink_event(cbt, DM_CBT_EVENT_CHECKPOINT);
	return 1;
}

static int parse_checkpoint_arg(struct cbt_c *cbt, const char *verb,
				const char *arg, u64 *n)
{
	if (kstrtou64(arg, 10, n)) {
		DMWARN("%s: %s: '%s' is not a checkpoint number",
		       cbt_device_name(cbt), verb, arg);
		return -EINVAL;
	}
	if (cbt->md.frozen_checkpoint == DM_CBT_NO_FROZEN ||
	    cbt->md.frozen_checkpoint != *n) {
		if (cbt->md.frozen_checkpoint == DM_CBT_NO_FROZEN)
			DMWARN("%s: %s %llu refused: no checkpoint is outstanding",
			       cbt_device_name(cbt), verb, *n);
		else
			DMWARN("%s: %s %llu refused: the outstanding checkpoint is %llu",
			       cbt_device_name(cbt), verb, *n,
			       cbt->md.frozen_checkpoint);
		return -EINVAL;
	}
	return 0;
}

static void drop_frozen(struct cbt_c *cbt)
{
	bitmap_zero(cbt->frozen_map, cbt->md.nr_pages * CBT_BITS_PER_PAGE);
	cbt->frozen_dirty = 0;
}

static int commit(struct cbt_c *cbt, const char *arg)
{
	struct cbt_metadata *md = &cbt->md;
	u64 n;
	int r;

	r = parse_checkpoint_arg(cbt, "commit", arg, &n);
	if (r)
		return r;
	md->frozen_checkpoint = DM_CBT_NO_FROZEN;
	r = cbt_metadata_write_superblock(md);
	if (r) {
		md->frozen_checkpoint = n;
		enter_error_state(cbt, r);
		return r;
	}
	cbt_map_change_begin(cbt);
	drop_frozen(cbt);
	cbt_map_change_end(cbt);
	cbt_netlink_event(cbt, DM_CBT_EVENT_COMMIT);
	return 0;
}

/* current |= frozen, durably, then drop frozen. */
static int abort_checkpoint(struct cbt_c *cbt, const char *arg)
{
	struct cbt_metadata *md = &cbt->md;
	u32 frozen_area = !md->current_area;
	unsigned long *cur = cbt->current_map;
	u64 n, w;
	int r;

	r = parse_checkpoint_arg(cbt, "abort", arg, &n);
	if (r)
		return r;
	/* Only adds bits to the current area: safe against torn writes. */
	r = cbt_metadata_write_map(md, md->current_area, cbt->current_map,
				   cbt->frozen_map, md->maybe_set[frozen_area]);
	if (!r) {
		md->frozen_checkpoint = DM_CBT_NO_FROZEN;
		r = cbt_metadata_write_superblock(md);
		if (r)
			md->frozen_checkpoint = n;
	}
	if (r) {
		enter_error_state(cbt, r);
		return r;
	}
	bitmap_or(md->maybe_set[md->current_area], md->maybe_set[md->current_area],
		  md->maybe_set[frozen_area], md->nr_pages);
	cbt_map_change_begin(cbt);
	for (w = 0; w < md->nr_pages * (CBT_PAGE_BYTES / sizeof(long)); w++)
		WRITE_ONCE(cur[w], cur[w] | cbt->frozen_map[w]);
	cbt->current_dirty = bitmap_weight(cur, md->nr_pages * CBT_BITS_PER_PAGE);
	drop_frozen(cbt);
	cbt_map_change_end(cbt);
	cbt_netlink_event(cbt, DM_CBT_EVENT_ABORT);
	return 0;
}

static int mark_dirty_range(struct cbt_c *cbt, const char *first_arg,
			    const char *count_arg)
{
	u64 first, count;

	if (kstrtou64(first_arg, 10, &first) || kstrtou64(count_arg, 10, &count) ||
	    !count || first >= cbt->md.nr_blocks ||
	    count > cbt->md.nr_blocks - first) {
		DMWARN("%s: mark_dirty %s %s refused: need <first block> <count> within %llu blocks",
		       cbt_device_name(cbt), first_arg, count_arg,
		       cbt->md.nr_blocks);
		return -EINVAL;
	}
	return mark_range(cbt, first, first + count - 1);
}

static int invalidate(struct cbt_c *cbt)
{
	struct cbt_metadata *md = &cbt->md;
	int r;

	r = cbt_mark_all(cbt);
	if (r)
		return r;
	cbt_map_change_begin(cbt);
	uuid_gen(&md->uuid);
	md->flags |= DM_CBT_SB_INVALID;
	r = cbt_metadata_write_superblock(md);
	if (!r)
		cbt->state = CBT_INVALID;
	cbt_map_change_end(cbt);
	if (r) {
		enter_error_state(cbt, r);
		return r;
	}
	DMINFO("%s: invalidated: every block dirty, new generation %pUb",
	       cbt_device_name(cbt), &md->uuid);
	cbt_netlink_event(cbt, DM_CBT_EVENT_INVALIDATED);
	return 0;
}

static int cbt_message(struct dm_target *ti, unsigned int argc, char **argv,
		       char *result, unsigned int maxlen)
{
	struct cbt_c *cbt = ti->private;
	int r = -EINVAL;

	if (!argc)
		return -EINVAL;

	mutex_lock(&cbt->lock);
	if (!cbt->loaded) {
		DMWARN("%s: message refused: the device was never resumed",
		       cbt_device_name(cbt));
		r = -EAGAIN;
	} else if (cbt->state == CBT_ERROR &&
		   strcasecmp(argv[0], DM_CBT_MSG_INVALIDATE)) {
		DMWARN("%s: %s refused: the metadata device failed",
		       cbt_device_name(cbt), argv[0]);
		r = -EIO;
	} else if (!strcasecmp(argv[0], DM_CBT_MSG_CHECKPOINT) && argc == 1) {
		r = take_checkpoint(cbt, result, maxlen);
	} else if (!strcasecmp(argv[0], DM_CBT_MSG_COMMIT) && argc == 2) {
		r = commit(cbt, argv[1]);
	} else if (!strcasecmp(argv[0], DM_CBT_MSG_ABORT) && argc == 2) {
		r = abort_checkpoint(cbt, argv[1]);
	} else if (!strcasecmp(argv[0], DM_CBT_MSG_MARK_DIRTY) && argc == 3) {
		r = mark_dirty_range(cbt, argv[1], argv[2]);
	} else if (!strcasecmp(argv[0], DM_CBT_MSG_INVALIDATE) && argc == 1) {
		r = cbt->state == CBT_ERROR ? -EIO : invalidate(cbt);
	} else if (!strcasecmp(argv[0], DM_CBT_MSG_PREPARE_DETACH) && argc == 1) {
		cbt->detach_announced = true;
		r = 0;
	} else {
		DMWARN("%s: unsupported message '%s' with %u arguments",
		       cbt_device_name(cbt), argv[0], argc - 1);
	}
	mutex_unlock(&cbt->lock);
	return r;
}

/*
 * Suspend and resume
 */

static void cbt_postsuspend(struct dm_target *ti)
{
	struct cbt_c *cbt = ti->private;

	cbt_registry_del(cbt);
	flush_workqueue(cbt->wq);
	mutex_lock(&cbt->lock);
	if (cbt->loaded && cbt->state != CBT_ERROR) {
		/*
		 * Unless cbtship announced this detach, the next table may not
		 * track (LVM reloading its own table over this one): only this
		 * table's resume, or a cbt table taking over from it, keeps the
		 * history (DM_CBT_SB_SUSPENDED).
		 */
		cbt->md.flags |= DM_CBT_SB_CLEAN;
		if (!cbt->detach_announced)
			cbt->md.flags |= DM_CBT_SB_SUSPENDED;
		if (cbt_metadata_write_superblock(&cbt->md))
			enter_error_state(cbt, -EIO);
	}
	/*
	 * In the error state with the loss not recorded, no write reached the
	 * origin untracked: the map on disk is still exact.
	 */
	mutex_unlock(&cbt->lock);
}

static int cbt_preresume(struct dm_target *ti)
{
	struct cbt_c *cbt = ti->private;
	int r = 0;

	/* No dm ioctl lock is held here, unlike in the constructor. */
	if (dm_copy_name_and_uuid(dm_table_get_md(ti->table), cbt->name, NULL))
		cbt->name[0] = '\0';

	if (!cbt->loaded)
		cbt->handover = cbt_takes_over(cbt);
	mutex_lock(&cbt->lock);
	/* An announcement covers the next detach only, not a later one. */
	cbt->detach_announced = false;
	if (!cbt->loaded) {
		/* The device is suspended: reclaim must not write to it. */
		unsigned int noio = memalloc_noio_save();

		r = cbt_metadata_load(cbt);
		memalloc_noio_restore(noio);
		if (r)
			DMERR("%s: cannot load the metadata: %d",
			      cbt_device_name(cbt), r);
		else
			WRITE_ONCE(cbt->loaded, true);
	} else if (cbt->md.flags & (DM_CBT_SB_CLEAN | DM_CBT_SB_SUSPENDED) &&
		   cbt->state != CBT_ERROR) {
		cbt->md.flags &= ~(DM_CBT_SB_CLEAN | DM_CBT_SB_SUSPENDED);
		r = cbt_metadata_write_superblock(&cbt->md);
		if (r)
			enter_error_state(cbt, r);
		r = 0;
	}
	mutex_unlock(&cbt->lock);
	if (r)
		return r;
	cbt_registry_add(cbt);
	if (cbt->lost_to_detach) {
		cbt->lost_to_detach = false;
		cbt_netlink_event(cbt, DM_CBT_EVENT_DETACHED);
	}
	return 0;
}

/*
 * Status and device information
 */

static void cbt_status(struct dm_target *ti, status_type_t type,
		       unsigned int status_flags, char *result,
		       unsigned int maxlen)
{
	struct cbt_c *cbt = ti->private;
	struct cbt_metadata *md = &cbt->md;
	unsigned int sz = 0;
	u64 frozen = READ_ONCE(md->frozen_checkpoint);
	uuid_t uuid = md->uuid;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("%u %llu %llu %llu ", md->block_sectors, md->nr_blocks,
		       cbt_current_dirty(cbt), READ_ONCE(md->checkpoint));
		if (frozen == DM_CBT_NO_FROZEN)
			DMEMIT("- ");
		else
			DMEMIT("%llu ", frozen);
		DMEMIT("%llu %pUb %s", READ_ONCE(cbt->frozen_dirty), &uuid,
		       state_name(READ_ONCE(cbt->state)));
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %s %u", cbt->origin->name, md->dev->name,
		       md->block_sectors);
		break;
	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",origin=%s,metadata=%s,block_sectors=%u;",
		       cbt->origin->name, md->dev->name, md->block_sectors);
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
	.end_io = cbt_end_io,
	.postsuspend = cbt_postsuspend,
	.preresume = cbt_preresume,
	.status = cbt_status,
	.message = cbt_message,
	.iterate_devices = cbt_iterate_devices,
};

static int __init dm_cbt_init(void)
{
	int r;

	r = cbt_netlink_init();
	if (r)
		return r;
	r = dm_register_target(&cbt_target);
	if (r)
		cbt_netlink_exit();
	return r;
}

static void __exit dm_cbt_exit(void)
{
	dm_unregister_target(&cbt_target);
	cbt_netlink_exit();
}

module_init(dm_cbt_init);
module_exit(dm_cbt_exit);

MODULE_DESCRIPTION(DM_NAME " changed block tracking target");
MODULE_AUTHOR("dm-cbt developers");
MODULE_LICENSE("GPL");
