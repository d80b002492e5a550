/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Leases in the store (repo/lease.h), on a POSIX store in a mkdtemp
 * directory: written, seen by another handle, refreshed, removed; stale
 * by time and by a dead process of this boot; an unreadable lease taken
 * for a live backup; collections ordered.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tmpdir.h"

#include "cbtship/repo/lease.h"
#include "cbtship/store/posix/posix.h"

struct fixture {
	char dir[64];
	struct cbt_store *reader; /* another handle on the same directory */
};

static const struct cbt_lease_times times = { .refresh = 1, .stale = 4, .settle = 0 };

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tmpdir_make(f->dir, sizeof(f->dir), "lease");
	setenv("CBTSHIP_STATE_DIR", f->dir, 1);
	assert_int_equal(cbt_posix_store_open(f->dir, &f->reader), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cbt_store_free(f->reader);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static struct cbt_store *store_of(struct fixture *f)
{
	struct cbt_store *s = NULL;

	assert_int_equal(cbt_posix_store_open(f->dir, &s), 0);
	return s;
}

static json_t *read_lease(struct fixture *f, const char *key)
{
	void *buf = NULL;
	size_t len = 0;
	json_t *o;

	assert_int_equal(cbt_store_get(f->reader, key, 0, &buf, &len), 0);
	o = json_loadb(buf, len, 0, NULL);
	free(buf);
	assert_non_null(o);
	return o;
}

static void put_lease(struct fixture *f, const char *key, const char *text)
{
	assert_int_equal(cbt_store_put(f->reader, key, text, strlen(text)), 0);
	assert_int_equal(cbt_store_flush(f->reader), 0);
}

static const char *this_boot(void)
{
	static char id[40];
	FILE *p = fopen("/proc/sys/kernel/random/boot_id", "re");

	if (p) {
		if (!fgets(id, sizeof(id), p))
			id[0] = '\0';
		id[strcspn(id, "\n")] = '\0';
		fclose(p);
	}
	return id;
}

static void taken_seen_released(void **state)
{
	struct fixture *f = *state;
	struct cbt_lease *l = NULL;
	struct cbt_lease_scan scan;
	char key[128];
	json_t *o;

	assert_int_equal(cbt_lease_take(store_of(f), CBT_LEASE_BACKUP, "b-1", &times, &l, NULL), 0);
	snprintf(key, sizeof(key), "%s", cbt_lease_key(l));
	assert_memory_equal(key, "leases/backup-", 14);
	o = read_lease(f, key);
	assert_string_equal(json_string_value(json_object_get(o, "kind")), "backup");
	assert_string_equal(json_string_value(json_object_get(o, "backup_id")), "b-1");
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), getpid());
	json_decref(o);

	assert_int_equal(cbt_lease_scan(f->reader, NULL, &times, &scan), 0);
	assert_int_equal(scan.backups, 1);
	assert_int_equal(scan.gcs, 0);
	assert_non_null(strstr(scan.holder, "b-1"));
	/* Skipping one's own key. */
	assert_int_equal(cbt_lease_scan(f->reader, key, &times, &scan), 0);
	assert_int_equal(scan.backups, 0);
	assert_true(cbt_lease_held(l));

	cbt_lease_release(l);
	assert_int_equal(cbt_store_exists(f->reader, key), 0);
	assert_int_equal(cbt_lease_scan(f->reader, NULL, &times, &scan), 0);
	assert_int_equal(scan.backups, 0);
}

static void refreshed(void **state)
{
	struct fixture *f = *state;
	struct cbt_lease *l = NULL;
	json_int_t first, later;
	json_t *o;

	assert_int_equal(cbt_lease_take(store_of(f), CBT_LEASE_GC, NULL, &times, &l, NULL), 0);
	o = read_lease(f, cbt_lease_key(l));
	first = json_integer_value(json_object_get(o, "refreshed_at"));
	assert_true(json_is_null(json_object_get(o, "backup_id")));
	json_decref(o);
	sleep(3);
	o = read_lease(f, cbt_lease_key(l));
	later = json_integer_value(json_object_get(o, "refreshed_at"));
	json_decref(o);
	assert_true(later >= first + 1);
	assert_true(cbt_lease_held(l));
	cbt_lease_release(l);
}

static void stale_by_time(void **state)
{
	struct fixture *f = *state;
	struct cbt_lease_scan scan;
	char text[512];
	long long now = (long long)time(NULL);

	/* Another host's backup, refreshed 100 s ago: stale (4 s), whatever its pid. */
	snprintf(text, sizeof(text),
		 "{\"version\":1,\"kind\":\"backup\",\"host\":\"elsewhere\",\"pid\":1,"
		 "\"boot_id\":\"another-boot\",\"backup_id\":\"old\",\"created_at\":%lld,"
		 "\"refreshed_at\":%lld,\"refresh_interval\":1,\"stale_time\":4}",
		 now - 200, now - 100);
	put_lease(f, "leases/backup-old.json", text);
	/* One refreshed now on another host: live. */
	snprintf(text, sizeof(text),
		 "{\"version\":1,\"kind\":\"backup\",\"host\":\"elsewhere\",\"pid\":1,"
		 "\"boot_id\":\"another-boot\",\"backup_id\":\"new\",\"created_at\":%lld,"
		 "\"refreshed_at\":%lld,\"refresh_interval\":1,\"stale_time\":4}",
		 now, now);
	put_lease(f, "leases/backup-new.json", text);
	/* The writer's longer stale time counts: refreshed 100 s ago, stale after 1000. */
	snprintf(text, sizeof(text),
		 "{\"version\":1,\"kind\":\"gc\",\"host\":\"elsewhere\",\"pid\":1,"
		 "\"boot_id\":\"another-boot\",\"backup_id\":null,\"created_at\":%lld,"
		 "\"refreshed_at\":%lld,\"refresh_interval\":100,\"stale_time\":1000}",
		 now - 100, now - 100);
	put_lease(f, "leases/gc-slow.json", text);
	assert_int_equal(cbt_lease_scan(f->reader, NULL, &times, &scan), 0);
	assert_int_equal(scan.backups, 1);
	assert_int_equal(scan.gcs, 1);
	assert_int_equal(scan.stale, 1);
	assert_non_null(strstr(scan.holder, "new"));
	assert_int_equal(cbt_lease_remove_stale(f->reader, NULL, &times), 1);
	assert_int_equal(cbt_store_exists(f->reader, "leases/backup-old.json"), 0);
	assert_int_equal(cbt_store_exists(f->reader, "leases/backup-new.json"), 1);
}

static void dead_process_of_this_boot(void **state)
{
	struct fixture *f = *state;
	struct cbt_lease_scan scan;
	char text[512];
	long long now = (long long)time(NULL);
	pid_t child = fork();

	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	snprintf(text, sizeof(text),
		 "{\"version\":1,\"kind\":\"gc\",\"host\":\"here\",\"pid\":%d,"
		 "\"boot_id\":\"%s\",\"created_at\":%lld,\"refreshed_at\":%lld}",
		 (int)child, this_boot(), now, now);
	put_lease(f, "leases/gc-dead.json", text);
	assert_int_equal(cbt_lease_scan(f->reader, NULL, &times, &scan), 0);
	assert_int_equal(scan.gcs, 0);
	assert_int_equal(scan.stale, 1);
	/* The same with a live pid: live. */
	snprintf(text, sizeof(text),
		 "{\"version\":1,\"kind\":\"gc\",\"host\":\"here\",\"pid\":%d,"
		 "\"boot_id\":\"%s\",\"created_at\":%lld,\"refreshed_at\":%lld}",
		 (int)getpid(), this_boot(), now, now);
	put_lease(f, "leases/gc-dead.json", text);
	assert_int_equal(cbt_lease_scan(f->reader, NULL, &times, &scan), 0);
	assert_int_equal(scan.gcs, 1);
}

static void unreadable_is_live(void **state)
{
	struct fixture *f = *state;
	struct cbt_lease_scan scan;

	put_lease(f, "leases/backup-junk.json", "not json");
	assert_int_equal(cbt_lease_scan(f->reader, NULL, &times, &scan), 0);
	assert_int_equal(scan.backups, 1);
	assert_non_null(strstr(scan.holder, "unreadable"));
}

static void collections_take_turns(void **state)
{
	struct fixture *f = *state;
	struct cbt_lease *a = NULL, *b = NULL;
	struct cbt_lease_scan scan;
	bool a_yields, b_yields;

	assert_int_equal(cbt_lease_take(store_of(f), CBT_LEASE_GC, NULL, &times, &a, NULL), 0);
	assert_int_equal(cbt_lease_take(store_of(f), CBT_LEASE_GC, NULL, &times, &b, NULL), 0);
	assert_int_equal(cbt_lease_scan(f->reader, cbt_lease_key(a), &times, &scan), 0);
	assert_int_equal(scan.gcs, 1);
	a_yields = cbt_lease_older(scan.oldest_gc_created, scan.oldest_gc_key, a);
	assert_int_equal(cbt_lease_scan(f->reader, cbt_lease_key(b), &times, &scan), 0);
	b_yields = cbt_lease_older(scan.oldest_gc_created, scan.oldest_gc_key, b);
	/* Exactly one of the two goes on. */
	assert_true(a_yields != b_yields);
	cbt_lease_release(a);
	cbt_lease_release(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(taken_seen_released, setup, teardown),
		cmocka_unit_test_setup_teardown(refreshed, setup, teardown),
		cmocka_unit_test_setup_teardown(stale_by_time, setup, teardown),
		cmocka_unit_test_setup_teardown(dead_process_of_this_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(unreadable_is_live, setup, teardown),
		cmocka_unit_test_setup_teardown(collections_take_turns, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
