/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration file: defaults, every option type, errors with FILE:LINE, secrets, dump. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cbtship/config/config.h"
#include "cbtship/state-dir.h"
#include "tmpdir.h"

#define SECRET "s3cr3t-K3y-do-not-print"

struct fixture {
	char dir[256];
	char path[300];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	tmpdir_make(f->dir, sizeof(f->dir), "config");
	snprintf(f->path, sizeof(f->path), "%s/cbtship.conf", f->dir);
	unsetenv(CBT_CONFIG_ENV);
	unsetenv(CBTSHIP_STATE_DIR_ENV);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tmpdir_remove(f->dir);
	free(f);
	unsetenv(CBT_CONFIG_ENV);
	unsetenv(CBTSHIP_STATE_DIR_ENV);
	return 0;
}

/* Write text to f->path with mode. */
static void write_conf(struct fixture *f, const char *text, mode_t mode)
{
	FILE *fp;

	unlink(f->path);
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(f->path, mode), 0);
}

/* Load text; returns the errno, the config in *ret (or NULL), the message in *err. */
static int load_text(struct fixture *f, const char *text, mode_t mode, struct cbt_config **ret,
		     char **err)
{
	write_conf(f, text, mode);
	*ret = NULL;
	return cbt_config_load(f->path, ret, err);
}

/* Whether msg holds "<path>:<line>". */
static bool names_line(const struct fixture *f, const char *msg, unsigned line)
{
	char want[400];

	snprintf(want, sizeof(want), "%s:%u:", f->path, line);
	return msg && strstr(msg, want);
}

static void origin_is_line(const struct fixture *f, const struct cbt_config *c, const char *name,
			   unsigned line)
{
	char want[400];

	snprintf(want, sizeof(want), "%s:%u", f->path, line);
	assert_string_equal(cbt_config_origin(c, name), want);
}

static char *dump_to_string(const struct cbt_config *c, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(cbt_config_dump(c, out, json), 0);
	assert_int_equal(fclose(out), 0);
	return buf;
}

/* ------------------------------------------------------------------------ */

static void defaults_without_file(void **state)
{
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	assert_int_equal(cbt_config_new(&c), 0);
	assert_null(c->path);
	assert_int_equal(c->backup_driver, CBT_SERVICE_POSIX);
	assert_string_equal(c->backup_container, "volumebackups");
	assert_string_equal(c->state_path, "/var/lib/cbtship");
	assert_string_equal(c->backup_posix_path, "/var/lib/cbtship/backup");
	assert_string_equal(c->catalog, "/var/lib/cbtship/catalog.db");
	assert_string_equal(c->backup_mount_point_base, "/var/lib/cbtship/backup_mount");
	assert_int_equal(c->backup_compression_algorithm, CBT_COMPRESS_ZSTD);
	assert_int_equal(c->backup_workers, cpus < 1 ? 1 : cpus > 1024 ? 1024 : cpus);
	assert_int_equal(c->backup_file_size, 1999994880);
	assert_int_equal(c->backup_sha_block_size_bytes, 32768);
	assert_true(c->backup_enable_progress_timer);
	assert_int_equal(c->backup_timer_interval, 120);
	assert_int_equal(c->quota_backups, 10);
	assert_int_equal(c->quota_backup_gigabytes, 1000);
	assert_non_null(c->host);
	assert_true(strlen(c->host) > 0);
	assert_null(c->backup_events_file);
	assert_null(c->backup_encryption_key_file);
	assert_null(c->backup_swift_url);
	assert_null(c->backup_swift_auth_url);
	assert_int_equal(c->backup_swift_auth, CBT_SWIFT_AUTH_PER_USER);
	assert_int_equal(c->backup_swift_auth_version, 1);
	assert_null(c->backup_swift_key);
	assert_string_equal(c->backup_swift_container, "volumebackups");
	assert_int_equal(c->backup_swift_retry_attempts, 3);
	assert_int_equal(c->backup_swift_retry_backoff, 2);
	assert_false(c->backup_swift_auth_insecure);
	assert_int_equal(c->backup_swift_object_size, 52428800);
	assert_string_equal(c->backup_ceph_conf, "/etc/ceph/ceph.conf");
	assert_string_equal(c->backup_ceph_user, "cinder");
	assert_string_equal(c->backup_ceph_pool, "backups");
	assert_int_equal(c->backup_ceph_chunk_size, 128 * 1024 * 1024);
	assert_int_equal(c->rados_connect_timeout, -1);
	assert_null(c->backup_share);
	assert_null(c->backup_mount_options);
	assert_string_equal(cbt_config_origin(c, "backup_driver"), "default");
	assert_string_equal(cbt_config_origin(c, "backup_swift_key"), "default");
	assert_null(cbt_config_origin(c, "no_such_option"));
	assert_string_equal(cbt_config_container(c), "volumebackups");
	assert_int_equal(cbt_config_check_driver(c, NULL), 0);
}

/* The state directory's environment variable moves the default state_path. */
static void defaults_follow_state_dir_env(void **state)
{
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;

	(void)state;
	setenv(CBTSHIP_STATE_DIR_ENV, "/srv/cbt", 1);
	assert_int_equal(cbt_config_new(&c), 0);
	assert_string_equal(c->state_path, "/srv/cbt");
	assert_string_equal(c->catalog, "/srv/cbt/catalog.db");
	assert_string_equal(c->backup_posix_path, "/srv/cbt/backup");
	assert_non_null(strstr(cbt_config_origin(c, "state_path"), CBTSHIP_STATE_DIR_ENV));
}

/* No path, no $CBTSHIP_CONFIG, no default file: the defaults, no error. */
static void missing_default_file_is_fine(void **state)
{
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	_cleanup_(freep) char *err = NULL;

	(void)state;
	if (access(CBT_CONFIG_DEFAULT_PATH, F_OK) == 0)
		skip(); /* this host has one */
	assert_int_equal(cbt_config_load(NULL, &c, &err), 0);
	assert_null(err);
	assert_null(c->path);
	assert_string_equal(c->backup_container, "volumebackups");
}

static void missing_explicit_file(void **state)
{
	struct fixture *f = *state;
	struct cbt_config *c = NULL;
	char *err = NULL;
	char path[400];

	snprintf(path, sizeof(path), "%s/nope.conf", f->dir);
	assert_int_equal(cbt_config_load(path, &c, &err), -ENOENT);
	assert_null(c);
	assert_non_null(err);
	assert_non_null(strstr(err, path));
	free(err);
	err = NULL;

	/* $CBTSHIP_CONFIG is just as explicit. */
	setenv(CBT_CONFIG_ENV, path, 1);
	assert_int_equal(cbt_config_load(NULL, &c, &err), -ENOENT);
	assert_non_null(strstr(err, path));
	free(err);
}

static void env_names_the_file(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	_cleanup_(freep) char *err = NULL;

	write_conf(f, "[cbtship]\nbackup_container = fromenv\n", 0644);
	setenv(CBT_CONFIG_ENV, f->path, 1);
	assert_int_equal(cbt_config_load(NULL, &c, &err), 0);
	assert_string_equal(c->path, f->path);
	assert_string_equal(c->backup_container, "fromenv");
}

static void every_type(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	_cleanup_(freep) char *err = NULL;
	static const char text[] =
		"# cbtship test\n"					   /* 1 */
		"[DEFAULT]\n"						   /* 2 */
		"backup_driver = swift\n"				   /* 3 */
		"backup_container = /srv/backups\n"			   /* 4 */
		"state_path = /srv/state\n"				   /* 5 */
		"backup_posix_path = $state_path/posix\n"		   /* 6 */
		"backup_compression_algorithm = zlib\n"			   /* 7 */
		"backup_workers = 4\n"					   /* 8 */
		"backup_file_size = 1G\n"				   /* 9 */
		"backup_sha_block_size_bytes = 65536\n"			   /* 10 */
		"backup_enable_progress_timer = off\n"			   /* 11 */
		"backup_timer_interval = 30\n"				   /* 12 */
		"catalog = ${state_path}/cat.db\n"			   /* 13 */
		"quota_backups = -1\n"					   /* 14 */
		"quota_backup_gigabytes = 5000\n"			   /* 15 */
		"host = backup-host-1\n"				   /* 16 */
		"backup_events_file = /var/log/cbtship/events.json\n"	   /* 17 */
		"backup_encryption_key_file = /etc/cbtship/key\n"	   /* 18 */
		"[cbtship]\n"						   /* 19 */
		"backup_swift_url = https://swift.example:8080/v1/AUTH_\n" /* 20 */
		"backup_swift_auth_url = http://keystone:5000/v3\n"	   /* 21 */
		"backup_swift_auth = single_user\n"			   /* 22 */
		"backup_swift_auth_version = 3\n"			   /* 23 */
		"backup_swift_user = cinder\n"				   /* 24 */
		"backup_swift_key = " SECRET "\n"			   /* 25 */
		"backup_swift_tenant = t1\n"				   /* 26 */
		"backup_swift_project = p1\n"				   /* 27 */
		"backup_swift_project_domain = pd\n"			   /* 28 */
		"backup_swift_user_domain = ud\n"			   /* 29 */
		"backup_swift_container = sc\n"				   /* 30 */
		"backup_swift_retry_attempts = 0\n"			   /* 31 */
		"backup_swift_retry_backoff = 5\n"			   /* 32 */
		"backup_swift_ca_cert_file = /etc/ssl/ca.pem\n"		   /* 33 */
		"backup_swift_auth_insecure = YES\n"			   /* 34 */
		"backup_swift_object_size = 50M\n"			   /* 35 */
		"backup_ceph_conf = /etc/ceph/backup.conf\n"		   /* 36 */
		"backup_ceph_user = backup\n"				   /* 37 */
		"backup_ceph_pool = bpool\n"				   /* 38 */
		"backup_ceph_chunk_size = 4194304\n"			   /* 39 */
		"rados_connect_timeout = 10\n"				   /* 40 */
		"backup_share = nfs.example:/export/backup\n"		   /* 41 */
		"backup_mount_options = vers=4.1,hard\n"		   /* 42 */
		"backup_mount_point_base = /mnt/cbt ; a comment\n";	   /* 43 */

	assert_int_equal(load_text(f, text, 0600, &c, &err), 0);
	assert_null(err);
	assert_string_equal(c->path, f->path);
	assert_int_equal(c->backup_driver, CBT_SERVICE_SWIFT);
	assert_string_equal(c->backup_container, "/srv/backups");
	assert_string_equal(c->state_path, "/srv/state");
	assert_string_equal(c->backup_posix_path, "/srv/state/posix");
	assert_int_equal(c->backup_compression_algorithm, CBT_COMPRESS_ZLIB);
	assert_int_equal(c->backup_workers, 4);
	assert_int_equal(c->backup_file_size, 1ULL << 30);
	assert_int_equal(c->backup_sha_block_size_bytes, 65536);
	assert_false(c->backup_enable_progress_timer);
	assert_int_equal(c->backup_timer_interval, 30);
	assert_string_equal(c->catalog, "/srv/state/cat.db");
	assert_int_equal(c->quota_backups, -1);
	assert_int_equal(c->quota_backup_gigabytes, 5000);
	assert_string_equal(c->host, "backup-host-1");
	assert_string_equal(c->backup_events_file, "/var/log/cbtship/events.json");
	assert_string_equal(c->backup_encryption_key_file, "/etc/cbtship/key");
	assert_string_equal(c->backup_swift_url, "https://swift.example:8080/v1/AUTH_");
	assert_string_equal(c->backup_swift_auth_url, "http://keystone:5000/v3");
	assert_int_equal(c->backup_swift_auth, CBT_SWIFT_AUTH_SINGLE_USER);
	assert_int_equal(c->backup_swift_auth_version, 3);
	assert_string_equal(c->backup_swift_user, "cinder");
	assert_string_equal(c->backup_swift_key, SECRET);
	/* A secret in memory: the process dumps no core from then on. */
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	assert_string_equal(c->backup_swift_tenant, "t1");
	assert_string_equal(c->backup_swift_project, "p1");
	assert_string_equal(c->backup_swift_project_domain, "pd");
	assert_string_equal(c->backup_swift_user_domain, "ud");
	assert_string_equal(c->backup_swift_container, "sc");
	assert_int_equal(c->backup_swift_retry_attempts, 0);
	assert_int_equal(c->backup_swift_retry_backoff, 5);
	assert_string_equal(c->backup_swift_ca_cert_file, "/etc/ssl/ca.pem");
	assert_true(c->backup_swift_auth_insecure);
	assert_int_equal(c->backup_swift_object_size, 50 * 1024 * 1024);
	assert_string_equal(c->backup_ceph_conf, "/etc/ceph/backup.conf");
	assert_string_equal(c->backup_ceph_user, "backup");
	assert_string_equal(c->backup_ceph_pool, "bpool");
	assert_int_equal(c->backup_ceph_chunk_size, 4194304);
	assert_int_equal(c->rados_connect_timeout, 10);
	assert_string_equal(c->backup_share, "nfs.example:/export/backup");
	assert_string_equal(c->backup_mount_options, "vers=4.1,hard");
	assert_string_equal(c->backup_mount_point_base, "/mnt/cbt");

	origin_is_line(f, c, "backup_driver", 3);
	origin_is_line(f, c, "catalog", 13);
	origin_is_line(f, c, "backup_swift_key", 25);
	origin_is_line(f, c, "backup_mount_point_base", 43);
	assert_string_equal(cbt_config_origin(c, "backup_swift_block_size"), "default");
	assert_string_equal(cbt_config_container(c), "sc");
	assert_int_equal(cbt_config_check_driver(c, NULL), 0);
}

static void booleans(void **state)
{
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	static const char *const yes[] = { "true", "TRUE", "yes", "Yes", "on", "ON", "1" };
	static const char *const no[] = { "false", "False", "no", "NO", "off", "Off", "0" };
	static const char *const bad[] = { "y", "2", "truee", "enabled", "-1", "01" };

	(void)state;
	assert_int_equal(cbt_config_new(&c), 0);
	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		assert_int_equal(cbt_config_set(c, "backup_swift_auth_insecure", yes[i], "t", NULL),
				 0);
		assert_true(c->backup_swift_auth_insecure);
		assert_int_equal(cbt_config_set(c, "backup_swift_auth_insecure", no[i], "t", NULL),
				 0);
		assert_false(c->backup_swift_auth_insecure);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		char *err = NULL;

		assert_int_equal(
			cbt_config_set(c, "backup_enable_progress_timer", bad[i], "--x", &err),
			-EINVAL);
		assert_non_null(strstr(err, "true/false"));
		free(err);
		assert_true(c->backup_enable_progress_timer);
	}
}

static void integers_are_strict(void **state)
{
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	static const char *const bad[] = { "",
					   "4x",
					   "4 ",
					   "+4",
					   "0x10",
					   "1.5",
					   "0",
					   "1025",
					   "-1",
					   "four",
					   "99999999999999999999" };
	static const char *const bad_sizes[] = { "-1", "1Q", "K", "0", "1.5M", "1e6" };
	static const char *const bad_chunks[] = { "1000", "2K", "32M", "48K" };

	(void)state;
	assert_int_equal(cbt_config_new(&c), 0);
	assert_int_equal(cbt_config_set(c, "backup_workers", "1024", "t", NULL), 0);
	assert_int_equal(c->backup_workers, 1024);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		char *err = NULL;

		if (!*bad[i]) /* "" restores the default */
			continue;
		assert_int_equal(cbt_config_set(c, "backup_workers", bad[i], "--workers", &err),
				 -EINVAL);
		assert_non_null(strstr(err, "--workers"));
		assert_non_null(strstr(err, "backup_workers"));
		assert_non_null(strstr(err, "an integer from 1 to 1024"));
		free(err);
		assert_int_equal(c->backup_workers, 1024);
	}
	assert_int_equal(cbt_config_set(c, "quota_backups", "-1", "t", NULL), 0);
	assert_int_equal(c->quota_backups, -1);
	assert_int_equal(cbt_config_set(c, "quota_backups", "-2", "t", NULL), -EINVAL);
	assert_int_equal(cbt_config_set(c, "rados_connect_timeout", "-1", "t", NULL), 0);
	assert_int_equal(cbt_config_set(c, "backup_swift_retry_attempts", "101", "t", NULL),
			 -EINVAL);

	for (size_t i = 0; i < ELEMENTSOF(bad_sizes); i++)
		assert_int_equal(cbt_config_set(c, "backup_file_size", bad_sizes[i], "t", NULL),
				 -EINVAL);
	assert_int_equal(cbt_config_set(c, "backup_file_size", "64K", "t", NULL), 0);
	assert_int_equal(c->backup_file_size, 65536);
	for (size_t i = 0; i < ELEMENTSOF(bad_chunks); i++)
		assert_int_equal(
			cbt_config_set(c, "backup_sha_block_size_bytes", bad_chunks[i], "t", NULL),
			-EINVAL);
	assert_int_equal(cbt_config_set(c, "backup_sha_block_size_bytes", "4K", "t", NULL), 0);
	assert_int_equal(cbt_config_set(c, "backup_sha_block_size_bytes", "16M", "t", NULL), 0);
	assert_int_equal(c->backup_sha_block_size_bytes, 16 * 1024 * 1024);
}

static void cinder_class_paths(void **state)
{
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	static const struct {
		const char *value;
		enum cbt_service driver;
	} ok[] = {
		{ "cinder.backup.drivers.swift.SwiftBackupDriver", CBT_SERVICE_SWIFT },
		{ "cinder.backup.drivers.ceph.CephBackupDriver", CBT_SERVICE_CEPH },
		{ "cinder.backup.drivers.nfs.NFSBackupDriver", CBT_SERVICE_NFS },
		{ "cinder.backup.drivers.posix.PosixBackupDriver", CBT_SERVICE_POSIX },
		{ "cinder.backup.drivers.swift", CBT_SERVICE_SWIFT },
		{ "cinder.backup.drivers.nfs", CBT_SERVICE_NFS },
		{ "SWIFT", CBT_SERVICE_SWIFT },
		{ "ceph", CBT_SERVICE_CEPH },
		{ "nfs", CBT_SERVICE_NFS },
		{ "posix", CBT_SERVICE_POSIX },
	};
	char *err = NULL;

	(void)state;
	assert_int_equal(cbt_config_new(&c), 0);
	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		assert_int_equal(cbt_config_set(c, "backup_driver", ok[i].value, "t", NULL), 0);
		assert_int_equal(c->backup_driver, ok[i].driver);
	}
	assert_int_equal(cbt_config_set(c, "backup_driver",
					"cinder.backup.drivers.gcs.GoogleBackupDriver", "t", &err),
			 -EOPNOTSUPP);
	assert_non_null(strstr(err, "not implement"));
	free(err);
	assert_int_equal(cbt_config_set(c, "backup_driver", "tsm", "t", &err), -EINVAL);
	assert_non_null(strstr(err, "posix, swift, ceph or nfs"));
	free(err);
	assert_int_equal(c->backup_driver, CBT_SERVICE_POSIX);

	assert_int_equal(cbt_config_set(c, "backup_driver", "ceph", "t", NULL), 0);
	assert_string_equal(cbt_config_container(c), "backups");
}

static void unsupported_cinder_values(void **state)
{
	struct fixture *f = *state;
	struct cbt_config *c = NULL;
	char *err = NULL;

	assert_int_equal(
		load_text(f, "[DEFAULT]\nbackup_compression_algorithm = bz2\n", 0644, &c, &err),
		-EOPNOTSUPP);
	assert_null(c);
	assert_true(names_line(f, err, 2));
	assert_non_null(strstr(err, "bz2"));
	assert_non_null(strstr(err, "zstd, zlib (or gzip) or none"));
	free(err);

	assert_int_equal(load_text(f, "[cbtship]\nbackup_swift_auth_version = 2\n", 0644, &c, &err),
			 -EOPNOTSUPP);
	assert_true(names_line(f, err, 2));
	assert_non_null(strstr(err, "auth 2.0"));
	free(err);
}

static void bad_values_and_unknown_options(void **state)
{
	struct fixture *f = *state;
	struct cbt_config *c = NULL;
	char *err = NULL;
	static const char text[] = "[cbtship]\n"		     /* 1 */
				   "backup_workers = many\n"	     /* 2 */
				   "\n"				     /* 3 */
				   "backup_swfit_url = http://x/\n"  /* 4 */
				   "backup_swift_url = ftp://x/\n"   /* 5 */
				   "backup_share = /just/a/path\n"   /* 6 */
				   "catalog = relative/catalog.db\n" /* 7 */
				   "backup_container = a/b\n"	     /* 8 */
				   "backup_swift_auth = everyone\n"  /* 9 */
				   "[swift]\n"			     /* 10 */
				   "anything = 1\n"		     /* 11 */
				   "[DEFAULT]\n"		     /* 12 */
				   "this line has no equals sign\n"  /* 13 */
				   "backup_container =\n"	     /* 14 */
				   "backup_timer_interval = 10s\n";  /* 15 */

	assert_int_equal(load_text(f, text, 0644, &c, &err), -EINVAL);
	assert_null(c);
	assert_non_null(err);
	assert_true(names_line(f, err, 2));
	assert_non_null(strstr(err, "'many' for backup_workers: expected an integer from 1 to"));
	assert_true(names_line(f, err, 4));
	assert_non_null(strstr(err, "unknown option 'backup_swfit_url' in [cbtship]"));
	assert_true(names_line(f, err, 5));
	assert_non_null(strstr(err, "http:// or https://"));
	assert_true(names_line(f, err, 6));
	assert_non_null(strstr(err, "HOST:/EXPORT"));
	assert_true(names_line(f, err, 7));
	assert_non_null(strstr(err, "absolute path"));
	assert_true(names_line(f, err, 8));
	assert_true(names_line(f, err, 9));
	assert_non_null(strstr(err, "per_user or single_user"));
	assert_true(names_line(f, err, 10));
	assert_non_null(strstr(err, "unknown section [swift]"));
	assert_false(names_line(f, err, 11)); /* the section is reported, not each option */
	assert_true(names_line(f, err, 13));
	assert_non_null(strstr(err, "syntax error"));
	assert_true(names_line(f, err, 14));
	assert_non_null(strstr(err, "backup_container must not be empty"));
	assert_true(names_line(f, err, 15));
	assert_false(names_line(f, err, 1));
	assert_false(names_line(f, err, 3));
	assert_false(names_line(f, err, 12));
	free(err);

	/* Outside a section. */
	assert_int_equal(load_text(f, "backup_workers = 2\n", 0644, &c, &err), -EINVAL);
	assert_true(names_line(f, err, 1));
	assert_non_null(strstr(err, "outside a section"));
	free(err);
}

/* Lines libinih would cut or join: too long, NUL bytes, indented lines. */
static void awkward_lines(void **state)
{
	struct fixture *f = *state;
	struct cbt_config *c = NULL;
	char *err = NULL;
	char text[1024];
	char longval[400];

	memset(longval, 'a', sizeof(longval) - 1);
	longval[sizeof(longval) - 1] = '\0';
	snprintf(text, sizeof(text), "[cbtship]\nbackup_mount_options = %s\nhost = h\n", longval);
	assert_int_equal(load_text(f, text, 0644, &c, &err), -EINVAL);
	assert_true(names_line(f, err, 2));
	assert_non_null(strstr(err, "too long"));
	assert_false(names_line(f, err, 3));
	free(err);

	write_conf(f, "", 0644);
	{
		FILE *fp = fopen(f->path, "w");

		assert_non_null(fp);
		assert_int_equal(fwrite("[cbtship]\nhost = a\0b\n", 1, 21, fp), 21);
		assert_int_equal(fclose(fp), 0);
	}
	assert_int_equal(cbt_config_load(f->path, &c, &err), -EINVAL);
	assert_true(names_line(f, err, 2));
	assert_non_null(strstr(err, "NUL"));
	free(err);

	/* Indented lines are lines of their own, not continuations; CRLF and a BOM are fine. */
	assert_int_equal(load_text(f,
				   "\xEF\xBB\xBF[cbtship]\r\n"
				   "  backup_container = c1\r\n"
				   "\thost = h1\r\n",
				   0644, &c, &err),
			 0);
	assert_string_equal(c->backup_container, "c1");
	assert_string_equal(c->host, "h1");
	origin_is_line(f, c, "host", 3);
	c = cbt_config_free(c);
}

static void secrets_need_a_private_file(void **state)
{
	struct fixture *f = *state;
	struct cbt_config *c = NULL;
	char *err = NULL;
	static const char with_key[] = "[cbtship]\n"
				       "backup_driver = swift\n"
				       "backup_swift_key = " SECRET "\n";
	static const char without_key[] = "[cbtship]\n"
					  "backup_driver = swift\n"
					  "backup_swift_user = u\n";

	assert_int_equal(load_text(f, with_key, 0644, &c, &err), -EACCES);
	assert_null(c);
	assert_non_null(strstr(err, f->path));
	assert_non_null(strstr(err, "0644"));
	assert_non_null(strstr(err, "backup_swift_key"));
	assert_true(names_line(f, err, 3));
	assert_null(strstr(err, SECRET));
	free(err);

	assert_int_equal(load_text(f, with_key, 0640, &c, &err), -EACCES);
	assert_non_null(strstr(err, "0640"));
	free(err);
	assert_int_equal(load_text(f, with_key, 0604, &c, &err), -EACCES);
	free(err);

	assert_int_equal(load_text(f, with_key, 0600, &c, &err), 0);
	assert_string_equal(c->backup_swift_key, SECRET);
	c = cbt_config_free(c);
	assert_int_equal(load_text(f, with_key, 0400, &c, &err), 0);
	c = cbt_config_free(c);

	/* No secret: others may read it. */
	assert_int_equal(load_text(f, without_key, 0644, &c, &err), 0);
	assert_null(err);
	assert_string_equal(c->backup_swift_user, "u");
	c = cbt_config_free(c);

	/* An empty key is no secret. */
	assert_int_equal(load_text(f, "[cbtship]\nbackup_swift_key =\n", 0644, &c, &err), 0);
	assert_null(c->backup_swift_key);
	c = cbt_config_free(c);

	/* set() takes a key too. */
	assert_int_equal(cbt_config_new(&c), 0);
	assert_int_equal(cbt_config_set(c, "backup_swift_key", SECRET, "--key", &err), 0);
	assert_string_equal(c->backup_swift_key, SECRET);
	c = cbt_config_free(c);
}

static void dump_masks_secrets(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	_cleanup_(cbt_config_freep) struct cbt_config *again = NULL;
	_cleanup_(freep) char *err = NULL;
	_cleanup_(freep) char *text = NULL;
	_cleanup_(freep) char *json = NULL;
	char want[400];
	json_error_t jerr;
	json_t *root, *opts, *o;

	assert_int_equal(load_text(f,
				   "[cbtship]\n"
				   "backup_driver = swift\n"
				   "backup_swift_key = " SECRET "\n"
				   "backup_workers = 3\n",
				   0600, &c, &err),
			 0);

	text = dump_to_string(c, false);
	assert_null(strstr(text, SECRET));
	assert_non_null(strstr(text, "backup_swift_key = *** ; "));
	snprintf(want, sizeof(want), "backup_workers = 3 ; %s:4\n", f->path);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "backup_container = volumebackups ; default\n"));
	assert_non_null(strstr(text, "# backup_swift_url = (unset; default)\n"));
	assert_non_null(
		strstr(text, "backup_file_size = 1999994880 ; default, ignored by cbtship"));
	/* Every option is there. */
	assert_non_null(strstr(text, "backup_mount_point_base = "));
	assert_non_null(strstr(text, "rados_connect_timeout = -1 ; default"));

	/* The text dump loads back (the key as "***", harmless). */
	write_conf(f, text, 0600);
	assert_int_equal(cbt_config_load(f->path, &again, &err), 0);
	assert_int_equal(again->backup_workers, 3);
	assert_int_equal(again->backup_driver, CBT_SERVICE_SWIFT);
	assert_string_equal(again->host, c->host);

	json = dump_to_string(c, true);
	assert_null(strstr(json, SECRET));
	root = json_loads(json, 0, &jerr);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "file")), f->path);
	opts = json_object_get(root, "options");
	assert_non_null(opts);
	o = json_object_get(opts, "backup_swift_key");
	assert_string_equal(json_string_value(json_object_get(o, "value")), "***");
	assert_true(json_is_true(json_object_get(o, "secret")));
	o = json_object_get(opts, "backup_workers");
	assert_int_equal(json_integer_value(json_object_get(o, "value")), 3);
	snprintf(want, sizeof(want), "%s:4", f->path);
	assert_string_equal(json_string_value(json_object_get(o, "origin")), want);
	o = json_object_get(opts, "backup_swift_url");
	assert_true(json_is_null(json_object_get(o, "value")));
	assert_string_equal(json_string_value(json_object_get(o, "origin")), "default");
	o = json_object_get(opts, "backup_enable_progress_timer");
	assert_true(json_is_true(json_object_get(o, "value")));
	o = json_object_get(opts, "backup_ceph_chunk_size");
	assert_true(json_is_true(json_object_get(o, "ignored")));
	o = json_object_get(opts, "backup_driver");
	assert_string_equal(json_string_value(json_object_get(o, "value")), "swift");
	json_decref(root);
}

static void section_precedence(void **state)
{
	struct fixture *f = *state;
	struct cbt_config *c = NULL;
	char *err = NULL;

	/* [cbtship] wins over [DEFAULT], before or after it. */
	assert_int_equal(load_text(f,
				   "[cbtship]\n"
				   "backup_container = from-cbtship\n"
				   "[DEFAULT]\n"
				   "backup_container = from-default\n"
				   "backup_workers = 7\n"
				   "host = h-default\n"
				   "[cbtship]\n"
				   "host = h-cbtship\n"
				   "host = h-cbtship-last\n",
				   0644, &c, &err),
			 0);
	assert_string_equal(c->backup_container, "from-cbtship");
	origin_is_line(f, c, "backup_container", 2);
	assert_int_equal(c->backup_workers, 7);
	origin_is_line(f, c, "backup_workers", 5);
	assert_string_equal(c->host, "h-cbtship-last"); /* last in a section wins */
	origin_is_line(f, c, "host", 9);
	c = cbt_config_free(c);

	/* Within [DEFAULT] the last value wins too. */
	assert_int_equal(
		load_text(f, "[DEFAULT]\nbackup_workers = 2\nbackup_workers = 5\n", 0644, &c, &err),
		0);
	assert_int_equal(c->backup_workers, 5);
	c = cbt_config_free(c);

	/* A bad value overridden by [cbtship] is still an error. */
	assert_int_equal(load_text(f,
				   "[cbtship]\nbackup_workers = 2\n"
				   "[DEFAULT]\nbackup_workers = lots\n",
				   0644, &c, &err),
			 -EINVAL);
	assert_true(names_line(f, err, 4));
	free(err);
}

static void set_overrides(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	char *err = NULL;

	assert_int_equal(load_text(f,
				   "[cbtship]\n"
				   "backup_container = file-container\n"
				   "backup_posix_path = /srv/posix\n",
				   0644, &c, &err),
			 0);
	assert_int_equal(
		cbt_config_set(c, "backup_container", "cli-container", "--container", &err), 0);
	assert_null(err);
	assert_string_equal(c->backup_container, "cli-container");
	assert_string_equal(cbt_config_origin(c, "backup_container"), "--container");

	/* Same validation; the value is kept; the message names the origin. */
	assert_int_equal(cbt_config_set(c, "backup_container", "../x", "--container", &err),
			 -EINVAL);
	assert_non_null(strstr(err, "--container"));
	assert_non_null(strstr(err, "backup_container"));
	assert_non_null(strstr(err, "'../x'"));
	free(err);
	assert_string_equal(c->backup_container, "cli-container");
	assert_int_equal(
		cbt_config_set(c, "backup_compression_algorithm", "bz2", "--compression", &err),
		-EOPNOTSUPP);
	assert_non_null(strstr(err, "--compression"));
	free(err);
	assert_int_equal(cbt_config_set(c, "no_such", "1", "--x", &err), -ENOENT);
	assert_non_null(strstr(err, "no_such"));
	free(err);

	/* state_path moves the defaults derived from it, not what the file set. */
	assert_int_equal(cbt_config_set(c, "state_path", "/tmp/st", "--state-dir", NULL), 0);
	assert_string_equal(c->catalog, "/tmp/st/catalog.db");
	assert_string_equal(c->backup_mount_point_base, "/tmp/st/backup_mount");
	assert_string_equal(c->backup_posix_path, "/srv/posix");
	/* Relative paths are fine from the command line. */
	assert_int_equal(cbt_config_set(c, "catalog", "rel/cat.db", "--catalog", NULL), 0);
	assert_string_equal(c->catalog, "rel/cat.db");

	/* NULL restores a default, unsets an optional string. */
	assert_int_equal(cbt_config_set(c, "backup_container", NULL, "--container", NULL), 0);
	assert_string_equal(c->backup_container, "volumebackups");
	assert_string_equal(cbt_config_origin(c, "backup_container"), "default");
	assert_int_equal(cbt_config_set(c, "backup_swift_url", "https://s/v1/", "--url", NULL), 0);
	assert_string_equal(c->backup_swift_url, "https://s/v1/");
	assert_int_equal(cbt_config_set(c, "backup_swift_url", "", "--url", NULL), 0);
	assert_null(c->backup_swift_url);
}

static void driver_requirements(void **state)
{
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	char *err = NULL;

	(void)state;
	assert_int_equal(cbt_config_new(&c), 0);
	assert_int_equal(cbt_config_set(c, "backup_driver", "nfs", "t", NULL), 0);
	assert_int_equal(cbt_config_check_driver(c, &err), -EINVAL);
	assert_non_null(strstr(err, "backup_share"));
	free(err);
	assert_int_equal(cbt_config_set(c, "backup_share", "[fd00::1]:/export", "t", NULL), 0);
	assert_int_equal(cbt_config_check_driver(c, NULL), 0);

	assert_int_equal(cbt_config_set(c, "backup_driver", "swift", "t", NULL), 0);
	assert_int_equal(cbt_config_check_driver(c, &err), -EINVAL);
	free(err);
	assert_int_equal(cbt_config_set(c, "backup_swift_auth", "single_user", "t", NULL), 0);
	assert_int_equal(cbt_config_set(c, "backup_swift_auth_url", "http://ks:5000", "t", NULL),
			 0);
	assert_int_equal(cbt_config_check_driver(c, &err), -EINVAL);
	assert_non_null(strstr(err, "backup_swift_user"));
	free(err);
	assert_int_equal(cbt_config_set(c, "backup_swift_user", "u", "t", NULL), 0);
	assert_int_equal(cbt_config_set(c, "backup_swift_key", "k", "t", NULL), 0);
	assert_int_equal(cbt_config_check_driver(c, NULL), 0);
	assert_int_equal(cbt_config_set(c, "backup_swift_auth_version", "3", "t", NULL), 0);
	assert_int_equal(cbt_config_check_driver(c, &err), -EINVAL);
	assert_non_null(strstr(err, "backup_swift_project"));
	free(err);
}

/* etc/cbtship.conf loads as it is and lists every option. */
static void sample_config_lists_every_option(void **state)
{
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	_cleanup_(freep) char *err = NULL;
	_cleanup_(freep) char *dump = NULL;
	_cleanup_(freep) char *sample = NULL;
	_cleanup_(fclosep) FILE *fp = NULL;
	size_t len = 0;
	unsigned n = 0;

	(void)state;
	fp = fopen("etc/cbtship.conf", "r");
	if (!fp)
		skip(); /* not run from the repository */
	assert_int_not_equal(getdelim(&sample, &len, '\0', fp), -1);
	assert_int_equal(cbt_config_load("etc/cbtship.conf", &c, &err), 0);
	assert_null(err);

	/* The option names are the first word of the dump's lines. */
	dump = dump_to_string(c, false);
	for (char *line = strtok(dump, "\n"); line; line = strtok(NULL, "\n")) {
		char name[128], want[140];
		int end = 0;

		if (line[0] == '#')
			sscanf(line, "# %127[a-z_] = (unset%n", name, &end);
		else
			sscanf(line, "%127[a-z_] = %n", name, &end);
		if (end == 0)
			continue;
		assert_true(cbt_config_option_exists(name));
		snprintf(want, sizeof(want), "\n#%s =", name);
		if (!strstr(sample, want))
			fail_msg("etc/cbtship.conf does not list %s", name);
		n++;
	}
	assert_true(n >= 45);
}

/* cbt_config_parse: the same parser over bytes in memory (what tests/fuzz/fuzz-config.c drives). */
static void parse_from_memory(void **state)
{
	static const char text[] = "[cbtship]\nbackup_workers = 5\nbackup_swift_key = " SECRET
				   "\n[DEFAULT]\nbackup_driver = swift\n";
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	_cleanup_(freep) char *err = NULL;

	(void)state;
	/* No NUL needed: only len bytes are read (the last newline is cut). */
	assert_int_equal(cbt_config_parse("mem.conf", text, sizeof(text) - 2, 0600, &c, &err), 0);
	assert_null(err);
	assert_int_equal(c->backup_workers, 5);
	assert_int_equal(c->backup_driver, CBT_SERVICE_SWIFT);
	assert_string_equal(cbt_config_origin(c, "backup_workers"), "mem.conf:2");
	c = cbt_config_free(c);

	/* The mode counts as a file's would. */
	assert_int_equal(cbt_config_parse("mem.conf", text, sizeof(text) - 1, 0644, &c, &err),
			 -EACCES);
	assert_non_null(strstr(err, "mem.conf:3: backup_swift_key is a secret"));
	free(err);
	err = NULL;
	assert_int_equal(cbt_config_parse("mem.conf", "[cbtship]\nnope = 1\n", 18, 0600, &c, &err),
			 -EINVAL);
	assert_non_null(strstr(err, "mem.conf:2: unknown option 'nope'"));
	free(err);
	err = NULL;
	assert_int_equal(cbt_config_parse("mem.conf", "", 0, 0600, &c, &err), 0);
	assert_int_equal(c->backup_driver, CBT_SERVICE_POSIX);
}

/*
 * A value that is not UTF-8 is refused at load, naming the line (found by
 * fuzz-config: it loaded, and then config-show --format json failed).
 */
static void value_not_utf8(void **state)
{
	struct fixture *f = *state;
	_cleanup_(cbt_config_freep) struct cbt_config *c = NULL;
	_cleanup_(freep) char *err = NULL;

	assert_int_equal(load_text(f, "[cbtship]\nbackup_container = caf\xe9\n", 0600, &c, &err),
			 -EINVAL);
	assert_non_null(strstr(err, ":2: the value of backup_container is not UTF-8 text"));
	free(err);
	err = NULL;
	assert_int_equal(
		load_text(f, "[cbtship]\nbackup_container = caf\xc3\xa9\n", 0600, &c, &err), 0);
	assert_string_equal(c->backup_container, "caf\xc3\xa9");
	assert_int_equal(cbt_config_set(c, "backup_container", "\xff", NULL, &err), -EINVAL);
	assert_non_null(strstr(err, "not UTF-8"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(defaults_without_file, setup, teardown),
		cmocka_unit_test_setup_teardown(defaults_follow_state_dir_env, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_default_file_is_fine, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_explicit_file, setup, teardown),
		cmocka_unit_test_setup_teardown(env_names_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(every_type, setup, teardown),
		cmocka_unit_test_setup_teardown(booleans, setup, teardown),
		cmocka_unit_test_setup_teardown(integers_are_strict, setup, teardown),
		cmocka_unit_test_setup_teardown(cinder_class_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(unsupported_cinder_values, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_values_and_unknown_options, setup, teardown),
		cmocka_unit_test_setup_teardown(awkward_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(secrets_need_a_private_file, setup, teardown),
		cmocka_unit_test_setup_teardown(dump_masks_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(section_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(set_overrides, setup, teardown),
		cmocka_unit_test_setup_teardown(driver_requirements, setup, teardown),
		cmocka_unit_test_setup_teardown(sample_config_lists_every_option, setup, teardown),
		cmocka_unit_test_setup_teardown(parse_from_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(value_not_utf8, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
