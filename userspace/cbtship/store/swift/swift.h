/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The OpenStack Swift object store, over libcurl. Objects live in one
 * container; a key is the object name as it is ('/' included, each
 * component URL-escaped).
 *
 * Authentication, one of:
 *   - TempAuth / Swift v1.0 (auth_version "1"): GET auth_url with
 *     X-Auth-User/X-Auth-Key, answered with X-Storage-Url and X-Auth-Token;
 *   - Keystone v3 password (auth_version "3"): POST <auth_url>/v3/auth/tokens
 *     scoped to a project; the token comes in X-Subject-Token and the
 *     storage URL from the catalog's object-store endpoint (interface,
 *     region). Written to the Identity v3 API reference, but no Keystone
 *     could be run by the tests: only the request body and the catalog
 *     parsing are unit-tested;
 *   - no auth_url: a preconfigured storage_url and token, used until the
 *     server rejects the token (then every call fails with -EACCES).
 * With auth_url, storage_url (cinder's backup_swift_url) overrides the
 * endpoint that authentication returns. A 401 makes the first thread
 * that sees it authenticate again (once per call, under a lock shared by
 * all threads); the others wait and use the new token.
 *
 * Every request that fails with a connection error, a timeout, 5xx, 408
 * or 429 (or a PUT/GET whose ETag is not the body's MD5) is retried
 * retry_attempts times, after retry_backoff seconds, doubling each time
 * up to 64 s (python-swiftclient's policy, which cinder's options
 * configure; a Retry-After from the server lengthens the wait). A
 * retried DELETE whose first attempt did reach the server returns
 * -ENOENT.
 *
 * put sends the body's MD5 as ETag (Swift refuses a corrupted body with
 * 422) and checks the ETag it answers; get checks the body against a
 * plain ETag. Writes are atomic: Swift shows an object only whole.
 *
 * Threads: any number may call the store at once. Each call takes a curl
 * handle from a pool (one per concurrent caller, kept for reuse) and all
 * handles share DNS, TLS session and connection caches, so parallel
 * workers reuse connections.
 *
 * Secrets (key, password, token) are never written to messages or logs.
 *
 * curl runs with CURLOPT_NOSIGNAL (required with threads): a program
 * using this store should ignore SIGPIPE.
 */
#ifndef CBTSHIP_STORE_SWIFT_SWIFT_H
#define CBTSHIP_STORE_SWIFT_SWIFT_H

#include <stdbool.h>

#include "cbtship/store/store.h"

/* Fields after cinder's options (backup_swift_*); strings are copied at open. */
struct cbt_swift_config {
	const char *auth_url;	    /* backup_swift_auth_url; NULL: storage_url + token */
	const char *auth_version;   /* backup_swift_auth_version: "1" (default) or "3" */
	const char *user;	    /* backup_swift_user ("account:user" for TempAuth) */
	const char *key;	    /* backup_swift_key: the key (v1) or password (v3) */
	const char *user_domain;    /* backup_swift_user_domain (v3; NULL: "Default") */
	const char *project;	    /* backup_swift_project (v3, required) */
	const char *project_domain; /* backup_swift_project_domain (v3; NULL: "Default") */
	const char *region;	    /* v3 catalog region (name or id); NULL: any */
	const char *interface;	    /* v3 catalog interface; NULL: "public" */
	const char *storage_url;    /* backup_swift_url: the account URL */
	const char *token;	    /* token for storage_url when there is no auth_url */
	const char *container;	    /* backup_swift_container; NULL: "volumebackups" */
	int retry_attempts;	    /* backup_swift_retry_attempts: retries after the first try */
	double retry_backoff;	    /* backup_swift_retry_backoff: first wait, seconds */
	const char *ca_cert_file;   /* backup_swift_ca_cert_file; NULL: system CAs */
	bool insecure;		    /* backup_swift_auth_insecure: no TLS verification */
	double timeout;		    /* seconds to connect, and without progress; 0: none */
	/*
	 * Optional: told about retries and re-authentications, one line
	 * each, from whichever thread made the call (so it must be
	 * thread-safe).
	 */
	void (*log)(const char *message, void *userdata);
	void *log_userdata;
};

/* Fill cfg with the defaults: retries 3, backoff 2 s, timeout 60 s, the rest unset. */
void cbt_swift_config_init(struct cbt_swift_config *cfg);

/*
 * Authenticate, then make sure the container exists (HEAD, PUT if
 * missing). 0, or a negative errno with, if ret_error is not NULL, a
 * malloc()ed message in *ret_error (naming the URL and HTTP status, never
 * a secret): -EINVAL (incomplete configuration), -EACCES (credentials or
 * token refused), -ECONNREFUSED, -ETIMEDOUT, -EPROTO (TLS), -EIO...
 *
 * Then the store's calls return, besides the store.h ones: -EACCES (the
 * token is refused and cannot be renewed), -EAGAIN (503/429 after the
 * retries), -ETIMEDOUT, -ECONNREFUSED, -ENOSPC (507), -EIO (other server
 * errors, an ETag mismatch).
 */
int cbt_swift_store_open(const struct cbt_swift_config *cfg, struct cbt_store **ret,
			 char **ret_error);

/*
 * The message of the last call into a Swift store that failed in this
 * thread ("" if none), e.g. "PUT http://host:8080/v1/AUTH_test/c/k: HTTP
 * 503 Service Unavailable (gave up after 4 attempts)". Valid until the
 * thread's next call.
 */
const char *cbt_swift_store_last_error(void);

#endif
