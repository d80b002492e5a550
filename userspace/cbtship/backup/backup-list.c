/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtship backup-list and backup-show: the catalog's backups, as cinder shows them. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/backup/backup-open.h"
#include "cbtship/backup/context.h"
#include "cbtship/cli/commands.h"
#include "cbtship/cli/output.h"

/* The status shown: a creating or restoring record whose owner is gone is "stale". */
static const char *shown_status(struct catalog *c, const struct catalog_backup *b, char *buf,
				size_t len)
{
	const char *s = catalog_backup_status_to_string(b->status);

	if ((b->status == CATALOG_BACKUP_CREATING || b->status == CATALOG_BACKUP_RESTORING) &&
	    catalog_backup_is_stale(c, b, 0) > 0) {
		snprintf(buf, len, "%s (stale)", s);
		return buf;
	}
	return s;
}

static json_t *backup_json(struct catalog *c, const struct catalog_backup *b)
{
	json_t *o = catalog_backup_to_json(b);
	bool stale =
		(b->status == CATALOG_BACKUP_CREATING || b->status == CATALOG_BACKUP_RESTORING) &&
		catalog_backup_is_stale(c, b, 0) > 0;

	if (o)
		json_object_set_new(o, "stale", json_boolean(stale));
	return o;
}

/* backup-show's view: the record, and its queued or running job. */
static json_t *backup_json_with_job(struct catalog *c, const struct catalog_backup *b)
{
	_cleanup_(catalog_job_freep) struct catalog_job *j = NULL;
	json_t *o = backup_json(c, b);

	if (!o)
		return NULL;
	if (catalog_job_get_active(c, b->id, &j) < 0) {
		json_object_set_new(o, "job", json_null());
		return o;
	}
	json_object_set_new(o, "job",
			    json_pack("{s:I, s:s, s:s, s:i, s:s?}", "id", (json_int_t)j->id, "kind",
				      catalog_job_kind_to_string(j->kind), "state",
				      catalog_job_state_to_string(j->state), "pid", (int)j->pid,
				      "host", j->host));
	return o;
}

struct list_ctx {
	struct catalog *c;
	enum cbtship_format format;
	json_t *array;
};

static int list_one(const struct catalog_backup *b, void *userdata)
{
	struct list_ctx *l = userdata;
	char status[48], size[16];

	if (l->format == CBTSHIP_FORMAT_JSON) {
		json_t *o = backup_json(l->c, b);

		if (!o || json_array_append_new(l->array, o) < 0)
			return -ENOMEM;
		return 0;
	}
	snprintf(size, sizeof(size), "%" PRIu64, catalog_size_gib(b->volume_size));
	printf("| %-36s | %-36s | %-18s | %-20s | %4s | %12" PRIu64 " | %-20s |\n", b->id,
	       b->volume_id, shown_status(l->c, b, status, sizeof(status)), b->name ? b->name : "-",
	       size, b->object_count, b->container ? b->container : "-");
	return 0;
}

const struct cbt_option cbtship_backup_list_options[] = {
	{ "volume", 'v', "V", "only the backups of volume V", 0 },
	{ "status", 's', "S", "only those in status S (available, error, ...)", 0 },
	{ "all-projects", 'a', NULL, "those of every project", 0 },
	CBT_OPTION_FORMAT("table|json"),
	CBT_OPTION_END,
};

struct backup_list_opts {
	struct catalog_backup_filter *filter;
	enum cbtship_format *format;
	const char *volume;
};

static int backup_list_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	struct backup_list_opts *o = ctx;

	switch (opt->key) {
	case 'v':
		o->volume = arg;
		return 0;
	case 'a':
		o->filter->admin = true;
		o->filter->project = NULL;
		return 0;
	case 's':
		if (catalog_backup_status_from_string(arg, &o->filter->status) < 0) {
			fprintf(stderr, "cbtship backup-list: unknown status '%s'\n", arg);
			return -EINVAL;
		}
		o->filter->by_status = true;
		return 0;
	}
	return cbtship_option_format("backup-list", opt, arg, o->format);
}

int cbtship_backup_list(int argc, char **argv)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	_cleanup_(catalog_volume_freep) struct catalog_volume *v = NULL;
	_cleanup_(json_decrefp) json_t *array = NULL;
	struct catalog_backup_filter filter = { .project = cbtship_project() };
	struct list_ctx l = { 0 };
	struct backup_list_opts o = { .filter = &filter, .format = &l.format };
	const char *volume;
	int r;

	r = cbt_command_parse("backup-list", argc, argv, backup_list_option, &o);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	volume = o.volume;
	if (cbtship_catalog_open("backup-list", &c) < 0)
		return EXIT_FAILURE;
	if (volume) {
		r = catalog_volume_get(c, volume, &v);
		if (r < 0) {
			fprintf(stderr, "cbtship backup-list: no volume '%s' in the catalog\n",
				volume);
			return EXIT_FAILURE;
		}
		filter.volume_id = v->id;
	}
	l.c = c;
	if (l.format == CBTSHIP_FORMAT_JSON) {
		array = l.array = json_array();
		if (!array)
			return EXIT_FAILURE;
	} else {
		printf("| %-36s | %-36s | %-18s | %-20s | %4s | %12s | %-20s |\n", "ID",
		       "Volume ID", "Status", "Name", "Size", "Object Count", "Container");
	}
	r = catalog_backup_foreach(c, &filter, list_one, &l);
	if (r < 0) {
		fprintf(stderr, "cbtship backup-list: %s\n",
			r == -ENOMEM ? strerror(ENOMEM) : catalog_error(c));
		return EXIT_FAILURE;
	}
	if (l.format == CBTSHIP_FORMAT_JSON && cbtship_json_print(array) < 0)
		return EXIT_FAILURE;
	return EXIT_SUCCESS;
}

int cbtship_backup_show(int argc, char **argv)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;
	_cleanup_(json_decrefp) json_t *o = NULL;
	enum cbtship_format format;
	const char *key;
	json_t *value;
	int r = cbtship_parse_format_only("backup-show", argc, argv,
					  1u << CBTSHIP_FORMAT_TABLE | 1u << CBTSHIP_FORMAT_JSON,
					  &format, 1);

	if (r)
		return r < 0 ? EXIT_SUCCESS : r;
	if (cbtship_catalog_open("backup-show", &c) < 0)
		return EXIT_FAILURE;
	if (cbtship_backup_lookup("backup-show", c, argv[optind], &b) < 0)
		return EXIT_FAILURE;
	o = backup_json_with_job(c, b);
	if (!o)
		return EXIT_FAILURE;
	if (format == CBTSHIP_FORMAT_JSON)
		return cbtship_json_print(o) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	printf("| %-33s | %-60s |\n", "Property", "Value");
	json_object_foreach(o, key, value)
	{
		_cleanup_(freep) char *text = NULL;

		if (json_is_string(value))
			text = strdup(json_string_value(value));
		else if (json_is_object(value) || json_is_array(value) || json_is_null(value) ||
			 json_is_boolean(value) || json_is_number(value))
			text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
		if (json_is_string(value) && strcmp(key, "status") == 0) {
			char buf[48];

			free(text);
			text = strdup(shown_status(c, b, buf, sizeof(buf)));
		}
		printf("| %-33s | %-60s |\n", key, text ? text : "?");
	}
	return EXIT_SUCCESS;
}
