/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtship track: put a block device, or a live dm device, under tracking. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/backup/context.h"
#include "cbtship/cli/commands.h"
#include "cbtship/state-dir.h"
#include "cbtship/volume-record.h"
#include "libcbt.h"

/* Record the new tracked volume; on failure undo the tracking (exit 1). */
static int record(struct catalog *c, const struct cbtship_tracked_volume *t)
{
	int r, u;

	r = cbtship_volume_record_tracked(c, t);
	if (r >= 0)
		return 0;
	fprintf(stderr, "cbtship track: cannot record '%s' in the catalog: %s\n", t->name,
		catalog_error(c)[0] ? catalog_error(c) : strerror(-r));
	/* Untracked it is consistent: the agent would not re-attach it at boot. */
	u = cbt_device_untrack(t->name);
	if (u < 0)
		fprintf(stderr,
			"cbtship track: '%s' stays tracked but unrecorded (cannot undo: %s): "
			"run 'cbtship untrack %s' before tracking it again\n",
			t->name, strerror(-u), t->name);
	else
		fprintf(stderr, "cbtship track: tracking of '%s' undone\n", t->name);
	return r;
}

const struct cbt_option cbtship_track_options[] = {
	{ "name", 'n', "NAME", "the tracked device's name (required for a plain block device)",
	  CBT_OPT_SHORT },
	{ "block-size", 'b', "SIZE",
	  "tracking granularity, a power of two from 4K to 1M (default 64K)", CBT_OPT_SHORT },
	{ "metadata", 'm', "FILE|DEV",
	  "where the dirty maps are kept: a block device, or a file (created, or extended, to "
	  "the size needed and attached to a loop device that goes away with the tracked "
	  "device). Default: $CBTSHIP_STATE_DIR/metadata/NAME.meta, where CBTSHIP_STATE_DIR "
	  "defaults to /var/lib/cbtship.",
	  CBT_OPT_SHORT },
	{ "format-metadata", 'F', NULL, "start a new history even if the metadata holds one",
	  CBT_OPT_SHORT },
	CBT_OPTION_END,
};

struct track_opts {
	const char *name, *metadata;
	uint64_t block_bytes;
	unsigned flags;
};

static int track_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	struct track_opts *o = ctx;

	switch (opt->key) {
	case 'n':
		o->name = arg;
		break;
	case 'b':
		if (cbt_parse_size(arg, &o->block_bytes) < 0 ||
		    cbt_block_size_check(o->block_bytes) < 0) {
			fprintf(stderr,
				"cbtship track: bad block size '%s': a power of two from 4K to "
				"1M\n",
				arg);
			return -EINVAL;
		}
		break;
	case 'm':
		o->metadata = arg;
		break;
	case 'F':
		o->flags |= CBT_CREATE_FORMAT;
		break;
	}
	return 0;
}

int cbtship_track(int argc, char **argv)
{
	struct track_opts o = { .block_bytes = DM_CBT_DEFAULT_BLOCK_SECTORS * 512 };
	_cleanup_(catalog_freep) struct catalog *catalog = NULL;
	const char *name, *metadata, *dev;
	char dm_name[128], default_metadata[PATH_MAX], size_text[32];
	char origin_abs[PATH_MAX], metadata_abs[PATH_MAX], identity[CBT_ORIGIN_IDENTITY_MAX];
	struct cbt_identity id = { 0 };
	uint64_t block_bytes;
	unsigned flags;
	bool live;
	int r;

	r = cbt_command_parse("track", argc, argv, track_option, &o);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	name = o.name;
	metadata = o.metadata;
	block_bytes = o.block_bytes;
	flags = o.flags;
	dev = argv[optind];

	r = cbt_dm_name_of_path(dev, dm_name, sizeof(dm_name));
	if (r < 0 && r != -ENXIO) {
		fprintf(stderr, "cbtship track: %s: %s\n", dev,
			r == -ENOTBLK ? "not a block device" : strerror(-r));
		return EXIT_FAILURE;
	}
	live = r == 0;
	if (live) {
		if (name && strcmp(name, dm_name) != 0) {
			fprintf(stderr,
				"cbtship track: %s is the device-mapper device '%s', tracked in "
				"place under its own name: omit --name or pass --name %s\n",
				dev, dm_name, dm_name);
			return CBTSHIP_EXIT_USAGE;
		}
		name = dm_name;
	} else if (!name) {
		fprintf(stderr,
			"cbtship track: %s is not a device-mapper device: --name NAME "
			"is required (the tracked device will be /dev/mapper/NAME)\n",
			dev);
		return CBTSHIP_EXIT_USAGE;
	}

	if (!metadata) {
		r = cbtship_default_metadata_path(name, default_metadata, sizeof(default_metadata));
		if (r == 0)
			r = cbtship_make_parent_dirs(default_metadata);
		if (r < 0) {
			fprintf(stderr,
				"cbtship track: cannot prepare metadata file for '%s' in %s: %s\n",
				name, cbtship_state_dir(), strerror(-r));
			return EXIT_FAILURE;
		}
		metadata = default_metadata;
	}

	/* A live dm device by its stable name: /dev/dm-N numbers change across boots. */
	if (live)
		r = snprintf(origin_abs, sizeof(origin_abs), "/dev/mapper/%s", name) <
				    (int)sizeof(origin_abs)
			    ? 0
			    : -ENAMETOOLONG;
	else
		r = cbtship_absolute_path(dev, origin_abs, sizeof(origin_abs));
	if (r < 0) {
		fprintf(stderr, "cbtship track: %s: %s\n", dev, strerror(-r));
		return EXIT_FAILURE;
	}
	r = cbtship_absolute_path(metadata, metadata_abs, sizeof(metadata_abs));
	if (r < 0) {
		fprintf(stderr, "cbtship track: %s: %s\n", metadata, strerror(-r));
		return EXIT_FAILURE;
	}
	/* What the agent checks before re-attaching it at boot. */
	r = cbt_identify(dev, &id);
	if (r >= 0)
		r = cbt_origin_identity(dev, identity, sizeof(identity));
	if (r < 0) {
		fprintf(stderr, "cbtship track: %s: cannot identify it: %s\n", dev, strerror(-r));
		return EXIT_FAILURE;
	}
	/* Open the catalog first: a catalog that fails tracks nothing. */
	if (cbtship_catalog_open("track", &catalog) < 0)
		return EXIT_FAILURE;

	if (live)
		r = cbt_device_insert(name, metadata, block_bytes, flags);
	else
		r = cbt_device_create(name, dev, metadata, block_bytes, flags);
	if (r < 0) {
		fprintf(stderr, "cbtship track: cannot track %s as '%s' (metadata %s): %s\n", dev,
			name, metadata, cbtship_track_strerror(r));
		return EXIT_FAILURE;
	}
	if (record(catalog, &(struct cbtship_tracked_volume){
				    .name = name,
				    .origin_path = origin_abs,
				    .metadata_path = metadata_abs,
				    .block_bytes = block_bytes,
				    .origin_size = id.size_bytes,
				    .origin_uuid = id.uuid[0] ? id.uuid : NULL,
				    .origin_identity = identity,
			    }) < 0)
		return EXIT_FAILURE;
	printf("%s: tracking %s%s, block size %s, metadata %s\n", name, dev,
	       live ? " in place" : "", cbt_format_size(block_bytes, size_text, sizeof(size_text)),
	       metadata);
	return EXIT_SUCCESS;
}
