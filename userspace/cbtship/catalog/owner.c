/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Who runs a creating or restoring backup, its heartbeat, and stale records. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/catalog/catalog-internal.h"

bool catalog_owner_alive(const struct catalog *c, pid_t pid, const char *boot)
{
	if (boot && *boot && c->boot_id[0] && strcmp(boot, c->boot_id) != 0)
		return false;
	return catalog_pid_alive(pid);
}

bool catalog_pid_alive(pid_t pid)
{
	if (pid <= 0)
		return false;
	return kill(pid, 0) == 0 || errno != ESRCH;
}

static int set_owner(struct catalog *c, const char *id, pid_t pid, bool claim)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c,
				 claim ? "UPDATE backups SET owner_pid = :pid, owner_host = :host,"
					 " owner_boot = :boot,"
					 " heartbeat_at = :now WHERE id = :id"
				       : "UPDATE backups SET heartbeat_at = :now WHERE id = :id",
				 &s, &b);
	if (r < 0)
		return r;
	if (claim) {
		catalog_bind_int64(&b, ":pid", pid);
		catalog_bind_text(&b, ":host", c->host);
		catalog_bind_text(&b, ":boot", c->boot_id[0] ? c->boot_id : NULL);
	}
	catalog_bind_int64(&b, ":now", catalog_now());
	catalog_bind_text(&b, ":id", id);
	r = catalog_bound_step(&b);
	if (r < 0)
		return r;
	if (sqlite3_changes(c->db) == 0)
		return catalog_fail(c, -ENOENT, "no backup %s in the catalog", id);
	return 0;
}

int catalog_backup_claim(struct catalog *c, const char *id, pid_t pid)
{
	if (pid <= 0)
		return catalog_fail(c, -EINVAL, "bad owner pid %d", (int)pid);
	return set_owner(c, id, pid, true);
}

int catalog_backup_heartbeat(struct catalog *c, const char *id)
{
	return set_owner(c, id, 0, false);
}

int catalog_backup_is_stale(const struct catalog *c, const struct catalog_backup *b,
			    unsigned max_age)
{
	int64_t beat;

	if (b->status != CATALOG_BACKUP_CREATING && b->status != CATALOG_BACKUP_RESTORING)
		return 0;
	if (b->owner_host && strcmp(b->owner_host, c->host) == 0 &&
	    !catalog_owner_alive(c, b->owner_pid, b->owner_boot))
		return 1;
	if (max_age == 0)
		return 0;
	beat = b->heartbeat_at ? b->heartbeat_at : b->updated_at;
	return catalog_now() - beat > (int64_t)max_age * 1000000;
}

struct stale {
	struct catalog *c;
	unsigned max_age;
	struct catalog_backup **array;
	size_t n;
};

static int collect_stale(const struct catalog_backup *b, void *userdata)
{
	struct stale *st = userdata;
	_cleanup_(catalog_backup_freep) struct catalog_backup *copy = NULL;
	int r;

	if (!catalog_backup_is_stale(st->c, b, st->max_age))
		return 0;
	/* Re-read by id: the caller's record is borrowed. */
	r = catalog_backup_get(st->c, b->id, &copy);
	if (r < 0)
		return r;
	r = CATALOG_ARRAY_APPEND(st->array, st->n, copy);
	if (r < 0)
		return r;
	TAKE_PTR(copy);
	return 0;
}

int catalog_backup_list_stale(struct catalog *c, unsigned max_age, struct catalog_backup ***ret,
			      size_t *ret_n)
{
	struct stale st = { c, max_age, NULL, 0 };
	struct catalog_backup_filter filter = { .admin = true, .by_status = true };
	int r;

	filter.status = CATALOG_BACKUP_CREATING;
	r = catalog_backup_foreach(c, &filter, collect_stale, &st);
	if (r >= 0) {
		filter.status = CATALOG_BACKUP_RESTORING;
		r = catalog_backup_foreach(c, &filter, collect_stale, &st);
	}
	if (r < 0) {
		catalog_backup_array_free(st.array, st.n);
		return r;
	}
	*ret = st.array;
	*ret_n = st.n;
	return 0;
}

int catalog_backup_progress(struct catalog *c, const char *id, uint64_t done, uint64_t total)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
	struct catalog_binder b;
	int r;

	r = catalog_prepare_bind(c,
				 "UPDATE backups SET heartbeat_at = :now, progress_done = :done,"
				 " progress_total = :total WHERE id = :id",
				 &s, &b);
	if (r < 0)
		return r;
	catalog_bind_int64(&b, ":now", catalog_now());
	catalog_bind_u64(&b, ":done", done);
	catalog_bind_u64(&b, ":total", total);
	catalog_bind_text(&b, ":id", id);
	r = catalog_bound_step(&b);
	if (r < 0)
		return r;
	if (sqlite3_changes(c->db) == 0)
		return catalog_fail(c, -ENOENT, "no backup %s in the catalog", id);
	return 0;
}
