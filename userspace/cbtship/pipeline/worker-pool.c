/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A fixed set of worker threads fed through a bounded ring of items. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/pipeline/worker-pool.h"

#define WORKERS_MAX 64

struct worker {
	struct cbt_worker_pool *pool;
	void *state;
	pthread_t thread;
};

struct cbt_worker_pool {
	pthread_mutex_t lock;
	pthread_cond_t not_empty; /* an item was queued, or closing */
	pthread_cond_t not_full;  /* an item was taken, or an error */
	cbt_worker_fn fn;
	void *shared;
	size_t item_size, depth;
	size_t head, count; /* ring: items [head, head + count) mod depth */
	unsigned char *ring;
	bool closing; /* no more submits: workers end when the ring is empty */
	bool finished;
	int error;
	unsigned nr_workers, started;
	struct worker workers[];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct cbt_worker_pool *p = w->pool;
	unsigned char *item = malloc(p->item_size ? p->item_size : 1);
	int r;

	pthread_mutex_lock(&p->lock);
	if (!item && !p->error)
		p->error = -ENOMEM;
	for (;;) {
		while (!p->count && !p->closing && !p->error)
			pthread_cond_wait(&p->not_empty, &p->lock);
		if (p->error || !p->count)
			break;
		memcpy(item, p->ring + p->head * p->item_size, p->item_size);
		p->head = (p->head + 1) % p->depth;
		p->count--;
		pthread_cond_signal(&p->not_full);
		pthread_mutex_unlock(&p->lock);

		r = p->fn(w->state, item, p->shared);

		pthread_mutex_lock(&p->lock);
		if (r < 0 && !p->error) {
			p->error = r;
			p->count = 0;
			pthread_cond_broadcast(&p->not_full);
			pthread_cond_broadcast(&p->not_empty);
		}
	}
	pthread_mutex_unlock(&p->lock);
	free(item);
	return NULL;
}

int cbt_worker_pool_new(unsigned workers, size_t item_size, size_t queue_depth, cbt_worker_fn fn,
			void **worker_state, void *shared, struct cbt_worker_pool **ret)
{
	struct cbt_worker_pool *p;
	int r;

	if (!workers || workers > WORKERS_MAX || !fn || !ret)
		return -EINVAL;
	if (!queue_depth)
		queue_depth = 2 * (size_t)workers;
	p = calloc(1, sizeof(*p) + workers * sizeof(p->workers[0]));
	if (!p)
		return -ENOMEM;
	p->ring = calloc(queue_depth, item_size ? item_size : 1);
	if (!p->ring) {
		free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->not_empty, NULL);
	pthread_cond_init(&p->not_full, NULL);
	p->fn = fn;
	p->shared = shared;
	p->item_size = item_size;
	p->depth = queue_depth;
	p->nr_workers = workers;
	for (unsigned i = 0; i < workers; i++) {
		p->workers[i].pool = p;
		p->workers[i].state = worker_state ? worker_state[i] : NULL;
		r = pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]);
		if (r) {
			cbt_worker_pool_cancel(p, -r);
			cbt_worker_pool_free(p);
			return -r;
		}
		p->started++;
	}
	*ret = p;
	return 0;
}

int cbt_worker_pool_submit(struct cbt_worker_pool *p, const void *item)
{
	int r;

	pthread_mutex_lock(&p->lock);
	while (p->count == p->depth && !p->error)
		pthread_cond_wait(&p->not_full, &p->lock);
	r = p->error;
	if (!r) {
		memcpy(p->ring + ((p->head + p->count) % p->depth) * p->item_size, item,
		       p->item_size);
		p->count++;
		pthread_cond_signal(&p->not_empty);
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

void cbt_worker_pool_cancel(struct cbt_worker_pool *p, int error)
{
	pthread_mutex_lock(&p->lock);
	if (!p->error)
		p->error = error < 0 ? error : -ECANCELED;
	p->count = 0;
	pthread_cond_broadcast(&p->not_full);
	pthread_cond_broadcast(&p->not_empty);
	pthread_mutex_unlock(&p->lock);
}

int cbt_worker_pool_error(struct cbt_worker_pool *p)
{
	int r;

	pthread_mutex_lock(&p->lock);
	r = p->error;
	pthread_mutex_unlock(&p->lock);
	return r;
}

int cbt_worker_pool_finish(struct cbt_worker_pool *p)
{
	if (!p->finished) {
		pthread_mutex_lock(&p->lock);
		p->closing = true;
		pthread_cond_broadcast(&p->not_empty);
		pthread_mutex_unlock(&p->lock);
		for (unsigned i = 0; i < p->started; i++)
			pthread_join(p->workers[i].thread, NULL);
		p->finished = true;
	}
	return p->error;
}

struct cbt_worker_pool *cbt_worker_pool_free(struct cbt_worker_pool *p)
{
	if (!p)
		return NULL;
	(void)cbt_worker_pool_finish(p);
	pthread_cond_destroy(&p->not_full);
	pthread_cond_destroy(&p->not_empty);
	pthread_mutex_destroy(&p->lock);
	free(p->ring);
	free(p);
	return NULL;
}
