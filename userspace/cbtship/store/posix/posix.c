/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The POSIX directory object store: atomic, durable puts; sorted listing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cbtship/store/posix/posix.h"

#define DIR_MODE  0700
#define FILE_MODE 0600

/*
 * Puts are batched: an object is written to a temporary dot-file and left
 * pending; when PENDING_MAX objects or PENDING_BYTES bytes are pending, or
 * on flush, one syncfs() makes all their data durable, then each is
 * renamed to its final name and a second syncfs() makes the renames
 * durable. Two syncs per batch instead of two fsyncs per object (a full
 * backup of small chunks was fsync-bound), and still a crash never leaves
 * a partial object under a final name: a name is given only to durable
 * data. Pending objects are found by exists() and get() of this store.
 */
#define PENDING_MAX   1024
#define PENDING_BYTES (256u << 20)
#define PENDING_HASH  4096 /* buckets, a power of two > PENDING_MAX */

struct pending {
	char *key;
	char *tmp; /* relative to the root */
	struct pending *next_in_bucket;
};

struct batch {
	struct pending *items;
	size_t n;
	size_t bytes;
	struct pending *buckets[PENDING_HASH];
	struct batch *next; /* in the list of batches being flushed */
};

struct posix_store {
	int root_fd;
	char *path;
	atomic_ulong seq; /* temporary name counter */
	pthread_mutex_t lock;
	struct batch *pending;	/* filling */
	struct batch *flushing; /* being made durable, by other threads */
};

static unsigned key_hash(const char *key)
{
	unsigned h = 2166136261u; /* FNV-1a */

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h & (PENDING_HASH - 1);
}

static struct batch *batch_new(void)
{
	struct batch *b = calloc(1, sizeof(*b));

	if (b)
		b->items = calloc(PENDING_MAX, sizeof(*b->items));
	if (b && !b->items) {
		free(b);
		b = NULL;
	}
	return b;
}

static void batch_free(struct batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->items[i].key);
		free(b->items[i].tmp);
	}
	free(b->items);
	free(b);
}

static struct pending *batch_find(struct batch *b, const char *key)
{
	for (struct pending *e = b ? b->buckets[key_hash(key)] : NULL; e; e = e->next_in_bucket)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

/* The temporary file of a pending key, copied into tmp; false when not pending. */
static bool pending_tmp(struct posix_store *p, const char *key, char *tmp, size_t len)
{
	struct pending *e;

	pthread_mutex_lock(&p->lock);
	e = batch_find(p->pending, key);
	for (struct batch *b = p->flushing; !e && b; b = b->next)
		e = batch_find(b, key);
	if (e)
		snprintf(tmp, len, "%s", e->tmp);
	pthread_mutex_unlock(&p->lock);
	return e != NULL;
}

/*
 * Make batch b durable under its final names (see above); on failure its
 * temporaries are removed and the error returned (the objects are lost:
 * the backup that wrote them fails, nothing references them yet).
 */
static int batch_commit(struct posix_store *p, struct batch *b)
{
	int r = 0;

	if (syncfs(p->root_fd) < 0)
		r = -errno;
	for (size_t i = 0; i < b->n; i++) {
		if (r == 0 &&
		    renameat(p->root_fd, b->items[i].tmp, p->root_fd, b->items[i].key) < 0)
			r = -errno;
		if (r < 0)
			unlinkat(p->root_fd, b->items[i].tmp, 0);
	}
	if (r == 0 && syncfs(p->root_fd) < 0)
		r = -errno;
	return r;
}

/* Commit the filling batch (if any): the caller's thread does the syncs. */
static int flush_pending(struct posix_store *p)
{
	struct batch *b, **link;
	int r;

	pthread_mutex_lock(&p->lock);
	b = p->pending;
	p->pending = NULL;
	if (b) {
		b->next = p->flushing;
		p->flushing = b;
	}
	pthread_mutex_unlock(&p->lock);
	if (!b)
		return 0;
	r = batch_commit(p, b);
	pthread_mutex_lock(&p->lock);
	for (link = &p->flushing; *link != b; link = &(*link)->next)
		;
	*link = b->next;
	pthread_mutex_unlock(&p->lock);
	batch_free(b);
	return r;
}

static int posix_flush(void *data)
{
	return flush_pending(data);
}

static void posix_free(void *data)
{
	struct posix_store *p = data;

	if (!p)
		return;
	(void)flush_pending(p);
	pthread_mutex_destroy(&p->lock);
	if (p->root_fd >= 0)
		close(p->root_fd);
	free(p->path);
	free(p);
}

CBT_DEFINE_CLEANUP(struct posix_store *, posix_free, posix_storep)

/* Split key into its directory ("" for none) and its last component. */
static const char *key_base(const char *key, char dir[static CBT_STORE_KEY_MAX + 1])
{
	const char *slash = strrchr(key, '/');

	if (!slash) {
		dir[0] = '\0';
		return key;
	}
	memcpy(dir, key, (size_t)(slash - key));
	dir[slash - key] = '\0';
	return slash + 1;
}

static int open_dir(int root_fd, const char *dir)
{
	int fd = openat(root_fd, *dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int fsync_dir(int root_fd, const char *dir)
{
	_cleanup_(closep) int fd = open_dir(root_fd, dir);

	if (fd < 0)
		return fd;
	return fsync(fd) < 0 ? -errno : 0;
}

/*
 * mkdir -p of dir (relative to the root), each level made durable in its
 * parent. Only called when dir was missing, so the fsyncs are rare; they
 * are done on EEXIST too, since the thread that won a mkdir race may not
 * have synced the entry yet when this one goes on to rename an object in.
 */
static int make_dirs(int root_fd, const char *dir)
{
	char path[CBT_STORE_KEY_MAX + 1];
	size_t len = strlen(dir);

	memcpy(path, dir, len + 1);
	for (size_t i = 0; i <= len; i++) {
		char *slash;
		int r;

		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdirat(root_fd, path, DIR_MODE) < 0 && errno != EEXIST)
			return -errno;
		slash = strrchr(path, '/');
		if (slash)
			*slash = '\0';
		r = fsync_dir(root_fd, slash ? path : "");
		if (slash)
			*slash = '/';
		if (r < 0)
			return r;
		path[i] = dir[i];
	}
	return 0;
}

/* The directory of key, opened; made first when create is set. */
static int open_key_dir(int root_fd, const char *dir, bool create)
{
	int fd = open_dir(root_fd, dir);

	if (fd == -ENOENT && create) {
		int r = make_dirs(root_fd, dir);

		if (r < 0)
			return r;
		fd = open_dir(root_fd, dir);
	}
	return fd;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Add a written temporary to the filling batch; true when the batch is full. */
static int add_pending(struct posix_store *p, const char *key, const char *dir, const char *tmp,
		       size_t len, bool *ret_full)
{
	_cleanup_(freep) char *k = strdup(key);
	_cleanup_(freep) char *t = NULL;
	struct pending *e;
	unsigned h = key_hash(key);

	if (!k || asprintf(&t, "%s%s%s", dir, *dir ? "/" : "", tmp) < 0)
		return -ENOMEM;
	pthread_mutex_lock(&p->lock);
	if (!p->pending)
		p->pending = batch_new();
	if (!p->pending) {
		pthread_mutex_unlock(&p->lock);
		return -ENOMEM;
	}
	e = batch_find(p->pending, key);
	if (e) {
		/* Put twice in one batch: the newer temporary wins. */
		unlinkat(p->root_fd, e->tmp, 0);
		free(e->tmp);
		e->tmp = TAKE_PTR(t);
	} else {
		e = &p->pending->items[p->pending->n++];
		e->key = TAKE_PTR(k);
		e->tmp = TAKE_PTR(t);
		e->next_in_bucket = p->pending->buckets[h];
		p->pending->buckets[h] = e;
	}
	p->pending->bytes += len;
	*ret_full = p->pending->n >= PENDING_MAX || p->pending->bytes >= PENDING_BYTES;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* Where a put's bytes come from: a buffer, or a file. */
struct put_source {
	const void *buf;
	int fd; /* -1: buf */
	uint64_t len;
};

/* Copy len bytes of the file in_fd (from offset 0) to out_fd: in the kernel when it can. */
static int copy_file(int in_fd, int out_fd, uint64_t len)
{
	uint8_t buf[64 * 1024];
	uint64_t done = 0;
	bool kernel = true;

	while (done < len) {
		size_t want = len - done > (1u << 30) ? (1u << 30) : (size_t)(len - done);
		ssize_t n;

		if (kernel) {
			loff_t in_off = (loff_t)done;

			n = copy_file_range(in_fd, &in_off, out_fd, NULL, want, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
				      errno == EOPNOTSUPP)) {
				kernel = false;
				continue;
			}
		} else {
			n = pread(in_fd, buf, want > sizeof(buf) ? sizeof(buf) : want, (off_t)done);
			if (n > 0) {
				int r = write_all(out_fd, buf, (size_t)n);

				if (r < 0)
					return r;
			}
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the source is shorter than len */
		done += (uint64_t)n;
	}
	return 0;
}

static int put_from(struct posix_store *p, const char *key, const struct put_source *src)
{
	char dir[CBT_STORE_KEY_MAX + 1], tmp[64];
	_cleanup_(closep) int dir_fd = -1;
	_cleanup_(closep) int fd = -1;
	bool full = false;
	int r;

	(void)key_base(key, dir);
	dir_fd = open_key_dir(p->root_fd, dir, true);
	if (dir_fd < 0)
		return dir_fd;
	if (src->fd >= 0) {
		/*
		 * A file on this file system (the pack store spools in the
		 * container: O_TMPFILE) is linked in, not copied; the batch's
		 * syncs make it durable like any put.
		 */
		char proc[64];
		struct stat st;

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", src->fd);
		for (int tries = 0; tries < 100; tries++) {
			snprintf(tmp, sizeof(tmp), ".tmp-%ld-%lu", (long)getpid(),
				 atomic_fetch_add(&p->seq, 1));
			if (fstat(src->fd, &st) < 0 || (uint64_t)st.st_size != src->len)
				break;
			if (linkat(AT_FDCWD, proc, dir_fd, tmp, AT_SYMLINK_FOLLOW) == 0) {
				(void)sync_file_range(src->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
				r = add_pending(p, key, dir, tmp, (size_t)src->len, &full);
				if (r < 0) {
					unlinkat(dir_fd, tmp, 0);
					return r;
				}
				return full ? flush_pending(p) : 0;
			}
			if (errno != EEXIST)
				break; /* another file system (EXDEV), no /proc...: copy */
		}
	}
	for (int tries = 0;; tries++) {
		snprintf(tmp, sizeof(tmp), ".tmp-%ld-%lu", (long)getpid(),
			 atomic_fetch_add(&p->seq, 1));
		fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
		if (fd >= 0)
			break;
		/* Another host on a shared directory may have the same pid. */
		if (errno != EEXIST || tries >= 100)
			return -errno;
	}
	if (src->fd < 0)
		r = write_all(fd, src->buf, (size_t)src->len);
	else
		r = copy_file(src->fd, fd, src->len);
	/* Start the write-out now, so that the batch's syncfs() finds it done. */
	if (r == 0)
		(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if (close(TAKE_FD(fd)) < 0 && r == 0)
		r = -errno; /* NFS may report a write error only here */
	if (r == 0)
		r = add_pending(p, key, dir, tmp, src->len > SIZE_MAX ? SIZE_MAX : (size_t)src->len,
				&full);
	if (r < 0) {
		unlinkat(dir_fd, tmp, 0);
		return r;
	}
	return full ? flush_pending(p) : 0;
}

static int posix_put(void *data, const char *key, const void *buf, size_t len)
{
	struct put_source src = { .buf = buf, .fd = -1, .len = len };

	return put_from(data, key, &src);
}

static int posix_put_file(void *data, const char *key, int fd, uint64_t len, const char *md5_hex)
{
	struct put_source src = { .fd = fd, .len = len };

	(void)md5_hex; /* the batch's syncs make it durable; nothing to check here */
	return put_from(data, key, &src);
}

/* Open the object (pending or final) for reading; a negative errno otherwise. */
static int open_object(struct posix_store *p, const char *key, struct stat *st)
{
	char tmp[CBT_STORE_KEY_MAX + 64];
	int fd = -1;

	/* O_NONBLOCK: a FIFO planted in the tree must not hang the reader. */
	if (pending_tmp(p, key, tmp, sizeof(tmp)))
		fd = openat(p->root_fd, tmp, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) /* not pending, or renamed since */
		fd = openat(p->root_fd, key, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOTDIR ? -ENOENT : -errno;
	if (fstat(fd, st) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -ENOENT; /* a directory of keys is not an object */
	}
	return fd;
}

static int posix_get_range(void *data, const char *key, uint64_t offset, size_t len, void *buf,
			   size_t *ret_len, uint64_t *ret_size)
{
	_cleanup_(closep) int fd = -1;
	uint64_t size;
	struct stat st;
	size_t done = 0;

	fd = open_object(data, key, &st);
	if (fd < 0)
		return fd;
	size = (uint64_t)st.st_size;
	if (offset == CBT_STORE_RANGE_TAIL)
		offset = size > len ? size - len : 0;
	if (offset < size && size - offset < len)
		len = (size_t)(size - offset);
	else if (offset >= size)
		len = 0;
	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* shrank under us: objects are never rewritten in place */
		done += (size_t)n;
	}
	*ret_len = done;
	if (ret_size)
		*ret_size = size;
	return 0;
}

static int posix_get(void *data, const char *key, size_t max_len, void **ret_buf, size_t *ret_len)
{
	struct posix_store *p = data;
	_cleanup_(closep) int fd = -1;
	_cleanup_(freep) uint8_t *buf = NULL;
	struct stat st;
	size_t size, done = 0;

	fd = open_object(p, key, &st);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > SIZE_MAX)
		return -EFBIG;
	size = (size_t)st.st_size;
	if (max_len && size > max_len)
		return -EFBIG;
	buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	while (done < size) {
		ssize_t n = pread(fd, buf + done, size - done, (off_t)done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* shrank under us: objects are never rewritten in place */
		done += (size_t)n;
	}
	*ret_buf = TAKE_PTR(buf);
	*ret_len = size;
	return 0;
}

static int posix_exists(void *data, const char *key)
{
	struct posix_store *p = data;
	char tmp[CBT_STORE_KEY_MAX + 64];
	struct stat st;

	if (pending_tmp(p, key, tmp, sizeof(tmp)))
		return 1;
	if (fstatat(p->root_fd, key, &st, 0) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	return S_ISREG(st.st_mode) ? 1 : 0;
}

static int posix_delete(void *data, const char *key)
{
	struct posix_store *p = data;
	char dir[CBT_STORE_KEY_MAX + 1];
	const char *base = key_base(key, dir);
	char tmp[CBT_STORE_KEY_MAX + 64];
	_cleanup_(closep) int dir_fd = -1;
	int r;

	/* A pending object is given its name first, then removed as any other. */
	if (pending_tmp(p, key, tmp, sizeof(tmp))) {
		r = flush_pending(p);
		if (r < 0)
			return r;
	}
	dir_fd = open_key_dir(p->root_fd, dir, false);
	if (dir_fd < 0)
		return dir_fd == -ENOTDIR ? -ENOENT : dir_fd;
	if (unlinkat(dir_fd, base, 0) < 0)
		return errno == EISDIR || errno == EPERM || errno == ENOTDIR ? -ENOENT : -errno;
	return fsync(dir_fd) < 0 ? -errno : 0;
}

/* ---- listing: a depth-first walk, each directory sorted */

struct entry {
	char *name;
	size_t len;
	bool is_dir;
};

/*
 * Order entries as their keys sort: a directory "a" holds keys "a/...",
 * so it sorts as "a/" ("a-b" < "a/x" < "a0", bytewise).
 */
static int entry_compare(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->name, b->name, n);
	unsigned ca, cb;

	if (c)
		return c;
	ca = a->len > n ? (unsigned char)a->name[n] : a->is_dir ? '/' : 0;
	cb = b->len > n ? (unsigned char)b->name[n] : b->is_dir ? '/' : 0;
	return (ca > cb) - (ca < cb);
}

static void entries_free(struct entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

/* The valid entries of the directory fd (consumed), unsorted. */
static int read_entries(int fd, struct entry **ret, size_t *ret_n)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct entry *e = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	d = fdopendir(fd);
	if (!d) {
		int r = -errno;

		close(fd);
		return r;
	}
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name);
		unsigned char type = de->d_type;

		/* Dot-files (temporaries) and foreign names are no keys. */
		if (!cbt_store_key_component_valid(de->d_name, len))
			continue;
		if (type == DT_UNKNOWN || type == DT_LNK) {
			struct stat st;

			if (fstatat(dirfd(d), de->d_name, &st, 0) < 0)
				continue; /* vanished, or a dangling link */
			type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : 0;
		}
		if (type != DT_DIR && type != DT_REG)
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct entry *ne = realloc(e, ncap * sizeof(*e));

			if (!ne)
				goto nomem;
			e = ne;
			cap = ncap;
		}
		e[n].name = strdup(de->d_name);
		if (!e[n].name)
			goto nomem;
		e[n].len = len;
		e[n].is_dir = type == DT_DIR;
		n++;
	}
	if (errno) {
		int r = -errno;

		entries_free(e, n);
		return r;
	}
	*ret = e;
	*ret_n = n;
	return 0;
nomem:
	entries_free(e, n);
	return -ENOMEM;
}

/* Either string is a prefix of the other (the first n bytes of a and b). */
static bool prefix_related(const char *a, size_t alen, const char *b, size_t blen)
{
	return memcmp(a, b, alen < blen ? alen : blen) == 0;
}

struct walk {
	int root_fd;
	const char *prefix;
	size_t prefix_len;
	cbt_store_list_fn fn;
	void *userdata;
	char key[CBT_STORE_KEY_MAX + CBT_STORE_KEY_COMPONENT_MAX + 2];
};

/*
 * Walk directory fd (consumed), whose keys start with w->key[0..key_len).
 * A directory is read whole and closed before its entries are visited, so
 * at most one directory is open and the callback may delete keys.
 */
static int walk_dir(struct walk *w, int fd, size_t key_len)
{
	struct entry *e = NULL;
	size_t n = 0;
	int r;

	r = read_entries(fd, &e, &n);
	if (r < 0)
		return r;
	if (n > 1)
		qsort(e, n, sizeof(*e), entry_compare);
	for (size_t i = 0; i < n && r == 0; i++) {
		size_t len = key_len + e[i].len;

		if (len + 1 > CBT_STORE_KEY_MAX)
			continue; /* too long for a key */
		memcpy(w->key + key_len, e[i].name, e[i].len);
		w->key[len] = '\0';
		if (e[i].is_dir) {
			int sub_fd;

			/* Only directories that can hold keys with the prefix. */
			w->key[len] = '/';
			if (!prefix_related(w->key, len + 1, w->prefix, w->prefix_len))
				continue;
			w->key[len] = '\0';
			sub_fd = openat(w->root_fd, w->key, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (sub_fd < 0) {
				if (errno != ENOENT) /* removed meanwhile: nothing to list */
					r = -errno;
				continue;
			}
			w->key[len] = '/';
			r = walk_dir(w, sub_fd, len + 1);
		} else if (len >= w->prefix_len && memcmp(w->key, w->prefix, w->prefix_len) == 0)
			r = w->fn(w->key, w->userdata);
	}
	entries_free(e, n);
	return r;
}

static int posix_list(void *data, const char *prefix, cbt_store_list_fn fn, void *userdata)
{
	struct posix_store *p = data;
	_cleanup_(freep) struct walk *w = NULL;
	int fd, r;

	/* Pending objects are listed too: name them first. */
	r = flush_pending(p);
	if (r < 0)
		return r;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->root_fd = p->root_fd;
	w->prefix = prefix;
	w->prefix_len = strlen(prefix);
	w->fn = fn;
	w->userdata = userdata;
	fd = open_dir(p->root_fd, "");
	if (fd < 0)
		return fd;
	return walk_dir(w, fd, 0);
}

static const struct cbt_store_ops posix_ops = {
	.version = CBT_STORE_OPS_VERSION,
	.name = "posix",
	.put = posix_put,
	.get = posix_get,
	.exists = posix_exists,
	.delete = posix_delete,
	.list = posix_list,
	.free = posix_free,
	.flush = posix_flush,
	.get_range = posix_get_range,
	.put_file = posix_put_file,
	.flags = CBT_STORE_LOCAL,
};

int cbt_posix_store_open(const char *path, struct cbt_store **ret)
{
	_cleanup_(posix_storep) struct posix_store *p = NULL;
	int r;

	if (!path || !*path || !ret)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->root_fd = -1;
	pthread_mutex_init(&p->lock, NULL);
	p->path = strdup(path);
	if (!p->path)
		return -ENOMEM;
	p->root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->root_fd < 0)
		return -errno;
	r = cbt_store_new(&posix_ops, p, ret);
	if (r < 0)
		return r;
	TAKE_PTR(p);
	return 0;
}

const char *cbt_posix_store_strerror(int err)
{
	switch (err) {
	case -ENOENT:
		return "the directory does not exist (create it, or mount the backup share)";
	case -ENOTDIR:
		return "not a directory";
	case -EACCES:
		return "permission denied";
	case -ENOSPC:
		return "no space left on the backup target";
	case -EDQUOT:
		return "disk quota exceeded on the backup target";
	case -EROFS:
		return "the backup target is read-only";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
