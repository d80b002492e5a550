/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Jobs: queued and running backups and restores, their progress and cancel. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "cbtship/catalog/catalog-internal.h"

#define JOB_COLUMNS                                                                         \
	"id, kind, backup_id, state, pid, host, bytes_done, bytes_total, cancel_requested," \
	" error, created_at, started_at, updated_at, finished_at"

struct catalog_job *catalog_job_free(struct catalog_job *j)
{
	if (!j)
		return NULL;
	free(j->host);
	free(j->error);
	free(j);
	return NULL;
}

static int job_from_row(sqlite3_stmt *s, struct catalog_job **ret)
{
	_cleanup_(catalog_job_freep) struct catalog_job *j = calloc(1, sizeof(*j));
	int e;

	if (!j)
		return -ENOMEM;
	if (catalog_column_strdup(s, 5, &j->host) < 0 || catalog_column_strdup(s, 9, &j->error) < 0)
		return -ENOMEM;
	j->id = sqlite3_column_int64(s, 0);
	e = catalog_job_kind_from_string((const char *)sqlite3_column_text(s, 1));
	j->kind = e < 0 ? CATALOG_JOB_BACKUP : (enum catalog_job_kind)e;
	catalog_column_id(s, 2, j->backup_id);
	e = catalog_job_state_from_string((const char *)sqlite3_column_text(s, 3));
	j->state = e < 0 ? CATALOG_JOB_FAILED : (enum catalog_job_state)e;
	j->pid = (pid_t)sqlite3_column_int64(s, 4);
	j->bytes_done = catalog_column_u64(s, 6);
	j->bytes_total = catalog_column_u64(s, 7);
	j->cancel_requested = sqlite3_column_int(s, 8) != 0;
	j->created_at = sqlite3_column_int64(s, 10);
	j->started_at = sqlite3_column_int64(s, 11);
	j->updated_at = sqlite3_column_int64(s, 12);
	j->finished_at = sqlite3_column_int64(s, 13);
	*ret = TAKE_PTR(j);
	return 0;
}

int catalog_job_add(struct catalog *c, enum catalog_job_kind kind, const char *backup_id,
		    int64_t *ret_id)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	if (!catalog_job_kind_to_string(kind))
		return catalog_fail(c, -EINVAL, "bad job kind %d", (int)kind);
	r = catalog_prepare(
		c,
		"INSERT INTO jobs (kind, backup_id, state, pid, host, boot_id, created_at,"
		" updated_at) SELECT :kind, id, 'queued', :pid, :host, :boot, :now, :now"
		" FROM backups WHERE id = :backup",
		&s);
	if (r < 0)
		return r;
	b = (struct catalog_binder){ c, s, 0 };
	catalog_bind_text(&b, ":kind", catalog_job_kind_to_string(kind));
	catalog_bind_int64(&b, ":pid", getpid());
	catalog_bind_text(&b, ":host", c->host);
	catalog_bind_text(&b, ":boot", c->boot_id[0] ? c->boot_id : NULL);
	catalog_bind_int64(&b, ":now", catalog_now());
	catalog_bind_text(&b, ":backup", backup_id);
	r = catalog_bound_step(&b);
	if (r < 0)
		return r;
	if (sqlite3_changes(c->db) == 0)
		return catalog_fail(c, -ENOENT, "no backup %s in the catalog", backup_id);
	if (ret_id)
		*ret_id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

static int job_query(struct catalog *c, const char *sql, const char *text, int64_t id,
		     struct catalog_job **ret)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c, sql, &s, &b);
	if (r < 0)
		return r;
	if (text)
		catalog_bind_text(&b, ":key", text);
	else
		catalog_bind_int64(&b, ":key", id);
	r = catalog_bound_step(&b);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	return job_from_row(s, ret);
}

int catalog_job_get(struct catalog *c, int64_t id, struct catalog_job **ret)
{
	int r = job_query(c, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = :key", NULL, id, ret);

	if (r == -ENOENT)
		return catalog_fail(c, r, "no job %lld in the catalog", (long long)id);
	return r;
}

int catalog_job_get_active(struct catalog *c, const char *backup_id, struct catalog_job **ret)
{
	int r = job_query(c,
			  "SELECT " JOB_COLUMNS " FROM jobs WHERE backup_id = :key"
			  " AND state IN ('queued', 'running') ORDER BY id DESC LIMIT 1",
			  backup_id, 0, ret);

	if (r == -ENOENT)
		return catalog_fail(c, r, "backup %s has no queued or running job", backup_id);
	return r;
}

int catalog_job_get_last(struct catalog *c, const char *backup_id, struct catalog_job **ret)
{
	int r = job_query(c,
			  "SELECT " JOB_COLUMNS " FROM jobs WHERE backup_id = :key"
			  " ORDER BY id DESC LIMIT 1",
			  backup_id, 0, ret);

	if (r == -ENOENT)
		return catalog_fail(c, r, "backup %s has no job", backup_id);
	return r;
}

/* Running jobs of this host whose process is alive. */
static int count_running_locked(struct catalog *c, unsigned *ret)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	unsigned n = 0;
	int r;

	r = catalog_prepare_bind(
		c, "SELECT pid, boot_id FROM jobs WHERE state = 'running' AND host = :host", &s,
		&b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":host", c->host);
	if (b.r < 0)
		return b.r;
	while ((r = catalog_step(c, s)) > 0)
		if (catalog_owner_alive(c, (pid_t)sqlite3_column_int64(s, 0),
					(const char *)sqlite3_column_text(s, 1)))
			n++;
	if (r < 0)
		return r;
	*ret = n;
	return 0;
}

/* Job id runs now, in process pid of this host and boot. */
static int mark_running_locked(struct catalog *c, int64_t id, pid_t pid)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int64_t now = catalog_now();
	int r;

	r = catalog_prepare_bind(
		c,
		"UPDATE jobs SET state = 'running', pid = :pid, host = :host,"
		" boot_id = :boot, started_at = :now, updated_at = :now WHERE id = :id",
		&s, &b);
	if (r < 0)
		return r;
	catalog_bind_int64(&b, ":pid", pid);
	catalog_bind_text(&b, ":host", c->host);
	catalog_bind_text(&b, ":boot", c->boot_id[0] ? c->boot_id : NULL);
	catalog_bind_int64(&b, ":now", now);
	catalog_bind_int64(&b, ":id", id);
	r = catalog_bound_step(&b);
	return r < 0 ? r : 0;
}

int catalog_job_claim_next(struct catalog *c, unsigned max_running, pid_t pid, int64_t *ret_id)
{
	_cleanup_(catalog_rollbackp) struct catalog *txn = NULL;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	unsigned running;
	int64_t id;
	int r;

	r = catalog_begin(c);
	if (r < 0)
		return r;
	txn = c;
	r = count_running_locked(c, &running);
	if (r < 0)
		return r;
	if (running >= max_running)
		return catalog_fail(c, -EAGAIN, "%u jobs run on %s already (at most %u)", running,
				    c->host, max_running);
	r = catalog_prepare(c, "SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1",
			    &s);
	if (r < 0)
		return r;
	r = catalog_step(c, s);
	if (r < 0)
		return r;
	if (r == 0)
		return catalog_fail(c, -ENOENT, "no queued job");
	id = sqlite3_column_int64(s, 0);
	sqlite3_finalize(TAKE_PTR(s));

	r = mark_running_locked(c, id, pid);
	if (r < 0)
		return r;
	r = catalog_commit(c);
	if (r < 0)
		return r;
	*ret_id = id;
	return 0;
}

int catalog_job_set_pid(struct catalog *c, int64_t id, pid_t pid)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(
		c,
		"UPDATE jobs SET pid = :pid, host = :host, boot_id = :boot, updated_at = :now"
		" WHERE id = :id AND state IN ('queued', 'running')",
		&s, &b);
	if (r < 0)
		return r;
	catalog_bind_int64(&b, ":pid", pid);
	catalog_bind_text(&b, ":host", c->host);
	catalog_bind_text(&b, ":boot", c->boot_id[0] ? c->boot_id : NULL);
	catalog_bind_int64(&b, ":now", catalog_now());
	catalog_bind_int64(&b, ":id", id);
	r = catalog_bound_step(&b);
	if (r < 0)
		return r;
	if (sqlite3_changes(c->db) == 0)
		return catalog_fail(c, -ENOENT, "job %lld is not queued or running", (long long)id);
	return 0;
}

/* Is an older queued job of this host waiting in a live process? */
static int older_waiting_locked(struct catalog *c, int64_t id, bool *ret)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	*ret = false;
	r = catalog_prepare_bind(
		c,
		"SELECT pid, boot_id FROM jobs WHERE state = 'queued' AND host = :host"
		" AND id < :id",
		&s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":host", c->host);
	catalog_bind_int64(&b, ":id", id);
	if (b.r < 0)
		return b.r;
	while ((r = catalog_step(c, s)) > 0)
		if (catalog_owner_alive(c, (pid_t)sqlite3_column_int64(s, 0),
					(const char *)sqlite3_column_text(s, 1)))
			*ret = true;
	return r;
}

int catalog_job_start(struct catalog *c, int64_t id, unsigned max_running, pid_t pid)
{
	_cleanup_(catalog_rollbackp) struct catalog *txn = NULL;
	_cleanup_(catalog_job_freep) struct catalog_job *j = NULL;
	unsigned running;
	bool older;
	int r;

	r = catalog_begin(c);
	if (r < 0)
		return r;
	txn = c;
	r = catalog_job_get(c, id, &j);
	if (r < 0)
		return r;
	if (j->state != CATALOG_JOB_QUEUED)
		return catalog_fail(c, -ECANCELED, "job %lld is %s, no longer queued",
				    (long long)id, catalog_job_state_to_string(j->state));
	r = count_running_locked(c, &running);
	if (r < 0)
		return r;
	if (running >= max_running)
		return catalog_fail(c, -EAGAIN, "%u jobs run on %s already (at most %u)", running,
				    c->host, max_running);
	r = older_waiting_locked(c, id, &older);
	if (r < 0)
		return r;
	if (older)
		return catalog_fail(c, -EAGAIN, "older jobs wait on %s", c->host);
	r = mark_running_locked(c, id, pid);
	if (r < 0)
		return r;
	return catalog_commit(c);
}

int catalog_job_reap(struct catalog *c, unsigned *ret_n)
{
	_cleanup_(catalog_rollbackp) struct catalog *txn = NULL;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int64_t ids[256];
	unsigned n = 0, done = 0;
	int r;

	/* One transaction: a worker taking over a job meanwhile is not judged by its parent's pid.
	 */
	r = catalog_begin(c);
	if (r < 0)
		return r;
	txn = c;
	r = catalog_prepare_bind(
		c,
		"SELECT id, pid, boot_id FROM jobs WHERE state IN ('queued', 'running')"
		" AND host = :host",
		&s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":host", c->host);
	if (b.r < 0)
		return b.r;
	while ((r = catalog_step(c, s)) > 0 && n < ELEMENTSOF(ids))
		if (!catalog_owner_alive(c, (pid_t)sqlite3_column_int64(s, 1),
					 (const char *)sqlite3_column_text(s, 2)))
			ids[n++] = sqlite3_column_int64(s, 0);
	if (r < 0)
		return r;
	sqlite3_finalize(TAKE_PTR(s));
	for (unsigned i = 0; i < n; i++)
		if (catalog_job_finish(
			    c, ids[i], CATALOG_JOB_FAILED,
			    "its worker process is gone (killed, or the host restarted)") == 0)
			done++;
	r = catalog_commit(c);
	if (r < 0)
		return r;
	if (ret_n)
		*ret_n = done;
	return 0;
}

/* Run an UPDATE on one job; -ENOENT when it matched nothing. */
static int job_update(struct catalog *c, sqlite3_stmt *s, int64_t id)
{
	int r = catalog_step(c, s);

	if (r < 0)
		return r;
	if (sqlite3_changes(c->db) == 0)
		return catalog_fail(c, -ENOENT, "no job %lld in that state", (long long)id);
	return 0;
}

int catalog_job_progress(struct catalog *c, int64_t id, uint64_t bytes_done, uint64_t bytes_total)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c,
				 "UPDATE jobs SET bytes_done = :done, bytes_total = :total,"
				 " updated_at = :now WHERE id = :id AND state = 'running'",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_u64(&b, ":done", bytes_done);
	catalog_bind_u64(&b, ":total", bytes_total);
	catalog_bind_int64(&b, ":now", catalog_now());
	catalog_bind_int64(&b, ":id", id);
	if (b.r < 0)
		return b.r;
	r = job_update(c, s, id);
	if (r < 0)
		return r;
	sqlite3_finalize(TAKE_PTR(s));

	r = catalog_prepare_bind(c,
				 "UPDATE backups SET heartbeat_at = :now, progress_done = :done,"
				 " progress_total = :total"
				 " WHERE id = (SELECT backup_id FROM jobs WHERE id = :id)",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_u64(&b, ":done", bytes_done);
	catalog_bind_u64(&b, ":total", bytes_total);
	catalog_bind_int64(&b, ":now", catalog_now());
	catalog_bind_int64(&b, ":id", id);
	r = catalog_bound_step(&b);
	return r < 0 ? r : 0;
}

int catalog_job_request_cancel(struct catalog *c, int64_t id)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	/* A queued job never started: it is cancelled at once. */
	r = catalog_prepare_bind(
		c,
		"UPDATE jobs SET cancel_requested = 1, updated_at = :now,"
		" state = CASE state WHEN 'queued' THEN 'cancelled' ELSE state END,"
		" finished_at = CASE state WHEN 'queued' THEN :now ELSE finished_at END"
		" WHERE id = :id AND state IN ('queued', 'running')",
		&s, &b);
	if (r < 0)
		return r;
	catalog_bind_int64(&b, ":now", catalog_now());
	catalog_bind_int64(&b, ":id", id);
	r = catalog_bound_step(&b);
	if (r < 0)
		return r;
	if (sqlite3_changes(c->db) == 0)
		return catalog_fail(c, -EINVAL, "job %lld is not queued or running", (long long)id);
	return 0;
}

int catalog_job_should_stop(struct catalog *c, int64_t id)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c, "SELECT cancel_requested FROM jobs WHERE id = :id", &s, &b);
	if (r < 0)
		return r;
	catalog_bind_int64(&b, ":id", id);
	r = catalog_bound_step(&b);
	if (r < 0)
		return r;
	return r == 0 || sqlite3_column_int(s, 0) != 0;
}

int catalog_job_finish(struct catalog *c, int64_t id, enum catalog_job_state state,
		       const char *error)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	if (state != CATALOG_JOB_DONE && state != CATALOG_JOB_FAILED &&
	    state != CATALOG_JOB_CANCELLED)
		return catalog_fail(c, -EINVAL, "a job ends done, failed or cancelled");
	r = catalog_prepare_bind(
		c,
		"UPDATE jobs SET state = :state, error = :error, finished_at = :now,"
		" updated_at = :now WHERE id = :id AND state IN ('queued', 'running')",
		&s, &b);
	if (r < 0)
		return r;
	catalog_bind_text(&b, ":state", catalog_job_state_to_string(state));
	catalog_bind_text(&b, ":error", error);
	catalog_bind_int64(&b, ":now", catalog_now());
	catalog_bind_int64(&b, ":id", id);
	r = catalog_bound_step(&b);
	if (r < 0)
		return r;
	if (sqlite3_changes(c->db) == 0)
		return catalog_fail(c, -EINVAL, "job %lld is not queued or running", (long long)id);
	return 0;
}
