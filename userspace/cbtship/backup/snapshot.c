/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbtship snapshot-create, snapshot-list, snapshot-delete: point-in-time
 * snapshots of a tracked volume, kept for later backups.
 *
 * A snapshot is a libcbt view (dm-snapshot over the volume's origin, COW
 * on a sparse file) taken with a dm-cbt checkpoint under one suspend, as a
 * forced backup takes its own. It holds that checkpoint: the blocks
 * written before the snapshot stay in the frozen map until a backup from
 * the snapshot (backup-create --snapshot-id) ships and commits them, or
 * the snapshot is deleted (they are merged back: no change is lost). A
 * volume has one checkpoint outstanding at a time, so while a snapshot
 * holds it, other snapshots and forced backups of the live volume are
 * refused with a message naming the snapshot.
 *
 * Views live in the kernel's dm tables: a reboot removes them. The next
 * cbtship run on the volume then marks the snapshot 'error' and merges its
 * checkpoint back (tracked-recovery.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/backup/context.h"
#include "cbtship/backup/tracked-recovery.h"
#include "cbtship/source/volume-source.h"
#include "cbtship/cli/commands.h"
#include "cbtship/cli/output.h"
#include "cbtship/state-dir.h"
#include "libcbt.h"

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The view's state, for listings: valid, overflowed, missing. */
static const char *view_state(const char *dm_name, const struct catalog_snapshot *s, uint64_t *used,
			      uint64_t *total)
{
	int r;

	*used = *total = 0;
	if (!dm_name)
		return "missing";
	r = cbt_view_check(dm_name, s->id, used, total);
	return r > 0 ? "valid" : r == 0 ? "overflowed" : "missing";
}

static json_t *snapshot_json(const struct catalog_snapshot *s, const char *volume_name,
			     const char *dm_name)
{
	json_t *o = json_object();
	char created[40];
	uint64_t used, total;
	const char *state = view_state(dm_name, s, &used, &total);

	if (!o)
		return NULL;
	catalog_time_format(s->created_at, created, sizeof(created));
	json_object_set_new(o, "id", json_string(s->id));
	json_object_set_new(o, "name", string_or_null(s->name));
	json_object_set_new(o, "description", string_or_null(s->description));
	json_object_set_new(o, "status", json_string(catalog_snapshot_status_to_string(s->status)));
	json_object_set_new(o, "fail_reason", string_or_null(s->fail_reason));
	json_object_set_new(o, "volume_id", json_string(s->volume_id));
	json_object_set_new(o, "volume_name", string_or_null(volume_name));
	json_object_set_new(o, "size", cbtship_json_u64(catalog_size_gib(s->volume_size)));
	json_object_set_new(o, "volume_size", cbtship_json_u64(s->volume_size));
	json_object_set_new(o, "created_at", json_string(created));
	json_object_set_new(o, "os-extended-snapshot-attributes:project_id",
			    json_string(s->project));
	json_object_set_new(o, "checkpoint", cbtship_json_u64(s->checkpoint));
	json_object_set_new(o, "generation", string_or_null(s->generation));
	json_object_set_new(o, "holds_checkpoint", json_boolean(s->holds_checkpoint));
	json_object_set_new(o, "view", json_string(state));
	json_object_set_new(o, "cow_used_bytes", cbtship_json_u64(used * 512));
	json_object_set_new(o, "cow_total_bytes", cbtship_json_u64(total * 512));
	return o;
}

/* The tracked device of a snapshot's volume, or NULL when it is not tracked here now. */
static int snapshot_source(struct catalog *c, const struct catalog_snapshot *s,
			   struct cbt_volume_source *src)
{
	char *err = NULL;
	int r = cbt_volume_source_resolve(c, s->volume_id, s->project, 0, 0, src, &err);

	free(err);
	if (r >= 0 && !src->tracked) {
		cbt_volume_source_done(src);
		r = -ENODEV;
	}
	return r;
}

/* snapshot-create ----------------------------------------------------------- */

struct snapshot_create_opts {
	const char *name;
	const char *description;
	bool force;
	const char *cow_dir;
	uint64_t cow_bytes;
	enum cbtship_format format;
	const char *volume;
};

static void print_snapshot(struct catalog *c, const struct catalog_snapshot *s,
			   const struct cbt_volume_source *src, enum cbtship_format format)
{
	_cleanup_(json_decrefp) json_t *o = snapshot_json(s, src->volume->name, src->dm_name);
	const char *keys[] = { "id",	      "name",	    "status",	  "volume_id",
			       "volume_name", "created_at", "checkpoint", "holds_checkpoint",
			       "view",	      "fail_reason" };

	(void)c;
	if (!o)
		return;
	if (format == CBTSHIP_FORMAT_JSON) {
		cbtship_json_print(o);
		return;
	}
	printf("| %-16s | %-50s |\n", "Property", "Value");
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		json_t *v = json_object_get(o, keys[i]);
		char *text = json_is_string(v) ? strdup(json_string_value(v))
					       : json_dumps(v, JSON_ENCODE_ANY);

		printf("| %-16s | %-50s |\n", keys[i], text ? text : "?");
		free(text);
	}
}

static int snapshot_create(const struct snapshot_create_opts *o)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	struct cbt_volume_source src = { 0 };
	struct catalog_snapshot s = { 0 };
	struct cbt_view_info view;
	struct cbt_status st;
	char cow_dir[PATH_MAX], why[1024];
	char *err = NULL;
	bool row = false;
	int r;

	if (cbtship_catalog_open("snapshot-create", &c) < 0)
		return EXIT_FAILURE;
	r = cbt_volume_source_resolve(c, o->volume, cbtship_project(), 0, CBT_SOURCE_ADD, &src,
				      &err);
	if (r < 0) {
		fprintf(stderr, "cbtship snapshot-create: %s\n", err ? err : strerror(-r));
		free(err);
		return EXIT_FAILURE;
	}
	if (!src.tracked) {
		fprintf(stderr,
			"cbtship snapshot-create: %s is not a tracked volume: snapshots are taken "
			"with a tracking checkpoint (cbtship track it first)\n",
			o->volume);
		goto fail;
	}
	if (src.in_use && !o->force) {
		fprintf(stderr,
			"cbtship snapshot-create: volume %s is in use (open by a guest or "
			"mounted): a snapshot of it needs --force\n",
			src.volume->name);
		goto fail;
	}
	r = cbt_tracked_recover(c, src.volume, src.dm_name, &st, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "cbtship snapshot-create: %s\n", why);
		goto fail;
	}
	snprintf(s.volume_id, sizeof(s.volume_id), "%s", src.volume->id);
	s.project = (char *)cbtship_project();
	s.name = (char *)o->name;
	s.description = (char *)o->description;
	s.volume_size = src.size;
	r = catalog_snapshot_add(c, &s);
	if (r < 0) {
		fprintf(stderr, "cbtship snapshot-create: %s\n", catalog_error(c));
		goto fail;
	}
	row = true;
	snprintf(cow_dir, sizeof(cow_dir), "%s", o->cow_dir ? o->cow_dir : "");
	if (!o->cow_dir)
		snprintf(cow_dir, sizeof(cow_dir), "%s/cow", cbtship_state_dir());
	r = cbtship_make_dirs(cow_dir);
	if (r < 0) {
		fprintf(stderr, "cbtship snapshot-create: COW directory %s: %s\n", cow_dir,
			strerror(-r));
		goto fail;
	}
	r = cbt_view_create(src.dm_name, s.id, cow_dir, o->cow_bytes, &view);
	if (r < 0) {
		fprintf(stderr,
			"cbtship snapshot-create: %s: cannot take a point-in-time view: %s\n",
			src.dm_name, cbt_tracked_refusal(c, src.volume->id, r, why, sizeof(why)));
		goto fail;
	}
	s.status = CATALOG_SNAPSHOT_AVAILABLE;
	s.checkpoint = view.checkpoint;
	s.generation = view.generation;
	s.holds_checkpoint = true;
	r = catalog_snapshot_update(c, &s);
	if (r < 0) {
		fprintf(stderr, "cbtship snapshot-create: %s\n", catalog_error(c));
		(void)cbt_view_remove(src.dm_name, s.id);
		if (cbt_abort(src.dm_name, view.checkpoint) >= 0)
			cbt_tracked_settle(c, src.volume, view.checkpoint);
		goto fail;
	}
	cbtship_log("snapshot %s of %s: view %s with checkpoint %" PRIu64, s.id, src.volume->name,
		    view.name, view.checkpoint);
	print_snapshot(c, &s, &src, o->format);
	cbt_volume_source_done(&src);
	return EXIT_SUCCESS;

fail:
	if (row && catalog_snapshot_delete(c, s.id) < 0)
		fprintf(stderr, "cbtship snapshot-create: warning: %s\n", catalog_error(c));
	cbt_volume_source_done(&src);
	return EXIT_FAILURE;
}

const struct cbt_option cbtship_snapshot_create_options[] = {
	{ "name", 'n', "N", "the snapshot's name", 0 },
	{ "description", 'd', "D", "its description", 0 },
	{ "force", 'F', NULL, "snapshot a volume in use", 0 },
	{ "cow-dir", 'D', "DIR",
	  "where the copy-on-write store goes (default $CBTSHIP_STATE_DIR/cow)", 0 },
	{ "cow-size", 'S', "SIZE", "its size (default: the volume's size; sparse)", 0 },
	CBT_OPTION_FORMAT("table|json"),
	CBT_OPTION_END,
};

static int snapshot_create_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	struct snapshot_create_opts *o = ctx;

	switch (opt->key) {
	case 'n':
		o->name = arg;
		return 0;
	case 'd':
		o->description = arg;
		return 0;
	case 'F':
		o->force = true;
		return 0;
	case 'D':
		o->cow_dir = arg;
		return 0;
	case 'S':
		if (cbt_parse_size(arg, &o->cow_bytes) < 0 || !o->cow_bytes) {
			fprintf(stderr, "cbtship snapshot-create: bad --cow-size '%s'\n", arg);
			return -EINVAL;
		}
		return 0;
	}
	return cbtship_option_format("snapshot-create", opt, arg, &o->format);
}

int cbtship_snapshot_create(int argc, char **argv)
{
	struct snapshot_create_opts o = { 0 };
	int r = cbt_command_parse("snapshot-create", argc, argv, snapshot_create_option, &o);

	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	o.volume = argv[optind];
	return snapshot_create(&o);
}

/* snapshot-list ------------------------------------------------------------- */

const struct cbt_option cbtship_snapshot_list_options[] = {
	{ "volume", 'v', "V", "only the snapshots of volume V", 0 },
	{ "all-projects", 'a', NULL, "those of every project", 0 },
	CBT_OPTION_FORMAT("table|json"),
	CBT_OPTION_END,
};

struct snapshot_list_opts {
	enum cbtship_format format;
	const char *project, *volume;
};

static int snapshot_list_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	struct snapshot_list_opts *o = ctx;

	switch (opt->key) {
	case 'v':
		o->volume = arg;
		return 0;
	case 'a':
		o->project = NULL;
		return 0;
	}
	return cbtship_option_format("snapshot-list", opt, arg, &o->format);
}

int cbtship_snapshot_list(int argc, char **argv)
{
	struct snapshot_list_opts opts = { .format = CBTSHIP_FORMAT_TABLE,
					   .project = cbtship_project() };
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	_cleanup_(json_decrefp) json_t *array = json_array();
	_cleanup_(catalog_volume_freep) struct catalog_volume *v = NULL;
	struct catalog_snapshot **snaps = NULL;
	enum cbtship_format format;
	const char *project, *volume;
	size_t n = 0;
	int r;

	r = cbt_command_parse("snapshot-list", argc, argv, snapshot_list_option, &opts);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	if (!array)
		return EXIT_FAILURE;
	format = opts.format;
	project = opts.project;
	volume = opts.volume;
	if (cbtship_catalog_open("snapshot-list", &c) < 0)
		return EXIT_FAILURE;
	if (volume && catalog_volume_get(c, volume, &v) < 0) {
		fprintf(stderr, "cbtship snapshot-list: %s\n", catalog_error(c));
		return EXIT_FAILURE;
	}
	r = catalog_snapshot_list(c, v ? v->id : NULL, project, &snaps, &n);
	if (r < 0) {
		fprintf(stderr, "cbtship snapshot-list: %s\n", catalog_error(c));
		return EXIT_FAILURE;
	}
	if (format == CBTSHIP_FORMAT_TABLE)
		printf("| %-36s | %-16s | %-9s | %-20s | %10s | %-7s | %-10s |\n", "ID", "Volume",
		       "Status", "Name", "Checkpoint", "Holds", "View");
	for (size_t i = 0; i < n; i++) {
		struct cbt_volume_source src = { 0 };
		bool have = snapshot_source(c, snaps[i], &src) >= 0;
		json_t *o = snapshot_json(snaps[i], have ? src.volume->name : NULL,
					  have ? src.dm_name : NULL);

		if (o && format == CBTSHIP_FORMAT_TABLE)
			printf("| %-36s | %-16s | %-9s | %-20s | %10" PRIu64 " | %-7s | %-10s |\n",
			       snaps[i]->id, have ? src.volume->name : snaps[i]->volume_id,
			       catalog_snapshot_status_to_string(snaps[i]->status),
			       snaps[i]->name ? snaps[i]->name : "-", snaps[i]->checkpoint,
			       snaps[i]->holds_checkpoint ? "yes" : "no",
			       json_string_value(json_object_get(o, "view")));
		if (o)
			json_array_append_new(array, o);
		if (have)
			cbt_volume_source_done(&src);
	}
	catalog_snapshot_array_free(snaps, n);
	if (format == CBTSHIP_FORMAT_JSON)
		cbtship_json_print(array);
	return EXIT_SUCCESS;
}

/* snapshot-delete ----------------------------------------------------------- */

/* A live backup reading snapshot id? */
struct reader_ctx {
	struct catalog *c;
	const char *snapshot_id;
	char backup_id[CATALOG_ID_MAX];
};

static int find_reader(const struct catalog_backup *b, void *userdata)
{
	struct reader_ctx *rc = userdata;

	if (b->snapshot_id && strcmp(b->snapshot_id, rc->snapshot_id) == 0 &&
	    catalog_backup_is_stale(rc->c, b, 0) == 0)
		snprintf(rc->backup_id, sizeof(rc->backup_id), "%s", b->id);
	return 0;
}

static int snapshot_delete_one(struct catalog *c, const char *word)
{
	_cleanup_(catalog_snapshot_freep) struct catalog_snapshot *s = NULL;
	struct cbt_volume_source src = { 0 };
	struct reader_ctx rc = { .c = c };
	struct catalog_backup_filter f = { .admin = true,
					   .by_status = true,
					   .status = CATALOG_BACKUP_CREATING };
	struct cbt_status st;
	bool tracked;
	int r;

	r = catalog_snapshot_find(c, word, cbtship_project(), &s);
	if (r < 0) {
		fprintf(stderr, "cbtship snapshot-delete: %s\n", catalog_error(c));
		return r;
	}
	rc.snapshot_id = s->id;
	f.volume_id = s->volume_id;
	(void)catalog_backup_foreach(c, &f, find_reader, &rc);
	if (rc.backup_id[0]) {
		fprintf(stderr,
			"cbtship snapshot-delete: backup %s is reading snapshot %s: cancel it "
			"first (backup-delete --force %s)\n",
			rc.backup_id, s->id, rc.backup_id);
		return -EBUSY;
	}
	tracked = snapshot_source(c, s, &src) >= 0;
	if (tracked) {
		r = cbt_view_remove(src.dm_name, s->id);
		if (r < 0 && r != -ENOENT) {
			fprintf(stderr,
				"cbtship snapshot-delete: snapshot %s: cannot remove its "
				"view %s-view-%s: %s\n",
				s->id, src.dm_name, s->id,
				r == -EBUSY ? "it is open" : strerror(-r));
			cbt_volume_source_done(&src);
			return r;
		}
		/* Merge its changes back so that the next backup ships them. */
		if (s->holds_checkpoint && cbt_device_get_status(src.dm_name, &st) >= 0 &&
		    st.frozen_checkpoint == s->checkpoint && s->generation &&
		    strcmp(st.uuid, s->generation) == 0) {
			r = cbt_abort(src.dm_name, s->checkpoint);
			if (r < 0) {
				fprintf(stderr,
					"cbtship snapshot-delete: snapshot %s: cannot abort "
					"checkpoint %" PRIu64 " of %s: %s\n",
					s->id, s->checkpoint, src.dm_name, strerror(-r));
				cbt_volume_source_done(&src);
				return r;
			}
			cbt_tracked_settle(c, src.volume, s->checkpoint);
		}
		cbt_volume_source_done(&src);
	}
	r = catalog_snapshot_delete(c, s->id);
	if (r < 0) {
		fprintf(stderr, "cbtship snapshot-delete: %s\n", catalog_error(c));
		return r;
	}
	cbtship_log("snapshot %s: deleted%s", s->id,
		    s->holds_checkpoint ? ", its changes merged back" : "");
	return 0;
}

int cbtship_snapshot_delete(int argc, char **argv)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	int r, failed = 0;

	r = cbt_command_parse("snapshot-delete", argc, argv, NULL, NULL);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	if (cbtship_catalog_open("snapshot-delete", &c) < 0)
		return EXIT_FAILURE;
	for (int i = optind; i < argc; i++)
		if (snapshot_delete_one(c, argv[i]) < 0)
			failed = 1;
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
