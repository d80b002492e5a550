/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "ceph" backup driver (driver/driver.h): the commands' Ceph side,
 * over ceph-backup.c (the backup and restore engines) and rbd-image.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbt-cleanup.h"
#include "cbtship/backup/context.h"
#include "cbtship/driver/ceph/ceph-backup.h"
#include "cbtship/driver/driver.h"

static int ceph_ping(enum cbt_service service, char *target, size_t tlen, struct cbt_error *err)
{
	const struct cbt_config *cfg = cbtship_config();
	struct cbt_rbd_config rc = {
		.conf = cfg->backup_ceph_conf,
		.user = cfg->backup_ceph_user,
		.pool = cfg->backup_ceph_pool,
		.timeout_seconds =
			cfg->rados_connect_timeout > 0 ? (unsigned)cfg->rados_connect_timeout : 10,
	};
	char *msg = NULL;
	int r;

	(void)service;
	snprintf(target, tlen, "pool %s (%s)", cfg->backup_ceph_pool,
		 cfg->backup_ceph_conf ? cfg->backup_ceph_conf : "default ceph.conf");
	r = cbt_rbd_ping(&rc, &msg);
	if (r < 0)
		cbt_error_set(err, CBT_ERROR_STORE, r, "%s", msg ? msg : strerror(-r));
	free(msg);
	return r;
}

/* The backup's snapshot is on the volume's backup image, of the record's size. */
static int ceph_check_stored(const struct catalog_backup *b, char **ret_root_hex,
			     struct cbt_error *err)
{
	_cleanup_(cbt_rbd_freep) struct cbt_rbd *rbd = NULL;
	_cleanup_(cbt_rbd_snap_freep) struct cbt_rbd_snap *snap = NULL;
	_cleanup_(freep) char *name = NULL;
	char *msg = NULL;
	int r;

	if (ret_root_hex)
		*ret_root_hex = NULL;
	r = cbt_ceph_connect(b->container, &rbd, &msg);
	if (r >= 0)
		r = cbt_rbd_snap_find(rbd, b->volume_id, b->id, &name, &msg);
	if (r >= 0)
		r = cbt_rbd_snap_open(rbd, b->volume_id, name, &snap, &msg);
	if (r < 0)
		cbt_error_set(err, cbt_error_kind_of_store(r), r, "Ceph pool %s: %s", b->container,
			      r == -ENOENT ? "the backup image holds no snapshot of this backup"
					   : (msg ? msg : strerror(-r)));
	else if (cbt_rbd_snap_size(snap) != b->volume_size)
		r = cbt_error_set(err, CBT_ERROR_INTEGRITY, -EUCLEAN,
				  "Ceph pool %s: its snapshot %s is of %llu bytes, the record of "
				  "%llu",
				  b->container, name, (unsigned long long)cbt_rbd_snap_size(snap),
				  (unsigned long long)b->volume_size);
	free(msg);
	return r;
}

struct cbt_driver_reader {
	const struct catalog_backup *b; /* the caller's, outlives the reader */
	struct cbt_rbd *rbd;
};

/* Connect and find the snapshot before the destination is touched. */
static int ceph_open_reader(const char *command, const struct catalog_backup *b,
			    struct cbt_driver_reader **ret)
{
	_cleanup_(freep) struct cbt_driver_reader *rd = calloc(1, sizeof(*rd));
	_cleanup_(freep) char *snap = NULL;
	char *msg = NULL;
	int r;

	if (!rd)
		return -ENOMEM;
	rd->b = b;
	r = cbt_ceph_connect(b->container, &rd->rbd, &msg);
	if (r >= 0)
		r = cbt_rbd_snap_find(rd->rbd, b->volume_id, b->id, &snap, &msg);
	if (r < 0) {
		fprintf(stderr, "cbtship %s: backup %s: Ceph pool %s: %s\n", command, b->id,
			b->container,
			r == -ENOENT ? "its snapshot is missing from the backup image"
				     : (msg ? msg : strerror(-r)));
		free(msg);
		cbt_rbd_free(rd->rbd);
		return r;
	}
	*ret = TAKE_PTR(rd);
	return 0;
}

/* librados' threads do not survive a fork: the worker connects again. */
static void ceph_release(struct cbt_driver_reader *rd)
{
	rd->rbd = cbt_rbd_free(rd->rbd);
}

static int ceph_reacquire(const char *command, struct cbt_driver_reader *rd)
{
	char *msg = NULL;
	int r = cbt_ceph_connect(rd->b->container, &rd->rbd, &msg);

	if (r < 0) {
		fprintf(stderr, "cbtship %s: Ceph pool %s: %s\n", command, rd->b->container,
			msg ? msg : strerror(-r));
		free(msg);
	}
	return r;
}

static int ceph_restore(struct cbt_driver_reader *rd, const struct cbt_driver_restore *to,
			struct cbt_restore_progress *progress, struct cbt_error *err)
{
	return cbt_ceph_restore_run(rd->rbd, rd->b->volume_id, rd->b->id, to->fd, to->sparse,
				    rd->b->volume_size, to->tick, to->userdata, progress, err);
}

static void ceph_close_reader(struct cbt_driver_reader *rd)
{
	if (!rd)
		return;
	cbt_rbd_free(rd->rbd);
	free(rd);
}

/*
 * Ceph keeps no content hash of ours: read every extent of the backup's
 * snapshot back (the cluster checks its own replicas and checksums).
 */
static int ceph_verify(const struct catalog_backup *b, enum cbtship_format format)
{
	_cleanup_(cbt_rbd_freep) struct cbt_rbd *rbd = NULL;
	struct cbt_restore_progress prog = { 0 };
	_cleanup_(cbt_error_clear) struct cbt_error error = CBT_ERROR_INIT;
	const char *err;
	char *msg = NULL;
	int r;

	r = cbt_ceph_connect(b->container, &rbd, &msg);
	if (r < 0) {
		cbt_error_set(&error, CBT_ERROR_STORE, r, "Ceph pool %s: %s", b->container,
			      msg ? msg : strerror(-r));
		free(msg);
	} else
		r = cbt_ceph_restore_run(rbd, b->volume_id, b->id, -1, true, b->volume_size, NULL,
					 NULL, &prog, &error);
	err = cbt_error_message(&error);
	cbtship_log("verify %s: %s", b->id, r < 0 ? err : "every extent of its snapshot read");
	if (format == CBTSHIP_FORMAT_JSON) {
		_cleanup_(json_decrefp) json_t *o = json_pack(
			"{s:s, s:b, s:o, s:o, s:s?}", "backup_id", b->id, "ok", r >= 0,
			"extents_read", cbtship_json_u64(prog.objects_read), "bytes_read",
			cbtship_json_u64(prog.bytes_fetched), "problem", r < 0 ? err : NULL);

		if (!o || cbtship_json_print(o) < 0)
			return EXIT_FAILURE;
	} else if (r < 0)
		printf("backup %s: DAMAGED: %s\n", b->id, err);
	else
		printf("backup %s: %" PRIu64 " extents, %" PRIu64
		       " bytes of its Ceph snapshot read back: ok\n",
		       b->id, prog.objects_read, prog.bytes_fetched);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* A Ceph pool is the configured backup_ceph_pool. */
static bool ceph_container_allowed(enum cbt_service service, const char *ct, const char **rule)
{
	const char *pool = cbtship_config()->backup_ceph_pool;

	(void)service;
	*rule = "the pool must be backup_ceph_pool";
	return pool && strcmp(ct, pool) == 0;
}

/* The backup's snapshot is on the volume's backup image. */
static int ceph_holds(const struct cbt_manifest *m, struct cbt_error *err)
{
	_cleanup_(cbt_rbd_freep) struct cbt_rbd *rbd = NULL;
	_cleanup_(freep) char *snap = NULL;
	char *msg = NULL;
	int r;

	r = cbt_ceph_connect(m->container, &rbd, &msg);
	if (r >= 0)
		r = cbt_rbd_snap_find(rbd, m->volume.id, m->backup_id, &snap, &msg);
	if (r < 0)
		cbt_error_set(err, cbt_error_kind_of_store(r), r, "Ceph pool %s: %s", m->container,
			      r == -ENOENT ? "no snapshot of this backup on the volume's backup "
					     "image"
					   : (msg ? msg : strerror(-r)));
	free(msg);
	return r;
}

/* The backup's snapshot goes, and the image with the last one. */
static int ceph_delete(struct catalog *c, const struct catalog_backup *b,
		       struct cbt_driver_deleted *done, struct cbt_error *err)
{
	_cleanup_(cbt_rbd_freep) struct cbt_rbd *rbd = NULL;
	char buf[1024], *msg = NULL;
	int r;

	(void)c;
	r = cbt_ceph_connect(b->container, &rbd, &msg);
	if (r < 0) {
		cbt_error_set(err, CBT_ERROR_STORE, r, "Ceph pool %s: %s", b->container,
			      msg ? msg : strerror(-r));
		free(msg);
		return r;
	}
	r = cbt_ceph_delete(rbd, b->volume_id, b->id, buf, sizeof(buf));
	if (r < 0)
		return cbt_error_set(err, CBT_ERROR_STORE, r, "%s", buf);
	snprintf(done->log, sizeof(done->log), "its snapshot removed from pool %s", b->container);
	snprintf(done->user, sizeof(done->user), "its snapshot was removed from Ceph pool %s",
		 b->container);
	return 0;
}

const struct cbt_driver cbt_ceph_driver = {
	.version = CBT_DRIVER_VERSION,
	.name = "ceph",
	.title = "Ceph",
	.flags = 0,
	.no_garbage = "the Ceph back end deletes a backup's snapshot at once",
	.ping = ceph_ping,
	.check_stored = ceph_check_stored,
	.open_reader = ceph_open_reader,
	.release = ceph_release,
	.reacquire = ceph_reacquire,
	.restore = ceph_restore,
	.close_reader = ceph_close_reader,
	.verify = ceph_verify,
	.holds = ceph_holds,
	.container_allowed = ceph_container_allowed,
	.delete = ceph_delete,
};
