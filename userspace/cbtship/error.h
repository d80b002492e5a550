/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The error of the driver path: an errno, what failed (its kind), and one
 * line for the operator. Decisions (is the backup damaged, was it
 * cancelled, may it be retried) are taken on the kind, never on the
 * message's text; the message carries the detail (a store's HTTP status
 * and body excerpt, a chunk id and its position).
 *
 *	_cleanup_(cbt_error_clear) struct cbt_error err = CBT_ERROR_INIT;
 *
 *	r = cbt_error_set(&err, CBT_ERROR_STORE, -ETIMEDOUT, "GET %s: timed out", url);
 *
 * The first cbt_error_set() wins: later calls only return their errno, so
 * the error a run reports is the one that started its failure.
 */
#ifndef CBTSHIP_ERROR_H
#define CBTSHIP_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

enum cbt_error_kind {
	CBT_ERROR_NONE,	       /* no error */
	CBT_ERROR_SOURCE,      /* the volume, its snapshot or its dirty map */
	CBT_ERROR_STORE,       /* the back end's transport: timeout, 5xx, I/O, space */
	CBT_ERROR_INTEGRITY,   /* an object absent or failing its checks: the backup is damaged */
	CBT_ERROR_CATALOG,     /* the SQLite catalog */
	CBT_ERROR_CONFIG,      /* the configuration or the command's arguments */
	CBT_ERROR_CANCELLED,   /* the operator cancelled it */
	CBT_ERROR_DESTINATION, /* the restore's destination (a write, a flush) */
	CBT_ERROR_LOCAL,       /* this host: memory, threads, temporary tables */
	_CBT_ERROR_KIND_MAX,
};

struct cbt_error {
	int errnum; /* negative errno; 0 when none */
	enum cbt_error_kind kind;
	char *message; /* one line, malloc()ed; NULL when none */
};

#define CBT_ERROR_INIT ((struct cbt_error){ 0 })

/* "source", "store", "integrity", ...; NULL when out of range. */
const char *cbt_error_kind_to_string(enum cbt_error_kind kind);

/*
 * Set e (unless it holds an error already) to kind, r and the message;
 * returns r (negative), so that "return cbt_error_set(...)" reads well.
 * Out of memory for the message keeps kind and errno, with no message.
 */
int cbt_error_set(struct cbt_error *e, enum cbt_error_kind kind, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

int cbt_error_setv(struct cbt_error *e, enum cbt_error_kind kind, int r, const char *fmt,
		   va_list ap) __attribute__((format(printf, 4, 0)));

/* Free the message and reset e to no error. _cleanup_ friendly. */
void cbt_error_clear(struct cbt_error *e);

/* The message, or strerror of the errno when there is none; "" for no error. */
const char *cbt_error_message(const struct cbt_error *e);

static inline bool cbt_error_is_set(const struct cbt_error *e)
{
	return e->kind != CBT_ERROR_NONE;
}

/*
 * The kind of an errno a store (or a chunk or index read from it)
 * returned: -ECANCELED is cancelled; an object absent (-ENOENT: the pack
 * store answers it only after a listing confirmed it) or failing its
 * checks (chunk-object.h's errnos) is integrity; anything else (a
 * timeout, a reset connection, a 5xx, ENOSPC, EIO) is the store's
 * transport.
 */
enum cbt_error_kind cbt_error_kind_of_store(int r);

#endif
