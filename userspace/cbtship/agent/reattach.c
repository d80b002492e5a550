/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Re-creating the catalog's tracked volumes at start (see agent.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cbtship/agent/agent.h"
#include "cbtship/state-dir.h"
#include "cbtship/volume-record.h"

CBT_DEFINE_CLEANUP(char **, cbt_strv_free, cbt_strv_freep)

struct reattach {
	struct catalog *c;
	struct agent_log *log;
	struct catalog_volume *v;
	char **tracked; /* the cbt devices of this host now */
};

static bool is_tracked(const struct reattach *ra)
{
	for (char **n = ra->tracked; *n; n++)
		if (strcmp(*n, ra->v->name) == 0)
			return true;
	return false;
}

/* The volume cannot be re-attached: status error with the reason, logged. */
static int refuse(struct reattach *ra, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int refuse(struct reattach *ra, const char *fmt, ...)
{
	char reason[CBT_ORIGIN_IDENTITY_MAX * 2 + 512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	agent_log_error(ra->log, "%s: not re-attached: %s", ra->v->name, reason);
	if (cbtship_volume_set_status(ra->c, ra->v, CATALOG_VOLUME_ERROR, reason) < 0)
		agent_log_error(ra->log, "%s: cannot record its error in the catalog: %s",
				ra->v->name, catalog_error(ra->c));
	return -1;
}

static void mark_ok(struct reattach *ra)
{
	if (cbtship_volume_set_status(ra->c, ra->v, CATALOG_VOLUME_OK, NULL) < 0)
		agent_log_error(ra->log, "%s: cannot record its status in the catalog: %s",
				ra->v->name, catalog_error(ra->c));
}

/* Is the origin still the device that was tracked? 0, or refused. */
static int check_origin(struct reattach *ra, bool *ret_live)
{
	struct catalog_volume *v = ra->v;
	char identity[CBT_ORIGIN_IDENTITY_MAX], dm_name[128];
	struct stat st;
	int r;

	if (stat(v->origin_path, &st) < 0)
		return errno == ENOENT
			       ? refuse(ra, "origin %s is missing", v->origin_path)
			       : refuse(ra, "origin %s: %s", v->origin_path, strerror(errno));
	r = cbt_origin_identity(v->origin_path, identity, sizeof(identity));
	if (r < 0)
		return refuse(ra, "origin %s cannot be identified: %s", v->origin_path,
			      strerror(-r));
	if (v->origin_identity && strcmp(v->origin_identity, identity) != 0)
		return refuse(ra,
			      "origin %s is not the device that was tracked: its identity is "
			      "now \"%s\", recorded \"%s\" (track it again if it is meant to be)",
			      v->origin_path, identity, v->origin_identity);
	if (!v->origin_identity) {
		/* Recorded before identities were: this one is the reference now. */
		v->origin_identity = strdup(identity);
		if (!v->origin_identity || catalog_volume_update(ra->c, v) < 0)
			agent_log_error(ra->log, "%s: cannot record its origin identity: %s",
					v->name, catalog_error(ra->c));
	}
	/* A device-mapper origin of the same name was tracked in place. */
	*ret_live = cbt_dm_name_of_path(v->origin_path, dm_name, sizeof(dm_name)) == 0 &&
		    strcmp(dm_name, v->name) == 0;
	return 0;
}

/*
 * The metadata must be there: re-creating a missing one would start the
 * history anew on whatever is at that path now (a file under /dev before
 * udev made the device, or on the file system under an unmounted one).
 * Only cbtship's own default metadata file, in a state directory that is
 * there, may start anew: then the next backup reads everything, and says
 * why. 0, or refused.
 */
static int check_metadata(struct reattach *ra)
{
	struct catalog_volume *v = ra->v;
	char reason[PATH_MAX + 128], own[PATH_MAX];
	struct stat st;

	if (stat(v->metadata_path, &st) == 0)
		return 0;
	if (errno != ENOENT)
		return refuse(ra, "metadata %s: %s", v->metadata_path, strerror(errno));
	if (cbtship_default_metadata_path(v->name, own, sizeof(own)) < 0 ||
	    strcmp(own, v->metadata_path) != 0)
		return refuse(ra,
			      "metadata %s is missing (its device or file system is not there?): "
			      "not re-created, which would lose the change history",
			      v->metadata_path);
	snprintf(reason, sizeof(reason),
		 "its metadata %s was missing when the agent re-attached it: the change "
		 "history started anew",
		 v->metadata_path);
	agent_log_error(ra->log, "%s: %s", v->name, reason);
	if (catalog_volume_set_full_read_reason(ra->c, v->id, reason) < 0)
		agent_log_error(ra->log, "%s: cannot record it in the catalog: %s", v->name,
				catalog_error(ra->c));
	return 0;
}

/* 1 re-attached, 0 already tracked, -1 refused. */
static int reattach_one(struct reattach *ra)
{
	struct catalog_volume *v = ra->v;
	struct cbt_status st;
	bool live = false;
	int r;

	if (is_tracked(ra)) {
		agent_log_info(ra->log, "%s: already tracked", v->name);
		mark_ok(ra);
		return 0;
	}
	if (check_origin(ra, &live) < 0)
		return -1;
	if (check_metadata(ra) < 0)
		return -1;
	r = live ? cbt_device_insert(v->name, v->metadata_path, v->block_size, 0)
		 : cbt_device_create(v->name, v->origin_path, v->metadata_path, v->block_size, 0);
	if (r < 0)
		return refuse(ra, "cannot re-create /dev/mapper/%s over %s (metadata %s): %s",
			      v->name, v->origin_path, v->metadata_path, cbtship_track_strerror(r));
	mark_ok(ra);
	if (cbt_device_get_status(v->name, &st) == 0)
		agent_log_info(ra->log,
			       "%s: re-attached over %s%s (metadata %s): %" PRIu64
			       " dirty blocks, checkpoint %" PRIu64 ", state %s",
			       v->name, v->origin_path, live ? " in place" : "", v->metadata_path,
			       st.current_dirty, st.checkpoint, cbt_state_to_string(st.state));
	else
		agent_log_info(ra->log, "%s: re-attached over %s%s (metadata %s)", v->name,
			       v->origin_path, live ? " in place" : "", v->metadata_path);
	return 1;
}

int agent_reattach_all(struct catalog *c, struct agent_log *log, struct agent_reattach_counts *ret)
{
	_cleanup_(cbt_strv_freep) char **tracked = NULL;
	struct catalog_volume **vols = NULL;
	size_t n = 0;
	bool any = false;
	int r;

	*ret = (struct agent_reattach_counts){ 0 };
	r = catalog_volume_list(c, NULL, &vols, &n);
	if (r < 0) {
		agent_log_error(log, "cannot read the volumes of the catalog: %s",
				catalog_error(c));
		return r;
	}
	for (size_t i = 0; i < n; i++)
		any |= vols[i]->tracked;
	/* No tracked volume (a host that only ships backups): device-mapper is not needed. */
	if (!any) {
		catalog_volume_array_free(vols, n);
		return 0;
	}
	r = cbt_device_list(&tracked);
	if (r < 0) {
		agent_log_error(log, "cannot list the device-mapper devices: %s", strerror(-r));
		catalog_volume_array_free(vols, n);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		struct reattach ra = { .c = c, .log = log, .v = vols[i], .tracked = tracked };

		if (!vols[i]->tracked)
			continue;
		if (!vols[i]->metadata_path) {
			if (!is_tracked(&ra))
				agent_log_info(log,
					       "%s: no metadata recorded (tracked before cbtship "
					       "recorded it): not re-attached; track it again",
					       vols[i]->name);
			continue;
		}
		r = reattach_one(&ra);
		if (r > 0)
			ret->reattached++;
		else if (r == 0)
			ret->already++;
		else
			ret->refused++;
	}
	catalog_volume_array_free(vols, n);
	return 0;
}
