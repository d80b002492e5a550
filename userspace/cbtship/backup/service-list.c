/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbtship service-list: the backup workers as cinder's service-list shows
 * them (binary, host, status, state up or down from the heartbeat of the
 * host's agent or jobs within service_down_time, updated at), with, for
 * this host, the configured
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

#include "cbtship/backup/context.h"
#include "cbtship/backup/job.h"
#include "cbtship/driver/driver.h"
#include "cbtship/cli/commands.h"
#include "cbtship/cli/output.h"

/* 0 when the configured target answers; else why not, in why. */
static int probe(enum cbt_service service, char *target, size_t tlen, char *why, size_t wlen)
{
	_cleanup_(cbt_error_clear) struct cbt_error err = CBT_ERROR_INIT;
	int r = cbt_service_driver(service)->ping(service, target, tlen, &err);

	if (r < 0)
		snprintf(why, wlen, "%s", cbt_error_message(&err));
	return r;
}

/* The worker rows: every host's heartbeat, and this host's even before any. */
static int worker_rows(struct catalog *c, struct catalog_worker ***ret, size_t *ret_n)
{
	struct catalog_worker **w = NULL, **grown;
	size_t n = 0;
	int r;

	r = catalog_worker_list(c, &w, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (strcmp(w[i]->host, catalog_host(c)) == 0 &&
		    strcmp(w[i]->binary, CBTSHIP_WORKER_BINARY) == 0)
			goto done;
	grown = realloc(w, (n + 1) * sizeof(*w));
	if (!grown) {
		catalog_worker_array_free(w, n);
		return -ENOMEM;
	}
	w = grown;
	w[n] = calloc(1, sizeof(**w));
	if (!w[n] || !(w[n]->host = strdup(catalog_host(c))) ||
	    !(w[n]->binary = strdup(CBTSHIP_WORKER_BINARY))) {
		catalog_worker_array_free(w, n + 1);
		return -ENOMEM;
	}
	n++;
done:
	*ret = w;
	*ret_n = n;
	return 0;
}

int cbtship_service_list(int argc, char **argv)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	_cleanup_(json_decrefp) json_t *a = NULL;
	const struct cbt_config *cfg = cbtship_config();
	struct catalog_worker **w = NULL;
	size_t n = 0;
	enum cbtship_format format;
	enum cbt_service service = cbtship_configured_service();
	char target[1024] = "", why[1024] = "";
	int64_t down_us =
		(int64_t)(cfg->service_down_time > 0 ? cfg->service_down_time : 60) * 1000000;
	int probed;
	int r = cbtship_parse_format_only("service-list", argc, argv,
					  1u << CBTSHIP_FORMAT_TABLE | 1u << CBTSHIP_FORMAT_JSON,
					  &format, 0);

	if (r)
		return r < 0 ? EXIT_SUCCESS : r;
	if (cbtship_catalog_open("service-list", &c) < 0)
		return EXIT_FAILURE;
	r = worker_rows(c, &w, &n);
	if (r < 0) {
		fprintf(stderr, "cbtship service-list: %s\n",
			r == -ENOMEM ? "out of memory" : catalog_error(c));
		return EXIT_FAILURE;
	}
	probed = probe(service, target, sizeof(target), why, sizeof(why));
	a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		bool here = strcmp(w[i]->host, catalog_host(c)) == 0;
		bool up = w[i]->heartbeat_at && catalog_now() - w[i]->heartbeat_at <= down_us;
		char beat[40] = "";

		if (w[i]->heartbeat_at)
			catalog_time_format(w[i]->heartbeat_at, beat, sizeof(beat));
		/* The target is probed from this host only. */
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:i, s:s?, s:s?, s:s?, s:o, "
				     "s:s?}",
				     "binary", w[i]->binary, "host", w[i]->host, "zone", "nova",
				     "status", "enabled", "state", up ? "up" : "down", "updated_at",
				     beat[0] ? beat : NULL, "pid", (int)w[i]->pid, "version",
				     w[i]->version, "backend",
				     here ? cbt_service_to_string(service) : NULL, "target",
				     here ? target : NULL, "target_answers",
				     here ? json_boolean(probed >= 0) : json_null(), "problem",
				     here && probed < 0 ? why : NULL));
	}
	catalog_worker_array_free(w, n);
	if (!a)
		return EXIT_FAILURE;
	if (format == CBTSHIP_FORMAT_JSON)
		return cbtship_json_print(a) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	printf("| %-14s | %-20s | %-4s | %-7s | %-5s | %-26s | %-7s | %s\n", "Binary", "Host",
	       "Zone", "Status", "State", "Updated_at", "Backend", "Target");
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *o = json_array_get(a, i);
		const char *t = json_string_value(json_object_get(o, "target"));
		const char *p = json_string_value(json_object_get(o, "problem"));
		const char *u = json_string_value(json_object_get(o, "updated_at"));
		const char *be = json_string_value(json_object_get(o, "backend"));

		printf("| %-14s | %-20s | %-4s | %-7s | %-5s | %-26s | %-7s | %s%s%s\n",
		       json_string_value(json_object_get(o, "binary")),
		       json_string_value(json_object_get(o, "host")), "nova", "enabled",
		       json_string_value(json_object_get(o, "state")), u ? u : "-", be ? be : "-",
		       t ? t : "-", p ? ": " : "", p ? p : "");
	}
	return EXIT_SUCCESS;
}
