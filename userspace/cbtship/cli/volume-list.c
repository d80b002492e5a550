/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtship volume-list: the tracked devices of this host. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/backup/context.h"
#include "cbtship/cli/commands.h"
#include "cbtship/cli/output.h"
#include "libcbt.h"

CBT_DEFINE_CLEANUP(char **, cbt_strv_free, strv_freep)

struct volume {
	const char *name;
	char origin[256];
	char metadata[256];
	struct cbt_table table;
	bool inserted;
	bool have_status;
	struct cbt_status status;
	const struct catalog_volume *record; /* NULL: not in the catalog */
};

/* The catalog's volumes, when it can be read (a warning otherwise). */
struct records {
	struct catalog *c;
	struct catalog_volume **v;
	size_t n;
};

static void records_load(struct records *rs)
{
	*rs = (struct records){ 0 };
	if (cbtship_catalog_open("volume-list", &rs->c) < 0 ||
	    catalog_volume_list(rs->c, NULL, &rs->v, &rs->n) < 0) {
		fprintf(stderr, "cbtship volume-list: warning: catalog not read: %s\n",
			rs->c ? catalog_error(rs->c) : "see above");
		rs->n = 0;
	}
}

static void records_done(struct records *rs)
{
	catalog_volume_array_free(rs->v, rs->n);
	catalog_free(rs->c);
}

static const struct catalog_volume *record_of(const struct records *rs, const char *name)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->v[i]->name, name) == 0)
			return rs->v[i];
	return NULL;
}

/* Recorded as tracked, but no such device here (the agent refused it). */
static bool record_absent(const struct catalog_volume *r, char **names)
{
	if (!r->tracked)
		return false;
	for (char **n = names; *n; n++)
		if (strcmp(*n, r->name) == 0)
			return false;
	return true;
}

/* The catalog's fields: status (null when not in the catalog) and reasons. */
static int record_json(json_t *o, const struct catalog_volume *r)
{
	return json_object_set_new(o, "status",
				   r ? json_string(catalog_volume_status_to_string(r->status))
				     : json_null()) < 0 ||
			       json_object_set_new(o, "status_reason",
						   r && r->status_reason
							   ? json_string(r->status_reason)
							   : json_null()) < 0 ||
			       json_object_set_new(o, "full_read_reason",
						   r && r->full_read_reason
							   ? json_string(r->full_read_reason)
							   : json_null()) < 0
		       ? -ENOMEM
		       : 0;
}

static json_t *absent_json(const struct catalog_volume *r)
{
	json_t *o =
		json_pack("{s:s, s:s, s:s, s:o, s:o, s:b, s:s}", "name", r->name, "origin",
			  r->origin_path, "metadata", r->metadata_path ? r->metadata_path : "",
			  "size_bytes", cbtship_json_u64(r->origin_size), "block_size",
			  cbtship_json_u64(r->block_size), "in_place", false, "state", "absent");

	if (o && record_json(o, r) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int volume_read(const char *name, struct volume *v)
{
	int r;

	memset(v, 0, sizeof(*v));
	v->name = name;
	r = cbt_device_get_table(name, &v->table);
	if (r < 0)
		return r;
	(void)cbt_device_describe(v->table.origin, v->origin, sizeof(v->origin));
	(void)cbt_device_describe(v->table.metadata, v->metadata, sizeof(v->metadata));
	v->inserted = cbt_device_is_inserted(name) > 0;
	r = cbt_device_get_status(name, &v->status);
	v->have_status = r == 0;
	if (r < 0)
		fprintf(stderr, "cbtship volume-list: warning: '%s': cannot read its status: %s\n",
			name, r == -EINVAL ? "not the status line of this version" : strerror(-r));
	return 0;
}

static json_t *volume_json(const struct volume *v)
{
	const struct cbt_status *s = &v->status;
	json_t *o;

	o = json_pack(
		"{s:s, s:s, s:s, s:o, s:o, s:b}", "name", v->name, "origin", v->origin, "metadata",
		v->metadata, "size_bytes", cbtship_json_u64(v->table.sectors * 512), "block_size",
		cbtship_json_u64((uint64_t)v->table.block_sectors * 512), "in_place", v->inserted);
	if (!o)
		return NULL;
	if (v->have_status) {
		if (json_object_set_new(o, "nr_blocks", cbtship_json_u64(s->nr_blocks)) < 0 ||
		    json_object_set_new(o, "dirty_blocks", cbtship_json_u64(s->current_dirty)) <
			    0 ||
		    json_object_set_new(o, "checkpoint", cbtship_json_u64(s->checkpoint)) < 0 ||
		    json_object_set_new(o, "frozen_checkpoint",
					s->frozen_checkpoint
						? cbtship_json_u64(s->frozen_checkpoint)
						: json_null()) < 0 ||
		    json_object_set_new(o, "frozen_dirty_blocks",
					cbtship_json_u64(s->frozen_dirty)) < 0 ||
		    json_object_set_new(o, "uuid", json_string(s->uuid)) < 0 ||
		    json_object_set_new(o, "state", json_string(cbt_state_to_string(s->state))) <
			    0) {
			json_decref(o);
			return NULL;
		}
	} else if (json_object_set_new(o, "state", json_string("unknown")) < 0) {
		json_decref(o);
		return NULL;
	}
	if (record_json(o, v->record) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void print_table_header(void)
{
	printf("%-20s %-24s %10s %8s %10s %10s %8s %-8s %s\n", "NAME", "ORIGIN", "SIZE", "BLOCK",
	       "DIRTY", "CHECKPOINT", "FROZEN", "STATE", "STATUS");
}

static const char *record_status(const struct catalog_volume *r)
{
	return r ? catalog_volume_status_to_string(r->status) : "-";
}

static void print_absent_row(const struct catalog_volume *r)
{
	char size[32], block[32];

	cbt_format_size(r->origin_size, size, sizeof(size));
	cbt_format_size(r->block_size, block, sizeof(block));
	printf("%-20s %-24s %10s %8s %10s %10s %8s %-8s %s\n", r->name, r->origin_path, size, block,
	       "-", "-", "-", "absent", record_status(r));
}

/* Under the table: why a volume is in error, or must be read in full. */
static void print_reasons(const struct records *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct catalog_volume *r = rs->v[i];

		if (r->status == CATALOG_VOLUME_ERROR && r->status_reason)
			printf("%s: error: %s\n", r->name, r->status_reason);
		if (r->tracked && r->full_read_reason)
			printf("%s: next backup reads everything: %s\n", r->name,
			       r->full_read_reason);
	}
}

static void print_table_row(const struct volume *v)
{
	char size[32], block[32], dirty[32] = "?", checkpoint[32] = "?", frozen[32] = "?";
	const struct cbt_status *s = &v->status;

	cbt_format_size(v->table.sectors * 512, size, sizeof(size));
	cbt_format_size((uint64_t)v->table.block_sectors * 512, block, sizeof(block));
	if (v->have_status) {
		snprintf(dirty, sizeof(dirty), "%" PRIu64, s->current_dirty);
		snprintf(checkpoint, sizeof(checkpoint), "%" PRIu64, s->checkpoint);
		if (s->frozen_checkpoint)
			snprintf(frozen, sizeof(frozen), "%" PRIu64, s->frozen_checkpoint);
		else
			snprintf(frozen, sizeof(frozen), "-");
	}
	printf("%-20s %-24s %10s %8s %10s %10s %8s %-8s %s\n", v->name, v->origin, size, block,
	       dirty, checkpoint, frozen,
	       v->have_status ? cbt_state_to_string(s->state) : "unknown",
	       record_status(v->record));
}

static int list_volumes(const struct records *rs, char **names, enum cbtship_format format,
			json_t *list)
{
	int r, status = EXIT_SUCCESS;

	if (format == CBTSHIP_FORMAT_TABLE)
		print_table_header();
	for (char **n = names; *n; n++) {
		struct volume v;

		r = volume_read(*n, &v);
		if (r == -ENXIO || r == -EMEDIUMTYPE)
			continue; /* gone or changed since listed */
		if (r < 0) {
			fprintf(stderr, "cbtship volume-list: '%s': %s\n", *n, strerror(-r));
			status = EXIT_FAILURE;
			continue;
		}
		v.record = record_of(rs, *n);
		if (format == CBTSHIP_FORMAT_TABLE)
			print_table_row(&v);
		else if (json_array_append_new(list, volume_json(&v)) < 0)
			return EXIT_FAILURE;
	}
	for (size_t i = 0; i < rs->n; i++) {
		if (!record_absent(rs->v[i], names))
			continue;
		if (format == CBTSHIP_FORMAT_TABLE)
			print_absent_row(rs->v[i]);
		else if (json_array_append_new(list, absent_json(rs->v[i])) < 0)
			return EXIT_FAILURE;
	}
	if (format == CBTSHIP_FORMAT_TABLE)
		print_reasons(rs);
	if (format == CBTSHIP_FORMAT_JSON && cbtship_json_print(list) < 0)
		return EXIT_FAILURE;
	return status;
}

const struct cbt_option cbtship_volume_list_options[] = {
	{ "format", 'f', "table|json", NULL, CBT_OPT_SHORT },
	CBT_OPTION_END,
};

static int volume_list_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	return cbtship_option_format("volume-list", opt, arg, ctx);
}

int cbtship_volume_list(int argc, char **argv)
{
	enum cbtship_format format = CBTSHIP_FORMAT_TABLE;
	_cleanup_(strv_freep) char **names = NULL;
	_cleanup_(json_decrefp) json_t *list = NULL;
	struct records rs;
	int r, status = EXIT_SUCCESS;

	r = cbt_command_parse("volume-list", argc, argv, volume_list_option, &format);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;

	r = cbt_device_list(&names);
	if (r < 0) {
		fprintf(stderr, "cbtship volume-list: cannot list device-mapper devices: %s\n",
			strerror(-r));
		return EXIT_FAILURE;
	}
	list = json_array();
	if (!list)
		return EXIT_FAILURE;
	records_load(&rs);
	status = list_volumes(&rs, names, format, list);
	records_done(&rs);
	return status;
}