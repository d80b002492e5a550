/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Settling what crashed or killed runs left on a tracked volume (see the header). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/backup/context.h"
#include "cbtship/backup/tracked-recovery.h"

CBT_DEFINE_CLEANUP(char **, cbt_strv_free, cbt_strv_freep)

struct recovery {
	struct catalog *c;
	struct catalog_volume *v;
	const char *dm_name;
	struct catalog_snapshot **snaps;
	size_t n_snaps;
	char *err;
	size_t errlen;
};

static int fail(struct recovery *rc, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct recovery *rc, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rc->err, rc->errlen, fmt, ap);
	va_end(ap);
	return r;
}

void cbt_tracked_settle(struct catalog *c, struct catalog_volume *v, uint64_t n)
{
	_cleanup_(catalog_volume_freep) struct catalog_volume *now = NULL;

	if (catalog_volume_get(c, v->id, &now) < 0)
		return;
	if (now->settled_checkpoint >= n)
		return;
	now->settled_checkpoint = n;
	if (catalog_volume_update(c, now) < 0)
		fprintf(stderr, "cbtship: warning: %s\n", catalog_error(c));
	v->settled_checkpoint = n;
}

static struct catalog_snapshot *snapshot_by_id(struct recovery *rc, const char *id)
{
	for (size_t i = 0; i < rc->n_snaps; i++)
		if (strcmp(rc->snaps[i]->id, id) == 0)
			return rc->snaps[i];
	return NULL;
}

static void snapshot_fail(struct recovery *rc, struct catalog_snapshot *s, const char *why)
{
	s->status = CATALOG_SNAPSHOT_ERROR;
	free(s->fail_reason);
	s->fail_reason = strdup(why);
	if (catalog_snapshot_update(rc->c, s) < 0)
		fprintf(stderr, "cbtship: warning: %s\n", catalog_error(rc->c));
	cbtship_log("snapshot %s of %s: error: %s", s->id, rc->dm_name, why);
}

/* Is backup id being made by a live process? */
static bool backup_running(struct catalog *c, const char *id)
{
	_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;

	if (catalog_backup_get(c, id, &b) < 0)
		return false;
	return b->status == CATALOG_BACKUP_CREATING && catalog_backup_is_stale(c, b, 0) == 0;
}

int cbt_backup_fail_if_dead(struct catalog *c, const struct catalog_backup *b)
{
	if (b->status != CATALOG_BACKUP_CREATING || catalog_backup_is_stale(c, b, 0) <= 0)
		return 0;
	if (catalog_backup_set_status(c, b->id, CATALOG_BACKUP_ERROR, 0,
				      "its cbtship process died before it finished") < 0)
		return 0;
	cbtship_log("backup %s: marked error: its process died", b->id);
	return 1;
}

static int mark_dead(const struct catalog_backup *b, void *userdata)
{
	struct recovery *rc = userdata;

	(void)cbt_backup_fail_if_dead(rc->c, b);
	return 0;
}

/* Views: keep live backups' (-EBUSY) and available snapshots', remove the rest. */
static int recover_views(struct recovery *rc)
{
	_cleanup_(cbt_strv_freep) char **tags = NULL;
	int r;

	r = cbt_view_list(rc->dm_name, &tags);
	if (r < 0)
		return fail(rc, r, "%s: cannot list its views: %s", rc->dm_name, strerror(-r));
	for (size_t i = 0; i < rc->n_snaps; i++) {
		struct catalog_snapshot *s = rc->snaps[i];
		bool has_view = false;

		for (char **t = tags; t && *t; t++)
			has_view = has_view || strcmp(*t, s->id) == 0;
		if (s->status == CATALOG_SNAPSHOT_CREATING && !catalog_snapshot_is_stale(rc->c, s))
			return fail(rc, -EBUSY, "snapshot %s of volume %s is being created", s->id,
				    rc->dm_name);
		if (s->status == CATALOG_SNAPSHOT_CREATING)
			snapshot_fail(rc, s, "its cbtship process died before it finished");
		else if (s->status == CATALOG_SNAPSHOT_AVAILABLE && !has_view)
			snapshot_fail(rc, s,
				      "its point-in-time view is gone (the host restarted, or it "
				      "was removed outside cbtship)");
	}
	for (char **t = tags; t && *t; t++) {
		struct catalog_snapshot *s = snapshot_by_id(rc, *t);

		if (s && s->status == CATALOG_SNAPSHOT_AVAILABLE)
			continue;
		if (backup_running(rc->c, *t))
			return fail(rc, -EBUSY, "backup %s of volume %s is running", *t,
				    rc->dm_name);
		r = cbt_view_remove(rc->dm_name, *t);
		if (r < 0 && r != -ENOENT)
			return fail(rc, r, "%s: cannot remove the leftover view %s: %s",
				    rc->dm_name, *t, strerror(-r));
		cbtship_log("%s: removed the leftover view %s", rc->dm_name, *t);
	}
	return 0;
}

struct find_ctx {
	uint64_t checkpoint;
	const char *generation;
	bool found;
};

static int find_available(const struct catalog_backup *b, void *userdata)
{
	struct find_ctx *f = userdata;

	if (b->checkpoint == f->checkpoint && b->generation &&
	    strcmp(b->generation, f->generation) == 0)
		f->found = true;
	return 0;
}

/* Does the volume's record say checkpoint n of generation was shipped? */
static bool shipped_here(struct recovery *rc, const char *generation, uint64_t n)
{
	_cleanup_(catalog_volume_freep) struct catalog_volume *now = NULL;

	if (catalog_volume_get(rc->c, rc->v->id, &now) < 0)
		return false;
	return now->last_generation && strcmp(now->last_generation, generation) == 0 &&
	       now->last_checkpoint == n;
}

/* The outstanding checkpoint n: kept by a snapshot, else committed or aborted. */
static int recover_checkpoint(struct recovery *rc, const struct cbt_status *st)
{
	uint64_t n = st->frozen_checkpoint;
	struct find_ctx fc = { .checkpoint = n, .generation = st->uuid };
	struct catalog_backup_filter f = { .admin = true,
					   .volume_id = rc->v->id,
					   .by_status = true,
					   .status = CATALOG_BACKUP_AVAILABLE };
	int r;

	for (size_t i = 0; i < rc->n_snaps; i++) {
		struct catalog_snapshot *s = rc->snaps[i];

		if (!s->holds_checkpoint)
			continue;
		if (s->status == CATALOG_SNAPSHOT_AVAILABLE && s->checkpoint == n &&
		    s->generation && strcmp(s->generation, st->uuid) == 0)
			return 0;
		/* It does not hold it any more (settled below, or by someone else). */
		s->holds_checkpoint = false;
		if (catalog_snapshot_update(rc->c, s) < 0)
			fprintf(stderr, "cbtship: warning: %s\n", catalog_error(rc->c));
	}
	if (n == DM_CBT_NO_FROZEN)
		return 0;
	(void)catalog_backup_foreach(rc->c, &f, find_available, &fc);
	/*
	 * Only a backup that shipped it as the volume's own record says (the
	 * last one that became available here) commits it: an imported
	 * record naming this checkpoint never drops the frozen changes.
	 */
	if (fc.found && !shipped_here(rc, st->uuid, n))
		fc.found = false;
	r = fc.found ? cbt_commit(rc->dm_name, n) : cbt_abort(rc->dm_name, n);
	if (r < 0)
		return fail(rc, r, "%s: cannot %s the outstanding checkpoint %" PRIu64 ": %s",
			    rc->dm_name, fc.found ? "commit" : "abort", n, strerror(-r));
	cbtship_log("%s: %s the outstanding checkpoint %" PRIu64 " of an earlier run", rc->dm_name,
		    fc.found ? "committed" : "aborted", n);
	cbt_tracked_settle(rc->c, rc->v, n);
	return 0;
}

int cbt_tracked_recover(struct catalog *c, struct catalog_volume *v, const char *dm_name,
			struct cbt_status *ret_status, char *err, size_t errlen)
{
	struct recovery rc = { .c = c, .v = v, .dm_name = dm_name, .err = err, .errlen = errlen };
	struct catalog_backup_filter f = { .admin = true,
					   .volume_id = v->id,
					   .by_status = true,
					   .status = CATALOG_BACKUP_CREATING };
	int r;

	r = catalog_snapshot_list(c, v->id, NULL, &rc.snaps, &rc.n_snaps);
	if (r < 0)
		return fail(&rc, r, "%s", catalog_error(c));
	r = recover_views(&rc);
	if (r >= 0) {
		(void)catalog_backup_foreach(c, &f, mark_dead, &rc);
		r = cbt_device_get_status(dm_name, ret_status);
		if (r < 0)
			fail(&rc, r, "%s: cannot read its tracking status: %s", dm_name,
			     strerror(-r));
	}
	if (r >= 0)
		r = recover_checkpoint(&rc, ret_status);
	if (r >= 0)
		r = cbt_device_get_status(dm_name, ret_status);
	catalog_snapshot_array_free(rc.snaps, rc.n_snaps);
	return r;
}

const char *cbt_tracked_refusal(struct catalog *c, const char *volume_id, int r, char *buf,
				size_t len)
{
	struct catalog_snapshot **snaps = NULL;
	size_t n = 0;

	if (r == -EOPNOTSUPP)
		return "it was not tracked by cbtship (cbt directly over its origin); track it "
		       "again with cbtship track";
	if (r != -EBUSY)
		return strerror(-r);
	snprintf(buf, len, "the device is suspended, or a checkpoint is outstanding");
	if (catalog_snapshot_list(c, volume_id, NULL, &snaps, &n) >= 0)
		for (size_t i = 0; i < n; i++)
			if (snaps[i]->holds_checkpoint)
				snprintf(buf, len,
					 "snapshot %s holds checkpoint %" PRIu64
					 " of it: back it up (backup-create --snapshot-id %s), "
					 "or delete it",
					 snaps[i]->id, snaps[i]->checkpoint, snaps[i]->id);
	catalog_snapshot_array_free(snaps, n);
	return buf;
}
