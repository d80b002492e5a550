/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The agent at shutdown: announce the detaches to come (see agent.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "cbtship/agent/agent.h"

/*
 * systemd's SystemState, asked over its private socket (no D-Bus daemon
 * needed; root only). "stopping" once a shutdown job runs.
 */
static int system_state(char **ret)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_new(&bus);
	if (r < 0)
		return r;
	r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r >= 0)
		r = sd_bus_get_property_string(
			bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
			"org.freedesktop.systemd1.Manager", "SystemState", &error, ret);
	sd_bus_error_free(&error);
	return r < 0 ? r : 0;
}

bool agent_system_stopping(struct agent_log *log)
{
	const char *force = getenv("CBTSHIP_AGENT_SHUTDOWN");
	char *state = NULL;
	bool stopping;
	int r;

	if (force && *force)
		return strcmp(force, "1") == 0;
	r = system_state(&state);
	if (r < 0) {
		agent_log_info(log,
			       "cannot ask systemd whether the system is stopping (%s): "
			       "taken as not stopping",
			       strerror(-r));
		return false;
	}
	stopping = strcmp(state, "stopping") == 0;
	free(state);
	return stopping;
}

void agent_prepare_detach_all(struct catalog *c, struct agent_log *log)
{
	struct catalog_volume **vols = NULL;
	unsigned done = 0, failed = 0;
	size_t n = 0;

	if (catalog_volume_list(c, NULL, &vols, &n) < 0) {
		agent_log_error(log,
				"cannot read the volumes of the catalog: %s: their next "
				"attach will start a new history",
				catalog_error(c));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int r;

		if (!vols[i]->tracked || cbt_device_is_tracked(vols[i]->name) <= 0)
			continue;
		r = cbt_prepare_detach(vols[i]->name);
		if (r < 0) {
			failed++;
			agent_log_error(log,
					"%s: prepare_detach failed (%s): its next attach "
					"starts a new history",
					vols[i]->name, strerror(-r));
		} else {
			done++;
		}
	}
	catalog_volume_array_free(vols, n);
	agent_log_info(log, "system shutdown: %u volume(s) prepared for detach, %u failed", done,
		       failed);
}
