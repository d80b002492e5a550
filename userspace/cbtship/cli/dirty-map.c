/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtship dirty-map: the dirty blocks of a tracked device, as runs. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/cli/commands.h"
#include "cbtship/cli/output.h"
#include "libcbt.h"

CBT_DEFINE_CLEANUP(struct cbt_map *, cbt_map_free, cbt_map_freep)
CBT_DEFINE_CLEANUP(struct cbt_netlink *, cbt_netlink_free, cbt_netlink_freep)

static int print_ranges(const struct cbt_map *map)
{
	uint64_t cursor = 0, first, count;

	while (cbt_map_next_run(map, &cursor, &first, &count) > 0)
		if (printf("%" PRIu64 " %" PRIu64 "\n", first, count) < 0)
			return -EIO;
	return fflush(stdout) == EOF ? -EIO : 0;
}

static int print_json(const char *name, enum dm_cbt_map which, const struct cbt_status *s,
		      const struct cbt_map *map)
{
	_cleanup_(json_decrefp) json_t *o = NULL;
	uint64_t cursor = 0, first, count;
	json_t *ranges;

	ranges = json_array();
	if (!ranges)
		return -ENOMEM;
	while (cbt_map_next_run(map, &cursor, &first, &count) > 0)
		if (json_array_append_new(ranges, json_pack("[o, o]", cbtship_json_u64(first),
							    cbtship_json_u64(count))) < 0) {
			json_decref(ranges);
			return -ENOMEM;
		}
	o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:o}", "name", name, "map",
		      which == DM_CBT_MAP_FROZEN ? "frozen" : "current", "block_size",
		      cbtship_json_u64((uint64_t)s->block_sectors * 512), "nr_blocks",
		      cbtship_json_u64(cbt_map_nr_blocks(map)), "dirty_blocks",
		      cbtship_json_u64(cbt_map_count(map)), "checkpoint",
		      cbtship_json_u64(s->checkpoint), "frozen_checkpoint",
		      s->frozen_checkpoint ? cbtship_json_u64(s->frozen_checkpoint) : json_null(),
		      "uuid", s->uuid, "state", cbt_state_to_string(s->state), "ranges", ranges);
	if (!o)
		return -ENOMEM;
	return cbtship_json_print(o);
}

const struct cbt_option cbtship_dirty_map_options[] = {
	{ "frozen", 'z', NULL, "the map of the outstanding checkpoint", CBT_OPT_SHORT },
	{ "format", 'f', "ranges|json",
	  "ranges: one line \"FIRST COUNT\" per run of dirty blocks (default)\n"
	  "json: {\"name\", \"map\", \"block_size\", \"nr_blocks\", \"dirty_blocks\", "
	  "\"checkpoint\", \"frozen_checkpoint\", \"uuid\", \"state\", \"ranges\": [[FIRST, "
	  "COUNT], ...]}",
	  CBT_OPT_SHORT },
	CBT_OPTION_END,
};

struct dirty_map_opts {
	enum cbtship_format format;
	enum dm_cbt_map which;
};

static int dirty_map_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	struct dirty_map_opts *o = ctx;

	if (opt->key == 'z') {
		o->which = DM_CBT_MAP_FROZEN;
		return 0;
	}
	return cbtship_option_format("dirty-map", opt, arg, &o->format);
}

int cbtship_dirty_map(int argc, char **argv)
{
	struct dirty_map_opts o = { .format = CBTSHIP_FORMAT_RANGES, .which = DM_CBT_MAP_CURRENT };
	enum cbtship_format format;
	enum dm_cbt_map which;
	_cleanup_(cbt_netlink_freep) struct cbt_netlink *nl = NULL;
	_cleanup_(cbt_map_freep) struct cbt_map *map = NULL;
	struct cbt_status status;
	const char *name;
	int r;

	r = cbt_command_parse("dirty-map", argc, argv, dirty_map_option, &o);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	format = o.format;
	which = o.which;
	name = argv[optind];

	r = cbt_device_is_tracked(name);
	if (r <= 0) {
		fprintf(stderr, "cbtship dirty-map: '%s': %s\n", name,
			r == 0 ? "not a tracked device" : strerror(-r));
		return EXIT_FAILURE;
	}
	r = cbt_netlink_new(&nl);
	if (r < 0) {
		fprintf(stderr, "cbtship dirty-map: cannot open the %s netlink family: %s\n",
			DM_CBT_GENL_NAME,
			r == -EPROTONOSUPPORT ? "the kernel has none (dm-cbt module missing or "
						"too old)"
					      : strerror(-r));
		return EXIT_FAILURE;
	}
	r = cbt_netlink_get_map(nl, name, which, &status, &map);
	if (r < 0) {
		fprintf(stderr, "cbtship dirty-map: cannot read the %s map of '%s': %s\n",
			which == DM_CBT_MAP_FROZEN ? "frozen" : "current", name,
			r == -EBADMSG ? "malformed reply from the kernel" : strerror(-r));
		return EXIT_FAILURE;
	}
	if (which == DM_CBT_MAP_FROZEN && status.frozen_checkpoint == DM_CBT_NO_FROZEN) {
		fprintf(stderr,
			"cbtship dirty-map: '%s' has no outstanding checkpoint: no frozen map\n",
			name);
		return EXIT_FAILURE;
	}
	r = format == CBTSHIP_FORMAT_JSON ? print_json(name, which, &status, map)
					  : print_ranges(map);
	if (r < 0) {
		fprintf(stderr, "cbtship dirty-map: cannot write the map: %s\n", strerror(-r));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
