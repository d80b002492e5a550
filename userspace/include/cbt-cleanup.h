/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scope-bound cleanup, as in systemd: a variable declared
 * `_cleanup_(freep) char *s = NULL;` is freed when it goes out of scope.
 * TAKE_PTR() hands ownership out of such a variable.
 */
#ifndef CBT_CLEANUP_H
#define CBT_CLEANUP_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

/* Define a function fooP(type *p) calling func(*p) when *p is set. */
#define CBT_DEFINE_CLEANUP(type, func, name) \
	static inline void name(type *p)     \
	{                                    \
		if (*p)                      \
			func(*p);            \
	}

#define TAKE_PTR(p)                         \
	({                                  \
		__typeof__(p) _taken = (p); \
		(p) = NULL;                 \
		_taken;                     \
	})

#define TAKE_FD(fd)                \
	({                         \
		int _taken = (fd); \
		(fd) = -1;         \
		_taken;            \
	})

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

CBT_DEFINE_CLEANUP(FILE *, fclose, fclosep)
CBT_DEFINE_CLEANUP(DIR *, closedir, closedirp)

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

#endif
