/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Catalog times: microseconds since the epoch, printed as cinder prints them. */
#include <stdio.h>
#include <time.h>

#include "cbtship/catalog/catalog-internal.h"

int64_t catalog_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void catalog_time_format(int64_t usec, char *buf, size_t len)
{
	time_t sec = (time_t)(usec / 1000000);
	long frac = (long)(usec % 1000000);
	struct tm tm;
	char date[24];

	if (frac < 0) {
		frac += 1000000;
		sec--;
	}
	if (!gmtime_r(&sec, &tm) || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, len, "%s", "");
		return;
	}
	snprintf(buf, len, "%s.%06ld", date, frac);
}
