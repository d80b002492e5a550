/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Swift authentication replies (store/swift/swift-proto.c): the input is
 * a reply as curl hands it over, header lines up to an empty line, then
 * the body. Each header line goes through what swift.c's header callback
 * does with it (status line, X-Auth-Token, X-Subject-Token, X-Storage-Url,
 * ETag, Retry-After, Content-Length); the body through the Keystone v3
 * catalog lookup, for each interface and with and without a region.
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/store/swift/swift-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void header(const char *line, size_t len)
{
	static const char *const names[] = { "ETag",	      "X-Auth-Token", "X-Subject-Token",
					     "X-Storage-Url", "Retry-After",  "Content-Length" };
	char reason[128];
	long status;

	if (swift_status_line(line, len, &status, reason, sizeof(reason))) {
		assert(strlen(reason) < sizeof(reason));
		return;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *v = swift_header_value(line, len, names[i]);

		if (!v)
			continue;
		assert(strlen(v) <= len);
		if (i == 0) {
			(void)swift_etag_is_plain_md5(v);
			(void)swift_etag_matches(v, "d41d8cd98f00b204e9800998ecf8427e");
		} else if (i == 3) {
			char *red = swift_url_redact(v);

			assert(!red || strlen(red) <= strlen(v));
			free(red);
		}
		swift_free_secret(v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const interfaces[] = { NULL, "public", "internal", "admin" };
	const char *p = (const char *)data, *end = p + size;

	/* Header lines as curl passes them: one at a time, CRLF included, no NUL. */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		bool blank = len == 1 || (len == 2 && p[0] == '\r');
		char *line = malloc(len);

		if (!line)
			return 0;
		memcpy(line, p, len);
		header(line, len);
		free(line);
		p += len;
		if (blank)
			break;
	}
	for (size_t i = 0; i < sizeof(interfaces) / sizeof(interfaces[0]); i++)
		for (int region = 0; region < 2; region++) {
			char *url = NULL;
			int r = swift_keystone_endpoint(p, (size_t)(end - p), interfaces[i],
							region ? "RegionOne" : NULL, &url);

			assert(r == 0 || r == -ENOENT || r == -EBADMSG || r == -ENOMEM);
			assert(r < 0 || url);
			free(url);
		}
	return 0;
}
