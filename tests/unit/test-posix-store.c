/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The POSIX directory object store, in a mkdtemp directory. Host only;
 * the full-disk case mounts a 1 MiB tmpfs (needs root / CAP_SYS_ADMIN,
 * skipped with the reason otherwise).
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "cbtship/store/posix/posix.h"

struct fixture {
	char dir[64];
	struct cbt_store *store;
	int mounted;
	void *big;
};

static int dot_files;
static int count_dot(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag;
	if (ftw->level > 0 && path[ftw->base] == '.')
		dot_files++;
	return 0;
}

/* Leftover temporaries anywhere under dir. */
static int count_dot_files(const char *dir)
{
	dot_files = 0;
	assert_int_equal(nftw(dir, count_dot, 16, FTW_PHYS), 0);
	return dot_files;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tmpdir_make(f->dir, sizeof(f->dir), "posix-store");
	assert_int_equal(cbt_posix_store_open(f->dir, &f->store), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cbt_store_free(f->store);
	if (f->mounted)
		umount2(f->dir, MNT_DETACH);
	tmpdir_remove(f->dir);
	free(f->big);
	free(f);
	return 0;
}

/* A put left pending (seen only by this store until a flush). */
static void put_pending(struct cbt_store *s, const char *key, const char *val)
{
	assert_int_equal(cbt_store_put(s, key, val, strlen(val)), 0);
}

/* A durable put: put and flush. */
static void put_str(struct cbt_store *s, const char *key, const char *val)
{
	put_pending(s, key, val);
	assert_int_equal(cbt_store_flush(s), 0);
}

static void assert_get(struct cbt_store *s, const char *key, const char *val)
{
	_cleanup_(freep) void *buf = NULL;
	size_t len = 0;

	assert_int_equal(cbt_store_get(s, key, 0, &buf, &len), 0);
	assert_int_equal(len, strlen(val));
	assert_memory_equal(buf, val, len);
}

static void open_errors(void **state)
{
	struct fixture *f = *state;
	struct cbt_store *s = NULL;
	char path[128];

	snprintf(path, sizeof(path), "%s/missing", f->dir);
	assert_int_equal(cbt_posix_store_open(path, &s), -ENOENT);
	assert_non_null(strstr(cbt_posix_store_strerror(-ENOENT), "does not exist"));
	put_str(f->store, "file", "x");
	snprintf(path, sizeof(path), "%s/file", f->dir);
	assert_int_equal(cbt_posix_store_open(path, &s), -ENOTDIR);
	assert_int_equal(cbt_posix_store_open("", &s), -EINVAL);
	assert_null(s);
	assert_string_equal(cbt_store_name(f->store), "posix");
}

static void put_get_exists_delete(void **state)
{
	struct fixture *f = *state;
	char path[128];
	struct stat st;

	assert_int_equal(cbt_store_exists(f->store, "chunks/ab/abcd"), 0);
	put_str(f->store, "chunks/ab/abcd", "hello");
	assert_int_equal(cbt_store_exists(f->store, "chunks/ab/abcd"), 1);
	assert_get(f->store, "chunks/ab/abcd", "hello");
	/* On disk: the key is the path, directories made on demand. */
	snprintf(path, sizeof(path), "%s/chunks/ab/abcd", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 5);
	/* A top-level key, and an empty object. */
	put_str(f->store, "config", "");
	assert_get(f->store, "config", "");
	assert_int_equal(cbt_store_delete(f->store, "chunks/ab/abcd"), 0);
	assert_int_equal(cbt_store_exists(f->store, "chunks/ab/abcd"), 0);
	assert_int_equal(count_dot_files(f->dir), 0);
}

static void overwrite(void **state)
{
	struct fixture *f = *state;

	put_str(f->store, "manifests/b1.json", "first version, longer");
	put_str(f->store, "manifests/b1.json", "second");
	assert_get(f->store, "manifests/b1.json", "second");
	assert_int_equal(count_dot_files(f->dir), 0);
}

static void missing_keys(void **state)
{
	struct fixture *f = *state;
	void *buf = NULL;
	size_t len;

	assert_int_equal(cbt_store_get(f->store, "nope", 0, &buf, &len), -ENOENT);
	assert_int_equal(cbt_store_get(f->store, "no/such/dir", 0, &buf, &len), -ENOENT);
	assert_int_equal(cbt_store_delete(f->store, "nope"), -ENOENT);
	assert_int_equal(cbt_store_delete(f->store, "no/such/dir"), -ENOENT);
	put_str(f->store, "a/b", "x");
	/* A directory of keys is no object; a file is no directory. */
	assert_int_equal(cbt_store_exists(f->store, "a"), 0);
	assert_int_equal(cbt_store_get(f->store, "a", 0, &buf, &len), -ENOENT);
	assert_int_equal(cbt_store_delete(f->store, "a"), -ENOENT);
	assert_int_equal(cbt_store_exists(f->store, "a/b/c"), 0);
	assert_int_equal(cbt_store_get(f->store, "a/b/c", 0, &buf, &len), -ENOENT);
	assert_int_equal(cbt_store_delete(f->store, "a/b/c"), -ENOENT);
	assert_null(buf);
	/* Size limit on get. */
	assert_int_equal(cbt_store_get(f->store, "a/b", 0, &buf, &len), 0);
	free(buf);
	buf = NULL;
	put_str(f->store, "big", "0123456789");
	assert_int_equal(cbt_store_get(f->store, "big", 9, &buf, &len), -EFBIG);
	assert_null(buf);
	assert_int_equal(cbt_store_get(f->store, "big", 10, &buf, &len), 0);
	free(buf);
}

struct collected {
	char keys[32][64];
	int n;
	int stop_at; /* return 1 at this call (0: never) */
};

static int collect(const char *key, void *userdata)
{
	struct collected *c = userdata;

	assert_true(c->n < 32);
	snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", key);
	c->n++;
	return c->n == c->stop_at ? 1 : 0;
}

static int fail_cb(const char *key, void *userdata)
{
	(void)key, (void)userdata;
	return -ECANCELED;
}

static void assert_listed(struct cbt_store *s, const char *prefix, const char *const *want,
			  int n_want)
{
	struct collected c = { .n = 0 };

	assert_int_equal(cbt_store_list(s, prefix, collect, &c), 0);
	assert_int_equal(c.n, n_want);
	for (int i = 0; i < n_want; i++)
		assert_string_equal(c.keys[i], want[i]);
}

static void list_order_and_prefix(void **state)
{
	/* Bytewise order, where a directory "a" sorts as "a/". */
	static const char *const all[] = {
		"a-b",
		"a/x",
		"a/y/z",
		"a0",
		"chunks/00/0001",
		"chunks/ab/ab01",
		"chunks/ab/ab02",
		"chunks/ff/ff00",
		"manifests/b1.json",
		"manifests/b2.json",
	};
	static const int order[] = { 7, 2, 9, 0, 5, 3, 8, 1, 6, 4 }; /* put shuffled */
	struct fixture *f = *state;
	char path[128];
	int fd;

	assert_listed(f->store, "", NULL, 0); /* empty store */
	for (size_t i = 0; i < ELEMENTSOF(order); i++)
		put_str(f->store, all[order[i]], "v");
	/* Foreign files and temporaries are not keys. */
	snprintf(path, sizeof(path), "%s/chunks/ab/.tmp-1-2", f->dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/lost+found", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);

	assert_listed(f->store, "", all, 10);
	assert_listed(f->store, NULL, all, 10);
	assert_listed(f->store, "chunks/", all + 4, 4);
	assert_listed(f->store, "chunks/ab", all + 5, 2); /* not at a component boundary */
	assert_listed(f->store, "chunks/ab/ab02", all + 6, 1);
	assert_listed(f->store, "a", all, 4);
	assert_listed(f->store, "a/", all + 1, 2);
	assert_listed(f->store, "manifests/b", all + 8, 2);
	assert_listed(f->store, "zzz", NULL, 0);
	assert_listed(f->store, "chunks/ab/ab02/x", NULL, 0);

	/* Early stop (positive) and errors come back from list. */
	struct collected c = { .stop_at = 3 };

	assert_int_equal(cbt_store_list(f->store, "", collect, &c), 1);
	assert_int_equal(c.n, 3);
	assert_int_equal(cbt_store_list(f->store, "", fail_cb, NULL), -ECANCELED);
}

static int delete_cb(const char *key, void *userdata)
{
	return cbt_store_delete(userdata, key);
}

/* A listing may delete what it walks (garbage collection does). */
static void list_while_deleting(void **state)
{
	struct fixture *f = *state;

	put_str(f->store, "chunks/00/a", "1");
	put_str(f->store, "chunks/00/b", "2");
	put_str(f->store, "chunks/01/c", "3");
	put_str(f->store, "keep", "4");
	assert_int_equal(cbt_store_list(f->store, "chunks/", delete_cb, f->store), 0);
	assert_listed(f->store, "", (const char *const[]){ "keep" }, 1);
}

static void no_temporaries_after_puts(void **state)
{
	struct fixture *f = *state;
	char key[64];

	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "chunks/%02x/%08d", i % 16, i);
		put_pending(f->store, key, key);
	}
	assert_int_equal(count_dot_files(f->dir), 200); /* pending */
	assert_int_equal(cbt_store_flush(f->store), 0);
	assert_int_equal(count_dot_files(f->dir), 0);
	assert_get(f->store, "chunks/07/00000007", "chunks/07/00000007");
}

struct worker {
	struct cbt_store *store;
	int id;
};

static void *put_worker(void *arg)
{
	struct worker *w = arg;
	char key[64], val[4096];

	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "chunks/%02x/w%d-%d", i % 4, w->id, i);
		memset(val, 'a' + w->id, sizeof(val));
		if (cbt_store_put(w->store, key, val, sizeof(val)) < 0)
			return (void *)1;
	}
	return NULL;
}

static int count_cb(const char *key, void *userdata)
{
	(void)key;
	(*(int *)userdata)++;
	return 0;
}

/* Upload workers share one store, and create fan-out directories concurrently. */
static void concurrent_puts(void **state)
{
	struct fixture *f = *state;
	pthread_t t[4];
	struct worker w[4];
	int n = 0;

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ f->store, i };
		assert_int_equal(pthread_create(&t[i], NULL, put_worker, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		void *ret;

		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	assert_int_equal(cbt_store_list(f->store, "", count_cb, &n), 0);
	assert_int_equal(n, 200);
	assert_int_equal(count_dot_files(f->dir), 0);
}

/* The store root on a 1 MiB tmpfs: a put that does not fit fails cleanly. */
static void full_disk(void **state)
{
	struct fixture *f = *state;
	const size_t big = 2 << 20;
	char *buf;
	void *got = NULL;
	size_t len;

	/*
	 * Remount the fixture's (empty) directory as a small tmpfs. Before any
	 * allocation: skip() jumps out of this function.
	 */
	cbt_store_free(f->store);
	f->store = NULL;
	if (mount("tmpfs", f->dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=1M,mode=0700") < 0) {
		print_message("SKIP full_disk: cannot mount a size-limited tmpfs here (%s; needs "
			      "root / CAP_SYS_ADMIN)\n",
			      strerror(errno));
		skip();
	}
	f->mounted = 1;
	buf = f->big = malloc(big); /* freed by teardown */
	assert_non_null(buf);
	memset(buf, 'z', big);
	assert_int_equal(cbt_posix_store_open(f->dir, &f->store), 0);

	/* A new object that does not fit. */
	assert_int_equal(cbt_store_put(f->store, "chunks/aa/big", buf, big), -ENOSPC);
	assert_int_equal(cbt_store_exists(f->store, "chunks/aa/big"), 0);
	assert_int_equal(count_dot_files(f->dir), 0);

	/* Replacing an object: the old one stays whole. */
	put_str(f->store, "manifests/m.json", "{\"old\": true}");
	assert_int_equal(cbt_store_put(f->store, "manifests/m.json", buf, big), -ENOSPC);
	assert_get(f->store, "manifests/m.json", "{\"old\": true}");
	assert_int_equal(count_dot_files(f->dir), 0);

	/* The space was given back: an object that fits still goes in. */
	assert_int_equal(cbt_store_put(f->store, "chunks/aa/small", buf, 512 * 1024), 0);
	assert_int_equal(cbt_store_get(f->store, "chunks/aa/small", 0, &got, &len), 0);
	assert_int_equal(len, 512 * 1024);
	free(got);
	assert_non_null(strstr(cbt_posix_store_strerror(-ENOSPC), "no space"));
}

/*
 * Batched durability: a put is seen by its own store at once, but gets its
 * final name (seen by others, and after a crash) only at a flush; a crash
 * before the flush leaves no object under a final name.
 */
static void pending_until_flush(void **state)
{
	struct fixture *f = *state;
	struct cbt_store *other = NULL;
	char path[128];
	struct stat st;
	pid_t pid;
	int status;

	snprintf(path, sizeof(path), "%s/chunks/ab/one", f->dir);
	put_pending(f->store, "chunks/ab/one", "first");
	assert_int_equal(cbt_store_exists(f->store, "chunks/ab/one"), 1);
	assert_get(f->store, "chunks/ab/one", "first");
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(cbt_posix_store_open(f->dir, &other), 0);
	assert_int_equal(cbt_store_exists(other, "chunks/ab/one"), 0);

	/* Put again before the flush: the newer content wins, one temporary. */
	put_pending(f->store, "chunks/ab/one", "second");
	assert_int_equal(count_dot_files(f->dir), 1);
	assert_int_equal(cbt_store_flush(f->store), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(count_dot_files(f->dir), 0);
	assert_get(other, "chunks/ab/one", "second");

	/* Deleting a pending object. */
	put_pending(f->store, "chunks/ab/two", "x");
	assert_int_equal(cbt_store_delete(f->store, "chunks/ab/two"), 0);
	assert_int_equal(cbt_store_exists(f->store, "chunks/ab/two"), 0);
	assert_int_equal(count_dot_files(f->dir), 0);

	/* A process that dies before its flush: no final name. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct cbt_store *child = NULL;

		if (cbt_posix_store_open(f->dir, &child) < 0 ||
		    cbt_store_put(child, "chunks/ab/three", "y", 1) < 0)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(cbt_store_exists(other, "chunks/ab/three"), 0);
	assert_int_equal(count_dot_files(f->dir), 1); /* an orphan temporary, never listed */
	cbt_store_free(other);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(open_errors),
		T(put_get_exists_delete),
		T(overwrite),
		T(missing_keys),
		T(list_order_and_prefix),
		T(list_while_deleting),
		T(no_temporaries_after_puts),
		T(concurrent_puts),
		T(pending_until_flush),
		T(full_disk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
