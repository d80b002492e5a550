/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtship track: put a block device, or a live dm device, under tracking. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/commands.h"
#include "cbtship/state-dir.h"
#include "libcbt.h"

static const char *explain(int r)
{
	switch (r) {
	case -EEXIST:
		return "a device-mapper device of that name already exists";
	case -EALREADY:
		return "it is already tracked";
	case -ENOSPC:
		return "the metadata device is too small";
	case -EBUSY:
		return "busy (the metadata is in use by another cbt device or already on a loop "
		       "device, or the device is suspended: see dmesg)";
	case -ENOTBLK:
		return "not a block device";
	case -EINVAL:
		return "refused (bad argument, or the kernel refused the table: see dmesg)";
	case -ENODATA:
		return "the device has no live table";
	default:
		return strerror(-r);
	}
}

int cbtship_track(int argc, char **argv)
{
	static const struct option options[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "metadata", required_argument, NULL, 'm' },
		{ "format-metadata", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *metadata = NULL, *dev;
	char dm_name[128], default_metadata[PATH_MAX], size_text[32];
	uint64_t block_bytes = DM_CBT_DEFAULT_BLOCK_SECTORS * 512;
	unsigned flags = 0;
	bool live;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n:b:m:Fh", options, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 'b':
			if (cbt_parse_size(optarg, &block_bytes) < 0 ||
			    cbt_block_size_check(block_bytes) < 0) {
				fprintf(stderr,
					"cbtship track: bad block size '%s': a power of two from "
					"4K to 1M\n",
					optarg);
				return CBTSHIP_EXIT_USAGE;
			}
			break;
		case 'm':
			metadata = optarg;
			break;
		case 'F':
			flags |= CBT_CREATE_FORMAT;
			break;
		case 'h':
			cbtship_command_usage("track", stdout);
			return EXIT_SUCCESS;
		default:
			cbtship_command_usage("track", stderr);
			return CBTSHIP_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		cbtship_command_usage("track", stderr);
		return CBTSHIP_EXIT_USAGE;
	}
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

	if (live)
		r = cbt_device_insert(name, metadata, block_bytes, flags);
	else
		r = cbt_device_create(name, dev, metadata, block_bytes, flags);
	if (r < 0) {
		fprintf(stderr, "cbtship track: cannot track %s as '%s' (metadata %s): %s\n", dev,
			name, metadata, explain(r));
		return EXIT_FAILURE;
	}
	printf("%s: tracking %s%s, block size %s, metadata %s\n", name, dev,
	       live ? " in place" : "", cbt_format_size(block_bytes, size_text, sizeof(size_text)),
	       metadata);
	return EXIT_SUCCESS;
}
