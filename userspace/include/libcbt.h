/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libcbt: control of dm-cbt tracked devices from user space.
 *
 * Conventions (as in systemd and casync): functions return 0 or a positive
 * value on success and a negative errno on failure; objects are opaque,
 * made with _new() and released with _free().
 */
#ifndef LIBCBT_H
#define LIBCBT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dm-cbt.h>

/* Sizes ---------------------------------------------------------------- */

/*
 * Parse a size such as "65536", "64K", "64KiB", "1M", "4G" (binary units,
 * case-insensitive, optional "iB"/"B" suffix) into bytes.
 * Returns 0, -EINVAL (not a size) or -ERANGE (overflows 64 bits).
 */
int cbt_parse_size(const char *text, uint64_t *ret_bytes);

/* Format bytes as "64 KiB", "1.5 GiB"... into buf (at least 16 bytes). */
const char *cbt_format_size(uint64_t bytes, char *buf, size_t len);

/*
 * Check a tracking block size in bytes: a power of two from 4 KiB to
 * 1 MiB. Returns 0 or -EINVAL.
 */
int cbt_block_size_check(uint64_t bytes);

/* Table lines ------------------------------------------------------------ */

/*
 * Write the parameters of a cbt table line ("<origin> <metadata> <block
 * sectors>") for the given devices and block size in bytes into buf.
 * Returns the length, -EINVAL for a bad block size or a device name with
 * white space, or -ENOBUFS when buf is too small.
 */
int cbt_table_params(const char *origin, const char *metadata, uint64_t block_bytes, char *buf,
		     size_t len);

/*
 * Parse the parameters of a cbt table line ("<origin> <metadata> <block
 * sectors> [#opt args...]", as DM_DEVICE_TABLE returns them) into the
 * origin and metadata device words (usually "major:minor") and the block
 * size. Returns 0 or -EINVAL.
 */
struct cbt_table {
	char origin[64];
	char metadata[64];
	uint32_t block_sectors;
	uint64_t sectors; /* length of the target: set by cbt_device_get_table() */
};
int cbt_table_parse(const char *params, struct cbt_table *ret);

/* Metadata sizes ---------------------------------------------------------- */

/* Number of tracking blocks for an origin of origin_bytes (whole sectors). */
uint64_t cbt_nr_blocks(uint64_t origin_bytes, uint64_t block_bytes);

/*
 * Bytes the metadata device needs for nr_blocks: the 4 KiB superblock area
 * and two bitmap areas of round_up(ceil(nr_blocks / 8), 4096) bytes.
 */
uint64_t cbt_metadata_bytes(uint64_t nr_blocks);

/*
 * Size given to a metadata file that libcbt creates for an origin:
 * cbt_metadata_bytes() rounded up to CBT_METADATA_FILE_ALIGN (at least
 * that much). Returns 0 for a bad block size.
 */
#define CBT_METADATA_FILE_ALIGN (UINT64_C(1) << 20)
uint64_t cbt_metadata_default_bytes(uint64_t origin_bytes, uint64_t block_bytes);

/* Status ----------------------------------------------------------------- */

#define CBT_UUID_STRING_MAX 37 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */

struct cbt_status {
	uint32_t block_sectors;
	uint64_t nr_blocks;
	uint64_t current_dirty;
	uint64_t checkpoint;	    /* last checkpoint taken, 0: none yet */
	uint64_t frozen_checkpoint; /* outstanding checkpoint, DM_CBT_NO_FROZEN: none */
	uint64_t frozen_dirty;
	char uuid[CBT_UUID_STRING_MAX]; /* generation, lower case */
	enum dm_cbt_state state;
};

/*
 * Parse the target part of a cbt status line (what follows "<start>
 * <length> cbt"): exactly DM_CBT_STATUS_FIELDS fields. Strict: decimal
 * numbers without sign that fit, a block size the target accepts, counts
 * not above nr_blocks, "-" or a non-zero checkpoint not above the last one
 * for the frozen checkpoint (and no frozen dirty blocks without one), a
 * canonical UUID and a known state word. Returns 0 or -EINVAL (ret is
 * untouched then).
 */
int cbt_status_parse(const char *params, struct cbt_status *ret);

/* "ok", "invalid", "error"; NULL for an unknown value. */
const char *cbt_state_to_string(enum dm_cbt_state state);
int cbt_state_from_string(const char *word, enum dm_cbt_state *ret);

/* Format a 16-byte UUID as lower-case canonical text. */
void cbt_uuid_format(const uint8_t uuid[16], char buf[CBT_UUID_STRING_MAX]);

/* Status of the tracked dm device `name` through DM_DEVICE_STATUS. */
int cbt_device_get_status(const char *name, struct cbt_status *ret);

/* Dirty maps --------------------------------------------------------------- */

/* A set of blocks [0, nr_blocks), one bit per block. */
struct cbt_map;

int cbt_map_new(uint64_t nr_blocks, struct cbt_map **ret);
struct cbt_map *cbt_map_free(struct cbt_map *map);
uint64_t cbt_map_nr_blocks(const struct cbt_map *map);

/* Returns 0 or -ERANGE when a block is past the end. */
int cbt_map_set(struct cbt_map *map, uint64_t block);
int cbt_map_set_range(struct cbt_map *map, uint64_t first, uint64_t count);
bool cbt_map_test(const struct cbt_map *map, uint64_t block);
uint64_t cbt_map_count(const struct cbt_map *map);

/*
 * Add a bitmap chunk as the kernel sends it: bit b (bit b % 8 of byte
 * b / 8) is block first + b. Bits past nr_blocks must be clear: -EBADMSG
 * otherwise, and -ERANGE when first itself is past the end.
 */
int cbt_map_add_bits(struct cbt_map *map, uint64_t first, const void *bits, size_t len);

/*
 * Iterate the runs of set blocks in order:
 *     uint64_t cursor = 0, first, count;
 *     while (cbt_map_next_run(map, &cursor, &first, &count) > 0) ...
 * Returns 1 with a run (and moves the cursor past it) or 0 at the end.
 */
int cbt_map_next_run(const struct cbt_map *map, uint64_t *cursor, uint64_t *ret_first,
		     uint64_t *ret_count);

/* Device identity (libblkid) ------------------------------------------------ */

struct cbt_identity {
	uint64_t size_bytes;
	char type[32];	 /* filesystem or other content type, "" if none */
	char uuid[64];	 /* its UUID, "" if none */
	char ptuuid[64]; /* partition table UUID, "" if none */
};

int cbt_identify(const char *path, struct cbt_identity *ret);

/*
 * What identifies the origin device at path, as one line of "key=value"
 * words that writing to the device never changes (unlike a file system
 * UUID): "size=BYTES", then what the kernel knows of the device:
 * "dm-uuid=" (device-mapper), "wwid=", "serial=" (of the disk, also for a
 * partition), "partuuid=" (GPT/MBR partition entry, libblkid),
 * "loop-dev=MAJ:MIN loop-ino=N" (the file behind a loop device). A regular
 * file gives "size=BYTES dev=MAJ:MIN ino=N". Compare two with strcmp().
 * Returns 0, -ENOBUFS (buf too small; CBT_ORIGIN_IDENTITY_MAX is enough),
 * -ENOTBLK (neither a block device nor a regular file) or another negative
 * errno (-ENOENT: no such path).
 */
#define CBT_ORIGIN_IDENTITY_MAX 2048
int cbt_origin_identity(const char *path, char *buf, size_t len);

/* Tracked devices (libdevmapper) ---------------------------------------------- */

/*
 * Every device libcbt tracks is a stack of two dm devices:
 *
 *     name (cbt over name-cbt-real) -> name-cbt-real (linear ...)
 *
 * "<name>" CBT_HIDDEN_SUFFIX holds the table that maps the volume: the
 * device's own table for cbt_device_insert(), one linear target over the
 * whole origin for cbt_device_create(). A point-in-time view (below)
 * switches it to snapshot-origin for as long as views exist.
 */
#define CBT_HIDDEN_SUFFIX "-cbt-real"

enum {
	/* Format the metadata even when it holds a valid or foreign superblock. */
	CBT_CREATE_FORMAT = 1 << 0,
};

/*
 * Create the dm device `name` tracking origin_path, with its metadata on
 * `metadata`: a block device, or a regular file (created or extended to
 * cbt_metadata_default_bytes() when smaller than needed) attached to an
 * auto-clearing loop device that goes away with the dm device.
 * block_bytes 0 means DM_CBT_DEFAULT_BLOCK_SECTORS.
 * The cbt table sits on the hidden device "<name>" CBT_HIDDEN_SUFFIX (one
 * linear target over the whole origin, dm UUID CBT_CREATED_UUID_PREFIX
 * "<name>"), so that the volume can have point-in-time views.
 * Returns 0, -EEXIST (name or hidden name taken), -EINVAL, -ENOSPC
 * (metadata device too small) or another negative errno.
 */
int cbt_device_create(const char *name, const char *origin_path, const char *metadata,
		      uint64_t block_bytes, unsigned flags);

/* dm UUID prefix of the hidden device made by cbt_device_create(). */
#define CBT_CREATED_UUID_PREFIX "CBT-REAL-"

/*
 * Remove the tracked device `name` and, for one made by
 * cbt_device_create(), its hidden device (-EBUSY while it is open or has
 * point-in-time views; -EPERM for a device made by cbt_device_insert()).
 */
int cbt_device_remove(const char *name);

/*
 * Put the existing, possibly open and busy, dm device `name` under
 * tracking without detaching it: its table moves to a new device
 * "<name>" CBT_HIDDEN_SUFFIX, and `name` is reloaded, under suspend, with a
 * cbt table over that one. Metadata and flags as for cbt_device_create().
 * Every step is undone on failure. A hidden device left behind by a cbt
 * layer that something else replaced (nobody has it open) is removed first;
 * one that is open makes it -EEXIST.
 */
int cbt_device_insert(const char *name, const char *metadata, uint64_t block_bytes, unsigned flags);

/*
 * The reverse of cbt_device_insert(): `name` gets its original table back
 * (under suspend) and the hidden device is removed. -EBUSY while the
 * volume has point-in-time views.
 */
int cbt_device_eject(const char *name);

/* 1 if `name` is a device made by cbt_device_insert(), 0 if not. */
int cbt_device_is_inserted(const char *name);

/* Stop tracking `name`: cbt_device_eject() or cbt_device_remove(). */
int cbt_device_untrack(const char *name);

/* How many times the dm device `name` is open (holders included). */
int cbt_device_open_count(const char *name);

/* 1 if `name` exists and its table is one cbt target, 0 if not. */
int cbt_device_is_tracked(const char *name);

/*
 * The dm name of the block device at path: 0, or -ENXIO when it is no
 * device-mapper device (-ENOTBLK: not a block device).
 */
int cbt_dm_name_of_path(const char *path, char *buf, size_t len);

/*
 * Is the block device at path under a tracked device (a cbt device among
 * the dm devices that hold it, through its sysfs holders, at any depth)?
 * 1 with the cbt device's name in name and *ret_whole true when writing to
 * path is writing to that device at the same offsets (each layer between
 * them maps the whole device below one to one: a single linear target at
 * offset 0, and the cbt target over all of it), 0 when no tracked device
 * is above it (or path is not a block device), or a negative errno.
 */
int cbt_device_tracked_above(const char *path, char *name, size_t len, bool *ret_whole);

/*
 * Its table parameters, parsed. -ENXIO: no such device; -EMEDIUMTYPE: not
 * cbt. For a device made by cbt_device_create(), origin is the device
 * under the hidden device (the origin it was created with), not the hidden
 * device itself; for one made by cbt_device_insert() it is the hidden
 * device, which holds the device's own table.
 */
int cbt_device_get_table(const char *name, struct cbt_table *ret);

/*
 * The names of every dm device whose table is cbt, sorted, as a
 * NULL-terminated array (free with cbt_strv_free()).
 */
int cbt_device_list(char ***ret_names);
char **cbt_strv_free(char **strv);

/*
 * A printable name for a device word of a table ("253:1"): the dm name,
 * else "/dev/<kernel name>", else the word itself.
 */
int cbt_device_describe(const char *word, char *buf, size_t len);

/* Messages ---------------------------------------------------------------- */

/* checkpoint: frozen := current; returns the checkpoint number. */
int cbt_checkpoint(const char *name, uint64_t *ret_checkpoint);
int cbt_commit(const char *name, uint64_t checkpoint);
int cbt_abort(const char *name, uint64_t checkpoint);
int cbt_mark_dirty(const char *name, uint64_t first, uint64_t count);
int cbt_invalidate(const char *name);
/*
 * The next suspend of name's table is cbtship's own detach (untrack
 * --keep-history, the agent at shutdown): the history stays valid for the
 * next attach. Without it, a table suspended and then replaced by anything
 * but a cbt table on the same metadata (LVM's own after lvextend) makes the
 * next attach start a new generation. Covers one suspend: a resume of the
 * same table cancels it.
 */
int cbt_prepare_detach(const char *name);

/* Parse the result of the checkpoint message (a decimal number). */
int cbt_checkpoint_response_parse(const char *text, uint64_t *ret);

/* Point-in-time views (dm-snapshot) ------------------------------------------ */

/*
 * A view is a stock dm-snapshot of a tracked volume, taken under the same
 * suspend as a dm-cbt checkpoint: it shows the volume exactly as it was
 * when the checkpoint's frozen set was closed (docs/dm-cbt.md, "Point-in-
 * time views"). Devices, all found again from the live dm tables:
 *
 *     name-cbt-real   snapshot-origin over name-cbt-base (while views exist)
 *     name-cbt-base   the table name-cbt-real had before the first view
 *     name-view-TAG   snapshot name-cbt-base <loop of the COW file> P 8
 *
 * The COW file is a sparse file on an auto-clearing loop device; it must not
 * live on the volume itself.
 */
#define CBT_BASE_SUFFIX	     "-cbt-base"
#define CBT_VIEW_INFIX	     "-view-"
#define CBT_VIEW_UUID_PREFIX "CBT-VIEW-" /* then "<generation>-<checkpoint>" */
#define CBT_VIEW_CHUNK_BYTES 4096

struct cbt_view_info {
	char name[128];		 /* DM_NAME_LEN: the snapshot device, "<vol>-view-<tag>" */
	char path[PATH_MAX];	 /* /dev/mapper/<name> */
	char cow_path[PATH_MAX]; /* the sparse COW file ("" if unknown) */
	uint64_t checkpoint;	 /* dm-cbt checkpoint taken with it (0: unknown) */
	uint64_t cow_bytes;	 /* COW file size */
	char generation[CBT_UUID_STRING_MAX]; /* dm-cbt generation then ("" if unknown) */
};

/*
 * Under one suspend of the tracked device `name`: send `checkpoint` to it,
 * make name-cbt-real a snapshot-origin (first view only), create the
 * snapshot device "<name>-view-<tag>" (tag: 1 or more of [A-Za-z0-9_-])
 * with persistent exceptions in 4 KiB chunks on a new sparse file of
 * cow_bytes (rounded up to 4 KiB; 0: enough for the whole volume to be
 * rewritten, exception metadata included) made in cow_dir, then resume.
 * dm-snapshot refuses a store smaller than 3 chunks.
 * On failure everything is undone (the checkpoint aborted if it was taken)
 * and the volume runs as before. Returns 0 (ret, if not NULL, filled),
 * -ENXIO (no such device), -EMEDIUMTYPE (not tracked), -EOPNOTSUPP (cbt
 * directly over its origin: made by dmsetup or an older libcbt), -EEXIST
 * (the view exists), -EBUSY (suspended, or a checkpoint is outstanding),
 * -EINVAL (bad name, tag or size), or another negative errno.
 */
int cbt_view_create(const char *name, const char *tag, const char *cow_dir, uint64_t cow_bytes,
		    struct cbt_view_info *ret);

/*
 * Remove the view: under suspend of `name`, remove the snapshot device and,
 * when it was the last view, give name-cbt-real its previous table back
 * (then name-cbt-base goes); the loop device clears itself and the COW file
 * is unlinked. Does not commit or abort the checkpoint (the caller does).
 * Idempotent: finishes a removal that stopped half-way; -ENOENT only when
 * nothing of the view is left; -EBUSY while the snapshot device is open.
 */
int cbt_view_remove(const char *name, const char *tag);

/*
 * 1 if the view is valid, 0 if it overflowed or was invalidated
 * (dm-snapshot status "Invalid", "Overflow" or "Merge failed"), negative
 * errno otherwise (-ENOENT: no such view). Used and total COW sectors
 * (metadata included) into the pointers that are not NULL; when the view is
 * invalid both are the COW device's size.
 */
int cbt_view_check(const char *name, const char *tag, uint64_t *ret_used_sectors,
		   uint64_t *ret_total_sectors);

/* Fill ret from the live dm tables for an existing view; -ENOENT when none. */
int cbt_view_get(const char *name, const char *tag, struct cbt_view_info *ret);

/* The tags of the views of `name`, sorted, NULL-terminated (cbt_strv_free()). */
int cbt_view_list(const char *name, char ***ret_tags);

/* Generic netlink --------------------------------------------------------- */

struct cbt_netlink;

/* -EPROTONOSUPPORT when the kernel has no DM_CBT_GENL_NAME family. */
int cbt_netlink_new(struct cbt_netlink **ret);
struct cbt_netlink *cbt_netlink_free(struct cbt_netlink *nl);

/* -ENODEV when `name` is not a tracked device (the kernel's answer). */
int cbt_netlink_get_status(struct cbt_netlink *nl, const char *name, struct cbt_status *ret);

/*
 * Dump one bitmap (DM_CBT_MAP_CURRENT or DM_CBT_MAP_FROZEN) of `name`
 * into a new map; ret_status (may be NULL) gets the status sent with it.
 */
int cbt_netlink_get_map(struct cbt_netlink *nl, const char *name, enum dm_cbt_map which,
			struct cbt_status *ret_status, struct cbt_map **ret_map);

struct cbt_event {
	enum dm_cbt_event event;
	char name[128];	     /* dm device name */
	uint32_t dev;	     /* dev_t, new_encode_dev() */
	uint64_t checkpoint; /* 0 when not sent */
};

/* A socket subscribed to the events multicast group. */
struct cbt_events;

int cbt_events_new(struct cbt_events **ret);
struct cbt_events *cbt_events_free(struct cbt_events *ev);

/* A file descriptor that polls readable when events may be waiting. */
int cbt_events_get_fd(struct cbt_events *ev);

/*
 * Wait up to timeout_ms (-1: forever, 0: do not wait) for the next event.
 * Returns 1 with an event, 0 on timeout, or a negative errno.
 */
int cbt_events_receive(struct cbt_events *ev, int timeout_ms, struct cbt_event *ret);

/* "checkpoint", "commit", ...; NULL for an unknown value. */
const char *cbt_event_to_string(enum dm_cbt_event event);

#endif
