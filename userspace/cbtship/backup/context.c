/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cbtship/backup/context.h"
#include "cbtship/state-dir.h"

static struct cbt_config *config;

void cbtship_config_set(struct cbt_config *c)
{
	cbt_config_free(config);
	config = c;
}

struct cbt_config *cbtship_config_mutable(void)
{
	if (!config && cbt_config_new(&config) < 0)
		config = NULL;
	return config;
}

const struct cbt_config *cbtship_config(void)
{
	return cbtship_config_mutable();
}

int cbtship_catalog_open(const char *command, struct catalog **ret)
{
	const struct cbt_config *cfg = cbtship_config();
	const char *path = getenv(CBTSHIP_CATALOG_ENV);
	char buf[PATH_MAX];
	char *err = NULL;
	int r;

	if ((!path || !*path) && cfg && cfg->catalog)
		path = cfg->catalog;
	if (!path || !*path) {
		snprintf(buf, sizeof(buf), "%s/catalog.db", cbtship_state_dir());
		path = buf;
	}
	r = catalog_open(path, ret, &err);
	if (r < 0) {
		fprintf(stderr, "cbtship %s: catalog %s: %s\n", command, path,
			err ? err : strerror(-r));
		free(err);
		return r;
	}
	/*
	 * Projects without limits of their own (quota-update) get the
	 * configuration's quota_backups and quota_backup_gigabytes when it
	 * sets them, and no limit otherwise.
	 */
	catalog_quota_set_defaults(
		*ret,
		cfg && strncmp(cbt_config_origin(cfg, "quota_backups"), "default", 7) != 0
			? cfg->quota_backups
			: CATALOG_UNLIMITED,
		cfg && strncmp(cbt_config_origin(cfg, "quota_backup_gigabytes"), "default", 7) != 0
			? cfg->quota_backup_gigabytes
			: CATALOG_UNLIMITED);
	if (cfg && cfg->host && catalog_set_host(*ret, cfg->host) < 0) {
		fprintf(stderr, "cbtship %s: %s\n", command, catalog_error(*ret));
		*ret = catalog_free(*ret);
		return -EINVAL;
	}
	return 0;
}

static const char *project_set;

void cbtship_project_set(const char *project)
{
	project_set = project;
}

const char *cbtship_project(void)
{
	const char *p = project_set ? project_set : getenv(CBTSHIP_PROJECT_ENV);

	return p && *p ? p : CBTSHIP_PROJECT_DEFAULT;
}

void cbtship_log(const char *fmt, ...)
{
	char path[PATH_MAX], stamp[64];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/log/cbtship.log", cbtship_state_dir()) >=
		    (int)sizeof(path) ||
	    cbtship_make_parent_dirs(path) < 0)
		return;
	f = fopen(path, "ae");
	if (!f)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "%s.%06ldZ [%d] ", stamp, ts.tv_nsec / 1000, (int)getpid());
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

static bool progress_drawn;

void cbtship_progress(const char *what, uint64_t done, uint64_t total, double seconds)
{
	char a[32], b[32];

	if (!isatty(STDERR_FILENO))
		return;
	fprintf(stderr, "\r%s: %s of %s (%3.0f%%), %.0f s  ", what,
		cbtship_bytes(done, a, sizeof(a)), cbtship_bytes(total, b, sizeof(b)),
		total ? 100.0 * (double)done / (double)total : 100.0, seconds);
	progress_drawn = true;
}

void cbtship_progress_done(void)
{
	if (progress_drawn)
		fputc('\n', stderr);
	progress_drawn = false;
}

double cbtship_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *cbtship_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

enum cbt_service cbtship_configured_service(void)
{
	enum cbt_service s = cbtship_config()->backup_driver;

	return (unsigned)s < _CBT_SERVICE_MAX ? s : CBT_SERVICE_POSIX;
}
