/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * dm-cbt: the ABI between the dm-cbt device-mapper target and user space.
 *
 * Included by the kernel module (kmod/) and by libcbt (userspace/).
 * Only fixed-width __u types: the same bytes mean the same thing on both
 * sides. docs/dm-cbt.md explains the table line, the messages, the status
 * line and the metadata format in prose.
 */
#ifndef _UAPI_DM_CBT_H
#define _UAPI_DM_CBT_H

#include <linux/types.h>

/* The target's name in a table line: "cbt <origin> <metadata> <block size>" */
#define DM_CBT_TARGET_NAME "cbt"

#define DM_CBT_VERSION_MAJOR 0
#define DM_CBT_VERSION_MINOR 4
#define DM_CBT_VERSION_PATCH 0

/* Tracking block size, in 512-byte sectors: a power of two in this range. */
#define DM_CBT_MIN_BLOCK_SECTORS 8U	/* 4 KiB */
#define DM_CBT_MAX_BLOCK_SECTORS 2048U	/* 1 MiB */
#define DM_CBT_DEFAULT_BLOCK_SECTORS 128U /* 64 KiB */

/*
 * Optional table arguments (after the block size, as "#args arg..."):
 *   format    format the metadata device even if it holds a valid or
 *             foreign superblock (history is lost: new generation UUID)
 */
#define DM_CBT_OPT_FORMAT "format"

/*
 * Messages (dmsetup message DEV 0 ...). The result, where there is one, is
 * printed by dmsetup.
 *   checkpoint              frozen := current, current := empty; prints N
 *   commit <N>              the frozen set of checkpoint N was shipped: drop
 *   abort <N>               shipping N failed: current |= frozen, drop frozen
 *   mark_dirty <first> <count>   mark blocks dirty in current
 *   invalidate              everything dirty, new generation UUID
 *   prepare_detach          the next suspend is cbtship's own detach: the
 *                           history stays valid (see DM_CBT_SB_SUSPENDED)
 */
#define DM_CBT_MSG_CHECKPOINT "checkpoint"
#define DM_CBT_MSG_COMMIT "commit"
#define DM_CBT_MSG_ABORT "abort"
#define DM_CBT_MSG_MARK_DIRTY "mark_dirty"
#define DM_CBT_MSG_INVALIDATE "invalidate"
#define DM_CBT_MSG_PREPARE_DETACH "prepare_detach"

/*
 * Status line (dmsetup status DEV), after dm's "<start> <length> cbt":
 *   <block sectors> <nr blocks> <current dirty> <checkpoint>
 *   <frozen checkpoint or -> <frozen dirty> <generation uuid> <state>
 * checkpoint: number of the last checkpoint taken (0: none yet).
 * state: one of the DM_CBT_STATE_* words.
 */
#define DM_CBT_STATUS_FIELDS 8
/* tracking; the maps are exact */
#define DM_CBT_STATE_OK "ok"
/* history lost: everything dirty, new generation UUID */
#define DM_CBT_STATE_INVALID "invalid"
/*
 * metadata device failed: every block counts as dirty; writes to unmarked
 * blocks fail until that is recorded on disk; reload to leave this state
 */
#define DM_CBT_STATE_ERROR "error"

/*
 * Metadata device format (all integers little endian).
 *
 * Sector 0: the superblock (struct dm_cbt_disk_superblock, 512 bytes,
 * written alone with the rest of its 4 KiB page zero, so that its update
 * is atomic). Then two bitmap areas of
 * area_sectors each, starting at DM_CBT_AREA0_SECTOR: bit b of an area is
 * bit (b % 8) of byte (b / 8). One area holds the current set; the other
 * holds the frozen set while a checkpoint is outstanding and is spare
 * otherwise. Bits are only ever added to the area named current, so a torn
 * page write never clears a set bit.
 */
#define DM_CBT_DISK_MAGIC 0x3130544243636d64ULL /* "dmcCBT01" */
#define DM_CBT_DISK_VERSION 1U
#define DM_CBT_AREA0_SECTOR 8ULL	/* the superblock page is 4 KiB */
#define DM_CBT_NO_FROZEN 0ULL		/* frozen_checkpoint: none */

/* superblock flags */
#define DM_CBT_SB_CLEAN (1U << 0)	/* shut down cleanly */
#define DM_CBT_SB_INVALID (1U << 1)	/* history lost; everything dirty */
/*
 * Suspended without an announced detach (prepare_detach): the table that
 * follows may be anything (LVM reloading its own table over ours), and
 * writes may then reach the origin untracked. Only a resume of this table,
 * or a cbt table of the same dm device on the same metadata taking over
 * from it, clears it; any other attach starts a new generation.
 * Written since dm-cbt 0.4; older modules ignore it.
 */
#define DM_CBT_SB_SUSPENDED (1U << 2)

struct dm_cbt_disk_superblock {
	__le32 csum;		/* zlib crc32 of bytes 4..511 */
	__le32 flags;		/* DM_CBT_SB_* */
	__le64 magic;		/* DM_CBT_DISK_MAGIC */
	__le32 version;		/* DM_CBT_DISK_VERSION */
	__le32 block_sectors;
	__le64 nr_blocks;
	__le64 area_sectors;	/* size of each bitmap area */
	__u8 uuid[16];		/* generation: changes when history is lost */
	__le64 checkpoint;	/* last checkpoint taken */
	__le64 frozen_checkpoint; /* outstanding checkpoint, or 0 */
	__le32 current_area;	/* 0 or 1; the frozen area is the other */
	__le32 reserved0;
	__le64 sequence;	/* incremented at each superblock write */
	__u8 reserved[424];
} __attribute__((packed));

/*
 * Generic netlink family
 */
#define DM_CBT_GENL_NAME "dm_cbt"
#define DM_CBT_GENL_VERSION 1
#define DM_CBT_GENL_MCGRP_EVENTS "events"

enum dm_cbt_genl_cmd {
	DM_CBT_CMD_UNSPEC,
	/*
	 * Request: DEV_NAME or DEV. Reply: one message with the status
	 * attributes. With NLM_F_DUMP: one message per resumed tracked
	 * device (device attributes are ignored).
	 */
	DM_CBT_CMD_GET_STATUS,
	/*
	 * Dump (NLM_F_DUMP). Request: DEV_NAME or DEV, MAP (which bitmap).
	 * Replies: the status attributes once, then messages each carrying
	 * MAP_OFFSET (first block of the chunk) and MAP_BITS (bit b of the
	 * chunk = block MAP_OFFSET + b, same bit order as on disk). Chunks
	 * are in order; blocks past nr_blocks are zero; all-zero chunks are
	 * left out. A frozen map with no checkpoint outstanding is empty.
	 * Taken without a lock: dump the frozen set between checkpoint and
	 * commit/abort, where it does not change.
	 */
	DM_CBT_CMD_GET_MAP,
	/* Multicast on the events group: EVENT and the status attributes. */
	DM_CBT_CMD_EVENT,
	__DM_CBT_CMD_MAX,
};

#define DM_CBT_CMD_MAX (__DM_CBT_CMD_MAX - 1)

enum dm_cbt_genl_attr {
	DM_CBT_ATTR_UNSPEC,
	DM_CBT_ATTR_DEV_NAME,		/* string: dm device name */
	DM_CBT_ATTR_DEV,		/* u32: dev_t of the dm device (new_encode_dev) */
	DM_CBT_ATTR_MAP,		/* u32: enum dm_cbt_map */
	DM_CBT_ATTR_BLOCK_SECTORS,	/* u32 */
	DM_CBT_ATTR_NR_BLOCKS,		/* u64 */
	DM_CBT_ATTR_CURRENT_DIRTY,	/* u64 */
	DM_CBT_ATTR_CHECKPOINT,		/* u64 */
	DM_CBT_ATTR_FROZEN_CHECKPOINT,	/* u64, 0: none */
	DM_CBT_ATTR_FROZEN_DIRTY,	/* u64 */
	DM_CBT_ATTR_UUID,		/* binary, 16 bytes */
	DM_CBT_ATTR_STATE,		/* u32: enum dm_cbt_state */
	DM_CBT_ATTR_MAP_OFFSET,		/* u64: first block of MAP_BITS */
	DM_CBT_ATTR_MAP_BITS,		/* binary bitmap chunk */
	DM_CBT_ATTR_EVENT,		/* u32: enum dm_cbt_event */
	DM_CBT_ATTR_PAD,
	__DM_CBT_ATTR_MAX,
};

#define DM_CBT_ATTR_MAX (__DM_CBT_ATTR_MAX - 1)

enum dm_cbt_map {
	DM_CBT_MAP_CURRENT = 0,
	DM_CBT_MAP_FROZEN = 1,
};

enum dm_cbt_state {
	DM_CBT_STATE_OK_ID = 0,
	DM_CBT_STATE_INVALID_ID = 1,
	DM_CBT_STATE_ERROR_ID = 2,
};

enum dm_cbt_event {
	DM_CBT_EVENT_CHECKPOINT = 1,	/* checkpoint taken (CHECKPOINT) */
	DM_CBT_EVENT_COMMIT = 2,	/* frozen set committed */
	DM_CBT_EVENT_ABORT = 3,		/* frozen set merged back */
	DM_CBT_EVENT_INVALIDATED = 4,	/* history lost, new UUID */
	DM_CBT_EVENT_METADATA_ERROR = 5, /* metadata I/O failed */
	/*
	 * At attach: the metadata was left by a table that was suspended and
	 * never resumed nor taken over by cbt (DM_CBT_SB_SUSPENDED): history
	 * lost, new UUID.
	 */
	DM_CBT_EVENT_DETACHED = 6,
};

#endif /* _UAPI_DM_CBT_H */
