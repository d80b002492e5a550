/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The per-backup manifest: JSON codec, store I/O, export/import records. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cbtship/repo/index-page.h"
#include "cbtship/repo/manifest.h"
#include "cbtship/repo/object-key.h"

#define FINGERPRINT_DOMAIN "cbtship-key-fingerprint-v1"

static const char *const hashing_names[_CBT_MANIFEST_HASH_MAX] = {
	[CBT_MANIFEST_HASH_SHA256] = "sha256",
	[CBT_MANIFEST_HASH_HMAC_SHA256] = "hmac-sha256",
};

static const char *const encryption_names[_CBT_MANIFEST_ENCRYPTION_MAX] = {
	[CBT_MANIFEST_ENCRYPTION_NONE] = "none",
	[CBT_MANIFEST_ENCRYPTION_AES_256_GCM] = "aes-256-gcm",
};

/* Set *ret_error (when wanted) to a new message; returns r. */
__attribute__((format(printf, 3, 4))) static int fail(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (!ret_error)
		return r;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(*ret_error);
	*ret_error = s;
	return r;
}

/* Prefix an existing message (keeps it when out of memory). */
static void prefix_error(char **ret_error, const char *prefix)
{
	char *s = NULL;

	if (!ret_error || !*ret_error)
		return;
	if (asprintf(&s, "%s: %s", prefix, *ret_error) < 0)
		return;
	free(*ret_error);
	*ret_error = s;
}

int cbt_manifest_new(struct cbt_manifest **ret)
{
	struct cbt_manifest *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->version = CBT_MANIFEST_VERSION;
	m->compression = CBT_COMPRESS_DEFAULT;
	m->hashing = CBT_MANIFEST_HASH_SHA256;
	m->encryption = CBT_MANIFEST_ENCRYPTION_NONE;
	m->service = CBT_SERVICE_POSIX;
	*ret = m;
	return 0;
}

struct cbt_manifest *cbt_manifest_free(struct cbt_manifest *m)
{
	if (!m)
		return NULL;
	free(m->mac);
	free(m->backup_id);
	free(m->name);
	free(m->description);
	free(m->project);
	free(m->volume.id);
	free(m->volume.name);
	free(m->volume.origin_uuid);
	free(m->parent_id);
	free(m->snapshot_id);
	free(m->key_fingerprint);
	free(m->tracking.generation);
	free(m->tracking.full_read_reason);
	free(m->container);
	free(m);
	return NULL;
}

const char *cbt_manifest_hashing_to_string(enum cbt_manifest_hashing h)
{
	return (unsigned)h < _CBT_MANIFEST_HASH_MAX ? hashing_names[h] : NULL;
}

const char *cbt_manifest_encryption_to_string(enum cbt_manifest_encryption e)
{
	return (unsigned)e < _CBT_MANIFEST_ENCRYPTION_MAX ? encryption_names[e] : NULL;
}

static int lookup(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (s && names[i] && strcmp(names[i], s) == 0)
			return i;
	return -EINVAL;
}

int cbt_manifest_key_fingerprint(const uint8_t *key, size_t key_len,
				 char ret[static CBT_KEY_FINGERPRINT_HEX_SIZE])
{
	struct cbt_chunk_id digest;
	unsigned int n = 0;
	EVP_MD_CTX *ctx;
	int ok;

	if (!key || key_len == 0)
		return -EINVAL;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, FINGERPRINT_DOMAIN, strlen(FINGERPRINT_DOMAIN)) == 1 &&
	     EVP_DigestUpdate(ctx, key, key_len) == 1 &&
	     EVP_DigestFinal_ex(ctx, digest.bytes, &n) == 1 && n == CBT_CHUNK_ID_SIZE;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -EIO;
	cbt_chunk_id_to_hex(&digest, ret);
	return 0;
}

/* Times ------------------------------------------------------------------ */

#define TIME_LEN  27 /* 2026-01-02T03:04:05.123456Z */
#define TIME_SIZE (TIME_LEN + 1)

static int time_format(int64_t usec, char buf[static TIME_SIZE])
{
	time_t sec = (time_t)(usec / 1000000);
	long frac = (long)(usec % 1000000);
	struct tm tm;
	char date[20];

	if (usec < 0 || !gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999 ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) != 19)
		return -ERANGE;
	snprintf(buf, TIME_SIZE, "%s.%06ldZ", date, frac);
	return 0;
}

/* Exactly YYYY-MM-DDTHH:MM:SS.uuuuuuZ, a real date, from 1970 on. */
static int time_parse(const char *s, int64_t *ret)
{
	static const char pattern[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	char back[TIME_SIZE];
	struct tm tm = { 0 };
	long usec;
	time_t sec;

	if (strlen(s) != TIME_LEN)
		return -EINVAL;
	for (size_t i = 0; i < TIME_LEN; i++)
		if (pattern[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != pattern[i])
			return -EINVAL;
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	tm.tm_hour = atoi(s + 11);
	tm.tm_min = atoi(s + 14);
	tm.tm_sec = atoi(s + 17);
	usec = strtol(s + 20, NULL, 10);
	sec = timegm(&tm);
	if (sec < 0)
		return -EINVAL;
	*ret = (int64_t)sec * 1000000 + usec;
	/* Normalisation would turn 02-30 into 03-02: the round trip catches it. */
	if (time_format(*ret, back) < 0 || strcmp(back, s) != 0)
		return -EINVAL;
	return 0;
}

/* Checks on the struct --------------------------------------------------- */

static bool is_hex_id(const char *s)
{
	struct cbt_chunk_id id;

	return s && cbt_chunk_id_from_hex(s, &id) == 0;
}

static int check_id(const char *field, const char *id, char **ret_error)
{
	if (!id)
		return fail(ret_error, -EINVAL, "missing required field '%s'", field);
	if (cbt_backup_id_check(id) < 0)
		return fail(ret_error, -EINVAL,
			    "field '%s' is not a valid id (1 to %d characters among "
			    "A-Z a-z 0-9 _ -)",
			    field, CBT_BACKUP_ID_MAX);
	return 0;
}

static int check_text(const char *field, const char *s, bool nullable, char **ret_error)
{
	if (!s && !nullable)
		return fail(ret_error, -EINVAL, "missing required field '%s'", field);
	if (s && !nullable && !*s)
		return fail(ret_error, -EINVAL, "field '%s' is empty", field);
	return 0;
}

static int check_u64(const char *field, uint64_t v, char **ret_error)
{
	if (v > INT64_MAX)
		return fail(ret_error, -EINVAL, "field '%s' is too large (%" PRIu64 ")", field, v);
	return 0;
}

static int check_time(const char *field, int64_t t, char **ret_error)
{
	char buf[TIME_SIZE];

	if (time_format(t, buf) < 0)
		return fail(ret_error, -EINVAL, "field '%s' is out of range (%" PRId64 " us)",
			    field, t);
	return 0;
}

int cbt_manifest_check(const struct cbt_manifest *m, char **ret_error)
{
	uint64_t want;
	int r;

	if (m->version < 1 || m->version > CBT_MANIFEST_VERSION)
		return fail(ret_error, -EINVAL, "field 'version' is %d: not a valid version",
			    m->version);
	if ((r = check_id("backup_id", m->backup_id, ret_error)) < 0 ||
	    (r = check_text("project", m->project, false, ret_error)) < 0 ||
	    (r = check_id("volume.id", m->volume.id, ret_error)) < 0 ||
	    (r = check_text("volume.name", m->volume.name, false, ret_error)) < 0 ||
	    (r = check_u64("volume.size", m->volume.size, ret_error)) < 0)
		return r;
	if (!m->container)
		return fail(ret_error, -EINVAL, "missing required field 'container'");
	if (m->volume.origin_uuid && !*m->volume.origin_uuid)
		return fail(ret_error, -EINVAL, "field 'volume.origin_uuid' is empty (use null)");
	if (m->snapshot_id && (r = check_id("snapshot_id", m->snapshot_id, ret_error)) < 0)
		return r;

	if (m->incremental && !m->parent_id)
		return fail(ret_error, -EINVAL,
			    "field 'parent_id' is null, but 'incremental' is true");
	if (!m->incremental && m->parent_id)
		return fail(ret_error, -EINVAL,
			    "field 'parent_id' is set, but 'incremental' is false");
	if (m->parent_id) {
		if ((r = check_id("parent_id", m->parent_id, ret_error)) < 0)
			return r;
		if (strcmp(m->parent_id, m->backup_id) == 0)
			return fail(ret_error, -EINVAL,
				    "field 'parent_id' names the backup itself");
	}

	if ((r = check_time("created_at", m->created_at, ret_error)) < 0 ||
	    (r = check_time("data_timestamp", m->data_timestamp, ret_error)) < 0 ||
	    (r = check_time("finished_at", m->finished_at, ret_error)) < 0)
		return r;
	if (m->finished_at < m->created_at)
		return fail(ret_error, -EINVAL, "field 'finished_at' is before 'created_at'");

	if (m->chunk_size < CBT_MANIFEST_CHUNK_SIZE_MIN ||
	    m->chunk_size > CBT_MANIFEST_CHUNK_SIZE_MAX || (m->chunk_size & (m->chunk_size - 1)))
		return fail(ret_error, -EINVAL,
			    "field 'chunk_size' is %" PRIu32 ": must be a power of two from %d "
			    "(4 KiB) to %d (16 MiB)",
			    m->chunk_size, CBT_MANIFEST_CHUNK_SIZE_MIN,
			    CBT_MANIFEST_CHUNK_SIZE_MAX);
	want = m->volume.size / m->chunk_size + (m->volume.size % m->chunk_size != 0);
	if (m->nr_chunks != want)
		return fail(ret_error, -EINVAL,
			    "field 'nr_chunks' is %" PRIu64 ", but a volume of %" PRIu64
			    " bytes in chunks of %" PRIu32 " bytes has %" PRIu64,
			    m->nr_chunks, m->volume.size, m->chunk_size, want);
	/* What the index can address; a larger count would only be walked, never stored. */
	if (m->nr_chunks > CBT_INDEX_CHUNKS_MAX)
		return fail(ret_error, -EINVAL,
			    "field 'volume.size' is %" PRIu64 ": %" PRIu64 " chunks of %" PRIu32
			    " bytes, more than an index addresses (%" PRIu64 ")",
			    m->volume.size, m->nr_chunks, m->chunk_size, CBT_INDEX_CHUNKS_MAX);

	if (!cbt_compression_valid((int)m->compression))
		return fail(ret_error, -EINVAL, "field 'compression' is out of range (%d)",
			    (int)m->compression);
	if (!cbt_manifest_hashing_to_string(m->hashing))
		return fail(ret_error, -EINVAL, "field 'hashing' is out of range (%d)",
			    (int)m->hashing);
	if (m->hashing == CBT_MANIFEST_HASH_HMAC_SHA256 && !is_hex_id(m->key_fingerprint))
		return fail(ret_error, -EINVAL,
			    "field 'key_fingerprint' must be 64 lowercase hex digits when "
			    "'hashing' is hmac-sha256");
	if (m->hashing == CBT_MANIFEST_HASH_SHA256 && m->key_fingerprint)
		return fail(ret_error, -EINVAL,
			    "field 'key_fingerprint' must be null when 'hashing' is sha256");
	if (!cbt_manifest_encryption_to_string(m->encryption))
		return fail(ret_error, -EINVAL, "field 'encryption' is out of range (%d)",
			    (int)m->encryption);
	/* Plain SHA-256 ids of encrypted data would let anyone confirm a guessed chunk. */
	if (m->encryption != CBT_MANIFEST_ENCRYPTION_NONE &&
	    m->hashing != CBT_MANIFEST_HASH_HMAC_SHA256)
		return fail(ret_error, -EINVAL,
			    "field 'encryption' is %s, which needs 'hashing' hmac-sha256",
			    cbt_manifest_encryption_to_string(m->encryption));

	if ((r = check_u64("index.pages", m->index.pages, ret_error)) < 0 ||
	    (r = check_u64("statistics.bytes_read", m->stats.bytes_read, ret_error)) < 0 ||
	    (r = check_u64("statistics.bytes_stored", m->stats.bytes_stored, ret_error)) < 0 ||
	    (r = check_u64("statistics.chunks_total", m->stats.chunks_total, ret_error)) < 0 ||
	    (r = check_u64("statistics.chunks_new", m->stats.chunks_new, ret_error)) < 0 ||
	    (r = check_u64("statistics.chunks_zero", m->stats.chunks_zero, ret_error)) < 0 ||
	    (r = check_u64("statistics.objects_written", m->stats.objects_written, ret_error)) <
		    0 ||
	    (r = check_u64("tracking.checkpoint", m->tracking.checkpoint, ret_error)) < 0)
		return r;

	if (m->tracking.generation && !*m->tracking.generation)
		return fail(ret_error, -EINVAL, "field 'tracking.generation' is empty (use null)");
	if (!m->tracking.generation && m->tracking.checkpoint)
		return fail(ret_error, -EINVAL,
			    "field 'tracking.checkpoint' is set, but 'tracking.generation' is "
			    "null");
	if (!m->tracking.full_read && m->tracking.full_read_reason)
		return fail(ret_error, -EINVAL,
			    "field 'tracking.full_read_reason' is set, but "
			    "'tracking.full_read' is false");
	if (!cbt_service_to_string(m->service))
		return fail(ret_error, -EINVAL, "field 'service' is out of range (%d)",
			    (int)m->service);
	if (m->version < 2 && m->mac)
		return fail(ret_error, -EINVAL,
			    "field 'mac' is set, but a manifest of version 1 has none");
	if (m->version >= 2 && m->encryption != CBT_MANIFEST_ENCRYPTION_NONE && !is_hex_id(m->mac))
		return fail(ret_error, -EINVAL,
			    "field 'mac' must be 64 lowercase hex digits in an encrypted manifest");
	if (m->encryption == CBT_MANIFEST_ENCRYPTION_NONE && m->mac)
		return fail(ret_error, -EINVAL,
			    "field 'mac' must be null when 'encryption' is none");
	return 0;
}

/* To JSON ---------------------------------------------------------------- */

/* json_object_set_new() that remembers any failure in *ok. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (!v || json_object_set_new(o, key, v) < 0)
		*ok = false;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *u64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *time_json(int64_t t)
{
	char buf[TIME_SIZE];

	return time_format(t, buf) < 0 ? NULL : json_string(buf);
}

static json_t *manifest_to_object(const struct cbt_manifest *m)
{
	_cleanup_(json_decrefp) json_t *o = json_object();
	json_t *vol = json_object(), *idx = json_object(), *st = json_object(), *tr = json_object();
	char hex[CBT_CHUNK_ID_HEX_SIZE];
	bool ok = o != NULL;

	if (!o) {
		json_decref(vol), json_decref(idx), json_decref(st), json_decref(tr);
		return NULL;
	}
	put(o, "format", json_string(CBT_MANIFEST_FORMAT), &ok);
	put(o, "version",
	    json_integer(m->version >= 1 && m->version <= CBT_MANIFEST_VERSION ? m->version : 1),
	    &ok);
	if (m->version >= 2)
		put(o, "mac", str_or_null(m->mac), &ok);
	put(o, "backup_id", json_string(m->backup_id), &ok);
	put(o, "name", str_or_null(m->name), &ok);
	put(o, "description", str_or_null(m->description), &ok);
	put(o, "project", json_string(m->project), &ok);

	if (vol) {
		put(vol, "id", json_string(m->volume.id), &ok);
		put(vol, "name", json_string(m->volume.name), &ok);
		put(vol, "size", u64(m->volume.size), &ok);
		put(vol, "origin_uuid", str_or_null(m->volume.origin_uuid), &ok);
	}
	put(o, "volume", vol, &ok);

	put(o, "parent_id", str_or_null(m->parent_id), &ok);
	put(o, "incremental", json_boolean(m->incremental), &ok);
	put(o, "snapshot_id", str_or_null(m->snapshot_id), &ok);
	put(o, "created_at", time_json(m->created_at), &ok);
	put(o, "data_timestamp", time_json(m->data_timestamp), &ok);
	put(o, "finished_at", time_json(m->finished_at), &ok);
	put(o, "chunk_size", u64(m->chunk_size), &ok);
	put(o, "nr_chunks", u64(m->nr_chunks), &ok);
	put(o, "compression", json_string(cbt_compression_to_string(m->compression)), &ok);
	put(o, "hashing", json_string(cbt_manifest_hashing_to_string(m->hashing)), &ok);
	put(o, "key_fingerprint", str_or_null(m->key_fingerprint), &ok);
	put(o, "encryption", json_string(cbt_manifest_encryption_to_string(m->encryption)), &ok);

	if (idx) {
		put(idx, "root", json_string(cbt_chunk_id_to_hex(&m->index.root, hex)), &ok);
		put(idx, "pages", u64(m->index.pages), &ok);
	}
	put(o, "index", idx, &ok);

	if (st) {
		put(st, "bytes_read", u64(m->stats.bytes_read), &ok);
		put(st, "bytes_stored", u64(m->stats.bytes_stored), &ok);
		put(st, "chunks_total", u64(m->stats.chunks_total), &ok);
		put(st, "chunks_new", u64(m->stats.chunks_new), &ok);
		put(st, "chunks_zero", u64(m->stats.chunks_zero), &ok);
		put(st, "objects_written", u64(m->stats.objects_written), &ok);
	}
	put(o, "statistics", st, &ok);

	if (tr) {
		put(tr, "generation", str_or_null(m->tracking.generation), &ok);
		put(tr, "checkpoint", u64(m->tracking.checkpoint), &ok);
		put(tr, "full_read", json_boolean(m->tracking.full_read), &ok);
		put(tr, "full_read_reason", str_or_null(m->tracking.full_read_reason), &ok);
	}
	put(o, "tracking", tr, &ok);

	put(o, "service", json_string(cbt_service_to_string(m->service)), &ok);
	put(o, "container", json_string(m->container), &ok);
	return ok ? TAKE_PTR(o) : NULL;
}

static int dump(json_t *o, unsigned flags, char **ret, char **ret_error)
{
	size_t jflags = JSON_SORT_KEYS | JSON_ENSURE_ASCII;
	char *s;

	jflags |= (flags & CBT_MANIFEST_JSON_COMPACT) ? JSON_COMPACT : JSON_INDENT(2);
	s = json_dumps(o, jflags);
	if (!s)
		return fail(ret_error, -ENOMEM, "out of memory serialising the manifest");
	*ret = s;
	return 0;
}

int cbt_manifest_to_json(const struct cbt_manifest *m, unsigned flags, char **ret, char **ret_error)
{
	_cleanup_(json_decrefp) json_t *o = NULL;
	int r;

	r = cbt_manifest_check(m, ret_error);
	if (r < 0)
		return r;
	o = manifest_to_object(m);
	if (!o)
		return fail(ret_error, -ENOMEM, "out of memory building the manifest");
	return dump(o, flags, ret, ret_error);
}

/* MAC -------------------------------------------------------------------- */

int cbt_manifest_mac(const struct cbt_manifest *m, const uint8_t *mac_key, size_t key_len,
		     char ret[static CBT_CHUNK_ID_HEX_SIZE])
{
	_cleanup_(json_decrefp) json_t *o = NULL;
	_cleanup_(freep) char *json = NULL;
	struct cbt_chunk_id digest;
	unsigned int n = 0;

	if (!mac_key || !key_len || m->version < 2)
		return -EINVAL;
	o = manifest_to_object(m);
	if (!o)
		return -ENOMEM;
	json_object_del(o, "mac");
	if (dump(o, CBT_MANIFEST_JSON_COMPACT, &json, NULL) < 0)
		return -ENOMEM;
	if (!HMAC(EVP_sha256(), mac_key, (int)key_len, (const unsigned char *)json, strlen(json),
		  digest.bytes, &n) ||
	    n != CBT_CHUNK_ID_SIZE)
		return -EIO;
	cbt_chunk_id_to_hex(&digest, ret);
	return 0;
}

int cbt_manifest_mac_check(const struct cbt_manifest *m, const uint8_t *mac_key, size_t key_len)
{
	char want[CBT_CHUNK_ID_HEX_SIZE];
	int r;

	if (m->encryption == CBT_MANIFEST_ENCRYPTION_NONE || !m->mac)
		return 1;
	r = cbt_manifest_mac(m, mac_key, key_len, want);
	if (r < 0)
		return r;
	return CRYPTO_memcmp(want, m->mac, CBT_CHUNK_ID_HEX_SIZE - 1) == 0 ? 0 : -EBADMSG;
}

/* From JSON -------------------------------------------------------------- */

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

/* A JSON object being read, with the dotted path of its fields. */
struct reader {
	json_t *obj;
	const char *path; /* "" or "volume." */
	char **ret_error;
};

static const char *field_name(const struct reader *rd, const char *key, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", rd->path, key);
	return buf;
}

/* The value of key, present (possibly null). */
static int get(const struct reader *rd, const char *key, json_t **ret)
{
	char name[64];
	json_t *v = json_object_get(rd->obj, key);

	if (!v)
		return fail(rd->ret_error, -EINVAL, "missing required field '%s'",
			    field_name(rd, key, name, sizeof(name)));
	*ret = v;
	return 0;
}

static int wrong_type(const struct reader *rd, const char *key, const char *want, const json_t *v)
{
	char name[64];

	return fail(rd->ret_error, -EINVAL, "field '%s' must be %s, not %s",
		    field_name(rd, key, name, sizeof(name)), want, json_type_name(v));
}

/* A string (a copy into *ret), or null when nullable (*ret = NULL). */
static int get_string(const struct reader *rd, const char *key, bool nullable, char **ret)
{
	json_t *v = NULL;
	char *s;
	int r;

	r = get(rd, key, &v);
	if (r < 0)
		return r;
	if (json_is_null(v) && nullable) {
		*ret = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return wrong_type(rd, key, nullable ? "a string or null" : "a string", v);
	s = strdup(json_string_value(v));
	if (!s)
		return fail(rd->ret_error, -ENOMEM, "out of memory");
	free(*ret);
	*ret = s;
	return 0;
}

/* A non-negative integer at most max. */
static int get_uint(const struct reader *rd, const char *key, uint64_t max, uint64_t *ret)
{
	char name[64];
	json_int_t i;
	json_t *v = NULL;
	int r;

	r = get(rd, key, &v);
	if (r < 0)
		return r;
	if (!json_is_integer(v))
		return wrong_type(rd, key, "an integer", v);
	i = json_integer_value(v);
	if (i < 0)
		return fail(rd->ret_error, -EINVAL, "field '%s' is negative (%lld)",
			    field_name(rd, key, name, sizeof(name)), (long long)i);
	if ((uint64_t)i > max)
		return fail(rd->ret_error, -EINVAL, "field '%s' is too large (%lld)",
			    field_name(rd, key, name, sizeof(name)), (long long)i);
	*ret = (uint64_t)i;
	return 0;
}

static int get_bool(const struct reader *rd, const char *key, bool *ret)
{
	json_t *v = NULL;
	int r;

	r = get(rd, key, &v);
	if (r < 0)
		return r;
	if (!json_is_boolean(v))
		return wrong_type(rd, key, "a boolean", v);
	*ret = json_is_true(v);
	return 0;
}

static int get_time(const struct reader *rd, const char *key, int64_t *ret)
{
	_cleanup_(freep) char *s = NULL;
	char name[64];
	int r;

	r = get_string(rd, key, false, &s);
	if (r < 0)
		return r;
	if (time_parse(s, ret) < 0)
		return fail(rd->ret_error, -EINVAL,
			    "field '%s' is \"%.40s\": not a UTC time as "
			    "YYYY-MM-DDTHH:MM:SS.ffffffZ",
			    field_name(rd, key, name, sizeof(name)), s);
	return 0;
}

/* One of names (exact), as an index. */
static int get_enum(const struct reader *rd, const char *key, const char *const *names, int n,
		    int *ret)
{
	_cleanup_(freep) char *s = NULL;
	char name[64], list[128] = "";
	int r, i;

	r = get_string(rd, key, false, &s);
	if (r < 0)
		return r;
	i = lookup(names, n, s);
	if (i >= 0) {
		*ret = i;
		return 0;
	}
	for (int k = 0; k < n; k++)
		if (names[k])
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 *list ? ", " : "", names[k]);
	return fail(rd->ret_error, -EINVAL, "field '%s' is \"%.40s\": not one of %s",
		    field_name(rd, key, name, sizeof(name)), s, list);
}

/* A nested object, as a reader of its own. */
static int get_object(const struct reader *rd, const char *key, const char *path,
		      struct reader *ret)
{
	json_t *v = NULL;
	int r;

	r = get(rd, key, &v);
	if (r < 0)
		return r;
	if (!json_is_object(v))
		return wrong_type(rd, key, "an object", v);
	*ret = (struct reader){ .obj = v, .path = path, .ret_error = rd->ret_error };
	return 0;
}

/* Refuse fields not in known (NULL-terminated). */
static int no_unknown(const struct reader *rd, const char *const *known)
{
	const char *key;
	json_t *v = NULL;

	json_object_foreach(rd->obj, key, v)
	{
		bool found = false;

		for (const char *const *k = known; *k && !found; k++)
			found = strcmp(*k, key) == 0;
		if (!found)
			return fail(rd->ret_error, -EINVAL, "unknown field '%s%.64s'", rd->path,
				    key);
	}
	return 0;
}

/* The "format" and "version" of a document of the given kind. */
static int check_format(json_t *o, const char *format, int version, const char *what,
			char **ret_error)
{
	struct reader rd = { .obj = o, .path = "", .ret_error = ret_error };
	json_t *f, *v = NULL;

	if (!json_is_object(o))
		return fail(ret_error, -EMEDIUMTYPE, "not a %s (the JSON is %s, not an object)",
			    what, json_type_name(o));
	f = json_object_get(o, "format");
	if (!f)
		return fail(ret_error, -EMEDIUMTYPE, "not a %s (no \"format\" field)", what);
	if (!json_is_string(f) || strcmp(json_string_value(f), format) != 0)
		return fail(ret_error, -EMEDIUMTYPE, "not a %s (format %s%.40s%s, expected \"%s\")",
			    what, json_is_string(f) ? "\"" : "",
			    json_is_string(f) ? json_string_value(f) : json_type_name(f),
			    json_is_string(f) ? "\"" : "", format);
	if (get(&rd, "version", &v) < 0)
		return -EINVAL;
	if (!json_is_integer(v))
		return wrong_type(&rd, "version", "an integer", v);
	if (json_integer_value(v) > version)
		return fail(ret_error, -EPROTONOSUPPORT,
			    "%s version %lld is newer than this cbtship supports (%d)", what,
			    (long long)json_integer_value(v), version);
	if (json_integer_value(v) < 1)
		return fail(ret_error, -EINVAL, "field 'version' is %lld: not a valid version",
			    (long long)json_integer_value(v));
	return 0;
}

static int manifest_from_object(json_t *o, struct cbt_manifest **ret, char **ret_error)
{
	const char *top[] = {
		"format",      "version",	 "backup_id",	    "name",	   "description",
		"project",     "volume",	 "parent_id",	    "incremental", "snapshot_id",
		"created_at",  "data_timestamp", "finished_at",	    "chunk_size",  "nr_chunks",
		"compression", "hashing",	 "key_fingerprint", "encryption",  "index",
		"statistics",  "tracking",	 "service",	    "container",   NULL,
		NULL
	};
	static const char *const volume[] = { "id", "name", "size", "origin_uuid", NULL };
	static const char *const index[] = { "root", "pages", NULL };
	static const char *const stats[] = { "bytes_read", "bytes_stored", "chunks_total",
					     "chunks_new", "chunks_zero",  "objects_written",
					     NULL };
	static const char *const tracking[] = { "generation", "checkpoint", "full_read",
						"full_read_reason", NULL };
	static const char *const compressions[_CBT_COMPRESS_MAX] = {
		[CBT_COMPRESS_NONE] = "none",
		[CBT_COMPRESS_ZLIB] = "zlib",
		[CBT_COMPRESS_ZSTD] = "zstd",
	};
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL;
	struct reader rd = { .obj = o, .path = "", .ret_error = ret_error }, sub;
	_cleanup_(freep) char *enc = NULL, *root = NULL;
	uint64_t u;
	int r, e;

	r = check_format(o, CBT_MANIFEST_FORMAT, CBT_MANIFEST_VERSION, "cbtship manifest",
			 ret_error);
	if (r < 0)
		return r;
	r = cbt_manifest_new(&m);
	if (r < 0)
		return fail(ret_error, r, "out of memory");
	m->version = (int)json_integer_value(json_object_get(o, "version"));

	/* Encryption first: a feature we lack explains everything after it. */
	if ((r = get_string(&rd, "encryption", false, &enc)) < 0)
		return r;
	e = lookup(encryption_names, _CBT_MANIFEST_ENCRYPTION_MAX, enc);
	if (e < 0)
		return fail(ret_error, -EOPNOTSUPP,
			    "encryption \"%.40s\" is not supported by this cbtship", enc);
	m->encryption = (enum cbt_manifest_encryption)e;

	/* Version 2 adds "mac" (null in a plain manifest). */
	top[ELEMENTSOF(top) - 2] = m->version >= 2 ? "mac" : NULL;
	if ((r = no_unknown(&rd, top)) < 0 ||
	    (m->version >= 2 && (r = get_string(&rd, "mac", true, &m->mac)) < 0) ||
	    (r = get_string(&rd, "backup_id", false, &m->backup_id)) < 0 ||
	    (r = get_string(&rd, "name", true, &m->name)) < 0 ||
	    (r = get_string(&rd, "description", true, &m->description)) < 0 ||
	    (r = get_string(&rd, "project", false, &m->project)) < 0)
		return r;

	if ((r = get_object(&rd, "volume", "volume.", &sub)) < 0 ||
	    (r = no_unknown(&sub, volume)) < 0 ||
	    (r = get_string(&sub, "id", false, &m->volume.id)) < 0 ||
	    (r = get_string(&sub, "name", false, &m->volume.name)) < 0 ||
	    (r = get_uint(&sub, "size", INT64_MAX, &m->volume.size)) < 0 ||
	    (r = get_string(&sub, "origin_uuid", true, &m->volume.origin_uuid)) < 0)
		return r;

	if ((r = get_string(&rd, "parent_id", true, &m->parent_id)) < 0 ||
	    (r = get_bool(&rd, "incremental", &m->incremental)) < 0 ||
	    (r = get_string(&rd, "snapshot_id", true, &m->snapshot_id)) < 0 ||
	    (r = get_time(&rd, "created_at", &m->created_at)) < 0 ||
	    (r = get_time(&rd, "data_timestamp", &m->data_timestamp)) < 0 ||
	    (r = get_time(&rd, "finished_at", &m->finished_at)) < 0 ||
	    (r = get_uint(&rd, "chunk_size", UINT32_MAX, &u)) < 0)
		return r;
	m->chunk_size = (uint32_t)u;
	if ((r = get_uint(&rd, "nr_chunks", INT64_MAX, &m->nr_chunks)) < 0 ||
	    (r = get_enum(&rd, "compression", compressions, _CBT_COMPRESS_MAX, &e)) < 0)
		return r;
	m->compression = (enum cbt_compression)e;
	if ((r = get_enum(&rd, "hashing", hashing_names, _CBT_MANIFEST_HASH_MAX, &e)) < 0)
		return r;
	m->hashing = (enum cbt_manifest_hashing)e;
	if ((r = get_string(&rd, "key_fingerprint", true, &m->key_fingerprint)) < 0)
		return r;

	if ((r = get_object(&rd, "index", "index.", &sub)) < 0 ||
	    (r = no_unknown(&sub, index)) < 0 || (r = get_string(&sub, "root", false, &root)) < 0)
		return r;
	if (cbt_chunk_id_from_hex(root, &m->index.root) < 0)
		return fail(ret_error, -EINVAL,
			    "field 'index.root' is \"%.70s\": not an id of 64 lowercase hex "
			    "digits",
			    root);
	if ((r = get_uint(&sub, "pages", INT64_MAX, &m->index.pages)) < 0)
		return r;

	if ((r = get_object(&rd, "statistics", "statistics.", &sub)) < 0 ||
	    (r = no_unknown(&sub, stats)) < 0 ||
	    (r = get_uint(&sub, "bytes_read", INT64_MAX, &m->stats.bytes_read)) < 0 ||
	    (r = get_uint(&sub, "bytes_stored", INT64_MAX, &m->stats.bytes_stored)) < 0 ||
	    (r = get_uint(&sub, "chunks_total", INT64_MAX, &m->stats.chunks_total)) < 0 ||
	    (r = get_uint(&sub, "chunks_new", INT64_MAX, &m->stats.chunks_new)) < 0 ||
	    (r = get_uint(&sub, "chunks_zero", INT64_MAX, &m->stats.chunks_zero)) < 0 ||
	    (r = get_uint(&sub, "objects_written", INT64_MAX, &m->stats.objects_written)) < 0)
		return r;

	if ((r = get_object(&rd, "tracking", "tracking.", &sub)) < 0 ||
	    (r = no_unknown(&sub, tracking)) < 0 ||
	    (r = get_string(&sub, "generation", true, &m->tracking.generation)) < 0 ||
	    (r = get_uint(&sub, "checkpoint", INT64_MAX, &m->tracking.checkpoint)) < 0 ||
	    (r = get_bool(&sub, "full_read", &m->tracking.full_read)) < 0 ||
	    (r = get_string(&sub, "full_read_reason", true, &m->tracking.full_read_reason)) < 0)
		return r;

	const char *service_names[_CBT_SERVICE_MAX];

	for (int s = 0; s < _CBT_SERVICE_MAX; s++)
		service_names[s] = cbt_service_to_string((enum cbt_service)s);
	if ((r = get_enum(&rd, "service", service_names, _CBT_SERVICE_MAX, &e)) < 0)
		return r;
	m->service = (enum cbt_service)e;
	if ((r = get_string(&rd, "container", false, &m->container)) < 0)
		return r;

	r = cbt_manifest_check(m, ret_error);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(m);
	return 0;
}

/* Parse len bytes of JSON; what names the document in messages. */
static int load(const char *json, size_t len, const char *what, json_t **ret, char **ret_error)
{
	const char *nul = memchr(json, '\0', len);
	json_error_t err;
	json_t *o;

	/* jansson would take a NUL byte for the end of the input. */
	if (nul)
		return fail(ret_error, -EBADMSG,
			    "%s is not valid JSON: NUL byte at offset %td (binary data?)", what,
			    nul - json);
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (o) {
		*ret = o;
		return 0;
	}
	if (json_error_code(&err) == json_error_out_of_memory)
		return fail(ret_error, -ENOMEM, "out of memory parsing the %s", what);
	if (json_error_code(&err) == json_error_premature_end_of_input)
		return fail(ret_error, -EBADMSG, "%s is truncated (its JSON ends after %zu bytes)",
			    what, len);
	return fail(ret_error, -EBADMSG, "%s is not valid JSON: %s (line %d, column %d)", what,
		    err.text, err.line, err.column);
}

int cbt_manifest_from_json(const char *json, size_t len, struct cbt_manifest **ret,
			   char **ret_error)
{
	_cleanup_(json_decrefp) json_t *o = NULL;
	int r;

	r = load(json, len, "manifest", &o, ret_error);
	if (r < 0)
		return r;
	return manifest_from_object(o, ret, ret_error);
}

/* Store I/O -------------------------------------------------------------- */

int cbt_manifest_write(struct cbt_store *store, const struct cbt_manifest *m, char **ret_error)
{
	char key[CBT_MANIFEST_KEY_SIZE];
	_cleanup_(freep) char *json = NULL;
	char *grown;
	size_t len;
	int r;

	r = cbt_manifest_to_json(m, 0, &json, ret_error);
	if (r < 0)
		return r;
	r = cbt_manifest_key(m->backup_id, key, sizeof(key));
	if (r < 0)
		return fail(ret_error, r, "no manifest key for backup id \"%.40s\"", m->backup_id);
	len = strlen(json);
	grown = realloc(json, len + 2);
	if (!grown)
		return fail(ret_error, -ENOMEM, "out of memory");
	json = grown;
	json[len++] = '\n';
	json[len] = '\0';
	/* The commit point: what it references is durable before it is written. */
	r = cbt_store_flush(store);
	if (r < 0)
		return fail(ret_error, r, "making the objects durable in the %s store: %s",
			    cbt_store_name(store), strerror(-r));
	r = cbt_store_put(store, key, json, len);
	if (r >= 0)
		r = cbt_store_flush(store);
	if (r < 0)
		return fail(ret_error, r, "writing %s to the %s store: %s", key,
			    cbt_store_name(store), strerror(-r));
	return 0;
}

int cbt_manifest_read(struct cbt_store *store, const char *backup_id, struct cbt_manifest **ret,
		      char **ret_error)
{
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL;
	char key[CBT_MANIFEST_KEY_SIZE];
	_cleanup_(freep) void *buf = NULL;
	size_t len = 0;
	int r;

	r = cbt_manifest_key(backup_id, key, sizeof(key));
	if (r < 0)
		return fail(ret_error, -EINVAL, "\"%.40s\" is not a valid backup id",
			    backup_id ? backup_id : "(null)");
	r = cbt_store_get(store, key, CBT_MANIFEST_MAX_SIZE, &buf, &len);
	if (r == -ENOENT)
		return fail(ret_error, r, "backup %s has no manifest (%s) in the %s store",
			    backup_id, key, cbt_store_name(store));
	if (r == -EFBIG)
		return fail(ret_error, r, "%s is larger than %d bytes: not a manifest", key,
			    CBT_MANIFEST_MAX_SIZE);
	if (r < 0)
		return fail(ret_error, r, "reading %s from the %s store: %s", key,
			    cbt_store_name(store), strerror(-r));
	r = cbt_manifest_from_json(buf, len, &m, ret_error);
	if (r < 0) {
		prefix_error(ret_error, key);
		return r;
	}
	if (strcmp(m->backup_id, backup_id) != 0)
		return fail(ret_error, -EXDEV, "%s holds the manifest of another backup (%s)", key,
			    m->backup_id);
	*ret = TAKE_PTR(m);
	return 0;
}

struct list_ctx {
	cbt_manifest_list_fn fn;
	void *userdata;
};

static int list_one(const char *key, void *userdata)
{
	struct list_ctx *ctx = userdata;
	char id[CBT_BACKUP_ID_MAX + 1];

	if (cbt_manifest_key_parse(key, id, sizeof(id)) < 0)
		return 0; /* not a manifest: someone else's file */
	return ctx->fn(id, ctx->userdata);
}

int cbt_manifest_list(struct cbt_store *store, cbt_manifest_list_fn fn, void *userdata)
{
	struct list_ctx ctx = { .fn = fn, .userdata = userdata };

	return cbt_store_list(store, CBT_MANIFEST_KEY_PREFIX, list_one, &ctx);
}

/* Export / import ------------------------------------------------------- */

int cbt_manifest_export_url(const struct cbt_manifest *m, char **ret_url, char **ret_error)
{
	_cleanup_(json_decrefp) json_t *rec = NULL;
	_cleanup_(freep) char *json = NULL;
	json_t *mo = NULL;
	size_t len;
	char *url;
	bool ok;
	int r;

	r = cbt_manifest_check(m, ret_error);
	if (r < 0)
		return r;
	rec = json_object();
	mo = manifest_to_object(m);
	ok = rec && mo;
	if (rec) {
		put(rec, "format", json_string(CBT_RECORD_FORMAT), &ok);
		put(rec, "version", json_integer(CBT_RECORD_VERSION), &ok);
		put(rec, "service", json_string(cbt_service_to_string(m->service)), &ok);
		put(rec, "container", json_string(m->container), &ok);
		put(rec, "manifest", mo, &ok);
	} else {
		json_decref(mo);
	}
	if (!ok)
		return fail(ret_error, -ENOMEM, "out of memory building the backup record");
	r = dump(rec, CBT_MANIFEST_JSON_COMPACT, &json, ret_error);
	if (r < 0)
		return r;
	len = strlen(json);
	if (len > INT32_MAX / 2)
		return fail(ret_error, -EFBIG, "backup record too large");
	url = malloc(4 * ((len + 2) / 3) + 1);
	if (!url)
		return fail(ret_error, -ENOMEM, "out of memory");
	EVP_EncodeBlock((unsigned char *)url, (const unsigned char *)json, (int)len);
	*ret_url = url;
	return 0;
}

static bool b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* Strict standard base64 (RFC 4648, padded, no whitespace) into a new buffer. */
static int b64_decode(const char *s, unsigned char **ret, size_t *ret_len, char **ret_error)
{
	size_t n = strlen(s), pad = 0;
	unsigned char *buf;
	int out;

	if (n == 0)
		return fail(ret_error, -EBADMSG, "the backup URL is empty");
	if (n % 4 != 0)
		return fail(ret_error, -EBADMSG,
			    "the backup URL is not valid base64 (length %zu is not a multiple "
			    "of 4: truncated?)",
			    n);
	if (n > 4 * (size_t)CBT_MANIFEST_MAX_SIZE)
		return fail(ret_error, -EFBIG, "the backup URL is too long (%zu characters)", n);
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < n - pad; i++)
		if (!b64_char(s[i]))
			return fail(ret_error, -EBADMSG,
				    "the backup URL is not valid base64 (character %zu is "
				    "not in the base64 alphabet)",
				    i + 1);
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return fail(ret_error, -ENOMEM, "out of memory");
	out = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n);
	if (out < 0 || (size_t)out < pad) {
		free(buf);
		return fail(ret_error, -EBADMSG, "the backup URL is not valid base64");
	}
	*ret = buf;
	*ret_len = (size_t)out - pad;
	return 0;
}

int cbt_manifest_import_url(const char *url, struct cbt_manifest **ret, char **ret_error)
{
	static const char *const known[] = { "format",	  "version",  "service",
					     "container", "manifest", NULL };
	_cleanup_(cbt_manifest_freep) struct cbt_manifest *m = NULL;
	_cleanup_(json_decrefp) json_t *rec = NULL;
	_cleanup_(freep) unsigned char *buf = NULL;
	_cleanup_(freep) char *service = NULL, *container = NULL;
	struct reader rd = { .path = "", .ret_error = ret_error };
	json_t *mo = NULL;
	size_t len = 0;
	int r;

	if (!url)
		return fail(ret_error, -EINVAL, "no backup URL");
	r = b64_decode(url, &buf, &len, ret_error);
	if (r < 0)
		return r;
	r = load((const char *)buf, len, "the backup record", &rec, ret_error);
	if (r < 0)
		return r;
	r = check_format(rec, CBT_RECORD_FORMAT, CBT_RECORD_VERSION, "cbtship backup record",
			 ret_error);
	if (r < 0)
		return r;
	rd.obj = rec;
	if ((r = no_unknown(&rd, known)) < 0 ||
	    (r = get_string(&rd, "service", false, &service)) < 0 ||
	    (r = get_string(&rd, "container", false, &container)) < 0 ||
	    (r = get(&rd, "manifest", &mo)) < 0)
		return r;
	r = manifest_from_object(mo, &m, ret_error);
	if (r < 0) {
		prefix_error(ret_error, "the backup record's manifest");
		return r;
	}
	if (strcmp(service, cbt_service_to_string(m->service)) != 0)
		return fail(ret_error, -EINVAL,
			    "the backup record's service \"%.40s\" differs from its manifest's "
			    "\"%s\"",
			    service, cbt_service_to_string(m->service));
	if (strcmp(container, m->container) != 0)
		return fail(ret_error, -EINVAL,
			    "the backup record's container differs from its manifest's");
	*ret = TAKE_PTR(m);
	return 0;
}
