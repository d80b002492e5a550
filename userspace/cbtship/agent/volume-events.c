/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The target's events into the catalog: why the next backup must read everything. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/agent/agent.h"

/* Set v's full_read_reason to "WHO at TIME that WHAT"; logged. */
static void set_reason_by(struct catalog *c, struct agent_log *log, struct catalog_volume *v,
			  const char *who, const char *what)
{
	char stamp[32], *reason = NULL;

	catalog_time_format(catalog_now(), stamp, sizeof(stamp));
	if (asprintf(&reason, "%s at %sZ that %s", who, stamp, what) < 0) {
		agent_log_error(log, "%s: out of memory", v->name);
		return;
	}
	free(v->full_read_reason);
	v->full_read_reason = reason;
	if (catalog_volume_set_full_read_reason(c, v->id, reason) < 0)
		agent_log_error(log, "%s: %s; cannot record it in the catalog: %s", v->name, reason,
				catalog_error(c));
	else
		agent_log_info(log, "%s: %s: its next backup reads everything", v->name, reason);
}

static void set_reason(struct catalog *c, struct agent_log *log, struct catalog_volume *v,
		       const char *what)
{
	set_reason_by(c, log, v, "dm-cbt reported", what);
}

static const char *event_meaning(enum dm_cbt_event event)
{
	switch (event) {
	case DM_CBT_EVENT_INVALIDATED:
		return "the change map was invalidated (history lost, new generation)";
	case DM_CBT_EVENT_METADATA_ERROR:
		return "its metadata device failed (I/O error): the change map cannot be trusted";
	case DM_CBT_EVENT_DETACHED:
		return "its tracking had been removed without cbtship (the cbt table was suspended "
		       "and replaced or removed without prepare_detach, e.g. by lvextend or "
		       "lvchange --refresh): writes may have gone untracked; history lost, new "
		       "generation";
	default:
		return NULL;
	}
}

void agent_volume_event(struct catalog *c, struct agent_log *log, const struct cbt_event *e)
{
	_cleanup_(catalog_volume_freep) struct catalog_volume *v = NULL;
	const char *what = event_meaning(e->event);
	int r;

	if (!what)
		return;
	r = catalog_volume_get(c, e->name, &v);
	if (r == -ENOENT) {
		agent_log_info(log, "%s: %s (not a volume of the catalog)", e->name, what);
		return;
	}
	if (r < 0) {
		agent_log_error(log, "%s: %s; cannot read its catalog record: %s", e->name, what,
				catalog_error(c));
		return;
	}
	set_reason(c, log, v, what);
}

/*
 * A volume of the catalog tracked on this host whose dm device has no cbt
 * table (any more): something other than cbtship replaced or removed it
 * (LVM reloads its own table over an LV tracked in place at lvextend,
 * lvchange --refresh, pvmove), and writes since are untracked.
 */
static void check_layer(struct catalog *c, struct agent_log *log, struct catalog_volume *v)
{
	int r = cbt_device_is_tracked(v->name);

	if (r != 0)
		return;
	set_reason_by(c, log, v, "the agent found",
		      "its dm device had lost its cbt layer (its table replaced or removed "
		      "without 'cbtship untrack', e.g. by lvextend, lvchange --refresh or "
		      "pvmove): writes since are not tracked; track it again");
}

void agent_volume_check_states(struct catalog *c, struct agent_log *log)
{
	struct catalog_volume **vols = NULL;
	size_t n = 0;

	if (catalog_volume_list(c, NULL, &vols, &n) < 0) {
		agent_log_error(log, "cannot read the volumes of the catalog: %s",
				catalog_error(c));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct cbt_status st;

		/* A refused re-attach already says why (status error). */
		if (!vols[i]->tracked || vols[i]->full_read_reason ||
		    vols[i]->status == CATALOG_VOLUME_ERROR)
			continue;
		if (cbt_device_get_status(vols[i]->name, &st) < 0) {
			check_layer(c, log, vols[i]);
			continue;
		}
		if (st.state == DM_CBT_STATE_INVALID_ID)
			set_reason(c, log, vols[i], "its change map is invalid (history lost)");
		else if (st.state == DM_CBT_STATE_ERROR_ID)
			set_reason(c, log, vols[i],
				   "its metadata is in error: the change map cannot be trusted");
	}
	catalog_volume_array_free(vols, n);
}
