/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pack store: chunks and index pages written into packs, found through the location cache. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cbt-bytes.h"
#include "cbtship/repo/chunk-object.h"
#include "cbtship/repo/object-key.h"
#include "cbtship/repo/pack-store.h"

#define NBUCKETS	(1u << 16)
#define BLOCK_NODES	1024
#define RESYNC_INTERVAL 10 /* seconds between two syncs caused by misses */
#define UPLOADERS_MAX	16

/* An entry of a pack not yet in the cache. */
struct pnode {
	struct cbt_chunk_id id;
	uint8_t type;
	uint32_t length;
	uint64_t offset;
	struct open_pack *pack;
	struct pnode *next; /* in its bucket */
};

struct nblock {
	struct nblock *next;
	size_t n;
	struct pnode nodes[BLOCK_NODES];
};

struct open_pack {
	char key[CBT_PACK_KEY_SIZE];
	int fd;
	struct cbt_pack_writer *w;
	uint64_t size; /* once closed */
	char md5[33];
	struct nblock *blocks;
	struct open_pack *next; /* in the upload queue */
};

struct ps {
	struct cbt_store_ops ops; /* ps_ops under the inner store's name */
	struct cbt_store *inner;
	struct cbt_location_cache *cache;
	uint64_t pack_size;
	unsigned queued_max;
	char *spool_dir;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct open_pack *open[2]; /* being filled: one for chunks, one for index pages */
	struct open_pack *queue_head, *queue_tail;
	unsigned queued, uploading;
	bool stop;
	int error; /* the first upload error, sticky */
	char error_msg[512];
	struct pnode *buckets[NBUCKETS];
	struct cbt_pack_codec codec; /* for the tables written, under lock */
	struct cbt_pack_store_stats stats;

	pthread_mutex_t sync_lock; /* guards the three below, and syncs */
	struct cbt_pack_codec sync_codec;
	bool synced;
	int sync_error; /* of the last sync: 0, or why it failed (a transport error) */
	time_t last_sync;
	/*
	 * Whether the container has loose index pages (format 1): listed once,
	 * at the first sync. Without any, a page in no pack is absent (no
	 * HEAD per page on Swift; known-keys does the same for chunks).
	 */
	int loose_pages; /* -1 unknown, 0 none, 1 some */

	/*
	 * The uploaders and the cache's database are made by the first call
	 * that needs them, in the process that makes it (ps_ready()): a
	 * backup job opens its repository and then forks its worker, and
	 * neither threads nor an SQLite connection survive a fork.
	 */
	char *cache_path;
	pid_t pid; /* the process that opened the cache (and made the threads); 0: none */
	_Atomic pid_t ready_pid; /* the process for which ps_ready() is done */
	unsigned uploaders;
	pthread_t threads[UPLOADERS_MAX];
	unsigned n_threads;
	struct ps *next_store; /* in the list the fork handler walks */
};

static int ps_ready(struct ps *p);
static void stores_remove(struct ps *p);

static unsigned bucket_of(const struct cbt_chunk_id *id)
{
	return (unsigned)(id->bytes[0] | id->bytes[1] << 8) & (NBUCKETS - 1);
}

/* Under the lock. */
static struct pnode *pending_find(struct ps *p, uint8_t type, const struct cbt_chunk_id *id)
{
	for (struct pnode *n = p->buckets[bucket_of(id)]; n; n = n->next)
		if (n->type == type && cbt_chunk_id_equal(&n->id, id))
			return n;
	return NULL;
}

/* Under the lock. */
static int pending_add(struct ps *p, struct open_pack *pk, uint8_t type,
		       const struct cbt_chunk_id *id, uint64_t offset, uint32_t length)
{
	struct nblock *b = pk->blocks;
	struct pnode *n;
	unsigned h = bucket_of(id);

	if (!b || b->n == BLOCK_NODES) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return -ENOMEM;
		b->next = pk->blocks;
		pk->blocks = b;
	}
	n = &b->nodes[b->n++];
	n->id = *id;
	n->type = type;
	n->offset = offset;
	n->length = length;
	n->pack = pk;
	n->next = p->buckets[h];
	p->buckets[h] = n;
	return 0;
}

/* Under the lock: unlink the pack's entries from the buckets and free the pack. */
static void pack_drop(struct ps *p, struct open_pack *pk)
{
	while (pk->blocks) {
		struct nblock *b = pk->blocks;

		for (size_t i = 0; i < b->n; i++) {
			struct pnode **link = &p->buckets[bucket_of(&b->nodes[i].id)];

			while (*link && *link != &b->nodes[i])
				link = &(*link)->next;
			if (*link)
				*link = b->nodes[i].next;
		}
		pk->blocks = b->next;
		free(b);
	}
	cbt_pack_writer_free(pk->w);
	if (pk->fd >= 0)
		close(pk->fd);
	free(pk);
}

static int spool_open(struct ps *p)
{
	const char *tmp = getenv("TMPDIR");
	char path[4096];
	int fd = -1;

	if (p->spool_dir)
		fd = open(p->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = open(tmp && *tmp ? tmp : "/var/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "%s/cbtship-pack-XXXXXX", tmp && *tmp ? tmp : "/var/tmp");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

/* Under the lock: a new open pack. */
static int pack_start(struct ps *p, uint8_t type)
{
	struct open_pack *pk = calloc(1, sizeof(*pk));
	struct cbt_pack_id id;
	int r;

	if (!pk)
		return -ENOMEM;
	pk->fd = -1;
	r = cbt_pack_id_random(&id);
	if (r < 0)
		goto fail;
	cbt_pack_key(&id, pk->key);
	pk->fd = spool_open(p);
	if (pk->fd < 0) {
		r = pk->fd;
		snprintf(p->error_msg, sizeof(p->error_msg), "cannot make a pack spool file: %s",
			 strerror(-r));
		goto fail;
	}
	r = cbt_pack_writer_new(pk->fd, cbt_store_flags(p->inner) & CBT_STORE_USES_MD5, &pk->w);
	if (r < 0)
		goto fail;
	p->open[type] = pk;
	return 0;
fail:
	pack_drop(p, pk);
	return r;
}

static void set_error(struct ps *p, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Under the lock: the first error wins. */
static void set_error(struct ps *p, int r, const char *fmt, ...)
{
	va_list ap;

	if (p->error)
		return;
	p->error = r;
	va_start(ap, fmt);
	vsnprintf(p->error_msg, sizeof(p->error_msg), fmt, ap);
	va_end(ap);
	pthread_cond_broadcast(&p->cond);
}

/* Under the lock: close the open pack (table, trailer) and queue it. */
static int pack_close(struct ps *p, uint8_t type)
{
	struct open_pack *pk = p->open[type];
	int r;

	if (!pk)
		return 0;
	p->open[type] = NULL;
	r = cbt_pack_writer_finish(pk->w, &p->codec, &pk->size, pk->md5);
	if (r < 0) {
		set_error(p, r, "closing pack %s: %s", pk->key, cbt_pack_strerror(r));
		pack_drop(p, pk);
		return r;
	}
	if (p->queue_tail)
		p->queue_tail->next = pk;
	else
		p->queue_head = pk;
	p->queue_tail = pk;
	p->queued++;
	pthread_cond_broadcast(&p->cond);
	return 0;
}

static void *uploader(void *arg)
{
	struct ps *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct open_pack *pk;
		int r;

		while (!p->queue_head && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (!p->queue_head)
			break;
		pk = p->queue_head;
		p->queue_head = pk->next;
		if (!p->queue_head)
			p->queue_tail = NULL;
		p->queued--;
		p->uploading++;
		pthread_cond_broadcast(&p->cond);
		if (p->error || p->stop) {
			/* Failed or stopping: what is left is not uploaded. */
			r = 0;
		} else {
			pthread_mutex_unlock(&p->lock);
			r = cbt_store_put_file(p->inner, pk->key, pk->fd, pk->size,
					       *pk->md5 ? pk->md5 : NULL);
			if (r >= 0)
				r = cbt_location_cache_add_pack(p->cache, pk->key, pk->size,
								cbt_pack_writer_entries(pk->w),
								cbt_pack_writer_count(pk->w));
			pthread_mutex_lock(&p->lock);
			if (r < 0)
				set_error(p, r, "uploading pack %s: %s", pk->key,
					  r == -EIO && *cbt_location_cache_error(p->cache)
						  ? cbt_location_cache_error(p->cache)
						  : strerror(-r));
			else {
				p->stats.packs_uploaded++;
				p->stats.bytes_uploaded += pk->size;
				p->stats.entries_packed += cbt_pack_writer_count(pk->w);
			}
		}
		pack_drop(p, pk);
		p->uploading--;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* A chunk or index page key: its type and id. */
static bool content_key(const char *key, uint8_t *type, struct cbt_chunk_id *id)
{
	if (cbt_object_key_parse(CBT_OBJECT_CHUNK, key, id) == 0) {
		*type = CBT_PACK_ENTRY_CHUNK;
		return true;
	}
	if (cbt_object_key_parse(CBT_OBJECT_INDEX, key, id) == 0) {
		*type = CBT_PACK_ENTRY_INDEX;
		return true;
	}
	return false;
}

static int found_one(const char *key, void *userdata)
{
	(void)key, (void)userdata;
	return 1;
}

static int sync_now(struct ps *p, struct cbt_location_sync_stats *st, char **ret_error)
{
	int r;

	r = ps_ready(p);
	if (r < 0)
		return r;
	pthread_mutex_lock(&p->sync_lock);
	if (p->loose_pages < 0) {
		r = cbt_store_list(p->inner, CBT_INDEX_KEY_PREFIX, found_one, NULL);
		if (r >= 0)
			p->loose_pages = r > 0;
	}
	r = cbt_location_cache_sync(p->cache, p->inner, &p->sync_codec, st, ret_error);
	p->sync_error = r < 0 ? r : 0;
	if (r >= 0) {
		p->synced = true;
		p->last_sync = time(NULL);
	}
	pthread_mutex_unlock(&p->sync_lock);
	return r;
}

/* The first content call syncs; later ones only when something was not found. */
static void ensure_synced(struct ps *p)
{
	bool synced;

	pthread_mutex_lock(&p->sync_lock);
	synced = p->synced;
	pthread_mutex_unlock(&p->sync_lock);
	if (!synced)
		(void)sync_now(p, NULL, NULL); /* a failed sync: the loose objects still answer */
}

/* After a miss: sync again unless that was done lately. 1 when synced now. */
static int resync(struct ps *p)
{
	bool due;

	pthread_mutex_lock(&p->sync_lock);
	due = !p->synced || time(NULL) - p->last_sync >= RESYNC_INTERVAL;
	pthread_mutex_unlock(&p->sync_lock);
	if (!due)
		return 0;
	return sync_now(p, NULL, NULL) < 0 ? 0 : 1;
}

static int ps_put(void *data, const char *key, const void *buf, size_t len)
{
	struct ps *p = data;
	struct cbt_chunk_id id;
	uint64_t offset;
	uint8_t type;
	int r;

	if (!content_key(key, &type, &id))
		return cbt_store_put(p->inner, key, buf, len);
	r = ps_ready(p);
	if (r < 0)
		return r;
	pthread_mutex_lock(&p->lock);
	if (p->error) {
		r = p->error;
		goto out;
	}
	if (pending_find(p, type, &id)) {
		r = 0; /* in an open or queued pack already */
		goto out;
	}
	if (!p->open[type]) {
		r = pack_start(p, type);
		if (r < 0) {
			set_error(p, r, "%s", p->error_msg[0] ? p->error_msg : strerror(-r));
			goto out;
		}
	}
	r = cbt_pack_writer_append(p->open[type]->w, type, &id, buf, len, &offset);
	if (r == -E2BIG) {
		r = pack_close(p, type);
		if (r >= 0)
			r = pack_start(p, type);
		if (r >= 0)
			r = cbt_pack_writer_append(p->open[type]->w, type, &id, buf, len, &offset);
	}
	if (r < 0) {
		set_error(p, r, "writing the pack spool file: %s", strerror(-r));
		goto out;
	}
	r = pending_add(p, p->open[type], type, &id, offset, (uint32_t)len);
	if (r < 0)
		goto out;
	if (cbt_pack_writer_size(p->open[type]->w) >= p->pack_size ||
	    cbt_pack_writer_count(p->open[type]->w) >= CBT_PACK_ENTRIES_MAX) {
		r = pack_close(p, type);
		/* Back pressure: no more than queued_max packs wait for an upload. */
		while (r >= 0 && !p->error && p->queued > p->queued_max)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->error)
			r = p->error;
	}
out:
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* Read a pending entry from its spool file, under the lock. */
static int read_pending(const struct pnode *n, size_t max_len, void **ret_buf, size_t *ret_len)
{
	_cleanup_(freep) uint8_t *buf = NULL;
	size_t done = 0;

	if (max_len && n->length > max_len)
		return -EFBIG;
	buf = malloc(n->length);
	if (!buf)
		return -ENOMEM;
	while (done < n->length) {
		ssize_t got =
			pread(n->pack->fd, buf + done, n->length - done, (off_t)(n->offset + done));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 ? -errno : -EIO;
		done += (size_t)got;
	}
	*ret_buf = TAKE_PTR(buf);
	*ret_len = n->length;
	return 0;
}

/* From the cache: 1 found (read), 0 not in the cache, or an error. */
static int get_cached(struct ps *p, uint8_t type, const struct cbt_chunk_id *id, size_t max_len,
		      void **ret_buf, size_t *ret_len)
{
	struct cbt_location loc;
	_cleanup_(freep) uint8_t *buf = NULL;
	size_t got = 0;
	int r;

	r = cbt_location_cache_lookup(p->cache, type, id, &loc);
	if (r <= 0)
		return r;
	if (max_len && loc.length > max_len)
		return -EFBIG;
	buf = malloc(loc.length ? loc.length : 1);
	if (!buf)
		return -ENOMEM;
	r = cbt_store_get_range(p->inner, loc.pack, loc.offset, loc.length, buf, &got, NULL);
	if (r < 0)
		return r == -ENOENT ? -ESTALE : r; /* the pack is gone: the cache is stale */
	*ret_buf = TAKE_PTR(buf);
	*ret_len = got; /* short: the pack is truncated, which the chunk codec reports */
	return 1;
}

/*
 * Not found: absent, unless the listing could not be read (then the id may
 * well be in a pack this host has not seen, and the store's failure is the
 * answer: a fault of the store is not a missing object).
 */
static int missing_or_sync_error(struct ps *p)
{
	int r;

	pthread_mutex_lock(&p->sync_lock);
	r = p->sync_error < 0 ? p->sync_error : -ENOENT;
	pthread_mutex_unlock(&p->sync_lock);
	return r;
}

static int ps_get(void *data, const char *key, size_t max_len, void **ret_buf, size_t *ret_len)
{
	struct ps *p = data;
	struct cbt_chunk_id id;
	struct pnode *n;
	uint8_t type;
	int r;

	if (!content_key(key, &type, &id))
		return cbt_store_get(p->inner, key, max_len, ret_buf, ret_len);
	r = ps_ready(p);
	if (r < 0)
		return r;
	pthread_mutex_lock(&p->lock);
	n = pending_find(p, type, &id);
	r = n ? read_pending(n, max_len, ret_buf, ret_len) : 0;
	pthread_mutex_unlock(&p->lock);
	if (n)
		return r;
	ensure_synced(p);
	for (int attempt = 0;; attempt++) {
		r = get_cached(p, type, &id, max_len, ret_buf, ret_len);
		if (r > 0)
			return 0;
		if (r == 0) {
			r = cbt_store_get(p->inner, key, max_len, ret_buf, ret_len);
			if (r != -ENOENT)
				return r;
		}
		if ((r != -ENOENT && r != -ESTALE) || attempt > 0 || !resync(p))
			return r == -ESTALE || r == -ENOENT ? missing_or_sync_error(p) : r;
	}
}

static int ps_exists(void *data, const char *key)
{
	struct ps *p = data;
	struct cbt_location loc;
	struct cbt_chunk_id id;
	uint8_t type;
	bool found;
	int r;

	if (!content_key(key, &type, &id))
		return cbt_store_exists(p->inner, key);
	r = ps_ready(p);
	if (r < 0)
		return r;
	pthread_mutex_lock(&p->lock);
	found = pending_find(p, type, &id) != NULL;
	pthread_mutex_unlock(&p->lock);
	if (found)
		return 1;
	ensure_synced(p);
	r = cbt_location_cache_lookup(p->cache, type, &id, &loc);
	if (r != 0)
		return r;
	if (type == CBT_PACK_ENTRY_INDEX) {
		pthread_mutex_lock(&p->sync_lock);
		r = p->loose_pages;
		pthread_mutex_unlock(&p->sync_lock);
		if (r == 0)
			return 0;
	}
	return cbt_store_exists(p->inner, key);
}

static int ps_delete(void *data, const char *key)
{
	return cbt_store_delete(((struct ps *)data)->inner, key);
}

static int ps_list(void *data, const char *prefix, cbt_store_list_fn fn, void *userdata)
{
	return cbt_store_list(((struct ps *)data)->inner, prefix, fn, userdata);
}

static int ps_get_range(void *data, const char *key, uint64_t offset, size_t len, void *buf,
			size_t *ret_len, uint64_t *ret_size)
{
	return cbt_store_get_range(((struct ps *)data)->inner, key, offset, len, buf, ret_len,
				   ret_size);
}

static int ps_put_file(void *data, const char *key, int fd, uint64_t len, const char *md5_hex)
{
	return cbt_store_put_file(((struct ps *)data)->inner, key, fd, len, md5_hex);
}

static int ps_flush(void *data)
{
	struct ps *p = data;
	int r;

	if (p->pid != getpid())
		return cbt_store_flush(p->inner); /* nothing was packed in this process */
	pthread_mutex_lock(&p->lock);
	r = p->error;
	for (uint8_t t = 0; t < 2; t++)
		if (!r && p->open[t] && cbt_pack_writer_count(p->open[t]->w))
			r = pack_close(p, t);
	while (!p->error && (p->queued || p->uploading))
		pthread_cond_wait(&p->cond, &p->lock);
	if (!r)
		r = p->error;
	pthread_mutex_unlock(&p->lock);
	if (r < 0)
		return r;
	return cbt_store_flush(p->inner);
}

static int codec_init(struct cbt_pack_codec *pc)
{
	int r = cbt_compressor_new(CBT_COMPRESS_DEFAULT, CBT_COMPRESSION_LEVEL_DEFAULT,
				   &pc->compressor);

	return r < 0 ? r : cbt_hasher_new(NULL, 0, &pc->plain);
}

static void codec_clear_key(struct cbt_pack_codec *pc)
{
	pc->keyed = cbt_hasher_free(pc->keyed);
	pc->cipher = cbt_cipher_free(pc->cipher);
}

static void codec_clear(struct cbt_pack_codec *pc)
{
	codec_clear_key(pc);
	pc->compressor = cbt_compressor_free(pc->compressor);
	pc->plain = cbt_hasher_free(pc->plain);
}

static int codec_set_key(struct cbt_pack_codec *pc, const struct cbt_key *key)
{
	int r;

	codec_clear_key(pc);
	if (!key)
		return 0;
	r = cbt_hasher_new(key->id_key, CBT_KEY_SIZE, &pc->keyed);
	if (r >= 0)
		r = cbt_cipher_new(key, &pc->cipher);
	if (r < 0)
		codec_clear_key(pc);
	return r;
}

static void ps_free(void *data)
{
	struct ps *p = data;

	if (!p)
		return;
	stores_remove(p);
	if (p->pid && p->pid != getpid()) {
		/* Made by the process this one was forked from: not ours to stop or close. */
		p->n_threads = 0;
		p->cache = NULL;
	}
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	/* Not flushed: dropped (see the header). */
	while (p->queue_head) {
		struct open_pack *pk = p->queue_head;

		p->queue_head = pk->next;
		pack_drop(p, pk);
	}
	for (int t = 0; t < 2; t++)
		if (p->open[t])
			pack_drop(p, p->open[t]);
	cbt_store_free(p->inner);
	cbt_location_cache_free(p->cache);
	codec_clear(&p->codec);
	codec_clear(&p->sync_codec);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->sync_lock);
	pthread_cond_destroy(&p->cond);
	free(p->spool_dir);
	free(p->cache_path);
	free(p);
}

static const struct cbt_store_ops ps_ops = {
	.version = CBT_STORE_OPS_VERSION,
	.name = "pack", /* replaced by the inner store's */
	.put = ps_put,
	.get = ps_get,
	.exists = ps_exists,
	.delete = ps_delete,
	.list = ps_list,
	.free = ps_free,
	.flush = ps_flush,
	.get_range = ps_get_range,
	.put_file = ps_put_file,
};

/*
 * The open pack stores of this process. Before a fork (a job forks its
 * worker after opening its repository, and a restore has read its index
 * by then) each closes its cache: an SQLite connection carried across a
 * fork confuses the child's locks, so that another process may truncate
 * the WAL index the child has mapped (SIGBUS in the worker). The next
 * call reopens it, in the parent and in the child (ps_ready()).
 */
static pthread_mutex_t stores_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ps *stores;
static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;

static void before_fork(void)
{
	pthread_mutex_lock(&stores_lock);
	for (struct ps *p = stores; p; p = p->next_store) {
		if (p->pid != getpid() || !p->cache)
			continue;
		pthread_mutex_lock(&p->lock);
		/* Forks happen between backups: nothing is being uploaded then. */
		while (!p->error && (p->queued || p->uploading))
			pthread_cond_wait(&p->cond, &p->lock);
		pthread_mutex_lock(&p->sync_lock);
		cbt_location_cache_free(p->cache);
		p->cache = NULL;
		p->synced = false;
		atomic_store(&p->ready_pid, 0);
		pthread_mutex_unlock(&p->sync_lock);
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_unlock(&stores_lock);
}

static void register_fork_handler(void)
{
	(void)pthread_atfork(before_fork, NULL, NULL);
}

static void stores_add(struct ps *p)
{
	pthread_once(&fork_handler_once, register_fork_handler);
	pthread_mutex_lock(&stores_lock);
	p->next_store = stores;
	stores = p;
	pthread_mutex_unlock(&stores_lock);
}

static void stores_remove(struct ps *p)
{
	pthread_mutex_lock(&stores_lock);
	for (struct ps **pp = &stores; *pp; pp = &(*pp)->next_store)
		if (*pp == p) {
			*pp = p->next_store;
			break;
		}
	pthread_mutex_unlock(&stores_lock);
}

/*
 * Before the first content call of a process (and after a fork): the
 * cache opened by this process and the uploaders started. The first calls
 * may come from several pipeline workers at once: one process-wide lock
 * orders them (after a fork it is unlocked, as the forking thread did not
 * hold it), and the fast path is one atomic load once this process is
 * ready.
 */
static int ps_ready(struct ps *p)
{
	static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
	pid_t self = getpid();
	int r = 0;

	if (atomic_load(&p->ready_pid) == self)
		return 0;
	pthread_mutex_lock(&ready_lock);
	if (atomic_load(&p->ready_pid) == self)
		goto out;
	if (p->pid && p->pid != self) {
		/* Forked: the locks are made again (no thread here holds them). */
		pthread_mutex_init(&p->lock, NULL);
		pthread_mutex_init(&p->sync_lock, NULL);
		pthread_cond_init(&p->cond, NULL);
		p->n_threads = 0;
		p->cache = NULL; /* closed before the fork (before_fork()) */
	}
	p->pid = self;
	if (!p->cache) {
		p->synced = false;
		r = cbt_location_cache_open(p->cache_path, &p->cache, NULL);
		if (r < 0)
			goto out;
	}
	pthread_mutex_lock(&p->lock);
	while (r >= 0 && p->n_threads < p->uploaders) {
		r = -pthread_create(&p->threads[p->n_threads], NULL, uploader, p);
		if (r >= 0)
			p->n_threads++;
	}
	pthread_mutex_unlock(&p->lock);
	if (p->n_threads)
		r = 0;
	if (r >= 0)
		atomic_store(&p->ready_pid, self);
out:
	pthread_mutex_unlock(&ready_lock);
	return r;
}

int cbt_pack_store_new(struct cbt_store *inner, const struct cbt_pack_store_config *cfg,
		       struct cbt_store **ret, char **ret_error)
{
	struct ps *p;
	unsigned uploaders;
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (!inner || !cfg || !cfg->cache_path || !ret) {
		cbt_store_free(inner);
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		cbt_store_free(inner);
		return -ENOMEM;
	}
	p->inner = inner;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->sync_lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->ops = ps_ops;
	p->ops.name = cbt_store_name(inner);
	p->ops.flags = cbt_store_flags(inner);
	p->loose_pages = -1;
	p->pack_size = cfg->pack_size ? cfg->pack_size : CBT_PACK_SIZE_POSIX_DEFAULT;
	if (p->pack_size < CBT_PACK_SIZE_MIN)
		p->pack_size = CBT_PACK_SIZE_MIN;
	if (p->pack_size > CBT_PACK_SIZE_MAX)
		p->pack_size = CBT_PACK_SIZE_MAX;
	uploaders = cfg->uploaders ? cfg->uploaders : 2;
	if (uploaders > UPLOADERS_MAX)
		uploaders = UPLOADERS_MAX;
	p->uploaders = uploaders;
	p->queued_max = cfg->queued ? cfg->queued : uploaders;
	if ((cfg->spool_dir && !(p->spool_dir = strdup(cfg->spool_dir))) ||
	    !(p->cache_path = strdup(cfg->cache_path))) {
		ps_free(p);
		return -ENOMEM;
	}
	/*
	 * The cache is opened by the first call that needs it (ps_ready()),
	 * never here: a job opens its repository and then forks its worker,
	 * and an SQLite connection made before a fork confuses the child's
	 * locks (another process could then truncate the WAL index the child
	 * has mapped: SIGBUS).
	 */
	r = codec_init(&p->codec);
	if (r >= 0)
		r = codec_init(&p->sync_codec);
	if (r >= 0)
		r = cbt_store_new(&p->ops, p, ret);
	if (r >= 0)
		stores_add(p);
	if (r < 0) {
		if (ret_error && !*ret_error)
			*ret_error = cbt_strdup_printf("pack store: %s", strerror(-r));
		ps_free(p);
		return r;
	}
	return 0;
}

bool cbt_is_pack_store(const struct cbt_store *s)
{
	return s && cbt_store_ops(s)->put == ps_put;
}

int cbt_pack_store_sync(struct cbt_store *s, struct cbt_location_sync_stats *ret_stats,
			char **ret_error)
{
	if (!cbt_is_pack_store(s))
		return -EINVAL;
	return sync_now(cbt_store_data(s), ret_stats, ret_error);
}

struct cbt_location_cache *cbt_pack_store_cache(struct cbt_store *s)
{
	if (!cbt_is_pack_store(s) || ps_ready(cbt_store_data(s)) < 0)
		return NULL;
	return ((struct ps *)cbt_store_data(s))->cache;
}

struct cbt_store *cbt_pack_store_inner(struct cbt_store *s)
{
	return cbt_is_pack_store(s) ? ((struct ps *)cbt_store_data(s))->inner : s;
}

void cbt_pack_store_stats(struct cbt_store *s, struct cbt_pack_store_stats *ret)
{
	struct ps *p;

	memset(ret, 0, sizeof(*ret));
	if (!cbt_is_pack_store(s))
		return;
	p = cbt_store_data(s);
	pthread_mutex_lock(&p->lock);
	*ret = p->stats;
	pthread_mutex_unlock(&p->lock);
}

int cbt_pack_store_set_key(struct cbt_store *s, const struct cbt_key *key)
{
	struct ps *p;
	int r;

	if (!cbt_is_pack_store(s))
		return -EINVAL;
	p = cbt_store_data(s);
	pthread_mutex_lock(&p->lock);
	r = codec_set_key(&p->codec, key);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_lock(&p->sync_lock);
	if (r >= 0)
		r = codec_set_key(&p->sync_codec, key);
	p->synced = false; /* sealed packs skipped so far are read at the next sync */
	pthread_mutex_unlock(&p->sync_lock);
	return r;
}
