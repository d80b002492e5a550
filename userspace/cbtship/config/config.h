/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbtship's configuration file: one INI file (libinih), with cinder's
 * option names where cinder has the option.
 *
 * Which file (cbt_config_load()):
 *   - the path passed in, else $CBTSHIP_CONFIG when set and not empty:
 *     an explicit file, so a missing one is an error (-ENOENT);
 *   - else CBT_CONFIG_DEFAULT_PATH, which may be missing (then every
 *     option has its built-in default).
 *
 * Sections: [DEFAULT] (where cinder.conf puts its backup options) and
 * [cbtship]. Both may set any option; a value in [cbtship] wins over one
 * in [DEFAULT] wherever the sections sit in the file. Within a section a
 * repeated option takes its last value (as oslo.config does). Any other
 * section, an option outside a section, an unknown option name, a bad
 * value, a line without '=' and a line longer than CBT_CONFIG_LINE_MAX
 * are errors, each reported as "FILE:LINE: ..." naming the option and
 * what it allows. All errors of a file are reported together (one per
 * line of the message), not only the first. Leading whitespace is
 * ignored: there are no multi-line values. Comments are lines starting
 * with '#' or ';', and " ;" starts a comment at the end of a line (so a
 * value cannot contain " ;").
 *
 * Values:
 *   booleans  true/false, yes/no, on/off, 1/0 (any case);
 *   integers  decimal, nothing after the digits, range-checked;
 *   sizes     bytes, or with a binary unit: 32768, 32K, 50M, 2G;
 *   paths     absolute in a file; "$state_path" or "${state_path}" in a
 *             path stands for the state_path option (cinder's
 *             interpolation, e.g. backup_posix_path = $state_path/backup);
 *   strings   an empty value leaves an option without default unset.
 *
 * Secrets (backup_swift_key): a file that sets one must not be accessible
 * by group or others (mode & 077 == 0), or the load fails with -EACCES and
 * a message naming the file and its mode. Secrets are wiped
 * (explicit_bzero) when the configuration is freed or the value replaced,
 * and cbt_config_dump() shows them as "***".
 *
 * Options taken from cinder but without effect in cbtship are accepted
 * and shown by cbt_config_dump() as "ignored" (see etc/cbtship.conf):
 * cbtship writes one object per chunk, so cinder's object and file sizes
 * (backup_file_size, backup_swift_object_size, backup_ceph_chunk_size)
 * have nothing to bound; backup_swift_block_size,
 * backup_swift_enable_progress_timer, backup_ceph_stripe_unit and
 * backup_ceph_stripe_count likewise. backup_sha_block_size_bytes, the
 * unit cinder compares between incremental backups, is cbtship's chunk
 * size (the same idea, and the same 32 KiB default): it applies to a
 * volume's first backup, as --chunk-size does.
 *
 * Every function returns 0 or a negative errno; on failure *ret_error /
 * *err (when not NULL) receives a malloc()ed message for the operator.
 */
#ifndef CBTSHIP_CONFIG_CONFIG_H
#define CBTSHIP_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cbt-cleanup.h"
#include "cbtship/compress/compression.h"
#include "cbtship/driver/service.h"

#define CBT_CONFIG_DEFAULT_PATH "/etc/cbtship/cbtship.conf"
#define CBT_CONFIG_ENV		"CBTSHIP_CONFIG"
#define CBT_CONFIG_LINE_MAX	197	      /* characters of one line (libinih's buffer) */
#define CBT_CONFIG_FILE_MAX	(1024 * 1024) /* a larger file is refused (-EFBIG) */

/* backup_swift_auth. */
enum cbt_swift_auth {
	CBT_SWIFT_AUTH_PER_USER,
	CBT_SWIFT_AUTH_SINGLE_USER,
	_CBT_SWIFT_AUTH_MAX,
};

/*
 * The effective configuration. Fields are named after their options and
 * are read-only for the caller: change them with cbt_config_set(). An
 * unset optional string is NULL. Paths have "$state_path" expanded.
 */
struct cbt_config {
	char *path; /* the file read; NULL when none (built-in defaults) */

	/* General (cinder's [DEFAULT] backup options, and cbtship's own). */
	enum cbt_service backup_driver; /* default posix */
	char *backup_container;		/* posix/nfs container; "volumebackups" */
	char *backup_posix_path;	/* $state_path/backup */
	enum cbt_compression backup_compression_algorithm; /* zstd */
	int backup_workers; /* jobs at once on this host; default online CPUs; 1..1024 */
	int backup_native_threads_pool_size;  /* threads of one job; default online CPUs */
	uint64_t backup_file_size;	      /* ignored (cinder's 1999994880) */
	uint64_t backup_posix_pack_size;      /* pack size on POSIX and NFS */
	uint64_t backup_sha_block_size_bytes; /* chunk size: 32768, 4K..16M, 2^n */
	bool backup_enable_progress_timer;    /* true */
	int backup_timer_interval;	      /* seconds, 120; 1..86400 */
	char *state_path;		      /* cbtship_state_dir() */
	char *catalog;			      /* $state_path/catalog.db */
	int64_t quota_backups;		      /* 10; -1 unlimited */
	int64_t quota_backup_gigabytes;	      /* 1000; -1 unlimited */
	char *host;			      /* default gethostname() */
	int report_interval;		      /* seconds between the agent's heartbeats: 10 */
	int service_down_time;		      /* a worker silent this long (seconds, 60) is down */
	char *backup_events_file;	      /* JSON-line notifications; NULL none */
	char *backup_encryption_key_file;     /* NULL: no encryption */
	/* Leases in the store and collection (repo/lease.h, repo/gc.h). */
	int backup_lease_refresh_interval; /* seconds between a lease's refreshes: 30 */
	int backup_lease_stale_time;	   /* a lease not refreshed this long is stale: 300 */
	int backup_collect_settle_time;	   /* a collection's wait after its lease: 5 */
	int backup_collect_interval;	   /* the agent's collections, seconds: 600; 0 none */
	int backup_collect_max_unused;	   /* % of pack bytes left unused before rewriting: 5 */

	/* Swift (cinder.backup.drivers.swift). */
	char *backup_swift_url;
	char *backup_swift_auth_url;
	enum cbt_swift_auth backup_swift_auth; /* per_user */
	int backup_swift_auth_version;	       /* 1 or 3 (2 refused); default 1 */
	char *backup_swift_user;
	char *backup_swift_key; /* secret */
	char *backup_swift_tenant;
	char *backup_swift_project;
	char *backup_swift_project_domain;
	char *backup_swift_user_domain;
	char *backup_swift_container;		  /* "volumebackups" */
	char *backup_swift_create_storage_policy; /* X-Storage-Policy of a new container */
	int backup_swift_retry_attempts;	  /* 3 */
	int backup_swift_retry_backoff;		  /* seconds, 2 */
	int backup_swift_timeout; /* cbtship's: seconds to connect, or without progress; 60 */
	char *backup_swift_ca_cert_file;
	bool backup_swift_auth_insecure;	 /* false */
	uint64_t backup_swift_object_size;	 /* pack size on Swift (cinder's 52428800) */
	uint64_t backup_swift_block_size;	 /* ignored (cinder's 32768) */
	bool backup_swift_enable_progress_timer; /* ignored (true) */

	/* Ceph (cinder.backup.drivers.ceph, rados_connect_timeout from rbd). */
	char *backup_ceph_conf;		  /* "/etc/ceph/ceph.conf" */
	char *backup_ceph_user;		  /* "cinder" */
	char *backup_ceph_pool;		  /* "backups" */
	uint64_t backup_ceph_chunk_size;  /* ignored (cinder's 128 MiB) */
	uint64_t backup_ceph_stripe_unit; /* ignored (0) */
	int backup_ceph_stripe_count;	  /* ignored (0) */
	int rados_connect_timeout;	  /* seconds; -1: librados' default */

	/* NFS (cinder.backup.drivers.nfs). */
	char *backup_share;	       /* HOST:/EXPORT, [IPV6]:/EXPORT */
	char *backup_mount_options;    /* mount -o */
	char *backup_mount_point_base; /* $state_path/backup_mount */

	struct cbt_config_private *priv; /* origins and raw values: config.c only */
};

/* Built-in defaults only, no file. */
int cbt_config_new(struct cbt_config **ret);

/*
 * Read the configuration file (see above for which one) over the
 * defaults. -ENOENT (explicit file missing), -EACCES (a secret in a file
 * others may read, or the file unreadable), -EINVAL (bad values, unknown
 * options or sections, syntax), -EOPNOTSUPP (a value cinder knows that
 * cbtship does not implement: bz2, Swift auth 2, another cinder driver),
 * -EFBIG, -ENOMEM, -EIO.
 */
int cbt_config_load(const char *path, struct cbt_config **ret, char **ret_error);

/*
 * The same for a configuration text held in memory (len bytes, no NUL
 * needed), named name in messages, as if read from a file of this mode
 * (a secret with group or others access is -EACCES). Nothing else is
 * read: no file, no $CBTSHIP_CONFIG.
 */
int cbt_config_parse(const char *name, const void *data, size_t len, mode_t mode,
		     struct cbt_config **ret, char **ret_error);

/* Wipes the secrets. Returns NULL. */
struct cbt_config *cbt_config_free(struct cbt_config *c);
CBT_DEFINE_CLEANUP(struct cbt_config *, cbt_config_free, cbt_config_freep)

/*
 * Set option name to value as a file would, with the same validation but
 * relative paths allowed; origin says where it came from (e.g.
 * "--container") and is shown by cbt_config_dump(). Overrides the file.
 * value NULL or "" unsets an optional string, or restores a default.
 * -ENOENT (no such option), -EINVAL, -EOPNOTSUPP, -ENOMEM; *err names
 * origin, the option and what it allows. Setting state_path moves the
 * defaults derived from it.
 */
int cbt_config_set(struct cbt_config *c, const char *name, const char *value, const char *origin,
		   char **err);

/*
 * Where option name's value came from: "default", "FILE:LINE" or the
 * origin given to cbt_config_set(); NULL for no such option.
 */
const char *cbt_config_origin(const struct cbt_config *c, const char *name);

/* Whether name is an option (the names are the struct's field names). */
bool cbt_config_option_exists(const char *name);

/*
 * The default container of the configured driver: backup_container
 * (posix, nfs), backup_swift_container (swift), backup_ceph_pool (ceph),
 * as cinder's drivers use them.
 */
const char *cbt_config_container(const struct cbt_config *c);

/*
 * Check that the configured driver has what it needs (nfs: backup_share;
 * swift: backup_swift_url or backup_swift_auth_url, and single_user:
 * backup_swift_auth_url and backup_swift_user; auth version 3:
 * backup_swift_project). Not done by load, so that an incomplete file can
 * still be shown. 0 or -EINVAL with *err.
 */
int cbt_config_check_driver(const struct cbt_config *c, char **err);

/* "per_user"/"single_user"; NULL when out of range (backup_driver: cbt_service_to_string). */
const char *cbt_swift_auth_to_string(enum cbt_swift_auth a);

/*
 * Write the effective configuration: every option, its value and its
 * origin, secrets as "***". Text is an INI file that loads back (with
 * "; origin" comments, unset options as "# name = (unset; origin)"); json is one object
 * {"file": PATH|null, "options": {NAME: {"value": V, "origin": O,
 * "ignored": true (only when so), "secret": true (only when so)}}} with
 * typed values (numbers, booleans, strings, null when unset). 0, -EIO,
 * -ENOMEM.
 */
int cbt_config_dump(const struct cbt_config *c, FILE *out, bool json);

#endif
