/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libcbt origin identity: what identifies a disk, a partition, a dm device
 * (sysfs trees made in a temporary directory) and a regular file, and that
 * content written to it changes nothing. Requires: nothing but the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "libcbt.h"
#include "libcbt/libcbt-internal.h"

struct tree {
	char dir[PATH_MAX];
};

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	tmpdir_make(t->dir, sizeof(t->dir), "identity");
	*state = t;
	return 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;

	tmpdir_remove(t->dir);
	free(t);
	return 0;
}

/* Write text to dir/rel, making the directories on the way. */
static void put(const struct tree *t, const char *rel, const char *text)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
	for (char *p = path + strlen(t->dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		(void)mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void compose(const struct tree *t, const char *rel, uint64_t size, const char *part_uuid,
		    char *buf, size_t len)
{
	char dir[PATH_MAX * 2];

	snprintf(dir, sizeof(dir), "%s/%s", t->dir, rel);
	assert_int_equal(cbt_identity_compose(dir, size, part_uuid, buf, len), 0);
}

static void virtio_disk_serial(void **state)
{
	struct tree *t = *state;
	char id[CBT_ORIGIN_IDENTITY_MAX];

	put(t, "vdb/serial", "  QM00001 \n");
	put(t, "vdb/size", "131072\n");
	compose(t, "vdb", 67108864, NULL, id, sizeof(id));
	assert_string_equal(id, "size=67108864 serial=QM00001");
}

static void disk_without_identity_is_its_size(void **state)
{
	struct tree *t = *state;
	char id[CBT_ORIGIN_IDENTITY_MAX];

	put(t, "vdc/size", "131072\n");
	put(t, "vdc/serial", "\n"); /* virtio without a serial: empty */
	compose(t, "vdc", 67108864, "", id, sizeof(id));
	assert_string_equal(id, "size=67108864");
	assert_int_equal(cbt_identity_compose(NULL, 4096, NULL, id, sizeof(id)), 0);
	assert_string_equal(id, "size=4096");
}

static void scsi_wwid_spaces_and_serial(void **state)
{
	struct tree *t = *state;
	char id[CBT_ORIGIN_IDENTITY_MAX];

	put(t, "sda/device/wwid", "t10.ATA     QEMU HARDDISK   QM00005\n");
	put(t, "sda/device/serial", "QM00005\n");
	compose(t, "sda", 1 << 20, NULL, id, sizeof(id));
	assert_string_equal(id, "size=1048576 wwid=t10.ATA_____QEMU_HARDDISK___QM00005 "
				"serial=QM00005");
}

static void partition_takes_its_disk_and_entry_uuid(void **state)
{
	struct tree *t = *state;
	char id[CBT_ORIGIN_IDENTITY_MAX];

	put(t, "nvme0n1/wwid", "eui.0025388b91b2e0d1\n");
	put(t, "nvme0n1/device/serial", "S4EWNX0R123456\n");
	put(t, "nvme0n1/nvme0n1p2/partition", "2\n");
	compose(t, "nvme0n1/nvme0n1p2", 512 << 20, "0fc63daf-8483-4772-8e79-3d69d8477de4", id,
		sizeof(id));
	assert_string_equal(id, "size=536870912 wwid=eui.0025388b91b2e0d1 serial=S4EWNX0R123456 "
				"partuuid=0fc63daf-8483-4772-8e79-3d69d8477de4");
}

static void dm_uuid(void **state)
{
	struct tree *t = *state;
	char id[CBT_ORIGIN_IDENTITY_MAX];

	put(t, "dm-3/dm/uuid", "LVM-k3Xx0aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567890abcdefghijklmnopq\n");
	put(t, "dm-3/dm/name", "vg-data\n");
	compose(t, "dm-3", 8 << 20, NULL, id, sizeof(id));
	assert_string_equal(
		id, "size=8388608 "
		    "dm-uuid=LVM-k3Xx0aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567890abcdefghijklmnopq");
}

static void too_small_buffer(void **state)
{
	struct tree *t = *state;
	char dir[PATH_MAX * 2], id[24];

	put(t, "vdd/serial", "A-LONG-SERIAL-NUMBER-0001\n");
	snprintf(dir, sizeof(dir), "%s/vdd", t->dir);
	assert_int_equal(cbt_identity_compose(dir, 67108864, NULL, id, sizeof(id)), -ENOBUFS);
	assert_int_equal(cbt_identity_compose(dir, 67108864, NULL, id, 0), -ENOBUFS);
}

/* A regular file: size, device and inode; its content does not count. */
static void regular_file(void **state)
{
	struct tree *t = *state;
	char path[PATH_MAX * 2], before[CBT_ORIGIN_IDENTITY_MAX], after[CBT_ORIGIN_IDENTITY_MAX];
	char expected[128];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/disk.img", t->dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(cbt_origin_identity(path, before, sizeof(before)), 0);
	snprintf(expected, sizeof(expected), "size=1048576 dev=%u:%u ino=%llu", major(st.st_dev),
		 minor(st.st_dev), (unsigned long long)st.st_ino);
	assert_string_equal(before, expected);

	assert_int_equal(pwrite(fd, "guest data", 10, 4096), 10);
	assert_int_equal(cbt_origin_identity(path, after, sizeof(after)), 0);
	assert_string_equal(before, after);

	assert_int_equal(ftruncate(fd, 2 << 20), 0);
	assert_int_equal(cbt_origin_identity(path, after, sizeof(after)), 0);
	assert_string_not_equal(before, after);
	close(fd);
}

static void missing_and_wrong_kind(void **state)
{
	struct tree *t = *state;
	char path[PATH_MAX * 2], id[CBT_ORIGIN_IDENTITY_MAX];

	snprintf(path, sizeof(path), "%s/no-such-disk", t->dir);
	assert_int_equal(cbt_origin_identity(path, id, sizeof(id)), -ENOENT);
	assert_int_equal(cbt_origin_identity(t->dir, id, sizeof(id)), -ENOTBLK);
	assert_int_equal(cbt_origin_identity(NULL, id, sizeof(id)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(virtio_disk_serial, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(disk_without_identity_is_its_size, tree_setup,
						tree_teardown),
		cmocka_unit_test_setup_teardown(scsi_wwid_spaces_and_serial, tree_setup,
						tree_teardown),
		cmocka_unit_test_setup_teardown(partition_takes_its_disk_and_entry_uuid, tree_setup,
						tree_teardown),
		cmocka_unit_test_setup_teardown(dm_uuid, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(too_small_buffer, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(regular_file, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(missing_and_wrong_kind, tree_setup, tree_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
