/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The generic object store: argument checks around a backend's callbacks. */
#include <errno.h>
#include <stdlib.h>

#include "cbtship/store/store.h"

struct cbt_store {
	const struct cbt_store_ops *ops;
	void *data;
};

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

int cbt_store_put(struct cbt_store *s, const char *key, const void *buf, size_t len)
{
	if (!cbt_store_key_valid(key) || (!buf && len))
		return -EINVAL;
	return s->ops->put(s->data, key, buf, len);
}

int cbt_store_get(struct cbt_store *s, const char *key, size_t max_len, void **ret_buf,
		  size_t *ret_len)
{
	if (!cbt_store_key_valid(key) || !ret_buf || !ret_len)
		return -EINVAL;
	return s->ops->get(s->data, key, max_len, ret_buf, ret_len);
}

int cbt_store_exists(struct cbt_store *s, const char *key)
{
	if (!cbt_store_key_valid(key))
		return -EINVAL;
	return s->ops->exists(s->data, key);
}

int cbt_store_delete(struct cbt_store *s, const char *key)
{
	if (!cbt_store_key_valid(key))
		return -EINVAL;
	return s->ops->delete (s->data, key);
}

int cbt_store_list(struct cbt_store *s, const char *prefix, cbt_store_list_fn fn, void *userdata)
{
	if (!prefix)
		prefix = "";
	if (!cbt_store_prefix_valid(prefix) || !fn)
		return -EINVAL;
	return s->ops->list(s->data, prefix, fn, userdata);
}

int cbt_store_flush(struct cbt_store *s)
{
	return s->ops->flush ? s->ops->flush(s->data) : 0;
}
