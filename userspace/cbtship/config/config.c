/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration file: options, defaults, validation, load (libinih), set, dump. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>
#include <jansson.h>

#include "libcbt.h"
#include "cbtship/config/config.h"
#include "cbtship/config/config-option.h"
#include "cbtship/encrypt/secret.h"
#include "cbtship/repo/manifest.h"
#include "cbtship/state-dir.h"

/* Options ---------------------------------------------------------------- */

#define opt cbt_config_option
#define OFF CBT_CONFIG_OFF

/* The general options; the POSIX back end's (backup_posix_*) among them, in their place. */
static const struct opt general_options[] = {
	{ "backup_driver", T_DRIVER, OFF(backup_driver), "posix", 0, 0, 0, G_GENERAL },
	{ "backup_container", T_CONTAINER, OFF(backup_container), "volumebackups", 0, 0, 0,
	  G_GENERAL },
	{ "backup_posix_path", T_PATH, OFF(backup_posix_path), "$state_path/backup", 0, 0, 0,
	  G_GENERAL },
	{ "backup_compression_algorithm", T_COMPRESSION, OFF(backup_compression_algorithm), "zstd",
	  0, 0, 0, G_GENERAL },
	{ "backup_workers", T_INT, OFF(backup_workers), NULL, 1, 1024, F_COMPUTED, G_GENERAL },
	{ "backup_native_threads_pool_size", T_INT, OFF(backup_native_threads_pool_size), NULL, 1,
	  1024, F_COMPUTED, G_GENERAL },
	{ "backup_file_size", T_SIZE, OFF(backup_file_size), "1999994880", 1, INT64_MAX, F_IGNORED,
	  G_GENERAL },
	{ "backup_posix_pack_size", T_SIZE, OFF(backup_posix_pack_size), "67108864", 1048576,
	  4294967296, 0, G_GENERAL },
	{ "backup_sha_block_size_bytes", T_CHUNK, OFF(backup_sha_block_size_bytes), "32768", 0, 0,
	  0, G_GENERAL },
	{ "backup_enable_progress_timer", T_BOOL, OFF(backup_enable_progress_timer), "true", 0, 0,
	  0, G_GENERAL },
	{ "backup_timer_interval", T_INT, OFF(backup_timer_interval), "120", 1, 86400, 0,
	  G_GENERAL },
	{ "state_path", T_PATH, OFF(state_path), NULL, 0, 0, F_COMPUTED, G_GENERAL },
	{ "catalog", T_PATH, OFF(catalog), "$state_path/catalog.db", 0, 0, 0, G_GENERAL },
	{ "quota_backups", T_I64, OFF(quota_backups), "10", -1, INT32_MAX, 0, G_GENERAL },
	{ "quota_backup_gigabytes", T_I64, OFF(quota_backup_gigabytes), "1000", -1, INT32_MAX, 0,
	  G_GENERAL },
	{ "host", T_HOST, OFF(host), NULL, 0, 0, F_COMPUTED, G_GENERAL },
	{ "report_interval", T_INT, OFF(report_interval), "10", 1, 3600, 0, G_GENERAL },
	{ "service_down_time", T_INT, OFF(service_down_time), "60", 1, 86400, 0, G_GENERAL },
	{ "backup_events_file", T_PATH, OFF(backup_events_file), NULL, 0, 0, 0, G_GENERAL },
	{ "backup_encryption_key_file", T_PATH, OFF(backup_encryption_key_file), NULL, 0, 0, 0,
	  G_GENERAL },
	{ "backup_lease_refresh_interval", T_INT, OFF(backup_lease_refresh_interval), "30", 1, 3600,
	  0, G_GENERAL },
	{ "backup_lease_stale_time", T_INT, OFF(backup_lease_stale_time), "300", 3, 86400, 0,
	  G_GENERAL },
	{ "backup_collect_settle_time", T_INT, OFF(backup_collect_settle_time), "5", 0, 3600, 0,
	  G_GENERAL },
	{ "backup_collect_interval", T_INT, OFF(backup_collect_interval), "600", 0, 86400 * 7, 0,
	  G_GENERAL },
	{ "backup_collect_max_unused", T_INT, OFF(backup_collect_max_unused), "5", 0, 100, 0,
	  G_GENERAL },
	{ NULL, T_STR, 0, NULL, 0, 0, 0, NULL },
};

/* Every table, in the order of etc/cbtship.conf and of the dumps. */
static const struct opt *const option_tables[] = {
	general_options,
	cbt_swift_config_options,
	cbt_ceph_config_options,
	cbt_nfs_config_options,
};

/* More than all the tables hold (options_init() checks). */
#define MAX_OPTIONS 128

/* The registered options, one array (built once, from option_tables). */
static struct opt options[MAX_OPTIONS];
static size_t n_options;
static pthread_once_t options_once = PTHREAD_ONCE_INIT;

static void options_register(void)
{
	for (size_t t = 0; t < ELEMENTSOF(option_tables); t++)
		for (const struct opt *o = option_tables[t]; o->name; o++) {
			if (n_options == MAX_OPTIONS)
				abort(); /* raise MAX_OPTIONS */
			options[n_options++] = *o;
		}
}

static size_t options_count(void)
{
	pthread_once(&options_once, options_register);
	return n_options;
}

#define N_OPTIONS options_count()

enum rank {
	RANK_DEFAULT,
	RANK_SECTION_DEFAULT, /* [DEFAULT] */
	RANK_SECTION_CBTSHIP, /* [cbtship] */
	RANK_SET,	      /* cbt_config_set() */
};

struct opt_state {
	char *raw;    /* T_PATH: the text before $state_path expansion */
	char *origin; /* "default", "FILE:LINE", or set()'s origin */
	enum rank rank;
};

struct cbt_config_private {
	struct opt_state opt[MAX_OPTIONS];
};

/* Helpers ---------------------------------------------------------------- */

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static __attribute__((format(printf, 1, 2))) char *strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static const struct opt *opt_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

static size_t opt_index(const struct opt *o)
{
	return (size_t)(o - options);
}

static char **str_field(struct cbt_config *c, const struct opt *o)
{
	return (char **)(void *)((char *)c + o->offset);
}

static char *const *str_field_const(const struct cbt_config *c, const struct opt *o)
{
	return (char *const *)(const void *)((const char *)c + o->offset);
}

static bool is_string_type(enum cbt_config_type t)
{
	switch (t) {
	case T_STR:
	case T_PATH:
	case T_URL:
	case T_SHARE:
	case T_CONTAINER:
	case T_SWIFT_CONTAINER:
	case T_HOST:
		return true;
	default:
		return false;
	}
}

/* Names ------------------------------------------------------------------ */

static const char *const swift_auth_names[_CBT_SWIFT_AUTH_MAX] = {
	[CBT_SWIFT_AUTH_PER_USER] = "per_user",
	[CBT_SWIFT_AUTH_SINGLE_USER] = "single_user",
};

const char *cbt_swift_auth_to_string(enum cbt_swift_auth a)
{
	return (unsigned)a < _CBT_SWIFT_AUTH_MAX ? swift_auth_names[a] : NULL;
}

/* Parsing one value ------------------------------------------------------ */

union value {
	bool b;
	int i;
	int64_t l;
	uint64_t u;
};

static int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Decimal, optional '-', nothing else; within [min, max]. */
static int parse_int(const char *s, int64_t min, int64_t max, int64_t *ret)
{
	const char *p = s;
	long long v;
	char *end;

	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static bool starts_with_state_path(const char *s)
{
	return strncmp(s, "$state_path", 11) == 0 || strncmp(s, "${state_path}", 13) == 0;
}

static bool valid_url(const char *s)
{
	size_t n = strncasecmp(s, "http://", 7) == 0	? 7
		   : strncasecmp(s, "https://", 8) == 0 ? 8
							: 0;

	if (!n || !s[n] || s[n] == '/')
		return false;
	for (const char *p = s; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return false;
	return true;
}

/* HOST:/EXPORT, IPV4:/EXPORT or [IPV6]:/EXPORT, as cinder's backup_share. */
static bool valid_share(const char *s)
{
	const char *colon;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close == s + 1 || close[1] != ':')
			return false;
		colon = close + 1;
	} else {
		colon = strchr(s, ':');
		if (!colon || colon == s)
			return false;
	}
	if (colon[1] != '/')
		return false;
	for (const char *p = s; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return false;
	return true;
}

static bool valid_container(const char *s)
{
	return !strstr(s, "..") && (s[0] == '/' || !strchr(s, '/'));
}

static bool valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || strchr(s, '/'))
		return false;
	for (const char *p = s; *p; p++)
		if (iscntrl((unsigned char)*p))
			return false;
	return true;
}

static bool valid_host(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > HOST_NAME_MAX)
		return false;
	for (const char *p = s; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p) || *p == '/')
			return false;
	return true;
}

/* What an option allows, for messages. */
static char *allowed_text(const struct opt *o, bool from_file)
{
	switch (o->type) {
	case T_STR:
		return strdup("any text");
	case T_PATH:
		if (strcmp(o->name, "state_path") == 0)
			return strdup(from_file ? "an absolute path" : "a path");
		return strdup(from_file ? "an absolute path (it may start with $state_path)"
					: "a path (it may start with $state_path)");
	case T_URL:
		return strdup("an http:// or https:// URL");
	case T_SHARE:
		return strdup("an NFS share HOST:/EXPORT (or [IPV6]:/EXPORT)");
	case T_CONTAINER:
		return strdup("a name without '/', or an absolute directory, without '..'");
	case T_SWIFT_CONTAINER:
		return strdup("a name of 1 to 256 characters without '/'");
	case T_HOST:
		return strdup_printf("a host name of 1 to %d characters, without spaces",
				     HOST_NAME_MAX);
	case T_BOOL:
		return strdup("true/false, yes/no, on/off or 1/0");
	case T_INT:
	case T_I64:
		return strdup_printf("an integer from %" PRId64 " to %" PRId64 "%s", o->min, o->max,
				     o->min == -1 && o->flags == 0 && o->type == T_I64
					     ? " (-1: unlimited)"
					     : "");
	case T_SIZE:
		return strdup_printf("a size in bytes from %" PRId64 " to %" PRId64
				     " (K, M, G units allowed)",
				     o->min, o->max);
	case T_CHUNK:
		return strdup("a power of two from 4K to 16M (bytes, K and M units allowed)");
	case T_DRIVER:
		return strdup("posix, swift, ceph or nfs (or cinder's class path, such as "
			      "cinder.backup.drivers.swift.SwiftBackupDriver)");
	case T_COMPRESSION:
		return strdup("zstd, zlib (or gzip) or none");
	case T_SWIFT_AUTH:
		return strdup("per_user or single_user");
	case T_AUTH_VERSION:
		return strdup("1 or 3");
	}
	return strdup("?");
}

/*
 * Check text for o. Returns 0 with the value in *v (numbers) or nothing
 * more (strings: text itself is the value); -EINVAL, -ERANGE, or
 * -EOPNOTSUPP with *why set to a static explanation for the latter.
 */
static int parse_value(const struct opt *o, const char *text, bool from_file, union value *v,
		       const char **why)
{
	int64_t l;
	int r;

	*why = NULL;
	switch (o->type) {
	case T_STR:
		return 0;
	case T_PATH:
		if (strcmp(o->name, "state_path") == 0) {
			if (strstr(text, "$state_path") || strstr(text, "${state_path}"))
				return -EINVAL;
			return !from_file || text[0] == '/' ? 0 : -EINVAL;
		}
		return !from_file || text[0] == '/' || starts_with_state_path(text) ? 0 : -EINVAL;
	case T_URL:
		return valid_url(text) ? 0 : -EINVAL;
	case T_SHARE:
		return valid_share(text) ? 0 : -EINVAL;
	case T_CONTAINER:
		return valid_container(text) ? 0 : -EINVAL;
	case T_SWIFT_CONTAINER:
		return valid_name(text, 256) ? 0 : -EINVAL;
	case T_HOST:
		return valid_host(text) ? 0 : -EINVAL;
	case T_BOOL:
		return parse_bool(text, &v->b);
	case T_INT:
	case T_I64:
		r = parse_int(text, o->min, o->max, &l);
		if (r < 0)
			return r;
		if (o->type == T_INT)
			v->i = (int)l;
		else
			v->l = l;
		return 0;
	case T_SIZE:
	case T_CHUNK: {
		uint64_t u;

		r = cbt_parse_size(text, &u);
		if (r < 0)
			return r;
		if (o->type == T_CHUNK) {
			if (u < CBT_MANIFEST_CHUNK_SIZE_MIN || u > CBT_MANIFEST_CHUNK_SIZE_MAX ||
			    (u & (u - 1)))
				return -ERANGE;
		} else if (u < (uint64_t)o->min || u > (uint64_t)o->max) {
			return -ERANGE;
		}
		v->u = u;
		return 0;
	}
	case T_DRIVER: {
		enum cbt_service service;

		r = cbt_service_from_config(text, &service);
		if (r == -EOPNOTSUPP)
			*why = "a cinder driver that cbtship does not implement";
		if (r < 0)
			return r;
		v->i = (int)service;
		return 0;
	}
	case T_COMPRESSION: {
		enum cbt_compression comp;

		r = cbt_compression_from_string(text, &comp);
		if (r == -EOPNOTSUPP)
			*why = "cinder's bz2 compression is not implemented by cbtship";
		if (r < 0)
			return r;
		v->i = (int)comp;
		return 0;
	}
	case T_SWIFT_AUTH:
		for (int a = 0; a < _CBT_SWIFT_AUTH_MAX; a++)
			if (strcmp(text, swift_auth_names[a]) == 0) {
				v->i = a;
				return 0;
			}
		return -EINVAL;
	case T_AUTH_VERSION:
		if (strcmp(text, "1") == 0 || strcmp(text, "1.0") == 0) {
			v->i = 1;
			return 0;
		}
		if (strcmp(text, "3") == 0 || strcmp(text, "3.0") == 0) {
			v->i = 3;
			return 0;
		}
		if (strcmp(text, "2") == 0 || strcmp(text, "2.0") == 0) {
			*why = "Swift auth 2.0 (Keystone v2) is not supported by cbtship";
			return -EOPNOTSUPP;
		}
		return -EINVAL;
	}
	return -EINVAL;
}

/* Storing a value -------------------------------------------------------- */

static void store_number(struct cbt_config *c, const struct opt *o, const union value *v)
{
	char *base = (char *)c + o->offset;

	switch (o->type) {
	case T_BOOL:
		*(bool *)(void *)base = v->b;
		break;
	case T_INT:
	case T_AUTH_VERSION:
		*(int *)(void *)base = v->i;
		break;
	case T_I64:
		*(int64_t *)(void *)base = v->l;
		break;
	case T_SIZE:
	case T_CHUNK:
		*(uint64_t *)(void *)base = v->u;
		break;
	case T_DRIVER:
		c->backup_driver = (enum cbt_service)v->i;
		break;
	case T_COMPRESSION:
		c->backup_compression_algorithm = (enum cbt_compression)v->i;
		break;
	case T_SWIFT_AUTH:
		c->backup_swift_auth = (enum cbt_swift_auth)v->i;
		break;
	default:
		break;
	}
}

static void clear_string(struct cbt_config *c, const struct opt *o)
{
	struct opt_state *st = &c->priv->opt[opt_index(o)];
	char **field = str_field(c, o);

	free_secret(*field);
	*field = NULL;
	free_secret(st->raw);
	st->raw = NULL;
}

/*
 * Validate text for o and, when rank is at least the current value's,
 * make it the value, with origin. An empty text unsets an optional
 * string. Returns 0 or a negative errno with *err (prefixed by origin).
 */
/* Whether s is UTF-8 text (jansson's check: what config-show --format json can print). */
static bool utf8_valid(const char *s)
{
	json_t *j = json_string(s);
	bool ok = j != NULL;

	json_decref(j);
	return ok;
}

static int set_value(struct cbt_config *c, const struct opt *o, const char *text,
		     const char *origin, enum rank rank, bool from_file, char **err)
{
	struct opt_state *st = &c->priv->opt[opt_index(o)];
	bool has_default = o->def || (o->flags & F_COMPUTED);
	union value v = { 0 };
	const char *why;
	char *new_origin;
	int r;

	/* A secret in memory from now on: no core dump of it. */
	if ((o->flags & F_SECRET) && *text)
		(void)cbt_secret_hold();
	if (!utf8_valid(text)) {
		*err = strdup_printf("%s: the value of %s is not UTF-8 text", origin, o->name);
		return *err ? -EINVAL : -ENOMEM;
	}
	if (is_string_type(o->type) && !*text) {
		if (has_default && !(o->flags & F_EMPTY_OK)) {
			*err = strdup_printf("%s: %s must not be empty (default: %s)", origin,
					     o->name, o->def ? o->def : "computed");
			return *err ? -EINVAL : -ENOMEM;
		}
	} else {
		r = parse_value(o, text, from_file, &v, &why);
		if (r < 0) {
			_cleanup_(freep) char *allowed = allowed_text(o, from_file);

			if (o->flags & F_SECRET)
				*err = strdup_printf("%s: bad value for %s: expected %s", origin,
						     o->name, allowed ? allowed : "?");
			else if (why)
				*err = strdup_printf("%s: %s = %s: %s; use %s", origin, o->name,
						     text, why, allowed ? allowed : "?");
			else
				*err = strdup_printf("%s: bad value '%s' for %s: expected %s",
						     origin, text, o->name,
						     allowed ? allowed : "?");
			if (!*err)
				return -ENOMEM;
			return r == -EOPNOTSUPP ? -EOPNOTSUPP : -EINVAL;
		}
	}
	if (rank < st->rank)
		return 0; /* valid, but [cbtship] or set() has the say */

	new_origin = strdup(origin);
	if (!new_origin)
		return -ENOMEM;
	if (is_string_type(o->type)) {
		char *copy = NULL;

		if (*text) {
			copy = strdup(text);
			if (!copy) {
				free(new_origin);
				return -ENOMEM;
			}
		}
		clear_string(c, o);
		if (o->type == T_PATH)
			st->raw = copy; /* expanded by resolve() */
		else
			*str_field(c, o) = copy;
	} else {
		store_number(c, o, &v);
	}
	free(st->origin);
	st->origin = new_origin;
	st->rank = rank;
	return 0;
}

/* Replace "$state_path" and "${state_path}" in raw by state_path. */
static char *expand(const char *raw, const char *state_path)
{
	size_t cap = strlen(raw) + 1, len = 0;
	char *out;

	for (const char *p = raw; (p = strchr(p, '$')); p++)
		if (starts_with_state_path(p))
			cap += strlen(state_path);
	out = malloc(cap);
	if (!out)
		return NULL;
	for (const char *p = raw; *p;) {
		size_t n = strncmp(p, "${state_path}", 13) == 0 ? 13
			   : strncmp(p, "$state_path", 11) == 0 ? 11
								: 0;

		if (n) {
			memcpy(out + len, state_path, strlen(state_path));
			len += strlen(state_path);
			p += n;
		} else {
			out[len++] = *p++;
		}
	}
	out[len] = '\0';
	return out;
}

/* Compute the paths from their raw text. 0 or -ENOMEM. */
static int resolve(struct cbt_config *c)
{
	const struct opt *sp = opt_find("state_path");
	const char *state_path = c->priv->opt[opt_index(sp)].raw;

	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct opt *o = &options[i];
		const char *raw = c->priv->opt[i].raw;
		char **field;
		char *value = NULL;

		if (o->type != T_PATH)
			continue;
		field = str_field(c, o);
		if (raw) {
			value = expand(raw, state_path ? state_path : "");
			if (!value)
				return -ENOMEM;
		}
		free(*field);
		*field = value;
	}
	return 0;
}

/* Defaults --------------------------------------------------------------- */

/* The default text of o into buf, and its origin; NULL when it has none. */
static const char *default_text(const struct opt *o, char *buf, size_t len, const char **origin)
{
	*origin = "default";
	if (!(o->flags & F_COMPUTED))
		return o->def;
	if (strcmp(o->name, "state_path") == 0) {
		const char *env = getenv(CBTSHIP_STATE_DIR_ENV);

		if (env && *env)
			*origin = "default ($" CBTSHIP_STATE_DIR_ENV ")";
		return cbtship_state_dir();
	}
	if (strcmp(o->name, "host") == 0) {
		if (gethostname(buf, len - 1) < 0 || !buf[0] || !valid_host(buf))
			snprintf(buf, len, "localhost");
		buf[len - 1] = '\0';
		return buf;
	}
	if (strcmp(o->name, "backup_workers") == 0 ||
	    strcmp(o->name, "backup_native_threads_pool_size") == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		if (n < o->min)
			n = o->min;
		if (n > o->max)
			n = o->max;
		snprintf(buf, len, "%ld", n);
		return buf;
	}
	return NULL;
}

static int apply_default(struct cbt_config *c, const struct opt *o)
{
	struct opt_state *st = &c->priv->opt[opt_index(o)];
	char buf[HOST_NAME_MAX + 2];
	_cleanup_(freep) char *err = NULL;
	const char *origin;
	const char *text = default_text(o, buf, sizeof(buf), &origin);
	int r;

	st->rank = RANK_DEFAULT;
	if (!text) {
		if (is_string_type(o->type))
			clear_string(c, o);
		else
			store_number(c, o, &(union value){ 0 });
		free(st->origin);
		st->origin = strdup(origin);
		return st->origin ? 0 : -ENOMEM;
	}
	r = set_value(c, o, text, origin, RANK_DEFAULT, false, &err);
	return r;
}

int cbt_config_new(struct cbt_config **ret)
{
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->priv = calloc(1, sizeof(*c->priv));
	if (!c->priv)
		return -ENOMEM;
	for (size_t i = 0; i < N_OPTIONS; i++) {
		r = apply_default(c, &options[i]);
		if (r < 0)
			return r;
	}
	r = resolve(c);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

struct cbt_config *cbt_config_free(struct cbt_config *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct opt *o = &options[i];

		if (is_string_type(o->type)) {
			char **field = str_field(c, o);

			free_secret(*field);
			*field = NULL;
		}
		if (c->priv) {
			free_secret(c->priv->opt[i].raw);
			free(c->priv->opt[i].origin);
		}
	}
	free(c->priv);
	free(c->path);
	free(c);
	return NULL;
}

/* Loading ---------------------------------------------------------------- */

#define ERRORS_MAX 50

struct parse {
	struct cbt_config *c;
	const char *path;
	char *data; /* the whole file, wiped after parsing */
	size_t len, pos;
	unsigned lineno;
	mode_t mode;
	bool secret_reported;
	/* Errors, one per line. */
	char *errors;
	size_t errors_len;
	unsigned nr_errors;
	int error; /* the first error's errno */
};

static __attribute__((format(printf, 3, 4))) void parse_error(struct parse *p, int error,
							      const char *fmt, ...)
{
	_cleanup_(freep) char *line = NULL;
	va_list ap;
	size_t n;
	char *grown;

	if (!p->error)
		p->error = error;
	if (++p->nr_errors > ERRORS_MAX)
		return;
	if (p->nr_errors == ERRORS_MAX) {
		line = strdup("... (more errors)");
	} else {
		va_start(ap, fmt);
		if (vasprintf(&line, fmt, ap) < 0)
			line = NULL;
		va_end(ap);
	}
	if (!line) {
		p->error = -ENOMEM;
		return;
	}
	n = strlen(line);
	grown = realloc(p->errors, p->errors_len + n + 2);
	if (!grown) {
		p->error = -ENOMEM;
		return;
	}
	p->errors = grown;
	if (p->errors_len)
		p->errors[p->errors_len++] = '\n';
	memcpy(p->errors + p->errors_len, line, n + 1);
	p->errors_len += n;
}

/* Take a message made by set_value() as one of the file's errors. */
static void parse_error_take(struct parse *p, int error, char *msg)
{
	if (!msg) {
		parse_error(p, -ENOMEM, "out of memory");
		return;
	}
	parse_error(p, error, "%s", msg);
	free(msg);
}

static bool known_section(const char *s)
{
	return strcmp(s, "DEFAULT") == 0 || strcmp(s, "cbtship") == 0;
}

/*
 * libinih's fgets-like reader over the file in memory, one line per call
 * (so p->lineno is the line the handler is called for). Leading blanks are
 * dropped, so that no line is taken as the continuation of a multi-line
 * value. Lines libinih would cut or misread (too long, NUL bytes, no '=',
 * an unknown section) are reported here and handed on as empty lines.
 * The file's bytes are wiped after parsing; libinih's own line buffer is
 * on its stack and out of reach.
 */
static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	size_t max = (size_t)(num > 3 ? num - 3 : 0), n, content;
	const char *line, *nl;

	if (max > CBT_CONFIG_LINE_MAX)
		max = CBT_CONFIG_LINE_MAX;
	if (p->pos >= p->len)
		return NULL;
	line = p->data + p->pos;
	nl = memchr(line, '\n', p->len - p->pos);
	n = nl ? (size_t)(nl - line) + 1 : p->len - p->pos;
	p->pos += n;
	p->lineno++;
	if (p->lineno == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
		line += 3; /* UTF-8 BOM */
		n -= 3;
	}
	while (n && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	content = n;
	while (content && (line[content - 1] == '\n' || line[content - 1] == '\r'))
		content--;

	strcpy(str, "\n");
	if (memchr(line, '\0', n)) {
		parse_error(p, -EINVAL, "%s:%u: NUL byte in the line", p->path, p->lineno);
		return str;
	}
	if (content > max) {
		parse_error(p, -EINVAL, "%s:%u: line too long (at most %zu characters)", p->path,
			    p->lineno, max);
		return str;
	}
	if (content && line[0] != '#' && line[0] != ';') {
		if (line[0] == '[') {
			const char *end = memchr(line, ']', content);

			if (!end) {
				parse_error(p, -EINVAL, "%s:%u: syntax error: section without ']'",
					    p->path, p->lineno);
				return str;
			}
			if ((size_t)(end - line - 1) > max)
				return str;
			char name[CBT_CONFIG_LINE_MAX + 1];

			memcpy(name, line + 1, (size_t)(end - line - 1));
			name[end - line - 1] = '\0';
			if (!known_section(name))
				parse_error(p, -EINVAL,
					    "%s:%u: unknown section [%s] (cbtship reads [DEFAULT] "
					    "and [cbtship])",
					    p->path, p->lineno, name);
		} else if (!memchr(line, '=', content) && !memchr(line, ':', content)) {
			parse_error(p, -EINVAL, "%s:%u: syntax error: expected 'name = value'",
				    p->path, p->lineno);
			return str;
		}
	}
	memcpy(str, line, content);
	str[content] = '\n';
	str[content + 1] = '\0';
	return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	_cleanup_(freep) char *origin = NULL;
	const struct opt *o;
	char *err = NULL;
	int r;

	if (!name)
		return 1;
	if (!*section) {
		parse_error(p, -EINVAL, "%s:%u: %s outside a section (put it in [cbtship])",
			    p->path, p->lineno, name);
		return 1;
	}
	if (!known_section(section))
		return 1; /* reported by the reader */
	o = opt_find(name);
	if (!o) {
		parse_error(p, -EINVAL, "%s:%u: unknown option '%s' in [%s]", p->path, p->lineno,
			    name, section);
		return 1;
	}
	if ((o->flags & F_SECRET) && *value && (p->mode & 077)) {
		if (!p->secret_reported)
			parse_error(p, -EACCES,
				    "%s:%u: %s is a secret, but %s has mode %04o (group or others "
				    "have access): chmod 600 %s",
				    p->path, p->lineno, o->name, p->path,
				    (unsigned)(p->mode & 07777), p->path);
		p->secret_reported = true;
		return 1;
	}
	origin = strdup_printf("%s:%u", p->path, p->lineno);
	if (!origin) {
		parse_error(p, -ENOMEM, "out of memory");
		return 1;
	}
	r = set_value(p->c, o, value, origin,
		      strcmp(section, "cbtship") == 0 ? RANK_SECTION_CBTSHIP : RANK_SECTION_DEFAULT,
		      true, &err);
	if (r == -ENOMEM && !err)
		parse_error(p, -ENOMEM, "out of memory");
	else if (r < 0)
		parse_error_take(p, r, err);
	return 1;
}

/* Read the file whole (so it can be wiped), with its mode. */
static int read_file(struct parse *p, char **ret_error)
{
	_cleanup_(closep) int fd = -1;
	struct stat st;

	fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int r = -errno;

		*ret_error = strdup_printf("cannot open configuration file %s: %s", p->path,
					   strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		int r = -errno;

		*ret_error = strdup_printf("%s: %s", p->path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		*ret_error = strdup_printf("configuration file %s is not a regular file", p->path);
		return -EINVAL;
	}
	if (st.st_size > CBT_CONFIG_FILE_MAX) {
		*ret_error = strdup_printf("configuration file %s is too large (over %d bytes)",
					   p->path, CBT_CONFIG_FILE_MAX);
		return -EFBIG;
	}
	p->mode = st.st_mode;
	p->data = malloc((size_t)st.st_size + 1);
	if (!p->data)
		return -ENOMEM;
	while (p->len < (size_t)st.st_size + 1) {
		ssize_t n = read(fd, p->data + p->len, (size_t)st.st_size + 1 - p->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			*ret_error = strdup_printf("cannot read %s: %s", p->path, strerror(-r));
			return r;
		}
		if (n == 0)
			break;
		p->len += (size_t)n;
	}
	if (p->len > (size_t)st.st_size) {
		*ret_error = strdup_printf("configuration file %s changed while read", p->path);
		return -EIO;
	}
	return 0;
}

/* Parse p->data (p->len bytes, p->mode) over p->c; errors into *ret_error. */
static int parse_data(struct parse *p, char **ret_error)
{
	int r = ini_parse_stream(reader, p, handler, p);

	if (r > 0 && !p->error)
		parse_error(p, -EINVAL, "%s:%d: syntax error", p->path, r);
	else if (r < 0 && !p->error)
		parse_error(p, -ENOMEM, "%s: libinih failed (%d)", p->path, r);
	r = p->error;
	if (r < 0) {
		*ret_error = TAKE_PTR(p->errors);
		if (!*ret_error)
			*ret_error = strdup_printf("%s: %s", p->path, strerror(-r));
	}
	return r;
}

/* Wipe and free what a parse read and collected. */
static void parse_release(struct parse *p)
{
	if (p->data) {
		explicit_bzero(p->data, p->len);
		free(p->data);
	}
	free(p->errors);
}

static int load_file(struct cbt_config *c, const char *path, char **ret_error)
{
	struct parse p = { .c = c, .path = path };
	int r;

	r = read_file(&p, ret_error);
	if (r >= 0)
		r = parse_data(&p, ret_error);
	parse_release(&p);
	return r;
}

/* After loading into *c (r, and its message in *error): resolve, hand over c or the error. */
static int load_finish(struct cbt_config **c, int r, char **error, struct cbt_config **ret,
		       char **ret_error)
{
	if (r >= 0)
		r = resolve(*c);
	if (r < 0) {
		if (ret_error)
			*ret_error = *error ? TAKE_PTR(*error) : strdup(strerror(-r));
		return r;
	}
	*ret = TAKE_PTR(*c);
	return 0;
}

int cbt_config_parse(const char *name, const void *data, size_t len, mode_t mode,
		     struct cbt_config **ret, char **ret_error)
{
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	_cleanup_(freep) char *error = NULL;
	struct parse p = { .path = name && *name ? name : "configuration", .mode = mode };
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (len > CBT_CONFIG_FILE_MAX) {
		if (ret_error)
			*ret_error = strdup_printf("%s is too large (over %d bytes)", p.path,
						   CBT_CONFIG_FILE_MAX);
		return -EFBIG;
	}
	r = cbt_config_new(&c);
	if (r < 0)
		return r;
	p.c = c;
	/* A copy, wiped after parsing as a file's is (the caller's bytes stay const). */
	p.data = malloc(len + 1);
	if (!p.data)
		return -ENOMEM;
	if (len)
		memcpy(p.data, data, len);
	p.len = len;
	r = parse_data(&p, &error);
	parse_release(&p);
	return load_finish(&c, r, &error, ret, ret_error);
}

int cbt_config_load(const char *path, struct cbt_config **ret, char **ret_error)
{
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	_cleanup_(freep) char *error = NULL;
	bool explicit = true;
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (!path || !*path) {
		const char *env = getenv(CBT_CONFIG_ENV);

		path = env && *env ? env : NULL;
	}
	if (!path) {
		path = CBT_CONFIG_DEFAULT_PATH;
		explicit = false;
	}
	r = cbt_config_new(&c);
	if (r < 0)
		return r;
	if (!explicit && access(path, F_OK) < 0 && errno == ENOENT) {
		*ret = TAKE_PTR(c);
		return 0;
	}
	c->path = strdup(path);
	if (!c->path)
		return -ENOMEM;
	r = load_file(c, path, &error);
	return load_finish(&c, r, &error, ret, ret_error);
}

/* Set, query ------------------------------------------------------------- */

int cbt_config_set(struct cbt_config *c, const char *name, const char *value, const char *origin,
		   char **err)
{
	_cleanup_(freep) char *msg = NULL;
	const struct opt *o = opt_find(name);
	int r;

	if (err)
		*err = NULL;
	if (!origin || !*origin)
		origin = "command line";
	if (!o) {
		if (err)
			*err = strdup_printf("%s: unknown option '%s'", origin, name ? name : "");
		return -ENOENT;
	}
	if (!value || !*value) {
		bool has_default = o->def || (o->flags & F_COMPUTED);

		if (!has_default || (o->flags & F_EMPTY_OK))
			r = set_value(c, o, "", origin, RANK_SET, false, &msg);
		else
			r = apply_default(c, o);
	} else {
		r = set_value(c, o, value, origin, RANK_SET, false, &msg);
	}
	if (r >= 0)
		r = resolve(c);
	if (r < 0 && err)
		*err = msg ? TAKE_PTR(msg) : strdup(strerror(-r));
	return r;
}

const char *cbt_config_origin(const struct cbt_config *c, const char *name)
{
	const struct opt *o = opt_find(name);

	return o ? c->priv->opt[opt_index(o)].origin : NULL;
}

bool cbt_config_option_exists(const char *name)
{
	return opt_find(name) != NULL;
}

const char *cbt_config_container(const struct cbt_config *c)
{
	switch (c->backup_driver) {
	case CBT_SERVICE_SWIFT:
		return c->backup_swift_container;
	case CBT_SERVICE_CEPH:
		return c->backup_ceph_pool;
	default:
		return c->backup_container;
	}
}

static int need(const struct cbt_config *c, bool ok, const char *what, char **err)
{
	if (ok)
		return 0;
	if (err)
		*err = strdup_printf("backup_driver = %s needs %s%s%s",
				     cbt_service_to_string(c->backup_driver), what,
				     c->path ? " in " : "", c->path ? c->path : "");
	return -EINVAL;
}

int cbt_config_check_driver(const struct cbt_config *c, char **err)
{
	int r;

	if (err)
		*err = NULL;
	switch (c->backup_driver) {
	case CBT_SERVICE_NFS:
		return need(c, c->backup_share, "backup_share (HOST:/EXPORT)", err);
	case CBT_SERVICE_SWIFT:
		r = need(c, c->backup_swift_url || c->backup_swift_auth_url,
			 "backup_swift_url or backup_swift_auth_url", err);
		if (r < 0)
			return r;
		if (c->backup_swift_auth == CBT_SWIFT_AUTH_SINGLE_USER) {
			r = need(c, c->backup_swift_auth_url,
				 "backup_swift_auth_url (backup_swift_auth = single_user)", err);
			if (r < 0)
				return r;
			r = need(c, c->backup_swift_user && c->backup_swift_key,
				 "backup_swift_user and backup_swift_key (backup_swift_auth = "
				 "single_user)",
				 err);
			if (r < 0)
				return r;
			if (c->backup_swift_auth_version == 3)
				return need(c, c->backup_swift_project,
					    "backup_swift_project (backup_swift_auth_version = 3)",
					    err);
		}
		return 0;
	case CBT_SERVICE_CEPH:
		return need(c, c->backup_ceph_conf && c->backup_ceph_pool,
			    "backup_ceph_conf and backup_ceph_pool", err);
	default:
		return need(c, c->backup_posix_path, "backup_posix_path", err);
	}
}

/* Dump ------------------------------------------------------------------- */

/* The value of o as text (a new string; "" when unset), secrets masked. */
static char *value_text(const struct cbt_config *c, const struct opt *o)
{
	const char *base = (const char *)c + o->offset;

	if (is_string_type(o->type)) {
		const char *s = *str_field_const(c, o);

		if (!s)
			return strdup("");
		return strdup(o->flags & F_SECRET ? "***" : s);
	}
	switch (o->type) {
	case T_BOOL:
		return strdup(*(const bool *)(const void *)base ? "true" : "false");
	case T_INT:
	case T_AUTH_VERSION:
		return strdup_printf("%d", *(const int *)(const void *)base);
	case T_I64:
		return strdup_printf("%" PRId64, *(const int64_t *)(const void *)base);
	case T_SIZE:
	case T_CHUNK:
		return strdup_printf("%" PRIu64, *(const uint64_t *)(const void *)base);
	case T_DRIVER:
		return strdup(cbt_service_to_string(c->backup_driver));
	case T_COMPRESSION:
		return strdup(cbt_compression_to_string(c->backup_compression_algorithm));
	case T_SWIFT_AUTH:
		return strdup(cbt_swift_auth_to_string(c->backup_swift_auth));
	default:
		return strdup("");
	}
}

static json_t *value_json(const struct cbt_config *c, const struct opt *o)
{
	const char *base = (const char *)c + o->offset;

	switch (o->type) {
	case T_BOOL:
		return json_boolean(*(const bool *)(const void *)base);
	case T_INT:
	case T_AUTH_VERSION:
		return json_integer(*(const int *)(const void *)base);
	case T_I64:
		return json_integer(*(const int64_t *)(const void *)base);
	case T_SIZE:
	case T_CHUNK:
		return json_integer((json_int_t) * (const uint64_t *)(const void *)base);
	default: {
		_cleanup_(freep) char *s = NULL;

		if (is_string_type(o->type) && !*str_field_const(c, o))
			return json_null();
		s = value_text(c, o);
		return s ? json_string(s) : NULL;
	}
	}
}

static int dump_json(const struct cbt_config *c, FILE *out)
{
	json_t *root = json_object(), *opts = json_object();
	int r = -ENOMEM;

	if (!root || !opts)
		goto out;
	if (json_object_set_new(root, "file", c->path ? json_string(c->path) : json_null()) < 0)
		goto out;
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct opt *o = &options[i];
		json_t *entry = json_object(), *v = value_json(c, o);

		if (!entry || !v) {
			json_decref(v);
			json_decref(entry);
			goto out;
		}
		if (json_object_set_new(entry, "value", v) < 0 ||
		    json_object_set_new(entry, "origin", json_string(c->priv->opt[i].origin)) < 0 ||
		    ((o->flags & F_IGNORED) &&
		     json_object_set_new(entry, "ignored", json_true()) < 0) ||
		    ((o->flags & F_SECRET) &&
		     json_object_set_new(entry, "secret", json_true()) < 0) ||
		    json_object_set_new(opts, o->name, entry) < 0) {
			json_decref(entry);
			goto out;
		}
	}
	if (json_object_set(root, "options", opts) < 0)
		goto out;
	r = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ? -EIO : 0;
	if (r == 0 && fputc('\n', out) == EOF)
		r = -EIO;
out:
	json_decref(opts);
	json_decref(root);
	return r;
}

int cbt_config_dump(const struct cbt_config *c, FILE *out, bool json)
{
	const char *group = NULL;

	if (json)
		return dump_json(c, out);
	fprintf(out, "# cbtship: effective configuration (file: %s)\n[cbtship]\n",
		c->path ? c->path : "none, built-in defaults");
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct opt *o = &options[i];
		_cleanup_(freep) char *v = value_text(c, o);

		if (!v)
			return -ENOMEM;
		if (!group || strcmp(group, o->group) != 0) {
			group = o->group;
			fprintf(out, "\n# %s\n", group);
		}
		if (*v)
			fprintf(out, "%s = %s ; %s%s\n", o->name, v, c->priv->opt[i].origin,
				o->flags & F_IGNORED ? ", ignored by cbtship" : "");
		else
			fprintf(out, "# %s = (unset; %s)\n", o->name, c->priv->opt[i].origin);
	}
	return ferror(out) ? -EIO : 0;
}
