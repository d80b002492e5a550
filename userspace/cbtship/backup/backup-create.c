/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbtship backup-create: a full or incremental backup of a volume.
 *
 * A tracked volume is backed up from a point-in-time view taken with a
 * dm-cbt checkpoint under one suspend (libcbt's cbt_view_create), so the
 * data is crash-consistent while the volume keeps serving writes. An
 * incremental reads only the chunks the frozen map touches and takes the
 * rest of its index from its parent; when the map cannot be trusted for
 * that parent (another generation, a checkpoint taken by someone else, a
 * resized volume, another chunk size) it says why and reads everything,
 * still storing only chunks the container lacks.
 *
 * Commit order, so that no crash leaves an available backup that cannot
 * be restored and no change is forgotten:
 *
 *   record 'creating' (quota reserved) -> view + checkpoint N -> record N
 *   -> chunks -> index pages -> manifest (the commit point) -> record
 *   'available' (volume: last and settled checkpoint N) -> commit N ->
 *   remove the view
 *
 * On failure or cancel the view goes, N is aborted (its blocks return to
 * the current map) and the record becomes 'error' (or is left to the
 * backup-delete --force that cancelled it). After a crash the next backup
 * of the volume finds checkpoint N outstanding: it commits N if its backup
 * became available, else aborts it, and removes leftover views.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cbtship/backup/backup-open.h"
#include "cbtship/driver/ceph/ceph-backup.h"
#include "cbtship/backup/context.h"
#include "cbtship/source/dirty-chunks.h"
#include "cbtship/repo/gc.h"
#include "cbtship/repo/lease.h"
#include "cbtship/backup/job.h"
#include "cbtship/backup/notify.h"
#include "cbtship/backup/tracked-recovery.h"
#include "cbtship/source/volume-source.h"
#include "cbtship/cli/commands.h"
#include "cbtship/cli/output.h"
#include "cbtship/pipeline/backup-pipeline.h"
#include "cbtship/repo/chunk-object.h"
#include "cbtship/state-dir.h"
#include "cbtship/store/known-keys.h"
#include "libcbt.h"

CBT_DEFINE_CLEANUP(struct cbt_map *, cbt_map_free, cbt_map_freep)
CBT_DEFINE_CLEANUP(struct cbt_netlink *, cbt_netlink_free, cbt_netlink_freep)

/*
 * 32 KiB, by measurement (scripts/bench-backup, docs/repository-format.md):
 * after 1% scattered 4 KiB writes an incremental stores about what
 * cinder's 32 KiB-granularity driver stores (64 KiB chunks: 1.8 times
 * more), at the cost of a full backup about 1.4 times slower.
 */
#define CBT_CHUNK_SIZE_DEFAULT (32 * 1024)
#define HEARTBEAT_SECONDS      2

struct create_opts {
	const char *name;
	const char *description;
	bool incremental;
	bool force;
	const char *snapshot_id;
	const char *container;
	const char *dirty_map;
	uint32_t chunk_size;
	enum cbt_compression compression;
	unsigned workers;
	bool workers_given; /* --workers, or backup_native_threads_pool_size configured */
	const char *cow_dir;
	uint64_t cow_bytes;
	enum cbtship_format format;
	bool wait; /* --wait: in the foreground, with progress */
	const char *volume;
};

struct create_run {
	const struct create_opts *o;
	struct catalog *c;
	struct cbt_volume_source src;
	struct catalog_backup *b;
	struct catalog_backup *parent;
	struct cbt_manifest *parent_manifest;
	struct cbt_repository *repo; /* the chunk store, or: */
	struct cbt_rbd *rbd;	     /* Ceph: the pool of the backup images */
	struct cbt_lease *lease;     /* ours in the container, from its turn to the end */
	/* tracked volumes */
	struct catalog_snapshot *snapshot; /* --snapshot-id */
	bool view_made;			   /* ours: removed at the end */
	bool checkpoint_taken;		   /* ours: committed, or aborted on failure */
	bool snapshot_checkpoint;	   /* the snapshot's: committed on success only */
	struct cbt_view_info view;
	struct cbt_status status;
	/* what to read */
	const char *read_path;
	uint8_t *chunk_bits; /* NULL: every chunk */
	char full_reason[256];
	char *full_read_seen; /* the volume's recorded full-read reason at the view */
	/* progress */
	double start, last_beat;
	struct cbt_notifier notify;
	unsigned workers;
	bool stored; /* the pipeline ran: objects may have been written */
	struct cbt_job job;
	char error[1024];
};

static int run_fail(struct create_run *run, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int run_fail(struct create_run *run, int r, const char *fmt, ...)
{
	va_list ap;

	if (!run->error[0]) {
		va_start(ap, fmt);
		vsnprintf(run->error, sizeof(run->error), fmt, ap);
		va_end(ap);
	}
	return r;
}

static void full_read_because(struct create_run *run, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void full_read_because(struct create_run *run, const char *fmt, ...)
{
	va_list ap;

	free(run->chunk_bits);
	run->chunk_bits = NULL;
	if (run->full_reason[0])
		return;
	va_start(ap, fmt);
	vsnprintf(run->full_reason, sizeof(run->full_reason), fmt, ap);
	va_end(ap);
}

/* Sources ------------------------------------------------------------------- */

#ifdef CBTSHIP_TEST_HOOKS
/*
 * Test build only (build/test-bin/cbtship, never installed): a variable
 * of the caller's environment must not run commands inside a root tool
 * that holds a view of a volume.
 *
 * $CBTSHIP_VIEW_HOOK, when set, runs (through sh -c) with the view's device,
 * the backup id and the checkpoint as $1 $2 $3, after the view is taken
 * and before it is read: to check or copy the point-in-time image (the
 * guest tests record it this way). A hook that fails fails the backup.
 */
static int run_view_hook(struct create_run *run)
{
	const char *hook = getenv("CBTSHIP_VIEW_HOOK");
	char checkpoint[32];
	int status;
	pid_t pid;

	if (!hook || !*hook)
		return 0;
	snprintf(checkpoint, sizeof(checkpoint), "%" PRIu64, run->view.checkpoint);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return run_fail(run, -errno, "view hook: fork: %s", strerror(errno));
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", hook, "cbtship-view-hook", run->view.path, run->b->id,
		      checkpoint, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return run_fail(run, -errno, "view hook: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return run_fail(run, -ECANCELED, "the view hook ($CBTSHIP_VIEW_HOOK) failed");
	return 0;
}
#else
static int run_view_hook(struct create_run *run)
{
	(void)run;
	return 0;
}
#endif

/* A new point-in-time view of the volume, with its checkpoint. */
static int take_view(struct create_run *run)
{
	const char *name = run->src.dm_name;
	char cow_dir[PATH_MAX], why[512];
	int r;

	if (run->o->cow_dir)
		snprintf(cow_dir, sizeof(cow_dir), "%s", run->o->cow_dir);
	else
		snprintf(cow_dir, sizeof(cow_dir), "%s/cow", cbtship_state_dir());
	r = cbtship_make_dirs(cow_dir);
	if (r < 0)
		return run_fail(run, r, "COW directory %s: %s", cow_dir, strerror(-r));
	r = cbt_view_create(name, run->b->id, cow_dir, run->o->cow_bytes, &run->view);
	if (r < 0)
		return run_fail(
			run, r, "%s: cannot take a point-in-time view: %s", name,
			cbt_tracked_refusal(run->c, run->src.volume->id, r, why, sizeof(why)));
	run->view_made = run->checkpoint_taken = true;
	run->b->data_timestamp = catalog_now();
	return 0;
}

/* The view of snapshot --snapshot-id, and its checkpoint if it still holds it. */
static int use_snapshot(struct create_run *run)
{
	_cleanup_(catalog_snapshot_freep) struct catalog_snapshot *s = NULL;
	int r;

	/* Recovery may have changed it. */
	r = catalog_snapshot_find(run->c, run->snapshot->id, NULL, &s);
	if (r < 0)
		return run_fail(run, r, "%s", catalog_error(run->c));
	if (s->status != CATALOG_SNAPSHOT_AVAILABLE)
		return run_fail(run, -ENOENT, "snapshot %s is %s: %s", s->id,
				catalog_snapshot_status_to_string(s->status),
				s->fail_reason ? s->fail_reason : "not usable");
	r = cbt_view_get(run->src.dm_name, s->id, &run->view);
	if (r >= 0)
		r = cbt_view_check(run->src.dm_name, s->id, NULL, NULL);
	if (r == 0)
		r = -ENOSPC;
	if (r < 0)
		return run_fail(run, r, "snapshot %s: its view %s-view-%s is %s", s->id,
				run->src.dm_name, s->id,
				r == -ENOSPC ? "invalid (its copy-on-write store overflowed)"
					     : strerror(-r));
	run->snapshot_checkpoint = s->holds_checkpoint;
	run->b->data_timestamp = s->created_at;
	catalog_snapshot_free(run->snapshot);
	run->snapshot = TAKE_PTR(s);
	return 0;
}

/*
 * What the agent recorded on the volume since it was resolved (the target
 * reported its map invalid, or its metadata failing): a reason to read
 * everything, or NULL.
 */
static char *pending_full_read(struct create_run *run)
{
	_cleanup_(catalog_volume_freep) struct catalog_volume *now = NULL;

	if (catalog_volume_get(run->c, run->src.volume->id, &now) < 0 || !now->full_read_reason)
		return NULL;
	return TAKE_PTR(now->full_read_reason);
}

/* A backup that read everything settles what the agent recorded. */
static void settle_full_read(struct create_run *run)
{
	/* Only the reason seen when the view was taken: a newer one stays. */
	if (run->chunk_bits || !run->full_read_seen)
		return;
	if (catalog_volume_clear_full_read_reason(run->c, run->src.volume->id,
						  run->full_read_seen) < 0)
		fprintf(stderr, "cbtship backup-create: warning: %s\n", catalog_error(run->c));
}

static int prepare_tracked(struct create_run *run)
{
	const struct catalog_volume *v = run->src.volume;
	const char *name = run->src.dm_name;
	_cleanup_(cbt_netlink_freep) struct cbt_netlink *nl = NULL;
	_cleanup_(cbt_map_freep) struct cbt_map *map = NULL;
	struct cbt_status fs;
	uint64_t nr_chunks;
	int r;

	r = cbt_tracked_recover(run->c, run->src.volume, name, &run->status, run->error,
				sizeof(run->error));
	if (r < 0)
		return r;
	r = run->snapshot ? use_snapshot(run) : take_view(run);
	if (r < 0)
		return r;
	run->b->checkpoint = run->view.checkpoint;
	run->b->generation = strdup(run->view.generation);
	if (!run->b->generation)
		return run_fail(run, -ENOMEM, "out of memory");
	r = catalog_backup_update(run->c, run->b);
	if (r < 0)
		return run_fail(run, r, "%s", catalog_error(run->c));
	cbtship_log("backup %s: view %s with checkpoint %" PRIu64 " of %s", run->b->id,
		    run->view.name, run->view.checkpoint, name);
	run->read_path = run->view.path;
	r = run_view_hook(run);
	if (r < 0)
		return r;

	run->full_read_seen = pending_full_read(run);
	if (!run->parent)
		return 0;
	if (run->snapshot && !run->snapshot_checkpoint) {
		full_read_because(run,
				  "snapshot %s no longer holds its changes (an earlier backup "
				  "from it shipped them, or they were merged back)",
				  run->snapshot->id);
		return 0;
	}
	/* An incremental: can the frozen map be trusted for this parent? */
	r = cbt_netlink_new(&nl);
	if (r >= 0)
		r = cbt_netlink_get_map(nl, name, DM_CBT_MAP_FROZEN, &fs, &map);
	if (r < 0)
		return run_fail(run, r, "%s: cannot read its frozen dirty map: %s", name,
				strerror(-r));
	if (fs.frozen_checkpoint != run->view.checkpoint)
		return run_fail(run, -ESTALE,
				"%s: the frozen map is of checkpoint %" PRIu64 ", not %" PRIu64,
				name, fs.frozen_checkpoint, run->view.checkpoint);
	nr_chunks = (run->src.size + run->b->chunk_size - 1) / run->b->chunk_size;
	if (fs.state != DM_CBT_STATE_OK_ID)
		full_read_because(run, "the tracking of %s is %s (its history was lost)", name,
				  cbt_state_to_string(fs.state));
	else if (run->full_read_seen)
		full_read_because(run, "%s", run->full_read_seen);
	else if (!v->last_generation || strcmp(v->last_generation, fs.uuid) != 0)
		full_read_because(run,
				  "the tracking generation of %s changed (tracking was restarted "
				  "or invalidated since the parent)",
				  name);
	else if (!run->parent->generation || strcmp(run->parent->generation, fs.uuid) != 0 ||
		 run->parent->checkpoint != v->last_checkpoint)
		full_read_because(run,
				  "the parent %s is not the last backup shipped from the "
				  "tracking of %s",
				  run->parent->id, name);
	else if (run->view.checkpoint != v->settled_checkpoint + 1)
		full_read_because(run,
				  "checkpoint %" PRIu64 " of %s was taken outside cbtship (its "
				  "changes may have been committed away)",
				  run->view.checkpoint - 1, name);
	else if (run->src.size != run->parent->volume_size)
		full_read_because(run, "the volume %s since the parent",
				  run->src.size > run->parent->volume_size ? "grew" : "shrank");
	else if (run->parent->chunk_size != run->b->chunk_size)
		full_read_because(run, "the parent has another chunk size");
	else {
		run->chunk_bits = cbt_chunk_bits_new(nr_chunks);
		if (!run->chunk_bits)
			return run_fail(run, -ENOMEM, "out of memory");
		cbt_chunk_bits_add_map(run->chunk_bits, nr_chunks, run->b->chunk_size, map,
				       (uint64_t)fs.block_sectors * 512);
	}
	return 0;
}

static int prepare_untracked(struct create_run *run)
{
	uint64_t nr_chunks = (run->src.size + run->b->chunk_size - 1) / run->b->chunk_size;
	char *err = NULL;
	int r;

	run->read_path = run->src.path;
	run->b->data_timestamp = catalog_now();
	run->full_read_seen = pending_full_read(run);
	if (!run->parent)
		return 0;
	/* E.g. a Ceph backup that failed after writing into the backup image. */
	if (run->full_read_seen) {
		full_read_because(run, "%s", run->full_read_seen);
		return 0;
	}
	if (!run->o->dirty_map) {
		full_read_because(run, "%s is not tracked and no --dirty-map was given",
				  run->src.path);
		return 0;
	}
	if (run->src.size != run->parent->volume_size) {
		full_read_because(run, "the volume %s since the parent",
				  run->src.size > run->parent->volume_size ? "grew" : "shrank");
		return 0;
	}
	if (run->parent->chunk_size != run->b->chunk_size) {
		full_read_because(run, "the parent has another chunk size");
		return 0;
	}
	run->chunk_bits = cbt_chunk_bits_new(nr_chunks);
	if (!run->chunk_bits)
		return run_fail(run, -ENOMEM, "out of memory");
	r = cbt_chunk_bits_add_file(run->chunk_bits, nr_chunks, run->b->chunk_size,
				    run->o->dirty_map, &err);
	if (r < 0) {
		run_fail(run, r, "%s", err ? err : strerror(-r));
		free(err);
	}
	return r;
}

/* The pipeline --------------------------------------------------------------- */

static int create_tick(void *userdata, const struct cbt_backup_progress *p)
{
	struct create_run *run = userdata;
	_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;
	double now = cbtship_seconds();
	int r;

	cbtship_progress("backup", p->bytes_read, p->bytes_todo, now - run->start);
	cbt_notify_progress(&run->notify, run->c, run->b, p->bytes_read, p->bytes_todo);
	if (now - run->last_beat < HEARTBEAT_SECONDS)
		return 0;
	run->last_beat = now;
	cbt_job_beat(run->c, &run->job, p->bytes_read, p->bytes_todo);
	if (catalog_backup_get(run->c, run->b->id, &b) == 0 && b->status != CATALOG_BACKUP_CREATING)
		return run_fail(run, -ECANCELED, "cancelled (the backup became %s)",
				catalog_backup_status_to_string(b->status));
	if (run->view_made) {
		r = cbt_view_check(run->src.dm_name, run->b->id, NULL, NULL);
		if (r == 0)
			return run_fail(run, -ENOSPC,
					"the point-in-time view overflowed its copy-on-write store "
					"(%s, %" PRIu64
					" bytes): too many writes during the backup; "
					"give more room with --cow-size",
					run->view.cow_path, run->view.cow_bytes);
	}
	return 0;
}

/*
 * An incremental shares its parent's index pages and chunks by id, so it
 * must use the parent's key: under another key (or none) every id
 * differs, nothing could be shared, and the parent's sealed pages could
 * not even be read. Rather than silently turning an --incremental into a
 * full backup (hours of reading and a full copy's storage, unasked), this
 * refuses and says how to start a new chain under the new key.
 */
static int check_parent_key(struct create_run *run)
{
	const struct cbt_manifest *pm = run->parent_manifest;
	const struct cbt_key *key = run->repo->key;
	bool parent_encrypted = pm->encryption != CBT_MANIFEST_ENCRYPTION_NONE;

	char why[512];

	/* Its index is what the incremental copies: the parent's manifest must be its own. */
	if (cbtship_manifest_trusted(run->parent, pm, parent_encrypted ? key : NULL, why,
				     sizeof(why)) < 0 &&
	    (!parent_encrypted || (key && strcmp(pm->key_fingerprint, key->fingerprint) == 0))) {
		fprintf(stderr, "cbtship backup-create: --incremental: the parent backup %s: %s\n",
			run->parent->id, why);
		return -EUCLEAN;
	}
	if (!parent_encrypted && !key)
		return 0;
	if (parent_encrypted && key && strcmp(pm->key_fingerprint, key->fingerprint) == 0)
		return 0;
	if (parent_encrypted && !key)
		fprintf(stderr,
			"cbtship backup-create: --incremental: the parent backup %s is "
			"encrypted (key fingerprint %s) and no encryption key is given: an "
			"incremental uses its parent's key (--encryption-key-file)\n",
			run->parent->id, pm->key_fingerprint);
	else if (!parent_encrypted)
		fprintf(stderr,
			"cbtship backup-create: --incremental: the parent backup %s is not "
			"encrypted, and an incremental cannot be encrypted when its parent is "
			"not: make a full backup (without --incremental) to start an encrypted "
			"chain with the key in %s\n",
			run->parent->id, key->path);
	else
		fprintf(stderr,
			"cbtship backup-create: --incremental: the parent backup %s was encrypted "
			"with another key (fingerprint %s; %s has %s): an incremental uses its "
			"parent's key; make a full backup (without --incremental) to start a "
			"chain under the new key\n",
			run->parent->id, pm->key_fingerprint, key->path, key->fingerprint);
	return -EKEYREJECTED;
}

static int run_backup(struct create_run *run, struct cbt_backup_progress *prog,
		      struct cbt_index_stats *ist, struct cbt_chunk_id *root)
{
	_cleanup_(cbt_index_freep) struct cbt_index *idx = NULL;
	_cleanup_(closep) int fd = -1;
	uint64_t nr_chunks = (run->src.size + run->b->chunk_size - 1) / run->b->chunk_size;
	struct cbt_chunk_id zero = { { 0 } };
	/* Encrypted (a key is loaded): HMAC page ids and sealed pages, as the chunks. */
	struct cbt_hasher *hasher = run->repo->key ? run->repo->key_hasher : run->repo->hasher;
	char err[768];
	int r;

	fd = open(run->read_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return run_fail(run, -errno, "%s: %s", run->read_path, strerror(errno));
	/* Start from the parent's index when it has the same chunking. */
	if (run->parent_manifest && run->parent_manifest->chunk_size == run->b->chunk_size &&
	    run->parent_manifest->nr_chunks <= nr_chunks) {
		r = cbt_index_open(run->repo->store, hasher, run->repo->compressor,
				   &run->parent_manifest->index.root,
				   run->parent_manifest->nr_chunks, &idx);
		if (r >= 0)
			cbt_index_set_cipher(idx, run->repo->cipher);
		if (r >= 0 && nr_chunks != run->parent_manifest->nr_chunks)
			r = cbt_index_resize(idx, nr_chunks);
	} else {
		r = cbt_index_open(run->repo->store, hasher, run->repo->compressor, &zero,
				   nr_chunks, &idx);
		if (r >= 0)
			cbt_index_set_cipher(idx, run->repo->cipher);
	}
	if (r < 0)
		return run_fail(run, r, "index: %s",
				idx && cbt_index_last_error(idx)->error
					? cbt_index_last_error(idx)->message
					: cbt_chunk_strerror(r));
	{
		struct cbt_backup_pipeline_config cfg = {
			.fd = fd,
			.source = run->read_path,
			.size = run->src.size,
			.chunk_size = run->b->chunk_size,
			.chunk_bits = run->chunk_bits,
			.store = run->repo->store,
			.key = run->repo->key,
			.compression = run->o->compression,
			.level = CBT_COMPRESSION_LEVEL_DEFAULT,
			.index = idx,
			.workers = run->workers,
			.tick = create_tick,
			.userdata = run,
		};

		run->stored = true;
		r = cbt_backup_pipeline_run(&cfg, prog, err, sizeof(err));
	}
	cbtship_progress_done();
	if (r < 0)
		return run_fail(run, r, "%s", err);
	r = cbt_index_write(idx, run->repo->store, root, ist);
	if (r < 0)
		return run_fail(run, r, "writing the index: %s", cbt_chunk_strerror(r));
	return 0;
}

/* Ceph: write the chunks (units) to read into the volume's image, then its snapshot. */
static int run_ceph(struct create_run *run, struct cbt_backup_progress *prog)
{
	_cleanup_(closep) int fd = -1;
	_cleanup_(freep) char *snap = NULL;
	char err[1024], dirty[256];
	int r;

	fd = open(run->read_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return run_fail(run, -errno, "%s: %s", run->read_path, strerror(errno));
	/*
	 * Ceph writes in place: should this run not complete, its writes stay
	 * in the image, and the next map file says nothing of them. Recorded
	 * on the volume before the first write (whatever ends this process),
	 * cleared once the run completed. A tracked volume needs none: the
	 * failed run's checkpoint is aborted, so its next map holds them.
	 */
	snprintf(dirty, sizeof(dirty),
		 "backup %s to Ceph did not complete after writing into the backup image",
		 run->b->id);
	if (!run->src.tracked &&
	    catalog_volume_set_full_read_reason(run->c, run->src.volume->id, dirty) < 0)
		return run_fail(run, -EIO, "%s", catalog_error(run->c));
	{
		struct cbt_ceph_backup cb = {
			.rbd = run->rbd,
			.volume_id = run->src.volume->id,
			.backup_id = run->b->id,
			.fd = fd,
			.source = run->read_path,
			.size = run->src.size,
			.unit = run->b->chunk_size,
			.bits = run->chunk_bits,
			.tick = create_tick,
			.userdata = run,
		};

		r = cbt_ceph_backup_run(&cb, prog, &snap, err, sizeof(err));
	}
	cbtship_progress_done();
	if (r < 0)
		return run_fail(run, r, "Ceph pool %s: %s", cbt_rbd_pool(run->rbd), err);
	if (!run->src.tracked &&
	    catalog_volume_clear_full_read_reason(run->c, run->src.volume->id, dirty) < 0)
		fprintf(stderr, "cbtship backup-create: warning: %s\n", catalog_error(run->c));
	cbtship_log("backup %s: snapshot %s in pool %s", run->b->id, snap, cbt_rbd_pool(run->rbd));
	run->b->finished_at = catalog_now();
	return 0;
}

static int write_manifest(struct create_run *run, const struct cbt_backup_progress *p,
			  const struct cbt_index_stats *ist, const struct cbt_chunk_id *root)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL;
	const struct catalog_volume *v = run->src.volume;
	char *err = NULL;
	int r;

	r = cbt_manifest_new(&m);
	if (r < 0)
		return run_fail(run, r, "out of memory");
#define DUP(dst, src)                                                   \
	do {                                                            \
		if ((src) && !((dst) = strdup(src)))                    \
			return run_fail(run, -ENOMEM, "out of memory"); \
	} while (0)
	DUP(m->backup_id, run->b->id);
	DUP(m->name, run->b->name);
	DUP(m->description, run->b->description);
	DUP(m->project, run->b->project);
	DUP(m->volume.id, v->id);
	DUP(m->volume.name, v->name);
	DUP(m->volume.origin_uuid, v->origin_uuid);
	if (run->parent)
		DUP(m->parent_id, run->parent->id);
	DUP(m->snapshot_id, run->b->snapshot_id);
	DUP(m->tracking.generation, run->b->generation);
	if (run->full_reason[0])
		DUP(m->tracking.full_read_reason, run->full_reason);
	DUP(m->container, run->repo->container);
	if (run->repo->key)
		DUP(m->key_fingerprint, run->repo->key->fingerprint);
#undef DUP
	m->volume.size = run->src.size;
	m->incremental = run->parent != NULL;
	m->created_at = run->b->created_at;
	m->data_timestamp = run->b->data_timestamp;
	m->finished_at = catalog_now();
	m->chunk_size = run->b->chunk_size;
	m->nr_chunks = (run->src.size + run->b->chunk_size - 1) / run->b->chunk_size;
	m->compression = run->o->compression;
	if (run->repo->key) {
		m->hashing = CBT_MANIFEST_HASH_HMAC_SHA256;
		m->encryption = CBT_MANIFEST_ENCRYPTION_AES_256_GCM;
	} else
		m->hashing = CBT_MANIFEST_HASH_SHA256;
	m->index.root = *root;
	m->index.pages = ist->pages_written + ist->pages_present;
	m->stats.bytes_read = p->bytes_read;
	m->stats.bytes_stored = p->bytes_stored + ist->bytes_written;
	m->stats.chunks_total = m->nr_chunks;
	m->stats.chunks_new = p->chunks_new;
	m->stats.chunks_zero = p->chunks_zero;
	m->stats.objects_written =
		cbt_repository_objects_written(run->repo, p->chunks_new + ist->pages_written);
	m->version = run->repo->format;
	m->tracking.checkpoint = run->b->checkpoint;
	m->tracking.full_read = run->chunk_bits == NULL;
	m->service = run->repo->service;
	r = cbtship_manifest_seal(m, run->repo->key);
	if (r < 0)
		return run_fail(run, r, "the manifest's MAC: %s", strerror(-r));
	r = cbt_manifest_write(run->repo->store, m, &err);
	if (r < 0) {
		run_fail(run, r, "writing the manifest: %s", err ? err : strerror(-r));
		free(err);
		return r;
	}
	run->b->finished_at = m->finished_at;
	{
		char hex[CBT_CHUNK_ID_HEX_SIZE];

		/* Restore and verify refuse a manifest whose root is not this one. */
		r = catalog_backup_set_index_root(run->c, run->b->id,
						  cbt_chunk_id_to_hex(root, hex));
		if (r < 0)
			return run_fail(run, r, "%s", catalog_error(run->c));
	}
	return 0;
}

/*
 * Remove the objects a failed backup wrote that nothing references: the
 * container is marked for collection, and collected now unless a backup
 * (of any host) runs there; then a later collection removes them.
 */
static void collect_failed(struct create_run *run)
{
	struct cbt_gc_options o = { .catalog = run->c };
	struct cbt_gc_stats gs = { 0 };
	char *err = NULL;
	int r;

	if (!run->repo)
		return; /* Ceph: nothing but in-place writes, covered by the next backup */
	run->lease = cbt_lease_release(run->lease);
	(void)catalog_garbage_mark(run->c, run->repo->service, run->repo->container);
	r = cbt_repository_trylock(run->repo, true);
	if (r >= 0)
		r = cbt_collect_repository(run->repo, &o, &gs, &err);
	if (r == -EWOULDBLOCK || r == -EAGAIN) {
		cbtship_log("backup %s: other backups run in container %s: its objects are "
			    "collected later",
			    run->b->id, run->repo->container);
		free(err);
		return;
	}
	if (r < 0) {
		fprintf(stderr,
			"cbtship backup-create: warning: the objects of the failed backup stay in "
			"container %s until a later collection: %s\n",
			run->repo->container, err ? err : strerror(-r));
		free(err);
		return;
	}
	cbtship_log("backup %s: removed the %" PRIu64 " chunks and %" PRIu64
		    " index pages it had written",
		    run->b->id, gs.chunks_deleted, gs.pages_deleted);
}

/* Undo what a failed or cancelled run did to the volume and its record. */
static void run_cleanup_failed(struct create_run *run, int error)
{
	_cleanup_(catalog_backup_freep) struct catalog_backup *now = NULL;
	int r;

	if (run->view_made) {
		r = cbt_view_remove(run->src.dm_name, run->b->id);
		if (r < 0 && r != -ENOENT)
			fprintf(stderr,
				"cbtship backup-create: warning: cannot remove the view %s: %s\n",
				run->view.name, strerror(-r));
		run->view_made = false;
	}
	if (run->checkpoint_taken) {
		r = cbt_abort(run->src.dm_name, run->b->checkpoint);
		if (r < 0)
			fprintf(stderr,
				"cbtship backup-create: warning: cannot abort checkpoint %" PRIu64
				" of %s (%s): the next backup will\n",
				run->b->checkpoint, run->src.dm_name, strerror(-r));
		else
			cbt_tracked_settle(run->c, run->src.volume, run->b->checkpoint);
		run->checkpoint_taken = false;
	}
	if (catalog_backup_get(run->c, run->b->id, &now) == 0 &&
	    now->status == CATALOG_BACKUP_CREATING) {
		/* Marked error first: a collection must not take it for a live backup. */
		(void)catalog_backup_set_status(run->c, run->b->id, CATALOG_BACKUP_ERROR, 0,
						run->error[0] ? run->error : strerror(-error));
		/* Not cancelled (the canceller collects then): remove what it wrote. */
		if (run->stored)
			collect_failed(run);
	}
	cbtship_log("backup %s: failed: %s", run->b->id, run->error);
}

/* backup.create.end, with the record as it ended (available, error, deleting). */
static void notify_end(struct create_run *run, const struct cbt_backup_progress *p)
{
	_cleanup_(catalog_backup_freep) struct catalog_backup *now = NULL;

	if (catalog_backup_get(run->c, run->b->id, &now) == 0)
		cbt_notify(&run->notify, "end", run->c, now, p->bytes_read, p->bytes_todo);
}

/* The record as cinder prints a new backup: id, name, volume_id (and status). */
static void print_record(const struct catalog_backup *b, enum cbtship_format format)
{
	if (format == CBTSHIP_FORMAT_JSON) {
		_cleanup_(json_decrefp) json_t *o = catalog_backup_to_json(b);

		if (o)
			cbtship_json_print(o);
		return;
	}
	printf("| %-10s | %-60s |\n", "Property", "Value");
	printf("| %-10s | %-60s |\n", "id", b->id);
	printf("| %-10s | %-60s |\n", "name", b->name ? b->name : "None");
	printf("| %-10s | %-60s |\n", "volume_id", b->volume_id);
	printf("| %-10s | %-60s |\n", "status", catalog_backup_status_to_string(b->status));
}

static void print_result(struct create_run *run, const struct cbt_backup_progress *p,
			 double seconds)
{
	_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;
	char r1[32], r2[32], r3[32];

	if (catalog_backup_get(run->c, run->b->id, &b) < 0)
		return;
	if (run->o->format == CBTSHIP_FORMAT_JSON) {
		_cleanup_(json_decrefp) json_t *o = catalog_backup_to_json(b);

		if (o) {
			json_object_set_new(o, "full_read", json_boolean(run->chunk_bits == NULL));
			json_object_set_new(o, "full_read_reason",
					    run->full_reason[0] ? json_string(run->full_reason)
								: json_null());
			json_object_set_new(o, "chunks_unchanged",
					    cbtship_json_u64(p->chunks_unchanged));
			json_object_set_new(o, "chunks_present",
					    cbtship_json_u64(p->chunks_present));
			json_object_set_new(o, "seconds", json_real(seconds));
			cbtship_json_print(o);
		}
		return;
	}
	print_record(b, CBTSHIP_FORMAT_TABLE);
	fprintf(stderr,
		"%s backup %s of %s: read %s in %" PRIu64 " chunks, stored %s in %" PRIu64
		" new objects (%" PRIu64 " zero, %" PRIu64 " unchanged, %" PRIu64
		" already stored), %s volume, %.1f s\n",
		run->parent ? "incremental" : "full", b->id, run->src.volume->name,
		cbtship_bytes(p->bytes_read, r1, sizeof(r1)), p->chunks_done,
		cbtship_bytes(b->bytes_stored, r2, sizeof(r2)), b->object_count, p->chunks_zero,
		p->chunks_unchanged, p->chunks_present,
		cbtship_bytes(b->volume_size, r3, sizeof(r3)), seconds);
	if (run->parent && run->full_reason[0])
		fprintf(stderr, "read everything because %s\n", run->full_reason);
}

/* backup_sha_block_size_bytes, CBT_CHUNK_SIZE_DEFAULT unless configured. */
static uint32_t default_chunk_size(void)
{
	uint64_t size = cbtship_config()->backup_sha_block_size_bytes;

	return size ? (uint32_t)size : CBT_CHUNK_SIZE_DEFAULT;
}

/*
 * Workers for a store where each object is a network round trip (Swift):
 * they mostly wait, so by default 4 per core (64 at most) keep more
 * requests in flight; elsewhere, and when set, o->workers.
 */
static unsigned remote_workers(const struct create_opts *o, enum cbt_service service)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (service != CBT_SERVICE_SWIFT || o->workers_given || cores <= 0)
		return o->workers;
	return cores >= 16 ? 64 : (unsigned)(4 * cores);
}

/*
 * The record exists: queue its job. Without --wait, print the record and
 * leave the rest to a background worker (this function returns in the
 * worker only); then wait for the job's turn. A Ceph connection is not
 * carried across the fork: the worker connects again.
 */
/*
 * Once the job's turn came: the container's shared lock (a delete's
 * collection waits for running backups, not for queued ones), the
 * parent's manifest read again under it (it may have been deleted while
 * this backup waited), and for Swift one listing of the chunks it holds
 * instead of a HEAD before every chunk (store/known-keys.h).
 */
static int take_container(struct create_run *run)
{
	char *err = NULL;
	int r;

	if (!run->repo)
		return 0; /* Ceph */
	r = cbt_repository_lock(run->repo, false);
	if (r < 0)
		return run_fail(run, r, "locking container %s: %s", run->repo->container,
				strerror(-r));
	r = cbt_repository_lease_backup(run->repo, run->b->id, &run->lease, &err);
	if (r < 0) {
		run_fail(run, r, "the lease in container %s: %s", run->repo->container,
			 err ? err : strerror(-r));
		free(err);
		return r;
	}
	if (run->parent) {
		run->parent_manifest = cbt_manifest_free(run->parent_manifest);
		r = cbt_manifest_read(run->repo->store, run->parent->id, &run->parent_manifest,
				      &err);
		if (r < 0) {
			run_fail(run, r,
				 "the parent backup %s cannot be used (deleted meanwhile?): "
				 "its manifest: %s",
				 run->parent->id, err ? err : strerror(-r));
			free(err);
			return r;
		}
		{
			char why[512];

			r = cbtship_manifest_trusted(run->parent, run->parent_manifest,
						     run->repo->key, why, sizeof(why));
			if (r < 0)
				return run_fail(run, r, "the parent backup %s: %s", run->parent->id,
						why);
		}
	}
	return 0;
}

static int start_job(struct create_run *run)
{
	char *err = NULL;
	int r;

	r = cbt_job_queue(run->c, CATALOG_JOB_BACKUP, run->b->id, "backup-create", &run->job);
	if (r < 0) {
		run_fail(run, r, "queueing the job: %s", catalog_error(run->c));
		run_cleanup_failed(run, r);
		return r;
	}
	if (!run->o->wait) {
		run->rbd = cbt_rbd_free(run->rbd);
		r = cbt_job_detach(&run->c, &run->job);
		if (r == 1) {
			print_record(run->b, run->o->format);
			cbt_job_leave();
		}
		if (r < 0) {
			if (cbtship_catalog_open("backup-create", &run->c) < 0)
				return r;
			run_fail(run, r, "the background worker did not start: %s", strerror(-r));
			goto failed;
		}
		if (run->b->service == CBT_SERVICE_CEPH) {
			r = cbt_ceph_connect(run->b->container, &run->rbd, &err);
			if (r < 0) {
				run_fail(run, r, "Ceph: %s", err ? err : strerror(-r));
				free(err);
				goto failed;
			}
		}
	}
	r = cbt_job_wait_turn(run->c, &run->job, CATALOG_BACKUP_CREATING);
	if (r < 0) {
		run_fail(run, r, "%s", r == -ECANCELED ? "cancelled while queued" : "queue");
		goto failed;
	}
	r = take_container(run);
	if (r < 0)
		goto failed;
	return 0;
failed:
	run_cleanup_failed(run, r);
	fprintf(stderr, "cbtship backup-create: backup %s failed: %s\n", run->b->id,
		run->error[0] ? run->error : strerror(-r));
	cbt_job_end(run->c, &run->job, r, run->error);
	return r;
}

static int create(const struct create_opts *o)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;
	struct create_run run = { .o = o };
	struct catalog_backup record = { 0 };
	struct cbt_backup_progress prog = { 0 };
	struct cbt_index_stats ist = { 0 };
	struct cbt_chunk_id root;
	const char *container = o->container;
	enum cbt_service service = cbtship_configured_service();
	char *err = NULL;
	int r;

	if (cbtship_catalog_open("backup-create", &c) < 0)
		return EXIT_FAILURE;
	run.c = c;
	r = cbt_volume_source_resolve(c, o->volume, cbtship_project(),
				      o->chunk_size ? o->chunk_size : default_chunk_size(),
				      CBT_SOURCE_ADD, &run.src, &err);
	if (r < 0) {
		fprintf(stderr, "cbtship backup-create: %s\n", err ? err : strerror(-r));
		free(err);
		return EXIT_FAILURE;
	}
	if (o->snapshot_id) {
		r = catalog_snapshot_find(c, o->snapshot_id, cbtship_project(), &run.snapshot);
		if (r < 0) {
			fprintf(stderr, "cbtship backup-create: --snapshot-id: %s\n",
				catalog_error(c));
			goto fail_early;
		}
		if (strcmp(run.snapshot->volume_id, run.src.volume->id) != 0 || !run.src.tracked) {
			fprintf(stderr,
				"cbtship backup-create: snapshot %s is not a snapshot of volume "
				"%s\n",
				run.snapshot->id, run.src.volume->name);
			goto fail_early;
		}
	}
	/* A snapshot is not in use: it needs no --force (as in cinder). */
	if (run.src.in_use && !o->force && !run.snapshot) {
		fprintf(stderr,
			"cbtship backup-create: volume %s is in use (open by a guest or mounted): "
			"backing it up needs --force%s\n",
			run.src.volume->name,
			run.src.tracked ? ""
					: " (and, untracked, the copy is not crash-consistent)");
		goto fail_early;
	}
	if (o->dirty_map && (run.src.tracked || !o->incremental)) {
		fprintf(stderr, "cbtship backup-create: --dirty-map is for incremental backups of "
				"untracked sources (--incremental, a device or file)\n");
		goto fail_early;
	}
	if (o->incremental) {
		/* From a snapshot: the latest backup older than it, as cinder chooses. */
		r = catalog_backup_latest_available(c, run.src.volume->id,
						    run.snapshot ? run.snapshot->created_at : 0,
						    &run.parent);
		if (r == -ENOENT) {
			fprintf(stderr,
				"cbtship backup-create: --incremental: volume %s has no available "
				"backup to base it on; make a full backup first\n",
				run.src.volume->name);
			goto fail_early;
		}
		if (r < 0) {
			fprintf(stderr, "cbtship backup-create: %s\n", catalog_error(c));
			goto fail_early;
		}
		if (container && strcmp(container, run.parent->container) != 0) {
			fprintf(stderr,
				"cbtship backup-create: an incremental goes to its parent's "
				"container (%s), not %s\n",
				run.parent->container, container);
			goto fail_early;
		}
		container = run.parent->container;
		service = run.parent->service;
	}
	if (service == CBT_SERVICE_CEPH) {
		const char *key_file = cbtship_key_file();

		/* Never store in the clear what the operator asked to encrypt. */
		if (key_file) {
			fprintf(stderr,
				"cbtship backup-create: the Ceph backup service does not encrypt: "
				"back up to a chunk repository (posix, nfs, swift) to use the "
				"encryption key %s\n",
				key_file);
			goto fail_early;
		}
		r = cbt_ceph_connect(container, &run.rbd, &err);
		if (r < 0) {
			fprintf(stderr, "cbtship backup-create: Ceph: %s\n",
				err ? err : strerror(-r));
			free(err);
			goto fail_early;
		}
		goto record;
	}
	r = cbt_repository_open(service, container, CBT_REPOSITORY_CREATE, &run.repo, &err);
	if (r < 0) {
		fprintf(stderr, "cbtship backup-create: %s\n", err ? err : strerror(-r));
		free(err);
		goto fail_early;
	}
	r = cbt_repository_load_key(run.repo, &err);
	if (r < 0) {
		fprintf(stderr, "cbtship backup-create: %s\n", err ? err : strerror(-r));
		free(err);
		goto fail_early;
	}
	if (run.parent) {
		r = cbt_manifest_read(run.repo->store, run.parent->id, &run.parent_manifest, &err);
		if (r < 0) {
			fprintf(stderr,
				"cbtship backup-create: the parent backup %s cannot be used: its "
				"manifest: %s\n",
				run.parent->id, err ? err : strerror(-r));
			free(err);
			goto fail_early;
		}
		if (check_parent_key(&run) < 0)
			goto fail_early;
	}

record:
	run.workers = remote_workers(o, service);
	/* The record: creating, quota reserved. */
	record.project = (char *)cbtship_project();
	snprintf(record.volume_id, sizeof(record.volume_id), "%s", run.src.volume->id);
	record.name = (char *)o->name;
	record.description = (char *)o->description;
	if (run.parent)
		snprintf(record.parent_id, sizeof(record.parent_id), "%s", run.parent->id);
	record.is_incremental = run.parent != NULL;
	record.container = run.rbd ? (char *)cbt_rbd_pool(run.rbd) : run.repo->container;
	record.service = service;
	record.volume_size = run.src.size;
	record.snapshot_id = run.snapshot ? run.snapshot->id : NULL;
	record.chunk_size = o->chunk_size ? o->chunk_size : run.src.volume->chunk_size;
	if (!record.chunk_size)
		record.chunk_size = default_chunk_size();
	/* Ceph writes in place: the unit is the tracking block, or 4 KiB (a map file). */
	if (run.rbd)
		record.chunk_size = run.src.tracked && run.src.volume->block_size
					    ? run.src.volume->block_size
					    : 4096;
	r = catalog_backup_create(c, &record);
	if (r < 0) {
		fprintf(stderr, "cbtship backup-create: %s\n", catalog_error(c));
		goto fail_early;
	}
	r = catalog_backup_get(c, record.id, &b);
	if (r < 0) {
		fprintf(stderr, "cbtship backup-create: %s\n", catalog_error(c));
		goto fail_early;
	}
	run.b = b;
	r = start_job(&run);
	c = run.c; /* the worker's own handle */
	if (r < 0)
		goto fail;
	run.start = run.last_beat = cbtship_seconds();
	run.notify.kind = "create";
	cbt_notify(&run.notify, "start", c, b, 0, run.src.size);
	b->started_at = catalog_now();
	cbtship_log("backup %s of %s (%s): started%s%s", b->id, run.src.volume->name, run.src.path,
		    run.parent ? ", incremental on " : ", full", run.parent ? run.parent->id : "");

	r = run.src.tracked ? prepare_tracked(&run) : prepare_untracked(&run);
	if (r >= 0 && run.rbd)
		r = run_ceph(&run, &prog);
	else if (r >= 0)
		r = run_backup(&run, &prog, &ist, &root);
	if (r >= 0 && !run.rbd)
		r = write_manifest(&run, &prog, &ist, &root);
	if (r >= 0) {
		b->bytes_read = prog.bytes_read;
		b->bytes_stored = prog.bytes_stored + ist.bytes_written;
		b->chunks_total = (run.src.size + b->chunk_size - 1) / b->chunk_size;
		b->chunks_new = prog.chunks_new;
		b->chunks_zero = prog.chunks_zero;
		b->object_count = run.rbd ? 1
					  : cbt_repository_objects_written(
						    run.repo, prog.chunks_new + ist.pages_written);
		r = catalog_backup_update(c, b);
		if (r >= 0)
			r = catalog_backup_set_status(c, b->id, CATALOG_BACKUP_AVAILABLE, 0, NULL);
		if (r < 0)
			run_fail(&run, r, "%s", catalog_error(c));
	}
	if (r < 0) {
		cbtship_progress_done();
		run_cleanup_failed(&run, r);
		fprintf(stderr, "cbtship backup-create: backup %s of %s failed: %s\n", b->id,
			run.src.volume->name, run.error[0] ? run.error : strerror(-r));
		notify_end(&run, &prog);
		cbt_job_end(c, &run.job, r, run.error);
		goto fail;
	}

	settle_full_read(&run);
	/* Available: now the checkpoint may go. */
	if (run.snapshot_checkpoint) {
		run.snapshot->holds_checkpoint = false;
		if (catalog_snapshot_update(c, run.snapshot) < 0)
			fprintf(stderr, "cbtship backup-create: warning: %s\n", catalog_error(c));
	}
	if (run.checkpoint_taken || run.snapshot_checkpoint) {
		r = cbt_commit(run.src.dm_name, b->checkpoint);
		if (r < 0)
			fprintf(stderr,
				"cbtship backup-create: warning: cannot commit checkpoint %" PRIu64
				" of %s (%s): the next backup commits it\n",
				b->checkpoint, run.src.dm_name, strerror(-r));
	}
	if (run.view_made) {
		r = cbt_view_remove(run.src.dm_name, b->id);
		if (r < 0)
			fprintf(stderr,
				"cbtship backup-create: warning: cannot remove the view %s (%s): "
				"the "
				"next backup removes it\n",
				run.view.name, strerror(-r));
	}
	cbtship_log("backup %s: available; read %" PRIu64 " bytes, stored %" PRIu64
		    " bytes, %" PRIu64 " new chunks%s%s",
		    b->id, prog.bytes_read, b->bytes_stored, prog.chunks_new,
		    run.full_reason[0] ? "; full read because " : "", run.full_reason);
	notify_end(&run, &prog);
	cbt_job_end(c, &run.job, 0, NULL);
	print_result(&run, &prog, cbtship_seconds() - run.start);
	r = EXIT_SUCCESS;
	goto out;

fail_early:
fail:
	r = EXIT_FAILURE;
out:
	cbt_volume_source_done(&run.src);
	catalog_backup_free(run.parent);
	catalog_snapshot_free(run.snapshot);
	cbt_manifest_free(run.parent_manifest);
	cbt_lease_release(run.lease);
	cbt_repository_free(run.repo);
	cbt_rbd_free(run.rbd);
	free(run.chunk_bits);
	free(run.full_read_seen);
	return r;
}

const struct cbt_option cbtship_backup_create_options[] = {
	{ "name", 'n', "N", "the backup's name", 0 },
	{ "description", 'd', "D", "its description", 0 },
	{ "incremental", 'i', NULL,
	  "base it on the volume's latest available backup; a tracked volume then reads only "
	  "the chunks its dirty map touches (else, and when the map cannot be trusted, "
	  "everything is read and the reason shown)",
	  0 },
	{ "force", 'F', NULL, "back up a volume in use (open by a guest, mounted)", 0 },
	{ "snapshot-id", 's', "S",
	  "back up snapshot S of VOLUME (snapshot-create) instead of a new view: no --force "
	  "needed; an incremental reads the chunks changed before the snapshot and is based on "
	  "the latest backup older than it",
	  0 },
	CBT_OPTION_BACKUP_DRIVER(
		"posix|swift|nfs|ceph",
		"where the backup goes (default the configuration's backup_driver): "
		"posix (a directory), swift, nfs (backup_share, mounted on demand), "
		"ceph"),
	{ "container", 'c', "C",
	  "posix: an absolute directory, or a name under backup_posix_path; nfs: a name in the "
	  "share; swift: a Swift container; ceph: the pool (defaults: backup_container, "
	  "backup_swift_container, backup_ceph_pool); incrementals go to their parent's "
	  "service and container",
	  0 },
	{ "dirty-map", 'm', "FILE",
	  "untracked source with --incremental: the changed ranges, one \"OFFSET LENGTH\" in "
	  "bytes per line",
	  0 },
	{ "chunk-size", 'C', "SIZE", "chunk size of a volume's first backup (4K..16M, default 32K)",
	  0 },
	{ "compression", 'z', "zstd|zlib|none",
	  "default: the configuration's backup_compression_algorithm", 0 },
	{ "workers", 'w', "N",
	  "parallel read/hash/compress/store threads of this backup (default: "
	  "backup_native_threads_pool_size, the number of cores)",
	  0 },
	{ "cow-dir", 'D', "DIR",
	  "where the view's copy-on-write store goes (default $CBTSHIP_STATE_DIR/cow)", 0 },
	{ "cow-size", 'S', "SIZE",
	  "size of the view's copy-on-write store (default: the volume's size; sparse)", 0 },
	CBT_OPTION_KEY_FILE("encrypt the backup with this key (default: "
			    "backup_encryption_key_file)"),
	{ "wait", 'W', NULL,
	  "do the backup in the foreground, with progress, and print the result (exit status 1 "
	  "when it failed)",
	  0 },
	CBT_OPTION_FORMAT("table|json"),
	CBT_OPTION_END,
};

static int create_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	struct create_opts *o = ctx;
	uint64_t size;

	switch (opt->key) {
	case 'n':
		o->name = arg;
		break;
	case 'd':
		o->description = arg;
		break;
	case 'i':
		o->incremental = true;
		break;
	case 'F':
		o->force = true;
		break;
	case 's':
		o->snapshot_id = arg;
		break;
	case CBT_OPTION_BACKUP_DRIVER_KEY:
		return cbtship_option_backup_driver("backup-create", arg);
	case 'c':
		o->container = arg;
		break;
	case CBT_OPTION_KEY_FILE_KEY:
		return cbtship_set_key_file("backup-create", arg) < 0 ? -EINVAL : 0;
	case 'm':
		o->dirty_map = arg;
		break;
	case 'W':
		o->wait = true;
		break;
	case 'C':
		if (cbt_parse_size(arg, &size) < 0 || size < CBT_MANIFEST_CHUNK_SIZE_MIN ||
		    size > CBT_MANIFEST_CHUNK_SIZE_MAX || (size & (size - 1))) {
			fprintf(stderr,
				"cbtship backup-create: bad chunk size '%s': a power of two from "
				"4K to 16M\n",
				arg);
			return -EINVAL;
		}
		o->chunk_size = (uint32_t)size;
		break;
	case 'z':
		if (cbt_compression_from_string(arg, &o->compression) < 0) {
			fprintf(stderr,
				"cbtship backup-create: unknown compression '%s' (zstd, zlib, "
				"none)\n",
				arg);
			return -EINVAL;
		}
		break;
	case 'w':
		o->workers = (unsigned)strtoul(arg, NULL, 10);
		o->workers_given = true;
		if (!o->workers || o->workers > 64) {
			fprintf(stderr, "cbtship backup-create: --workers: 1 to 64\n");
			return -EINVAL;
		}
		break;
	case 'D':
		o->cow_dir = arg;
		break;
	case 'S':
		if (cbt_parse_size(arg, &o->cow_bytes) < 0 || !o->cow_bytes) {
			fprintf(stderr, "cbtship backup-create: bad --cow-size '%s'\n", arg);
			return -EINVAL;
		}
		break;
	default:
		return cbtship_option_format("backup-create", opt, arg, &o->format);
	}
	return 0;
}

int cbtship_backup_create(int argc, char **argv)
{
	const struct cbt_config *cfg = cbtship_config();
	struct create_opts o = { .compression = cfg->backup_compression_algorithm };
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int r;

	o.workers = cfg->backup_native_threads_pool_size > 0
			    ? (unsigned)cfg->backup_native_threads_pool_size
		    : cores > 0 ? (unsigned)cores
				: 1;
	if (o.workers > 64)
		o.workers = 64;
	o.workers_given = strncmp(cbt_config_origin(cfg, "backup_native_threads_pool_size"),
				  "default", 7) != 0;
	r = cbt_command_parse("backup-create", argc, argv, create_option, &o);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	o.volume = argv[optind];
	return create(&o);
}
