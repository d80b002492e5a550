/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbtship agent: the host's long-running service. At start it re-creates
 * the tracked volumes the catalog records (reattach.c) and settles what
 * dead processes left (reap.c); then it beats the host's heartbeat, keeps
 * reaping, and turns the target's invalidation and metadata-error events
 * into the volumes' full_read_reason (volume-events.c). agent-log.c is its
 * log: a file (reopened on SIGHUP) or stderr.
 */
#ifndef CBTSHIP_AGENT_H
#define CBTSHIP_AGENT_H

#include <stdbool.h>
#include <sys/types.h>

#include "cbtship/catalog/catalog.h"
#include "libcbt.h"

/* The log ------------------------------------------------------------------ */

struct agent_log;

/* Append to path (made if missing; NULL: stderr). 0 or -errno. */
int agent_log_new(const char *path, struct agent_log **ret);
struct agent_log *agent_log_free(struct agent_log *l);
CBT_DEFINE_CLEANUP(struct agent_log *, agent_log_free, agent_log_freep)

/* Reopen the file (logrotate moved it). 0 or -errno (the old one stays). */
int agent_log_reopen(struct agent_log *l);

/* Errors also go to stderr when the log is a file (for --once). */
void agent_log_set_echo_errors(struct agent_log *l, bool echo);

/* One timestamped line (a file) or "cbtship agent: ..." (stderr). */
void agent_log_info(struct agent_log *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void agent_log_error(struct agent_log *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Re-attaching at start ---------------------------------------------------- */

struct agent_reattach_counts {
	unsigned reattached; /* re-created over their origin */
	unsigned already;    /* already tracked */
	unsigned refused;    /* status error now, with the reason */
};

/*
 * Every volume with tracked=1 and a metadata path: re-create it without
 * formatting its metadata (the persisted maps continue), or leave it when
 * it is tracked already; refuse a missing origin or one whose identity
 * changed. One log line per volume; the catalog's status says the outcome.
 * 0, or a negative errno when the catalog cannot be read.
 */
int agent_reattach_all(struct catalog *c, struct agent_log *log, struct agent_reattach_counts *ret);

/* Reaping ------------------------------------------------------------------ */

/*
 * End the jobs of this host whose worker is gone, and settle the creating
 * and restoring backups whose process died (tracked volumes through
 * cbt_tracked_recover(), which also removes their views and settles the
 * outstanding checkpoint).
 */
void agent_reap(struct catalog *c, struct agent_log *log);

/* Collection --------------------------------------------------------------- */

/*
 * When the catalog marks containers as holding garbage and *child is not
 * running: fork a process that collects them (repo/gc.h), its pid in
 * *child. agent_collect_reap() notes its end (wait: stop it and wait, at
 * exit).
 */
void agent_collect_start(struct catalog *c, struct agent_log *log, pid_t *child);
void agent_collect_reap(struct agent_log *log, pid_t *child, bool wait);

/* Events ------------------------------------------------------------------- */

/*
 * An event of the target: an invalidation or a metadata error on a volume
 * of the catalog sets its full_read_reason (what, when) and is logged.
 * Other events are ignored.
 */
void agent_volume_event(struct catalog *c, struct agent_log *log, const struct cbt_event *e);

/*
 * The events may have been missed (the agent was not running, or the
 * socket overflowed): look at the state of every tracked volume instead,
 * and set full_read_reason for one that is invalid or in error.
 */
void agent_volume_check_states(struct catalog *c, struct agent_log *log);

/*
 * Is the system shutting down (systemd's SystemState "stopping")? Then the
 * agent, stopped, announces the detaches the shutdown makes (it removes the
 * dm devices), so that the history survives the reboot; stopped at any
 * other time it does not, because a later teardown by someone else must
 * still start a new history. $CBTSHIP_AGENT_SHUTDOWN=1 or 0 overrides the
 * question (tests, and hosts without systemd).
 */
bool agent_system_stopping(struct agent_log *log);

/* prepare_detach to every tracked volume of the catalog with a cbt device. */
void agent_prepare_detach_all(struct catalog *c, struct agent_log *log);

#endif
