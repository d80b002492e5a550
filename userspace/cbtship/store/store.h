/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The object-store interface under the chunk repository, nbdkit-style: a
 * backend fills one small versioned struct of callbacks, and the rest of
 * cbtship talks to a generic struct cbt_store.
 *
 * Objects are whole byte strings named by keys (store/key.h), written
 * atomically: a reader sees a complete object or none, never a part, even
 * after a crash. A put is visible to this store's own calls at once and
 * durable (it survives a crash, and other processes see it) once flush()
 * returns; a backend may defer that work to batch it, so a writer flushes
 * before it commits anything that references its objects (the manifest).
 * Every call returns 0 (or a count) or a negative errno.
 * Backends must allow concurrent calls from several threads (the upload
 * workers) on one store.
 */
#ifndef CBTSHIP_STORE_STORE_H
#define CBTSHIP_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "cbt-cleanup.h"
#include "cbtship/store/key.h"

/*
 * Version 2 added get_range and put_file (both optional: cbt_store_*()
 * emulate them with get and put when a backend leaves them NULL).
 */
#define CBT_STORE_OPS_VERSION 2

/* get_range's offset for "the last len bytes of the object". */
#define CBT_STORE_RANGE_TAIL UINT64_MAX

/*
 * Called for each key of a listing, in bytewise sorted order. Return 0 to
 * go on; anything else stops the walk, and list() returns that value (a
 * negative errno for an error, a positive value for "found, stop").
 */
typedef int (*cbt_store_list_fn)(const char *key, void *userdata);

struct cbt_store_ops {
	int version;	  /* CBT_STORE_OPS_VERSION */
	const char *name; /* "posix", "swift", ... */

	/* Create or replace the object, atomically (durably: see flush). */
	int (*put)(void *data, const char *key, const void *buf, size_t len);
	/*
	 * Read a whole object into a new malloc()ed buffer (*ret_buf, freed by
	 * the caller; not NUL-terminated). -ENOENT when missing, -EFBIG when
	 * larger than max_len (0: no limit).
	 */
	int (*get)(void *data, const char *key, size_t max_len, void **ret_buf, size_t *ret_len);
	/* 1 present, 0 absent, or a negative errno. */
	int (*exists)(void *data, const char *key);
	/* Remove the object durably; -ENOENT when missing. */
	int (*delete)(void *data, const char *key);
	/* Call fn for every key starting with prefix ("" for all), sorted. */
	int (*list)(void *data, const char *prefix, cbt_store_list_fn fn, void *userdata);
	/* Release data (may be NULL when there is nothing to release). */
	void (*free)(void *data);
	/*
	 * Optional: make every put so far durable and visible to others. NULL
	 * for a backend whose puts are durable when they return. free()
	 * flushes too (best effort) but cannot report a failure.
	 */
	int (*flush)(void *data);
	/*
	 * Optional (version 2): read at most len bytes of the object from
	 * offset into the caller's buf; *ret_len gets the bytes read (fewer
	 * than len only at the object's end, 0 when offset is at or past it),
	 * *ret_size (when not NULL) the object's whole size. With offset
	 * CBT_STORE_RANGE_TAIL: its last len bytes (all of it when shorter),
	 * at the start of buf. -ENOENT when missing.
	 */
	int (*get_range)(void *data, const char *key, uint64_t offset, size_t len, void *buf,
			 size_t *ret_len, uint64_t *ret_size);
	/*
	 * Optional (version 2): create or replace the object with the first
	 * len bytes of the regular file fd (read with pread, so it can be
	 * sent again on a retry; fd's offset is not used). md5_hex, when not
	 * NULL, is the MD5 of those bytes (32 lowercase hex), which a backend
	 * may send along (Swift's ETag) instead of computing it. Durability as
	 * put.
	 */
	int (*put_file)(void *data, const char *key, int fd, uint64_t len, const char *md5_hex);
	/*
	 * CBT_STORE_USES_MD5: put_file sends md5_hex along (else it ignores
	 * it). A decorator passing put_file on copies its inner store's flags.
	 */
	unsigned flags;
};

#define CBT_STORE_USES_MD5 (1u << 0)
/*
 * CBT_STORE_LOCAL: a ranged read costs a system call, not a network round
 * trip (POSIX, NFS through the kernel's client): a restore reads only the
 * entries it needs, where elsewhere it reads over small gaps to make fewer
 * requests.
 */
#define CBT_STORE_LOCAL (1u << 1)

struct cbt_store;

/*
 * Wrap a backend. On success the store owns data (ops->free releases it);
 * on failure the caller still does. 0, -EPROTONOSUPPORT (ops of another
 * interface version), -EINVAL (a callback missing) or -ENOMEM.
 */
int cbt_store_new(const struct cbt_store_ops *ops, void *data, struct cbt_store **ret);

/* Always returns NULL. */
struct cbt_store *cbt_store_free(struct cbt_store *s);
CBT_DEFINE_CLEANUP(struct cbt_store *, cbt_store_free, cbt_store_freep)

const char *cbt_store_name(const struct cbt_store *s);
/* The backend's CBT_STORE_* flags. */
unsigned cbt_store_flags(const struct cbt_store *s);

/* The backend's callbacks and data, for a decorator that must find itself (repo/pack-store). */
const struct cbt_store_ops *cbt_store_ops(const struct cbt_store *s);
void *cbt_store_data(const struct cbt_store *s);

/* The operations; each checks its key (-EINVAL for an invalid one). */
int cbt_store_put(struct cbt_store *s, const char *key, const void *buf, size_t len);
int cbt_store_get(struct cbt_store *s, const char *key, size_t max_len, void **ret_buf,
		  size_t *ret_len);
int cbt_store_exists(struct cbt_store *s, const char *key);
int cbt_store_delete(struct cbt_store *s, const char *key);
int cbt_store_list(struct cbt_store *s, const char *prefix, cbt_store_list_fn fn, void *userdata);
/* Make the puts so far durable (see struct cbt_store_ops). 0 or -errno. */
int cbt_store_flush(struct cbt_store *s);
/*
 * Ranged read (see get_range above); a backend without it is served by a
 * whole get (max_len 0) and a copy. 0 or -errno.
 */
int cbt_store_get_range(struct cbt_store *s, const char *key, uint64_t offset, size_t len,
			void *buf, size_t *ret_len, uint64_t *ret_size);
/*
 * Put from a file (see put_file above); a backend without it gets the
 * file read into memory and put. 0 or -errno.
 */
int cbt_store_put_file(struct cbt_store *s, const char *key, int fd, uint64_t len,
		       const char *md5_hex);

/*
 * The detail of the last failed store call in this thread, for a backend
 * with more to say than its errno (Swift: the request, its HTTP status
 * and the start of the body): the backend records it as it fails, and
 * whoever reports the failure to the operator appends it. Every
 * cbt_store_*() call forgets the previous detail first, so a decorator's
 * (the pack store's) failure carries its inner store's. cbt_store_detail()
 * returns NULL unless the detail recorded last is for errno r.
 */
void cbt_store_set_detail(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *cbt_store_detail(int r);
/*
 * strerror(-r), followed by this thread's detail for r when there is one
 * ("Connection timed out: GET http://...: timed out after 30 s"), in a
 * buffer of the thread's valid until its next call.
 */
const char *cbt_store_strerror(int r);

#endif
