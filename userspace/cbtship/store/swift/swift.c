/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The OpenStack Swift object store over libcurl: see swift.h. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "cbtship/encrypt/secret.h"
#include "cbtship/store/swift/swift-internal.h"
#include "cbtship/store/swift/swift.h"

#define DEFAULT_CONTAINER "volumebackups"
#define USER_AGENT	  "cbtship"

/* Per thread, so that concurrent workers each keep their own story. */
static _Thread_local char last_error[512];

const char *cbt_swift_store_last_error(void)
{
	return last_error;
}

/* Record the message of a failed call; returns r. */
__attribute__((format(printf, 2, 3))) static int fail(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	cbt_store_set_detail(r, "%s", last_error); /* what the operator's error line shows */
	return r;
}

struct swift_store {
	/* The configuration, copied. auth_version 0: a fixed token. */
	int auth_version;
	char *auth_url, *user, *key, *user_domain, *project, *project_domain, *region, *interface;
	char *fixed_storage_url; /* overrides the endpoint authentication returns */
	char *container;
	unsigned retry_attempts;
	double retry_backoff;
	char *ca_cert_file;
	bool insecure;
	long timeout;
	void (*log)(const char *message, void *userdata);
	void *log_userdata;

	/* DNS, TLS sessions and connections, shared by every handle. */
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	bool share_locks_ready;

	/* Idle handles: one is taken per call, so one per concurrent caller. */
	pthread_mutex_t pool_lock;
	CURL **pool;
	size_t pool_n, pool_cap;

	/*
	 * The token and the container URL it is valid for; auth_gen counts
	 * authentications, so that of several threads that saw the same
	 * token refused, only the first authenticates again.
	 */
	pthread_mutex_t auth_lock;
	char *token;
	char *container_url;
	unsigned long auth_gen;
};

__attribute__((format(printf, 2, 3))) static void note(struct swift_store *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!s->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->log(msg, s->log_userdata);
}

/* ---- curl plumbing: global init, the share, the handle pool */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result;

static void global_init(void)
{
	global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userp)
{
	struct swift_store *s = userp;

	(void)h, (void)access;
	pthread_mutex_lock(&s->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userp)
{
	struct swift_store *s = userp;

	(void)h;
	pthread_mutex_unlock(&s->share_locks[data]);
}

static CURL *handle_acquire(struct swift_store *s)
{
	CURL *h = NULL;

	pthread_mutex_lock(&s->pool_lock);
	if (s->pool_n > 0)
		h = s->pool[--s->pool_n];
	pthread_mutex_unlock(&s->pool_lock);
	if (h)
		return h;
	h = curl_easy_init();
	/* curl_easy_reset() keeps the share, so this is set once. */
	if (h && curl_easy_setopt(h, CURLOPT_SHARE, s->share) != CURLE_OK) {
		curl_easy_cleanup(h);
		h = NULL;
	}
	return h;
}

static void handle_release(struct swift_store *s, CURL *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&s->pool_lock);
	if (s->pool_n == s->pool_cap) {
		size_t cap = s->pool_cap ? 2 * s->pool_cap : 8;
		CURL **p = realloc(s->pool, cap * sizeof(*p));

		if (p) {
			s->pool = p;
			s->pool_cap = cap;
		}
	}
	if (s->pool_n < s->pool_cap) {
		s->pool[s->pool_n++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&s->pool_lock);
	if (h)
		curl_easy_cleanup(h);
}

/* ---- one HTTP exchange */

struct response {
	long status;
	char reason[64];
	char *etag;
	char *token;	   /* X-Auth-Token (v1) or X-Subject-Token (v3): secret */
	char *storage_url; /* X-Storage-Url (v1) */
	unsigned long retry_after;
	size_t max_len; /* the most a 2xx body may have, 0 for no limit */
	bool too_big;
	bool nomem;
	char *body; /* only of 2xx answers */
	size_t len, cap;
	/*
	 * A ranged GET: the body goes into dest (dest_cap bytes) instead.
	 * A 206 answer is the range itself; a 200 (a server that ignores
	 * Range) is the whole object, of which the bytes from want_offset
	 * (CBT_STORE_RANGE_TAIL: the last dest_cap) are kept.
	 */
	char *dest;
	size_t dest_cap;
	uint64_t want_offset;
	uint64_t content_length, range_total, stream_pos;
	bool have_length, have_range_total;
};

static void response_reset_headers(struct response *r)
{
	free(r->etag);
	swift_free_secret(r->token);
	free(r->storage_url);
	r->etag = r->token = r->storage_url = NULL;
	r->status = 0;
	r->reason[0] = '\0';
	r->retry_after = 0;
	r->have_length = r->have_range_total = false;
	r->content_length = r->range_total = r->stream_pos = 0;
	if (r->dest)
		r->len = 0;
}

static void response_clear(struct response *r)
{
	response_reset_headers(r);
	free(r->body);
	r->body = NULL;
	r->len = r->cap = 0;
	r->too_big = r->nomem = false;
}

static bool status_ok(long status)
{
	return status >= 200 && status < 300;
}

static void replace(char **field, char *value)
{
	free(*field);
	*field = value;
}

static size_t on_header(char *line, size_t size, size_t n, void *userdata)
{
	struct response *r = userdata;
	size_t len = size * n;
	long status;
	char *v;

	if (swift_status_line(line, len, &status, r->reason, sizeof(r->reason))) {
		/* A new answer (the one after "100 Continue"): forget the last one. */
		char reason[sizeof(r->reason)];

		memcpy(reason, r->reason, sizeof(reason));
		response_reset_headers(r);
		memcpy(r->reason, reason, sizeof(reason));
		r->status = status;
	} else if ((v = swift_header_value(line, len, "ETag"))) {
		replace(&r->etag, v);
	} else if ((v = swift_header_value(line, len, "X-Auth-Token")) ||
		   (v = swift_header_value(line, len, "X-Subject-Token"))) {
		swift_free_secret(r->token);
		r->token = v;
	} else if ((v = swift_header_value(line, len, "X-Storage-Url"))) {
		replace(&r->storage_url, v);
	} else if ((v = swift_header_value(line, len, "Retry-After"))) {
		r->retry_after = strtoul(v, NULL, 10);
		free(v);
	} else if ((v = swift_header_value(line, len, "Content-Range"))) {
		/* "bytes first-last/total"; a 416 has "bytes *" and the total */
		const char *slash = strchr(v, '/');

		if (slash && slash[1] != '*') {
			r->range_total = strtoull(slash + 1, NULL, 10);
			r->have_range_total = true;
		}
		free(v);
	} else if ((v = swift_header_value(line, len, "Content-Length"))) {
		unsigned long long cl = strtoull(v, NULL, 10);

		free(v);
		r->content_length = cl;
		r->have_length = true;
		/* Refuse a too large object before its body comes. */
		if (status_ok(r->status) && r->max_len && cl > r->max_len) {
			r->too_big = true;
			return 0;
		}
	}
	return len;
}

static size_t on_body_range(struct response *r, const char *data, size_t len)
{
	uint64_t start = 0, pos = r->stream_pos;

	r->stream_pos += len;
	if (r->status == 206) {
		if (r->len + len > r->dest_cap) {
			r->too_big = true;
			return 0;
		}
		memcpy(r->dest + r->len, data, len);
		r->len += len;
		return len;
	}
	/* The whole object: keep the window asked for. */
	if (r->want_offset != CBT_STORE_RANGE_TAIL)
		start = r->want_offset;
	else if (r->have_length && r->content_length > r->dest_cap)
		start = r->content_length - r->dest_cap;
	for (size_t i = 0; i < len; i++, pos++)
		if (pos >= start && pos - start < r->dest_cap)
			r->dest[pos - start] = data[i];
	if (pos > start)
		r->len = pos - start < r->dest_cap ? (size_t)(pos - start) : r->dest_cap;
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	struct response *r = userdata;
	size_t len = size * n;

	if (!status_ok(r->status))
		return len; /* error pages are not needed: the status says it */
	if (r->dest)
		return on_body_range(r, data, len);
	if (r->max_len && (r->len + len < r->len || r->len + len > r->max_len)) {
		r->too_big = true;
		return 0;
	}
	if (r->len + len > r->cap) {
		size_t cap = r->cap ? r->cap : 64 * 1024;
		char *p;

		while (cap < r->len + len)
			cap *= 2;
		p = realloc(r->body, cap);
		if (!p) {
			r->nomem = true;
			return 0;
		}
		r->body = p;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, len);
	r->len += len;
	return len;
}

struct upload {
	const char *buf;
	int fd; /* >= 0: the body is this file's first len bytes */
	size_t len, pos;
};

static size_t on_read(char *dst, size_t size, size_t n, void *userdata)
{
	struct upload *u = userdata;
	size_t len = size * n;

	if (len > u->len - u->pos)
		len = u->len - u->pos;
	if (len && u->fd >= 0) {
		ssize_t got;

		do
			got = pread(u->fd, dst, len, (off_t)u->pos);
		while (got < 0 && errno == EINTR);
		if (got <= 0)
			return CURL_READFUNC_ABORT;
		len = (size_t)got;
	} else if (len)
		memcpy(dst, u->buf + u->pos, len);
	u->pos += len;
	return len;
}

/* curl rewinds the body when it must send it again on a new connection. */
static int on_seek(void *userdata, curl_off_t offset, int origin)
{
	struct upload *u = userdata;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > u->len)
		return CURL_SEEKFUNC_CANTSEEK;
	u->pos = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

struct call {
	const char *method; /* GET, HEAD, PUT, DELETE, POST */
	/* Either a fixed URL without a token (authentication)... */
	const char *url;
	/* ...or this, appended to the container URL, sent with the token. */
	const char *suffix;
	const char *const *headers; /* NULL-terminated, may hold secrets */
	const void *body;	    /* of a PUT or POST */
	size_t body_len;
	bool body_from_fd; /* PUT: the body is the first body_len bytes of body_fd */
	int body_fd;
	const char *range;    /* GET: a Range header; a 416 answer is -ERANGE */
	const char *put_md5;  /* PUT: the answered ETag must be this */
	bool verify_body;     /* GET: the body must match a plain ETag */
	bool missing_ok;      /* a 404 is an answer (-ENOENT), not a failure */
	struct response resp; /* the last answer */
	char url_used[1024];  /* redacted, for messages */
};

static void slist_free_secret(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

CBT_DEFINE_CLEANUP(struct curl_slist *, slist_free_secret, slist_free_secretp)

/* The URL and headers of the next attempt; *gen the token's generation. */
static int prepare(struct swift_store *s, struct call *c, char **ret_url, struct curl_slist **ret,
		   unsigned long *gen)
{
	_cleanup_(slist_free_secretp) struct curl_slist *l = NULL;
	_cleanup_(freep) char *url = NULL;
	char *redacted;

	for (const char *const *h = c->headers; h && *h; h++) {
		struct curl_slist *n = curl_slist_append(l, *h);

		if (!n)
			return -ENOMEM;
		l = n;
	}
	/* No Expect: 100-continue round trip; Swift reads the body anyway. */
	{
		struct curl_slist *n = curl_slist_append(l, "Expect:");

		if (!n)
			return -ENOMEM;
		l = n;
	}
	if (c->url) {
		url = strdup(c->url);
	} else {
		_cleanup_(swift_free_secretp) char *hdr = NULL;
		struct curl_slist *n;

		pthread_mutex_lock(&s->auth_lock);
		*gen = s->auth_gen;
		if (asprintf(&url, "%s%s", s->container_url, c->suffix) < 0)
			url = NULL;
		if (asprintf(&hdr, "X-Auth-Token: %s", s->token) < 0)
			hdr = NULL;
		pthread_mutex_unlock(&s->auth_lock);
		if (!url || !hdr)
			return -ENOMEM;
		n = curl_slist_append(l, hdr);
		if (!n)
			return -ENOMEM;
		l = n;
	}
	if (!url)
		return -ENOMEM;
	redacted = swift_url_redact(url);
	snprintf(c->url_used, sizeof(c->url_used), "%s", redacted ? redacted : "(URL)");
	free(redacted);
	*ret_url = TAKE_PTR(url);
	*ret = TAKE_PTR(l);
	return 0;
}

static CURLcode perform(struct swift_store *s, CURL *h, struct call *c, const char *url,
			struct curl_slist *headers, char *errbuf)
{
	struct upload up = { .buf = c->body,
			     .fd = c->body_from_fd ? c->body_fd : -1,
			     .len = c->body_len };

	curl_easy_reset(h); /* keeps the connections and the share */
	errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &c->resp);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->resp);
	if (s->timeout > 0) {
		/* A whole-transfer limit would cap object size; limit stalls instead. */
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, s->timeout);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, s->timeout);
	}
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, s->insecure ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, s->insecure ? 0L : 2L);
	if (s->ca_cert_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_cert_file);

	if (strcmp(c->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(c->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)c->body_len);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, &up);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, &up);
	} else if (strcmp(c->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body_len);
	} else if (strcmp(c->method, "DELETE") == 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	return curl_easy_perform(h);
}

static bool curl_retryable(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static int curl_errno(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
		return -EPROTO;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static const char *curl_hint(CURLcode cc)
{
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		return " (TLS verification failed: set ca_cert_file to the CA of the server's "
		       "certificate)";
	default:
		return "";
	}
}

static void sleep_seconds(double sec)
{
	struct timespec ts = { .tv_sec = (time_t)sec,
			       .tv_nsec = (long)((sec - (double)(time_t)sec) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int reauthenticate(struct swift_store *s, unsigned long gen);

/* What to add to the message of a final 401 or 403 to a call with the token. */
static const char *denied_hint(const struct swift_store *s, const struct call *c, long status)
{
	if (c->url)
		return ""; /* authentication calls say it themselves */
	if (status == 401)
		return s->auth_version ? " (the token was refused again after re-authenticating)"
				       : " (the token was refused; without auth_url it cannot be "
					 "renewed)";
	if (status == 403)
		return " (the user may not access this account or container)";
	return "";
}

/* After a 2xx: "" when the ETag checks pass, else what is wrong. */
static const char *check_etag(struct call *c, char *buf, size_t size)
{
	char md5[33];

	if (c->put_md5) {
		if (swift_etag_matches(c->resp.etag, c->put_md5))
			return "";
		snprintf(buf, size, "the ETag answered (%s) is not the MD5 of the data sent (%s)",
			 c->resp.etag ? c->resp.etag : "none", c->put_md5);
		return buf;
	}
	if (!c->verify_body || !swift_etag_is_plain_md5(c->resp.etag))
		return "";
	if (swift_md5_hex(c->resp.body ? c->resp.body : "", c->resp.len, md5) < 0)
		return "MD5 failed";
	if (swift_etag_matches(c->resp.etag, md5))
		return "";
	snprintf(buf, size, "the data received (MD5 %s) does not match its ETag (%s)", md5,
		 c->resp.etag);
	return buf;
}

/*
 * Run a call with the retry policy: 0 with c->resp holding a 2xx answer;
 * -ENOENT for a 404 (message recorded unless c->missing_ok); else a
 * negative errno with the message recorded. A 401 to a call with the
 * token makes one re-authentication and an immediate retry.
 */
static int run_call(struct swift_store *s, struct call *c)
{
	char errbuf[CURL_ERROR_SIZE], problem[CURL_ERROR_SIZE + 256];
	bool reauthed = false;
	unsigned retry = 0;
	CURL *h;
	int r = 0;

	h = handle_acquire(s);
	if (!h)
		return fail(-ENOMEM, "%s: cannot make a curl handle", c->method);
	for (;;) {
		_cleanup_(slist_free_secretp) struct curl_slist *headers = NULL;
		_cleanup_(freep) char *url = NULL;
		unsigned long gen = 0;
		double delay;
		CURLcode cc;

		r = prepare(s, c, &url, &headers, &gen);
		if (r < 0) {
			r = fail(r, "%s: out of memory", c->method);
			break;
		}
		response_clear(&c->resp);
		cc = perform(s, h, c, url, headers, errbuf);
		if (cc == CURLE_OK) {
			long st = c->resp.status;
			const char *bad;

			if (status_ok(st)) {
				bad = check_etag(c, problem, sizeof(problem));
				if (!*bad) {
					r = 0;
					break;
				}
				if (bad != problem)
					snprintf(problem, sizeof(problem), "%s", bad);
				r = -EIO;
			} else if (st == 401 && !c->url && s->auth_version && !reauthed) {
				reauthed = true;
				r = reauthenticate(s, gen);
				if (r < 0)
					break;
				continue;
			} else {
				snprintf(problem, sizeof(problem), "HTTP %ld%s%s", st,
					 *c->resp.reason ? " " : "", c->resp.reason);
				r = swift_status_errno(st);
				if (st == 404 && c->missing_ok)
					break;
				if (st == 416 && c->range) {
					r = -ERANGE;
					break;
				}
				if (!swift_status_retryable(st)) {
					r = fail(r, "%s %s: %s%s", c->method, c->url_used, problem,
						 denied_hint(s, c, st));
					break;
				}
			}
		} else if (c->resp.too_big) {
			r = fail(-EFBIG, "%s %s: the object is larger than %zu bytes", c->method,
				 c->url_used, c->resp.max_len);
			break;
		} else if (c->resp.nomem || cc == CURLE_OUT_OF_MEMORY) {
			r = fail(-ENOMEM, "%s %s: out of memory", c->method, c->url_used);
			break;
		} else {
			long os_errno = 0;

			/* curl says "Couldn't connect to server"; the errno says why. */
			curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
			snprintf(problem, sizeof(problem), "%s%s%s%s",
				 *errbuf ? errbuf : curl_easy_strerror(cc), os_errno ? " (" : "",
				 os_errno ? strerror((int)os_errno) : "", os_errno ? ")" : "");
			snprintf(problem + strlen(problem), sizeof(problem) - strlen(problem), "%s",
				 curl_hint(cc));
			r = cc == CURLE_COULDNT_CONNECT && os_errno > 0 ? -(int)os_errno
									: curl_errno(cc);
			if (!curl_retryable(cc)) {
				r = fail(r, "%s %s: %s", c->method, c->url_used, problem);
				break;
			}
		}
		if (retry >= s->retry_attempts) {
			r = fail(r, "%s %s: %s (gave up after %u attempt%s)", c->method,
				 c->url_used, problem, retry + 1, retry ? "s" : "");
			break;
		}
		delay = swift_backoff_delay(s->retry_backoff, retry, c->resp.retry_after);
		retry++;
		note(s, "%s %s: %s; retry %u of %u in %.1f s", c->method, c->url_used, problem,
		     retry, s->retry_attempts, delay);
		sleep_seconds(delay);
	}
	handle_release(s, h);
	return r;
}

/* ---- authentication */

/* Install a token and the container URL of storage_url; under auth_lock. */
static int set_auth(struct swift_store *s, char *token, const char *storage_url)
{
	char *url = swift_container_url(s->fixed_storage_url ? s->fixed_storage_url : storage_url,
					s->container);

	if (!url) {
		swift_free_secret(token);
		return fail(-ENOMEM, "out of memory");
	}
	swift_free_secret(s->token);
	free(s->container_url);
	s->token = token;
	s->container_url = url;
	s->auth_gen++;
	return 0;
}

static int auth_v1(struct swift_store *s)
{
	_cleanup_(swift_free_secretp) char *user_hdr = NULL;
	_cleanup_(swift_free_secretp) char *key_hdr = NULL;
	struct call c = { .method = "GET", .url = s->auth_url };
	const char *headers[3];
	int r;

	if (asprintf(&user_hdr, "X-Auth-User: %s", s->user) < 0)
		user_hdr = NULL;
	if (asprintf(&key_hdr, "X-Auth-Key: %s", s->key) < 0)
		key_hdr = NULL;
	if (!user_hdr || !key_hdr)
		return fail(-ENOMEM, "out of memory");
	headers[0] = user_hdr;
	headers[1] = key_hdr;
	headers[2] = NULL;
	c.headers = headers;
	r = run_call(s, &c);
	if (r < 0) {
		if (r == -EACCES)
			fail(r,
			     "authentication of %s at %s refused: HTTP %ld %s (check the user and "
			     "key)",
			     s->user, c.url_used, c.resp.status, c.resp.reason);
		response_clear(&c.resp);
		return r;
	}
	if (!c.resp.token || (!c.resp.storage_url && !s->fixed_storage_url)) {
		response_clear(&c.resp);
		return fail(-EBADMSG,
			    "authentication at %s: the answer has no X-Auth-Token or X-Storage-Url",
			    c.url_used);
	}
	r = set_auth(s, TAKE_PTR(c.resp.token), c.resp.storage_url);
	response_clear(&c.resp);
	return r;
}

/* Keystone v3; untested against a real Keystone (none runs here). */
static int auth_v3(struct swift_store *s)
{
	_cleanup_(freep) char *url = NULL;
	_cleanup_(swift_free_secretp) char *body = NULL;
	_cleanup_(freep) char *endpoint = NULL;
	static const char *const headers[] = { "Content-Type: application/json",
					       "Accept: application/json", NULL };
	struct call c = { .method = "POST", .headers = headers };
	int r;

	url = swift_keystone_tokens_url(s->auth_url);
	body = swift_keystone_auth_body(s->user, s->user_domain, s->key, s->project,
					s->project_domain);
	if (!url || !body)
		return fail(-ENOMEM, "out of memory");
	c.url = url;
	c.body = body;
	c.body_len = strlen(body);
	r = run_call(s, &c);
	if (r < 0) {
		if (r == -EACCES)
			fail(r,
			     "authentication of %s (project %s) at %s refused: HTTP %ld %s (check "
			     "the "
			     "user, password, project and domains)",
			     s->user, s->project, c.url_used, c.resp.status, c.resp.reason);
		response_clear(&c.resp);
		return r;
	}
	if (!c.resp.token) {
		response_clear(&c.resp);
		return fail(-EBADMSG, "authentication at %s: the answer has no X-Subject-Token",
			    c.url_used);
	}
	if (!s->fixed_storage_url) {
		r = swift_keystone_endpoint(c.resp.body ? c.resp.body : "", c.resp.len,
					    s->interface, s->region, &endpoint);
		if (r < 0) {
			response_clear(&c.resp);
			if (r == -ENOENT)
				return fail(-ENOENT,
					    "authentication at %s: no object-store endpoint "
					    "(interface %s, region %s) in the catalog",
					    c.url_used, s->interface ? s->interface : "public",
					    s->region ? s->region : "any");
			return fail(r, "authentication at %s: the answer is not a v3 token",
				    c.url_used);
		}
	}
	r = set_auth(s, TAKE_PTR(c.resp.token), endpoint);
	response_clear(&c.resp);
	return r;
}

/* Under auth_lock. */
static int authenticate_locked(struct swift_store *s)
{
	return s->auth_version == 3 ? auth_v3(s) : auth_v1(s);
}

/* Called after a 401 to a request made with generation gen's token. */
static int reauthenticate(struct swift_store *s, unsigned long gen)
{
	int r = 0;

	pthread_mutex_lock(&s->auth_lock);
	if (s->auth_gen == gen) {
		_cleanup_(freep) char *where = swift_url_redact(s->auth_url);

		note(s, "the token was refused (HTTP 401): authenticating again at %s",
		     where ? where : "the auth URL");
		r = authenticate_locked(s);
	}
	pthread_mutex_unlock(&s->auth_lock);
	return r;
}

/* ---- the store operations */

static int swift_put(void *data, const char *key, const void *buf, size_t len)
{
	struct swift_store *s = data;
	_cleanup_(freep) char *suffix = swift_object_suffix(key);
	char md5[33], etag[48];
	const char *headers[] = { etag, "Content-Type: application/octet-stream", NULL };
	struct call c = { .method = "PUT", .body = buf, .body_len = len, .put_md5 = md5 };
	int r;

	if (!suffix)
		return fail(-ENOMEM, "out of memory");
	if (swift_md5_hex(buf ? buf : "", len, md5) < 0)
		return fail(-EIO, "PUT %s: MD5 failed", key);
	/* Swift checks the body against it and answers 422 on a mismatch. */
	snprintf(etag, sizeof(etag), "ETag: %s", md5);
	c.suffix = suffix;
	c.headers = headers;
	r = run_call(s, &c);
	response_clear(&c.resp);
	return r;
}

static int swift_get(void *data, const char *key, size_t max_len, void **ret_buf, size_t *ret_len)
{
	struct swift_store *s = data;
	_cleanup_(freep) char *suffix = swift_object_suffix(key);
	struct call c = { .method = "GET", .verify_body = true };
	int r;

	if (!suffix)
		return fail(-ENOMEM, "out of memory");
	c.suffix = suffix;
	c.resp.max_len = max_len;
	r = run_call(s, &c);
	if (r < 0) {
		response_clear(&c.resp);
		return r;
	}
	if (!c.resp.body && !(c.resp.body = malloc(1))) {
		response_clear(&c.resp);
		return fail(-ENOMEM, "out of memory");
	}
	*ret_buf = TAKE_PTR(c.resp.body);
	*ret_len = c.resp.len;
	response_clear(&c.resp);
	return 0;
}

/* The range [offset, offset + len), or the last len bytes, of an object. */
static int swift_get_range(void *data, const char *key, uint64_t offset, size_t len, void *buf,
			   size_t *ret_len, uint64_t *ret_size)
{
	struct swift_store *s = data;
	_cleanup_(freep) char *suffix = swift_object_suffix(key);
	char range[80];
	const char *headers[] = { range, NULL };
	struct call c = { .method = "GET", .headers = headers, .range = range };
	int r;

	if (!suffix)
		return fail(-ENOMEM, "out of memory");
	if (len == 0) {
		/* Only the size, maybe: a 1-byte range says it. */
		char one[1];

		r = ret_size ? swift_get_range(data, key, 0, 1, one, ret_len, ret_size) : 0;
		*ret_len = 0;
		return r;
	}
	if (offset == CBT_STORE_RANGE_TAIL)
		snprintf(range, sizeof(range), "Range: bytes=-%zu", len);
	else
		snprintf(range, sizeof(range), "Range: bytes=%llu-%llu", (unsigned long long)offset,
			 (unsigned long long)(offset + len - 1));
	c.suffix = suffix;
	c.resp.dest = buf;
	c.resp.dest_cap = len;
	c.resp.want_offset = offset;
	r = run_call(s, &c);
	if (r == -ERANGE) {
		/* Nothing at or past the end of the object. */
		*ret_len = 0;
		if (ret_size)
			*ret_size = c.resp.have_range_total ? c.resp.range_total : offset;
		c.resp.dest = NULL;
		response_clear(&c.resp);
		return 0;
	}
	if (r >= 0) {
		*ret_len = c.resp.len;
		if (ret_size)
			*ret_size = c.resp.status == 206 && c.resp.have_range_total
					    ? c.resp.range_total
					    : c.resp.stream_pos;
	}
	c.resp.dest = NULL;
	response_clear(&c.resp);
	return r;
}

/* MD5 of the first len bytes of fd, as 32 hex digits. */
static int file_md5_hex(int fd, uint64_t len, char out[static 33])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	_cleanup_(freep) uint8_t *buf = malloc(1 << 20);
	uint64_t done = 0;
	int r = 0;

	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	while (done < len && r == 0) {
		size_t want = len - done > (1 << 20) ? (1 << 20) : (size_t)(len - done);
		ssize_t n = pread(fd, buf, want, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
			r = -EIO;
		else
			done += (uint64_t)n;
	}
	if (r == 0 && (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 16))
		r = -EIO;
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; r == 0 && i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return r;
}

/* A PUT streamed from the file (curl rewinds it for a retry), with its MD5 as ETag. */
static int swift_put_file(void *data, const char *key, int fd, uint64_t len, const char *md5_hex)
{
	struct swift_store *s = data;
	_cleanup_(freep) char *suffix = swift_object_suffix(key);
	char md5[33], etag[48];
	const char *headers[] = { etag, "Content-Type: application/octet-stream", NULL };
	struct call c = { .method = "PUT", .body_from_fd = true, .body_fd = fd, .put_md5 = md5 };
	int r;

	if (!suffix)
		return fail(-ENOMEM, "out of memory");
	if (len > SIZE_MAX)
		return fail(-EFBIG, "PUT %s: too large", key);
	if (md5_hex && strlen(md5_hex) == 32)
		memcpy(md5, md5_hex, 33);
	else if ((r = file_md5_hex(fd, len, md5)) < 0)
		return fail(r, "PUT %s: reading the file to send: %s", key, strerror(-r));
	snprintf(etag, sizeof(etag), "ETag: %s", md5);
	c.body_len = (size_t)len;
	c.suffix = suffix;
	c.headers = headers;
	r = run_call(s, &c);
	response_clear(&c.resp);
	return r;
}

static int swift_exists(void *data, const char *key)
{
	struct swift_store *s = data;
	_cleanup_(freep) char *suffix = swift_object_suffix(key);
	struct call c = { .method = "HEAD", .missing_ok = true };
	int r;

	if (!suffix)
		return fail(-ENOMEM, "out of memory");
	c.suffix = suffix;
	r = run_call(s, &c);
	response_clear(&c.resp);
	return r == -ENOENT ? 0 : r < 0 ? r : 1;
}

static int swift_delete(void *data, const char *key)
{
	struct swift_store *s = data;
	_cleanup_(freep) char *suffix = swift_object_suffix(key);
	struct call c = { .method = "DELETE" };
	int r;

	if (!suffix)
		return fail(-ENOMEM, "out of memory");
	c.suffix = suffix;
	r = run_call(s, &c);
	response_clear(&c.resp);
	return r;
}

/* Pages of SWIFT_LISTING_LIMIT names, each asked for after the last one seen. */
static int swift_list(void *data, const char *prefix, cbt_store_list_fn fn, void *userdata)
{
	struct swift_store *s = data;
	_cleanup_(freep) char *marker = NULL;
	size_t prefix_len = strlen(prefix);

	for (;;) {
		_cleanup_(freep) char *suffix = NULL;
		_cleanup_(swift_strv_freep) char **names = NULL;
		struct call c = { .method = "GET" };
		size_t n = 0;
		int r;

		suffix = swift_listing_suffix(prefix, marker, SWIFT_LISTING_LIMIT);
		if (!suffix)
			return fail(-ENOMEM, "out of memory");
		c.suffix = suffix;
		r = run_call(s, &c);
		if (r < 0) {
			response_clear(&c.resp);
			return r;
		}
		/* An empty container may answer 204 without a body. */
		if (c.resp.len > 0)
			r = swift_listing_parse(c.resp.body, c.resp.len, &names, &n);
		response_clear(&c.resp);
		if (r < 0)
			return fail(r, "GET %s: the container listing is not JSON", c.url_used);
		if (n == 0)
			return 0;
		for (size_t i = 0; i < n; i++) {
			/* Objects put there by others may not be keys. */
			if (!cbt_store_key_valid(names[i]) ||
			    strncmp(names[i], prefix, prefix_len) != 0)
				continue;
			r = fn(names[i], userdata);
			if (r != 0)
				return r;
		}
		free(marker);
		marker = strdup(names[n - 1]);
		if (!marker)
			return fail(-ENOMEM, "out of memory");
	}
}

static void swift_free(void *data)
{
	struct swift_store *s = data;

	if (!s)
		return;
	for (size_t i = 0; i < s->pool_n; i++)
		curl_easy_cleanup(s->pool[i]);
	free(s->pool);
	/* Every handle is gone, so the share is no longer in use. */
	if (s->share)
		curl_share_cleanup(s->share);
	if (s->share_locks_ready)
		for (size_t i = 0; i < ELEMENTSOF(s->share_locks); i++)
			pthread_mutex_destroy(&s->share_locks[i]);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_mutex_destroy(&s->auth_lock);
	swift_free_secret(s->token);
	swift_free_secret(s->key);
	free(s->container_url);
	free(s->auth_url);
	free(s->user);
	free(s->user_domain);
	free(s->project);
	free(s->project_domain);
	free(s->region);
	free(s->interface);
	free(s->fixed_storage_url);
	free(s->container);
	free(s->ca_cert_file);
	free(s);
}

CBT_DEFINE_CLEANUP(struct swift_store *, swift_free, swift_storep)

static const struct cbt_store_ops swift_ops = {
	.version = CBT_STORE_OPS_VERSION,
	.name = "swift",
	.put = swift_put,
	.get = swift_get,
	.exists = swift_exists,
	.delete = swift_delete,
	.list = swift_list,
	.free = swift_free,
	.get_range = swift_get_range,
	.put_file = swift_put_file,
	.flags = CBT_STORE_USES_MD5, /* the ETag of a PUT */
};

void cbt_swift_config_init(struct cbt_swift_config *cfg)
{
	*cfg = (struct cbt_swift_config){
		.auth_version = "1",
		.container = DEFAULT_CONTAINER,
		.retry_attempts = 3,
		.retry_backoff = 2.0,
		.timeout = 60.0,
	};
}

static bool empty(const char *s)
{
	return !s || !*s;
}

/* strdup of an optional string: 0, or -ENOMEM. */
static int dup_opt(char **dst, const char *src)
{
	if (empty(src))
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

static int parse_auth_version(const char *v)
{
	if (empty(v) || !strcmp(v, "1") || !strcmp(v, "1.0") || !strcmp(v, "v1"))
		return 1;
	if (!strcmp(v, "3") || !strcmp(v, "3.0") || !strcmp(v, "v3"))
		return 3;
	return -1;
}

static int check_config(const struct cbt_swift_config *cfg)
{
	const char *container = empty(cfg->container) ? DEFAULT_CONTAINER : cfg->container;

	if (!empty(cfg->auth_url)) {
		int v = parse_auth_version(cfg->auth_version);

		if (v < 0)
			return fail(-EINVAL, "auth version '%s' is not supported (1 or 3)",
				    cfg->auth_version);
		if (empty(cfg->user) || empty(cfg->key))
			return fail(-EINVAL, "auth_url %s needs a user and a key", cfg->auth_url);
		if (v == 3 && empty(cfg->project))
			return fail(-EINVAL, "Keystone v3 authentication needs a project");
	} else if (empty(cfg->storage_url) || empty(cfg->token)) {
		return fail(-EINVAL, "no auth_url, and no storage_url with a token");
	}
	if (strchr(container, '/') || strlen(container) > 256)
		return fail(-EINVAL, "invalid container name '%s'", container);
	if (cfg->retry_attempts < 0 || !(cfg->retry_backoff >= 0) || !(cfg->timeout >= 0))
		return fail(-EINVAL, "retry attempts, backoff and timeout must not be negative");
	return 0;
}

static int copy_config(struct swift_store *s, const struct cbt_swift_config *cfg)
{
	int r = 0;

	s->auth_version = empty(cfg->auth_url) ? 0 : parse_auth_version(cfg->auth_version);
	r = r ?: dup_opt(&s->auth_url, cfg->auth_url);
	r = r ?: dup_opt(&s->user, cfg->user);
	r = r ?: dup_opt(&s->key, cfg->key);
	r = r ?: dup_opt(&s->user_domain, cfg->user_domain);
	r = r ?: dup_opt(&s->project, cfg->project);
	r = r ?: dup_opt(&s->project_domain, cfg->project_domain);
	r = r ?: dup_opt(&s->region, cfg->region);
	r = r ?: dup_opt(&s->interface, cfg->interface);
	r = r ?: dup_opt(&s->fixed_storage_url, cfg->storage_url);
	r = r ?: dup_opt(&s->container, empty(cfg->container) ? DEFAULT_CONTAINER : cfg->container);
	r = r ?: dup_opt(&s->ca_cert_file, cfg->ca_cert_file);
	if (r < 0)
		return fail(r, "out of memory");
	s->retry_attempts = (unsigned)cfg->retry_attempts;
	s->retry_backoff = cfg->retry_backoff;
	s->insecure = cfg->insecure;
	s->timeout = cfg->timeout > 0 && cfg->timeout < 1 ? 1 : (long)cfg->timeout;
	s->log = cfg->log;
	s->log_userdata = cfg->log_userdata;
	return 0;
}

static int init_curl(struct swift_store *s)
{
	pthread_once(&global_once, global_init);
	if (global_result != CURLE_OK)
		return fail(-EIO, "curl_global_init: %s", curl_easy_strerror(global_result));
	s->share = curl_share_init();
	if (!s->share)
		return fail(-ENOMEM, "out of memory");
	for (size_t i = 0; i < ELEMENTSOF(s->share_locks); i++)
		pthread_mutex_init(&s->share_locks[i], NULL);
	s->share_locks_ready = true;
	curl_share_setopt(s->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(s->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(s->share, CURLSHOPT_USERDATA, s);
	curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	return 0;
}

/* HEAD the container; PUT it when missing (HEAD first: a user with only
 * a container ACL may read it but not create containers). */
static int ensure_container(struct swift_store *s)
{
	struct call c = { .method = "HEAD", .suffix = "", .missing_ok = true };
	int r;

	r = run_call(s, &c);
	response_clear(&c.resp);
	if (r != -ENOENT)
		return r;
	c = (struct call){ .method = "PUT", .suffix = "" };
	r = run_call(s, &c);
	response_clear(&c.resp);
	return r;
}

static int swift_open(const struct cbt_swift_config *cfg, struct cbt_store **ret)
{
	_cleanup_(swift_storep) struct swift_store *s = NULL;
	int r;

	if (!cfg || !ret)
		return fail(-EINVAL, "no configuration");
	r = check_config(cfg);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return fail(-ENOMEM, "out of memory");
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_mutex_init(&s->auth_lock, NULL);
	r = copy_config(s, cfg);
	if (r < 0)
		return r;
	r = init_curl(s);
	if (r < 0)
		return r;
	pthread_mutex_lock(&s->auth_lock);
	if (s->auth_version) {
		r = authenticate_locked(s);
	} else {
		char *token = strdup(cfg->token);

		r = token ? set_auth(s, token, cfg->storage_url) : fail(-ENOMEM, "out of memory");
	}
	pthread_mutex_unlock(&s->auth_lock);
	if (r < 0)
		return r;
	r = ensure_container(s);
	if (r < 0)
		return r;
	r = cbt_store_new(&swift_ops, s, ret);
	if (r < 0)
		return fail(r, "cbt_store_new: %s", strerror(-r));
	TAKE_PTR(s);
	return 0;
}

int cbt_swift_store_open(const struct cbt_swift_config *cfg, struct cbt_store **ret,
			 char **ret_error)
{
	int r;

	last_error[0] = '\0';
	/* A key, and soon a token, in memory: no core dump of them. */
	(void)cbt_secret_hold();
	r = swift_open(cfg, ret);
	if (r < 0 && ret_error)
		*ret_error = strdup(last_error[0] ? last_error : strerror(-r));
	return r;
}
