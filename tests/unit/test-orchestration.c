/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The commit protocol (backup/orchestration.h) driven with a fake driver
 * and a real catalog: restore faults of each kind. A fault of the store,
 * the destination or its flush leaves the backup available; an integrity
 * fault marks it error with the message; a cancelled restore leaves the
 * record alone; a restore that completes makes it available again.
 */
#include <errno.h>
#include <unistd.h>

#include "catalog-fixture.h"

#include "cbt-cleanup.h"
#include "cbtship/backup/orchestration.h"

/* What the fake driver's restore does: fail with this (kind NONE: succeed). */
static struct {
	enum cbt_error_kind kind;
	int r;
	const char *message;
	int calls;
} plan;

static int fake_restore(struct cbt_driver_reader *rd, const struct cbt_driver_restore *to,
			struct cbt_restore_progress *progress, struct cbt_error *err)
{
	(void)rd, (void)to;
	plan.calls++;
	progress->bytes_written = 4096;
	if (plan.kind == CBT_ERROR_NONE)
		return 0;
	return cbt_error_set(err, plan.kind, plan.r, "%s", plan.message);
}

static const struct cbt_driver fake_driver = {
	.version = CBT_DRIVER_VERSION,
	.name = "fake",
	.title = "fake",
	.restore = fake_restore,
};

/* A backup of a new volume, moved to 'restoring' as backup-restore does. */
static void restoring_backup(struct fixture *f, struct catalog_backup *b)
{
	static char names[8][16];
	static unsigned n;
	struct catalog_volume v;
	char *name = names[n++ % 8];

	snprintf(name, sizeof(names[0]), "vol%u", n);
	fixture_volume(f, name, "p", 1 << 20, &v);
	assert_int_equal(fixture_backup(f, &v, "b", NULL, b), 0);
	assert_int_equal(catalog_backup_set_status(f->c, b->id, CATALOG_BACKUP_AVAILABLE, 0, NULL),
			 0);
	assert_int_equal(catalog_backup_set_status(f->c, b->id, CATALOG_BACKUP_RESTORING, 0, NULL),
			 0);
}

/* Restore with the fake driver under plan, then settle; the record afterwards. */
static int restore_and_settle(struct fixture *f, const char *id, int fd,
			      struct catalog_backup **after, struct cbt_error *err)
{
	struct cbt_driver_restore to = { .fd = fd, .destination = "dest.img" };
	struct cbt_restore_progress prog = { 0 };
	int r, outcome;

	plan.calls = 0;
	r = cbt_orchestrate_restore(&fake_driver, NULL, &to, &prog, err);
	assert_int_equal(plan.calls, 1);
	assert_int_equal(prog.bytes_written, 4096);
	outcome = cbt_restore_settle(f->c, id, r, err);
	assert_true(outcome >= 0);
	assert_int_equal(catalog_backup_get(f->c, id, after), 0);
	return outcome;
}

static void restore_done(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_error_clear) struct cbt_error err = CBT_ERROR_INIT;
	_cleanup_(catalog_backup_freep) struct catalog_backup *after = NULL;
	struct catalog_backup b;

	restoring_backup(f, &b);
	plan.kind = CBT_ERROR_NONE;
	assert_int_equal(restore_and_settle(f, b.id, -1, &after, &err), CBT_RESTORE_DONE);
	assert_false(cbt_error_is_set(&err));
	assert_int_equal(after->status, CATALOG_BACKUP_AVAILABLE);
}

/*
 * A backup restoring; the fake driver fails with kind, r and message; the
 * outcome and the record's status afterwards (an error's fail_reason is
 * the message; otherwise there is none).
 */
static void fault(void **state, enum cbt_error_kind kind, int r, const char *message,
		  enum cbt_restore_outcome outcome, enum catalog_backup_status status)
{
	struct fixture *f = *state;
	_cleanup_(cbt_error_clear) struct cbt_error err = CBT_ERROR_INIT;
	_cleanup_(catalog_backup_freep) struct catalog_backup *after = NULL;
	struct catalog_backup b;

	restoring_backup(f, &b);
	plan.kind = kind;
	plan.r = r;
	plan.message = message;
	assert_int_equal(restore_and_settle(f, b.id, -1, &after, &err), outcome);
	assert_int_equal(err.kind, kind);
	assert_int_equal(after->status, status);
	if (status == CATALOG_BACKUP_ERROR) {
		assert_non_null(after->fail_reason);
		assert_string_equal(after->fail_reason, message);
	} else {
		assert_null(after->fail_reason);
	}
}

/* A timeout, a 5xx, a reset connection: the backup is fine, only the store failed. */
static void store_fault_leaves_available(void **state)
{
	fault(state, CBT_ERROR_STORE, -ETIMEDOUT,
	      "backup b: chunk 00ff (volume chunk 3): Connection timed out: GET "
	      "http://swift/v1/AUTH_t/c/packs/p1: timed out after 30 s",
	      CBT_RESTORE_FAULT, CATALOG_BACKUP_AVAILABLE);
}

/* An object absent or failing its checks: the backup is damaged, and says why. */
static void integrity_fault_marks_error(void **state)
{
	fault(state, CBT_ERROR_INTEGRITY, -EBADMSG,
	      "backup b: chunk 00ff (volume chunk 3): chunk payload checksum mismatch",
	      CBT_RESTORE_DAMAGED, CATALOG_BACKUP_ERROR);
	fault(state, CBT_ERROR_INTEGRITY, -ENOENT,
	      "backup b: chunk 00ff (volume chunk 3) is missing from the store",
	      CBT_RESTORE_DAMAGED, CATALOG_BACKUP_ERROR);
}

/* The message does not decide: a store fault whose text names a chunk stays a fault. */
static void decided_on_kind_not_text(void **state)
{
	fault(state, CBT_ERROR_STORE, -EIO,
	      "backup b: chunk 00ff is corrupt? no: HTTP 500 Internal Server Error",
	      CBT_RESTORE_FAULT, CATALOG_BACKUP_AVAILABLE);
}

/* ENOENT is in the store's damage list: from a destination it is not damage. */
static void destination_fault_leaves_available(void **state)
{
	fault(state, CBT_ERROR_DESTINATION, -ENOENT,
	      "dest.img: write at offset 0 failed: No such file or directory", CBT_RESTORE_FAULT,
	      CATALOG_BACKUP_AVAILABLE);
}

/* The driver wrote everything but the destination cannot be flushed (a pipe). */
static void flush_fault_is_the_destinations(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_error_clear) struct cbt_error err = CBT_ERROR_INIT;
	_cleanup_(catalog_backup_freep) struct catalog_backup *after = NULL;
	struct catalog_backup b;
	int p[2];

	restoring_backup(f, &b);
	assert_int_equal(pipe(p), 0);
	plan.kind = CBT_ERROR_NONE;
	assert_int_equal(restore_and_settle(f, b.id, p[1], &after, &err), CBT_RESTORE_FAULT);
	assert_int_equal(err.kind, CBT_ERROR_DESTINATION);
	assert_int_equal(err.errnum, -EINVAL);
	assert_non_null(strstr(cbt_error_message(&err), "dest.img: flushing: "));
	assert_int_equal(after->status, CATALOG_BACKUP_AVAILABLE);
	close(p[0]);
	close(p[1]);
}

/* Cancelled: whoever cancelled owns the record (reset-state, delete --force). */
static void cancel_leaves_the_record(void **state)
{
	fault(state, CBT_ERROR_CANCELLED, -ECANCELED, "cancelled", CBT_RESTORE_CANCELLED,
	      CATALOG_BACKUP_RESTORING);
}

/* An errno without a kind (a driver that set none) is classed as the store's. */
static void outcome_without_a_kind(void **state)
{
	(void)state;
	assert_int_equal(cbt_restore_outcome(0, NULL), CBT_RESTORE_DONE);
	assert_int_equal(cbt_restore_outcome(-ETIMEDOUT, NULL), CBT_RESTORE_FAULT);
	assert_int_equal(cbt_restore_outcome(-EKEYREJECTED, NULL), CBT_RESTORE_DAMAGED);
	assert_int_equal(cbt_restore_outcome(-ECANCELED, NULL), CBT_RESTORE_CANCELLED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(restore_done, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(store_fault_leaves_available, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(integrity_fault_marks_error, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(decided_on_kind_not_text, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(destination_fault_leaves_available, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(flush_fault_is_the_destinations, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(cancel_leaves_the_record, fixture_setup,
						fixture_teardown),
		cmocka_unit_test(outcome_without_a_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
