/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Ceph RBD backup target: one image per volume, one snapshot per backup. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rados/librados.h>
#include <rbd/features.h>
#include <rbd/librbd.h>

#include "cbtship/driver/ceph/rbd-image.h"

#define ID_MAX 128 /* a volume or backup id, in bytes */

struct cbt_rbd {
	rados_t cluster;
	rados_ioctx_t io;
	char *pool;
	unsigned timeout;
};

struct cbt_rbd_image {
	struct cbt_rbd *rbd;
	rbd_image_t image;
	char name[CBT_RBD_IMAGE_NAME_MAX];
	uint64_t size;

	pthread_mutex_t lock;
	pthread_cond_t done; /* an operation in flight completed */
	unsigned inflight;
	size_t inflight_bytes;
	int error;	 /* the first failure of a queued operation */
	char *error_msg; /* its message */
};

struct cbt_rbd_snap {
	struct cbt_rbd *rbd;
	rbd_image_t image;
	char name[CBT_RBD_IMAGE_NAME_MAX];
	char *snap_name;
	uint64_t size;
};

/* One queued write or write-zeroes. */
struct aio_op {
	struct cbt_rbd_image *img;
	void *buf; /* NULL for write-zeroes */
	uint64_t offset;
	size_t len;
};

/* ------------------------------------------------------------ errors */

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

/*
 * Set *ret_error to "<what>: <strerror(r)>" (with the timeout for
 * -ETIMEDOUT) and return r. what names the pool, image and snapshot.
 */
__attribute__((format(printf, 4, 5))) static int fail(char **ret_error, unsigned timeout, int r,
						      const char *fmt, ...)
{
	_cleanup_(freep) char *what = NULL;
	va_list ap;

	if (!ret_error)
		return r;
	free(*ret_error);
	*ret_error = NULL;
	va_start(ap, fmt);
	what = vformat(fmt, ap);
	va_end(ap);
	if (!what)
		return r;
	if (r == -ETIMEDOUT && timeout)
		(void)!asprintf(ret_error, "%s: %s (no answer from the Ceph cluster within %u s)",
				what, strerror(-r), timeout);
	else
		(void)!asprintf(ret_error, "%s: %s", what, strerror(-r));
	return r;
}

static void clear_error(char **ret_error)
{
	if (ret_error)
		*ret_error = NULL;
}

/* Volume and backup ids become parts of RADOS names: no '/', '@', spaces. */
static bool valid_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n > ID_MAX)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == ':'))
			return false;
	return true;
}

/* ------------------------------------------------------------ connection */

const char *cbt_rbd_pool(const struct cbt_rbd *rbd)
{
	return rbd->pool;
}

struct cbt_rbd *cbt_rbd_free(struct cbt_rbd *rbd)
{
	if (!rbd)
		return NULL;
	if (rbd->io)
		rados_ioctx_destroy(rbd->io);
	if (rbd->cluster)
		rados_shutdown(rbd->cluster);
	free(rbd->pool);
	free(rbd);
	return NULL;
}

static int set_conf(struct cbt_rbd *rbd, const char *option, const char *value, char **ret_error)
{
	int r = rados_conf_set(rbd->cluster, option, value);

	if (r < 0)
		return fail(ret_error, 0, r, "ceph: cannot set %s = %s", option, value);
	return 0;
}

int cbt_rbd_open(const struct cbt_rbd_config *cfg, struct cbt_rbd **ret, char **ret_error)
{
	_cleanup_(cbt_rbd_freep) struct cbt_rbd *rbd = NULL;
	const char *user = cfg->user && *cfg->user ? cfg->user : "admin";
	const char *conf = cfg->conf && *cfg->conf ? cfg->conf : NULL;
	char timeout[16];
	int r;

	clear_error(ret_error);
	rbd = calloc(1, sizeof(*rbd));
	if (!rbd)
		return -ENOMEM;
	rbd->pool = strdup(cfg->pool && *cfg->pool ? cfg->pool : CBT_RBD_DEFAULT_POOL);
	if (!rbd->pool)
		return -ENOMEM;
	rbd->timeout = cfg->timeout_seconds ? cfg->timeout_seconds : CBT_RBD_DEFAULT_TIMEOUT;

	r = rados_create(&rbd->cluster, user);
	if (r < 0)
		return fail(ret_error, 0, r, "ceph: cannot create a cluster handle for client.%s",
			    user);
	r = rados_conf_read_file(rbd->cluster, conf);
	if (r < 0)
		return fail(ret_error, 0, r, "ceph: cannot read the configuration %s",
			    conf ? conf : "($CEPH_CONF or /etc/ceph/ceph.conf)");
	r = rados_conf_parse_env(rbd->cluster, NULL);
	if (r < 0)
		return fail(ret_error, 0, r, "ceph: cannot parse CEPH_ARGS");
	snprintf(timeout, sizeof(timeout), "%u", rbd->timeout);
	/*
	 * A library inside a command: nothing on stderr (the errors come
	 * back as messages), and bounded waits everywhere. No librbd cache:
	 * a completed write is on the OSDs, and its error is seen.
	 */
	if ((r = set_conf(rbd, "client_mount_timeout", timeout, ret_error)) < 0 ||
	    (r = set_conf(rbd, "rados_mon_op_timeout", timeout, ret_error)) < 0 ||
	    (r = set_conf(rbd, "rados_osd_op_timeout", timeout, ret_error)) < 0 ||
	    (r = set_conf(rbd, "log_to_stderr", "false", ret_error)) < 0 ||
	    (r = set_conf(rbd, "err_to_stderr", "false", ret_error)) < 0 ||
	    (r = set_conf(rbd, "rbd_cache", "false", ret_error)) < 0)
		return r;

	r = rados_connect(rbd->cluster);
	if (r < 0)
		return fail(ret_error, r == -ETIMEDOUT ? rbd->timeout : 0, r,
			    "ceph: cannot connect to the cluster as client.%s (configuration %s)",
			    user, conf ? conf : "$CEPH_CONF or /etc/ceph/ceph.conf");
	r = rados_ioctx_create(rbd->cluster, rbd->pool, &rbd->io);
	if (r < 0) {
		rbd->io = NULL;
		if (r == -ENOENT)
			return fail(ret_error, 0, r, "ceph pool %s: no such pool", rbd->pool);
		return fail(ret_error, rbd->timeout, r, "ceph pool %s: cannot open it", rbd->pool);
	}
	*ret = TAKE_PTR(rbd);
	return 0;
}

int cbt_rbd_ping(const struct cbt_rbd_config *cfg, char **ret_error)
{
	_cleanup_(cbt_rbd_freep) struct cbt_rbd *rbd = NULL;
	uint64_t size;
	time_t mtime;
	int r;

	r = cbt_rbd_open(cfg, &rbd, ret_error);
	if (r < 0)
		return r;
	/* An OSD operation: the mon alone answering is not enough. */
	r = rados_stat(rbd->io, "rbd_directory", &size, &mtime);
	if (r < 0 && r != -ENOENT)
		return fail(ret_error, rbd->timeout, r, "ceph pool %s: cannot read rbd_directory",
			    rbd->pool);
	return 0;
}

int cbt_rbd_image_name(const char *volume_id, char *buf, size_t len)
{
	int n;

	if (!valid_id(volume_id))
		return -EINVAL;
	n = snprintf(buf, len, "volume-%s.backup.base", volume_id);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Fill name with the image name of volume_id, or fail with a message. */
static int image_name(struct cbt_rbd *rbd, const char *volume_id,
		      char name[static CBT_RBD_IMAGE_NAME_MAX], char **ret_error)
{
	int r = cbt_rbd_image_name(volume_id, name, CBT_RBD_IMAGE_NAME_MAX);

	if (r < 0)
		return fail(ret_error, 0, r, "ceph pool %s: invalid volume id '%s'", rbd->pool,
			    volume_id ? volume_id : "");
	return 0;
}

/* ------------------------------------------------------------ image (writes) */

static int image_wait_idle(struct cbt_rbd_image *img)
{
	pthread_mutex_lock(&img->lock);
	while (img->inflight > 0)
		pthread_cond_wait(&img->done, &img->lock);
	pthread_mutex_unlock(&img->lock);
	return 0;
}

struct cbt_rbd_image *cbt_rbd_image_free(struct cbt_rbd_image *img)
{
	if (!img)
		return NULL;
	if (img->image) {
		image_wait_idle(img);
		rbd_close(img->image);
	}
	pthread_mutex_destroy(&img->lock);
	pthread_cond_destroy(&img->done);
	free(img->error_msg);
	free(img);
	return NULL;
}

uint64_t cbt_rbd_image_size(const struct cbt_rbd_image *img)
{
	return img->size;
}

static int image_create(struct cbt_rbd *rbd, const char *name, uint64_t size, char **ret_error)
{
	rbd_image_options_t opts;
	int r;

	rbd_image_options_create(&opts);
	r = rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_FORMAT, 2);
	if (r == 0)
		r = rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_FEATURES,
						 RBD_FEATURE_LAYERING);
	if (r == 0)
		r = rbd_create4(rbd->io, name, size, opts);
	rbd_image_options_destroy(opts);
	if (r < 0 && r != -EEXIST)
		return fail(ret_error, rbd->timeout, r, "ceph pool %s image %s: cannot create it",
			    rbd->pool, name);
	return r;
}

int cbt_rbd_image_open(struct cbt_rbd *rbd, const char *volume_id, uint64_t size, bool create,
		       struct cbt_rbd_image **ret, bool *ret_created, char **ret_error)
{
	_cleanup_(cbt_rbd_image_freep) struct cbt_rbd_image *img = NULL;
	bool created = false;
	int r;

	clear_error(ret_error);
	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	pthread_mutex_init(&img->lock, NULL);
	pthread_cond_init(&img->done, NULL);
	img->rbd = rbd;
	r = image_name(rbd, volume_id, img->name, ret_error);
	if (r < 0)
		return r;

	r = rbd_open(rbd->io, img->name, &img->image, NULL);
	if (r == -ENOENT && create) {
		r = image_create(rbd, img->name, size, ret_error);
		if (r < 0 && r != -EEXIST)
			return r;
		created = r == 0;
		r = rbd_open(rbd->io, img->name, &img->image, NULL);
	}
	if (r < 0) {
		img->image = NULL;
		return fail(ret_error, rbd->timeout, r, "ceph pool %s image %s: cannot open it%s",
			    rbd->pool, img->name,
			    r == -ENOENT ? " (no backup of this volume here)" : "");
	}
	r = rbd_get_size(img->image, &img->size);
	if (r < 0)
		return fail(ret_error, rbd->timeout, r,
			    "ceph pool %s image %s: cannot get its size", rbd->pool, img->name);
	if (size && size != img->size) {
		r = rbd_resize2(img->image, size, true, NULL, NULL);
		if (r < 0)
			return fail(ret_error, rbd->timeout, r,
				    "ceph pool %s image %s: cannot resize it from %" PRIu64
				    " to %" PRIu64 " bytes",
				    rbd->pool, img->name, img->size, size);
		img->size = size;
	}
	if (ret_created)
		*ret_created = created;
	*ret = TAKE_PTR(img);
	return 0;
}

/* The first failure of a queued operation, as this call's failure. */
static int image_error_locked(struct cbt_rbd_image *img, char **ret_error)
{
	if (!img->error)
		return 0;
	if (ret_error) {
		free(*ret_error);
		*ret_error = img->error_msg ? strdup(img->error_msg) : NULL;
	}
	return img->error;
}

static void aio_done(rbd_completion_t c, void *arg)
{
	struct aio_op *op = arg;
	struct cbt_rbd_image *img = op->img;
	ssize_t r = rbd_aio_get_return_value(c);

	rbd_aio_release(c);
	pthread_mutex_lock(&img->lock);
	if (r < 0 && !img->error) {
		img->error = (int)r;
		fail(&img->error_msg, img->rbd->timeout, (int)r,
		     "ceph pool %s image %s: %s at offset %" PRIu64 " length %zu", img->rbd->pool,
		     img->name, op->buf ? "write" : "write-zeroes", op->offset, op->len);
	}
	img->inflight--;
	if (op->buf)
		img->inflight_bytes -= op->len;
	pthread_cond_broadcast(&img->done);
	pthread_mutex_unlock(&img->lock);
	free(op->buf);
	free(op);
}

/* Queue op (its buffer owned by the queue from now on). */
static int image_submit(struct cbt_rbd_image *img, struct aio_op *op, char **ret_error)
{
	size_t bytes = op->buf ? op->len : 0;
	rbd_completion_t c;
	int r;

	clear_error(ret_error);
	if (op->offset > img->size || op->len > img->size - op->offset) {
		r = fail(ret_error, 0, -EINVAL,
			 "ceph pool %s image %s: %s at offset %" PRIu64 " length %zu is beyond its "
			 "%" PRIu64 " bytes",
			 img->rbd->pool, img->name, op->buf ? "write" : "write-zeroes", op->offset,
			 op->len, img->size);
		goto out_free;
	}
	pthread_mutex_lock(&img->lock);
	while (!img->error && img->inflight > 0 &&
	       (img->inflight >= CBT_RBD_WRITE_QUEUE ||
		img->inflight_bytes + bytes > CBT_RBD_WRITE_QUEUE_BYTES))
		pthread_cond_wait(&img->done, &img->lock);
	r = image_error_locked(img, ret_error);
	if (r == 0) {
		img->inflight++;
		img->inflight_bytes += bytes;
	}
	pthread_mutex_unlock(&img->lock);
	if (r < 0)
		goto out_free;

	r = rbd_aio_create_completion(op, aio_done, &c);
	if (r == 0) {
		if (op->buf)
			r = rbd_aio_write(img->image, op->offset, op->len, op->buf, c);
		else
			r = rbd_aio_write_zeroes(img->image, op->offset, op->len, c, 0, 0);
		if (r < 0)
			rbd_aio_release(c);
	}
	if (r >= 0)
		return 0;
	pthread_mutex_lock(&img->lock);
	img->inflight--;
	img->inflight_bytes -= bytes;
	pthread_cond_broadcast(&img->done);
	pthread_mutex_unlock(&img->lock);
	fail(ret_error, img->rbd->timeout, r,
	     "ceph pool %s image %s: cannot queue a %s at offset %" PRIu64 " length %zu",
	     img->rbd->pool, img->name, op->buf ? "write" : "write-zeroes", op->offset, op->len);
out_free:
	free(op->buf);
	free(op);
	return r;
}

int cbt_rbd_image_write(struct cbt_rbd_image *img, uint64_t offset, const void *buf, size_t len,
			char **ret_error)
{
	struct aio_op *op;

	clear_error(ret_error);
	if (len == 0)
		return 0;
	op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->buf = malloc(len);
	if (!op->buf) {
		free(op);
		return -ENOMEM;
	}
	memcpy(op->buf, buf, len);
	op->img = img;
	op->offset = offset;
	op->len = len;
	return image_submit(img, op, ret_error);
}

int cbt_rbd_image_discard(struct cbt_rbd_image *img, uint64_t offset, uint64_t len,
			  char **ret_error)
{
	/* In pieces of at most 1 GiB: the length is a size_t and an int inside librbd. */
	const uint64_t piece = 1u << 30;
	int r;

	clear_error(ret_error);
	while (len > 0) {
		struct aio_op *op = calloc(1, sizeof(*op));

		if (!op)
			return -ENOMEM;
		op->img = img;
		op->offset = offset;
		op->len = (size_t)(len < piece ? len : piece);
		offset += op->len;
		len -= op->len;
		r = image_submit(img, op, ret_error);
		if (r < 0)
			return r;
	}
	return 0;
}

int cbt_rbd_image_flush(struct cbt_rbd_image *img, char **ret_error)
{
	int r;

	clear_error(ret_error);
	pthread_mutex_lock(&img->lock);
	while (img->inflight > 0)
		pthread_cond_wait(&img->done, &img->lock);
	r = image_error_locked(img, ret_error);
	pthread_mutex_unlock(&img->lock);
	if (r < 0)
		return r;
	r = rbd_flush(img->image);
	if (r < 0)
		return fail(ret_error, img->rbd->timeout, r, "ceph pool %s image %s: flush",
			    img->rbd->pool, img->name);
	return 0;
}

/* ------------------------------------------------------------ snapshots */

char *cbt_rbd_snap_name_backup_id(const char *name)
{
	const char *start, *end, *p;

	if (!name || strncmp(name, "backup.", 7) != 0)
		return NULL;
	start = name + 7;
	end = NULL;
	for (p = strstr(start, ".snap."); p; p = strstr(p + 1, ".snap."))
		end = p;
	if (!end || end == start)
		return NULL;
	return strndup(start, (size_t)(end - start));
}

void cbt_rbd_snap_list_free(struct cbt_rbd_snap_info *snaps, int n)
{
	if (!snaps)
		return;
	for (int i = 0; i < n; i++) {
		free(snaps[i].name);
		free(snaps[i].backup_id);
	}
	free(snaps);
}

static int cmp_snap_id(const void *a, const void *b)
{
	const struct cbt_rbd_snap_info *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* The snapshots of an open image, oldest first; the count. */
static int list_snaps(struct cbt_rbd *rbd, rbd_image_t image, const char *name,
		      struct cbt_rbd_snap_info **ret_snaps, char **ret_error)
{
	_cleanup_(freep) rbd_snap_info_t *raw = NULL;
	struct cbt_rbd_snap_info *snaps;
	int max = 16, n, r;

	for (;;) {
		free(raw);
		raw = calloc((size_t)max, sizeof(*raw));
		if (!raw)
			return -ENOMEM;
		n = rbd_snap_list(image, raw, &max);
		if (n != -ERANGE)
			break;
	}
	if (n < 0)
		return fail(ret_error, rbd->timeout, n,
			    "ceph pool %s image %s: cannot list its snapshots", rbd->pool, name);
	snaps = calloc((size_t)n + 1, sizeof(*snaps));
	r = snaps ? 0 : -ENOMEM;
	for (int i = 0; r == 0 && i < n; i++) {
		struct timespec ts = { 0 };

		snaps[i].id = raw[i].id;
		snaps[i].size = raw[i].size;
		snaps[i].name = strdup(raw[i].name);
		if (!snaps[i].name) {
			r = -ENOMEM;
			break;
		}
		snaps[i].backup_id = cbt_rbd_snap_name_backup_id(raw[i].name);
		/* Only informative: a cluster without snapshot times still lists. */
		if (rbd_snap_get_timestamp(image, raw[i].id, &ts) < 0)
			ts.tv_sec = 0;
		snaps[i].timestamp = ts.tv_sec;
	}
	rbd_snap_list_end(raw);
	if (r < 0) {
		cbt_rbd_snap_list_free(snaps, n);
		return r;
	}
	qsort(snaps, (size_t)n, sizeof(*snaps), cmp_snap_id);
	*ret_snaps = snaps;
	return n;
}

static int open_read_only(struct cbt_rbd *rbd, const char *volume_id, const char *snap_name,
			  char name[static CBT_RBD_IMAGE_NAME_MAX], rbd_image_t *ret,
			  char **ret_error)
{
	int r = image_name(rbd, volume_id, name, ret_error);

	if (r < 0)
		return r;
	r = rbd_open_read_only(rbd->io, name, ret, snap_name);
	if (r < 0) {
		*ret = NULL;
		if (snap_name)
			return fail(ret_error, rbd->timeout, r,
				    "ceph pool %s image %s snapshot %s: cannot open it", rbd->pool,
				    name, snap_name);
		return fail(ret_error, rbd->timeout, r, "ceph pool %s image %s: cannot open it%s",
			    rbd->pool, name,
			    r == -ENOENT ? " (no backup of this volume here)" : "");
	}
	return 0;
}

int cbt_rbd_snap_list(struct cbt_rbd *rbd, const char *volume_id,
		      struct cbt_rbd_snap_info **ret_snaps, char **ret_error)
{
	char name[CBT_RBD_IMAGE_NAME_MAX];
	rbd_image_t image;
	int r;

	clear_error(ret_error);
	r = open_read_only(rbd, volume_id, NULL, name, &image, ret_error);
	if (r < 0)
		return r;
	r = list_snaps(rbd, image, name, ret_snaps, ret_error);
	rbd_close(image);
	return r;
}

/* The name of backup_id's snapshot among snaps, or NULL. */
static const char *find_backup(const struct cbt_rbd_snap_info *snaps, int n, const char *backup_id)
{
	for (int i = 0; i < n; i++)
		if (snaps[i].backup_id && strcmp(snaps[i].backup_id, backup_id) == 0)
			return snaps[i].name;
	return NULL;
}

int cbt_rbd_snap_find(struct cbt_rbd *rbd, const char *volume_id, const char *backup_id,
		      char **ret_name, char **ret_error)
{
	struct cbt_rbd_snap_info *snaps = NULL;
	char name[CBT_RBD_IMAGE_NAME_MAX];
	const char *found;
	int n;

	clear_error(ret_error);
	n = cbt_rbd_snap_list(rbd, volume_id, &snaps, ret_error);
	if (n < 0)
		return n;
	found = find_backup(snaps, n, backup_id ? backup_id : "");
	if (found)
		*ret_name = strdup(found);
	cbt_rbd_snap_list_free(snaps, n);
	if (!found) {
		cbt_rbd_image_name(volume_id, name, sizeof(name));
		return fail(ret_error, 0, -ENOENT,
			    "ceph pool %s image %s: no snapshot of backup %s", rbd->pool, name,
			    backup_id ? backup_id : "");
	}
	return *ret_name ? 0 : -ENOMEM;
}

int cbt_rbd_snap_create(struct cbt_rbd_image *img, const char *backup_id, char **ret_name,
			char **ret_error)
{
	struct cbt_rbd *rbd = img->rbd;
	struct cbt_rbd_snap_info *snaps = NULL;
	char snap[CBT_RBD_SNAP_NAME_MAX];
	struct timespec now;
	const char *old;
	int n, r;

	clear_error(ret_error);
	if (!valid_id(backup_id))
		return fail(ret_error, 0, -EINVAL, "ceph pool %s image %s: invalid backup id '%s'",
			    rbd->pool, img->name, backup_id ? backup_id : "");
	r = cbt_rbd_image_flush(img, ret_error);
	if (r < 0)
		return r;
	n = list_snaps(rbd, img->image, img->name, &snaps, ret_error);
	if (n < 0)
		return n;
	old = find_backup(snaps, n, backup_id);
	if (old) {
		r = fail(ret_error, 0, -EEXIST,
			 "ceph pool %s image %s: backup %s already has snapshot %s", rbd->pool,
			 img->name, backup_id, old);
		cbt_rbd_snap_list_free(snaps, n);
		return r;
	}
	cbt_rbd_snap_list_free(snaps, n);

	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(snap, sizeof(snap), "backup.%s.snap.%lld.%06ld", backup_id, (long long)now.tv_sec,
		 now.tv_nsec / 1000);
	r = rbd_snap_create2(img->image, snap, RBD_SNAP_CREATE_SKIP_QUIESCE, NULL, NULL);
	if (r < 0)
		return fail(ret_error, rbd->timeout, r,
			    "ceph pool %s image %s snapshot %s: cannot create it", rbd->pool,
			    img->name, snap);
	if (ret_name) {
		*ret_name = strdup(snap);
		if (!*ret_name)
			return -ENOMEM;
	}
	return 0;
}

int cbt_rbd_snap_remove(struct cbt_rbd *rbd, const char *volume_id, const char *snap_name,
			char **ret_error)
{
	char name[CBT_RBD_IMAGE_NAME_MAX];
	rbd_image_t image;
	int r;

	clear_error(ret_error);
	r = image_name(rbd, volume_id, name, ret_error);
	if (r < 0)
		return r;
	r = rbd_open(rbd->io, name, &image, NULL);
	if (r < 0)
		return fail(ret_error, rbd->timeout, r,
			    "ceph pool %s image %s: cannot open it to remove snapshot %s",
			    rbd->pool, name, snap_name);
	r = rbd_snap_remove(image, snap_name);
	rbd_close(image);
	if (r < 0)
		return fail(ret_error, rbd->timeout, r,
			    "ceph pool %s image %s snapshot %s: cannot remove it", rbd->pool, name,
			    snap_name);
	return 0;
}

int cbt_rbd_image_remove_if_unused(struct cbt_rbd *rbd, const char *volume_id, char **ret_error)
{
	struct cbt_rbd_snap_info *snaps = NULL;
	char name[CBT_RBD_IMAGE_NAME_MAX];
	int n, r;

	clear_error(ret_error);
	n = cbt_rbd_snap_list(rbd, volume_id, &snaps, ret_error);
	if (n < 0)
		return n;
	cbt_rbd_snap_list_free(snaps, n);
	if (n > 0)
		return 0;
	cbt_rbd_image_name(volume_id, name, sizeof(name));
	r = rbd_remove(rbd->io, name);
	if (r == -ENOTEMPTY) /* a snapshot was taken since */
		return 0;
	if (r < 0)
		return fail(ret_error, rbd->timeout, r, "ceph pool %s image %s: cannot remove it%s",
			    rbd->pool, name, r == -EBUSY ? " (it is open elsewhere)" : "");
	return 1;
}

/* ------------------------------------------------------------ restore */

int cbt_rbd_snap_open(struct cbt_rbd *rbd, const char *volume_id, const char *snap_name,
		      struct cbt_rbd_snap **ret, char **ret_error)
{
	_cleanup_(cbt_rbd_snap_freep) struct cbt_rbd_snap *snap = NULL;
	int r;

	clear_error(ret_error);
	if (!snap_name || !*snap_name)
		return fail(ret_error, 0, -EINVAL, "ceph pool %s: no snapshot name", rbd->pool);
	snap = calloc(1, sizeof(*snap));
	if (!snap)
		return -ENOMEM;
	snap->rbd = rbd;
	snap->snap_name = strdup(snap_name);
	if (!snap->snap_name)
		return -ENOMEM;
	r = open_read_only(rbd, volume_id, snap_name, snap->name, &snap->image, ret_error);
	if (r < 0)
		return r;
	r = rbd_get_size(snap->image, &snap->size);
	if (r < 0)
		return fail(ret_error, rbd->timeout, r,
			    "ceph pool %s image %s snapshot %s: cannot get its size", rbd->pool,
			    snap->name, snap_name);
	*ret = TAKE_PTR(snap);
	return 0;
}

struct cbt_rbd_snap *cbt_rbd_snap_free(struct cbt_rbd_snap *snap)
{
	if (!snap)
		return NULL;
	if (snap->image)
		rbd_close(snap->image);
	free(snap->snap_name);
	free(snap);
	return NULL;
}

uint64_t cbt_rbd_snap_size(const struct cbt_rbd_snap *snap)
{
	return snap->size;
}

struct walk {
	cbt_rbd_extent_fn fn;
	void *userdata;
	int stopped; /* what fn returned to stop the walk */
};

static int walk_one(uint64_t offset, size_t len, int exists, void *arg)
{
	struct walk *w = arg;
	int r = w->fn(offset, len, exists != 0, w->userdata);

	if (r == 0)
		return 0;
	/* librbd stops on a negative return only: say "stop" and keep r. */
	w->stopped = r;
	return -ECANCELED;
}

static int walk(struct cbt_rbd *rbd, rbd_image_t image, const char *name, const char *from_snap,
		const char *to_snap, uint64_t size, cbt_rbd_extent_fn fn, void *userdata,
		char **ret_error)
{
	struct walk w = { .fn = fn, .userdata = userdata };
	int r;

	r = rbd_diff_iterate2(image, from_snap, 0, size, 0, 0, walk_one, &w);
	if (w.stopped)
		return w.stopped;
	if (r < 0) {
		if (from_snap)
			return fail(ret_error, rbd->timeout, r,
				    "ceph pool %s image %s: cannot list the changes from snapshot "
				    "%s to %s",
				    rbd->pool, name, from_snap, to_snap);
		return fail(ret_error, rbd->timeout, r,
			    "ceph pool %s image %s snapshot %s: cannot list its extents", rbd->pool,
			    name, to_snap);
	}
	return 0;
}

int cbt_rbd_snap_extents(struct cbt_rbd_snap *snap, cbt_rbd_extent_fn fn, void *userdata,
			 char **ret_error)
{
	clear_error(ret_error);
	return walk(snap->rbd, snap->image, snap->name, NULL, snap->snap_name, snap->size, fn,
		    userdata, ret_error);
}

ssize_t cbt_rbd_snap_read(struct cbt_rbd_snap *snap, uint64_t offset, void *buf, size_t len,
			  char **ret_error)
{
	size_t done = 0;

	clear_error(ret_error);
	if (offset >= snap->size)
		return 0;
	if (len > snap->size - offset)
		len = (size_t)(snap->size - offset);
	while (done < len) {
		/* At most 1 GiB a call: librbd returns an int count inside. */
		size_t n = len - done < (1u << 30) ? len - done : (1u << 30);
		ssize_t r = rbd_read2(snap->image, offset + done, n, (char *)buf + done, 0);

		if (r < 0)
			return fail(ret_error, snap->rbd->timeout, (int)r,
				    "ceph pool %s image %s snapshot %s: read at offset %" PRIu64
				    " length %zu",
				    snap->rbd->pool, snap->name, snap->snap_name, offset + done, n);
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int cbt_rbd_snap_diff(struct cbt_rbd *rbd, const char *volume_id, const char *from_snap,
		      const char *to_snap, cbt_rbd_extent_fn fn, void *userdata, char **ret_error)
{
	char name[CBT_RBD_IMAGE_NAME_MAX];
	rbd_image_t image;
	uint64_t size;
	int r;

	clear_error(ret_error);
	if (!to_snap || !*to_snap)
		return fail(ret_error, 0, -EINVAL, "ceph pool %s: no snapshot name", rbd->pool);
	r = open_read_only(rbd, volume_id, to_snap, name, &image, ret_error);
	if (r < 0)
		return r;
	r = rbd_get_size(image, &size);
	if (r < 0)
		fail(ret_error, rbd->timeout, r,
		     "ceph pool %s image %s snapshot %s: cannot get its size", rbd->pool, name,
		     to_snap);
	else
		r = walk(rbd, image, name, from_snap, to_snap, size, fn, userdata, ret_error);
	rbd_close(image);
	return r;
}
