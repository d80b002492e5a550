/* SPDX-License-Identifier: GPL-2.0-or-later */
/* exists() of chunk keys from one listing (see the header). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/repo/object-key.h"
#include "cbtship/store/known-keys.h"

struct known {
	struct cbt_store_ops ops; /* known_ops under the inner store's name */
	struct cbt_store *inner;
	size_t max_keys;
	bool usable;	  /* the listing was complete */
	uint64_t *listed; /* sorted id prefixes of the listing */
	size_t n_listed;
	pthread_mutex_t lock; /* guards the set of prefixes put since */
	uint64_t *added;      /* open addressing, 0 = empty (prefix 0 kept as 1) */
	size_t n_added, cap_added;
};

/* The first 8 bytes of the id in a chunk key, or false for another key. */
static bool chunk_prefix(const char *key, uint64_t *ret)
{
	const char *hex;
	uint64_t v = 0;

	if (strncmp(key, CBT_CHUNK_KEY_PREFIX, strlen(CBT_CHUNK_KEY_PREFIX)) != 0)
		return false;
	hex = strrchr(key, '/') + 1;
	if (strlen(hex) != 64)
		return false;
	for (int i = 0; i < 16; i++) {
		char c = hex[i];
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
						    : 16;

		if (d > 15)
			return false;
		v = v << 4 | d;
	}
	*ret = v ? v : 1;
	return true;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int collect(const char *key, void *userdata)
{
	struct known *k = userdata;
	uint64_t p;

	if (!chunk_prefix(key, &p))
		return 0;
	if (k->n_listed == k->max_keys)
		return 1; /* too many: give the listing up */
	if (k->n_listed % 4096 == 0) {
		uint64_t *grown = realloc(k->listed, (k->n_listed + 4096) * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		k->listed = grown;
	}
	k->listed[k->n_listed++] = p;
	return 0;
}

static bool added_has(struct known *k, uint64_t p)
{
	bool found = false;

	pthread_mutex_lock(&k->lock);
	for (size_t i = p % (k->cap_added ? k->cap_added : 1); k->cap_added && k->added[i];
	     i = (i + 1) % k->cap_added)
		if (k->added[i] == p) {
			found = true;
			break;
		}
	pthread_mutex_unlock(&k->lock);
	return found;
}

static void added_insert_locked(struct known *k, uint64_t p)
{
	size_t i = p % k->cap_added;

	while (k->added[i] && k->added[i] != p)
		i = (i + 1) % k->cap_added;
	if (!k->added[i]) {
		k->added[i] = p;
		k->n_added++;
	}
}

/* Remember a put; best effort (a prefix not remembered only costs a request). */
static void added_put(struct known *k, uint64_t p)
{
	pthread_mutex_lock(&k->lock);
	if (2 * (k->n_added + 1) > k->cap_added) {
		size_t cap = k->cap_added ? 2 * k->cap_added : 4096;
		uint64_t *old = k->added, *grown = calloc(cap, sizeof(*grown));
		size_t old_cap = k->cap_added;

		if (!grown) {
			pthread_mutex_unlock(&k->lock);
			return;
		}
		k->added = grown;
		k->cap_added = cap;
		k->n_added = 0;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i])
				added_insert_locked(k, old[i]);
		free(old);
	}
	added_insert_locked(k, p);
	pthread_mutex_unlock(&k->lock);
}

static int k_put(void *data, const char *key, const void *buf, size_t len)
{
	struct known *k = data;
	uint64_t p;
	int r = cbt_store_put(k->inner, key, buf, len);

	if (r >= 0 && k->usable && chunk_prefix(key, &p))
		added_put(k, p);
	return r;
}

static int k_exists(void *data, const char *key)
{
	struct known *k = data;
	uint64_t p;

	if (k->usable && chunk_prefix(key, &p) &&
	    !bsearch(&p, k->listed, k->n_listed, sizeof(p), compare_u64) && !added_has(k, p))
		return 0;
	return cbt_store_exists(k->inner, key);
}

static int k_get(void *data, const char *key, size_t max_len, void **ret_buf, size_t *ret_len)
{
	return cbt_store_get(((struct known *)data)->inner, key, max_len, ret_buf, ret_len);
}

static int k_delete(void *data, const char *key)
{
	return cbt_store_delete(((struct known *)data)->inner, key);
}

static int k_list(void *data, const char *prefix, cbt_store_list_fn fn, void *userdata)
{
	return cbt_store_list(((struct known *)data)->inner, prefix, fn, userdata);
}

static int k_get_range(void *data, const char *key, uint64_t offset, size_t len, void *buf,
		       size_t *ret_len, uint64_t *ret_size)
{
	return cbt_store_get_range(((struct known *)data)->inner, key, offset, len, buf, ret_len,
				   ret_size);
}

/* Not a chunk key (packs/...): passed on as it is. */
static int k_put_file(void *data, const char *key, int fd, uint64_t len, const char *md5_hex)
{
	return cbt_store_put_file(((struct known *)data)->inner, key, fd, len, md5_hex);
}

static int k_flush(void *data)
{
	return cbt_store_flush(((struct known *)data)->inner);
}

static void k_free(void *data)
{
	struct known *k = data;

	if (!k)
		return;
	cbt_store_free(k->inner);
	pthread_mutex_destroy(&k->lock);
	free(k->listed);
	free(k->added);
	free(k);
}

static const struct cbt_store_ops known_ops = {
	.version = CBT_STORE_OPS_VERSION,
	.name = "known-keys", /* replaced by the inner store's */
	.put = k_put,
	.get = k_get,
	.exists = k_exists,
	.delete = k_delete,
	.list = k_list,
	.free = k_free,
	.flush = k_flush,
	.get_range = k_get_range,
	.put_file = k_put_file,
};

int cbt_known_keys_store_new(struct cbt_store *inner, size_t max_keys, struct cbt_store **ret)
{
	struct known *k = calloc(1, sizeof(*k));
	int r;

	if (!k) {
		cbt_store_free(inner);
		return -ENOMEM;
	}
	k->inner = inner;
	k->max_keys = max_keys ? max_keys : CBT_KNOWN_KEYS_MAX_DEFAULT;
	pthread_mutex_init(&k->lock, NULL);
	/* The wrapper goes by the inner store's name (messages, the catalog). */
	k->ops = known_ops;
	k->ops.name = cbt_store_name(inner);
	k->ops.flags = cbt_store_flags(inner); /* put_file passes md5_hex on */
	r = cbt_store_list(inner, CBT_CHUNK_KEY_PREFIX, collect, k);
	k->usable = r == 0;
	if (k->usable)
		qsort(k->listed, k->n_listed, sizeof(*k->listed), compare_u64);
	else {
		free(k->listed);
		k->listed = NULL;
		k->n_listed = 0;
	}
	r = cbt_store_new(&k->ops, k, ret);
	if (r < 0)
		k_free(k);
	return r;
}
