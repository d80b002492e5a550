/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/error.h"

static const char *const kind_names[_CBT_ERROR_KIND_MAX] = {
	[CBT_ERROR_NONE] = "none",	     [CBT_ERROR_SOURCE] = "source",
	[CBT_ERROR_STORE] = "store",	     [CBT_ERROR_INTEGRITY] = "integrity",
	[CBT_ERROR_CATALOG] = "catalog",     [CBT_ERROR_CONFIG] = "configuration",
	[CBT_ERROR_CANCELLED] = "cancelled", [CBT_ERROR_DESTINATION] = "destination",
	[CBT_ERROR_LOCAL] = "local",
};

const char *cbt_error_kind_to_string(enum cbt_error_kind kind)
{
	return (unsigned)kind < _CBT_ERROR_KIND_MAX ? kind_names[kind] : NULL;
}

int cbt_error_setv(struct cbt_error *e, enum cbt_error_kind kind, int r, const char *fmt,
		   va_list ap)
{
	if (!e || cbt_error_is_set(e))
		return r;
	e->kind = kind == CBT_ERROR_NONE ? CBT_ERROR_LOCAL : kind;
	e->errnum = r < 0 ? r : -EIO;
	if (vasprintf(&e->message, fmt, ap) < 0)
		e->message = NULL;
	return r;
}

int cbt_error_set(struct cbt_error *e, enum cbt_error_kind kind, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r = cbt_error_setv(e, kind, r, fmt, ap);
	va_end(ap);
	return r;
}

void cbt_error_clear(struct cbt_error *e)
{
	if (!e)
		return;
	free(e->message);
	*e = CBT_ERROR_INIT;
}

const char *cbt_error_message(const struct cbt_error *e)
{
	if (!e || !cbt_error_is_set(e))
		return "";
	return e->message ? e->message : strerror(-e->errnum);
}

enum cbt_error_kind cbt_error_kind_of_store(int r)
{
	switch (r) {
	case 0:
		return CBT_ERROR_NONE;
	case -ECANCELED:
		return CBT_ERROR_CANCELLED;
	/* Absent, or failing its checks (see repo/chunk-object.h). */
	case -ENOENT:
	case -ENOMSG:
	case -EPROTO:
	case -ENODATA:
	case -EUCLEAN:
	case -EOPNOTSUPP:
	case -EPROTONOSUPPORT:
	case -ERANGE:
	case -EXDEV:
	case -ENOKEY:
	case -EMSGSIZE:
	case -ENOBUFS:
	case -EBADMSG:
	case -EBADE:
	case -EILSEQ:
	case -EKEYREJECTED:
	case -EFBIG:
		return CBT_ERROR_INTEGRITY;
	default:
		return CBT_ERROR_STORE;
	}
}
