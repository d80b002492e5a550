/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Thin helpers over libdevmapper tasks, with negative errno results. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "libcbt/libcbt-internal.h"

static void setup_once(void)
{
	/*
	 * Without udev (the test guest, rescue systems) libdevmapper must
	 * make the /dev/mapper nodes itself and not wait for udev cookies.
	 */
	if (access("/run/udev/control", F_OK) < 0)
		setenv("DM_DISABLE_UDEV", "1", 0);
	dm_udev_set_sync_support(0);
}

struct dm_task *cbt_dm_task_new(int type, const char *name)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct dm_task *dmt;

	pthread_once(&once, setup_once);
	dmt = dm_task_create(type);
	if (!dmt)
		return NULL;
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

int cbt_dm_task_new_error(void)
{
	char version[64];

	if (access("/dev/mapper/control", R_OK | W_OK) < 0 && errno != EACCES)
		return -ENODEV;
	if (!dm_driver_version(version, sizeof(version)))
		return -ENODEV;
	return -ENOMEM;
}

int cbt_dm_task_run(struct dm_task *dmt)
{
	int r;

	if (dm_task_run(dmt))
		return 0;
	r = dm_task_get_errno(dmt);
	return r > 0 ? -r : -EIO;
}

void cbt_dm_table_done(struct cbt_dm_table *table)
{
	for (size_t i = 0; i < table->n; i++) {
		free(table->targets[i].type);
		free(table->targets[i].params);
	}
	free(table->targets);
	table->targets = NULL;
	table->n = 0;
}

uint64_t cbt_dm_table_sectors(const struct cbt_dm_table *table)
{
	uint64_t n = 0;

	for (size_t i = 0; i < table->n; i++)
		n += table->targets[i].length;
	return n;
}

int cbt_dm_get_info(const char *name, struct dm_info *ret)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	int r;

	dmt = cbt_dm_task_new(DM_DEVICE_INFO, name);
	if (!dmt)
		return cbt_dm_task_new_error();
	r = cbt_dm_task_run(dmt);
	if (r < 0)
		return r;
	if (!dm_task_get_info(dmt, ret))
		return -EIO;
	return ret->exists ? 0 : -ENXIO;
}

static int table_append(struct cbt_dm_table *table, uint64_t start, uint64_t length,
			const char *type, const char *params)
{
	struct cbt_dm_target *t;

	t = realloc(table->targets, (table->n + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	table->targets = t;
	t = &table->targets[table->n];
	t->start = start;
	t->length = length;
	t->type = strdup(type);
	t->params = strdup(params ? params : "");
	if (!t->type || !t->params) {
		free(t->type);
		free(t->params);
		return -ENOMEM;
	}
	table->n++;
	return 0;
}

/* Read the table (DM_DEVICE_TABLE) or the status (DM_DEVICE_STATUS). */
static int get_targets(int type, const char *name, struct cbt_dm_table *ret)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	struct cbt_dm_table table = { 0 };
	struct dm_info info;
	void *next = NULL;
	int r;

	dmt = cbt_dm_task_new(type, name);
	if (!dmt)
		return cbt_dm_task_new_error();
	r = cbt_dm_task_run(dmt);
	if (r < 0)
		return r;
	if (!dm_task_get_info(dmt, &info))
		return -EIO;
	if (!info.exists)
		return -ENXIO;
	do {
		uint64_t start, length;
		char *ttype, *params;

		next = dm_get_next_target(dmt, next, &start, &length, &ttype, &params);
		if (!ttype)
			break;
		r = table_append(&table, start, length, ttype, params);
		if (r < 0) {
			cbt_dm_table_done(&table);
			return r;
		}
	} while (next);
	*ret = table;
	return 0;
}

int cbt_dm_get_table(const char *name, struct cbt_dm_table *ret)
{
	return get_targets(DM_DEVICE_TABLE, name, ret);
}

int cbt_dm_get_status_targets(const char *name, struct cbt_dm_table *ret)
{
	return get_targets(DM_DEVICE_STATUS, name, ret);
}

int cbt_dm_task_add_table(struct dm_task *dmt, const struct cbt_dm_table *table)
{
	for (size_t i = 0; i < table->n; i++) {
		const struct cbt_dm_target *t = &table->targets[i];

		if (!dm_task_add_target(dmt, t->start, t->length, t->type, t->params))
			return -ENOMEM;
	}
	return 0;
}

int cbt_dm_create_uuid(const char *name, const char *uuid, const struct cbt_dm_table *table)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	int r;

	dmt = cbt_dm_task_new(DM_DEVICE_CREATE, name);
	if (!dmt)
		return cbt_dm_task_new_error();
	if (uuid && !dm_task_set_uuid(dmt, uuid))
		return -ENOMEM;
	r = cbt_dm_task_add_table(dmt, table);
	if (r < 0)
		return r;
	r = cbt_dm_task_run(dmt);
	dm_task_update_nodes();
	return r;
}

int cbt_dm_create(const char *name, const struct cbt_dm_table *table)
{
	return cbt_dm_create_uuid(name, NULL, table);
}

int cbt_dm_get_uuid(const char *name, char *buf, size_t len)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	struct dm_info info;
	const char *uuid;
	int r;

	dmt = cbt_dm_task_new(DM_DEVICE_INFO, name);
	if (!dmt)
		return cbt_dm_task_new_error();
	r = cbt_dm_task_run(dmt);
	if (r < 0)
		return r;
	if (!dm_task_get_info(dmt, &info))
		return -EIO;
	if (!info.exists)
		return -ENXIO;
	uuid = dm_task_get_uuid(dmt);
	if (!uuid)
		uuid = "";
	if (strlen(uuid) >= len)
		return -ENOBUFS;
	strcpy(buf, uuid);
	return 0;
}

int cbt_dm_get_devno(const char *name, char *buf, size_t len)
{
	struct dm_info info;
	int r = cbt_dm_get_info(name, &info);

	if (r < 0)
		return r;
	return cbt_format_devno(info.major, info.minor, buf, len);
}

int cbt_dm_table_one(const char *type, uint64_t sectors, const char *params,
		     struct cbt_dm_table *ret)
{
	ret->n = 0;
	ret->targets = NULL;
	return table_append(ret, 0, sectors, type, params);
}

static int simple(int type, const char *name)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	int r;

	dmt = cbt_dm_task_new(type, name);
	if (!dmt)
		return cbt_dm_task_new_error();
	r = cbt_dm_task_run(dmt);
	if (type == DM_DEVICE_RESUME || type == DM_DEVICE_REMOVE)
		dm_task_update_nodes();
	return r;
}

void cbt_signals_hold(struct cbt_signals *s)
{
	/* Faults are synchronous: blocking them would hide a crash. */
	static const int synchronous[] = {
		SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS
	};
	sigset_t all;

	if (s->held)
		return;
	sigfillset(&all);
	for (size_t i = 0; i < ELEMENTSOF(synchronous); i++)
		sigdelset(&all, synchronous[i]);
	s->held = pthread_sigmask(SIG_BLOCK, &all, &s->old) == 0;
}

void cbt_signals_release(struct cbt_signals *s)
{
	if (!s->held)
		return;
	s->held = false;
	(void)pthread_sigmask(SIG_SETMASK, &s->old, NULL);
}

int cbt_dm_suspend(const char *name)
{
	return simple(DM_DEVICE_SUSPEND, name);
}

int cbt_dm_resume(const char *name)
{
	return simple(DM_DEVICE_RESUME, name);
}

int cbt_dm_remove(const char *name)
{
	return simple(DM_DEVICE_REMOVE, name);
}

int cbt_dm_remove_retry(const char *name)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	int r;

	dmt = cbt_dm_task_new(DM_DEVICE_REMOVE, name);
	if (!dmt)
		return cbt_dm_task_new_error();
	/* A udev probe may hold it open for a moment. */
	dm_task_retry_remove(dmt);
	r = cbt_dm_task_run(dmt);
	dm_task_update_nodes();
	return r;
}

int cbt_dm_clear(const char *name)
{
	return simple(DM_DEVICE_CLEAR, name);
}

int cbt_dm_reload(const char *name, const struct cbt_dm_table *table)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	int r;

	dmt = cbt_dm_task_new(DM_DEVICE_RELOAD, name);
	if (!dmt)
		return cbt_dm_task_new_error();
	r = cbt_dm_task_add_table(dmt, table);
	if (r < 0)
		return r;
	return cbt_dm_task_run(dmt);
}

int cbt_dm_name_of(uint32_t major, uint32_t minor, char *buf, size_t len)
{
	_cleanup_(dm_task_destroyp) struct dm_task *dmt = NULL;
	struct dm_info info;
	const char *name;
	int r;

	if (!dm_is_dm_major(major))
		return -ENXIO;
	dmt = cbt_dm_task_new(DM_DEVICE_INFO, NULL);
	if (!dmt)
		return cbt_dm_task_new_error();
	if (!dm_task_set_major(dmt, (int)major) || !dm_task_set_minor(dmt, (int)minor))
		return -ENOMEM;
	r = cbt_dm_task_run(dmt);
	if (r < 0)
		return r;
	if (!dm_task_get_info(dmt, &info) || !info.exists)
		return -ENXIO;
	name = dm_task_get_name(dmt);
	if (!name || strlen(name) >= len)
		return -ENOBUFS;
	strcpy(buf, name);
	return 0;
}
