/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Swift store's pure logic (no network, no state), split out of
 * swift.c so the unit tests can check it alone: URLs, the retry policy
 * and the errno of a status, header lines, container listings, and the
 * Keystone v3 request and catalog.
 */
#ifndef CBTSHIP_STORE_SWIFT_SWIFT_INTERNAL_H
#define CBTSHIP_STORE_SWIFT_SWIFT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "cbt-cleanup.h"

/* Longest wait between two attempts, as python-swiftclient's max_backoff. */
#define SWIFT_MAX_BACKOFF 64.0

/* The page size of container listings (Swift's default maximum). */
#define SWIFT_LISTING_LIMIT 10000

/*
 * Seconds to wait before retry number retry (0 for the first retry):
 * initial * 2^retry, capped at SWIFT_MAX_BACKOFF; a server's Retry-After
 * (0 when absent) lengthens it, up to the same cap.
 */
double swift_backoff_delay(double initial, unsigned retry, unsigned long retry_after);

/* 5xx, 408 (request timeout) and 429 (too many requests) are retried. */
bool swift_status_retryable(long status);

/*
 * The errno for a final HTTP status: 404 -ENOENT, 401/403 -EACCES,
 * 400/411 -EINVAL, 408 -ETIMEDOUT, 409 -EBUSY, 413 -EFBIG, 429/503
 * -EAGAIN, 507 -ENOSPC, other 4xx/5xx -EIO; 0 for 2xx.
 */
int swift_status_errno(long status);

/* storage_url + "/" + the escaped container (trailing '/'s of the base dropped). */
char *swift_container_url(const char *storage_url, const char *container);

/* "/" + key with each '/'-separated component escaped, to append to the container URL. */
char *swift_object_suffix(const char *key);

/* "?format=json&limit=N&prefix=P[&marker=M]" (marker NULL or "" for the first page). */
char *swift_listing_suffix(const char *prefix, const char *marker, unsigned limit);

/*
 * The names in one page of a JSON container listing (entries without a
 * string "name", such as "subdir" ones, are skipped), as a NULL-terminated
 * array of *ret_n strings (free with swift_strv_free). The last one is
 * the next page's marker. 0, -EBADMSG for something that is no listing,
 * -ENOMEM.
 */
int swift_listing_parse(const char *json, size_t len, char ***ret, size_t *ret_n);
void swift_strv_free(char **v);
CBT_DEFINE_CLEANUP(char **, swift_strv_free, swift_strv_freep)

/*
 * If line (len bytes, CRLF included or not) is the header name (case
 * insensitive), return its value, trimmed, in a new string; else NULL.
 */
char *swift_header_value(const char *line, size_t len, const char *name);

/*
 * Parse a status line "HTTP/1.1 503 Service Unavailable": the status,
 * and the reason phrase into reason (size bytes, "" when none). false
 * for anything else.
 */
bool swift_status_line(const char *line, size_t len, long *ret_status, char *reason, size_t size);

/* Whether an ETag header value (maybe quoted) names this MD5 (32 hex). */
bool swift_etag_matches(const char *etag, const char *md5_hex);

/* Whether an ETag is a plain MD5 of the body (not a quoted SLO/DLO one). */
bool swift_etag_is_plain_md5(const char *etag);

/* MD5 of buf as 32 lowercase hex digits (OpenSSL EVP); 0 or -EIO. */
int swift_md5_hex(const void *buf, size_t len, char out[static 33]);

/* url without any "user:password@" part, for messages; NULL on ENOMEM. */
char *swift_url_redact(const char *url);

/* Keystone v3: the tokens URL of auth_url ("/v3" appended unless present). */
char *swift_keystone_tokens_url(const char *auth_url);

/*
 * The JSON body of a v3 password authentication scoped to a project
 * (domains by name; NULL ones are "Default"). The result holds the
 * password: free it with swift_free_secret.
 */
char *swift_keystone_auth_body(const char *user, const char *user_domain, const char *password,
			       const char *project, const char *project_domain);

/*
 * From a v3 token response body, the URL of the first "object-store"
 * endpoint with this interface ("public" when NULL) and, if region is
 * not NULL, this region (name or id). 0, -ENOENT (none), -EBADMSG.
 */
int swift_keystone_endpoint(const char *json, size_t len, const char *interface, const char *region,
			    char **ret_url);

/* Wipe then free a string holding a secret. */
void swift_free_secret(char *s);
CBT_DEFINE_CLEANUP(char *, swift_free_secret, swift_free_secretp)

#endif
