/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "cbtship/pipeline/first-error.h"

static void keep(struct cbt_first_error *e, enum cbt_error_kind kind, int r, const char *fmt,
		 va_list ap)
{
	pthread_mutex_lock(e->lock);
	if (!e->set && e->error) {
		cbt_error_setv(e->error, kind, r, fmt, ap);
		e->set = true;
	} else if (!e->set && e->buf && e->len) {
		vsnprintf(e->buf, e->len, fmt, ap);
		e->set = true;
	}
	pthread_mutex_unlock(e->lock);
}

int cbt_first_error_set(struct cbt_first_error *e, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	keep(e, cbt_error_kind_of_store(r), r, fmt, ap);
	va_end(ap);
	return r;
}

int cbt_first_error_set_kind(struct cbt_first_error *e, enum cbt_error_kind kind, int r,
			     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	keep(e, kind, r, fmt, ap);
	va_end(ap);
	return r;
}

uint64_t cbt_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
