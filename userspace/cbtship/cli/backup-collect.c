/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbtship backup-collect: reclaim the space of deleted and failed backups
 * (repo/gc.h), in the containers the catalog marks or in the one named.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cbtship/backup/context.h"
#include "cbtship/cli/commands.h"
#include "cbtship/config/config.h"
#include "cbtship/driver/driver.h"
#include "cbtship/repo/gc.h"

static json_t *stats_json(enum cbt_service service, const char *container, int r, const char *err,
			  const struct cbt_gc_stats *gs)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "service", json_string(cbt_service_to_string(service)));
	json_object_set_new(o, "container", container ? json_string(container) : json_null());
	json_object_set_new(o, "result",
			    json_string(r == 0	       ? "done"
					: r == -EAGAIN ? "yielded"
						       : "failed"));
	json_object_set_new(o, "error", err ? json_string(err) : json_null());
	json_object_set_new(o, "manifests", cbtship_json_u64(gs->manifests));
	json_object_set_new(o, "objects_marked", cbtship_json_u64(gs->objects_marked));
	json_object_set_new(o, "pages_walked", cbtship_json_u64(gs->pages_walked));
	json_object_set_new(o, "pages_shared", cbtship_json_u64(gs->pages_shared));
	json_object_set_new(o, "objects_listed", cbtship_json_u64(gs->objects_listed));
	json_object_set_new(o, "chunks_deleted", cbtship_json_u64(gs->chunks_deleted));
	json_object_set_new(o, "pages_deleted", cbtship_json_u64(gs->pages_deleted));
	json_object_set_new(o, "packs", cbtship_json_u64(gs->packs));
	json_object_set_new(o, "pack_bytes", cbtship_json_u64(gs->pack_bytes));
	json_object_set_new(o, "pack_bytes_unused", cbtship_json_u64(gs->pack_bytes_unused));
	json_object_set_new(o, "packs_deleted", cbtship_json_u64(gs->packs_deleted));
	json_object_set_new(o, "packs_rewritten", cbtship_json_u64(gs->packs_rewritten));
	json_object_set_new(o, "entries_copied", cbtship_json_u64(gs->entries_copied));
	json_object_set_new(o, "packs_kept_unverified",
			    cbtship_json_u64(gs->packs_kept_unverified));
	json_object_set_new(o, "refs_changed", cbtship_json_u64(gs->refs_changed));
	json_object_set_new(o, "refs_rebuilt", json_boolean(gs->refs_rebuilt));
	json_object_set_new(o, "packs_touched", cbtship_json_u64(gs->packs_touched));
	json_object_set_new(o, "seconds", json_real(gs->seconds));
	return o;
}

/* One container: 0 done, -EAGAIN yielded, else failed (printed). */
static int collect_one(struct catalog *c, enum cbt_service service, const char *container,
		       enum cbtship_format format, json_t *out)
{
	struct cbt_gc_stats gs = { 0 };
	_cleanup_(freep) char *err = NULL;
	const char *name = container ? container : "(default)";
	int r;

	r = cbt_collect_container(c, service, container, &gs, &err);
	if (format == CBTSHIP_FORMAT_JSON) {
		json_t *o = stats_json(service, container, r, err, &gs);

		if (o)
			json_array_append_new(out, o);
		return r;
	}
	if (r < 0)
		fprintf(stderr, "cbtship backup-collect: %s %s: %s\n",
			cbt_service_to_string(service), name, err ? err : strerror(-r));
	else
		printf("container %s (%s): %" PRIu64 " backups kept, %" PRIu64
		       " chunks and %" PRIu64 " index pages removed, %" PRIu64
		       " packs deleted and %" PRIu64 " rewritten, %.1f s\n",
		       name, cbt_service_to_string(service), gs.manifests, gs.chunks_deleted,
		       gs.pages_deleted, gs.packs_deleted, gs.packs_rewritten, gs.seconds);
	return r;
}

const struct cbt_option cbtship_backup_collect_options[] = {
	CBT_OPTION_BACKUP_DRIVER("posix|swift|nfs",
				 "the back end of the container (default: the configuration's "
				 "backup_driver)"),
	{ "container", 'c', "C", "that container (default: the configured one)", 0 },
	CBT_OPTION_KEY_FILE("the key of encrypted manifests"),
	CBT_OPTION_FORMAT("table|json"),
	CBT_OPTION_END,
};

struct collect_opts {
	enum cbtship_format format;
	const char *container;
	bool named;
};

static int collect_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	struct collect_opts *o = ctx;

	switch (opt->key) {
	case 'c':
		o->container = arg;
		o->named = true;
		return 0;
	case CBT_OPTION_BACKUP_DRIVER_KEY:
		o->named = true;
		return cbtship_option_backup_driver("backup-collect", arg);
	case CBT_OPTION_KEY_FILE_KEY:
		return cbtship_set_key_file("backup-collect", arg) < 0 ? -EINVAL : 0;
	}
	return cbtship_option_format("backup-collect", opt, arg, &o->format);
}

int cbtship_backup_collect(int argc, char **argv)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	_cleanup_(json_decrefp) json_t *out = NULL;
	struct collect_opts o = { .format = CBTSHIP_FORMAT_TABLE };
	enum cbtship_format format;
	const char *container;
	unsigned failed = 0, yielded = 0;
	int r;

	r = cbt_command_parse("backup-collect", argc, argv, collect_option, &o);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	format = o.format;
	container = o.container;
	out = json_array();
	if (!out)
		return EXIT_FAILURE;
	if (cbtship_catalog_open("backup-collect", &c) < 0)
		return EXIT_FAILURE;
	if (o.named) {
		enum cbt_service service = cbtship_configured_service();
		const struct cbt_driver *d = cbt_service_driver(service);

		if (!(d->flags & CBT_DRIVER_COLLECTS)) {
			fprintf(stderr, "cbtship backup-collect: %s: nothing to collect\n",
				d->no_garbage);
			return EXIT_FAILURE;
		}
		r = collect_one(c, service, container, format, out);
		failed += r < 0 && r != -EAGAIN;
		yielded += r == -EAGAIN;
	} else {
		struct catalog_garbage **marks = NULL;
		size_t n = 0;

		if (catalog_garbage_list(c, &marks, &n) < 0) {
			fprintf(stderr, "cbtship backup-collect: %s\n", catalog_error(c));
			return EXIT_FAILURE;
		}
		if (n == 0 && format != CBTSHIP_FORMAT_JSON)
			printf("no container holds garbage\n");
		for (size_t i = 0; i < n; i++) {
			r = collect_one(c, marks[i]->service, marks[i]->container, format, out);
			failed += r < 0 && r != -EAGAIN;
			yielded += r == -EAGAIN;
		}
		catalog_garbage_array_free(marks, n);
	}
	if (format == CBTSHIP_FORMAT_JSON)
		cbtship_json_print(out);
	if (failed)
		return EXIT_FAILURE;
	return yielded ? EX_TEMPFAIL : EXIT_SUCCESS;
}
