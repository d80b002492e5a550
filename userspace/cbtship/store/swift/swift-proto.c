/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Swift store's pure logic: URLs, retry policy, headers, JSON. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "cbt-cleanup.h"
#include "cbtship/store/swift/swift-internal.h"

double swift_backoff_delay(double initial, unsigned retry, unsigned long retry_after)
{
	double d = initial > 0 ? initial : 0;

	for (unsigned i = 0; i < retry && d < SWIFT_MAX_BACKOFF; i++)
		d *= 2;
	if ((double)retry_after > d)
		d = (double)retry_after;
	return d > SWIFT_MAX_BACKOFF ? SWIFT_MAX_BACKOFF : d;
}

bool swift_status_retryable(long status)
{
	return status >= 500 || status == 408 || status == 429;
}

int swift_status_errno(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 400:
	case 411:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 408:
		return -ETIMEDOUT;
	case 409:
		return -EBUSY;
	case 413:
		return -EFBIG;
	case 429:
	case 503:
		return -EAGAIN;
	case 507:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

/* curl_easy_escape of n bytes, without a handle (allowed since curl 7.82). */
static char *escape(const char *s, size_t n)
{
	return curl_easy_escape(NULL, s, (int)n);
}

char *swift_container_url(const char *storage_url, const char *container)
{
	size_t n = strlen(storage_url);
	char *esc, *url;

	while (n > 0 && storage_url[n - 1] == '/')
		n--;
	esc = escape(container, strlen(container));
	if (!esc)
		return NULL;
	if (asprintf(&url, "%.*s/%s", (int)n, storage_url, esc) < 0)
		url = NULL;
	curl_free(esc);
	return url;
}

char *swift_object_suffix(const char *key)
{
	/* Escaping at most triples a byte; one '/' before each component. */
	size_t cap = 3 * strlen(key) + 2, len = 0;
	_cleanup_(freep) char *out = malloc(cap);
	const char *p = key;

	if (!out)
		return NULL;
	for (;;) {
		size_t n = strcspn(p, "/");
		char *esc = escape(p, n);
		size_t en;

		if (!esc)
			return NULL;
		en = strlen(esc);
		out[len++] = '/';
		memcpy(out + len, esc, en);
		len += en;
		curl_free(esc);
		if (!p[n])
			break;
		p += n + 1;
	}
	out[len] = '\0';
	return TAKE_PTR(out);
}

char *swift_listing_suffix(const char *prefix, const char *marker, unsigned limit)
{
	char *p = NULL, *m = NULL, *out;
	int r;

	p = escape(prefix ? prefix : "", prefix ? strlen(prefix) : 0);
	if (marker && *marker)
		m = escape(marker, strlen(marker));
	if (!p || (marker && *marker && !m)) {
		curl_free(p);
		curl_free(m);
		return NULL;
	}
	r = asprintf(&out, "?format=json&limit=%u&prefix=%s%s%s", limit, p, m ? "&marker=" : "",
		     m ? m : "");
	curl_free(p);
	curl_free(m);
	return r < 0 ? NULL : out;
}

void swift_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int swift_listing_parse(const char *json, size_t len, char ***ret, size_t *ret_n)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	_cleanup_(swift_strv_freep) char **names = NULL;
	json_error_t err;
	size_t n = 0, i;
	json_t *e;

	root = json_loadb(json, len, 0, &err);
	if (!root || !json_is_array(root))
		return -EBADMSG;
	names = calloc(json_array_size(root) + 1, sizeof(*names));
	if (!names)
		return -ENOMEM;
	json_array_foreach(root, i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));

		if (!name)
			continue; /* a "subdir" entry, or something else */
		names[n] = strdup(name);
		if (!names[n])
			return -ENOMEM;
		n++;
	}
	*ret = TAKE_PTR(names);
	*ret_n = n;
	return 0;
}

char *swift_header_value(const char *line, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	const char *v, *end = line + len;

	if (len <= nlen || line[nlen] != ':' || strncasecmp(line, name, nlen) != 0)
		return NULL;
	v = line + nlen + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	return strndup(v, (size_t)(end - v));
}

bool swift_status_line(const char *line, size_t len, long *ret_status, char *reason, size_t size)
{
	const char *p = line, *end = line + len;
	long status = 0;
	int digits = 0;

	if (len < 5 || memcmp(line, "HTTP/", 5) != 0)
		return false;
	while (p < end && *p != ' ')
		p++;
	while (p < end && *p == ' ')
		p++;
	/* Three digits; a fourth is enough to refuse (and status cannot overflow). */
	for (; p < end && isdigit((unsigned char)*p) && digits < 4; p++, digits++)
		status = status * 10 + (*p - '0');
	if (digits != 3)
		return false;
	while (p < end && *p == ' ')
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (size > 0) {
		size_t n = (size_t)(end - p) < size - 1 ? (size_t)(end - p) : size - 1;

		memcpy(reason, p, n);
		reason[n] = '\0';
	}
	*ret_status = status;
	return true;
}

static bool is_md5_hex(const char *s, size_t n)
{
	if (n != 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

bool swift_etag_matches(const char *etag, const char *md5_hex)
{
	size_t n;

	if (!etag)
		return false;
	n = strlen(etag);
	if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
		etag++;
		n -= 2;
	}
	return is_md5_hex(etag, n) && strncasecmp(etag, md5_hex, 32) == 0 && strlen(md5_hex) == 32;
}

bool swift_etag_is_plain_md5(const char *etag)
{
	return etag && is_md5_hex(etag, strlen(etag));
}

int swift_md5_hex(const void *buf, size_t len, char out[static 33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(buf, len, md, &mdlen, EVP_md5(), NULL) || mdlen != 16)
		return -EIO;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

char *swift_url_redact(const char *url)
{
	const char *scheme = strstr(url, "://"), *host, *at, *end;
	char *out;

	if (!scheme)
		return strdup(url);
	host = scheme + 3;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (!at)
		return strdup(url);
	/* Find the last '@' of the authority: a password may contain '@'. */
	for (const char *p = at; p < end; p++)
		if (*p == '@')
			at = p;
	if (asprintf(&out, "%.*s%s", (int)(host - url), url, at + 1) < 0)
		return NULL;
	return out;
}

char *swift_keystone_tokens_url(const char *auth_url)
{
	size_t n = strlen(auth_url);
	char *url;

	while (n > 0 && auth_url[n - 1] == '/')
		n--;
	if (asprintf(&url, "%.*s%s/auth/tokens", (int)n, auth_url,
		     n >= 3 && strncmp(auth_url + n - 3, "/v3", 3) == 0 ? "" : "/v3") < 0)
		return NULL;
	return url;
}

char *swift_keystone_auth_body(const char *user, const char *user_domain, const char *password,
			       const char *project, const char *project_domain)
{
	_cleanup_(json_decrefp) json_t *root = NULL;

	/* Values are copied into the tree; json_dumps makes the string. */
	root = json_pack("{s:{s:{s:[s],s:{s:{s:s,s:{s:s},s:s}}},s:{s:{s:s,s:{s:s}}}}}", "auth",
			 "identity", "methods", "password", "password", "user", "name", user,
			 "domain", "name", user_domain ? user_domain : "Default", "password",
			 password, "scope", "project", "name", project, "domain", "name",
			 project_domain ? project_domain : "Default");
	if (!root)
		return NULL;
	return json_dumps(root, JSON_COMPACT);
}

static bool str_eq(json_t *v, const char *s)
{
	const char *x = json_string_value(v);

	return x && strcmp(x, s) == 0;
}

int swift_keystone_endpoint(const char *json, size_t len, const char *interface, const char *region,
			    char **ret_url)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	json_error_t err;
	json_t *catalog, *svc, *ep;
	size_t i, j;

	if (!interface)
		interface = "public";
	root = json_loadb(json, len, 0, &err);
	if (!root)
		return -EBADMSG;
	catalog = json_object_get(json_object_get(root, "token"), "catalog");
	if (!json_is_array(catalog))
		return -EBADMSG;
	json_array_foreach(catalog, i, svc)
	{
		if (!str_eq(json_object_get(svc, "type"), "object-store"))
			continue;
		json_array_foreach(json_object_get(svc, "endpoints"), j, ep)
		{
			const char *url = json_string_value(json_object_get(ep, "url"));

			if (!url || !str_eq(json_object_get(ep, "interface"), interface))
				continue;
			if (region && !str_eq(json_object_get(ep, "region"), region) &&
			    !str_eq(json_object_get(ep, "region_id"), region))
				continue;
			*ret_url = strdup(url);
			return *ret_url ? 0 : -ENOMEM;
		}
	}
	return -ENOENT;
}

void swift_free_secret(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}
