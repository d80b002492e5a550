/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Swift store's pure logic: URLs, the retry policy, header and status
 * lines, container listings, Keystone v3 requests and catalogs (the only
 * check of the v3 code: no Keystone runs in the tests), and the
 * configuration checks of cbt_swift_store_open that need no server.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cbtship/store/swift/swift-internal.h"
#include "cbtship/store/swift/swift.h"

static void backoff_doubles_and_caps(void **state)
{
	(void)state;
	assert_true(swift_backoff_delay(2, 0, 0) == 2);
	assert_true(swift_backoff_delay(2, 1, 0) == 4);
	assert_true(swift_backoff_delay(2, 2, 0) == 8);
	assert_true(swift_backoff_delay(2, 5, 0) == 64);
	assert_true(swift_backoff_delay(2, 40, 0) == SWIFT_MAX_BACKOFF);
	assert_true(swift_backoff_delay(0.25, 2, 0) == 1);
	assert_true(swift_backoff_delay(0, 3, 0) == 0);
	assert_true(swift_backoff_delay(-1, 3, 0) == 0);
	/* Retry-After lengthens, never shortens, and is capped too. */
	assert_true(swift_backoff_delay(2, 0, 10) == 10);
	assert_true(swift_backoff_delay(2, 3, 1) == 16);
	assert_true(swift_backoff_delay(2, 0, 100000) == SWIFT_MAX_BACKOFF);
}

static void statuses(void **state)
{
	(void)state;
	assert_true(swift_status_retryable(500));
	assert_true(swift_status_retryable(503));
	assert_true(swift_status_retryable(507));
	assert_true(swift_status_retryable(408));
	assert_true(swift_status_retryable(429));
	assert_false(swift_status_retryable(401));
	assert_false(swift_status_retryable(404));
	assert_false(swift_status_retryable(422));
	assert_false(swift_status_retryable(201));

	assert_int_equal(swift_status_errno(201), 0);
	assert_int_equal(swift_status_errno(204), 0);
	assert_int_equal(swift_status_errno(404), -ENOENT);
	assert_int_equal(swift_status_errno(401), -EACCES);
	assert_int_equal(swift_status_errno(403), -EACCES);
	assert_int_equal(swift_status_errno(413), -EFBIG);
	assert_int_equal(swift_status_errno(507), -ENOSPC);
	assert_int_equal(swift_status_errno(503), -EAGAIN);
	assert_int_equal(swift_status_errno(500), -EIO);
	assert_int_equal(swift_status_errno(422), -EIO);
}

static void urls(void **state)
{
	char *u;

	(void)state;
	u = swift_container_url("http://h:8080/v1/AUTH_test", "volumebackups");
	assert_string_equal(u, "http://h:8080/v1/AUTH_test/volumebackups");
	free(u);
	u = swift_container_url("https://h/v1/AUTH_x//", "my backups");
	assert_string_equal(u, "https://h/v1/AUTH_x/my%20backups");
	free(u);

	/* Key characters are unreserved; '/' separates components, unescaped. */
	u = swift_object_suffix("chunks/ab/ab12-x_y.z");
	assert_string_equal(u, "/chunks/ab/ab12-x_y.z");
	free(u);
	u = swift_object_suffix("k");
	assert_string_equal(u, "/k");
	free(u);
	u = swift_object_suffix("a b/c?d");
	assert_string_equal(u, "/a%20b/c%3Fd");
	free(u);

	/* In a query, '/' of the prefix is escaped. */
	u = swift_listing_suffix("chunks/a", NULL, 10000);
	assert_string_equal(u, "?format=json&limit=10000&prefix=chunks%2Fa");
	free(u);
	u = swift_listing_suffix("", "m/0009", 5);
	assert_string_equal(u, "?format=json&limit=5&prefix=&marker=m%2F0009");
	free(u);
	u = swift_listing_suffix(NULL, "", 1);
	assert_string_equal(u, "?format=json&limit=1&prefix=");
	free(u);
}

static void redaction(void **state)
{
	char *u;

	(void)state;
	u = swift_url_redact("https://user:s3cr@t@host:5000/v3?x=1");
	assert_string_equal(u, "https://host:5000/v3?x=1");
	free(u);
	u = swift_url_redact("http://127.0.0.1:8080/auth/v1.0");
	assert_string_equal(u, "http://127.0.0.1:8080/auth/v1.0");
	free(u);
	/* An '@' in the path is no userinfo. */
	u = swift_url_redact("http://h/v1/AUTH_a/c/x@y");
	assert_string_equal(u, "http://h/v1/AUTH_a/c/x@y");
	free(u);
	u = swift_url_redact("not a url");
	assert_string_equal(u, "not a url");
	free(u);
}

static void headers(void **state)
{
	static const char line[] = "etag:   d41d8cd98f00b204e9800998ecf8427e \r\n";
	char reason[16];
	long status;
	char *v;

	(void)state;
	v = swift_header_value(line, strlen(line), "ETag");
	assert_string_equal(v, "d41d8cd98f00b204e9800998ecf8427e");
	free(v);
	assert_null(swift_header_value(line, strlen(line), "ETa"));
	assert_null(swift_header_value(line, strlen(line), "X-Auth-Token"));
	v = swift_header_value("X-Auth-Token:\r\n", 15, "x-auth-token");
	assert_string_equal(v, "");
	free(v);

	assert_true(swift_status_line("HTTP/1.1 503 Service Unavailable\r\n", 34, &status, reason,
				      sizeof(reason)));
	assert_int_equal(status, 503);
	assert_string_equal(reason, "Service Unavail"); /* truncated to the buffer */
	assert_true(swift_status_line("HTTP/2 200\r\n", 12, &status, reason, sizeof(reason)));
	assert_int_equal(status, 200);
	assert_string_equal(reason, "");
	assert_false(swift_status_line("ETag: x\r\n", 9, &status, reason, sizeof(reason)));
	assert_false(swift_status_line("HTTP/1.1 20\r\n", 13, &status, reason, sizeof(reason)));
	assert_false(swift_status_line("HTTP/1.1 2000\r\n", 15, &status, reason, sizeof(reason)));
	/* A long run of digits is refused, not summed into a signed overflow (fuzz-swift-auth). */
	assert_false(swift_status_line("HTTP/1.1 23333333333333333333333\r\n", 35, &status, reason,
				       sizeof(reason)));
}

static void etags(void **state)
{
	char md5[33];

	(void)state;
	assert_int_equal(swift_md5_hex("", 0, md5), 0);
	assert_string_equal(md5, "d41d8cd98f00b204e9800998ecf8427e");
	assert_int_equal(swift_md5_hex("abc", 3, md5), 0);
	assert_string_equal(md5, "900150983cd24fb0d6963f7d28e17f72");
	assert_true(swift_etag_matches("900150983cd24fb0d6963f7d28e17f72", md5));
	assert_true(swift_etag_matches("\"900150983CD24FB0D6963F7D28E17F72\"", md5));
	assert_false(swift_etag_matches("900150983cd24fb0d6963f7d28e17f73", md5));
	assert_false(swift_etag_matches(NULL, md5));
	assert_false(swift_etag_matches("", md5));
	assert_true(swift_etag_is_plain_md5("900150983cd24fb0d6963f7d28e17f72"));
	assert_false(swift_etag_is_plain_md5("\"900150983cd24fb0d6963f7d28e17f72\""));
	assert_false(swift_etag_is_plain_md5(NULL));
}

static void listing(void **state)
{
	static const char page[] = "[{\"name\": \"a/1\", \"bytes\": 3, \"hash\": \"x\"},"
				   " {\"subdir\": \"b/\"},"
				   " {\"name\": \"c\\u00e9\", \"bytes\": 0}]";
	char **names = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(swift_listing_parse(page, strlen(page), &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "a/1");
	assert_string_equal(names[1], "c\xc3\xa9");
	assert_null(names[2]);
	swift_strv_free(names);

	assert_int_equal(swift_listing_parse("[]", 2, &names, &n), 0);
	assert_int_equal(n, 0);
	assert_null(names[0]);
	swift_strv_free(names);

	assert_int_equal(swift_listing_parse("{}", 2, &names, &n), -EBADMSG);
	assert_int_equal(swift_listing_parse("<html>", 6, &names, &n), -EBADMSG);
}

static void keystone_request(void **state)
{
	json_error_t err;
	json_t *root;
	char *u, *body;

	(void)state;
	u = swift_keystone_tokens_url("https://ks:5000/v3/");
	assert_string_equal(u, "https://ks:5000/v3/auth/tokens");
	free(u);
	u = swift_keystone_tokens_url("https://ks:5000");
	assert_string_equal(u, "https://ks:5000/v3/auth/tokens");
	free(u);

	body = swift_keystone_auth_body("alice", NULL, "pa\"ss", "backups", "ops");
	assert_non_null(body);
	root = json_loads(body, 0, &err);
	assert_non_null(root);
	assert_string_equal(
		json_string_value(json_array_get(
			json_object_get(json_object_get(json_object_get(root, "auth"), "identity"),
					"methods"),
			0)),
		"password");
	{
		json_t *user = json_object_get(
			json_object_get(json_object_get(json_object_get(root, "auth"), "identity"),
					"password"),
			"user");
		json_t *project = json_object_get(
			json_object_get(json_object_get(root, "auth"), "scope"), "project");

		assert_string_equal(json_string_value(json_object_get(user, "name")), "alice");
		assert_string_equal(json_string_value(json_object_get(user, "password")), "pa\"ss");
		assert_string_equal(
			json_string_value(json_object_get(json_object_get(user, "domain"), "name")),
			"Default");
		assert_string_equal(json_string_value(json_object_get(project, "name")), "backups");
		assert_string_equal(json_string_value(json_object_get(
					    json_object_get(project, "domain"), "name")),
				    "ops");
	}
	json_decref(root);
	swift_free_secret(body);
}

static void keystone_catalog(void **state)
{
	/* The shape of an Identity v3 token response (trimmed). */
	static const char resp[] =
		"{\"token\": {\"expires_at\": \"2030-01-01T00:00:00.000000Z\", \"catalog\": ["
		" {\"type\": \"identity\", \"endpoints\": [{\"interface\": \"public\","
		"   \"region\": \"RegionOne\", \"url\": \"https://ks:5000\"}]},"
		" {\"type\": \"object-store\", \"name\": \"swift\", \"endpoints\": ["
		"   {\"interface\": \"internal\", \"region\": \"RegionOne\","
		"    \"region_id\": \"RegionOne\", \"url\": \"http://int:8080/v1/AUTH_p\"},"
		"   {\"interface\": \"public\", \"region\": \"RegionOne\","
		"    \"region_id\": \"RegionOne\", \"url\": \"https://pub1/v1/AUTH_p\"},"
		"   {\"interface\": \"public\", \"region\": \"RegionTwo\","
		"    \"region_id\": \"r2\", \"url\": \"https://pub2/v1/AUTH_p\"}]}]}}";
	char *url = NULL;

	(void)state;
	assert_int_equal(swift_keystone_endpoint(resp, strlen(resp), NULL, NULL, &url), 0);
	assert_string_equal(url, "https://pub1/v1/AUTH_p");
	free(url);
	assert_int_equal(swift_keystone_endpoint(resp, strlen(resp), "public", "r2", &url), 0);
	assert_string_equal(url, "https://pub2/v1/AUTH_p");
	free(url);
	assert_int_equal(swift_keystone_endpoint(resp, strlen(resp), "internal", "RegionOne", &url),
			 0);
	assert_string_equal(url, "http://int:8080/v1/AUTH_p");
	free(url);
	assert_int_equal(swift_keystone_endpoint(resp, strlen(resp), "admin", NULL, &url), -ENOENT);
	assert_int_equal(swift_keystone_endpoint(resp, strlen(resp), NULL, "RegionThree", &url),
			 -ENOENT);
	assert_int_equal(swift_keystone_endpoint("{\"token\": {}}", 13, NULL, NULL, &url),
			 -EBADMSG);
	assert_int_equal(swift_keystone_endpoint("nope", 4, NULL, NULL, &url), -EBADMSG);
}

static void config_checks(void **state)
{
	struct cbt_swift_config cfg;
	struct cbt_store *s = NULL;
	char *error = NULL;

	(void)state;
	cbt_swift_config_init(&cfg);
	assert_int_equal(cfg.retry_attempts, 3);
	assert_true(cfg.retry_backoff == 2.0);
	assert_string_equal(cfg.container, "volumebackups");

	assert_int_equal(cbt_swift_store_open(&cfg, &s, &error), -EINVAL);
	assert_non_null(strstr(error, "no auth_url"));
	free(error);

	cfg.auth_url = "http://127.0.0.1:1/auth/v1.0";
	cfg.user = "u";
	assert_int_equal(cbt_swift_store_open(&cfg, &s, &error), -EINVAL);
	assert_non_null(strstr(error, "needs a user and a key"));
	free(error);

	cfg.key = "SECRET";
	cfg.auth_version = "2";
	assert_int_equal(cbt_swift_store_open(&cfg, &s, &error), -EINVAL);
	assert_non_null(strstr(error, "not supported"));
	free(error);

	cfg.auth_version = "3";
	assert_int_equal(cbt_swift_store_open(&cfg, &s, &error), -EINVAL);
	assert_non_null(strstr(error, "needs a project"));
	free(error);

	cfg.auth_version = "1";
	cfg.container = "a/b";
	assert_int_equal(cbt_swift_store_open(&cfg, &s, &error), -EINVAL);
	free(error);

	/* Nothing listens on port 1: refused at once, no retry, no secret. */
	cfg.container = NULL;
	cfg.retry_attempts = 0;
	assert_int_equal(cbt_swift_store_open(&cfg, &s, &error), -ECONNREFUSED);
	assert_non_null(strstr(error, "http://127.0.0.1:1/auth/v1.0"));
	assert_non_null(strstr(error, "gave up after 1 attempt"));
	assert_null(strstr(error, "SECRET"));
	assert_string_equal(cbt_swift_store_last_error(), error);
	/* The detail the operator's error line carries (store.h). */
	assert_string_equal(cbt_store_detail(-ECONNREFUSED), error);
	free(error);
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backoff_doubles_and_caps),
		cmocka_unit_test(statuses),
		cmocka_unit_test(urls),
		cmocka_unit_test(redaction),
		cmocka_unit_test(headers),
		cmocka_unit_test(etags),
		cmocka_unit_test(listing),
		cmocka_unit_test(keystone_request),
		cmocka_unit_test(keystone_catalog),
		cmocka_unit_test(config_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
