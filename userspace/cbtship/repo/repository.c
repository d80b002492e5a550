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
#include <time.h>
#include <unistd.h>

#include "cbtship/backup/context.h"
#include "cbtship/repo/lease.h"
#include "cbtship/repo/location-cache.h"
#include "cbtship/repo/pack-store.h"
#include "cbtship/repo/repository.h"
#include "cbtship/state-dir.h"
#include "cbtship/store/known-keys.h"
#include "cbtship/store/nfs/nfs-mount.h"
#include "cbtship/store/posix/posix.h"
#include "cbtship/store/swift/swift.h"

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
	cbt_cipher_free(repo->cipher);
	cbt_hasher_free(repo->key_hasher);
	cbt_key_free(repo->key);
	if (repo->lock_fd >= 0)
		close(repo->lock_fd);
	free(repo->container);
	free(repo->path);
	free(repo);
	return NULL;
}

/* The POSIX directory of container: absolute, or a name under base. */
static int posix_container(struct cbt_repository *repo, const char *base, const char *container,
			   unsigned flags, char **ret_error)
{
	int r;

	if (strstr(container, "..") || (container[0] != '/' && strchr(container, '/'))) {
		if (ret_error)
			*ret_error = strdup_printf(
				"bad container '%s': an absolute directory, or a name without '/'",
				container);
		return -EINVAL;
	}
	repo->path =
		container[0] == '/' ? strdup(container) : strdup_printf("%s/%s", base, container);
	if (!repo->path)
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
	if (r < 0 && ret_error)
		*ret_error =
			strdup_printf("container %s: %s", repo->path, cbt_posix_store_strerror(r));
	return r;
}

static void swift_log(const char *message, void *userdata)
{
	(void)userdata;
	cbtship_log("swift: %s", message);
}

static int swift_container(struct cbt_repository *repo, const struct cbt_config *cfg,
			   const char *container, char **ret_error)
{
	struct cbt_swift_config sc;
	char version[16];
	char *err = NULL;
	int r;

	cbt_swift_config_init(&sc);
	snprintf(version, sizeof(version), "%d", cfg->backup_swift_auth_version);
	sc.auth_url = cfg->backup_swift_auth_url;
	sc.auth_version = version;
	sc.user = cfg->backup_swift_user;
	sc.key = cfg->backup_swift_key;
	sc.user_domain = cfg->backup_swift_user_domain;
	sc.project =
		cfg->backup_swift_project ? cfg->backup_swift_project : cfg->backup_swift_tenant;
	sc.project_domain = cfg->backup_swift_project_domain;
	sc.storage_url = cfg->backup_swift_url;
	sc.container = container;
	sc.retry_attempts = cfg->backup_swift_retry_attempts;
	sc.retry_backoff = cfg->backup_swift_retry_backoff;
	sc.timeout = cfg->backup_swift_timeout;
	sc.ca_cert_file = cfg->backup_swift_ca_cert_file;
	sc.insecure = cfg->backup_swift_auth_insecure;
	sc.log = swift_log;
	r = cbt_swift_store_open(&sc, &repo->store, &err);
	if (r < 0 && ret_error)
		*ret_error = strdup_printf("Swift container %s: %s", container,
					   err ? err : strerror(-r));
	free(err);
	return r;
}

/*
 * The format new backups are written in: 2 (packs), or 1 (loose objects)
 * when CBTSHIP_WRITE_FORMAT=1 is in the environment: only the tests use
 * that, to make format-1 containers as an older cbtship did.
 */
static int write_format(void)
{
	const char *v = getenv("CBTSHIP_WRITE_FORMAT");

	return v && strcmp(v, "1") == 0 ? 1 : 2;
}

/*
 * Every container is read through the pack store (packs, then loose
 * format-1 objects); on Swift with the known-keys store under it, so
 * that a chunk found in no pack costs no HEAD unless the container has
 * loose chunks. In format-1 write mode the store stays as it was.
 */
static int wrap_packs(struct cbt_repository *repo, const struct cbt_config *cfg, char **ret_error)
{
	struct cbt_pack_store_config pc = { 0 };
	_cleanup_(freep) char *cache = NULL;
	int r;

	repo->format = write_format();
	if (repo->format == 1)
		return 0;
	r = cbt_location_cache_path(cbt_service_to_string(repo->service), repo->container, &cache);
	if (r < 0)
		return r;
	pc.cache_path = cache;
	if (repo->service == CBT_SERVICE_SWIFT) {
		r = cbt_known_keys_store_new(repo->store, 0, &repo->store);
		if (r < 0) {
			repo->store = NULL;
			return r;
		}
		pc.pack_size = cfg->backup_swift_object_size;
		pc.uploaders = 4;
	} else {
		pc.pack_size = cfg->backup_posix_pack_size;
		pc.spool_dir = repo->path; /* POSIX: the spool file is linked in, not copied */
		pc.uploaders = 2;
	}
	r = cbt_pack_store_new(repo->store, &pc, &repo->store, ret_error);
	if (r < 0)
		repo->store = NULL;
	return r;
}

int cbt_repository_open(enum cbt_service service, const char *container, unsigned flags,
			struct cbt_repository **ret, char **ret_error)
{
	_cleanup_(cbt_repository_freep) struct cbt_repository *repo = NULL;
	const struct cbt_config *cfg = cbtship_config();
	_cleanup_(freep) char *mount = NULL;
	char *err = NULL;
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (!cfg)
		return -ENOMEM;
	if (!container || !*container)
		container = service == CBT_SERVICE_SWIFT ? cfg->backup_swift_container
							 : cfg->backup_container;
	if (!container || !*container)
		container = CBT_REPOSITORY_DEFAULT_CONTAINER;
	repo = calloc(1, sizeof(*repo));
	if (!repo)
		return -ENOMEM;
	repo->lock_fd = -1;
	repo->service = service;
	repo->container = strdup(container);
	if (!repo->container)
		return -ENOMEM;
	switch (service) {
	case CBT_SERVICE_POSIX:
		r = posix_container(repo, cfg->backup_posix_path, container, flags, ret_error);
		break;
	case CBT_SERVICE_NFS:
		if (!cfg->backup_share) {
			if (ret_error)
				*ret_error = strdup_printf("the NFS backup service needs "
							   "backup_share in the configuration");
			return -EINVAL;
		}
		r = cbt_nfs_mount(cfg->backup_share, cfg->backup_mount_options,
				  cfg->backup_mount_point_base, &mount, &err);
		if (r < 0) {
			if (ret_error)
				*ret_error = err ? err : strdup(strerror(-r));
			else
				free(err);
			return r;
		}
		if (container[0] == '/') {
			if (ret_error)
				*ret_error =
					strdup_printf("bad container '%s' for the NFS service: "
						      "a name in the share",
						      container);
			return -EINVAL;
		}
		r = posix_container(repo, mount, container, flags | CBT_REPOSITORY_CREATE,
				    ret_error);
		break;
	case CBT_SERVICE_SWIFT:
		r = swift_container(repo, cfg, container, ret_error);
		break;
	default:
		if (ret_error)
			*ret_error = strdup_printf(
				"the %s backup service keeps no chunk repository (it has its own "
				"back end)",
				cbt_service_to_string(service));
		return -EPROTONOSUPPORT;
	}
	if (r < 0)
		return r;
	r = wrap_packs(repo, cfg, ret_error);
	if (r < 0)
		return r;
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

uint64_t cbt_repository_objects_written(struct cbt_repository *repo, uint64_t loose)
{
	struct cbt_pack_store_stats st;

	if (repo->format == 1 || !cbt_is_pack_store(repo->store))
		return loose;
	cbt_pack_store_stats(repo->store, &st);
	return st.packs_uploaded;
}

int cbt_repository_load_key(struct cbt_repository *repo, char **ret_error)
{
	_cleanup_(cbt_key_freep) struct cbt_key *key = NULL;
	const char *path = cbtship_key_file();
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (repo->key)
		return 1;
	if (!path)
		return 0;
	r = cbt_key_load(path, &key, ret_error);
	if (r < 0)
		return r;
	r = cbt_hasher_new(key->id_key, CBT_KEY_SIZE, &repo->key_hasher);
	if (r >= 0)
		r = cbt_cipher_new(key, &repo->cipher);
	if (r < 0) {
		repo->key_hasher = cbt_hasher_free(repo->key_hasher);
		if (ret_error)
			*ret_error = strdup_printf("encryption key: %s", strerror(-r));
		return r;
	}
	if (cbt_is_pack_store(repo->store)) {
		r = cbt_pack_store_set_key(repo->store, key);
		if (r < 0) {
			repo->key_hasher = cbt_hasher_free(repo->key_hasher);
			repo->cipher = cbt_cipher_free(repo->cipher);
			if (ret_error)
				*ret_error = strdup_printf("encryption key: %s", strerror(-r));
			return r;
		}
	}
	repo->key = TAKE_PTR(key);
	return 1;
}

/*
 * --encryption-key-file: kept here rather than set with cbt_config_set(),
 * which re-resolves every path option of the configuration (freeing the
 * strings others may still point to, the state directory's included).
 */
static const char *key_file_override;

int cbtship_set_key_file(const char *command, const char *path)
{
	if (!path || !*path) {
		fprintf(stderr, "cbtship %s: --encryption-key-file needs a file\n", command);
		return -EINVAL;
	}
	key_file_override = path;
	return 0;
}

const char *cbtship_key_file(void)
{
	const struct cbt_config *cfg = cbtship_config();

	if (key_file_override)
		return key_file_override;
	return cfg && cfg->backup_encryption_key_file && *cfg->backup_encryption_key_file
		       ? cfg->backup_encryption_key_file
		       : NULL;
}

/*
 * The lock file: in the container for a directory (shared with every host
 * that mounts it), else on this host only, in the state directory.
 */
static char *lock_path(const struct cbt_repository *repo)
{
	char *path;

	if (repo->path)
		return strdup_printf("%s/.lock", repo->path);
	path = strdup_printf("%s/locks/%s-%s.lock", cbtship_state_dir(),
			     cbt_service_to_string(repo->service), repo->container);
	if (path && cbtship_make_parent_dirs(path) < 0) {
		free(path);
		return NULL;
	}
	return path;
}

static int take_lock(struct cbt_repository *repo, bool exclusive, bool wait)
{
	int op = exclusive ? LOCK_EX : LOCK_SH;

	if (repo->lock_fd < 0) {
		_cleanup_(freep) char *path = lock_path(repo);

		if (!path)
			return -ENOMEM;
		repo->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (repo->lock_fd < 0)
			return -errno;
	}
	if (flock(repo->lock_fd, op | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK || !wait)
		return -errno;
	fprintf(stderr, "cbtship: waiting for %s in container %s to finish\n",
		exclusive ? "running backups" : "a delete", repo->container);
	while (flock(repo->lock_fd, op) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int cbt_repository_lock(struct cbt_repository *repo, bool exclusive)
{
	return take_lock(repo, exclusive, true);
}

int cbt_repository_trylock(struct cbt_repository *repo, bool exclusive)
{
	return take_lock(repo, exclusive, false);
}

void cbt_repository_unlock(struct cbt_repository *repo)
{
	if (repo->lock_fd >= 0)
		(void)flock(repo->lock_fd, LOCK_UN);
}

int cbt_repository_lease_store(struct cbt_repository *repo, struct cbt_store **ret,
			       char **ret_error)
{
	struct cbt_repository side = { .service = repo->service, .lock_fd = -1 };
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (repo->path) {
		r = cbt_posix_store_open(repo->path, ret);
		if (r < 0 && ret_error)
			*ret_error = strdup_printf("container %s: %s", repo->path,
						   cbt_posix_store_strerror(r));
		return r;
	}
	if (repo->service != CBT_SERVICE_SWIFT)
		return -EPROTONOSUPPORT;
	r = swift_container(&side, cbtship_config(), repo->container, ret_error);
	if (r < 0)
		return r;
	*ret = side.store;
	return 0;
}

int cbt_repository_lease_backup(struct cbt_repository *repo, const char *backup_id,
				struct cbt_lease **ret, char **ret_error)
{
	_cleanup_(cbt_lease_releasep) struct cbt_lease *lease = NULL;
	struct cbt_lease_times times;
	struct cbt_store *ls = NULL;
	bool said = false;
	time_t start = time(NULL);
	int r;

	cbt_lease_times_configured(&times);
	r = cbt_repository_lease_store(repo, &ls, ret_error);
	if (r < 0)
		return r;
	r = cbt_lease_take(ls, CBT_LEASE_BACKUP, backup_id, &times, &lease, ret_error);
	if (r < 0)
		return r;
	for (;;) {
		struct cbt_lease_scan scan;

		r = cbt_lease_scan(ls, cbt_lease_key(lease), &times, &scan);
		if (r < 0) {
			if (ret_error)
				*ret_error = strdup_printf("listing the leases of container %s: %s",
							   repo->container, strerror(-r));
			return r;
		}
		if (!scan.gcs)
			break;
		if (time(NULL) - start > (time_t)times.stale) {
			if (ret_error)
				*ret_error = strdup_printf(
					"a collection still holds container %s after %u s (%s): "
					"it should have yielded to this backup",
					repo->container, times.stale, scan.gc_holder);
			return -EBUSY;
		}
		if (!said) {
			fprintf(stderr, "cbtship: waiting for a collection in container %s (%s)\n",
				repo->container, scan.gc_holder);
			cbtship_log("backup %s: waiting for %s", backup_id, scan.gc_holder);
			said = true;
		}
		sleep(1);
	}
	*ret = TAKE_PTR(lease);
	return 0;
}
