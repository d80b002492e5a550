/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtship backup-verify: fetch and check every chunk of a backup. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cbtship/backup/backup-open.h"
#include "cbtship/driver/ceph/ceph-backup.h"
#include "cbtship/backup/context.h"
#include "cbtship/cli/commands.h"
#include "cbtship/cli/output.h"
#include "cbtship/pipeline/restore-pipeline.h"
#include "cbtship/repo/chunk-object.h"

struct verify_ctx {
	json_t *bad; /* array of {chunk, position, positions, problem} */
	double start;
	uint64_t todo;
};

static void report(void *userdata, const struct cbt_chunk_id *id, uint64_t first,
		   uint64_t positions, int error)
{
	struct verify_ctx *v = userdata;
	char hex[CBT_CHUNK_ID_HEX_SIZE];
	const char *problem = error == -ENOENT ? "missing" : cbt_chunk_strerror(error);

	cbt_chunk_id_to_hex(id, hex);
	json_array_append_new(v->bad,
			      json_pack("{s:s, s:o, s:o, s:s}", "chunk", hex, "volume_chunk",
					cbtship_json_u64(first), "references",
					cbtship_json_u64(positions), "problem", problem));
}

static int verify_tick(void *userdata, const struct cbt_restore_progress *p)
{
	struct verify_ctx *v = userdata;

	cbtship_progress("verify", p->objects_read + p->chunks_missing + p->chunks_corrupt,
			 p->objects_todo, cbtship_seconds() - v->start);
	return 0;
}

/*
 * Ceph keeps no content hash of ours: read every extent of the backup's
 * snapshot back (the cluster checks its own replicas and checksums).
 */
static int verify_ceph(const struct catalog_backup *b, enum cbtship_format format)
{
	_cleanup_(cbt_rbd_freep) struct cbt_rbd *rbd = NULL;
	struct cbt_restore_progress prog = { 0 };
	_cleanup_(cbt_error_clear) struct cbt_error error = CBT_ERROR_INIT;
	const char *err;
	char *msg = NULL;
	int r;

	r = cbt_ceph_connect(b->container, &rbd, &msg);
	if (r < 0) {
		cbt_error_set(&error, CBT_ERROR_STORE, r, "Ceph pool %s: %s", b->container,
			      msg ? msg : strerror(-r));
		free(msg);
	} else
		r = cbt_ceph_restore_run(rbd, b->volume_id, b->id, -1, true, b->volume_size, NULL,
					 NULL, &prog, &error);
	err = cbt_error_message(&error);
	cbtship_log("verify %s: %s", b->id, r < 0 ? err : "every extent of its snapshot read");
	if (format == CBTSHIP_FORMAT_JSON) {
		_cleanup_(json_decrefp) json_t *o = json_pack(
			"{s:s, s:b, s:o, s:o, s:s?}", "backup_id", b->id, "ok", r >= 0,
			"extents_read", cbtship_json_u64(prog.objects_read), "bytes_read",
			cbtship_json_u64(prog.bytes_fetched), "problem", r < 0 ? err : NULL);

		if (!o || cbtship_json_print(o) < 0)
			return EXIT_FAILURE;
	} else if (r < 0)
		printf("backup %s: DAMAGED: %s\n", b->id, err);
	else
		printf("backup %s: %" PRIu64 " extents, %" PRIu64
		       " bytes of its Ceph snapshot read back: ok\n",
		       b->id, prog.objects_read, prog.bytes_fetched);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

const struct cbt_option cbtship_backup_verify_options[] = {
	CBT_OPTION_KEY_FILE("the key of an encrypted backup"),
	CBT_OPTION_FORMAT("table|json"),
	CBT_OPTION_END,
};

static int verify_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	if (opt->key == CBT_OPTION_KEY_FILE_KEY)
		return cbtship_set_key_file("backup-verify", arg) < 0 ? -EINVAL : 0;
	return cbtship_option_format("backup-verify", opt, arg, ctx);
}

int cbtship_backup_verify(int argc, char **argv)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;
	_cleanup_(cbt_repository_freep) struct cbt_repository *repo = NULL;
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL;
	_cleanup_(cbt_index_freep) struct cbt_index *idx = NULL;
	_cleanup_(json_decrefp) json_t *bad = json_array();
	enum cbtship_format format = CBTSHIP_FORMAT_TABLE;
	struct cbt_restore_progress prog = { 0 };
	struct verify_ctx v = { .bad = bad };
	unsigned workers = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	_cleanup_(cbt_error_clear) struct cbt_error err = CBT_ERROR_INIT;
	size_t i;
	json_t *e;
	int r;

	r = cbt_command_parse("backup-verify", argc, argv, verify_option, &format);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	if (!bad)
		return EXIT_FAILURE;
	if (!workers)
		workers = 1;
	if (cbtship_catalog_open("backup-verify", &c) < 0)
		return EXIT_FAILURE;
	if (cbtship_backup_lookup("backup-verify", c, argv[optind], &b) < 0)
		return EXIT_FAILURE;
	if (b->service == CBT_SERVICE_CEPH)
		return verify_ceph(b, format);
	if (cbtship_backup_repository("backup-verify", b, &repo) < 0)
		return EXIT_FAILURE;
	if (cbtship_backup_open_index("backup-verify", b, repo, &m, &idx) < 0)
		return EXIT_FAILURE;
	v.start = cbtship_seconds();
	{
		struct cbt_restore_pipeline_config cfg = {
			.fd = -1,
			.destination = "(verify)",
			.size = m->volume.size,
			.chunk_size = m->chunk_size,
			.store = repo->store,
			.key = m->encryption != CBT_MANIFEST_ENCRYPTION_NONE ? repo->key : NULL,
			.index = idx,
			.backup_id = b->id,
			.workers = workers,
			.keep_going = true,
			.report = report,
			.tick = verify_tick,
			.userdata = &v,
		};

		r = cbt_restore_pipeline_run(&cfg, &prog, &err);
	}
	cbtship_progress_done();
	if (r < 0) {
		fprintf(stderr, "cbtship backup-verify: %s\n", cbt_error_message(&err));
		return EXIT_FAILURE;
	}
	cbtship_log("verify %s: %" PRIu64 " chunks checked, %" PRIu64 " missing, %" PRIu64
		    " corrupt",
		    b->id, prog.objects_todo, prog.chunks_missing, prog.chunks_corrupt);
	if (format == CBTSHIP_FORMAT_JSON) {
		_cleanup_(json_decrefp) json_t *o =
			json_pack("{s:s, s:b, s:o, s:o, s:o, s:o, s:O}", "backup_id", b->id, "ok",
				  !prog.chunks_missing && !prog.chunks_corrupt, "chunks_checked",
				  cbtship_json_u64(prog.objects_todo), "chunks_zero",
				  cbtship_json_u64(prog.chunks_zero), "chunks_missing",
				  cbtship_json_u64(prog.chunks_missing), "chunks_corrupt",
				  cbtship_json_u64(prog.chunks_corrupt), "bad", bad);

		if (!o || cbtship_json_print(o) < 0)
			return EXIT_FAILURE;
	} else {
		json_array_foreach(bad, i, e)
			printf("chunk %s (volume chunk %" PRIu64 ", %" PRIu64 " references): %s\n",
			       json_string_value(json_object_get(e, "chunk")),
			       (uint64_t)json_integer_value(json_object_get(e, "volume_chunk")),
			       (uint64_t)json_integer_value(json_object_get(e, "references")),
			       json_string_value(json_object_get(e, "problem")));
		printf("backup %s: %" PRIu64 " stored chunks checked (%" PRIu64
		       " zero chunks), %" PRIu64 " missing, %" PRIu64 " corrupt: %s\n",
		       b->id, prog.objects_todo, prog.chunks_zero, prog.chunks_missing,
		       prog.chunks_corrupt,
		       prog.chunks_missing || prog.chunks_corrupt ? "DAMAGED" : "ok");
	}
	return prog.chunks_missing || prog.chunks_corrupt ? EXIT_FAILURE : EXIT_SUCCESS;
}
