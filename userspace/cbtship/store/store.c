/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The generic object store: argument checks around a backend's callbacks. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cbtship/store/store.h"

struct cbt_store {
	const struct cbt_store_ops *ops;
	void *data;
};

/* Per thread, as the upload and fetch workers each fail on their own. */
static _Thread_local struct {
	int errnum; /* 0: none */
	char message[512];
} detail;

void cbt_store_set_detail(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail.message, sizeof(detail.message), fmt, ap);
	va_end(ap);
	detail.errnum = r;
}

const char *cbt_store_detail(int r)
{
	return r < 0 && detail.errnum == r && detail.message[0] ? detail.message : NULL;
}

const char *cbt_store_strerror(int r)
{
	static _Thread_local char buf[sizeof(detail.message) + 128];
	const char *d = cbt_store_detail(r);

	if (!d)
		return strerror(r < 0 ? -r : r);
	snprintf(buf, sizeof(buf), "%s: %s", strerror(-r), d);
	return buf;
}

static void forget_detail(void)
{
	detail.errnum = 0;
}

int cbt_store_new(const struct cbt_store_ops *ops, void *data, struct cbt_store **ret)
{
	struct cbt_store *s;

	if (!ops || !ret)
		return -EINVAL;
	if (ops->version != CBT_STORE_OPS_VERSION)
		return -EPROTONOSUPPORT;
	if (!ops->name || !ops->put || !ops->get || !ops->exists || !ops->delete || !ops->list)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ops = ops;
	s->data = data;
	*ret = s;
	return 0;
}

struct cbt_store *cbt_store_free(struct cbt_store *s)
{
	if (!s)
		return NULL;
	if (s->ops->free)
		s->ops->free(s->data);
	free(s);
	return NULL;
}

const char *cbt_store_name(const struct cbt_store *s)
{
	return s->ops->name;
}

unsigned cbt_store_flags(const struct cbt_store *s)
{
	return s->ops->flags;
}

const struct cbt_store_ops *cbt_store_ops(const struct cbt_store *s)
{
	return s->ops;
}

void *cbt_store_data(const struct cbt_store *s)
{
	return s->data;
}

int cbt_store_put(struct cbt_store *s, const char *key, const void *buf, size_t len)
{
	if (!cbt_store_key_valid(key) || (!buf && len))
		return -EINVAL;
	forget_detail();
	return s->ops->put(s->data, key, buf, len);
}

int cbt_store_get(struct cbt_store *s, const char *key, size_t max_len, void **ret_buf,
		  size_t *ret_len)
{
	if (!cbt_store_key_valid(key) || !ret_buf || !ret_len)
		return -EINVAL;
	forget_detail();
	return s->ops->get(s->data, key, max_len, ret_buf, ret_len);
}

int cbt_store_exists(struct cbt_store *s, const char *key)
{
	if (!cbt_store_key_valid(key))
		return -EINVAL;
	forget_detail();
	return s->ops->exists(s->data, key);
}

int cbt_store_delete(struct cbt_store *s, const char *key)
{
	if (!cbt_store_key_valid(key))
		return -EINVAL;
	forget_detail();
	return s->ops->delete (s->data, key);
}

int cbt_store_list(struct cbt_store *s, const char *prefix, cbt_store_list_fn fn, void *userdata)
{
	if (!prefix)
		prefix = "";
	if (!cbt_store_prefix_valid(prefix) || !fn)
		return -EINVAL;
	forget_detail();
	return s->ops->list(s->data, prefix, fn, userdata);
}

int cbt_store_flush(struct cbt_store *s)
{
	forget_detail();
	return s->ops->flush ? s->ops->flush(s->data) : 0;
}

int cbt_store_get_range(struct cbt_store *s, const char *key, uint64_t offset, size_t len,
			void *buf, size_t *ret_len, uint64_t *ret_size)
{
	_cleanup_(freep) void *whole = NULL;
	size_t whole_len = 0, n;
	int r;

	if (!cbt_store_key_valid(key) || (!buf && len) || !ret_len)
		return -EINVAL;
#ifdef CBTSHIP_TEST_HOOKS
	/*
	 * Tests: $CBTSHIP_TEST_RANGE_FAULT=N fails every ranged read after the
	 * Nth; $CBTSHIP_TEST_RANGE_DELAY_MS=N makes each take N ms more (a
	 * restore slow enough to be caught running, whatever the machine).
	 */
	{
		static atomic_uint calls;
		const char *fault = getenv("CBTSHIP_TEST_RANGE_FAULT");
		const char *delay = getenv("CBTSHIP_TEST_RANGE_DELAY_MS");

		if (fault && atomic_fetch_add(&calls, 1) >= strtoul(fault, NULL, 10))
			return -ETIMEDOUT;
		if (delay)
			usleep((useconds_t)strtoul(delay, NULL, 10) * 1000);
	}
#endif
	forget_detail();
	if (s->ops->get_range)
		return s->ops->get_range(s->data, key, offset, len, buf, ret_len, ret_size);
	r = s->ops->get(s->data, key, 0, &whole, &whole_len);
	if (r < 0)
		return r;
	if (offset == CBT_STORE_RANGE_TAIL)
		offset = whole_len > len ? whole_len - len : 0;
	n = offset >= whole_len ? 0 : whole_len - (size_t)offset;
	if (n > len)
		n = len;
	if (n)
		memcpy(buf, (const uint8_t *)whole + offset, n);
	*ret_len = n;
	if (ret_size)
		*ret_size = whole_len;
	return 0;
}

int cbt_store_put_file(struct cbt_store *s, const char *key, int fd, uint64_t len,
		       const char *md5_hex)
{
	_cleanup_(freep) uint8_t *buf = NULL;
	size_t done = 0;

	if (!cbt_store_key_valid(key) || fd < 0)
		return -EINVAL;
	forget_detail();
	if (s->ops->put_file)
		return s->ops->put_file(s->data, key, fd, len, md5_hex);
	if (len > SIZE_MAX)
		return -EFBIG;
	buf = malloc(len ? (size_t)len : 1);
	if (!buf)
		return -ENOMEM;
	while (done < len) {
		ssize_t n = pread(fd, buf + done, (size_t)len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the file is shorter than len */
		done += (size_t)n;
	}
	forget_detail();
	return s->ops->put(s->data, key, buf, (size_t)len);
}
