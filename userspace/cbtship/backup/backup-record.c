/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Surviving the loss of the catalog: backup-export prints a backup's
 * record (backup_service, backup_url: its manifest, base64, no secret),
 * backup-import puts such a record back into a catalog, and
 * catalog-rebuild puts back every backup whose manifest a container holds.
 *
 * A record needs nothing but the target: every index is logically full,
 * so an incremental restores without its parents' records (import them
 * too to restore them). Import checks that the target really holds the
 * backup (its manifest, or its Ceph snapshot) before the record becomes
 * available. The volume of an imported backup gets a catalog record too
 * (same id), with the tracking generation and checkpoint of its newest
 * backup, so that the next incremental of a tracked volume can still
 * trust the dirty map.
 *
 * Ceph backups keep no manifest in the pool: their record is made from
 * the catalog, and the image and snapshot follow from the volume and
 * backup ids (docs/ceph-driver.md); catalog-rebuild does not cover them.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/backup/backup-open.h"
#include "cbtship/backup/backup-record.h"
#include "cbtship/driver/driver.h"
#include "cbtship/path-check.h"
#include "cbtship/backup/context.h"
#include "cbtship/cli/commands.h"
#include "cbtship/cli/output.h"
#include "cbtship/repo/manifest.h"

int cbtship_backup_record_decode(const char *service, const char *url, struct cbt_manifest **ret,
				 char **ret_error)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL;
	enum cbt_service want;
	char *err = NULL;
	int r;

	*ret_error = NULL;
	if (cbt_service_from_record(service, &want) < 0) {
		if (asprintf(ret_error,
			     "unknown backup_service '%s' (posix, swift, ceph, nfs, or cinder's "
			     "driver class name)",
			     service) < 0)
			*ret_error = NULL;
		return -EINVAL;
	}
	r = cbt_manifest_import_url(url, &m, &err);
	if (r < 0) {
		if (asprintf(ret_error, "the backup_url is not a cbtship backup record: %s",
			     err ? err : strerror(-r)) < 0)
			*ret_error = NULL;
		free(err);
		return r;
	}
	if (m->service != want) {
		if (asprintf(ret_error,
			     "the record is of a %s backup, not %s: check the "
			     "backup_service",
			     cbt_service_to_string(m->service), service) < 0)
			*ret_error = NULL;
		return -EINVAL;
	}
	*ret = TAKE_PTR(m);
	return 0;
}

/* The catalog record of a manifest (strings borrowed from m, the root in root_hex). */
static void record_from_manifest(const struct cbt_manifest *m, struct catalog_backup *b,
				 char root_hex[static CBT_CHUNK_ID_HEX_SIZE])
{
	*b = (struct catalog_backup){ 0 };
	/* A back end without an index (Ceph) records a root of zeros. */
	if (cbt_service_driver(m->service)->flags & CBT_DRIVER_INDEXED)
		b->index_root = cbt_chunk_id_to_hex(&m->index.root, root_hex);
	snprintf(b->id, sizeof(b->id), "%s", m->backup_id);
	snprintf(b->volume_id, sizeof(b->volume_id), "%s", m->volume.id);
	b->project = m->project;
	b->name = m->name;
	b->description = m->description;
	if (m->parent_id)
		snprintf(b->parent_id, sizeof(b->parent_id), "%s", m->parent_id);
	b->is_incremental = m->incremental;
	b->container = m->container;
	b->service = m->service;
	b->snapshot_id = m->snapshot_id;
	b->checkpoint = m->tracking.checkpoint;
	b->generation = m->tracking.generation;
	b->volume_size = m->volume.size;
	b->chunk_size = m->chunk_size;
	b->bytes_read = m->stats.bytes_read;
	b->bytes_stored = m->stats.bytes_stored;
	b->chunks_total = m->stats.chunks_total;
	b->chunks_new = m->stats.chunks_new;
	b->chunks_zero = m->stats.chunks_zero;
	b->object_count = m->stats.objects_written;
	b->data_timestamp = m->data_timestamp;
	b->created_at = m->created_at;
	b->started_at = m->created_at;
	b->finished_at = m->finished_at;
}

/* A manifest made from the catalog, for a backup that has none (Ceph). */
static int manifest_from_record(const struct catalog_backup *b, const char *volume_name,
				struct cbt_manifest **ret)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL;
	int r = cbt_manifest_new(&m);

	if (r < 0)
		return r;
#define DUP(dst, src)                                \
	do {                                         \
		if ((src) && !((dst) = strdup(src))) \
			return -ENOMEM;              \
	} while (0)
	DUP(m->backup_id, b->id);
	DUP(m->name, b->name);
	DUP(m->description, b->description);
	DUP(m->project, b->project);
	DUP(m->volume.id, b->volume_id);
	DUP(m->volume.name, volume_name ? volume_name : b->volume_id);
	if (b->parent_id[0])
		DUP(m->parent_id, b->parent_id);
	DUP(m->snapshot_id, b->snapshot_id);
	DUP(m->tracking.generation, b->generation);
	DUP(m->container, b->container ? b->container : "");
#undef DUP
	m->volume.size = b->volume_size;
	m->incremental = b->is_incremental;
	m->created_at = b->created_at;
	m->data_timestamp = b->data_timestamp;
	m->finished_at = b->finished_at ? b->finished_at : b->updated_at;
	m->chunk_size = b->chunk_size;
	m->nr_chunks = (b->volume_size + b->chunk_size - 1) / b->chunk_size;
	m->stats.bytes_read = b->bytes_read;
	m->stats.bytes_stored = b->bytes_stored;
	m->stats.chunks_total = m->nr_chunks;
	m->stats.chunks_new = b->chunks_new;
	m->stats.chunks_zero = b->chunks_zero;
	m->stats.objects_written = b->object_count;
	m->tracking.checkpoint = b->checkpoint;
	m->service = b->service;
	*ret = TAKE_PTR(m);
	return 0;
}

/*
 * The volume of an imported backup: a record with its id when the catalog
 * has none (named after it; suffixed when the name is taken), then its
 * tracking state from its newest available backup.
 */
static int ensure_volume(struct catalog *c, const struct cbt_manifest *m)
{
	_cleanup_(catalog_volume_freep) struct catalog_volume *v = NULL;
	_cleanup_(catalog_backup_freep) struct catalog_backup *latest = NULL;
	int r;

	if (catalog_volume_get(c, m->volume.id, &v) < 0) {
		struct catalog_volume nv = { .imported = true };
		char name[256], origin[300];
		bool tracked = m->tracking.generation != NULL;

		snprintf(nv.id, sizeof(nv.id), "%s", m->volume.id);
		snprintf(name, sizeof(name), "%s", m->volume.name);
		snprintf(origin, sizeof(origin), "%s%s",
			 tracked && name[0] != '/' ? "/dev/mapper/" : "", name);
		nv.name = name;
		nv.project = m->project;
		nv.origin_path = origin;
		nv.origin_size = m->volume.size;
		nv.origin_uuid = m->volume.origin_uuid;
		nv.chunk_size = m->chunk_size;
		nv.tracked = tracked;
		nv.status = CATALOG_VOLUME_OK;
		r = catalog_volume_add(c, &nv);
		if (r == -EEXIST) {
			snprintf(name, sizeof(name), "%.200s-%.8s", m->volume.name, m->volume.id);
			r = catalog_volume_add(c, &nv);
		}
		if (r < 0)
			return r;
		r = catalog_volume_get(c, m->volume.id, &v);
		if (r < 0)
			return r;
	}
	/*
	 * The tracking state of a volume recorded here is its own: an imported
	 * backup never becomes the base of its dirty map. A record made by
	 * imports (the catalog was lost) follows its newest backup.
	 */
	if (!v->imported)
		return 0;
	if (catalog_backup_latest_available(c, v->id, 0, &latest) == 0 && latest->generation &&
	    latest->checkpoint >= v->last_checkpoint) {
		free(v->last_generation);
		v->last_generation = strdup(latest->generation);
		if (!v->last_generation)
			return -ENOMEM;
		v->last_checkpoint = latest->checkpoint;
		if (v->settled_checkpoint < latest->checkpoint)
			v->settled_checkpoint = latest->checkpoint;
		return catalog_volume_update(c, v);
	}
	return 0;
}

/* A device-mapper name as dm and cbtship track make them: no path, no "." or "..". */
static bool dm_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= 128 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (const char *p = name; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			    "#+-.:=@_",
			    *p))
			return false;
	return true;
}

/*
 * The volume a manifest names (backup-import, catalog-rebuild): a
 * device-mapper name (tracked) or a clean absolute path (an untracked
 * device or file, cbtship's name for it), never a path to climb out of
 * /dev/mapper; and no volume of another project. 0, or -EPERM with the
 * problem in err.
 */
static int check_volume_of(struct catalog *c, const struct cbt_manifest *m, char *err,
			   size_t errlen)
{
	_cleanup_(catalog_volume_freep) struct catalog_volume *v = NULL;

	if (m->tracking.generation ? !dm_name_ok(m->volume.name)
				   : !cbt_path_clean_absolute(m->volume.name)) {
		snprintf(err, errlen,
			 "its volume.name \"%.200s\" is not a %s: refused (a volume name never "
			 "becomes a path to write)",
			 m->volume.name,
			 m->tracking.generation ? "device-mapper name (letters, digits, #+-.:=@_; "
						  "no '/', not . or ..)"
						: "clean absolute path (no . or .. components)");
		return -EPERM;
	}
	if (catalog_volume_get(c, m->volume.id, &v) == 0 && strcmp(v->project, m->project) != 0) {
		snprintf(err, errlen,
			 "its volume %s is a volume of project %s in this catalog, the record's "
			 "project is %s: refused (an import never attaches to another project's "
			 "volume)",
			 m->volume.id, v->project, m->project);
		return -EPERM;
	}
	return 0;
}

/*
 * What a record may name (backup-import): its volume as check_volume_of()
 * says; a container of the configured back end (a POSIX container is a
 * name under backup_posix_path, or an absolute directory inside it, or
 * the configured backup_container itself; an NFS container a name in the
 * share; a Swift container one name; a Ceph pool the configured
 * backup_ceph_pool). 0, or -EPERM with the problem in err.
 */
static int check_record(struct catalog *c, const struct cbt_manifest *m, char *err, size_t errlen)
{
	const char *ct = m->container;
	int r;

	r = check_volume_of(c, m, err, errlen);
	if (r < 0)
		return r;
	{
		const char *rule = "";

		if (!cbt_service_driver(m->service)->container_allowed(m->service, ct, &rule)) {
			snprintf(err, errlen,
				 "its container \"%.200s\" is not a container of the configured %s "
				 "back end (%s): refused",
				 ct, cbt_service_to_string(m->service), rule);
			return -EPERM;
		}
	}
	return 0;
}

/* Does the back end hold backup m? 0, or a negative errno with a message. */
static int check_in_target(const struct cbt_manifest *m, char *err, size_t errlen)
{
	_cleanup_(cbt_error_clear) struct cbt_error error = CBT_ERROR_INIT;
	int r = cbt_service_driver(m->service)->holds(m, &error);

	if (r < 0)
		snprintf(err, errlen, "%s", cbt_error_message(&error));
	return r;
}

/* backup-export ------------------------------------------------------------ */

int cbtship_backup_export(int argc, char **argv)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL;
	_cleanup_(freep) char *url = NULL;
	enum cbtship_format format;
	char *err = NULL;
	int r = cbtship_parse_format_only("backup-export", argc, argv,
					  1u << CBTSHIP_FORMAT_TABLE | 1u << CBTSHIP_FORMAT_JSON,
					  &format, 1);

	if (r)
		return r < 0 ? EXIT_SUCCESS : r;
	if (cbtship_catalog_open("backup-export", &c) < 0)
		return EXIT_FAILURE;
	if (cbtship_backup_lookup("backup-export", c, argv[optind], &b) < 0)
		return EXIT_FAILURE;
	if (b->status != CATALOG_BACKUP_AVAILABLE) {
		fprintf(stderr,
			"cbtship backup-export: backup %s is %s: only an available backup "
			"can be exported\n",
			b->id, catalog_backup_status_to_string(b->status));
		return EXIT_FAILURE;
	}
	/* The manifest in the store, or one made from the record (Ceph keeps none). */
	if (!(cbt_service_driver(b->service)->flags & CBT_DRIVER_SELF_DESCRIBING)) {
		_cleanup_(catalog_volume_freep) struct catalog_volume *v = NULL;

		(void)catalog_volume_get(c, b->volume_id, &v);
		r = manifest_from_record(b, v ? v->name : NULL, &m);
		if (r < 0) {
			fprintf(stderr, "cbtship backup-export: %s\n", strerror(-r));
			return EXIT_FAILURE;
		}
	} else {
		_cleanup_(cbt_repository_freep) struct cbt_repository *repo = NULL;

		if (cbtship_backup_repository("backup-export", b, &repo) < 0)
			return EXIT_FAILURE;
		r = cbt_manifest_read(repo->store, b->id, &m, &err);
		if (r < 0) {
			fprintf(stderr, "cbtship backup-export: backup %s: its manifest: %s\n",
				b->id, err ? err : strerror(-r));
			free(err);
			return EXIT_FAILURE;
		}
	}
	r = cbt_manifest_export_url(m, &url, &err);
	if (r < 0) {
		fprintf(stderr, "cbtship backup-export: backup %s: %s\n", b->id,
			err ? err : strerror(-r));
		free(err);
		return EXIT_FAILURE;
	}
	if (format == CBTSHIP_FORMAT_JSON) {
		_cleanup_(json_decrefp) json_t *o =
			json_pack("{s:s, s:s}", "backup_service", cbt_service_to_string(b->service),
				  "backup_url", url);

		return o && cbtship_json_print(o) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	}
	printf("| %-14s | %s |\n", "Property", "Value");
	printf("| %-14s | %s |\n", "backup_service", cbt_service_to_string(b->service));
	printf("| %-14s | %s |\n", "backup_url", url);
	return EXIT_SUCCESS;
}

/* backup-import ------------------------------------------------------------ */

int cbtship_backup_import(int argc, char **argv)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	_cleanup_(catalog_backup_freep) struct catalog_backup *known = NULL;
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL;
	enum cbtship_format format;
	struct catalog_backup b;
	char *err = NULL, where[1024], root[CBT_CHUNK_ID_HEX_SIZE];
	int r = cbtship_parse_format_only("backup-import", argc, argv,
					  1u << CBTSHIP_FORMAT_TABLE | 1u << CBTSHIP_FORMAT_JSON,
					  &format, 2);

	if (r)
		return r < 0 ? EXIT_SUCCESS : r;
	r = cbtship_backup_record_decode(argv[optind], argv[optind + 1], &m, &err);
	if (r < 0) {
		fprintf(stderr, "cbtship backup-import: %s\n", err ? err : strerror(-r));
		free(err);
		return EXIT_FAILURE;
	}
	if (cbtship_catalog_open("backup-import", &c) < 0)
		return EXIT_FAILURE;
	if (catalog_backup_get(c, m->backup_id, &known) == 0) {
		fprintf(stderr,
			"cbtship backup-import: backup %s is in the catalog already (status %s): "
			"not imported again\n",
			m->backup_id, catalog_backup_status_to_string(known->status));
		return EXIT_FAILURE;
	}
	r = check_record(c, m, where, sizeof(where));
	if (r >= 0)
		r = check_in_target(m, where, sizeof(where));
	if (r < 0) {
		fprintf(stderr, "cbtship backup-import: backup %s cannot be imported: %s\n",
			m->backup_id, where);
		return EXIT_FAILURE;
	}
	record_from_manifest(m, &b, root);
	r = catalog_backup_import_within_quota(c, &b);
	if (r >= 0)
		r = ensure_volume(c, m);
	if (r < 0) {
		fprintf(stderr, "cbtship backup-import: %s\n", catalog_error(c));
		return EXIT_FAILURE;
	}
	cbtship_log("import %s: %s backup of volume %s in %s %s", b.id,
		    b.is_incremental ? "incremental" : "full", b.volume_id,
		    cbt_service_to_string(b.service), b.container);
	if (format == CBTSHIP_FORMAT_JSON) {
		_cleanup_(json_decrefp) json_t *o =
			json_pack("{s:s, s:s, s:s}", "id", b.id, "volume_id", b.volume_id, "status",
				  "available");

		return o && cbtship_json_print(o) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	}
	printf("| %-8s | %-36s |\n", "Property", "Value");
	printf("| %-8s | %-36s |\n", "id", b.id);
	printf("| %-8s | %-36s |\n", "name", b.name ? b.name : "None");
	return EXIT_SUCCESS;
}

/* catalog-rebuild ---------------------------------------------------------- */

struct rebuild {
	struct catalog *c;
	struct cbt_repository *repo;
	uint64_t found, imported, present, failed;
};

static int rebuild_one(const char *backup_id, void *userdata)
{
	struct rebuild *rb = userdata;
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL;
	_cleanup_(catalog_backup_freep) struct catalog_backup *known = NULL;
	struct catalog_backup b;
	char *err = NULL, root[CBT_CHUNK_ID_HEX_SIZE];
	int r;

	rb->found++;
	if (catalog_backup_get(rb->c, backup_id, &known) == 0) {
		rb->present++;
		return 0;
	}
	r = cbt_manifest_read(rb->repo->store, backup_id, &m, &err);
	if (r < 0) {
		fprintf(stderr, "cbtship catalog-rebuild: backup %s: its manifest: %s\n", backup_id,
			err ? err : strerror(-r));
		free(err);
		rb->failed++;
		return 0;
	}
	{
		char why[512];

		if (check_volume_of(rb->c, m, why, sizeof(why)) < 0) {
			fprintf(stderr, "cbtship catalog-rebuild: backup %s: %s\n", backup_id, why);
			rb->failed++;
			return 0;
		}
	}
	record_from_manifest(m, &b, root);
	/* Where it was found now, whatever it was called when written. */
	b.container = rb->repo->container;
	b.service = rb->repo->service;
	r = catalog_backup_import(rb->c, &b);
	if (r >= 0)
		r = ensure_volume(rb->c, m);
	if (r < 0) {
		fprintf(stderr, "cbtship catalog-rebuild: backup %s: %s\n", backup_id,
			catalog_error(rb->c));
		rb->failed++;
		return 0;
	}
	rb->imported++;
	return 0;
}

const struct cbt_option cbtship_catalog_rebuild_options[] = {
	CBT_OPTION_BACKUP_DRIVER("posix|swift|nfs",
				 "the back end of the container (default: the configuration's "
				 "backup_driver)"),
	{ "container", 'c', "C", "that container (default: the configured one)", 0 },
	CBT_OPTION_END,
};

static int rebuild_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	if (opt->key == 'c') {
		*(const char **)ctx = arg;
		return 0;
	}
	return cbtship_option_backup_driver("catalog-rebuild", arg);
}

int cbtship_catalog_rebuild(int argc, char **argv)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	_cleanup_(cbt_repository_freep) struct cbt_repository *repo = NULL;
	struct rebuild rb = { 0 };
	const char *container = NULL;
	enum cbt_service service;
	char *err = NULL;
	int r;

	r = cbt_command_parse("catalog-rebuild", argc, argv, rebuild_option, &container);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	service = cbtship_configured_service();
	if (!(cbt_service_driver(service)->flags & CBT_DRIVER_SELF_DESCRIBING)) {
		fprintf(stderr,
			"cbtship catalog-rebuild: %s backups keep no manifests: import their "
			"exported records (backup-import)\n",
			cbt_service_driver(service)->title);
		return EXIT_FAILURE;
	}
	r = cbt_repository_open(service, container, 0, &repo, &err);
	if (r < 0) {
		fprintf(stderr, "cbtship catalog-rebuild: %s\n", err ? err : strerror(-r));
		free(err);
		return EXIT_FAILURE;
	}
	if (cbtship_catalog_open("catalog-rebuild", &c) < 0)
		return EXIT_FAILURE;
	rb.c = c;
	rb.repo = repo;
	r = cbt_manifest_list(repo->store, rebuild_one, &rb);
	if (r < 0) {
		fprintf(stderr, "cbtship catalog-rebuild: listing container %s: %s\n",
			repo->container, strerror(-r));
		return EXIT_FAILURE;
	}
	cbtship_log("catalog-rebuild of %s %s: %" PRIu64 " manifests, %" PRIu64
		    " imported, %" PRIu64 " already in the catalog, %" PRIu64 " failed",
		    cbt_service_to_string(service), repo->container, rb.found, rb.imported,
		    rb.present, rb.failed);
	printf("container %s (%s): %" PRIu64 " backups found, %" PRIu64 " imported, %" PRIu64
	       " already in the catalog, %" PRIu64 " failed\n",
	       repo->container, cbt_service_to_string(service), rb.found, rb.imported, rb.present,
	       rb.failed);
	return rb.failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
