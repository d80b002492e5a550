/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbtship service-list: this host's backup service as cinder's service-list
 * shows it (binary, host, status, state, updated at), with the configured
 * back end, its target, and whether the target answers now: a POSIX
 * directory that can be written, an NFS share that mounts, a Swift account
 * that authenticates and has the container, a Ceph cluster whose pool's
 * OSDs answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cbtship/backup/ceph-backup.h"
#include "cbtship/backup/context.h"
#include "cbtship/backup/repository.h"
#include "cbtship/commands.h"
#include "cbtship/output.h"

/* 0 when the configured target answers; else why not, in why. */
static int probe(enum catalog_service service, char *target, size_t tlen, char *why, size_t wlen)
{
	const struct cbt_config *cfg = cbtship_config();
	char *err = NULL;
	int r;

	if (service == CATALOG_SERVICE_CEPH) {
		struct cbt_rbd_config rc = {
			.conf = cfg->backup_ceph_conf,
			.user = cfg->backup_ceph_user,
			.pool = cfg->backup_ceph_pool,
			.timeout_seconds = cfg->rados_connect_timeout > 0
						   ? (unsigned)cfg->rados_connect_timeout
						   : 10,
		};

		snprintf(target, tlen, "pool %s (%s)", cfg->backup_ceph_pool,
			 cfg->backup_ceph_conf ? cfg->backup_ceph_conf : "default ceph.conf");
		r = cbt_rbd_ping(&rc, &err);
	} else {
		_cleanup_(cbt_repository_freep) struct cbt_repository *repo = NULL;

		r = cbt_repository_open(service, NULL, CBT_REPOSITORY_CREATE, &repo, &err);
		if (service == CATALOG_SERVICE_SWIFT)
			snprintf(target, tlen, "container %s at %s", cfg->backup_swift_container,
				 cfg->backup_swift_auth_url ? cfg->backup_swift_auth_url
				 : cfg->backup_swift_url    ? cfg->backup_swift_url
							    : "(no backup_swift_url)");
		else
			snprintf(target, tlen, "%s%s%s",
				 service == CATALOG_SERVICE_NFS && cfg->backup_share
					 ? cfg->backup_share
					 : "",
				 service == CATALOG_SERVICE_NFS ? " " : "",
				 repo && repo->path ? repo->path : cfg->backup_container);
		if (r >= 0 && repo->path && access(repo->path, W_OK) < 0) {
			r = -errno;
			snprintf(why, wlen, "%s: %s", repo->path, strerror(errno));
			return r;
		}
	}
	if (r < 0)
		snprintf(why, wlen, "%s", err ? err : strerror(-r));
	free(err);
	return r;
}

int cbtship_service_list(int argc, char **argv)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	enum cbtship_format format;
	enum catalog_service service = cbtship_configured_service();
	char target[1024] = "", why[1024] = "", now[40];
	int r = cbtship_parse_format_only("service-list", argc, argv,
					  1u << CBTSHIP_FORMAT_TABLE | 1u << CBTSHIP_FORMAT_JSON,
					  &format, 0);

	if (r)
		return r < 0 ? EXIT_SUCCESS : r;
	if (cbtship_catalog_open("service-list", &c) < 0)
		return EXIT_FAILURE;
	r = probe(service, target, sizeof(target), why, sizeof(why));
	catalog_time_format(catalog_now(), now, sizeof(now));
	if (format == CBTSHIP_FORMAT_JSON) {
		_cleanup_(json_decrefp) json_t *a = json_pack(
			"[{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s?}]", "binary",
			"cbtship-backup", "host", catalog_host(c), "zone", "nova", "status",
			"enabled", "state", r >= 0 ? "up" : "down", "updated_at", now, "backend",
			catalog_service_to_string(service), "target", target, "target_answers",
			r >= 0, "problem", r < 0 ? why : NULL);

		return a && cbtship_json_print(a) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	}
	printf("| %-14s | %-20s | %-4s | %-7s | %-5s | %-26s | %-7s | %s\n", "Binary", "Host",
	       "Zone", "Status", "State", "Updated_at", "Backend", "Target");
	printf("| %-14s | %-20s | %-4s | %-7s | %-5s | %-26s | %-7s | %s%s%s\n", "cbtship-backup",
	       catalog_host(c), "nova", "enabled", r >= 0 ? "up" : "down", now,
	       catalog_service_to_string(service), target, r >= 0 ? "" : ": ", r >= 0 ? "" : why);
	return EXIT_SUCCESS;
}
