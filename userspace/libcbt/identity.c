/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a device is: its size and content identity, from libblkid. */
#include <blkid.h>
#include <errno.h>
#include <string.h>

#include "libcbt/libcbt-internal.h"

CBT_DEFINE_CLEANUP(blkid_probe, blkid_free_probe, blkid_free_probep)

static void copy_value(blkid_probe pr, const char *name, char *buf, size_t len)
{
	const char *value = NULL;

	buf[0] = '\0';
	if (blkid_probe_lookup_value(pr, name, &value, NULL) == 0 && value && strlen(value) < len)
		strcpy(buf, value);
}

int cbt_identify(const char *path, struct cbt_identity *ret)
{
	_cleanup_(blkid_free_probep) blkid_probe pr = NULL;
	struct cbt_identity id = { 0 };
	blkid_loff_t size;
	int r;

	errno = 0;
	pr = blkid_new_probe_from_filename(path);
	if (!pr)
		return errno > 0 ? -errno : -EIO;
	size = blkid_probe_get_size(pr);
	if (size < 0)
		return -EIO;
	id.size_bytes = (uint64_t)size;

	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID);
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	r = blkid_do_safeprobe(pr);
	if (r == -1)
		return -EIO;
	if (r == 0) { /* something found; -2 (ambiguous) and 1 (nothing) leave it empty */
		copy_value(pr, "TYPE", id.type, sizeof(id.type));
		copy_value(pr, "UUID", id.uuid, sizeof(id.uuid));
		copy_value(pr, "PTUUID", id.ptuuid, sizeof(id.ptuuid));
		if (!id.type[0])
			copy_value(pr, "PTTYPE", id.type, sizeof(id.type));
	}
	*ret = id;
	return 0;
}
