/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Point-in-time views of a tracked volume, with stock dm-snapshot, taken at
 * the instant of a dm-cbt checkpoint.
 *
 *   tracked:    name (cbt) -> name-cbt-real (linear ...)
 *   with views: name (cbt) -> name-cbt-real (snapshot-origin name-cbt-base)
 *                             name-cbt-base (the linear table name-cbt-real had)
 *               name-view-TAG (snapshot name-cbt-base <loop of COW file> P 8)
 *
 * snapshot-origin and snapshot must name the same device, and neither takes
 * an offset: the table name-cbt-real had (a linear at any offset, an LVM
 * LV's several segments) moves to the base device, whatever its shape.
 *
 * cbt_view_create(), everything that can be prepared first (COW file, loop
 * device, base device, tables) made before anything is suspended:
 *
 *   1. suspend name         dm waits for every bio in flight on name,
 *                           deferred ones in the cbt worker included, and
 *                           holds new ones above the target; lockfs
 *                           freezes a file system mounted on it
 *   2. message checkpoint   to name, suspended (dm-cbt accepts messages then,
 *                           docs/dm-cbt.md §2.3): frozen := current
 *   3. suspend name-cbt-real, reload it with snapshot-origin (first view)
 *   4. create name-view-TAG (load + resume): the snapshot is registered and
 *                           active before the origin is resumed, so the
 *                           origin's resume sees its chunk size
 *   5. resume name-cbt-real
 *   6. resume name
 *
 * Why this is exact: between 1 and 6 no bio reaches the cbt target or any
 * device under it. Every write that completed before 1 is in the frozen set
 * of the checkpoint (2) and on the base device before the snapshot exists
 * (4), so the view shows it. Every write not completed at 1 was held by dm
 * above the cbt target and is mapped only after 6: cbt records it in the
 * new current set, and snapshot-origin, active since 5 with the snapshot
 * registered since 4, copies the old chunk to the COW store before the
 * write lands, so the view does not show it. No write is in the new epoch
 * and in the view, none in the old epoch and missing from it. Had dm-cbt
 * refused messages while suspended, the checkpoint would have had to go
 * before 1 and the two instants would differ by the writes in between.
 *
 * Any failure undoes the steps taken, in reverse, the checkpoint aborted
 * (while name is still suspended, so no write is lost between the epochs).
 *
 * cbt_view_remove(): suspend name, remove name-view-TAG, and when no other
 * view is left: suspend name-cbt-real, reload it with the base device's
 * table, resume it; resume name; remove name-cbt-base; unlink the COW file
 * (its loop device cleared itself when the snapshot closed it).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libcbt/libcbt-internal.h"

#define CHUNK_SECTORS (CBT_VIEW_CHUNK_BYTES / 512)
/* dm-snap-persistent: 16-byte exceptions, one metadata chunk per area. */
#define EXCEPTIONS_PER_AREA (CBT_VIEW_CHUNK_BYTES / 16)

#define BASE_UUID_PREFIX "CBT-BASE-"

struct names {
	char hidden[DM_NAME_LEN];
	char base[DM_NAME_LEN];
	char view[DM_NAME_LEN];
};

static bool tag_valid(const char *tag)
{
	if (!tag || !*tag)
		return false;
	for (const char *p = tag; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return true;
}

static int make_names(const char *name, const char *tag, struct names *n)
{
	int r;

	if (!name || !*name || strchr(name, '/') || !tag_valid(tag))
		return -EINVAL;
	r = cbt_hidden_name(name, n->hidden, sizeof(n->hidden));
	if (r == 0)
		r = cbt_base_name(name, n->base, sizeof(n->base));
	if (r < 0)
		return r;
	r = snprintf(n->view, sizeof(n->view), "%s%s%s", name, CBT_VIEW_INFIX, tag);
	return r < 0 || (size_t)r >= sizeof(n->view) ? -ENAMETOOLONG : 0;
}

/* The params of `name`'s table when it is one target of `type`. */
static int one_target(const char *name, const char *type, char *params, size_t len,
		      uint64_t *ret_sectors)
{
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table table = { 0 };
	struct dm_info info;
	int r;

	/* INFO first: a TABLE of a missing device is logged as an error. */
	r = cbt_dm_get_info(name, &info);
	if (r == 0)
		r = cbt_dm_get_table(name, &table);
	if (r < 0)
		return r;
	if (table.n != 1 || strcmp(table.targets[0].type, type) != 0)
		return -EMEDIUMTYPE;
	if (strlen(table.targets[0].params) >= len)
		return -ENOBUFS;
	strcpy(params, table.targets[0].params);
	if (ret_sectors)
		*ret_sectors = table.targets[0].length;
	return 0;
}

/* A snapshot table's "<origin> <cow> P <chunk>": the two device words. */
static int snapshot_words(const char *params, char origin[32], char cow[32])
{
	char mode[8];
	unsigned chunk;

	if (sscanf(params, "%31s %31s %7s %u", origin, cow, mode, &chunk) != 4)
		return -EBADMSG;
	return 0;
}

/* Bytes of a COW store holding every chunk of a volume of `sectors`. */
static uint64_t full_cow_bytes(uint64_t sectors)
{
	uint64_t chunks = (sectors + CHUNK_SECTORS - 1) / CHUNK_SECTORS;

	/* header, data, one metadata chunk per area and the next area's */
	chunks += 2 + (chunks + EXCEPTIONS_PER_AREA - 1) / EXCEPTIONS_PER_AREA;
	return chunks * CBT_VIEW_CHUNK_BYTES;
}

/* "CBT-VIEW-<generation>-<checkpoint>" */
static void parse_view_uuid(const char *uuid, struct cbt_view_info *ret)
{
	size_t prefix = strlen(CBT_VIEW_UUID_PREFIX), gen = CBT_UUID_STRING_MAX - 1;
	uint64_t n;

	if (strncmp(uuid, CBT_VIEW_UUID_PREFIX, prefix) != 0 || strlen(uuid) < prefix + gen + 2 ||
	    uuid[prefix + gen] != '-' || cbt_parse_u64(uuid + prefix + gen + 1, &n) < 0)
		return;
	memcpy(ret->generation, uuid + prefix, gen);
	ret->generation[gen] = '\0';
	ret->checkpoint = n;
}

static int fill_info(const struct names *n, struct cbt_view_info *ret)
{
	char params[256], origin[32], cow[32], uuid[256];
	uint64_t sectors;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = one_target(n->view, "snapshot", params, sizeof(params), NULL);
	if (r == -ENXIO)
		return -ENOENT;
	if (r < 0)
		return r;
	r = snapshot_words(params, origin, cow);
	if (r < 0)
		return r;
	strcpy(ret->name, n->view);
	snprintf(ret->path, sizeof(ret->path), "/dev/mapper/%s", n->view);
	if (cbt_loop_get_backing(cow, ret->cow_path, sizeof(ret->cow_path), NULL, NULL) < 0)
		ret->cow_path[0] = '\0';
	if (cbt_blockdev_sectors(cow, &sectors) == 0)
		ret->cow_bytes = sectors * 512;
	if (cbt_dm_get_uuid(n->view, uuid, sizeof(uuid)) == 0)
		parse_view_uuid(uuid, ret);
	return 0;
}

/* Calls fn for each dm device whose table is one snapshot over base_word. */
static int for_each_snapshot_of(const char *base_word, int (*fn)(const char *name, void *userdata),
				void *userdata)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	struct dm_names *entry;
	int r;

	dmt = cbt_dm_task_new(DM_DEVICE_LIST, NULL);
	if (!dmt)
		return cbt_dm_task_new_error();
	r = cbt_dm_task_run(dmt);
	if (r < 0)
		return r;
	entry = dm_task_get_names(dmt);
	if (!entry || !entry->dev)
		return 0;
	for (;;) {
		char params[256], origin[32], cow[32];

		if (one_target(entry->name, "snapshot", params, sizeof(params), NULL) == 0 &&
		    snapshot_words(params, origin, cow) == 0 && strcmp(origin, base_word) == 0) {
			r = fn(entry->name, userdata);
			if (r < 0)
				return r;
		}
		if (!entry->next)
			break;
		entry = (struct dm_names *)((char *)entry + entry->next);
	}
	return 0;
}

struct count_others {
	const char *except;
	unsigned n;
};

static int count_other(const char *name, void *userdata)
{
	struct count_others *c = userdata;

	if (strcmp(name, c->except) != 0)
		c->n++;
	return 0;
}

/* The hidden device's state: 1 snapshot-origin over base_word, 0 not. */
static int hidden_is_origin(const struct names *n, const char *base_word)
{
	char params[64];
	int r;

	r = one_target(n->hidden, "snapshot-origin", params, sizeof(params), NULL);
	if (r == -EMEDIUMTYPE || r == -ENOBUFS)
		return 0;
	if (r < 0)
		return r;
	return base_word && strcmp(params, base_word) == 0;
}

/* A sparse file in dir, "<view name>.XXXXXX", of `bytes`. */
static int make_cow_file(const char *dir, const char *view, uint64_t bytes, char *path, size_t len,
			 int *ret_fd)
{
	_cleanup_(closep) int fd = -1;
	int r;

	r = snprintf(path, len, "%s/%s.XXXXXX", dir, view);
	if (r < 0 || (size_t)r >= len)
		return -ENAMETOOLONG;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)bytes) < 0) {
		r = -errno;
		unlink(path);
		return r;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/*
 * Views of one volume are made and removed one at a time, also between
 * processes: an exclusive flock on /run/libcbt/view-<name>.lock. The
 * directory is root's alone (0700, checked): in a world-writable one such
 * as /run/lock, any user could create the lock file first and hold it,
 * stopping every view. Best effort: without it (no /run, or a directory
 * that is not ours alone) it runs unlocked (-1).
 */
#define VIEW_LOCK_DIR "/run/libcbt"

static int lock_dir(void)
{
	struct stat st;

	if (mkdir(VIEW_LOCK_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(VIEW_LOCK_DIR, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077))
		return -EPERM;
	return 0;
}

static int lock_volume(const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (lock_dir() < 0)
		return -1;
	if (snprintf(path, sizeof(path), "%s/view-%s.lock", VIEW_LOCK_DIR, name) >=
	    (int)sizeof(path))
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

/*
 * A base device left by a create or remove that stopped half-way (crash):
 * ours by its UUID and used by nobody, so it may go.
 */
static int drop_stale_base(const char *name, const struct names *n)
{
	char uuid[256], expected[256];
	struct dm_info info;
	int r;

	r = cbt_dm_get_info(n->base, &info);
	if (r == -ENXIO)
		return 0;
	if (r < 0)
		return r;
	snprintf(expected, sizeof(expected), "%s%s", BASE_UUID_PREFIX, name);
	if (cbt_dm_get_uuid(n->base, uuid, sizeof(uuid)) < 0 || strcmp(uuid, expected) != 0 ||
	    info.open_count > 0)
		return -EEXIST;
	return cbt_dm_remove_retry(n->base);
}

int cbt_view_create(const char *name, const char *tag, const char *cow_dir, uint64_t cow_bytes,
		    struct cbt_view_info *ret)
{
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table hidden_table = { 0 };
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table origin_table = { 0 };
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table snap_table = { 0 };
	/* Released last: after every resume of the paths below. */
	_cleanup_(cbt_signals_release) struct cbt_signals held = { .held = false };
	_cleanup_(closep) int cow_fd = -1;
	_cleanup_(closep) int loop_fd = -1;
	_cleanup_(closep) int lock_fd = -1;
	char cow_path[PATH_MAX] = "", base_word[32], loop_word[32], params[96], uuid[128];
	char base_uuid[DM_NAME_LEN + sizeof(BASE_UUID_PREFIX)];
	bool first, base_made = false, top_suspended = false, hidden_suspended = false;
	bool hidden_loaded = false, hidden_switched = false, view_made = false;
	uint64_t sectors, checkpoint = 0;
	struct cbt_status status;
	struct dm_info info;
	struct names n;
	struct stat st;
	int layout, r;

	if (!cow_dir || !*cow_dir)
		return -EINVAL;
	r = make_names(name, tag, &n);
	if (r < 0)
		return r;
	lock_fd = lock_volume(name);
	layout = cbt_device_layout(name);
	if (layout < 0)
		return layout;
	if (layout == CBT_LAYOUT_DIRECT)
		return -EOPNOTSUPP; /* cbt straight over its origin: nothing to switch */
	r = cbt_dm_get_info(name, &info);
	if (r < 0)
		return r;
	if (info.suspended)
		return -EBUSY; /* someone else's suspend: ours would resume it */
	/* COW writes through a file system on the volume would recurse. */
	if (stat(cow_dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (major(st.st_dev) == info.major && minor(st.st_dev) == info.minor)
		return -EINVAL;
	r = cbt_dm_get_info(n.view, &info);
	if (r == 0)
		return -EEXIST;
	if (r != -ENXIO)
		return r;

	/* First view: the hidden device's table moves to the base device. */
	r = cbt_dm_get_devno(n.base, base_word, sizeof(base_word));
	if (r < 0 && r != -ENXIO)
		return r;
	first = r == -ENXIO;
	r = hidden_is_origin(&n, first ? NULL : base_word);
	if (r < 0)
		return r;
	if (r == 0 && !first) {
		r = drop_stale_base(name, &n);
		if (r < 0)
			return r;
		first = true;
	}
	r = cbt_dm_get_table(n.hidden, &hidden_table);
	if (r < 0)
		return r;
	if (first && hidden_table.n == 1 &&
	    strcmp(hidden_table.targets[0].type, "snapshot-origin") == 0)
		return -EBUSY; /* someone else's snapshot-origin */
	sectors = cbt_dm_table_sectors(&hidden_table);
	if (sectors == 0)
		return -ENODATA;

	if (cow_bytes == 0)
		cow_bytes = full_cow_bytes(sectors);
	if (cow_bytes > UINT64_MAX - CBT_VIEW_CHUNK_BYTES || cow_bytes > (uint64_t)INT64_MAX)
		return -EINVAL;
	cow_bytes = (cow_bytes + CBT_VIEW_CHUNK_BYTES - 1) / CBT_VIEW_CHUNK_BYTES *
		    CBT_VIEW_CHUNK_BYTES;

	/* Everything that can be made before the suspend. */
	r = make_cow_file(cow_dir, n.view, cow_bytes, cow_path, sizeof(cow_path), &cow_fd);
	if (r < 0)
		return r;
	r = cbt_loop_attach(cow_fd, &loop_fd);
	if (r < 0)
		goto fail;
	if (fstat(loop_fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	r = cbt_format_devno(major(st.st_rdev), minor(st.st_rdev), loop_word, sizeof(loop_word));
	if (r < 0)
		goto fail;
	if (first) {
		snprintf(base_uuid, sizeof(base_uuid), "%s%s", BASE_UUID_PREFIX, name);
		r = cbt_dm_create_uuid(n.base, base_uuid, &hidden_table);
		if (r < 0)
			goto fail;
		base_made = true;
		r = cbt_dm_get_devno(n.base, base_word, sizeof(base_word));
		if (r < 0)
			goto fail;
		r = cbt_dm_table_one("snapshot-origin", sectors, base_word, &origin_table);
		if (r < 0)
			goto fail;
	}
	snprintf(params, sizeof(params), "%s %s P %d", base_word, loop_word, CHUNK_SECTORS);
	r = cbt_dm_table_one("snapshot", sectors, params, &snap_table);
	if (r < 0)
		goto fail;

	/* The instant: see the top of this file. */
	cbt_signals_hold(&held);
	r = cbt_dm_suspend(name);
	if (r < 0)
		goto fail;
	top_suspended = true;
	r = cbt_checkpoint(name, &checkpoint);
	if (r < 0)
		goto fail;
	r = cbt_device_get_status(name, &status);
	if (r < 0)
		goto fail;
	snprintf(uuid, sizeof(uuid), "%s%s-%" PRIu64, CBT_VIEW_UUID_PREFIX, status.uuid,
		 checkpoint);
	r = cbt_dm_suspend(n.hidden);
	if (r < 0)
		goto fail;
	hidden_suspended = true;
	if (first) {
		r = cbt_dm_reload(n.hidden, &origin_table);
		if (r < 0)
			goto fail;
		hidden_loaded = true;
	}
	r = cbt_dm_create_uuid(n.view, uuid, &snap_table);
	view_made = r == 0 || cbt_dm_get_info(n.view, &info) == 0;
	if (r < 0)
		goto fail;
	r = cbt_dm_resume(n.hidden);
	if (r < 0)
		goto fail;
	hidden_suspended = false;
	hidden_switched = hidden_loaded;
	hidden_loaded = false;
	r = cbt_dm_resume(name);
	if (r < 0)
		goto fail;

	if (ret) {
		memset(ret, 0, sizeof(*ret));
		strcpy(ret->name, n.view);
		snprintf(ret->path, sizeof(ret->path), "/dev/mapper/%s", n.view);
		strcpy(ret->cow_path, cow_path);
		ret->checkpoint = checkpoint;
		ret->cow_bytes = cow_bytes;
		strcpy(ret->generation, status.uuid);
	}
	return 0;

fail:
	/* Reverse order; name stays suspended until the checkpoint is gone. */
	if (view_made)
		(void)cbt_dm_remove_retry(n.view);
	if (hidden_switched) {
		(void)cbt_dm_suspend(n.hidden);
		if (cbt_dm_reload(n.hidden, &hidden_table) == 0)
			(void)cbt_dm_resume(n.hidden);
	} else if (hidden_loaded) {
		(void)cbt_dm_clear(n.hidden);
		(void)cbt_dm_resume(n.hidden);
	} else if (hidden_suspended) {
		(void)cbt_dm_resume(n.hidden);
	}
	if (checkpoint)
		(void)cbt_abort(name, checkpoint);
	if (top_suspended)
		(void)cbt_dm_resume(name);
	if (base_made)
		(void)cbt_dm_remove_retry(n.base);
	if (*cow_path)
		unlink(cow_path);
	return r;
}

int cbt_view_remove(const char *name, const char *tag)
{
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table base_table = { 0 };
	char params[256], origin[32], cow[32], base_word[32] = "", cow_path[PATH_MAX] = "";
	struct count_others others = { 0 };
	_cleanup_(cbt_signals_release) struct cbt_signals held = { .held = false };
	_cleanup_(closep) int lock_fd = -1;
	bool view_exists, base_exists, last, top_suspended = false;
	uint64_t cow_dev = 0, cow_ino = 0;
	struct dm_info info;
	struct names n;
	struct stat st;
	int switched, r;

	r = make_names(name, tag, &n);
	if (r < 0)
		return r;
	lock_fd = lock_volume(name);
	r = cbt_dm_get_devno(n.base, base_word, sizeof(base_word));
	if (r < 0 && r != -ENXIO)
		return r;
	base_exists = r == 0;

	r = one_target(n.view, "snapshot", params, sizeof(params), NULL);
	if (r < 0 && r != -ENXIO)
		return r;
	view_exists = r == 0;
	if (view_exists) {
		r = snapshot_words(params, origin, cow);
		if (r < 0)
			return r;
		if (!base_exists || strcmp(origin, base_word) != 0)
			return -EMEDIUMTYPE; /* a snapshot, but not of this volume */
		if (cbt_loop_get_backing(cow, cow_path, sizeof(cow_path), &cow_dev, &cow_ino) < 0)
			cow_path[0] = '\0';
	}

	/* Is it the last view? Then the hidden device gets its table back. */
	if (base_exists) {
		others.except = n.view;
		r = for_each_snapshot_of(base_word, count_other, &others);
		if (r < 0)
			return r;
		r = cbt_dm_get_table(n.base, &base_table);
		if (r < 0)
			return r;
	}
	switched = hidden_is_origin(&n, base_exists ? base_word : NULL);
	if (switched == -ENXIO)
		switched = 0;
	if (switched < 0)
		return switched;
	last = others.n == 0 && base_exists;
	if (!view_exists && !last)
		return -ENOENT;

	r = cbt_dm_get_info(name, &info);
	if (r < 0 && r != -ENXIO)
		return r;
	if (r == 0) {
		if (info.suspended)
			return -EBUSY;
		cbt_signals_hold(&held);
		r = cbt_dm_suspend(name);
		if (r < 0)
			return r;
		top_suspended = true;
	}
	if (view_exists) {
		r = cbt_dm_remove_retry(n.view);
		if (r < 0)
			goto out;
	}
	if (last && switched) {
		r = cbt_dm_suspend(n.hidden);
		if (r == 0)
			r = cbt_dm_reload(n.hidden, &base_table);
		if (r < 0) {
			/* Still snapshot-origin, with no snapshot: a pass-through. */
			(void)cbt_dm_resume(n.hidden);
			goto out;
		}
		r = cbt_dm_resume(n.hidden);
		if (r < 0) {
			(void)cbt_dm_clear(n.hidden);
			(void)cbt_dm_resume(n.hidden);
			goto out;
		}
	}
	if (top_suspended) {
		top_suspended = false;
		r = cbt_dm_resume(name);
		if (r < 0)
			return r;
	}
	r = last ? cbt_dm_remove_retry(n.base) : 0;
	/* Only the file the loop device had: not one made at that path since. */
	if (*cow_path && stat(cow_path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_dev == cow_dev && (uint64_t)st.st_ino == cow_ino &&
	    unlink(cow_path) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	return r;

out:
	if (top_suspended)
		(void)cbt_dm_resume(name);
	return r;
}

int cbt_view_check(const char *name, const char *tag, uint64_t *ret_used_sectors,
		   uint64_t *ret_total_sectors)
{
	_cleanup_(cbt_dm_table_done) struct cbt_dm_table status = { 0 };
	char params[256], origin[32], cow[32];
	unsigned long long used, total, meta;
	uint64_t cow_sectors = 0;
	struct names n;
	char end;
	int r;

	r = make_names(name, tag, &n);
	if (r < 0)
		return r;
	r = one_target(n.view, "snapshot", params, sizeof(params), NULL);
	if (r == -ENXIO)
		return -ENOENT;
	if (r < 0)
		return r;
	r = cbt_dm_get_status_targets(n.view, &status);
	if (r == -ENXIO)
		return -ENOENT;
	if (r < 0)
		return r;
	if (status.n != 1 || strcmp(status.targets[0].type, "snapshot") != 0)
		return -EMEDIUMTYPE;
	if (sscanf(status.targets[0].params, "%llu/%llu %llu%c", &used, &total, &meta, &end) == 3) {
		if (ret_used_sectors)
			*ret_used_sectors = used;
		if (ret_total_sectors)
			*ret_total_sectors = total;
		return 1;
	}
	if (strcmp(status.targets[0].params, "Invalid") != 0 &&
	    strcmp(status.targets[0].params, "Overflow") != 0 &&
	    strcmp(status.targets[0].params, "Merge failed") != 0)
		return -EBADMSG;
	if (snapshot_words(params, origin, cow) == 0)
		(void)cbt_blockdev_sectors(cow, &cow_sectors);
	if (ret_used_sectors)
		*ret_used_sectors = cow_sectors;
	if (ret_total_sectors)
		*ret_total_sectors = cow_sectors;
	return 0;
}

int cbt_view_get(const char *name, const char *tag, struct cbt_view_info *ret)
{
	struct names n;
	int r;

	if (!ret)
		return -EINVAL;
	r = make_names(name, tag, &n);
	if (r < 0)
		return r;
	return fill_info(&n, ret);
}

struct tag_list {
	const char *prefix;
	char **tags;
	size_t n;
};

static int add_tag(const char *view, void *userdata)
{
	struct tag_list *l = userdata;
	size_t len = strlen(l->prefix);
	char **grown;

	if (strncmp(view, l->prefix, len) != 0 || !tag_valid(view + len))
		return 0;
	grown = realloc(l->tags, (l->n + 2) * sizeof(char *));
	if (!grown)
		return -ENOMEM;
	l->tags = grown;
	l->tags[l->n] = strdup(view + len);
	l->tags[l->n + 1] = NULL;
	if (!l->tags[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cbt_view_list(const char *name, char ***ret_tags)
{
	char base[DM_NAME_LEN], base_word[32], prefix[DM_NAME_LEN + sizeof(CBT_VIEW_INFIX)];
	struct tag_list l = { .prefix = prefix };
	int r;

	if (!name || !*name || strchr(name, '/') || !ret_tags)
		return -EINVAL;
	r = cbt_base_name(name, base, sizeof(base));
	if (r < 0)
		return r;
	snprintf(prefix, sizeof(prefix), "%s%s", name, CBT_VIEW_INFIX);
	l.tags = calloc(1, sizeof(char *));
	if (!l.tags)
		return -ENOMEM;
	r = cbt_dm_get_devno(base, base_word, sizeof(base_word));
	if (r == 0)
		r = for_each_snapshot_of(base_word, add_tag, &l);
	else if (r == -ENXIO)
		r = 0;
	if (r < 0) {
		cbt_strv_free(l.tags);
		return r;
	}
	qsort(l.tags, l.n, sizeof(char *), compare_strings);
	*ret_tags = l.tags;
	return 0;
}
