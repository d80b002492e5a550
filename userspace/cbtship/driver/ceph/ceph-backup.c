/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Ceph back end of the backup commands (see the header). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/driver/ceph/ceph-backup.h"
#include "cbtship/backup/context.h"
#include "cbtship/hash/zero.h"
#include "cbtship/pipeline/io.h"

/* Bytes read from the source, or from a snapshot, at a time. */
#define CEPH_IO_SIZE (4u << 20)
/* Zeros shorter than this inside data are written as data. */
#define CEPH_ZERO_GRAIN (64u << 10)

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

/* A message from the RBD library (freed), or strerror. */
static int fail_rbd(char *err, size_t errlen, int r, char *msg)
{
	fail(err, errlen, r, "%s", msg ? msg : strerror(-r));
	free(msg);
	return r;
}

/* The same into a struct cbt_error, the kind from the cluster's errno. */
static int error_rbd(struct cbt_error *err, int r, char *msg)
{
	cbt_error_set(err, cbt_error_kind_of_store(r), r, "%s", msg ? msg : strerror(-r));
	free(msg);
	return r;
}

int cbt_ceph_connect(const char *pool, struct cbt_rbd **ret, char **ret_error)
{
	const struct cbt_config *cfg = cbtship_config();
	struct cbt_rbd_config rc = { 0 };

	rc.conf = cfg->backup_ceph_conf;
	rc.user = cfg->backup_ceph_user;
	rc.pool = pool && *pool ? pool : cfg->backup_ceph_pool;
	rc.timeout_seconds =
		cfg->rados_connect_timeout > 0 ? (unsigned)cfg->rados_connect_timeout : 0;
	return cbt_rbd_open(&rc, ret, ret_error);
}

/*
 * Write one piece read from the source: its runs of data as writes, its
 * runs of zeros (at CEPH_ZERO_GRAIN) as write-zeroes, or not at all on a
 * fresh image (it reads as zeros), so that zeros never travel as data.
 */
static int write_piece(const struct cbt_ceph_backup *b, struct cbt_rbd_image *img, bool fresh,
		       uint64_t off, const uint8_t *buf, size_t len, struct cbt_backup_progress *p,
		       char **msg)
{
	size_t grain = b->unit > CEPH_ZERO_GRAIN ? b->unit : CEPH_ZERO_GRAIN;
	int r;

	for (size_t at = 0; at < len;) {
		size_t n = grain < len - at ? grain : len - at;
		bool zero = cbt_is_zero(buf + at, n);

		/* Extend the run while the kind stays the same. */
		while (at + n < len) {
			size_t more = grain < len - at - n ? grain : len - at - n;

			if (cbt_is_zero(buf + at + n, more) != zero)
				break;
			n += more;
		}
		if (zero) {
			p->chunks_zero += (n + b->unit - 1) / b->unit;
			r = fresh ? 0 : cbt_rbd_image_discard(img, off + at, n, msg);
		} else {
			p->chunks_new += (n + b->unit - 1) / b->unit;
			p->bytes_stored += n;
			r = cbt_rbd_image_write(img, off + at, buf + at, n, msg);
		}
		if (r < 0)
			return r;
		at += n;
	}
	return 0;
}

/*
 * One run of units [first, first + count) of the source: read in pieces,
 * each written, or zeroed when all zero and the image may hold old data.
 */
static int write_run(const struct cbt_ceph_backup *b, struct cbt_rbd_image *img, bool fresh,
		     uint64_t first, uint64_t count, uint8_t *buf, struct cbt_backup_progress *p,
		     char *err, size_t errlen)
{
	uint64_t off = first * b->unit, end = (first + count) * b->unit;
	char *msg = NULL;
	int r;

	if (end > b->size)
		end = b->size;
	while (off < end) {
		size_t len = end - off > CEPH_IO_SIZE ? CEPH_IO_SIZE : (size_t)(end - off);

		r = cbt_pread_full(b->fd, buf, len, off);
		if (r < 0)
			return fail(err, errlen, r, "%s: read at %" PRIu64 ": %s", b->source, off,
				    strerror(-r));
		p->bytes_read += len;
		r = write_piece(b, img, fresh, off, buf, len, p, &msg);
		if (r < 0)
			return fail_rbd(err, errlen, r, msg);
		p->chunks_done += (len + b->unit - 1) / b->unit;
		off += len;
		if (b->tick) {
			r = b->tick(b->userdata, p);
			if (r < 0)
				return fail(err, errlen, r, "%s", strerror(-r));
		}
	}
	return 0;
}

int cbt_ceph_backup_run(const struct cbt_ceph_backup *b, struct cbt_backup_progress *p,
			char **ret_snap, char *err, size_t errlen)
{
	_cleanup_(cbt_rbd_image_freep) struct cbt_rbd_image *img = NULL;
	_cleanup_(freep) uint8_t *buf = NULL;
	uint64_t nr_units = (b->size + b->unit - 1) / b->unit;
	char *msg = NULL;
	bool fresh = false;
	int r;

	*ret_snap = NULL;
	buf = malloc(CEPH_IO_SIZE);
	if (!buf)
		return fail(err, errlen, -ENOMEM, "out of memory");
	r = cbt_rbd_image_open(b->rbd, b->volume_id, b->size, true, &img, &fresh, &msg);
	if (r < 0)
		return fail_rbd(err, errlen, r, msg);
	/* An incremental writes only changes over its parent's image: it must be there. */
	if (fresh && b->bits)
		return fail(err, errlen, -ESTALE,
			    "the backup image of volume %s is missing from pool %s (removed "
			    "outside cbtship?): an incremental needs its parent's image; make a "
			    "full backup",
			    b->volume_id, cbt_rbd_pool(b->rbd));
	for (uint64_t i = 0; i < nr_units; i++)
		if (!b->bits || cbt_chunk_bit_test(b->bits, i)) {
			p->chunks_todo++;
			p->bytes_todo += b->unit;
		}
	/* Runs of set units, so that reads and writes are large. */
	for (uint64_t i = 0; i < nr_units;) {
		uint64_t n = 0;

		while (i + n < nr_units && (!b->bits || cbt_chunk_bit_test(b->bits, i + n)))
			n++;
		if (n) {
			r = write_run(b, img, fresh, i, n, buf, p, err, errlen);
			if (r < 0)
				return r;
		}
		i += n ? n : 1;
	}
	r = cbt_rbd_image_flush(img, &msg);
	if (r >= 0)
		r = cbt_rbd_snap_create(img, b->backup_id, ret_snap, &msg);
	if (r < 0)
		return fail_rbd(err, errlen, r, msg);
	return 0;
}

/* Restore ------------------------------------------------------------------ */

struct restore {
	struct cbt_rbd_snap *snap;
	int fd; /* < 0: only read (verify) */
	bool sparse;
	uint64_t size, done; /* done: bytes up to which the destination is written */
	uint8_t *buf;
	cbt_restore_tick_fn tick;
	void *userdata;
	struct cbt_restore_progress *p;
	struct cbt_error *err;
};

/* Zeros over [r->done, to) of a destination that may hold other data. */
static int zero_until(struct restore *r, uint64_t to)
{
	int e;

	if (r->sparse || r->fd < 0) {
		r->done = to;
		return 0;
	}
	memset(r->buf, 0, CEPH_IO_SIZE);
	while (r->done < to) {
		size_t len = to - r->done > CEPH_IO_SIZE ? CEPH_IO_SIZE : (size_t)(to - r->done);

		e = cbt_pwrite_full(r->fd, r->buf, len, r->done);
		if (e < 0)
			return cbt_error_set(r->err, CBT_ERROR_DESTINATION, e,
					     "writing zeros at %" PRIu64 ": %s", r->done,
					     strerror(-e));
		r->p->bytes_written += len;
		r->done += len;
	}
	return 0;
}

static int restore_extent(uint64_t offset, uint64_t len, bool exists, void *userdata)
{
	struct restore *r = userdata;
	uint64_t end = offset + len > r->size ? r->size : offset + len;
	char *msg = NULL;
	int e;

	if (!exists || offset >= r->size)
		return 0;
	e = zero_until(r, offset);
	if (e < 0)
		return e;
	r->p->objects_read++;
	for (uint64_t off = offset; off < end;) {
		size_t n = end - off > CEPH_IO_SIZE ? CEPH_IO_SIZE : (size_t)(end - off);
		ssize_t got = cbt_rbd_snap_read(r->snap, off, r->buf, n, &msg);

		if (got < 0)
			return error_rbd(r->err, (int)got, msg);
		if ((size_t)got != n)
			return cbt_error_set(r->err, CBT_ERROR_STORE, -EIO,
					     "short read at %" PRIu64 " of the snapshot", off);
		r->p->bytes_fetched += n;
		if (r->fd >= 0) {
			e = cbt_pwrite_full(r->fd, r->buf, n, off);
			if (e < 0)
				return cbt_error_set(r->err, CBT_ERROR_DESTINATION, e,
						     "writing at %" PRIu64 ": %s", off,
						     strerror(-e));
			r->p->bytes_written += n;
		}
		off += n;
		r->done = off;
		if (r->tick) {
			e = r->tick(r->userdata, r->p);
			if (e < 0)
				return cbt_error_set(r->err, cbt_error_kind_of_store(e), e, "%s",
						     strerror(-e));
		}
	}
	return 0;
}

int cbt_ceph_restore_run(struct cbt_rbd *rbd, const char *volume_id, const char *backup_id, int fd,
			 bool sparse, uint64_t size, cbt_restore_tick_fn tick, void *userdata,
			 struct cbt_restore_progress *p, struct cbt_error *err)
{
	_cleanup_(cbt_rbd_snap_freep) struct cbt_rbd_snap *snap = NULL;
	_cleanup_(freep) char *name = NULL;
	_cleanup_(freep) uint8_t *buf = NULL;
	struct restore r = { .fd = fd,
			     .sparse = sparse,
			     .size = size,
			     .tick = tick,
			     .userdata = userdata,
			     .p = p,
			     .err = err };
	char *msg = NULL;
	int e;

	cbt_error_clear(err);
	buf = malloc(CEPH_IO_SIZE);
	if (!buf)
		return cbt_error_set(err, CBT_ERROR_LOCAL, -ENOMEM, "out of memory");
	e = cbt_rbd_snap_find(rbd, volume_id, backup_id, &name, &msg);
	if (e == -ENOENT) {
		free(msg);
		return cbt_error_set(
			err, CBT_ERROR_INTEGRITY, e,
			"backup %s has no snapshot on the backup image of volume %s in "
			"pool %s",
			backup_id, volume_id, cbt_rbd_pool(rbd));
	}
	if (e >= 0)
		e = cbt_rbd_snap_open(rbd, volume_id, name, &snap, &msg);
	if (e < 0)
		return error_rbd(err, e, msg);
	if (cbt_rbd_snap_size(snap) < size)
		return cbt_error_set(err, CBT_ERROR_INTEGRITY, -EUCLEAN,
				     "snapshot %s holds %" PRIu64
				     " bytes, less than the backup's %" PRIu64,
				     name, cbt_rbd_snap_size(snap), size);
	r.snap = snap;
	r.buf = buf;
	e = cbt_rbd_snap_extents(snap, restore_extent, &r, &msg);
	if (e < 0) {
		if (msg)
			return error_rbd(err, e, msg);
		/* The callback's, its message set (or a bare errno of the library). */
		return cbt_error_set(err, cbt_error_kind_of_store(e), e, "%s", strerror(-e));
	}
	return zero_until(&r, size);
}

int cbt_ceph_delete(struct cbt_rbd *rbd, const char *volume_id, const char *backup_id, char *err,
		    size_t errlen)
{
	_cleanup_(freep) char *name = NULL;
	char *msg = NULL;
	int r;

	r = cbt_rbd_snap_find(rbd, volume_id, backup_id, &name, &msg);
	if (r >= 0)
		r = cbt_rbd_snap_remove(rbd, volume_id, name, &msg);
	if (r < 0 && r != -ENOENT)
		return fail_rbd(err, errlen, r, msg);
	free(msg);
	msg = NULL;
	r = cbt_rbd_image_remove_if_unused(rbd, volume_id, &msg);
	if (r < 0 && r != -ENOENT)
		return fail_rbd(err, errlen, r, msg);
	free(msg);
	return 0;
}
