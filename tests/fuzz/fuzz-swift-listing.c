/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Swift container listings (store/swift/swift-proto.c): any body either
 * is refused (-EBADMSG) or gives n names, each a NUL-terminated string,
 * the array NULL-terminated.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/store/swift/swift-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(swift_strv_freep) char **names = NULL;
	size_t n = 0, total = 0;
	int r;

	r = swift_listing_parse((const char *)data, size, &names, &n);
	assert(r == 0 || r == -EBADMSG || r == -ENOMEM);
	if (r < 0)
		return 0;
	assert(names && !names[n]);
	for (size_t i = 0; i < n; i++)
		total += strlen(names[i]);
	assert(total <= size);
	return 0;
}
