/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The first error of a parallel run, as one line for the operator: the
 * workers of a pipeline race to fail, the first message wins. Also the
 * monotonic clock the producers tick with.
 */
#ifndef CBTSHIP_PIPELINE_FIRST_ERROR_H
#define CBTSHIP_PIPELINE_FIRST_ERROR_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cbtship/error.h"

struct cbt_first_error {
	pthread_mutex_t *lock; /* the caller's */
	char *buf;	       /* may be NULL */
	size_t len;
	struct cbt_error *error; /* may be NULL; else kept there (kind and all), not in buf */
	bool set;
};

/* Keep the message unless one was kept already; returns r. */
int cbt_first_error_set(struct cbt_first_error *e, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, with what failed (kept in e->error). */
int cbt_first_error_set_kind(struct cbt_first_error *e, enum cbt_error_kind kind, int r,
			     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t cbt_monotonic_ms(void);

#endif
