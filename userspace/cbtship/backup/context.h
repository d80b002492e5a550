/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every backup command needs from its environment: the catalog (at
 * $CBTSHIP_CATALOG, default <state dir>/catalog.db), the project it acts
 * for ($OS_PROJECT_NAME, default CBTSHIP_PROJECT_DEFAULT), the log file
 * (<state dir>/log/cbtship.log) and a progress line on a terminal.
 */
#ifndef CBTSHIP_BACKUP_CONTEXT_H
#define CBTSHIP_BACKUP_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "cbtship/catalog/catalog.h"
#include "cbtship/config/config.h"

#define CBTSHIP_CATALOG_ENV	"CBTSHIP_CATALOG"
#define CBTSHIP_PROJECT_ENV	"OS_PROJECT_NAME"
#define CBTSHIP_PROJECT_DEFAULT "admin"

/*
 * The configuration main() loaded (cbtship_config_set()), or the built-in
 * defaults when none was (NULL only if even those cannot be allocated).
 */
const struct cbt_config *cbtship_config(void);
void cbtship_config_set(struct cbt_config *config);
/* The same, to change an option for this run (a command-line override). */
struct cbt_config *cbtship_config_mutable(void);

/* The backup service of the configuration's backup_driver. */
enum cbt_service cbtship_configured_service(void);

/* The project: --os-project-name, else $OS_PROJECT_NAME, else "admin". */
void cbtship_project_set(const char *project);

/*
 * Open the catalog ($CBTSHIP_CATALOG, else the configuration's catalog);
 * on failure print why (prefixed by command) and return < 0.
 */
int cbtship_catalog_open(const char *command, struct catalog **ret);

const char *cbtship_project(void);

/* Append one line to the log file (best effort: a log that cannot be
 * written never fails a backup). */
void cbtship_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A progress line, redrawn in place on a terminal (stderr), nothing otherwise. */
void cbtship_progress(const char *what, uint64_t done, uint64_t total, double seconds);
/* End the progress line (a newline when one was drawn). */
void cbtship_progress_done(void);

/* Seconds since an arbitrary start (CLOCK_MONOTONIC). */
double cbtship_seconds(void);

/* "1.5 GiB" */
const char *cbtship_bytes(uint64_t bytes, char *buf, size_t len);

#endif
