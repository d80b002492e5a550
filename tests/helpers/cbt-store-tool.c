/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbt-store-tool: drive an object store (store/store.h) from test
 * scripts. The store is Swift, configured from the environment, or a
 * POSIX directory with --posix DIR.
 *
 *   cbt-store-tool put KEY              the object is stdin
 *   cbt-store-tool get KEY [MAX_LEN]    the object to stdout
 *   cbt-store-tool exists KEY           prints 1 or 0
 *   cbt-store-tool delete KEY
 *   cbt-store-tool list [PREFIX]        one key a line, sorted
 *   cbt-store-tool count [PREFIX]       the number of keys
 *   cbt-store-tool put-many PREFIX COUNT [THREADS [SIZE]]
 *                        objects PREFIX000000... in THREADS threads, each
 *                        its key repeated to SIZE bytes (just the key: 0)
 *   cbt-store-tool check-many PREFIX COUNT [THREADS [SIZE]]
 *                        get them back and compare
 *   cbt-store-tool range KEY OFFSET LEN bytes [OFFSET, OFFSET + LEN) to stdout
 *                        (OFFSET "tail": the last LEN), then the object's
 *                        size on stderr as "size N"
 *   cbt-store-tool entries [KEY_FILE]
 *                        every entry of every pack (repo/pack.h), one a
 *                        line: PACK_KEY OFFSET LENGTH chunk|index ID; the
 *                        key file reads sealed tables
 *   cbt-store-tool series PREFIX COUNT [DELAY_MS]
 *                        one at a time: put, get and compare, then sleep;
 *                        prints "series: N/COUNT" after each
 *
 * Environment (Swift): SWIFT_AUTH_URL, SWIFT_AUTH_VERSION, SWIFT_USER,
 * SWIFT_KEY, SWIFT_USER_DOMAIN, SWIFT_PROJECT, SWIFT_PROJECT_DOMAIN,
 * SWIFT_REGION, SWIFT_INTERFACE, SWIFT_STORAGE_URL, SWIFT_TOKEN,
 * SWIFT_CONTAINER, SWIFT_RETRY_ATTEMPTS, SWIFT_RETRY_BACKOFF,
 * SWIFT_CA_CERT_FILE, SWIFT_INSECURE (1), SWIFT_TIMEOUT.
 *
 * The store's retry and re-authentication notes go to stderr as
 * "cbt-store-tool: swift: ...". A failure prints "cbt-store-tool: OP
 * KEY: MESSAGE (errno N)" and exits 1, or 3 when the key is missing
 * (-ENOENT); 2 is a usage error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cbtship/compress/compressor.h"
#include "cbtship/encrypt/cipher.h"
#include "cbtship/encrypt/key.h"
#include "cbtship/hash/hasher.h"
#include "cbtship/repo/pack.h"
#include "cbtship/store/posix/posix.h"
#include "cbtship/store/swift/swift.h"

static const char *store_kind = "swift";

static int usage(void)
{
	fprintf(stderr, "usage: cbt-store-tool [--posix DIR] put|get|exists|delete KEY\n"
			"       cbt-store-tool [--posix DIR] list|count [PREFIX]\n"
			"       cbt-store-tool [--posix DIR] range KEY OFFSET|tail LEN\n"
			"       cbt-store-tool [--posix DIR] entries [KEY_FILE]\n"
			"       cbt-store-tool [--posix DIR] put-many|check-many PREFIX COUNT "
			"[THREADS [SIZE]]\n"
			"       cbt-store-tool [--posix DIR] series PREFIX COUNT [DELAY_MS]\n");
	return 2;
}

static const char *message(int r)
{
	const char *m = NULL;

	if (strcmp(store_kind, "swift") == 0)
		m = cbt_swift_store_last_error();
	if (!m || !*m)
		m = strcmp(store_kind, "posix") == 0 ? cbt_posix_store_strerror(r) : strerror(-r);
	return m;
}

static int failed(const char *op, const char *key, int r)
{
	fprintf(stderr, "cbt-store-tool: %s %s: %s (errno %d)\n", op, key ? key : "", message(r),
		-r);
	return r == -ENOENT ? 3 : 1;
}

static void on_log(const char *msg, void *userdata)
{
	(void)userdata;
	fprintf(stderr, "cbt-store-tool: swift: %s\n", msg);
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int open_swift(struct cbt_store **ret)
{
	struct cbt_swift_config cfg;
	char *error = NULL;
	const char *v;
	int r;

	cbt_swift_config_init(&cfg);
	cfg.auth_url = env("SWIFT_AUTH_URL");
	if ((v = env("SWIFT_AUTH_VERSION")))
		cfg.auth_version = v;
	cfg.user = env("SWIFT_USER");
	cfg.key = env("SWIFT_KEY");
	cfg.user_domain = env("SWIFT_USER_DOMAIN");
	cfg.project = env("SWIFT_PROJECT");
	cfg.project_domain = env("SWIFT_PROJECT_DOMAIN");
	cfg.region = env("SWIFT_REGION");
	cfg.interface = env("SWIFT_INTERFACE");
	cfg.storage_url = env("SWIFT_STORAGE_URL");
	cfg.token = env("SWIFT_TOKEN");
	if ((v = env("SWIFT_CONTAINER")))
		cfg.container = v;
	if ((v = env("SWIFT_RETRY_ATTEMPTS")))
		cfg.retry_attempts = atoi(v);
	if ((v = env("SWIFT_RETRY_BACKOFF")))
		cfg.retry_backoff = strtod(v, NULL);
	cfg.ca_cert_file = env("SWIFT_CA_CERT_FILE");
	cfg.insecure = (v = env("SWIFT_INSECURE")) && strcmp(v, "0") != 0;
	if ((v = env("SWIFT_TIMEOUT")))
		cfg.timeout = strtod(v, NULL);
	cfg.log = on_log;
	r = cbt_swift_store_open(&cfg, ret, &error);
	if (r < 0) {
		fprintf(stderr, "cbt-store-tool: open: %s (errno %d)\n",
			error ? error : strerror(-r), -r);
		free(error);
	}
	return r;
}

static int read_stdin(char **ret, size_t *ret_len)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		size_t n;

		if (len == cap) {
			char *p = realloc(buf, cap *= 2);

			if (!p) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, stdin);
		len += n;
		if (n == 0) {
			if (ferror(stdin)) {
				free(buf);
				return -EIO;
			}
			break;
		}
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static int print_key(const char *key, void *userdata)
{
	(void)userdata;
	return puts(key) < 0 ? -EIO : 0;
}

static int count_key(const char *key, void *userdata)
{
	(void)key;
	(*(unsigned long *)userdata)++;
	return 0;
}

/* ---- many objects */

struct many {
	struct cbt_store *store;
	const char *prefix;
	unsigned long count;
	size_t size;
	bool check;
	atomic_ulong next;
	atomic_int status; /* the first failure's exit status */
};

static void object_name(const struct many *m, unsigned long i, char *key, size_t size)
{
	snprintf(key, size, "%s%06lu", m->prefix, i);
}

/* The object of key: the key repeated to size bytes (the key alone for 0). */
static char *object_body(const char *key, size_t size, size_t *ret_len)
{
	size_t klen = strlen(key), len = size ? size : klen;
	char *b = malloc(len + 1);

	if (!b)
		return NULL;
	for (size_t i = 0; i < len; i++)
		b[i] = key[i % klen];
	*ret_len = len;
	return b;
}

static int one_object(struct cbt_store *store, const char *key, size_t size, bool put, bool get)
{
	size_t len, got_len;
	void *got = NULL;
	char *body;
	int r = 0;

	body = object_body(key, size, &len);
	if (!body)
		return failed("put", key, -ENOMEM);
	if (put && (r = cbt_store_put(store, key, body, len)) < 0) {
		r = failed("put", key, r);
		goto out;
	}
	if (get) {
		r = cbt_store_get(store, key, 0, &got, &got_len);
		if (r < 0) {
			r = failed("get", key, r);
			goto out;
		}
		if (got_len != len || memcmp(got, body, len) != 0) {
			fprintf(stderr, "cbt-store-tool: get %s: the object differs\n", key);
			r = 1;
		}
	}
out:
	free(got);
	free(body);
	return r;
}

static void *many_worker(void *arg)
{
	struct many *m = arg;
	char key[1100];

	for (;;) {
		unsigned long i = atomic_fetch_add(&m->next, 1);
		int r;

		if (i >= m->count || atomic_load(&m->status))
			break;
		object_name(m, i, key, sizeof(key));
		r = one_object(m->store, key, m->size, !m->check, m->check);
		if (r) {
			int zero = 0;

			atomic_compare_exchange_strong(&m->status, &zero, r);
			break;
		}
	}
	return NULL;
}

static int many(struct cbt_store *store, bool check, int argc, char **argv)
{
	struct many m = { .store = store, .check = check };
	unsigned long threads = 8;
	pthread_t tids[64];

	if (argc < 2 || argc > 4)
		return usage();
	m.prefix = argv[0];
	m.count = strtoul(argv[1], NULL, 10);
	if (argc > 2)
		threads = strtoul(argv[2], NULL, 10);
	if (argc > 3)
		m.size = strtoul(argv[3], NULL, 10);
	if (threads < 1 || threads > ELEMENTSOF(tids))
		return usage();
	for (unsigned long t = 0; t < threads; t++)
		if (pthread_create(&tids[t], NULL, many_worker, &m) != 0) {
			threads = t;
			atomic_store(&m.status, 1);
			break;
		}
	for (unsigned long t = 0; t < threads; t++)
		pthread_join(tids[t], NULL);
	return atomic_load(&m.status);
}

static int series(struct cbt_store *store, int argc, char **argv)
{
	unsigned long count, delay_ms = 0;
	char key[1100];

	if (argc < 2 || argc > 3)
		return usage();
	count = strtoul(argv[1], NULL, 10);
	if (argc > 2)
		delay_ms = strtoul(argv[2], NULL, 10);
	for (unsigned long i = 0; i < count; i++) {
		struct timespec ts = { .tv_sec = (time_t)(delay_ms / 1000),
				       .tv_nsec = (long)(delay_ms % 1000) * 1000000L };
		int r;

		snprintf(key, sizeof(key), "%s%06lu", argv[0], i);
		r = one_object(store, key, 0, true, true);
		if (r)
			return r;
		printf("series: %lu/%lu\n", i + 1, count);
		fflush(stdout);
		nanosleep(&ts, NULL);
	}
	return 0;
}

struct entries_ctx {
	struct cbt_store *store;
	struct cbt_pack_codec pc;
	int error;
};

static int print_entries(const char *key, void *userdata)
{
	struct entries_ctx *e = userdata;
	_cleanup_(freep) struct cbt_pack_entry *t = NULL;
	char hex[CBT_CHUNK_ID_HEX_SIZE];
	size_t n = 0;
	int r;

	r = cbt_pack_read_table(e->store, key, &e->pc, &t, &n, NULL);
	if (r < 0) {
		fprintf(stderr, "cbt-store-tool: pack %s: %s\n", key, cbt_pack_strerror(r));
		e->error = r;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		printf("%s %llu %u %s %s\n", key, (unsigned long long)t[i].offset, t[i].length,
		       t[i].type == CBT_PACK_ENTRY_INDEX ? "index" : "chunk",
		       cbt_chunk_id_to_hex(&t[i].id, hex));
	return 0;
}

static int entries(struct cbt_store *store, int argc, char **argv)
{
	_cleanup_(cbt_key_freep) struct cbt_key *key = NULL;
	struct entries_ctx e = { .store = store };
	char *err = NULL;
	int r;

	if (argc > 1)
		return usage();
	if (argc == 1) {
		r = cbt_key_load(argv[0], &key, &err);
		if (r < 0) {
			fprintf(stderr, "cbt-store-tool: %s\n", err ? err : strerror(-r));
			free(err);
			return 1;
		}
	}
	r = cbt_compressor_new(CBT_COMPRESS_NONE, 0, &e.pc.compressor);
	if (r >= 0)
		r = cbt_hasher_new(NULL, 0, &e.pc.plain);
	if (r >= 0 && key)
		r = cbt_hasher_new(key->id_key, CBT_KEY_SIZE, &e.pc.keyed);
	if (r >= 0 && key)
		r = cbt_cipher_new(key, &e.pc.cipher);
	if (r >= 0)
		r = cbt_store_list(store, CBT_PACK_KEY_PREFIX, print_entries, &e);
	cbt_compressor_free(e.pc.compressor);
	cbt_hasher_free(e.pc.plain);
	cbt_hasher_free(e.pc.keyed);
	cbt_cipher_free(e.pc.cipher);
	if (r < 0)
		return failed("entries", CBT_PACK_KEY_PREFIX, r);
	return e.error ? 1 : 0;
}

int main(int argc, char **argv)
{
	_cleanup_(cbt_store_freep) struct cbt_store *store = NULL;
	const char *posix = NULL, *cmd;
	int r;

	signal(SIGPIPE, SIG_IGN); /* as swift.h asks: curl runs with NOSIGNAL */
	if (argc >= 3 && strcmp(argv[1], "--posix") == 0) {
		posix = argv[2];
		store_kind = "posix";
		argc -= 2;
		argv += 2;
	}
	if (argc < 2)
		return usage();
	cmd = argv[1];
	argc -= 2;
	argv += 2;

	r = posix ? cbt_posix_store_open(posix, &store) : open_swift(&store);
	if (r < 0)
		return posix ? failed("open", posix, r) : 1;

	if (strcmp(cmd, "put") == 0 && argc == 1) {
		_cleanup_(freep) char *buf = NULL;
		size_t len;

		r = read_stdin(&buf, &len);
		if (r < 0)
			return failed("put", argv[0], r);
		r = cbt_store_put(store, argv[0], buf, len);
		return r < 0 ? failed("put", argv[0], r) : 0;
	}
	if (strcmp(cmd, "get") == 0 && (argc == 1 || argc == 2)) {
		_cleanup_(freep) void *buf = NULL;
		size_t len;

		r = cbt_store_get(store, argv[0], argc == 2 ? strtoull(argv[1], NULL, 10) : 0, &buf,
				  &len);
		if (r < 0)
			return failed("get", argv[0], r);
		if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0)
			return failed("get", argv[0], -EIO);
		return 0;
	}
	if (strcmp(cmd, "exists") == 0 && argc == 1) {
		r = cbt_store_exists(store, argv[0]);
		if (r < 0)
			return failed("exists", argv[0], r);
		printf("%d\n", r);
		return 0;
	}
	if (strcmp(cmd, "delete") == 0 && argc == 1) {
		r = cbt_store_delete(store, argv[0]);
		return r < 0 ? failed("delete", argv[0], r) : 0;
	}
	if (strcmp(cmd, "list") == 0 && argc <= 1) {
		r = cbt_store_list(store, argc ? argv[0] : "", print_key, NULL);
		return r < 0 ? failed("list", argc ? argv[0] : "", r) : 0;
	}
	if (strcmp(cmd, "count") == 0 && argc <= 1) {
		unsigned long n = 0;

		r = cbt_store_list(store, argc ? argv[0] : "", count_key, &n);
		if (r < 0)
			return failed("list", argc ? argv[0] : "", r);
		printf("%lu\n", n);
		return 0;
	}
	if (strcmp(cmd, "range") == 0 && argc == 3) {
		bool tail = strcmp(argv[1], "tail") == 0;
		size_t len = strtoull(argv[2], NULL, 10), got = 0;
		_cleanup_(freep) char *buf = malloc(len ? len : 1);
		uint64_t size = 0;

		if (!buf)
			return failed("range", argv[0], -ENOMEM);
		r = cbt_store_get_range(store, argv[0],
					tail ? CBT_STORE_RANGE_TAIL : strtoull(argv[1], NULL, 10),
					len, buf, &got, &size);
		if (r < 0)
			return failed("range", argv[0], r);
		if (fwrite(buf, 1, got, stdout) != got || fflush(stdout) != 0)
			return failed("range", argv[0], -EIO);
		fprintf(stderr, "size %llu\n", (unsigned long long)size);
		return 0;
	}
	if (strcmp(cmd, "entries") == 0)
		return entries(store, argc, argv);
	if (strcmp(cmd, "put-many") == 0)
		return many(store, false, argc, argv);
	if (strcmp(cmd, "check-many") == 0)
		return many(store, true, argc, argv);
	if (strcmp(cmd, "series") == 0)
		return series(store, argc, argv);
	return usage();
}
