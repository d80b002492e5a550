// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cbt metadata device: superblock and bitmap areas.
 *
 * Layout (see include/uapi/dm-cbt.h and docs/dm-cbt.md): the superblock in
 * sector 0, then two bitmap areas of area_sectors each. The superblock is
 * written alone, as its own 4 KiB page after a flush, so switching which
 * area is current or frozen is atomic. Bits are only ever added to the current
 * area in place, so a torn page write can never clear a set bit.
 */
#include <linux/crc32.h>
#include <linux/ioprio.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dm-cbt.h"

#ifdef HAVE_DM_IO_IOPRIO
#define cbt_dm_io(req, n, region, bits) dm_io(req, n, region, bits, IOPRIO_DEFAULT)
#else
#define cbt_dm_io(req, n, region, bits) dm_io(req, n, region, bits)
#endif

static u32 sb_checksum(const struct dm_cbt_disk_superblock *sb)
{
	BUILD_BUG_ON(sizeof(*sb) != SECTOR_SIZE);
	/* zlib's crc32 of bytes 4..511: user space checks it with crc32(). */
	return ~crc32_le(~0U, (const u8 *)sb + 4, sizeof(*sb) - 4);
}

sector_t cbt_metadata_sectors_needed(u64 nr_blocks)
{
	u64 area_bytes = round_up(DIV_ROUND_UP_ULL(nr_blocks, 8), CBT_PAGE_BYTES);

	return DM_CBT_AREA0_SECTOR + 2 * (area_bytes >> SECTOR_SHIFT);
}

unsigned long *cbt_pages_alloc(u64 nr_pages)
{
	return kvcalloc(BITS_TO_LONGS(nr_pages), sizeof(unsigned long), GFP_KERNEL);
}

static sector_t area_page_sector(struct cbt_metadata *md, u32 area, u64 page)
{
	return DM_CBT_AREA0_SECTOR + area * md->area_sectors +
	       page * CBT_PAGE_SECTORS;
}

static int sync_io(struct cbt_metadata *md, blk_opf_t opf,
		   enum dm_io_mem_type type, void *mem, sector_t sector,
		   sector_t count)
{
	struct dm_io_region region = {
		.bdev = md->dev->bdev,
		.sector = sector,
		.count = count,
	};
	struct dm_io_request req = {
		.bi_opf = opf,
		.mem.type = type,
		.client = md->io_client,
	};
	unsigned long error_bits = 0;
	int r;

	if (type == DM_IO_VMA)
		req.mem.ptr.vma = mem;
	else
		req.mem.ptr.addr = mem;
	r = cbt_dm_io(&req, 1, &region, &error_bits);
	if (!r && error_bits)
		r = -EIO;
	return r;
}

/*
 * Superblock
 */

/*
 * The superblock is read and written as the whole first 4 KiB (its first
 * 512 bytes, the rest zero), so that 4Kn devices work: a 512-byte device
 * writes sector 0 atomically, a 4Kn device the whole page.
 */
static int read_superblock(struct cbt_metadata *md)
{
	return sync_io(md, REQ_OP_READ, DM_IO_KMEM, md->page_buf, 0,
		       CBT_PAGE_SECTORS);
}

static bool superblock_is_zero(const void *buf)
{
	return !memchr_inv(buf, 0, SECTOR_SIZE);
}

/*
 * Validate the on-disk superblock against the table. Called by the
 * constructor so that a wrong device fails the table load with a message
 * naming the problem. Fills md's fields when the superblock is valid.
 * Returns 1 when the device must be formatted, 0 when it is valid.
 */
int cbt_metadata_check(struct cbt_metadata *md, bool format, char **error)
{
	struct dm_cbt_disk_superblock *sb = md->page_buf;
	sector_t dev_sectors = bdev_nr_sectors(md->dev->bdev);
	sector_t needed = cbt_metadata_sectors_needed(md->nr_blocks);
	u64 recorded_blocks;
	int r;

	if (dev_sectors < needed) {
		*error = "Metadata device too small for this volume and block size";
		return -ENOSPC;
	}

	r = read_superblock(md);
	if (r) {
		*error = "Cannot read the metadata superblock";
		return r;
	}
	if (format || superblock_is_zero(sb))
		return 1;

	if (le64_to_cpu(sb->magic) != DM_CBT_DISK_MAGIC) {
		*error = "Not dm-cbt metadata (bad magic); the 'format' option overwrites it";
		return -EINVAL;
	}
	if (le32_to_cpu(sb->csum) != sb_checksum(sb)) {
		*error = "Metadata superblock checksum mismatch";
		return -EILSEQ;
	}
	if (le32_to_cpu(sb->version) != DM_CBT_DISK_VERSION) {
		*error = "Unsupported metadata version";
		return -EINVAL;
	}
	if (le32_to_cpu(sb->block_sectors) != md->block_sectors) {
		*error = "Block size differs from the one the metadata was made with";
		return -EINVAL;
	}
	recorded_blocks = le64_to_cpu(sb->nr_blocks);
	if (recorded_blocks > md->nr_blocks) {
		*error = "Table smaller than the volume in the metadata: shrinking is not supported";
		return -EINVAL;
	}
	md->area_sectors = le64_to_cpu(sb->area_sectors);
	if (md->area_sectors < (round_up(DIV_ROUND_UP_ULL(md->nr_blocks, 8),
					 CBT_PAGE_BYTES) >> SECTOR_SHIFT)) {
		*error = "Metadata areas too small to grow to this table's size";
		return -ENOSPC;
	}
	if (DM_CBT_AREA0_SECTOR + 2 * md->area_sectors > dev_sectors) {
		*error = "Metadata device is smaller than its superblock records";
		return -EINVAL;
	}
	if (le32_to_cpu(sb->current_area) > 1) {
		*error = "Metadata superblock names an invalid current area";
		return -EINVAL;
	}
	return 0;
}

int cbt_metadata_write_superblock(struct cbt_metadata *md)
{
	struct dm_cbt_disk_superblock *sb = md->page_buf;
	int r;

	memset(md->page_buf, 0, CBT_PAGE_BYTES);
	sb->flags = cpu_to_le32(md->flags);
	sb->magic = cpu_to_le64(DM_CBT_DISK_MAGIC);
	sb->version = cpu_to_le32(DM_CBT_DISK_VERSION);
	sb->block_sectors = cpu_to_le32(md->block_sectors);
	sb->nr_blocks = cpu_to_le64(md->nr_blocks);
	sb->area_sectors = cpu_to_le64(md->area_sectors);
	export_uuid(sb->uuid, &md->uuid);
	sb->checkpoint = cpu_to_le64(md->checkpoint);
	sb->frozen_checkpoint = cpu_to_le64(md->frozen_checkpoint);
	sb->current_area = cpu_to_le32(md->current_area);
	sb->sequence = cpu_to_le64(++md->sequence);
	sb->csum = cpu_to_le32(sb_checksum(sb));

	/* The flush makes every area write before it durable first. */
	r = sync_io(md, REQ_OP_WRITE | REQ_PREFLUSH | REQ_FUA | REQ_SYNC,
		    DM_IO_KMEM, sb, 0, CBT_PAGE_SECTORS);
	if (r)
		DMERR("%pg: superblock write failed: %d", md->dev->bdev, r);
	return r;
}

/*
 * Bitmap areas
 */

struct write_batch {
	atomic_t pending;
	int error;
	struct completion done;
};

static void batch_endio(unsigned long error, void *context)
{
	struct write_batch *wb = context;

	if (error)
		wb->error = -EIO;
	if (atomic_dec_and_test(&wb->pending))
		complete(&wb->done);
}

/*
 * Write pages [from the given buffers] to an area, all at once, and wait.
 * No flush: the superblock write or an explicit flush orders them.
 */
static int write_pages(struct cbt_metadata *md, u32 area, const u64 *index,
		       void *const *bufs, unsigned int n)
{
	struct write_batch wb = { .error = 0 };
	unsigned int i;

	if (!n)
		return 0;
	atomic_set(&wb.pending, n + 1);
	init_completion(&wb.done);
	for (i = 0; i < n; i++) {
		struct dm_io_region region = {
			.bdev = md->dev->bdev,
			.sector = area_page_sector(md, area, index[i]),
			.count = CBT_PAGE_SECTORS,
		};
		struct dm_io_request req = {
			.bi_opf = REQ_OP_WRITE | REQ_SYNC,
			.mem.type = DM_IO_KMEM,
			.mem.ptr.addr = bufs[i],
			.notify.fn = batch_endio,
			.notify.context = &wb,
			.client = md->io_client,
		};

		if (cbt_dm_io(&req, 1, &region, NULL)) {
			wb.error = -EIO;
			atomic_dec(&wb.pending);
		}
	}
	if (!atomic_dec_and_test(&wb.pending))
		wait_for_completion_io(&wb.done);
	if (wb.error)
		DMERR("%pg: bitmap write failed", md->dev->bdev);
	return wb.error;
}

int cbt_metadata_flush(struct cbt_metadata *md)
{
	return sync_io(md, REQ_OP_WRITE | REQ_PREFLUSH | REQ_SYNC, DM_IO_KMEM,
		       md->page_buf, 0, 0);
}

/*
 * Write pages of an area with the bits of map | extra (extra may be NULL;
 * map NULL writes zeroes). Only the pages set in 'pages' are written, or
 * every page in use when 'pages' is NULL.
 */
int cbt_metadata_write_map(struct cbt_metadata *md, u32 area,
			   const unsigned long *map, const unsigned long *extra,
			   const unsigned long *pages)
{
	u64 index[CBT_IO_BATCH];
	void *bufs[CBT_IO_BATCH];
	unsigned int n = 0, i;
	u64 p = 0;
	int r = 0;

	for (;;) {
		if (pages)
			p = find_next_bit(pages, md->nr_pages, p);
		if (p >= md->nr_pages)
			break;
		bufs[n] = md->io_pages[n];
		if (map)
			memcpy(bufs[n], (const u8 *)map + p * CBT_PAGE_BYTES,
			       CBT_PAGE_BYTES);
		else
			memset(bufs[n], 0, CBT_PAGE_BYTES);
		if (extra) {
			unsigned long *dst = bufs[n];
			const unsigned long *src = extra + p * (CBT_PAGE_BYTES / sizeof(long));

			for (i = 0; i < CBT_PAGE_BYTES / sizeof(long); i++)
				dst[i] |= src[i];
		}
		index[n++] = p++;
		if (n == CBT_IO_BATCH) {
			r = write_pages(md, area, index, bufs, n);
			if (r)
				return r;
			n = 0;
		}
	}
	return write_pages(md, area, index, bufs, n);
}

/* Write the given page buffers (prepared by the caller) to an area. */
int cbt_metadata_write_page_bufs(struct cbt_metadata *md, u32 area,
				 const u64 *index, unsigned int n)
{
	void *bufs[CBT_IO_BATCH];
	unsigned int i;

	if (WARN_ON(n > CBT_IO_BATCH))
		return -EINVAL;
	for (i = 0; i < n; i++)
		bufs[i] = md->io_pages[i];
	return write_pages(md, area, index, bufs, n);
}

static int read_area(struct cbt_metadata *md, u32 area, unsigned long *map,
		     u64 nr_blocks)
{
	u64 pages = DIV_ROUND_UP_ULL(DIV_ROUND_UP_ULL(nr_blocks, 8), CBT_PAGE_BYTES);

	/* Bits past nr_blocks are cleared by the caller. */
	if (!pages)
		return 0;
	return sync_io(md, REQ_OP_READ, DM_IO_VMA, map,
		       area_page_sector(md, area, 0), pages * CBT_PAGE_SECTORS);
}

/* Clear the bits from 'first' to the end of the map's last page. */
static void clear_tail(struct cbt_metadata *md, unsigned long *map, u64 first)
{
	u64 b;

	for (b = first; b < md->nr_pages * CBT_BITS_PER_PAGE; b++)
		__clear_bit_le(b, map);
}

static void note_set_pages(struct cbt_metadata *md, const unsigned long *map,
			   unsigned long *maybe_set)
{
	u64 p;

	for (p = 0; p < md->nr_pages; p++) {
		const u8 *page = (const u8 *)map + p * CBT_PAGE_BYTES;

		if (memchr_inv(page, 0, CBT_PAGE_BYTES))
			__set_bit(p, maybe_set);
	}
}

static int format(struct cbt_c *cbt)
{
	struct cbt_metadata *md = &cbt->md;
	sector_t avail = bdev_nr_sectors(md->dev->bdev) - DM_CBT_AREA0_SECTOR;
	int r;

	/* Each area takes half of the device: room to grow the volume. */
	md->area_sectors = round_down(avail / 2, CBT_PAGE_SECTORS);
	uuid_gen(&md->uuid);
	md->flags = 0;
	md->checkpoint = 0;
	md->frozen_checkpoint = DM_CBT_NO_FROZEN;
	md->current_area = 0;
	md->sequence = 0;

	/*
	 * A crash while the areas are zeroed must not leave an old superblock
	 * over cleared maps: first a superblock saying history is lost.
	 */
	md->flags = DM_CBT_SB_INVALID;
	r = cbt_metadata_write_superblock(md);
	if (!r)
		r = cbt_metadata_write_map(md, 0, NULL, NULL, NULL);
	if (!r)
		r = cbt_metadata_write_map(md, 1, NULL, NULL, NULL);
	md->flags = 0;
	if (!r)
		r = cbt_metadata_write_superblock(md);
	if (r)
		return r;
	DMINFO("%pg: formatted: %llu blocks of %u sectors, generation %pUb",
	       md->dev->bdev, md->nr_blocks, md->block_sectors, &md->uuid);
	return 0;
}

/*
 * Grow from the recorded number of blocks to the table's: the new blocks
 * are dirty. Their bits are made durable before the superblock records the
 * new size.
 */
static int grow(struct cbt_c *cbt, u64 old_blocks)
{
	struct cbt_metadata *md = &cbt->md;
	unsigned long *pages;
	u64 b;
	int r;

	pages = cbt_pages_alloc(md->nr_pages);
	if (!pages)
		return -ENOMEM;
	/*
	 * The old last block may have been partial: its new sectors are new
	 * too. The superblock does not record the length in sectors, so it is
	 * always marked.
	 */
	for (b = old_blocks ? old_blocks - 1 : 0; b < md->nr_blocks; b++) {
		if (test_bit_le(b, cbt->current_map))
			continue;
		__set_bit_le(b, cbt->current_map);
		__set_bit(b / CBT_BITS_PER_PAGE, pages);
		cbt->current_dirty++;
	}
	r = cbt_metadata_write_map(md, md->current_area, cbt->current_map, NULL,
				   pages);
	bitmap_or(md->maybe_set[md->current_area], md->maybe_set[md->current_area],
		  pages, md->nr_pages);
	kvfree(pages);
	if (r)
		return r;
	DMINFO("%pg: grown from %llu to %llu blocks; new blocks are dirty",
	       md->dev->bdev, old_blocks, md->nr_blocks);
	return 0;
}

/*
 * Read the metadata at the first resume (any previous table of this device
 * has been suspended by then and wrote its last state). Formats a zeroed
 * device or, with the 'format' option, any device.
 */
int cbt_metadata_load(struct cbt_c *cbt)
{
	struct cbt_metadata *md = &cbt->md;
	struct dm_cbt_disk_superblock *sb = md->page_buf;
	char *error = NULL;
	u64 old_blocks;
	u32 spare;
	int r;

	/* A failed earlier attempt may have left an error state behind. */
	cbt->state = CBT_OK;
	cbt->invalid_durable = false;
	r = cbt_metadata_check(md, cbt->format_requested, &error);
	if (r < 0) {
		DMERR("%pg: %s", md->dev->bdev, error);
		return r;
	}
	if (r == 1) {
		r = format(cbt);
		if (r)
			return r;
		cbt->format_requested = false;
		bitmap_zero(md->maybe_set[0], md->nr_pages);
		bitmap_zero(md->maybe_set[1], md->nr_pages);
		cbt->current_dirty = 0;
		cbt->frozen_dirty = 0;
		cbt->state = CBT_OK;
		goto mark_open;
	}

	import_uuid(&md->uuid, sb->uuid);
	md->flags = le32_to_cpu(sb->flags);
	md->checkpoint = le64_to_cpu(sb->checkpoint);
	md->frozen_checkpoint = le64_to_cpu(sb->frozen_checkpoint);
	md->current_area = le32_to_cpu(sb->current_area);
	md->sequence = le64_to_cpu(sb->sequence);
	old_blocks = le64_to_cpu(sb->nr_blocks);
	spare = !md->current_area;

	/*
	 * The last table on this metadata was suspended without announcing a
	 * detach, and this one does not take over from it: whatever replaced
	 * it may have written untracked (LVM's own table after lvextend).
	 */
	cbt->lost_to_detach = false;
	if (md->flags & DM_CBT_SB_SUSPENDED && !cbt->handover) {
		DMWARN("%pg: the last table on this metadata was suspended and replaced or removed without prepare_detach: writes since may be untracked; history lost",
		       md->dev->bdev);
		uuid_gen(&md->uuid);
		md->flags |= DM_CBT_SB_INVALID;
		cbt->lost_to_detach = true;
	}

	r = read_area(md, md->current_area, cbt->current_map, old_blocks);
	if (r)
		return r;
	clear_tail(md, cbt->current_map, old_blocks);
	cbt->current_dirty = bitmap_weight(cbt->current_map,
					   md->nr_pages * CBT_BITS_PER_PAGE);
	note_set_pages(md, cbt->current_map, md->maybe_set[md->current_area]);

	if (md->frozen_checkpoint != DM_CBT_NO_FROZEN) {
		r = read_area(md, spare, cbt->frozen_map, old_blocks);
		if (r)
			return r;
		clear_tail(md, cbt->frozen_map, old_blocks);
		cbt->frozen_dirty = bitmap_weight(cbt->frozen_map,
						  md->nr_pages * CBT_BITS_PER_PAGE);
		note_set_pages(md, cbt->frozen_map, md->maybe_set[spare]);
	} else {
		/* Unknown content: zero it all at the next checkpoint. */
		bitmap_fill(md->maybe_set[spare], md->nr_pages);
	}

	if (old_blocks < md->nr_blocks) {
		r = grow(cbt, old_blocks);
		if (r)
			return r;
	}
	cbt->state = CBT_OK;
	if (md->flags & DM_CBT_SB_INVALID) {
		/* History was lost before: everything stays dirty. */
		cbt->state = CBT_INVALID;
		r = cbt_mark_all(cbt);
		if (r)
			return r;
	}
	if (!(md->flags & DM_CBT_SB_CLEAN))
		DMINFO("%pg: recovering after an unclean shutdown: %llu dirty blocks",
		       md->dev->bdev, cbt->current_dirty);

mark_open:
	md->flags &= ~(DM_CBT_SB_CLEAN | DM_CBT_SB_SUSPENDED);
	return cbt_metadata_write_superblock(md);
}

/* Allocate what the metadata needs for nr_blocks; nothing is read yet. */
int cbt_metadata_init(struct cbt_metadata *md, struct dm_dev *dev,
		      u32 block_sectors, u64 nr_blocks)
{
	unsigned int i;

	md->dev = dev;
	md->block_sectors = block_sectors;
	md->nr_blocks = nr_blocks;
	md->nr_pages = DIV_ROUND_UP_ULL(DIV_ROUND_UP_ULL(nr_blocks, 8), CBT_PAGE_BYTES);
	md->io_client = dm_io_client_create();
	if (IS_ERR(md->io_client)) {
		int r = PTR_ERR(md->io_client);

		md->io_client = NULL;
		return r;
	}
	md->page_buf = kzalloc(CBT_PAGE_BYTES, GFP_KERNEL);
	md->maybe_set[0] = cbt_pages_alloc(md->nr_pages);
	md->maybe_set[1] = cbt_pages_alloc(md->nr_pages);
	if (!md->page_buf || !md->maybe_set[0] || !md->maybe_set[1])
		return -ENOMEM;
	for (i = 0; i < CBT_IO_BATCH; i++) {
		md->io_pages[i] = kmalloc(CBT_PAGE_BYTES, GFP_KERNEL);
		if (!md->io_pages[i])
			return -ENOMEM;
	}
	return 0;
}

void cbt_metadata_destroy(struct cbt_metadata *md)
{
	unsigned int i;

	for (i = 0; i < CBT_IO_BATCH; i++)
		kfree(md->io_pages[i]);
	kvfree(md->maybe_set[0]);
	kvfree(md->maybe_set[1]);
	kfree(md->page_buf);
	if (md->io_client)
		dm_io_client_destroy(md->io_client);
}
