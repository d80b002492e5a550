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

int cbtship_catalog_open(const char *command, struct catalog **ret)
{
	const char *path = getenv(CBTSHIP_CATALOG_ENV);
	char buf[PATH_MAX];
	char *err = NULL;
	int r;

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
	/* Until quotas are configured (quota-update), no limit applies. */
	catalog_quota_set_defaults(*ret, CATALOG_UNLIMITED, CATALOG_UNLIMITED);
	return 0;
}

const char *cbtship_project(void)
{
	const char *p = getenv(CBTSHIP_PROJECT_ENV);

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
