/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbtship backup-restore: write a backup back, to a new sparse image file
 * or over an existing volume, device or file at least as large. Each
 * stored chunk is fetched once and its hash checked before it is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cbtship/backup/backup-open.h"
#include "cbtship/backup/context.h"
#include "cbtship/backup/job.h"
#include "cbtship/backup/notify.h"
#include "cbtship/backup/orchestration.h"
#include "cbtship/source/volume-source.h"
#include "cbtship/cli/commands.h"
#include "cbtship/cli/output.h"
#include "cbtship/driver/driver.h"
#include "cbtship/state-dir.h"
#include "libcbt.h"

struct restore_tick {
	struct catalog *c;
	const struct cbt_job *job;
	const struct catalog_backup *b;
	struct cbt_notifier notify;
	const char *backup_id;
	double start;
	uint64_t size;
	double last_heartbeat;
};

static int restore_tick(void *userdata, const struct cbt_restore_progress *p)
{
	struct restore_tick *t = userdata;
	_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;
	double now = cbtship_seconds();

	cbtship_progress("restore", p->bytes_written, t->size, now - t->start);
	cbt_notify_progress(&t->notify, t->c, t->b, p->bytes_written, t->size);
	if (now - t->last_heartbeat < 1)
		return 0;
	t->last_heartbeat = now;
	cbt_job_beat(t->c, t->job, p->bytes_written, t->size);
	/* backup-reset-state moved it out of restoring: that is a cancel. */
	if (catalog_backup_get(t->c, t->backup_id, &b) == 0 &&
	    b->status != CATALOG_BACKUP_RESTORING)
		return -ECANCELED;
	return 0;
}

/*
 * A volume record made from an imported backup record: its name and
 * origin are that record's words. Only a path named on the command line,
 * or a tracked device of that name here, is written.
 */
static int check_imported_volume(const struct catalog_volume *v, const char *word)
{
	if (!v->imported || strcmp(word, v->origin_path) == 0)
		return 0;
	if (v->tracked && !strchr(v->name, '/') && cbt_device_is_tracked(v->name) > 0)
		return 0;
	fprintf(stderr,
		"cbtship backup-restore: volume %s (%s) was recorded from an imported backup "
		"record, and its origin %s is not verified on this host: give the destination "
		"itself (--volume PATH) to restore there\n",
		v->id, v->name, v->origin_path);
	return -EPERM;
}

/*
 * A block device under a tracked volume (its origin, or a device below
 * it): writing there would pass dm-cbt, and the volume's next incremental
 * would miss the restored blocks. When the tracked device maps it one to
 * one, the restore writes through the tracked device instead (path
 * changed); otherwise only --force restores there, and the volume's
 * history is invalidated (its name in invalidate): never silently.
 */
static int through_tracking(char *path, size_t len, bool force, char *invalidate, size_t invlen)
{
	char name[128];
	bool whole = false;
	int r;

	invalidate[0] = '\0';
	r = cbt_device_tracked_above(path, name, sizeof(name), &whole);
	if (r <= 0)
		return 0; /* not under tracking, or not a block device: as it is */
	if (whole) {
		fprintf(stderr,
			"cbtship backup-restore: %s is the origin of the tracked volume %s: "
			"writing "
			"through /dev/mapper/%s, so that its tracking records the restored "
			"blocks\n",
			path, name, name);
		snprintf(path, len, "/dev/mapper/%s", name);
		return 0;
	}
	if (!force) {
		fprintf(stderr,
			"cbtship backup-restore: %s is under the tracked volume %s, which does not "
			"map "
			"it one to one: restore to the volume (--volume %s), or --force restores "
			"here "
			"and invalidates the volume's tracking (its next backup reads "
			"everything)\n",
			path, name, name);
		return -EBUSY;
	}
	fprintf(stderr,
		"cbtship backup-restore: %s is under the tracked volume %s: its tracking is "
		"invalidated (its next backup reads everything)\n",
		path, name);
	snprintf(invalidate, invlen, "%s", name);
	return 0;
}

/* The restore wrote past the tracking of dm name: its history is gone. */
static void invalidate_tracking(struct catalog *c, const char *name, const char *path)
{
	_cleanup_(catalog_volume_freep) struct catalog_volume *v = NULL;
	char reason[PATH_MAX + 128];
	int r = cbt_invalidate(name);

	snprintf(reason, sizeof(reason),
		 "a restore wrote to %s, under its tracking: its history was invalidated", path);
	if (r < 0)
		fprintf(stderr, "cbtship backup-restore: warning: cannot invalidate %s: %s\n", name,
			strerror(-r));
	if (catalog_volume_get(c, name, &v) == 0 &&
	    catalog_volume_set_full_read_reason(c, v->id, reason) < 0)
		fprintf(stderr, "cbtship backup-restore: warning: %s\n", catalog_error(c));
	cbtship_log("%s: %s", name, reason);
}

/* Where to write: a new file (path printed), or an existing target. */
static int open_destination(struct catalog *c, const char *volume, const struct catalog_backup *b,
			    bool force, char *path, size_t len, bool *ret_new,
			    char ret_volume_id[static CATALOG_ID_MAX], char *invalidate,
			    size_t invlen)
{
	_cleanup_(closep) int fd = -1;
	uint64_t size;
	int r;

	if (!volume) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s/restore/x", cbtship_state_dir());
		r = cbtship_make_parent_dirs(dir);
		if (r < 0) {
			fprintf(stderr, "cbtship backup-restore: %s: %s\n", dir, strerror(-r));
			return r;
		}
		for (unsigned i = 0; i < 1000; i++) {
			if (i)
				snprintf(path, len, "%s/restore/%s-%u.img", cbtship_state_dir(),
					 b->id, i);
			else
				snprintf(path, len, "%s/restore/%s.img", cbtship_state_dir(),
					 b->id);
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fd >= 0 || errno != EEXIST)
				break;
		}
		if (fd < 0) {
			fprintf(stderr, "cbtship backup-restore: cannot create %s: %s\n", path,
				strerror(errno));
			return -errno;
		}
		if (ftruncate(fd, (off_t)b->volume_size) < 0) {
			r = -errno;
			fprintf(stderr, "cbtship backup-restore: %s: %s\n", path, strerror(-r));
			unlink(path);
			return r;
		}
		*ret_new = true;
		return TAKE_FD(fd);
	}

	{
		_cleanup_(catalog_volume_freep) struct catalog_volume *v = NULL;
		struct stat st;

		/* A catalog volume or tracked device name, else a path. */
		ret_volume_id[0] = '\0';
		if (catalog_volume_get(c, volume, &v) == 0)
			snprintf(ret_volume_id, CATALOG_ID_MAX, "%s", v->id);
		r = v ? check_imported_volume(v, volume) : 0;
		if (r < 0)
			return r;
		if (v && v->tracked)
			snprintf(path, len, "/dev/mapper/%s", v->name);
		else if (v)
			snprintf(path, len, "%s", v->origin_path);
		else if (!strchr(volume, '/') && cbt_device_is_tracked(volume) > 0)
			snprintf(path, len, "/dev/mapper/%s", volume);
		else
			snprintf(path, len, "%s", volume);
		r = through_tracking(path, len, force, invalidate, invlen);
		if (r < 0)
			return r;
		if (stat(path, &st) < 0) {
			r = -errno;
			fprintf(stderr, "cbtship backup-restore: %s: %s\n", path, strerror(-r));
			return r;
		}
		if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
			fprintf(stderr,
				"cbtship backup-restore: %s is neither a block device nor a file\n",
				path);
			return -EINVAL;
		}
		fd = open(path,
			  O_WRONLY | O_CLOEXEC | (S_ISBLK(st.st_mode) && !force ? O_EXCL : 0));
		if (fd < 0 && errno == EBUSY) {
			fprintf(stderr,
				"cbtship backup-restore: %s is in use (mounted, or open by a "
				"guest): "
				"restoring over it needs --force\n",
				path);
			return -EBUSY;
		}
		if (fd < 0) {
			r = -errno;
			fprintf(stderr, "cbtship backup-restore: %s: %s\n", path, strerror(-r));
			return r;
		}
		if (S_ISBLK(st.st_mode) && !force) {
			char dm[128];

			if (cbt_dm_name_of_path(path, dm, sizeof(dm)) == 0 &&
			    cbt_device_open_count(dm) > 1) {
				fprintf(stderr,
					"cbtship backup-restore: %s is in use: restoring over it "
					"needs --force\n",
					path);
				return -EBUSY;
			}
		}
		r = cbt_fd_size(fd, &size);
		if (r < 0) {
			fprintf(stderr, "cbtship backup-restore: %s: %s\n", path, strerror(-r));
			return r;
		}
		if (size < b->volume_size) {
			fprintf(stderr,
				"cbtship backup-restore: %s holds %" PRIu64
				" bytes, smaller than the backup's volume (%" PRIu64 " bytes)\n",
				path, size, b->volume_size);
			return -ENOSPC;
		}
		*ret_new = false;
		return TAKE_FD(fd);
	}
}

/*
 * A restore over an existing destination stopped half way: say so, and
 * when the destination is a volume of the catalog, mark it (status error)
 * so that nobody takes its contents for the backup's.
 */
static void mark_unusable(struct catalog *c, const char *volume, const char *path,
			  const char *backup_id, int r)
{
	_cleanup_(catalog_volume_freep) struct catalog_volume *v = NULL;
	char reason[PATH_MAX + 128];

	snprintf(reason, sizeof(reason),
		 "the restore of backup %s was %s half way: %s is partly overwritten and "
		 "not usable",
		 backup_id, r == -ECANCELED ? "cancelled" : "stopped", path);
	fprintf(stderr, "cbtship backup-restore: %s\n", reason);
	cbtship_log("%s", reason);
	if (!volume || catalog_volume_get(c, volume, &v) < 0)
		return;
	if (catalog_volume_set_status(c, v->id, CATALOG_VOLUME_ERROR, reason) < 0)
		fprintf(stderr, "cbtship backup-restore: warning: %s\n", catalog_error(c));
}

/* The worker's destination, as the caller learns it at once. */
static void print_started(const struct catalog_backup *b, enum cbtship_format format,
			  const char *path, bool is_new)
{
	if (format == CBTSHIP_FORMAT_JSON) {
		_cleanup_(json_decrefp) json_t *o =
			json_pack("{s:s, s:s, s:s, s:o}", "backup_id", b->id, "destination", path,
				  "status", "restoring", "size", cbtship_json_u64(b->volume_size));

		if (o)
			cbtship_json_print(o);
		return;
	}
	if (is_new)
		printf("%s\n", path);
	fprintf(stderr,
		"cbtship backup-restore: restoring backup %s to %s in the background "
		"(backup-show %s reports the progress)\n",
		b->id, path, b->id);
}

/* The backup opened for reading by its driver. */
struct reader {
	const struct cbt_driver *driver;
	struct cbt_driver_reader *rd;
};

static void reader_close(struct reader *src)
{
	if (src->rd)
		src->driver->close_reader(src->rd);
	src->rd = NULL;
}

/*
 * The backup is restoring: queue the job. Without --wait, print the
 * destination and leave the writing to a background worker (this returns
 * in the worker only; the driver takes again there what a fork must not
 * inherit, such as a Ceph connection). Then wait
 * for the job's turn. On failure the backup is available again (unless
 * someone moved it out of restoring: a cancel).
 */
static int start_job(struct catalog **c, const struct catalog_backup *b, struct cbt_job *job,
		     bool wait, enum cbtship_format format, const char *path, bool is_new,
		     const struct reader *src)
{
	_cleanup_(catalog_backup_freep) struct catalog_backup *now = NULL;
	int r;

	r = cbt_job_queue(*c, CATALOG_JOB_RESTORE, b->id, "backup-restore", job);
	if (r < 0)
		goto undo;
	if (!wait) {
		src->driver->release(src->rd);
		r = cbt_job_detach(c, job);
		if (r == 1) {
			print_started(b, format, path, is_new);
			cbt_job_leave();
		}
		if (r < 0) {
			if (cbtship_catalog_open("backup-restore", c) < 0)
				return r;
			goto undo;
		}
		r = src->driver->reacquire("backup-restore", src->rd);
		if (r < 0)
			goto undo;
	}
	r = cbt_job_wait_turn(*c, job, CATALOG_BACKUP_RESTORING);
	if (r >= 0)
		return 0;
undo:
	if (catalog_backup_get(*c, b->id, &now) == 0 && now->status == CATALOG_BACKUP_RESTORING)
		(void)catalog_backup_set_status(*c, b->id, CATALOG_BACKUP_AVAILABLE, 0, NULL);
	cbt_job_end(*c, job, r, "the restore did not start");
	cbtship_log("restore %s to %s: did not start: %s", b->id, path, strerror(-r));
	return r;
}

const struct cbt_option cbtship_backup_restore_options[] = {
	{ "volume", 'v', "VOLUME|DEVICE|FILE", "restore over it (default: a new image file)", 0 },
	{ "force", 'F', NULL, "restore over a volume in use", 0 },
	{ "workers", 'w', "N", "parallel fetches, 1 to 64", 0 },
	CBT_OPTION_KEY_FILE("the key of an encrypted backup"),
	{ "wait", 'W', NULL, "restore in the foreground", 0 },
	CBT_OPTION_FORMAT("table|json"),
	CBT_OPTION_END,
};

struct restore_opts {
	enum cbtship_format format;
	const char *volume;
	unsigned workers; /* 0: the driver's choice */
	bool force, wait;
};

static int restore_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	struct restore_opts *o = ctx;

	switch (opt->key) {
	case 'v':
		o->volume = arg;
		return 0;
	case 'F':
		o->force = true;
		return 0;
	case 'W':
		o->wait = true;
		return 0;
	case 'w':
		o->workers = (unsigned)strtoul(arg, NULL, 10);
		if (!o->workers || o->workers > 64) {
			fprintf(stderr, "cbtship backup-restore: --workers: 1 to 64\n");
			return -EINVAL;
		}
		return 0;
	case CBT_OPTION_KEY_FILE_KEY:
		return cbtship_set_key_file("backup-restore", arg) < 0 ? -EINVAL : 0;
	}
	return cbtship_option_format("backup-restore", opt, arg, &o->format);
}

/*
 * About 150 lines, knowingly for now: restore's half of the commit
 * protocol (status, claim, job, the driver's restore, settling on the
 * error's kind, notifications) moves piece by piece into
 * backup/orchestration.c, with backup's half (issue 12, step 4), rather
 * than being cut up twice.
 */
int cbtship_backup_restore(int argc, char **argv)
{
	struct restore_opts opts = { .format = CBTSHIP_FORMAT_TABLE };
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;
	_cleanup_(reader_close) struct reader src = { 0 };
	_cleanup_(closep) int fd = -1;
	enum cbtship_format format;
	struct cbt_restore_progress prog = { 0 };
	struct restore_tick t = { 0 };
	const char *volume;
	_cleanup_(cbt_error_clear) struct cbt_error err = CBT_ERROR_INIT;
	char path[PATH_MAX] = "", a[32], dest_volume[CATALOG_ID_MAX] = "";
	char invalidate[128] = "";
	unsigned workers; /* 0: the driver's choice */
	bool force, is_new = false, wait;
	struct cbt_job job = { 0 };
	int r;

	r = cbt_command_parse("backup-restore", argc, argv, restore_option, &opts);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	format = opts.format;
	volume = opts.volume;
	workers = opts.workers;
	force = opts.force;
	wait = opts.wait;
	if (cbtship_catalog_open("backup-restore", &c) < 0)
		return EXIT_FAILURE;
	if (cbtship_backup_lookup("backup-restore", c, argv[optind], &b) < 0)
		return EXIT_FAILURE;
	if (b->status != CATALOG_BACKUP_AVAILABLE) {
		fprintf(stderr, "cbtship backup-restore: backup %s is %s, not available\n", b->id,
			catalog_backup_status_to_string(b->status));
		return EXIT_FAILURE;
	}
	/* The driver checks what it can before the destination is touched. */
	src.driver = cbt_service_driver(b->service);
	if (src.driver->open_reader("backup-restore", b, &src.rd) < 0)
		return EXIT_FAILURE;
	fd = open_destination(c, volume, b, force, path, sizeof(path), &is_new, dest_volume,
			      invalidate, sizeof(invalidate));
	if (fd < 0)
		return EXIT_FAILURE;
	/* Before the first write, and again after the last (see below). */
	if (invalidate[0])
		invalidate_tracking(c, invalidate, path);
	r = catalog_backup_set_status(c, b->id, CATALOG_BACKUP_RESTORING, 0, NULL);
	/* What the agent settles should this process die half way. */
	if (r >= 0)
		r = catalog_backup_set_restore(c, b->id, path, dest_volume[0] ? dest_volume : NULL,
					       is_new);
	if (r >= 0)
		r = catalog_backup_claim(c, b->id, getpid());
	if (r < 0) {
		fprintf(stderr, "cbtship backup-restore: %s\n", catalog_error(c));
		if (is_new)
			unlink(path);
		return EXIT_FAILURE;
	}
	cbtship_log("restore %s to %s: started", b->id, path);
	r = start_job(&c, b, &job, wait, format, path, is_new, &src);
	if (r < 0) {
		if (is_new)
			unlink(path);
		return EXIT_FAILURE;
	}
	t.job = &job;

	t.c = c;
	t.b = b;
	t.notify.kind = "restore";
	t.backup_id = b->id;
	b->status = CATALOG_BACKUP_RESTORING;
	cbt_notify(&t.notify, "start", c, b, 0, b->volume_size);
	t.start = t.last_heartbeat = cbtship_seconds();
	t.size = b->volume_size;
	{
		struct cbt_driver_restore to = {
			.fd = fd,
			.destination = path,
			.sparse = is_new,
			.workers = workers,
			.tick = restore_tick,
			.userdata = &t,
		};

		r = cbt_orchestrate_restore(src.driver, src.rd, &to, &prog, &err);
	}
	cbtship_progress_done();
	/* A checkpoint taken while it wrote must not hide its writes either. */
	if (invalidate[0])
		invalidate_tracking(c, invalidate, path);
	{
		_cleanup_(catalog_backup_freep) struct catalog_backup *now = NULL;

		/* backup.restore.end: the record is still 'restoring' until below. */
		if (catalog_backup_get(c, b->id, &now) == 0) {
			if (r >= 0 && now->status == CATALOG_BACKUP_RESTORING)
				now->status = CATALOG_BACKUP_AVAILABLE;
			if (r < 0 && !now->fail_reason)
				now->fail_reason = strdup(cbt_error_message(&err));
			cbt_notify(&t.notify, "end", c, now, prog.bytes_written, b->volume_size);
		}
	}
	if (r < 0) {
		const char *msg = cbt_error_message(&err);

		fprintf(stderr, "cbtship backup-restore: %s\n", msg);
		cbtship_log("restore %s to %s: failed: %s", b->id, path, msg);
		/* On the error's kind, never its text (issue 14 item 9): orchestration.h. */
		(void)cbt_restore_settle(c, b->id, r, &err);
		if (is_new)
			unlink(path);
		else
			mark_unusable(c, volume, path, b->id, r);
		cbt_job_end(c, &job, r, msg);
		return EXIT_FAILURE;
	}
	r = cbt_restore_settle(c, b->id, 0, NULL);
	if (r < 0)
		fprintf(stderr, "cbtship backup-restore: warning: %s\n", catalog_error(c));
	cbt_job_end(c, &job, 0, NULL);
	cbtship_log("restore %s to %s: done, %" PRIu64 " bytes written, %" PRIu64 " objects read",
		    b->id, path, prog.bytes_written, prog.objects_read);
	if (format == CBTSHIP_FORMAT_JSON) {
		_cleanup_(json_decrefp) json_t *o = json_pack(
			"{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:f}", "backup_id", b->id,
			"destination", path, "size", cbtship_json_u64(b->volume_size),
			"bytes_written", cbtship_json_u64(prog.bytes_written), "objects_read",
			cbtship_json_u64(prog.objects_read), "bytes_fetched",
			cbtship_json_u64(prog.bytes_fetched), "chunks_zero",
			cbtship_json_u64(prog.chunks_zero), "seconds", cbtship_seconds() - t.start);

		return o && cbtship_json_print(o) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	}
	if (is_new)
		printf("%s\n", path);
	fprintf(stderr,
		"restored backup %s to %s: %s written, %" PRIu64 " chunks fetched in %.1f s\n",
		b->id, path, cbtship_bytes(prog.bytes_written, a, sizeof(a)), prog.objects_read,
		cbtship_seconds() - t.start);
	return EXIT_SUCCESS;
}
