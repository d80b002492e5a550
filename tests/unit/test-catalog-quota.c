/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Catalog quotas (reserve, refuse, commit, release, races) and stale records. Requires: the host.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "catalog-fixture.h"

#define GIB CATALOG_GIB

static void quota_of(struct fixture *f, const char *project, struct catalog_quota *q)
{
	assert_int_equal(catalog_quota_get(f->c, project, q), 0);
}

static void quota_limits(void **state)
{
	struct fixture *f = *state;
	struct catalog_quota q;

	quota_of(f, "p1", &q);
	assert_true(q.is_default);
	assert_int_equal(q.backups_limit, 10);
	assert_int_equal(q.gigabytes_limit, 1000);
	assert_int_equal(q.backups_in_use + q.backups_reserved, 0);

	catalog_quota_set_defaults(f->c, 3, 30);
	quota_of(f, "p1", &q);
	assert_int_equal(q.backups_limit, 3);
	assert_int_equal(q.gigabytes_limit, 30);

	assert_int_equal(catalog_quota_set(f->c, "p1", 5, CATALOG_QUOTA_KEEP), 0);
	quota_of(f, "p1", &q);
	assert_false(q.is_default);
	assert_int_equal(q.backups_limit, 5);
	assert_int_equal(q.gigabytes_limit, 30);
	assert_int_equal(catalog_quota_set(f->c, "p1", CATALOG_QUOTA_KEEP, CATALOG_UNLIMITED), 0);
	quota_of(f, "p1", &q);
	assert_int_equal(q.backups_limit, 5);
	assert_int_equal(q.gigabytes_limit, -1);
	assert_int_equal(catalog_quota_set(f->c, "p1", -3, 1), -EINVAL);
	assert_int_equal(catalog_quota_set(f->c, NULL, 1, 1), -EINVAL);
	quota_of(f, "p2", &q);
	assert_true(q.is_default);
}

static void quota_refused_with_numbers(void **state)
{
	struct fixture *f = *state;
	struct catalog_volume v, big;
	struct catalog_backup a, b, c;
	struct catalog_quota q;
	const char *msg;

	fixture_volume(f, "vol", "p1", 3 * GIB + 1, &v); /* 4 GiB charged */
	fixture_volume(f, "big", "p1", 100 * GIB, &big);

	/* The backups count. */
	assert_int_equal(catalog_quota_set(f->c, "p1", 2, CATALOG_UNLIMITED), 0);
	assert_int_equal(fixture_backup(f, &v, "a", NULL, &a), 0);
	assert_int_equal(fixture_backup(f, &v, "b", NULL, &b), 0);
	assert_int_equal(catalog_backup_set_status(f->c, a.id, CATALOG_BACKUP_AVAILABLE, 0, NULL),
			 0);
	assert_int_equal(fixture_backup(f, &v, "c", NULL, &c), -EDQUOT);
	msg = catalog_error(f->c);
	print_message("%s\n", msg);
	assert_non_null(strstr(msg, "p1"));
	assert_non_null(strstr(msg, "allowed (2)"));
	assert_non_null(strstr(msg, "1 in use, 1 reserved, 1 requested"));
	quota_of(f, "p1", &q);
	assert_int_equal(q.backups_in_use, 1);
	assert_int_equal(q.backups_reserved, 1);
	assert_int_equal(q.gigabytes_in_use, 4);
	assert_int_equal(q.gigabytes_reserved, 4);

	/* The gigabytes. */
	assert_int_equal(catalog_quota_set(f->c, "p1", 10, 10), 0);
	assert_int_equal(fixture_backup(f, &big, "c", NULL, &c), -EDQUOT);
	msg = catalog_error(f->c);
	print_message("%s\n", msg);
	assert_non_null(strstr(msg, "requested 100G, quota is 10G, 4G in use and 4G reserved"));
	assert_int_equal(fixture_backup(f, &v, "c", NULL, &c), -EDQUOT); /* 4 + 4 + 4 > 10 */
	assert_int_equal(catalog_quota_set(f->c, "p1", 10, 12), 0);
	assert_int_equal(fixture_backup(f, &v, "c", NULL, &c), 0); /* 12 <= 12 */

	/* Refusals leave nothing behind; other projects are not charged. */
	quota_of(f, "p1", &q);
	assert_int_equal(q.backups_in_use + q.backups_reserved, 3);
	assert_int_equal(q.gigabytes_in_use + q.gigabytes_reserved, 12);
	quota_of(f, "p2", &q);
	assert_int_equal(q.backups_in_use + q.backups_reserved, 0);
}

static void quota_commit_and_release(void **state)
{
	struct fixture *f = *state;
	struct catalog_volume v;
	struct catalog_backup a, b, c, d;
	struct catalog_quota q;

	fixture_volume(f, "vol", "p1", 2 * GIB, &v);
	assert_int_equal(fixture_backup(f, &v, "a", NULL, &a), 0);
	assert_int_equal(fixture_backup(f, &v, "b", NULL, &b), 0);
	assert_int_equal(fixture_backup(f, &v, "c", NULL, &c), 0);
	assert_int_equal(fixture_backup(f, &v, "d", NULL, &d), 0);
	quota_of(f, "p1", &q);
	assert_int_equal(q.backups_reserved, 4);
	assert_int_equal(q.gigabytes_reserved, 8);
	assert_int_equal(q.backups_in_use, 0);

	/* available commits, error and a forced delete of a creating backup release. */
	assert_int_equal(catalog_backup_set_status(f->c, a.id, CATALOG_BACKUP_AVAILABLE, 0, NULL),
			 0);
	assert_int_equal(catalog_backup_set_status(f->c, b.id, CATALOG_BACKUP_ERROR, 0, "x"), 0);
	assert_int_equal(catalog_backup_set_status(f->c, c.id, CATALOG_BACKUP_DELETING,
						   CATALOG_TRANSITION_FORCE, NULL),
			 0);
	quota_of(f, "p1", &q);
	assert_int_equal(q.backups_in_use, 1);
	assert_int_equal(q.gigabytes_in_use, 2);
	assert_int_equal(q.backups_reserved, 1);
	assert_int_equal(q.gigabytes_reserved, 2);

	/* A restore does not change usage, even when it fails. */
	assert_int_equal(catalog_backup_set_status(f->c, a.id, CATALOG_BACKUP_RESTORING, 0, NULL),
			 0);
	assert_int_equal(catalog_backup_set_status(f->c, a.id, CATALOG_BACKUP_ERROR, 0, "x"), 0);
	quota_of(f, "p1", &q);
	assert_int_equal(q.backups_in_use, 1);

	/* A removed row frees what it held. */
	assert_int_equal(catalog_backup_set_status(f->c, a.id, CATALOG_BACKUP_DELETING, 0, NULL),
			 0);
	quota_of(f, "p1", &q);
	assert_int_equal(q.backups_in_use, 1); /* until the data is gone */
	assert_int_equal(catalog_backup_delete(f->c, a.id), 0);
	assert_int_equal(catalog_backup_delete(f->c, c.id), 0);
	quota_of(f, "p1", &q);
	assert_int_equal(q.backups_in_use, 0);
	assert_int_equal(q.gigabytes_in_use, 0);
	assert_int_equal(q.backups_reserved, 1);

	/* reset-state to available commits without a limit check (an admin's act). */
	assert_int_equal(catalog_quota_set(f->c, "p1", 0, 0), 0);
	assert_int_equal(catalog_backup_set_status(f->c, b.id, CATALOG_BACKUP_AVAILABLE,
						   CATALOG_TRANSITION_RESET, NULL),
			 0);
	assert_int_equal(catalog_backup_set_status(f->c, d.id, CATALOG_BACKUP_AVAILABLE, 0, NULL),
			 0);
	quota_of(f, "p1", &q);
	assert_int_equal(q.backups_in_use, 2);
	assert_int_equal(q.backups_reserved, 0);
}

/*
 * nproc processes, each with its own handle, wait at a barrier and then
 * try to create one backup; slots remain. Exactly `slots` succeed, the
 * others get -EDQUOT.
 */
static void race(struct fixture *f, const struct catalog_volume *v, unsigned nproc, unsigned slots)
{
	pid_t pids[16];
	int barrier[2];
	unsigned won = 0, refused = 0;

	assert_true(nproc <= ELEMENTSOF(pids));
	assert_int_equal(pipe(barrier), 0);
	for (unsigned i = 0; i < nproc; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			/* Never touch the parent's handle here: _exit() only. */
			struct catalog *c = NULL;
			struct catalog_backup b = {
				.project = v->project,
				.service = CBT_SERVICE_POSIX,
				.volume_size = v->origin_size,
			};
			char buf;
			int r;

			close(barrier[1]);
			r = catalog_open(f->path, &c, NULL);
			if (r < 0)
				_exit(3);
			strcpy(b.volume_id, v->id);
			if (read(barrier[0], &buf, 1) != 0)
				_exit(4);
			r = catalog_backup_create(c, &b);
			if (r < 0 && r != -EDQUOT)
				fprintf(stderr, "child: %s\n", catalog_error(c));
			catalog_free(c);
			_exit(r == 0 ? 0 : r == -EDQUOT ? 1 : 2);
		}
	}
	close(barrier[0]);
	close(barrier[1]); /* go */
	for (unsigned i = 0; i < nproc; i++) {
		int status;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) == 0)
			won++;
		else if (WEXITSTATUS(status) == 1)
			refused++;
		else
			fail_msg("child %u exited %d", i, WEXITSTATUS(status));
	}
	assert_int_equal(won, slots);
	assert_int_equal(refused, nproc - slots);
}

static void quota_race_last_slot(void **state)
{
	struct fixture *f = *state;
	struct catalog_volume v;
	struct catalog_backup a, b;
	struct catalog_quota q;

	fixture_volume(f, "vol", "p1", GIB, &v);
	assert_int_equal(catalog_quota_set(f->c, "p1", 3, CATALOG_UNLIMITED), 0);
	assert_int_equal(fixture_backup(f, &v, "a", NULL, &a), 0);
	assert_int_equal(fixture_backup(f, &v, "b", NULL, &b), 0);
	assert_int_equal(catalog_backup_set_status(f->c, a.id, CATALOG_BACKUP_AVAILABLE, 0, NULL),
			 0);

	/* Two processes, one slot left: exactly one wins. Several rounds. */
	for (int round = 0; round < 5; round++) {
		assert_int_equal(catalog_quota_set(f->c, "p1", 3 + round, CATALOG_UNLIMITED), 0);
		race(f, &v, 2, 1);
	}
	quota_of(f, "p1", &q);
	assert_int_equal(q.backups_in_use + q.backups_reserved, 7);

	/* The gigabytes limit under the same race: 8 processes, 3 GiB left. */
	assert_int_equal(catalog_quota_set(f->c, "p1", CATALOG_UNLIMITED, 10), 0);
	race(f, &v, 8, 3);
	quota_of(f, "p1", &q);
	assert_int_equal(q.gigabytes_in_use + q.gigabytes_reserved, 10);
}

static void stale_creating(void **state)
{
	struct fixture *f = *state;
	_cleanup_(catalog_backup_freep) struct catalog_backup *got = NULL;
	struct catalog_backup **list = NULL;
	struct catalog_volume v;
	struct catalog_backup dead, alive, avail, far;
	char sql[256];
	size_t n = 0;
	pid_t child;
	int status;

	catalog_quota_set_defaults(f->c, CATALOG_UNLIMITED, CATALOG_UNLIMITED);
	fixture_volume(f, "vol", "p1", GIB, &v);

	/* A child that has exited (and been reaped) owns `dead`. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, &status, 0), child);

	assert_int_equal(fixture_backup(f, &v, "dead", NULL, &dead), 0);
	assert_int_equal(catalog_backup_claim(f->c, dead.id, child), 0);
	assert_int_equal(fixture_backup(f, &v, "alive", NULL, &alive), 0);
	assert_int_equal(fixture_backup(f, &v, "avail", NULL, &avail), 0);
	assert_int_equal(
		catalog_backup_set_status(f->c, avail.id, CATALOG_BACKUP_AVAILABLE, 0, NULL), 0);

	assert_int_equal(catalog_backup_get(f->c, dead.id, &got), 0);
	assert_int_equal(got->owner_pid, child);
	assert_int_equal(catalog_backup_is_stale(f->c, got, 0), 1);
	assert_int_equal(catalog_backup_is_stale(f->c, got, 3600), 1);
	got = catalog_backup_free(got);
	assert_int_equal(catalog_backup_get(f->c, alive.id, &got), 0);
	assert_int_equal(catalog_backup_is_stale(f->c, got, 3600), 0);
	got = catalog_backup_free(got);

	/* Owned by a process on another host: only the heartbeat tells. */
	assert_int_equal(catalog_set_host(f->c, "elsewhere"), 0);
	assert_int_equal(fixture_backup(f, &v, "far", NULL, &far), 0);
	assert_int_equal(catalog_backup_claim(f->c, far.id, child), 0);
	assert_int_equal(catalog_set_host(f->c, "here"), 0);
	assert_int_equal(catalog_backup_claim(f->c, dead.id, child), 0);
	assert_int_equal(catalog_backup_claim(f->c, alive.id, getpid()), 0);
	assert_int_equal(catalog_backup_get(f->c, far.id, &got), 0);
	assert_string_equal(got->owner_host, "elsewhere");
	assert_int_equal(catalog_backup_is_stale(f->c, got, 60), 0);
	got = catalog_backup_free(got);
	snprintf(sql, sizeof(sql),
		 "UPDATE backups SET heartbeat_at = heartbeat_at - 120000000 WHERE id = '%s'",
		 far.id);
	fixture_sql(f, sql);
	assert_int_equal(catalog_backup_get(f->c, far.id, &got), 0);
	assert_int_equal(catalog_backup_is_stale(f->c, got, 60), 1);
	assert_int_equal(catalog_backup_is_stale(f->c, got, 600), 0);
	assert_int_equal(catalog_backup_is_stale(f->c, got, 0), 0); /* no age limit */
	got = catalog_backup_free(got);

	/* A heartbeat makes it fresh again. */
	assert_int_equal(catalog_backup_heartbeat(f->c, far.id), 0);
	assert_int_equal(catalog_backup_get(f->c, far.id, &got), 0);
	assert_int_equal(catalog_backup_is_stale(f->c, got, 60), 0);
	got = catalog_backup_free(got);
	fixture_sql(f, sql);

	/* The list: dead and far, not alive, not the available one. */
	assert_int_equal(catalog_backup_list_stale(f->c, 60, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_true((strcmp(list[0]->id, dead.id) == 0 && strcmp(list[1]->id, far.id) == 0) ||
		    (strcmp(list[0]->id, far.id) == 0 && strcmp(list[1]->id, dead.id) == 0));
	catalog_backup_array_free(list, n);

	/* A restoring backup whose worker died is stale too; an available one never. */
	assert_int_equal(
		catalog_backup_set_status(f->c, avail.id, CATALOG_BACKUP_RESTORING, 0, NULL), 0);
	assert_int_equal(catalog_backup_claim(f->c, avail.id, child), 0);
	assert_int_equal(catalog_backup_list_stale(f->c, 0, &list, &n), 0);
	assert_int_equal(n, 2); /* dead and avail; far is judged by age only */
	catalog_backup_array_free(list, n);
	assert_int_equal(
		catalog_backup_set_status(f->c, avail.id, CATALOG_BACKUP_AVAILABLE, 0, NULL), 0);
	assert_int_equal(catalog_backup_get(f->c, avail.id, &got), 0);
	assert_int_equal(catalog_backup_is_stale(f->c, got, 60), 0);
	got = catalog_backup_free(got);

	/* Cleaning a stale record: force delete, then remove (backup-delete --force). */
	assert_int_equal(catalog_backup_set_status(f->c, dead.id, CATALOG_BACKUP_DELETING,
						   CATALOG_TRANSITION_FORCE, NULL),
			 0);
	assert_int_equal(catalog_backup_delete(f->c, dead.id), 0);
	assert_int_equal(catalog_backup_claim(f->c, dead.id, 1), -ENOENT);
	assert_int_equal(catalog_backup_claim(f->c, alive.id, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(quota_limits, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(quota_refused_with_numbers, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(quota_commit_and_release, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(quota_race_last_slot, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(stale_creating, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
