/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The declaration of cbtship.conf's options: each back end declares its own
 * in a table beside it (store/swift/, driver/ceph/, store/nfs/), the general
 * ones are in config.c, and config.c's parser registers them all, in the
 * order of etc/cbtship.conf and of the dumps.
 */
#ifndef CBTSHIP_CONFIG_CONFIG_OPTION_H
#define CBTSHIP_CONFIG_CONFIG_OPTION_H

#include <stddef.h>
#include <stdint.h>

#include "cbtship/config/config.h"

enum cbt_config_type {
	T_STR,		   /* any text; empty unsets */
	T_PATH,		   /* absolute (in a file), $state_path expanded */
	T_URL,		   /* http:// or https:// */
	T_SHARE,	   /* HOST:/EXPORT */
	T_CONTAINER,	   /* posix/nfs container */
	T_SWIFT_CONTAINER, /* Swift container name */
	T_HOST,		   /* host name */
	T_BOOL,
	T_INT,	 /* int field */
	T_I64,	 /* int64_t field */
	T_SIZE,	 /* uint64_t field, units allowed */
	T_CHUNK, /* uint64_t field, power of two 4K..16M */
	T_DRIVER,
	T_COMPRESSION,
	T_SWIFT_AUTH,
	T_AUTH_VERSION, /* int field: 1 or 3 */
};

#define F_SECRET   (1u << 0) /* masked in dumps, wiped, file must be private */
#define F_IGNORED  (1u << 1) /* accepted for cinder's sake, no effect */
#define F_COMPUTED (1u << 2) /* default computed at run time (default_text()) */
#define F_EMPTY_OK (1u << 3) /* an empty value unsets it despite a default */

struct cbt_config_option {
	const char *name; /* NULL ends a table */
	enum cbt_config_type type;
	size_t offset;	 /* of its field in struct cbt_config */
	const char *def; /* default as text; NULL: unset (or F_COMPUTED) */
	int64_t min, max;
	unsigned flags;
	const char *group; /* its heading in the dumps */
};

#define CBT_CONFIG_OFF(field) offsetof(struct cbt_config, field)

#define G_GENERAL "General"
#define G_SWIFT	  "Swift (backup_driver = swift)"
#define G_CEPH	  "Ceph (backup_driver = ceph)"
#define G_NFS	  "NFS (backup_driver = nfs)"

/* The back ends' tables (each ends with a NULL name). */
extern const struct cbt_config_option cbt_swift_config_options[];
extern const struct cbt_config_option cbt_ceph_config_options[];
extern const struct cbt_config_option cbt_nfs_config_options[];

#endif
