/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The catalog: an SQLite database of volumes, backups, project quotas and
 * jobs (default CBTSHIP_CATALOG_DEFAULT; the caller passes the path).
 *
 * One handle per process and per thread at a time; never carry a handle
 * across fork(). Every function returns 0 (or a documented positive value)
 * or a negative errno; on failure catalog_error() says why in one line
 * meant for the operator (the numbers of a quota refusal, the names of an
 * illegal state transition, SQLite's own message).
 *
 * Schema, version 3 (schema.c creates it; times are INTEGER microseconds
 * since the epoch, UTC; NULL means "not yet"):
 *
 *   schema_version  version INTEGER PK, applied_at. One row per migration
 *                   applied; the catalog's version is MAX(version). PRAGMA
 *                   application_id is CATALOG_APPLICATION_ID.
 *   volumes         id TEXT PK (UUID), name UNIQUE, project, origin_path,
 *                   origin_size (bytes), origin_uuid (blkid UUID or NULL),
 *                   block_size (tracking block, bytes; 0 untracked),
 *                   chunk_size (bytes), tracked 0/1, last_generation and
 *                   last_checkpoint (dm-cbt generation UUID and checkpoint
 *                   of the last backup that became available), status
 *                   'ok'|'error', status_reason, created_at, updated_at,
 *                   settled_checkpoint (version 2: the last checkpoint
 *                   cbtship took on this volume and then committed or
 *                   aborted; a later checkpoint number seen on the
 *                   device was taken by someone else, so its changes may
 *                   have been committed away and the next backup must
 *                   read everything).
 *   backups         seq INTEGER PK AUTOINCREMENT (creation order), id TEXT
 *                   UNIQUE (UUID), volume_id, project, name, description,
 *                   status (cinder's: creating, available, deleting,
 *                   restoring, error, error_deleting), fail_reason,
 *                   parent_id, is_incremental, container, service
 *                   (posix|swift|ceph|nfs), snapshot_id, checkpoint and
 *                   generation (dm-cbt checkpoint number and generation
 *                   UUID shipped; 0 / NULL for an untracked source),
 *                   volume_size (bytes), chunk_size, bytes_read,
 *                   bytes_stored, chunks_total, chunks_new, chunks_zero,
 *                   object_count, quota_gigabytes (GiB charged: the volume
 *                   size rounded up), quota_state
 *                   'reserved'|'committed'|'released', data_timestamp (when
 *                   the data was taken: creation, or the snapshot's time),
 *                   created_at, updated_at, started_at, finished_at,
 *                   owner_pid, owner_host, heartbeat_at.
 *                   volume_id and parent_id are not foreign keys: a backup
 *                   outlives its volume and its parent (every index is
 *                   logically full), and an imported record may name
 *                   either while the catalog holds neither.
 *                   has_dependent_backups is derived (some row has
 *                   parent_id = id), never stored, so it cannot drift.
 *   projects        name TEXT PK, backups_limit, gigabytes_limit (-1:
 *                   unlimited), updated_at. A project without a row has
 *                   the handle's defaults (catalog_quota_set_defaults()).
 *   quota_usage     a VIEW, per project: backups_in_use, backups_reserved,
 *                   gigabytes_in_use, gigabytes_reserved. Usage is derived
 *                   from the backups' quota_state, never counted, so no
 *                   crash can leave a counter wrong: 'reserved' while
 *                   creating, 'committed' once available (and while
 *                   restoring, deleting, or in error after having been
 *                   available), 'released' when a creation ends otherwise;
 *                   a removed row releases what it held.
 *   jobs            id INTEGER PK AUTOINCREMENT, kind backup|restore,
 *                   backup_id (FOREIGN KEY backups(id) ON DELETE CASCADE),
 *                   state queued|running|done|failed|cancelled, pid, host,
 *                   bytes_done, bytes_total, cancel_requested 0/1, error,
 *                   created_at, started_at, updated_at, finished_at.
 *   snapshots       (version 3) id TEXT PK (UUID), volume_id, project, name,
 *                   description, status creating|available|error,
 *                   fail_reason, checkpoint and generation (the dm-cbt
 *                   checkpoint taken with the snapshot's view),
 *                   holds_checkpoint 0/1 (1 while that checkpoint is
 *                   outstanding on the device, waiting for a backup from
 *                   the snapshot to commit it), volume_size, owner_pid,
 *                   owner_host, created_at, updated_at. The snapshot's data
 *                   is the live dm device <volume>-view-<id> (libcbt).
 *   backups         (version 4) progress_done, progress_total: bytes of
 *                   the running backup or restore done and to do, written
 *                   with each heartbeat (catalog_backup_progress()).
 *   volumes         (version 5) metadata_path (a tracked volume's dm-cbt
 *                   metadata device or file, recorded by `cbtship track`
 *                   so that the agent can re-create it at boot),
 *                   origin_identity (what identifies the origin device:
 *                   size and blkid/sysfs identity, as text; a changed one
 *                   is refused at boot), full_read_reason (set when the
 *                   target reported the map invalid or its metadata
 *                   failed: the next backup reads everything and says
 *                   why; cleared when a backup becomes available).
 *                   jobs.boot_id, backups.owner_boot, snapshots.owner_boot
 *                   (version 5): the kernel's boot_id of the owner process,
 *                   so that after a reboot a recorded pid is never taken
 *                   for the unrelated process that has it now.
 *   workers         (version 5) host, binary (PRIMARY KEY together), pid,
 *                   version, started_at, heartbeat_at: the heartbeats of
 *                   this host's agent and job workers, for service-list.
 *   garbage         (version 6) service, container (PRIMARY KEY together),
 *                   seq, marked_at: the containers where a backup-delete
 *                   (or a failed backup) left objects for a collection
 *                   (backup-collect, the agent); seq grows with each mark,
 *                   so a collection that started before a newer mark does
 *                   not clear it.
 *   backups         (version 7) index_root: the root id of the backup's
 *                   index (hex) as its manifest had it when the backup
 *                   became available (NULL: a Ceph backup, or recorded
 *                   before version 6); restore and verify refuse a
 *                   manifest whose root differs. restore_path,
 *                   restore_volume_id, restore_created: where the current
 *                   (or last) restore of the backup writes, the catalog
 *                   volume it overwrites (NULL: none), and 1 when the
 *                   restore created that file itself; the agent uses them
 *                   when the restore's process died.
 *   volumes         (version 7) imported 0/1: the record was made by
 *                   backup-import or catalog-rebuild from a backup record,
 *                   not by this host (its name and origin are the record's
 *                   words: a restore never writes to that origin unless it
 *                   is named on the command line; it is cleared when a
 *                   backup made here becomes available).
 */
#ifndef CBTSHIP_CATALOG_H
#define CBTSHIP_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "cbt-cleanup.h"
#include "cbtship/driver/service.h"

#define CBTSHIP_CATALOG_DEFAULT "/var/lib/cbtship/catalog.db"
#define CATALOG_SCHEMA_VERSION	7
#define CATALOG_APPLICATION_ID	0x43425453 /* "CBTS" */
#define CATALOG_BUSY_TIMEOUT_MS 30000
#define CATALOG_ID_MAX		37 /* a UUID's text and its NUL */

/* cinder's defaults for quota_backups and quota_backup_gigabytes. */
#define CATALOG_DEFAULT_BACKUPS_LIMIT	10
#define CATALOG_DEFAULT_GIGABYTES_LIMIT 1000
#define CATALOG_UNLIMITED		(-1)
#define CATALOG_QUOTA_KEEP		(-2) /* catalog_quota_set(): leave as is */

#define CATALOG_GIB (UINT64_C(1) << 30)

struct catalog;

/* Handle ----------------------------------------------------------------- */

/*
 * Open the catalog at path, creating it (and its directory, mode 0700) if
 * needed, in WAL mode with foreign keys on and a busy timeout, and migrate
 * it forward to CATALOG_SCHEMA_VERSION. Refuses a catalog of a newer
 * schema with -EPROTONOSUPPORT and a file that is not a cbtship catalog
 * with -EMEDIUMTYPE. On failure *ret_error (when not NULL) receives a
 * message to free().
 */
int catalog_open(const char *path, struct catalog **ret, char **ret_error);
struct catalog *catalog_free(struct catalog *c);
CBT_DEFINE_CLEANUP(struct catalog *, catalog_free, catalog_freep)

/* The message of the last failure on this handle ("" when none). */
const char *catalog_error(const struct catalog *c);

/* The schema version of the open catalog. */
int catalog_schema_version(struct catalog *c);

/* This host's name as recorded in owner_host / jobs.host (gethostname()
 * by default; cinder's `host` option may override it). */
const char *catalog_host(const struct catalog *c);
int catalog_set_host(struct catalog *c, const char *host);

/* Microseconds since the epoch, UTC. */
int64_t catalog_now(void);

/* A fresh random (version 4) UUID as lower-case text. */
int catalog_id_new(char ret[CATALOG_ID_MAX]);

/* Volumes ---------------------------------------------------------------- */

enum catalog_volume_status {
	CATALOG_VOLUME_OK,
	CATALOG_VOLUME_ERROR,
	_CATALOG_VOLUME_STATUS_MAX,
};

/*
 * A volume record. Records returned by the catalog own their strings
 * (catalog_volume_free()); a record passed in is only read (its strings
 * are borrowed), except for the fields an _add() fills in.
 */
struct catalog_volume {
	char id[CATALOG_ID_MAX];
	char *name;
	char *project;
	char *origin_path;
	uint64_t origin_size;
	char *origin_uuid; /* blkid UUID, NULL when none */
	uint32_t block_size;
	uint32_t chunk_size;
	bool tracked;
	char *last_generation; /* NULL before the first available backup */
	uint64_t last_checkpoint;
	uint64_t settled_checkpoint;
	enum catalog_volume_status status;
	char *status_reason;
	int64_t created_at;
	int64_t updated_at;
	char *metadata_path;	/* tracked: its metadata device or file, NULL unknown */
	char *origin_identity;	/* text identity of the origin, NULL unknown */
	char *full_read_reason; /* the next backup must read everything: why */
	bool imported;		/* made from an imported backup record (version 6) */
};

struct catalog_volume *catalog_volume_free(struct catalog_volume *v);
CBT_DEFINE_CLEANUP(struct catalog_volume *, catalog_volume_free, catalog_volume_freep)
void catalog_volume_array_free(struct catalog_volume **array, size_t n);

/*
 * Insert v. An empty v->id gets a new UUID; created_at and updated_at are
 * set. -EEXIST when the name or id is taken, -EINVAL for a missing name,
 * project or origin path.
 */
int catalog_volume_add(struct catalog *c, struct catalog_volume *v);

/* By id, else by name. -ENOENT when neither matches. */
int catalog_volume_get(struct catalog *c, const char *name_or_id, struct catalog_volume **ret);

/* Write every field of v but id and created_at (updated_at := now). -ENOENT. */
int catalog_volume_update(struct catalog *c, struct catalog_volume *v);

/*
 * One field of volume id, written alone so that no concurrent change of
 * the others is lost (the agent, a finishing backup). -ENOENT.
 */
int catalog_volume_set_status(struct catalog *c, const char *id, enum catalog_volume_status status,
			      const char *reason);
int catalog_volume_set_full_read_reason(struct catalog *c, const char *id, const char *reason);

/* Clear the full-read reason only if it is still `seen` (not one recorded
 * since): 1 cleared, 0 it changed meanwhile. */
int catalog_volume_clear_full_read_reason(struct catalog *c, const char *id, const char *seen);

/* Remove the record (its backups stay). -ENOENT. */
int catalog_volume_delete(struct catalog *c, const char *id);

/* Volumes of project (NULL: all), by name. */
int catalog_volume_list(struct catalog *c, const char *project, struct catalog_volume ***ret,
			size_t *ret_n);

/* Backups ---------------------------------------------------------------- */

enum catalog_backup_status {
	CATALOG_BACKUP_CREATING,
	CATALOG_BACKUP_AVAILABLE,
	CATALOG_BACKUP_DELETING,
	CATALOG_BACKUP_RESTORING,
	CATALOG_BACKUP_ERROR,
	CATALOG_BACKUP_ERROR_DELETING,
	_CATALOG_BACKUP_STATUS_MAX,
};

enum catalog_quota_state {
	CATALOG_QUOTA_RESERVED,
	CATALOG_QUOTA_COMMITTED,
	CATALOG_QUOTA_RELEASED,
	_CATALOG_QUOTA_STATE_MAX,
};

const char *catalog_backup_status_to_string(enum catalog_backup_status s);
int catalog_backup_status_from_string(const char *word, enum catalog_backup_status *ret);
const char *catalog_volume_status_to_string(enum catalog_volume_status s);
const char *catalog_quota_state_to_string(enum catalog_quota_state s);

/* A backup record; ownership of strings as for struct catalog_volume. */
struct catalog_backup {
	char id[CATALOG_ID_MAX];
	char volume_id[CATALOG_ID_MAX];
	char *project;
	char *name;
	char *description;
	enum catalog_backup_status status; /* set by the catalog only */
	char *fail_reason;
	char parent_id[CATALOG_ID_MAX]; /* "" for none */
	bool is_incremental;
	bool has_dependent_backups; /* derived, read only */
	char *container;
	enum cbt_service service;
	char *snapshot_id;
	uint64_t checkpoint; /* dm-cbt checkpoint number shipped, 0: none */
	char *generation;    /* dm-cbt generation UUID, NULL: untracked */
	uint64_t volume_size;
	uint32_t chunk_size;
	uint64_t bytes_read;
	uint64_t bytes_stored;
	uint64_t chunks_total;
	uint64_t chunks_new;
	uint64_t chunks_zero;
	uint64_t object_count;
	uint64_t quota_gigabytes;	      /* set by the catalog */
	enum catalog_quota_state quota_state; /* set by the catalog */
	int64_t data_timestamp;		      /* 0 on create: created_at */
	int64_t created_at;
	int64_t updated_at;
	int64_t started_at; /* 0: not yet */
	int64_t finished_at;
	pid_t owner_pid;
	char *owner_host;
	char *owner_boot; /* the owner's boot_id, NULL unknown */
	int64_t heartbeat_at;
	uint64_t progress_done;	 /* bytes of the running job done, */
	uint64_t progress_total; /* of these (0: none running yet) */
	char *index_root;	 /* hex root id of its index, NULL unknown (version 6) */
	char *restore_path;	 /* the destination of its restore, NULL none */
	char *restore_volume_id; /* the catalog volume that restore overwrites, NULL */
	bool restore_created;	 /* that restore created restore_path */
};

struct catalog_backup *catalog_backup_free(struct catalog_backup *b);
CBT_DEFINE_CLEANUP(struct catalog_backup *, catalog_backup_free, catalog_backup_freep)
void catalog_backup_array_free(struct catalog_backup **array, size_t n);

/* cinder's size: the volume size in GiB, rounded up. */
uint64_t catalog_size_gib(uint64_t bytes);

/*
 * Create the record of a new backup in status 'creating', in one
 * BEGIN IMMEDIATE transaction that first reserves quota for b->project:
 * one backup and catalog_size_gib(b->volume_size) gigabytes. Refused with
 * -EDQUOT (catalog_error() gives the limit, in use, reserved and requested
 * numbers) when either limit would be exceeded. A parent_id must name a
 * backup of the same volume that is in the catalog (-ENOENT otherwise).
 * Fills in b->id (when empty), status, quota fields, timestamps and owner
 * (b->owner_pid, or getpid() when 0, on this host; heartbeat now).
 */
int catalog_backup_create(struct catalog *c, struct catalog_backup *b);

/*
 * Insert the record of a backup that exists in its target (backup-import,
 * catalog-rebuild): status available, its quota committed (no limit is
 * checked: the data is stored already), every field as given (b->id
 * required; created_at 0: now). -EEXIST when the id is in the catalog. A
 * parent need not be in the catalog.
 */
int catalog_backup_import(struct catalog *c, struct catalog_backup *b);
/*
 * The same for backup-import: the project's quota is checked first, in
 * the same transaction, as for a new backup (-EDQUOT with the numbers).
 */
int catalog_backup_import_within_quota(struct catalog *c, struct catalog_backup *b);
/* Record the index root (hex) of backup id's manifest. -ENOENT. */
int catalog_backup_set_index_root(struct catalog *c, const char *id, const char *root_hex);
/*
 * Record where the restore of backup id that starts now writes: path,
 * the catalog volume it overwrites (NULL: none), and whether the restore
 * created path. -ENOENT.
 */
int catalog_backup_set_restore(struct catalog *c, const char *id, const char *path,
			       const char *volume_id, bool created);

/* By id. -ENOENT. Not scoped to a project: check b->project. */
int catalog_backup_get(struct catalog *c, const char *id, struct catalog_backup **ret);

/*
 * By id, else by name, among the backups of project (NULL: all, for an
 * admin). -ENOENT, or -ENOTUNIQ when the name is ambiguous.
 */
int catalog_backup_find(struct catalog *c, const char *name_or_id, const char *project,
			struct catalog_backup **ret);

/*
 * Write the fields the backup code fills in as it goes: name,
 * description, container, snapshot_id, is_incremental, checkpoint,
 * generation, chunk_size, the byte, chunk and object counts,
 * data_timestamp, started_at, finished_at (updated_at := now). Status,
 * quota, owner, volume, parent, project and size have their own paths.
 */
int catalog_backup_update(struct catalog *c, struct catalog_backup *b);

/* Flags of catalog_backup_set_status(). */
enum {
	CATALOG_TRANSITION_FORCE = 1 << 0, /* backup-delete --force: any -> deleting */
	CATALOG_TRANSITION_RESET = 1 << 1, /* backup-reset-state: any -> available|error */
};

/*
 * May a backup go from `from` to `to`? cinder's rules:
 *   creating  -> available | error
 *   available -> deleting | restoring
 *   restoring -> available | error
 *   deleting  -> error_deleting (or the row is removed)
 *   error     -> deleting
 * With CATALOG_TRANSITION_FORCE also anything -> deleting; with
 * CATALOG_TRANSITION_RESET anything -> available | error.
 */
bool catalog_backup_transition_allowed(enum catalog_backup_status from,
				       enum catalog_backup_status to, unsigned flags);

/*
 * Move backup id to status `to` if the rules allow it from its current
 * status (checked and written in one transaction), else -EINVAL. A
 * fail_reason, when not NULL, is stored. Quota follows: becoming available
 * commits the backup's usage; leaving 'creating' any other way releases
 * its reservation. Going from creating to available also records the
 * backup's generation and checkpoint as its volume's last ones, and as
 * settled (when the backup has a generation and the volume is in the
 * catalog).
 */
int catalog_backup_set_status(struct catalog *c, const char *id, enum catalog_backup_status to,
			      unsigned flags, const char *fail_reason);

/* Remove the row of a backup in status 'deleting' (-EINVAL otherwise). */
int catalog_backup_delete(struct catalog *c, const char *id);

/*
 * The latest available backup of a volume (the parent of an incremental):
 * greatest data_timestamp, then the last created. before > 0 only
 * considers backups whose data_timestamp < before (an incremental from a
 * snapshot taken at `before`, as cinder chooses). -ENOENT when none.
 */
int catalog_backup_latest_available(struct catalog *c, const char *volume_id, int64_t before,
				    struct catalog_backup **ret);

/* Which backups to list; every field is optional. */
struct catalog_backup_filter {
	bool admin;	       /* all projects; else project is required */
	const char *project;   /* with admin: only this project */
	const char *volume_id; /* NULL: any */
	const char *parent_id; /* NULL: any */
	bool by_status;	       /* only backups in status */
	enum catalog_backup_status status;
};

/*
 * Call cb for each matching backup, newest first; cb's record is valid
 * during the call only. A negative return of cb stops and is returned.
 * -EINVAL for a non-admin filter without a project.
 */
int catalog_backup_foreach(struct catalog *c, const struct catalog_backup_filter *filter,
			   int (*cb)(const struct catalog_backup *b, void *userdata),
			   void *userdata);

/* The same into an array (catalog_backup_array_free()). */
int catalog_backup_list(struct catalog *c, const struct catalog_backup_filter *filter,
			struct catalog_backup ***ret, size_t *ret_n);

/* The backups whose parent is id. */
int catalog_backup_children(struct catalog *c, const char *id, struct catalog_backup ***ret,
			    size_t *ret_n);

/* Owners and stale records ------------------------------------------------ */

/*
 * Is the owner process pid of boot `boot` (NULL: unknown) alive on this
 * host? Never when it ran under another boot: pids are reused.
 */
bool catalog_owner_alive(const struct catalog *c, pid_t pid, const char *boot);

/* The process pid on this host now owns backup id (heartbeat now). */
int catalog_backup_claim(struct catalog *c, const char *id, pid_t pid);

/* The owner is alive: heartbeat_at := now. */
int catalog_backup_heartbeat(struct catalog *c, const char *id);
/* The same, with the running job's progress (bytes done of total). */
int catalog_backup_progress(struct catalog *c, const char *id, uint64_t done, uint64_t total);

/*
 * Is b a stale 'creating' (or 'restoring') record: its owner is on this
 * host and its pid is gone (kill(pid, 0) fails with ESRCH), or its
 * heartbeat is older than max_age seconds (0: no age limit)? 1 stale, 0
 * not. An owner on another host is judged by its heartbeat only.
 */
int catalog_backup_is_stale(const struct catalog *c, const struct catalog_backup *b,
			    unsigned max_age);

/* The stale records among all creating and restoring backups. */
int catalog_backup_list_stale(struct catalog *c, unsigned max_age, struct catalog_backup ***ret,
			      size_t *ret_n);

/* Snapshots -------------------------------------------------------------- */

enum catalog_snapshot_status {
	CATALOG_SNAPSHOT_CREATING,
	CATALOG_SNAPSHOT_AVAILABLE,
	CATALOG_SNAPSHOT_ERROR,
	_CATALOG_SNAPSHOT_STATUS_MAX,
};

const char *catalog_snapshot_status_to_string(enum catalog_snapshot_status s);

/* A snapshot record; ownership of strings as for struct catalog_volume. */
struct catalog_snapshot {
	char id[CATALOG_ID_MAX];
	char volume_id[CATALOG_ID_MAX];
	char *project;
	char *name;
	char *description;
	enum catalog_snapshot_status status;
	char *fail_reason;
	uint64_t checkpoint;
	char *generation;
	bool holds_checkpoint;
	uint64_t volume_size;
	pid_t owner_pid;
	char *owner_host;
	char *owner_boot; /* the owner's boot_id, NULL unknown */
	int64_t created_at;
	int64_t updated_at;
};

struct catalog_snapshot *catalog_snapshot_free(struct catalog_snapshot *s);
CBT_DEFINE_CLEANUP(struct catalog_snapshot *, catalog_snapshot_free, catalog_snapshot_freep)
void catalog_snapshot_array_free(struct catalog_snapshot **array, size_t n);

/*
 * Insert s in status 'creating', owned by this process on this host. An
 * empty s->id gets a new UUID; timestamps are set. -EINVAL for a missing
 * volume or project.
 */
int catalog_snapshot_add(struct catalog *c, struct catalog_snapshot *s);

/*
 * By id, else by name among the snapshots of project (NULL: any).
 * -ENOENT, -ENOTUNIQ for an ambiguous name.
 */
int catalog_snapshot_find(struct catalog *c, const char *name_or_id, const char *project,
			  struct catalog_snapshot **ret);

/* Write status, fail_reason, checkpoint, generation, holds_checkpoint
 * (updated_at := now). -ENOENT. */
int catalog_snapshot_update(struct catalog *c, struct catalog_snapshot *s);

/* Remove the row. -ENOENT. */
int catalog_snapshot_delete(struct catalog *c, const char *id);

/* Snapshots of volume_id (NULL: any) in project (NULL: any), oldest first. */
int catalog_snapshot_list(struct catalog *c, const char *volume_id, const char *project,
			  struct catalog_snapshot ***ret, size_t *ret_n);

/* A 'creating' snapshot whose owner process on this host is gone. */
bool catalog_snapshot_is_stale(const struct catalog *c, const struct catalog_snapshot *s);

/* JSON (cinder's names) -------------------------------------------------- */

/*
 * The backup as `backup-show --format json` prints it: cinder's fields
 * (id, name, description, status, size in GiB, object_count, container,
 * availability_zone null, volume_id, snapshot_id, is_incremental,
 * has_dependent_backups, created_at, updated_at, data_timestamp,
 * fail_reason, parent_id, os-backup-project-attr:project_id) then
 * cbtship's (service, volume_size, chunk_size, checkpoint, generation,
 * bytes_read, bytes_stored, chunks_total, chunks_new, chunks_zero,
 * started_at, finished_at, owner). Times as cinder prints them
 * ("2024-01-31T12:00:00.000000", UTC), null when unset. NULL on ENOMEM.
 */
json_t *catalog_backup_to_json(const struct catalog_backup *b);

/* "YYYY-MM-DDTHH:MM:SS.uuuuuu" (UTC); buf of at least 32 bytes. */
void catalog_time_format(int64_t usec, char *buf, size_t len);

/* Quotas ----------------------------------------------------------------- */

struct catalog_quota {
	int64_t backups_limit; /* CATALOG_UNLIMITED: no limit */
	int64_t gigabytes_limit;
	bool is_default; /* the project has no row: handle defaults */
	uint64_t backups_in_use;
	uint64_t backups_reserved;
	uint64_t gigabytes_in_use;
	uint64_t gigabytes_reserved;
};

/* Limits of projects without their own (cinder's 10 and 1000 initially). */
void catalog_quota_set_defaults(struct catalog *c, int64_t backups_limit, int64_t gigabytes_limit);

/* Limits and usage of project. */
int catalog_quota_get(struct catalog *c, const char *project, struct catalog_quota *ret);

/* Set a project's limits (CATALOG_QUOTA_KEEP leaves one as it is, -1 is
 * unlimited); -EINVAL below -1. */
int catalog_quota_set(struct catalog *c, const char *project, int64_t backups_limit,
		      int64_t gigabytes_limit);

/* Jobs ------------------------------------------------------------------- */

enum catalog_job_kind {
	CATALOG_JOB_BACKUP,
	CATALOG_JOB_RESTORE,
	_CATALOG_JOB_KIND_MAX,
};

enum catalog_job_state {
	CATALOG_JOB_QUEUED,
	CATALOG_JOB_RUNNING,
	CATALOG_JOB_DONE,
	CATALOG_JOB_FAILED,
	CATALOG_JOB_CANCELLED,
	_CATALOG_JOB_STATE_MAX,
};

const char *catalog_job_kind_to_string(enum catalog_job_kind k);
const char *catalog_job_state_to_string(enum catalog_job_state s);

struct catalog_job {
	int64_t id;
	enum catalog_job_kind kind;
	char backup_id[CATALOG_ID_MAX];
	enum catalog_job_state state;
	pid_t pid; /* 0 until running */
	char *host;
	uint64_t bytes_done;
	uint64_t bytes_total;
	bool cancel_requested;
	char *error;
	int64_t created_at;
	int64_t started_at;
	int64_t updated_at;
	int64_t finished_at;
};

struct catalog_job *catalog_job_free(struct catalog_job *j);
CBT_DEFINE_CLEANUP(struct catalog_job *, catalog_job_free, catalog_job_freep)

/* Queue a job on backup_id, waited on by this process (pid, host and boot
 * recorded at once). -ENOENT when no such backup. */
int catalog_job_add(struct catalog *c, enum catalog_job_kind kind, const char *backup_id,
		    int64_t *ret_id);

int catalog_job_get(struct catalog *c, int64_t id, struct catalog_job **ret);

/* The newest job on backup_id that is queued or running. -ENOENT. */
int catalog_job_get_active(struct catalog *c, const char *backup_id, struct catalog_job **ret);

/*
 * Take the oldest queued job for process pid on this host, unless
 * max_running jobs already run here (their pids alive): -EAGAIN then,
 * -ENOENT when nothing is queued. One transaction, so two workers never
 * take the same job.
 */
int catalog_job_claim_next(struct catalog *c, unsigned max_running, pid_t pid, int64_t *ret_id);

/* The newest job on backup_id, in any state. -ENOENT. */
int catalog_job_get_last(struct catalog *c, const char *backup_id, struct catalog_job **ret);

/*
 * Start queued job id in process pid, in turn: -EAGAIN while max_running
 * jobs run on this host (their pids alive) or an older queued job waits
 * here in a live process; -ECANCELED when the job is no longer queued
 * (cancelled). One transaction.
 */
int catalog_job_start(struct catalog *c, int64_t id, unsigned max_running, pid_t pid);

/* The process (on this host) that waits on or runs job id. -ENOENT. */
int catalog_job_set_pid(struct catalog *c, int64_t id, pid_t pid);

/* End as failed the queued and running jobs of this host whose process
 * is gone; *ret_n (when not NULL) counts them. */
int catalog_job_reap(struct catalog *c, unsigned *ret_n);

/* Progress of a running job; also the heartbeat and progress of its backup. */
int catalog_job_progress(struct catalog *c, int64_t id, uint64_t bytes_done, uint64_t bytes_total);

/* Ask a queued or running job to stop (a queued one is cancelled at once). */
int catalog_job_request_cancel(struct catalog *c, int64_t id);

/* 1 when the job should stop: cancel requested, or the job is gone. */
int catalog_job_should_stop(struct catalog *c, int64_t id);

/* End a running (or queued) job: done, failed or cancelled. -EINVAL else. */
int catalog_job_finish(struct catalog *c, int64_t id, enum catalog_job_state state,
		       const char *error);

/* Workers: heartbeats of this host's agent and job workers --------------- */

struct catalog_worker {
	char *host;
	char *binary; /* "cbtship-backup" */
	pid_t pid;    /* the last process that beat */
	char *version;
	int64_t started_at;
	int64_t heartbeat_at;
};

struct catalog_worker *catalog_worker_free(struct catalog_worker *w);
CBT_DEFINE_CLEANUP(struct catalog_worker *, catalog_worker_free, catalog_worker_freep)
void catalog_worker_array_free(struct catalog_worker **array, size_t n);

/* binary on this host, process getpid(), is alive now (heartbeat_at := now;
 * started_at := now when another process beat last). */
int catalog_worker_heartbeat(struct catalog *c, const char *binary, const char *version);

/* Every worker of every host, by host and binary. */
int catalog_worker_list(struct catalog *c, struct catalog_worker ***ret, size_t *ret_n);

/* Garbage: containers a collection should visit ----------------------------- */

struct catalog_garbage {
	enum cbt_service service;
	char *container;
	int64_t seq;
	int64_t marked_at;
};

struct catalog_garbage *catalog_garbage_free(struct catalog_garbage *g);
void catalog_garbage_array_free(struct catalog_garbage **array, size_t n);

/* container of service may hold garbage (seq + 1, marked_at := now). */
int catalog_garbage_mark(struct catalog *c, enum cbt_service service, const char *container);

/* The marked containers, oldest mark first. */
int catalog_garbage_list(struct catalog *c, struct catalog_garbage ***ret, size_t *ret_n);

/* The mark of container, if any: 1 (*ret_seq set) or 0. */
int catalog_garbage_get(struct catalog *c, enum cbt_service service, const char *container,
			int64_t *ret_seq);

/* A collection that started at mark seq finished: clear it unless marked again since. */
int catalog_garbage_clear(struct catalog *c, enum cbt_service service, const char *container,
			  int64_t seq);

#endif
