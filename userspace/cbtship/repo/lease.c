/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Leases in the store (see lease.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cbtship/backup/context.h"
#include "cbtship/catalog/catalog.h"
#include "cbtship/repo/lease.h"

#define LEASE_MAX_BYTES 4096

struct cbt_lease {
	struct cbt_store *store;
	enum cbt_lease_kind kind;
	struct cbt_lease_times times;
	char key[128];
	char *backup_id;
	int64_t created_at;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	double last_ok; /* monotonic seconds of the last successful write */
};

void cbt_lease_times_configured(struct cbt_lease_times *ret)
{
	const struct cbt_config *cfg = cbtship_config();

	ret->refresh = cfg && cfg->backup_lease_refresh_interval > 0
			       ? (unsigned)cfg->backup_lease_refresh_interval
			       : 30;
	ret->stale = cfg && cfg->backup_lease_stale_time > 0
			     ? (unsigned)cfg->backup_lease_stale_time
			     : 300;
	ret->settle = cfg && cfg->backup_collect_settle_time >= 0
			      ? (unsigned)cfg->backup_collect_settle_time
			      : 5;
	/* A lease must be refreshed several times before it can go stale. */
	if (ret->stale < 3 * ret->refresh)
		ret->stale = 3 * ret->refresh;
}

static const char *kind_name(enum cbt_lease_kind kind)
{
	return kind == CBT_LEASE_GC ? "gc" : "backup";
}

static double monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This kernel's boot_id, "" when unknown. */
static const char *boot_id(void)
{
	static char id[40];
	static bool read_once;

	if (!read_once) {
		FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

		if (f) {
			if (!fgets(id, sizeof(id), f))
				id[0] = '\0';
			id[strcspn(id, "\n")] = '\0';
			fclose(f);
		}
		read_once = true;
	}
	return id;
}

static int write_lease(struct cbt_lease *l)
{
	const struct cbt_config *cfg = cbtship_config();
	_cleanup_(json_decrefp) json_t *o = NULL;
	_cleanup_(freep) char *text = NULL;
	int r;

	o = json_pack("{s:i, s:s, s:s?, s:I, s:s, s:s?, s:I, s:I, s:i, s:i}", "version", 1, "kind",
		      kind_name(l->kind), "host", cfg ? cfg->host : NULL, "pid",
		      (json_int_t)getpid(), "boot_id", boot_id(), "backup_id", l->backup_id,
		      "created_at", (json_int_t)l->created_at, "refreshed_at",
		      (json_int_t)(int64_t)time(NULL), "refresh_interval", (int)l->times.refresh,
		      "stale_time", (int)l->times.stale);
	if (!o)
		return -ENOMEM;
	text = json_dumps(o, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	r = cbt_store_put(l->store, l->key, text, strlen(text));
	if (r >= 0)
		r = cbt_store_flush(l->store);
	if (r >= 0) {
		pthread_mutex_lock(&l->lock);
		l->last_ok = monotonic();
		pthread_mutex_unlock(&l->lock);
	}
	return r;
}

static void *refresh_thread(void *userdata)
{
	struct cbt_lease *l = userdata;

	pthread_mutex_lock(&l->lock);
	while (!l->stop) {
		struct timespec until;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += l->times.refresh;
		while (!l->stop && pthread_cond_timedwait(&l->cond, &l->lock, &until) != ETIMEDOUT)
			;
		if (l->stop)
			break;
		pthread_mutex_unlock(&l->lock);
		r = write_lease(l);
		if (r < 0)
			cbtship_log("lease %s: refresh failed: %s", l->key, strerror(-r));
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

static void lease_free(struct cbt_lease *l)
{
	if (!l)
		return;
	cbt_store_free(l->store);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l->backup_id);
	free(l);
}

int cbt_lease_take(struct cbt_store *store, enum cbt_lease_kind kind, const char *backup_id,
		   const struct cbt_lease_times *times, struct cbt_lease **ret, char **ret_error)
{
	struct cbt_lease *l;
	pthread_condattr_t ca;
	sigset_t all, old;
	char uuid[CATALOG_ID_MAX];
	int r;

	if (ret_error)
		*ret_error = NULL;
	l = calloc(1, sizeof(*l));
	if (!l) {
		cbt_store_free(store);
		return -ENOMEM;
	}
	l->store = store;
	l->kind = kind;
	l->times = *times;
	l->created_at = (int64_t)time(NULL);
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((backup_id && !(l->backup_id = strdup(backup_id))) || catalog_id_new(uuid) < 0) {
		lease_free(l);
		return -ENOMEM;
	}
	snprintf(l->key, sizeof(l->key), CBT_LEASE_KEY_PREFIX "%s-%s.json", kind_name(kind), uuid);
	r = write_lease(l);
	if (r < 0) {
		if (ret_error &&
		    asprintf(ret_error, "writing the lease %s: %s", l->key, strerror(-r)) < 0)
			*ret_error = NULL;
		lease_free(l);
		return r;
	}
	/* The refresher takes no signal: the process's handlers stay where they are. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&l->thread, NULL, refresh_thread, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		(void)cbt_store_delete(l->store, l->key);
		if (ret_error &&
		    asprintf(ret_error, "starting the lease's refresher: %s", strerror(-r)) < 0)
			*ret_error = NULL;
		lease_free(l);
		return r;
	}
	l->thread_started = true;
	*ret = l;
	return 0;
}

struct cbt_lease *cbt_lease_release(struct cbt_lease *l)
{
	int r;

	if (!l)
		return NULL;
	if (l->thread_started) {
		pthread_mutex_lock(&l->lock);
		l->stop = true;
		pthread_cond_signal(&l->cond);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->thread, NULL);
	}
	r = cbt_store_delete(l->store, l->key);
	if (r >= 0)
		r = cbt_store_flush(l->store);
	if (r < 0 && r != -ENOENT)
		cbtship_log("lease %s: cannot remove it (%s): it goes stale in %u s", l->key,
			    strerror(-r), l->times.stale);
	lease_free(l);
	return NULL;
}

const char *cbt_lease_key(const struct cbt_lease *l)
{
	return l->key;
}

int64_t cbt_lease_created_at(const struct cbt_lease *l)
{
	return l->created_at;
}

bool cbt_lease_older(int64_t created, const char *key, const struct cbt_lease *l)
{
	return created < l->created_at || (created == l->created_at && strcmp(key, l->key) < 0);
}

struct cbt_store *cbt_lease_store(const struct cbt_lease *l)
{
	return l->store;
}

bool cbt_lease_held(struct cbt_lease *l)
{
	double age;

	pthread_mutex_lock(&l->lock);
	age = monotonic() - l->last_ok;
	pthread_mutex_unlock(&l->lock);
	return age + 2.0 * l->times.refresh < (double)l->times.stale;
}

/* A parsed lease: is it live? Describes it in desc. */
static bool lease_live(json_t *o, const struct cbt_lease_times *times, const char *key, char *desc,
		       size_t len, int *ret_kind, int64_t *ret_created)
{
	const char *kind = NULL, *host = NULL, *boot = NULL, *backup = NULL;
	json_int_t pid = 0, refreshed = 0, stale = 0;
	int64_t now = (int64_t)time(NULL), limit;

	if (json_unpack(o, "{s:s, s:I, s:I}", "kind", &kind, "pid", &pid, "refreshed_at",
			&refreshed) < 0) {
		snprintf(desc, len, "%s (unreadable: remove it by hand if no backup runs)", key);
		*ret_kind = CBT_LEASE_BACKUP;
		return true;
	}
	host = json_string_value(json_object_get(o, "host"));
	boot = json_string_value(json_object_get(o, "boot_id"));
	backup = json_string_value(json_object_get(o, "backup_id"));
	*ret_created = json_is_integer(json_object_get(o, "created_at"))
			       ? (int64_t)json_integer_value(json_object_get(o, "created_at"))
			       : 0;
	if (json_is_integer(json_object_get(o, "stale_time")))
		stale = json_integer_value(json_object_get(o, "stale_time"));
	*ret_kind = strcmp(kind, "gc") == 0 ? CBT_LEASE_GC : CBT_LEASE_BACKUP;
	limit = stale > (json_int_t)times->stale ? (int64_t)stale : (int64_t)times->stale;
	snprintf(desc, len, "%s lease of %s%s%s on host %s (pid %lld, refreshed %lld s ago)", kind,
		 backup ? "backup " : "", backup ? backup : "", backup ? "" : "a collection",
		 host ? host : "?", (long long)pid, (long long)(now - refreshed));
	if (now - refreshed > limit)
		return false;
	/* This machine's process, gone: stale at once. */
	if (boot && *boot && strcmp(boot, boot_id()) == 0 && pid > 0 && kill((pid_t)pid, 0) < 0 &&
	    errno == ESRCH)
		return false;
	return true;
}

struct scan {
	struct cbt_store *store;
	const char *skip;
	const struct cbt_lease_times *times;
	struct cbt_lease_scan *ret;
	bool remove_stale;
	unsigned removed;
};

static int scan_one(const char *key, void *userdata)
{
	struct scan *s = userdata;
	_cleanup_(json_decrefp) json_t *o = NULL;
	_cleanup_(freep) void *buf = NULL;
	size_t len = 0;
	int64_t created = 0;
	char desc[256];
	int kind, r;

	if (s->skip && strcmp(key, s->skip) == 0)
		return 0;
	r = cbt_store_get(s->store, key, LEASE_MAX_BYTES, &buf, &len);
	if (r == -ENOENT)
		return 0; /* released meanwhile */
	if (r < 0 && r != -EFBIG)
		return r;
	o = r < 0 ? NULL : json_loadb(buf, len, 0, NULL);
	if (!o)
		o = json_object();
	if (!o)
		return -ENOMEM;
	if (lease_live(o, s->times, key, desc, sizeof(desc), &kind, &created)) {
		if (kind == CBT_LEASE_GC) {
			if (!s->ret->gcs++)
				snprintf(s->ret->gc_holder, sizeof(s->ret->gc_holder), "%s", desc);
			if (s->ret->gcs == 1 || created < s->ret->oldest_gc_created ||
			    (created == s->ret->oldest_gc_created &&
			     strcmp(key, s->ret->oldest_gc_key) < 0)) {
				s->ret->oldest_gc_created = created;
				snprintf(s->ret->oldest_gc_key, sizeof(s->ret->oldest_gc_key), "%s",
					 key);
				snprintf(s->ret->oldest_gc_holder, sizeof(s->ret->oldest_gc_holder),
					 "%s", desc);
			}
		} else if (!s->ret->backups++)
			snprintf(s->ret->holder, sizeof(s->ret->holder), "%s", desc);
		return 0;
	}
	s->ret->stale++;
	if (s->remove_stale && cbt_store_delete(s->store, key) >= 0) {
		cbtship_log("removed the stale %s", desc);
		s->removed++;
	}
	return 0;
}

int cbt_lease_scan(struct cbt_store *store, const char *skip_key,
		   const struct cbt_lease_times *times, struct cbt_lease_scan *ret)
{
	struct scan s = { .store = store, .skip = skip_key, .times = times, .ret = ret };

	memset(ret, 0, sizeof(*ret));
	return cbt_store_list(store, CBT_LEASE_KEY_PREFIX, scan_one, &s);
}

unsigned cbt_lease_remove_stale(struct cbt_store *store, const char *skip_key,
				const struct cbt_lease_times *times)
{
	struct cbt_lease_scan ret;
	struct scan s = {
		.store = store, .skip = skip_key, .times = times, .ret = &ret, .remove_stale = true
	};

	memset(&ret, 0, sizeof(ret));
	(void)cbt_store_list(store, CBT_LEASE_KEY_PREFIX, scan_one, &s);
	if (s.removed)
		(void)cbt_store_flush(store);
	return s.removed;
}
