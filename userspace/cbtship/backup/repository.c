/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Opening a container's object store, and its lock. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cbtship/backup/repository.h"
#include "cbtship/state-dir.h"
#include "cbtship/target/posix/posix.h"

static char *strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

struct cbt_repository *cbt_repository_free(struct cbt_repository *repo)
{
	if (!repo)
		return NULL;
	cbt_store_free(repo->store);
	cbt_hasher_free(repo->hasher);
	cbt_compressor_free(repo->compressor);
	if (repo->lock_fd >= 0)
		close(repo->lock_fd);
	free(repo->container);
	free(repo->path);
	free(repo);
	return NULL;
}

int cbt_repository_open(enum catalog_service service, const char *container, unsigned flags,
			struct cbt_repository **ret, char **ret_error)
{
	_cleanup_(cbt_repository_freep) struct cbt_repository *repo = NULL;
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (service != CATALOG_SERVICE_POSIX) {
		if (ret_error)
			*ret_error = strdup_printf("the %s backup service is not supported yet",
						   catalog_service_to_string(service));
		return -EPROTONOSUPPORT;
	}
	if (!container || !*container)
		container = CBT_REPOSITORY_DEFAULT_CONTAINER;
	if (strstr(container, "..") || (container[0] != '/' && strchr(container, '/'))) {
		if (ret_error)
			*ret_error = strdup_printf(
				"bad container '%s': an absolute directory, or a name without '/'",
				container);
		return -EINVAL;
	}
	repo = calloc(1, sizeof(*repo));
	if (!repo)
		return -ENOMEM;
	repo->lock_fd = -1;
	repo->service = service;
	repo->container = strdup(container);
	repo->path = container[0] == '/'
			     ? strdup(container)
			     : strdup_printf("%s/backup/%s", cbtship_state_dir(), container);
	if (!repo->container || !repo->path)
		return -ENOMEM;
	if (flags & CBT_REPOSITORY_CREATE) {
		r = cbtship_make_dirs(repo->path);
		if (r < 0) {
			if (ret_error)
				*ret_error =
					strdup_printf("cannot make the container directory %s: %s",
						      repo->path, strerror(-r));
			return r;
		}
	}
	r = cbt_posix_store_open(repo->path, &repo->store);
	if (r < 0) {
		if (ret_error)
			*ret_error = strdup_printf("container %s: %s", repo->path,
						   cbt_posix_store_strerror(r));
		return r;
	}
	r = cbt_hasher_new(NULL, 0, &repo->hasher);
	if (r >= 0)
		r = cbt_compressor_new(CBT_COMPRESS_DEFAULT, CBT_COMPRESSION_LEVEL_DEFAULT,
				       &repo->compressor);
	if (r < 0) {
		if (ret_error)
			*ret_error = strdup_printf("hasher/compressor: %s", strerror(-r));
		return r;
	}
	*ret = TAKE_PTR(repo);
	return 0;
}

int cbt_repository_lock(struct cbt_repository *repo, bool exclusive)
{
	int op = exclusive ? LOCK_EX : LOCK_SH;

	if (repo->lock_fd < 0) {
		_cleanup_(freep) char *path = strdup_printf("%s/.lock", repo->path);

		if (!path)
			return -ENOMEM;
		repo->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (repo->lock_fd < 0)
			return -errno;
	}
	if (flock(repo->lock_fd, op | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return -errno;
	fprintf(stderr, "cbtship: waiting for %s in container %s to finish\n",
		exclusive ? "running backups" : "a delete", repo->container);
	while (flock(repo->lock_fd, op) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}
