/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-cbt internals shared by the target, the metadata and the netlink
 * files.
 */
#ifndef DM_CBT_INTERNAL_H
#define DM_CBT_INTERNAL_H

#include <linux/atomic.h>
#include <linux/bio.h>
#include <linux/device-mapper.h>
#include <linux/dm-ioctl.h>
#include <linux/dm-io.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/uuid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <dm-cbt.h>

#define DM_MSG_PREFIX "cbt"

/* Bits of one metadata page: the unit of bitmap writes. */
#define CBT_PAGE_BYTES 4096U
#define CBT_PAGE_SECTORS (CBT_PAGE_BYTES >> SECTOR_SHIFT)
#define CBT_BITS_PER_PAGE (CBT_PAGE_BYTES * 8ULL)

/*
 * The kernel's bit helpers take int bit numbers: volumes are limited to
 * 2^31 - 1 blocks (just under 8 TiB at 4 KiB blocks, 128 TiB at 64 KiB).
 */
#define CBT_MAX_BLOCKS ((u64)INT_MAX)

/* Bitmap pages written together in one metadata commit. */
#define CBT_IO_BATCH 64U

/*
 * The metadata of one tracked device: what is on the metadata device and
 * how to update it. Owned by struct cbt_c; every update happens under
 * cbt_c->lock.
 */
struct cbt_metadata {
	struct dm_dev *dev;
	struct dm_io_client *io_client;

	u32 block_sectors;
	u64 nr_blocks;
	sector_t area_sectors;	/* capacity of each bitmap area */
	u64 nr_pages;		/* bitmap pages in use for nr_blocks */

	uuid_t uuid;
	u32 flags;		/* DM_CBT_SB_* */
	u64 checkpoint;
	u64 frozen_checkpoint;	/* DM_CBT_NO_FROZEN when none */
	u32 current_area;
	u64 sequence;

	/*
	 * Pages of each area that may hold set bits on disk. Zeroing an area
	 * writes only these. One bit per 32768 blocks.
	 */
	unsigned long *maybe_set[2];

	void *page_buf;		/* one page: the superblock */
	void *io_pages[CBT_IO_BATCH]; /* page buffers of one commit */
};

enum cbt_state {
	CBT_OK = DM_CBT_STATE_OK_ID,
	CBT_INVALID = DM_CBT_STATE_INVALID_ID,
	CBT_ERROR = DM_CBT_STATE_ERROR_ID,
};

struct cbt_c {
	struct dm_target *ti;
	struct dm_dev *origin;
	struct cbt_metadata md;
	bool format_requested;
	bool loaded;		/* metadata read at the first resume */
	/*
	 * prepare_detach was received since the last resume: the next
	 * postsuspend leaves the history valid for a later attach.
	 */
	bool detach_announced;
	/*
	 * Set by the first resume when this table takes over from a cbt table
	 * of the same dm device on the same metadata (a reload, a resize):
	 * the history goes on even though that table was suspended without
	 * prepare_detach.
	 */
	bool handover;
	/*
	 * The first resume found the history lost to an unannounced detach
	 * (DM_CBT_SB_SUSPENDED without a handover): reported once loaded.
	 */
	bool lost_to_detach;

	/*
	 * The two sets, one bit per block, same bit order as on disk. A bit
	 * of 'current' is set only once it is durable in the current area,
	 * or once a durable INVALID superblock makes every block dirty (and
	 * at load, before any I/O). Written under 'lock' only; read without
	 * it in the map path.
	 */
	unsigned long *current_map;
	unsigned long *frozen_map;
	u64 current_dirty;
	u64 frozen_dirty;
	enum cbt_state state;
	/*
	 * Since the last entry into the error state, the INVALID superblock
	 * is on disk (every block counts as dirty). Reset at each load.
	 */
	bool invalid_durable;

	/* Serialises metadata updates: worker batches and messages. */
	struct mutex lock;

	/* First writes wait here for their bits to be committed. */
	spinlock_t deferred_lock;
	struct bio_list deferred;
	struct workqueue_struct *wq;
	struct work_struct worker;

	/*
	 * Writes in flight to the origin. A checkpoint sets 'quiescing' and
	 * waits for 'inflight' to drain, so that every write is wholly before
	 * or wholly after it.
	 */
	long __percpu *inflight;
	bool quiescing;
	wait_queue_head_t inflight_wait;

	/*
	 * Netlink map dumps run without a lock, across several messages.
	 * map_seq is odd while a checkpoint, commit, abort or the error
	 * state changes what a dump returns, and grows by two with each such
	 * change (cbt_map_change_begin/end, under 'lock'): a dump that sees
	 * it odd or changed is flagged NLM_F_DUMP_INTR. map_id tells this
	 * instance from a later table of the same device.
	 */
	unsigned int map_seq;
	u64 map_id;

	/* dm name at the last resume, for log lines (netlink looks it up live). */
	char name[DM_NAME_LEN];

	/* Entry in the list of all instances. */
	struct list_head instances;

	/* Entry in the registry of active devices (netlink look-ups). */
	struct list_head registry;
	bool registered;
};

/* Per-bio data. */
struct cbt_bio {
	bool counted;		/* in cbt_c->inflight */
};

/* Dirty blocks in current as user space must see them. */
static inline u64 cbt_current_dirty(struct cbt_c *cbt)
{
	if (READ_ONCE(cbt->state) == CBT_ERROR)
		return cbt->md.nr_blocks;
	return READ_ONCE(cbt->current_dirty);
}

static inline void cbt_map_change_begin(struct cbt_c *cbt)
{
	WRITE_ONCE(cbt->map_seq, cbt->map_seq + 1);
	smp_wmb(); /* the odd count before any change of the maps */
}

static inline void cbt_map_change_end(struct cbt_c *cbt)
{
	smp_wmb(); /* every change of the maps before the even count */
	WRITE_ONCE(cbt->map_seq, cbt->map_seq + 1);
}

/* Bit helpers over the on-disk bit order (little endian). */
static inline bool cbt_test(const unsigned long *map, u64 block)
{
	return test_bit_le(block, map);
}

/* dm-cbt-metadata.c */
int cbt_metadata_init(struct cbt_metadata *md, struct dm_dev *dev,
		      u32 block_sectors, u64 nr_blocks);
void cbt_metadata_destroy(struct cbt_metadata *md);
sector_t cbt_metadata_sectors_needed(u64 nr_blocks);
int cbt_metadata_check(struct cbt_metadata *md, bool format, char **error);
int cbt_metadata_load(struct cbt_c *cbt);
int cbt_metadata_write_map(struct cbt_metadata *md, u32 area,
			   const unsigned long *map, const unsigned long *extra,
			   const unsigned long *pages);
int cbt_metadata_write_page_bufs(struct cbt_metadata *md, u32 area,
				 const u64 *index, unsigned int n);
int cbt_metadata_flush(struct cbt_metadata *md);
int cbt_metadata_write_superblock(struct cbt_metadata *md);
unsigned long *cbt_pages_alloc(u64 nr_pages);

/* dm-cbt-target.c, for the metadata */
int cbt_mark_all(struct cbt_c *cbt);

/* dm-cbt-netlink.c */
int cbt_netlink_init(void);
void cbt_netlink_exit(void);
void cbt_registry_add(struct cbt_c *cbt);
void cbt_registry_del(struct cbt_c *cbt);
void cbt_netlink_event(struct cbt_c *cbt, enum dm_cbt_event event);

/* dm-cbt-target.c, for netlink */
const char *cbt_device_name(struct cbt_c *cbt);
dev_t cbt_device_devt(struct cbt_c *cbt);

#endif
