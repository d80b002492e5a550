/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Record ids: random (version 4) UUIDs. */
#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#include "libcbt.h"
#include "cbtship/catalog/catalog-internal.h"

int catalog_id_new(char ret[CATALOG_ID_MAX])
{
	uint8_t bytes[16];
	size_t done = 0;

	while (done < sizeof(bytes)) {
		ssize_t n = getrandom(bytes + done, sizeof(bytes) - done, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	bytes[6] = (uint8_t)((bytes[6] & 0x0f) | 0x40); /* version 4 */
	bytes[8] = (uint8_t)((bytes[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	cbt_uuid_format(bytes, ret);
	return 0;
}
