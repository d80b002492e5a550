/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "cbtship/pipeline/first-error.h"

int cbt_first_error_set(struct cbt_first_error *e, int r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(e->lock);
	if (!e->set && e->buf && e->len) {
		va_start(ap, fmt);
		vsnprintf(e->buf, e->len, fmt, ap);
		va_end(ap);
		e->set = true;
	}
	pthread_mutex_unlock(e->lock);
	return r;
}

uint64_t cbt_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
