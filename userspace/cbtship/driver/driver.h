/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backup-driver interface between the commands and the back ends,
 * after nbdkit's plugin struct and cinder's BackupDriver: a driver fills
 * one small versioned struct of callbacks and the registry
 * (driver/service.h, cbt_service_driver()) names the driver of each back
 * end. Two drivers: "chunked" (driver/chunked/: POSIX, NFS and Swift
 * through the object stores and the repository format: manifests,
 * packs, leases, garbage marks) and "ceph" (driver/ceph/: one RBD image
 * per volume, one snapshot per backup).
 *
 * Errors are struct cbt_error (error.h): the command prints the message
 * and decides on the kind. A callback documented as printing prints its
 * own lines, prefixed "cbtship COMMAND: ", as the commands always did.
 *
 * Version 1 covers service-list, reset-state's check, restore, verify,
 * delete and import's check (export and catalog-rebuild go by the
 * flags); backup-create still calls its back end itself
 * (backup/backup-create.c) and moves here next.
 */
#ifndef CBTSHIP_DRIVER_DRIVER_H
#define CBTSHIP_DRIVER_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "cbtship/catalog/catalog.h"
#include "cbtship/cli/output.h"
#include "cbtship/driver/service.h"
#include "cbtship/error.h"
#include "cbtship/pipeline/restore-pipeline.h"
#include "cbtship/repo/manifest.h"

#define CBT_DRIVER_VERSION 1

/* What a driver can do (struct cbt_driver.flags). */
enum {
	CBT_DRIVER_ENCRYPTS = 1u << 0,	      /* backups sealed with the repository key */
	CBT_DRIVER_DEDUPLICATES = 1u << 1,    /* a chunk stored once per container */
	CBT_DRIVER_SELF_DESCRIBING = 1u << 2, /* manifests in the store: catalog-rebuild */
	CBT_DRIVER_COLLECTS = 1u << 3,	      /* delete leaves garbage for backup-collect */
	CBT_DRIVER_INDEXED = 1u << 4,	      /* a backup has an index tree; its record, the root */
};

/* One backup opened for reading (restore), the driver's. */
struct cbt_driver_reader;

/* What a restore writes to. */
struct cbt_driver_restore {
	int fd;
	const char *destination; /* its path, for messages */
	bool sparse;		 /* fd is a new file of the volume's size: holes may stay */
	unsigned workers;	 /* 0: the driver's choice */
	cbt_restore_tick_fn tick;
	void *userdata;
};

/* What a delete did, for the log and the operator (static or the driver's strings). */
struct cbt_driver_deleted {
	char log[512];	/* "container X marked for collection" */
	char user[512]; /* "the space of the chunks ... (backup-collect)" */
};

struct cbt_driver {
	int version;	   /* CBT_DRIVER_VERSION */
	const char *name;  /* "chunked", "ceph" */
	const char *title; /* "Ceph": the back end's name in the operator's sentences */
	unsigned flags;	   /* CBT_DRIVER_* */
	/* Without CBT_DRIVER_COLLECTS: why backup-collect has nothing to do. */
	const char *no_garbage;

	/*
	 * service-list: describe the configured target of service in
	 * target, and say whether it answers now. 0, or a negative errno
	 * with *err saying why not.
	 */
	int (*ping)(enum cbt_service service, char *target, size_t tlen, struct cbt_error *err);

	/*
	 * reset-state: does the back end hold b as its record describes?
	 * (See cbtship_backup_check_stored().) 0, with *ret_root_hex the
	 * index root it holds when the driver has one (else NULL), or a
	 * negative errno with *err.
	 */
	int (*check_stored)(const struct catalog_backup *b, char **ret_root_hex,
			    struct cbt_error *err);

	/*
	 * restore: open b for reading before the destination is touched
	 * (prints why not). release() drops what a fork must not inherit
	 * (before a background worker detaches), reacquire() takes it again
	 * in the worker (prints why not). restore() writes the volume.
	 */
	int (*open_reader)(const char *command, const struct catalog_backup *b,
			   struct cbt_driver_reader **ret);
	void (*release)(struct cbt_driver_reader *rd);
	int (*reacquire)(const char *command, struct cbt_driver_reader *rd);
	int (*restore)(struct cbt_driver_reader *rd, const struct cbt_driver_restore *to,
		       struct cbt_restore_progress *progress, struct cbt_error *err);
	void (*close_reader)(struct cbt_driver_reader *rd);

	/*
	 * backup-verify: read b back and check what the back end can
	 * check; prints the result in format (the shapes differ: chunks
	 * and their problems, or the extents of a snapshot). The command's
	 * exit status.
	 */
	int (*verify)(const struct catalog_backup *b, enum cbtship_format format);

	/*
	 * backup-import: does the back end hold the backup manifest m
	 * describes (its manifest there field for field, or its snapshot)?
	 * 0, or a negative errno with *err.
	 */
	int (*holds)(const struct cbt_manifest *m, struct cbt_error *err);
	/*
	 * backup-import: may a record of service name container here? When
	 * not, *ret_rule says what a container of the configured back end is.
	 */
	bool (*container_allowed)(enum cbt_service service, const char *container,
				  const char **ret_rule);

	/*
	 * backup-delete: remove b from the back end (the catalog record is
	 * the command's), so that nothing of it looks restorable. 0 with
	 * *done filled, or a negative errno with *err.
	 */
	int (*delete)(struct catalog *c, const struct catalog_backup *b,
		      struct cbt_driver_deleted *done, struct cbt_error *err);
};

extern const struct cbt_driver cbt_chunked_driver;
extern const struct cbt_driver cbt_ceph_driver;

/* The driver of a back end (never NULL for a valid service; NULL else). */
const struct cbt_driver *cbt_service_driver(enum cbt_service s);

#endif
