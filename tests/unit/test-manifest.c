/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-backup manifest: JSON round trips, strict parsing (each malformed
 * case its own message), no secrets, export/import records, listing. Uses
 * the real POSIX store in a mkdtemp directory. Host only.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tmpdir.h"
#include <jansson.h>
#include <openssl/evp.h>

#include "cbt-cleanup.h"
#include "cbtship/backup/backup-record.h"
#include "cbtship/repo/manifest.h"
#include "cbtship/repo/object-key.h"
#include "cbtship/store/posix/posix.h"

#define FULL_ID "6f1c0f7e-3a51-4d3e-9a0e-1b2c3d4e5f60"
#define INCR_ID "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"
#define VOL_ID	"11111111-2222-4333-8444-555555555555"
#define ROOT	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define MIB	(UINT64_C(1) << 20)

struct fixture {
	char dir[64];
	struct cbt_store *store;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tmpdir_make(f->dir, sizeof(f->dir), "manifest");
	assert_int_equal(cbt_posix_store_open(f->dir, &f->store), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cbt_store_free(f->store);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static char *xstrdup(const char *s)
{
	char *r = strdup(s);

	assert_non_null(r);
	return r;
}

/* A full backup of a 10 MiB + 1 byte volume in 1 MiB chunks. */
static struct cbt_manifest *full_manifest(const char *id)
{
	struct cbt_manifest *m = NULL;

	assert_int_equal(cbt_manifest_new(&m), 0);
	m->backup_id = xstrdup(id);
	m->name = xstrdup("nightly \"full\" é");
	m->description = NULL;
	m->project = xstrdup("demo");
	m->volume.id = xstrdup(VOL_ID);
	m->volume.name = xstrdup("vol1");
	m->volume.size = 10 * MIB + 1;
	m->volume.origin_uuid = xstrdup("2f6a1d3c-0b4e-4f5a-9c8d-7e6f5a4b3c2d");
	m->created_at = INT64_C(1795516800123456); /* 2026-11-24T10:40:00.123456Z */
	m->data_timestamp = m->created_at;
	m->finished_at = m->created_at + 42000001;
	m->chunk_size = 1 << 20;
	m->nr_chunks = 11;
	m->compression = CBT_COMPRESS_ZSTD;
	assert_int_equal(cbt_chunk_id_from_hex(ROOT, &m->index.root), 0);
	m->index.pages = 1;
	m->stats.bytes_read = m->volume.size;
	m->stats.bytes_stored = 5 * MIB;
	m->stats.chunks_total = 11;
	m->stats.chunks_new = 8;
	m->stats.chunks_zero = 3;
	m->stats.objects_written = 9;
	m->tracking.generation = xstrdup("9d8c7b6a-5f4e-4d3c-8b2a-190817161514");
	m->tracking.checkpoint = 7;
	m->tracking.full_read = true;
	m->tracking.full_read_reason = xstrdup("first backup of the volume");
	m->service = CBT_SERVICE_POSIX;
	m->container = xstrdup("backups/demo");
	return m;
}

/* An incremental on a keyed repository, from a snapshot. */
static struct cbt_manifest *incr_manifest(const char *id, const char *parent)
{
	struct cbt_manifest *m = full_manifest(id);

	free(m->name);
	m->name = NULL;
	m->description = xstrdup("after the upgrade");
	m->parent_id = xstrdup(parent);
	m->incremental = true;
	m->snapshot_id = xstrdup("snap-1");
	m->data_timestamp = m->created_at - 1000;
	m->compression = CBT_COMPRESS_ZLIB;
	m->hashing = CBT_MANIFEST_HASH_HMAC_SHA256;
	m->key_fingerprint = xstrdup("00112233445566778899aabbccddeeff"
				     "00112233445566778899aabbccddeeff");
	m->volume.size = 64 * MIB;
	m->chunk_size = 64 * 1024;
	m->nr_chunks = 1024;
	m->stats.bytes_read = 3 * 64 * 1024;
	m->stats.chunks_new = 2;
	m->tracking.checkpoint = 8;
	m->tracking.full_read = false;
	free(m->tracking.full_read_reason);
	m->tracking.full_read_reason = NULL;
	m->service = CBT_SERVICE_SWIFT;
	return m;
}

static void assert_str_or_null(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_manifest_equal(const struct cbt_manifest *a, const struct cbt_manifest *b)
{
	assert_string_equal(a->backup_id, b->backup_id);
	assert_str_or_null(a->name, b->name);
	assert_str_or_null(a->description, b->description);
	assert_string_equal(a->project, b->project);
	assert_string_equal(a->volume.id, b->volume.id);
	assert_string_equal(a->volume.name, b->volume.name);
	assert_int_equal(a->volume.size, b->volume.size);
	assert_str_or_null(a->volume.origin_uuid, b->volume.origin_uuid);
	assert_str_or_null(a->parent_id, b->parent_id);
	assert_int_equal(a->incremental, b->incremental);
	assert_str_or_null(a->snapshot_id, b->snapshot_id);
	assert_int_equal(a->created_at, b->created_at);
	assert_int_equal(a->data_timestamp, b->data_timestamp);
	assert_int_equal(a->finished_at, b->finished_at);
	assert_int_equal(a->chunk_size, b->chunk_size);
	assert_int_equal(a->nr_chunks, b->nr_chunks);
	assert_int_equal(a->compression, b->compression);
	assert_int_equal(a->hashing, b->hashing);
	assert_str_or_null(a->key_fingerprint, b->key_fingerprint);
	assert_int_equal(a->encryption, b->encryption);
	assert_true(cbt_chunk_id_equal(&a->index.root, &b->index.root));
	assert_int_equal(a->index.pages, b->index.pages);
	assert_memory_equal(&a->stats, &b->stats, sizeof(a->stats));
	assert_str_or_null(a->tracking.generation, b->tracking.generation);
	assert_int_equal(a->tracking.checkpoint, b->tracking.checkpoint);
	assert_int_equal(a->tracking.full_read, b->tracking.full_read);
	assert_str_or_null(a->tracking.full_read_reason, b->tracking.full_read_reason);
	assert_int_equal(a->service, b->service);
	assert_string_equal(a->container, b->container);
}

/* Write m, read it back, compare; and the JSON is stable and sorted. */
static void round_trip(struct cbt_store *s, const struct cbt_manifest *m)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *back = NULL, *again = NULL;
	_cleanup_(freep) char *json = NULL, *json2 = NULL, *err = NULL;
	_cleanup_(freep) void *raw = NULL;
	char key[CBT_MANIFEST_KEY_SIZE];
	size_t len = 0;

	assert_int_equal(cbt_manifest_write(s, m, &err), 0);
	assert_null(err);
	assert_int_equal(cbt_manifest_read(s, m->backup_id, &back, &err), 0);
	assert_manifest_equal(m, back);

	assert_int_equal(cbt_manifest_key(m->backup_id, key, sizeof(key)), 0);
	assert_int_equal(cbt_store_get(s, key, 0, &raw, &len), 0);
	assert_int_equal(cbt_manifest_to_json(back, 0, &json, &err), 0);
	assert_int_equal(len, strlen(json) + 1);
	assert_memory_equal(raw, json, strlen(json));
	assert_int_equal(((char *)raw)[len - 1], '\n');
	/* Sorted keys: a few in order. */
	assert_true(strstr(json, "\"backup_id\"") < strstr(json, "\"chunk_size\""));
	assert_true(strstr(json, "\"chunk_size\"") < strstr(json, "\"format\""));
	assert_true(strstr(json, "\"tracking\"") < strstr(json, "\"version\""));
	assert_non_null(strstr(json, "\"format\": \"cbtship-manifest\""));
	assert_non_null(strstr(json, "\"version\": 2"));

	assert_int_equal(cbt_manifest_from_json(json, strlen(json), &again, &err), 0);
	assert_int_equal(cbt_manifest_to_json(again, 0, &json2, &err), 0);
	assert_string_equal(json, json2);
}

static void round_trip_full(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = full_manifest(FULL_ID);
	_cleanup_(freep) char *json = NULL, *err = NULL;

	round_trip(f->store, m);
	assert_int_equal(cbt_manifest_to_json(m, CBT_MANIFEST_JSON_COMPACT, &json, &err), 0);
	assert_null(strchr(json, '\n'));
	assert_non_null(strstr(json, "\"created_at\":\"2026-11-24T10:40:00.123456Z\""));
	assert_non_null(strstr(json, "\"finished_at\":\"2026-11-24T10:40:42.123457Z\""));
	assert_non_null(strstr(json, "\"parent_id\":null"));
	assert_non_null(strstr(json, "\"hashing\":\"sha256\""));
	assert_non_null(strstr(json, "\"key_fingerprint\":null"));
	assert_non_null(strstr(json, "\"encryption\":\"none\""));
	assert_non_null(strstr(json, "\"index\":{\"pages\":1,\"root\":\"" ROOT "\"}"));
}

static void round_trip_incremental(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = incr_manifest(INCR_ID, FULL_ID);
	_cleanup_(freep) char *json = NULL, *err = NULL;

	round_trip(f->store, m);
	assert_int_equal(cbt_manifest_to_json(m, CBT_MANIFEST_JSON_COMPACT, &json, &err), 0);
	assert_non_null(strstr(json, "\"parent_id\":\"" FULL_ID "\""));
	assert_non_null(strstr(json, "\"incremental\":true"));
	assert_non_null(strstr(json, "\"hashing\":\"hmac-sha256\""));
	assert_non_null(strstr(json, "\"service\":\"swift\""));
}

/* The JSON of m with the value at a dotted path replaced (NULL: removed). */
static char *mutate(const struct cbt_manifest *m, const char *path, json_t *value)
{
	_cleanup_(freep) char *json = NULL, *err = NULL;
	char parent[64], *dot;
	json_t *root, *obj;
	char *out;

	assert_int_equal(cbt_manifest_to_json(m, 0, &json, &err), 0);
	root = json_loads(json, 0, NULL);
	assert_non_null(root);
	obj = root;
	snprintf(parent, sizeof(parent), "%s", path);
	dot = strchr(parent, '.');
	if (dot) {
		*dot = '\0';
		obj = json_object_get(root, parent);
		assert_non_null(obj);
		path = dot + 1;
	}
	if (value)
		assert_int_equal(json_object_set_new(obj, path, value), 0);
	else
		assert_int_equal(json_object_del(obj, path), 0);
	out = json_dumps(root, JSON_SORT_KEYS);
	assert_non_null(out);
	json_decref(root);
	return out;
}

/* Parsing json fails with r and a message containing each of the words. */
static void expect_fail(const char *json, size_t len, int r, const char *word1, const char *word2)
{
	struct cbt_manifest *m = NULL;
	_cleanup_(freep) char *err = NULL;

	assert_int_equal(cbt_manifest_from_json(json, len, &m, &err), r);
	assert_null(m);
	assert_non_null(err);
	if (!strstr(err, word1) || (word2 && !strstr(err, word2)))
		fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", err, word1, word2 ? word2 : "");
}

static void expect_mutation(const struct cbt_manifest *m, const char *path, json_t *value, int r,
			    const char *word1, const char *word2)
{
	_cleanup_(freep) char *json = mutate(m, path, value);

	expect_fail(json, strlen(json), r, word1, word2);
}

static const char *const required[] = {
	"format",
	"version",
	"backup_id",
	"name",
	"description",
	"project",
	"volume",
	"volume.id",
	"volume.name",
	"volume.size",
	"volume.origin_uuid",
	"parent_id",
	"incremental",
	"snapshot_id",
	"created_at",
	"data_timestamp",
	"finished_at",
	"chunk_size",
	"nr_chunks",
	"compression",
	"hashing",
	"key_fingerprint",
	"encryption",
	"index",
	"index.root",
	"index.pages",
	"statistics",
	"statistics.bytes_read",
	"statistics.bytes_stored",
	"statistics.chunks_total",
	"statistics.chunks_new",
	"statistics.chunks_zero",
	"statistics.objects_written",
	"tracking",
	"tracking.generation",
	"tracking.checkpoint",
	"tracking.full_read",
	"tracking.full_read_reason",
	"service",
	"container",
};

static void missing_fields(void **state)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = incr_manifest(INCR_ID, FULL_ID);
	char want[96];

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(required); i++) {
		if (strcmp(required[i], "format") == 0) {
			expect_mutation(m, "format", NULL, -EMEDIUMTYPE, "not a cbtship manifest",
					"no \"format\" field");
			continue;
		}
		snprintf(want, sizeof(want), "missing required field '%s'", required[i]);
		expect_mutation(m, required[i], NULL, -EINVAL, want, NULL);
	}
}

/* A value of the wrong type for each kind of field. */
static void wrong_types(void **state)
{
	static const struct {
		const char *path;
		const char *want;
		int kind; /* 0 integer 5, 1 string "x", 2 array, 3 null, 4 real */
	} cases[] = {
		{ "version", "an integer", 1 },
		{ "backup_id", "a string", 0 },
		{ "backup_id", "a string", 3 },
		{ "name", "a string or null", 0 },
		{ "project", "a string", 2 },
		{ "volume", "an object", 1 },
		{ "volume.size", "an integer", 1 },
		{ "volume.size", "an integer", 4 },
		{ "volume.origin_uuid", "a string or null", 0 },
		{ "parent_id", "a string or null", 2 },
		{ "incremental", "a boolean", 0 },
		{ "created_at", "a string", 0 },
		{ "chunk_size", "an integer", 1 },
		{ "nr_chunks", "an integer", 3 },
		{ "compression", "a string", 0 },
		{ "hashing", "a string", 3 },
		{ "key_fingerprint", "a string or null", 0 },
		{ "encryption", "a string", 0 },
		{ "index", "an object", 2 },
		{ "index.root", "a string", 0 },
		{ "index.pages", "an integer", 1 },
		{ "statistics", "an object", 3 },
		{ "statistics.bytes_stored", "an integer", 1 },
		{ "tracking.full_read", "a boolean", 1 },
		{ "tracking.checkpoint", "an integer", 4 },
		{ "service", "a string", 0 },
		{ "container", "a string", 3 },
	};
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = incr_manifest(INCR_ID, FULL_ID);
	char want[128];

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		json_t *v = cases[i].kind == 0	 ? json_integer(5)
			    : cases[i].kind == 1 ? json_string("x")
			    : cases[i].kind == 2 ? json_array()
			    : cases[i].kind == 3 ? json_null()
						 : json_real(1.5);

		snprintf(want, sizeof(want), "field '%s' must be %s, not", cases[i].path,
			 cases[i].want);
		expect_mutation(m, cases[i].path, v, -EINVAL, want, NULL);
	}
}

static void bad_values(void **state)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = full_manifest(FULL_ID);
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *inc = incr_manifest(INCR_ID, FULL_ID);

	(void)state;
	/* Ids. */
	expect_mutation(m, "index.root",
			json_string("BA7816BF8F01CFEA414140DE5DAE2223B00361A3"
				    "96177A9CB410FF61F20015AD"),
			-EINVAL, "'index.root'", "64 lowercase hex");
	expect_mutation(m, "index.root", json_string(ROOT "0"), -EINVAL, "'index.root'", NULL);
	expect_mutation(m, "index.root", json_string("abc"), -EINVAL, "'index.root'", NULL);
	expect_mutation(m, "backup_id", json_string("../etc/passwd"), -EINVAL, "'backup_id'",
			"not a valid id");
	expect_mutation(m, "backup_id", json_string(""), -EINVAL, "'backup_id'", NULL);
	expect_mutation(m, "volume.id", json_string("a b"), -EINVAL, "'volume.id'", NULL);
	expect_mutation(inc, "parent_id", json_string("x/y"), -EINVAL, "'parent_id'", NULL);
	expect_mutation(inc, "parent_id", json_string(INCR_ID), -EINVAL, "'parent_id'", "itself");
	expect_mutation(inc, "key_fingerprint", json_string("00"), -EINVAL, "'key_fingerprint'",
			"64 lowercase hex");
	expect_mutation(m, "key_fingerprint", json_string(ROOT), -EINVAL, "'key_fingerprint'",
			"null");

	/* Negative numbers. */
	expect_mutation(m, "volume.size", json_integer(-1), -EINVAL, "'volume.size'", "negative");
	expect_mutation(m, "statistics.bytes_read", json_integer(-5), -EINVAL,
			"'statistics.bytes_read'", "negative");
	expect_mutation(m, "index.pages", json_integer(-1), -EINVAL, "'index.pages'", "negative");

	/* Chunk size: a power of two in 4 KiB .. 16 MiB. */
	expect_mutation(m, "chunk_size", json_integer(2048), -EINVAL, "'chunk_size'",
			"power of two");
	expect_mutation(m, "chunk_size", json_integer(3 << 20), -EINVAL, "'chunk_size'", NULL);
	expect_mutation(m, "chunk_size", json_integer(32 << 20), -EINVAL, "'chunk_size'", NULL);
	expect_mutation(m, "chunk_size", json_integer(0), -EINVAL, "'chunk_size'", NULL);
	expect_mutation(m, "chunk_size", json_integer(INT64_C(1) << 40), -EINVAL, "'chunk_size'",
			"too large");

	/* nr_chunks = ceil(size / chunk_size): 11 here. */
	expect_mutation(m, "nr_chunks", json_integer(10), -EINVAL, "'nr_chunks'", "has 11");
	expect_mutation(m, "nr_chunks", json_integer(12), -EINVAL, "'nr_chunks'", NULL);
	expect_mutation(m, "volume.size", json_integer(10 * MIB), -EINVAL, "'nr_chunks'", "has 10");

	/* Enumerations, times, consistency. */
	expect_mutation(m, "compression", json_string("bz2"), -EINVAL, "'compression'",
			"none, zlib, zstd");
	expect_mutation(m, "compression", json_string("ZSTD"), -EINVAL, "'compression'", NULL);
	expect_mutation(m, "hashing", json_string("md5"), -EINVAL, "'hashing'", NULL);
	expect_mutation(m, "service", json_string("s3"), -EINVAL, "'service'",
			"posix, swift, ceph, nfs");
	expect_mutation(m, "encryption", json_string("chacha20-poly1305"), -EOPNOTSUPP,
			"encryption", "not supported");
	expect_mutation(m, "encryption", json_string("aes-256-gcm"), -EINVAL, "'encryption'",
			"hmac-sha256");
	expect_mutation(m, "created_at", json_string("2026-11-24 08:00:00"), -EINVAL,
			"'created_at'", "YYYY-MM-DDTHH:MM:SS.ffffffZ");
	expect_mutation(m, "created_at", json_string("2026-02-30T08:00:00.000000Z"), -EINVAL,
			"'created_at'", NULL);
	expect_mutation(m, "finished_at", json_string("2026-11-24T09:00:00.000000Z"), -EINVAL,
			"'finished_at'", "before");
	expect_mutation(m, "incremental", json_true(), -EINVAL, "'parent_id'", "incremental");
	expect_mutation(inc, "parent_id", json_null(), -EINVAL, "'parent_id'", "incremental");
	expect_mutation(m, "hashing", json_string("hmac-sha256"), -EINVAL, "'key_fingerprint'",
			NULL);
	expect_mutation(m, "project", json_string(""), -EINVAL, "'project'", "empty");
	expect_mutation(m, "surprise", json_integer(1), -EINVAL, "unknown field 'surprise'", NULL);
	expect_mutation(m, "volume.extra", json_integer(1), -EINVAL, "unknown field 'volume.extra'",
			NULL);
	expect_mutation(m, "version", json_integer(0), -EINVAL, "'version'", NULL);
}

/*
 * Sizes are bounded by what an index addresses (2^50 chunks): a
 * volume.size near 2^63 in 4 KiB chunks (2^51) is refused with its reason
 * instead of reaching a restore or verify that walks its chunks.
 */
static void size_bounded(void **state)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = full_manifest(FULL_ID);
	_cleanup_(freep) char *err = NULL, *json = NULL;

	(void)state;
	m->chunk_size = 4096;
	m->volume.size = INT64_MAX;
	m->nr_chunks = (m->volume.size + 4095) / 4096;
	assert_int_equal(cbt_manifest_check(m, &err), -EINVAL);
	assert_non_null(strstr(err, "'volume.size' is 9223372036854775807"));
	assert_non_null(strstr(err, "more than an index addresses (1125899906842624)"));
	free(err);
	err = NULL;
	assert_int_equal(cbt_manifest_to_json(m, 0, &json, &err), -EINVAL);
	free(err);
	err = NULL;
	/* The largest: exactly 2^50 chunks. */
	m->volume.size = (uint64_t)4096 << 50;
	m->nr_chunks = UINT64_C(1) << 50;
	assert_int_equal(cbt_manifest_check(m, &err), 0);
	m->volume.size++;
	m->nr_chunks++;
	assert_int_equal(cbt_manifest_check(m, &err), -EINVAL);
}

static void wrong_format_and_version(void **state)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = full_manifest(FULL_ID);
	static const char dup[] = "{\"format\":\"cbtship-manifest\",\"format\":\"x\"}";

	(void)state;
	expect_mutation(m, "format", json_string("restic-snapshot"), -EMEDIUMTYPE,
			"not a cbtship manifest", "\"restic-snapshot\"");
	expect_mutation(m, "format", json_integer(1), -EMEDIUMTYPE, "not a cbtship manifest", NULL);
	expect_mutation(m, "version", json_integer(3), -EPROTONOSUPPORT, "version 3",
			"newer than this cbtship supports (2)");
	expect_fail("[1,2]", 5, -EMEDIUMTYPE, "not a cbtship manifest", "an array");
	expect_fail("not json", 8, -EBADMSG, "not valid JSON", NULL);
	expect_fail("{\"format\":", 10, -EBADMSG, "truncated", NULL);
	expect_fail("", 0, -EBADMSG, "truncated", NULL);
	expect_fail(dup, strlen(dup), -EBADMSG, "duplicate", NULL);
}

/* What the store holds under a manifest key is checked, never trusted. */
static void corrupt_in_store(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = full_manifest(FULL_ID);
	_cleanup_(freep) char *json = NULL, *err = NULL;
	_cleanup_(freep) void *big = NULL;
	struct cbt_manifest *back = NULL;
	char key[CBT_MANIFEST_KEY_SIZE];
	static const uint8_t junk[] = { 0x00, 0xff, 0x7b, 0x22, 0x80, 0x01 };

	assert_int_equal(cbt_manifest_to_json(m, 0, &json, &err), 0);
	assert_int_equal(cbt_manifest_key(FULL_ID, key, sizeof(key)), 0);

	/* Truncated: every prefix is refused cleanly. */
	for (size_t n = 0; n < strlen(json); n += 7) {
		assert_int_equal(cbt_store_put(f->store, key, json, n), 0);
		assert_int_equal(cbt_manifest_read(f->store, FULL_ID, &back, &err), -EBADMSG);
		assert_null(back);
		assert_non_null(strstr(err, key));
	}
	assert_int_equal(cbt_store_put(f->store, key, json, strlen(json) / 2), 0);
	assert_int_equal(cbt_manifest_read(f->store, FULL_ID, &back, &err), -EBADMSG);
	assert_non_null(strstr(err, "truncated"));

	/* Binary garbage. */
	assert_int_equal(cbt_store_put(f->store, key, junk, sizeof(junk)), 0);
	assert_int_equal(cbt_manifest_read(f->store, FULL_ID, &back, &err), -EBADMSG);
	assert_non_null(strstr(err, "not valid JSON"));
	assert_non_null(strstr(err, "NUL byte"));
	assert_int_equal(cbt_store_put(f->store, key, junk + 1, sizeof(junk) - 1), 0);
	assert_int_equal(cbt_manifest_read(f->store, FULL_ID, &back, &err), -EBADMSG);
	assert_non_null(strstr(err, "not valid JSON"));

	/* Far too large to be a manifest. */
	big = calloc(1, CBT_MANIFEST_MAX_SIZE + 1);
	assert_non_null(big);
	assert_int_equal(cbt_store_put(f->store, key, big, CBT_MANIFEST_MAX_SIZE + 1), 0);
	assert_int_equal(cbt_manifest_read(f->store, FULL_ID, &back, &err), -EFBIG);
	assert_non_null(strstr(err, "larger than"));

	/* Another backup's manifest under this key. */
	free(m->backup_id);
	m->backup_id = xstrdup(INCR_ID);
	free(json);
	json = NULL;
	assert_int_equal(cbt_manifest_to_json(m, 0, &json, &err), 0);
	assert_int_equal(cbt_store_put(f->store, key, json, strlen(json)), 0);
	assert_int_equal(cbt_manifest_read(f->store, FULL_ID, &back, &err), -EXDEV);
	assert_non_null(strstr(err, INCR_ID));

	/* Missing, and a bad id. */
	assert_int_equal(cbt_manifest_read(f->store, "nope", &back, &err), -ENOENT);
	assert_non_null(strstr(err, "has no manifest"));
	assert_int_equal(cbt_manifest_read(f->store, "../x", &back, &err), -EINVAL);
	assert_null(back);

	/* Nothing invalid is ever written. */
	m->chunk_size = 1000;
	assert_int_equal(cbt_manifest_write(f->store, m, &err), -EINVAL);
	assert_non_null(strstr(err, "'chunk_size'"));
	assert_int_equal(cbt_manifest_read(f->store, INCR_ID, &back, &err), -ENOENT);
}

static char *hex_of(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02x", p[i]);
	return s;
}

static char *b64_of(const void *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);

	assert_non_null(s);
	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

static void assert_no_key(const char *text, const uint8_t *key, size_t n)
{
	_cleanup_(freep) char *hex = hex_of(key, n), *b64 = b64_of(key, n);
	char upper[2 * 32 + 1];

	for (size_t i = 0; i <= strlen(hex); i++)
		upper[i] = (char)(hex[i] >= 'a' ? hex[i] - 'a' + 'A' : hex[i]);
	assert_null(strstr(text, hex));
	assert_null(strstr(text, upper));
	assert_null(strstr(text, b64));
	/* And not the raw bytes either (a key can be printable). */
	assert_null(memmem(text, strlen(text), key, n));
}

static void no_secrets(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = incr_manifest(INCR_ID, FULL_ID);
	_cleanup_(freep) char *json = NULL, *err = NULL, *url = NULL;
	_cleanup_(freep) void *raw = NULL;
	char fp[CBT_KEY_FINGERPRINT_HEX_SIZE], fp2[CBT_KEY_FINGERPRINT_HEX_SIZE];
	char key_name[CBT_MANIFEST_KEY_SIZE], *text;
	uint8_t key[32], decoded[4096];
	int n;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0xa5 ^ (i * 37));
	assert_int_equal(cbt_manifest_key_fingerprint(key, sizeof(key), fp), 0);
	assert_int_equal(strlen(fp), 64);
	assert_int_equal(cbt_manifest_key_fingerprint(key, sizeof(key), fp2), 0);
	assert_string_equal(fp, fp2);
	key[0] ^= 1;
	assert_int_equal(cbt_manifest_key_fingerprint(key, sizeof(key), fp2), 0);
	assert_string_not_equal(fp, fp2);
	key[0] ^= 1;
	assert_int_equal(cbt_manifest_key_fingerprint(NULL, 0, fp2), -EINVAL);

	free(m->key_fingerprint);
	m->key_fingerprint = xstrdup(fp);
	assert_int_equal(cbt_manifest_to_json(m, 0, &json, &err), 0);
	assert_non_null(strstr(json, fp));
	assert_no_key(json, key, sizeof(key));

	/* The stored object too. */
	size_t len = 0;
	assert_int_equal(cbt_manifest_write(f->store, m, &err), 0);
	assert_int_equal(cbt_manifest_key(INCR_ID, key_name, sizeof(key_name)), 0);
	assert_int_equal(cbt_store_get(f->store, key_name, 0, &raw, &len), 0);
	text = calloc(1, len + 1);
	assert_non_null(text);
	memcpy(text, raw, len);
	assert_non_null(strstr(text, fp));
	assert_no_key(text, key, sizeof(key));
	free(text);

	/* The export record, encoded and decoded. */
	assert_int_equal(cbt_manifest_export_url(m, &url, &err), 0);
	assert_no_key(url, key, sizeof(key));
	n = EVP_DecodeBlock(decoded, (const unsigned char *)url, (int)strlen(url));
	assert_true(n > 0 && (size_t)n < sizeof(decoded));
	decoded[n] = '\0';
	assert_non_null(strstr((char *)decoded, fp));
	assert_no_key((char *)decoded, key, sizeof(key));
}

static char *url_of(const char *json)
{
	return b64_of(json, strlen(json));
}

static void expect_import_fail(const char *url, int r, const char *word)
{
	struct cbt_manifest *m = NULL;
	_cleanup_(freep) char *err = NULL;

	assert_int_equal(cbt_manifest_import_url(url, &m, &err), r);
	assert_null(m);
	assert_non_null(err);
	if (!strstr(err, word))
		fail_msg("message \"%s\" lacks \"%s\"", err, word);
}

static void export_import(void **state)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = incr_manifest(INCR_ID, FULL_ID);
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *back = NULL;
	_cleanup_(freep) char *url = NULL, *err = NULL, *json = NULL;
	uint8_t decoded[4096];
	json_t *rec;
	int n;

	(void)state;
	assert_int_equal(cbt_manifest_export_url(m, &url, &err), 0);
	for (const char *p = url; *p; p++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789+/=",
				       *p));
	assert_int_equal(cbt_manifest_import_url(url, &back, &err), 0);
	assert_manifest_equal(m, back);
	assert_string_equal(cbt_service_to_string(back->service), "swift");

	/* The record: compact JSON with service and container beside the manifest. */
	n = EVP_DecodeBlock(decoded, (const unsigned char *)url, (int)strlen(url));
	assert_true(n > 0 && (size_t)n < sizeof(decoded));
	decoded[n] = '\0';
	assert_null(strchr((char *)decoded, '\n'));
	rec = json_loads((char *)decoded, 0, NULL);
	assert_non_null(rec);
	assert_string_equal(json_string_value(json_object_get(rec, "format")),
			    "cbtship-backup-record");
	assert_int_equal(json_integer_value(json_object_get(rec, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(rec, "service")), "swift");
	assert_string_equal(json_string_value(json_object_get(rec, "container")), "backups/demo");
	assert_true(json_is_object(json_object_get(rec, "manifest")));

	/* A newer record, a service that disagrees with the manifest. */
	json_object_set_new(rec, "version", json_integer(2));
	json = json_dumps(rec, JSON_COMPACT);
	free(url);
	url = url_of(json);
	expect_import_fail(url, -EPROTONOSUPPORT, "newer");
	free(json);
	json_object_set_new(rec, "version", json_integer(1));
	json_object_set_new(rec, "service", json_string("posix"));
	json = json_dumps(rec, JSON_COMPACT);
	free(url);
	url = url_of(json);
	expect_import_fail(url, -EINVAL, "service \"posix\" differs");
	free(json);
	json_object_set_new(rec, "service", json_string("swift"));
	json_object_set_new(json_object_get(rec, "manifest"), "version", json_integer(9));
	json = json_dumps(rec, JSON_COMPACT);
	free(url);
	url = url_of(json);
	expect_import_fail(url, -EPROTONOSUPPORT, "manifest version 9");
	json_decref(rec);
	free(url);
	url = NULL;
}

static void import_refuses(void **state)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = full_manifest(FULL_ID);
	_cleanup_(freep) char *url = NULL, *err = NULL, *foreign = NULL, *notjson = NULL,
			      *bare = NULL, *json = NULL;
	char *bad;

	(void)state;
	assert_int_equal(cbt_manifest_export_url(m, &url, &err), 0);

	/* Corrupt base64: a foreign character, a truncated string, whitespace, empty. */
	bad = xstrdup(url);
	bad[10] = '!';
	expect_import_fail(bad, -EBADMSG, "not valid base64");
	strcpy(bad, url);
	bad[strlen(bad) - 1] = '\0';
	expect_import_fail(bad, -EBADMSG, "not valid base64");
	strcpy(bad, url);
	bad[4] = ' ';
	expect_import_fail(bad, -EBADMSG, "not valid base64");
	bad[4] = '=';
	expect_import_fail(bad, -EBADMSG, "not valid base64");
	free(bad);
	expect_import_fail("", -EBADMSG, "empty");

	/* Base64 of something that is not the record. */
	notjson = url_of("hello, world");
	expect_import_fail(notjson, -EBADMSG, "not valid JSON");
	foreign = url_of("{\"backup_id\":\"x\",\"service\":\"cinder.backup.drivers.swift\"}");
	expect_import_fail(foreign, -EMEDIUMTYPE, "not a cbtship backup record");
	assert_int_equal(cbt_manifest_to_json(m, CBT_MANIFEST_JSON_COMPACT, &json, &err), 0);
	bare = url_of(json);
	expect_import_fail(bare, -EMEDIUMTYPE, "not a cbtship backup record");
	*strrchr(json, ',') = '\0'; /* cut between two fields, not inside an escape */
	free(bare);
	bare = url_of(json);
	expect_import_fail(bare, -EBADMSG, "truncated");
}

/* backup-import's decoding of a record (SERVICE, URL), as tests/fuzz/fuzz-record.c drives it. */
static void record_decode(void **state)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = full_manifest(FULL_ID), *got = NULL;
	_cleanup_(freep) char *url = NULL, *err = NULL;

	(void)state;
	assert_int_equal(cbt_manifest_export_url(m, &url, &err), 0);
	assert_int_equal(cbtship_backup_record_decode("posix", url, &got, &err), 0);
	assert_null(err);
	assert_manifest_equal(m, got);
	got = cbt_manifest_free(got);
	assert_int_equal(cbtship_backup_record_decode(
				 "cinder.backup.drivers.posix.PosixBackupDriver", url, &got, &err),
			 0);
	got = cbt_manifest_free(got);

	assert_int_equal(cbtship_backup_record_decode("tape", url, &got, &err), -EINVAL);
	assert_non_null(strstr(err, "unknown backup_service 'tape'"));
	free(err);
	assert_int_equal(cbtship_backup_record_decode("swift", url, &got, &err), -EINVAL);
	assert_non_null(strstr(err, "the record is of a posix backup, not swift"));
	free(err);
	assert_int_equal(cbtship_backup_record_decode("posix", "aGVsbG8=", &got, &err), -EBADMSG);
	assert_non_null(strstr(err, "the backup_url is not a cbtship backup record"));
	assert_null(got);
}

struct seen {
	char ids[8][CBT_BACKUP_ID_MAX + 1];
	int n;
};

static int collect(const char *backup_id, void *userdata)
{
	struct seen *s = userdata;

	assert_true(s->n < 8);
	snprintf(s->ids[s->n++], sizeof(s->ids[0]), "%s", backup_id);
	return 0;
}

static int stop_at_first(const char *backup_id, void *userdata)
{
	(void)backup_id, (void)userdata;
	return 42;
}

static void list_manifests(void **state)
{
	struct fixture *f = *state;
	static const char *const ids[] = { "c-3", "a-1", "b-2" };
	struct seen seen = { .n = 0 };
	_cleanup_(freep) char *err = NULL;

	assert_int_equal(cbt_manifest_list(f->store, collect, &seen), 0);
	assert_int_equal(seen.n, 0);

	for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
		_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = full_manifest(ids[i]);

		assert_int_equal(cbt_manifest_write(f->store, m, &err), 0);
	}
	/* Other objects in the repository are not manifests. */
	assert_int_equal(cbt_store_put(f->store, "manifests/notes.txt", "x", 1), 0);
	assert_int_equal(cbt_store_put(f->store, "chunks/ba/" ROOT, "x", 1), 0);
	assert_int_equal(cbt_store_put(f->store, "manifest.json", "x", 1), 0);

	assert_int_equal(cbt_manifest_list(f->store, collect, &seen), 0);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.ids[0], "a-1");
	assert_string_equal(seen.ids[1], "b-2");
	assert_string_equal(seen.ids[2], "c-3");
	assert_int_equal(cbt_manifest_list(f->store, stop_at_first, NULL), 42);
}

/* Version 2: an encrypted manifest carries a MAC under the key; version 1 still reads. */
static void mac_and_version_1(void **state)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = incr_manifest(INCR_ID, FULL_ID);
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *back = NULL, *old = NULL;
	_cleanup_(freep) char *json = NULL, *err = NULL, *v1 = NULL;
	uint8_t key[32], other[32];
	char mac[CBT_CHUNK_ID_HEX_SIZE];
	struct cbt_chunk_id root;

	(void)state;
	memset(key, 0x5a, sizeof(key));
	memset(other, 0x5b, sizeof(other));
	m->encryption = CBT_MANIFEST_ENCRYPTION_AES_256_GCM;
	assert_int_equal(m->version, 2);
	/* Encrypted without a MAC: refused on writing and on reading. */
	assert_int_equal(cbt_manifest_to_json(m, 0, &json, &err), -EINVAL);
	assert_non_null(strstr(err, "'mac'"));
	assert_int_equal(cbt_manifest_mac(m, key, sizeof(key), mac), 0);
	m->mac = xstrdup(mac);
	assert_int_equal(cbt_manifest_to_json(m, 0, &json, &err), 0);
	assert_int_equal(cbt_manifest_from_json(json, strlen(json), &back, &err), 0);
	assert_string_equal(back->mac, mac);
	assert_int_equal(cbt_manifest_mac_check(back, key, sizeof(key)), 0);
	assert_int_equal(cbt_manifest_mac_check(back, other, sizeof(other)), -EBADMSG);
	/* Any other field, the index root first, breaks it. */
	root = back->index.root;
	memset(back->index.root.bytes, 0, sizeof(back->index.root.bytes));
	assert_int_equal(cbt_manifest_mac_check(back, key, sizeof(key)), -EBADMSG);
	back->index.root = root;
	back->tracking.checkpoint++;
	assert_int_equal(cbt_manifest_mac_check(back, key, sizeof(key)), -EBADMSG);
	back->tracking.checkpoint--;
	assert_int_equal(cbt_manifest_mac_check(back, key, sizeof(key)), 0);
	expect_mutation(m, "mac", json_null(), -EINVAL, "'mac'", "encrypted");
	expect_mutation(m, "mac", json_string("xyz"), -EINVAL, "'mac'", NULL);
	expect_mutation(m, "mac", NULL, -EINVAL, "missing required field 'mac'", NULL);

	/* A plain manifest has a null MAC, and nothing to check. */
	back = cbt_manifest_free(back);
	{
		_cleanup_(cbt_manifest_freep) struct cbt_manifest *plain = full_manifest(FULL_ID);

		expect_mutation(plain, "mac", json_string(mac), -EINVAL, "'mac'", "none");
		assert_int_equal(cbt_manifest_mac_check(plain, key, sizeof(key)), 1);
	}

	/* Version 1 (written before MACs): no "mac" field; an encrypted one has nothing to check.
	 */
	free(m->mac);
	m->mac = NULL;
	m->version = 1;
	assert_int_equal(cbt_manifest_to_json(m, 0, &v1, &err), 0);
	assert_null(strstr(v1, "\"mac\""));
	assert_non_null(strstr(v1, "\"version\": 1"));
	assert_int_equal(cbt_manifest_from_json(v1, strlen(v1), &old, &err), 0);
	assert_int_equal(old->version, 1);
	assert_null(old->mac);
	assert_int_equal(cbt_manifest_mac_check(old, key, sizeof(key)), 1);
	expect_mutation(m, "mac", json_string(mac), -EINVAL, "unknown field 'mac'", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trip_full, setup, teardown),
		cmocka_unit_test_setup_teardown(round_trip_incremental, setup, teardown),
		cmocka_unit_test(missing_fields),
		cmocka_unit_test(wrong_types),
		cmocka_unit_test(bad_values),
		cmocka_unit_test(mac_and_version_1),
		cmocka_unit_test(wrong_format_and_version),
		cmocka_unit_test_setup_teardown(corrupt_in_store, setup, teardown),
		cmocka_unit_test_setup_teardown(no_secrets, setup, teardown),
		cmocka_unit_test(export_import),
		cmocka_unit_test(import_refuses),
		cmocka_unit_test(record_decode),
		cmocka_unit_test(size_bounded),
		cmocka_unit_test_setup_teardown(list_manifests, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
