/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The subcommand table and the usage text built from it. */
#include <stdlib.h>
#include <string.h>

#include "cbtship/commands.h"

static int cmd_help(int argc, char **argv);

const struct cbtship_command cbtship_commands[] = {
	{
		.name = "help",
		.synopsis = "[COMMAND]",
		.summary = "show the commands, or one command's usage",
		.run = cmd_help,
	},
	{
		.name = "track",
		.synopsis = "DEV [--name NAME] [--block-size SIZE] [--metadata FILE|DEV] "
			    "[--format-metadata]",
		.summary = "put a block device under change tracking",
		.run = cbtship_track,
		.help = "DEV is a plain block device or a live device-mapper device.\n"
			"\n"
			"A plain block device gets a new device /dev/mapper/NAME over it (--name\n"
			"is required): use that device from then on, its writes are tracked.\n"
			"\n"
			"A device-mapper device (an LVM volume, a dm-linear device, ...) is\n"
			"tracked in place, even while it is open and busy: its table moves to a\n"
			"hidden device NAME"
			"-cbt-real and the device itself is reloaded, under\n"
			"suspend, with a cbt table over it. It keeps its name (--name, if given,\n"
			"must be that name).\n"
			"\n"
			"  --block-size SIZE   tracking granularity, a power of two from 4K to 1M\n"
			"                      (default 64K)\n"
			"  --metadata FILE|DEV where the dirty maps are kept: a block device, or "
			"a\n"
			"                      file (created, or extended, to the size needed and\n"
			"                      attached to a loop device that goes away with the\n"
			"                      tracked device). Default:\n"
			"                      $CBTSHIP_STATE_DIR/metadata/NAME.meta, where\n"
			"                      CBTSHIP_STATE_DIR defaults to /var/lib/cbtship.\n"
			"  --format-metadata   start a new history even if the metadata holds one\n"
			"\n"
			"Tracking again with the metadata of an earlier run continues its history\n"
			"('cbtship untrack' invalidates it, so the next backup reads everything).",
	},
	{
		.name = "untrack",
		.synopsis = "NAME [--keep-history]",
		.summary = "stop tracking NAME",
		.run = cbtship_untrack,
		.help = "A device tracked in place gets its original table back (under\n"
			"suspend: its users never notice) and the hidden device goes away; a\n"
			"device made by 'track' over a plain block device is removed (it must\n"
			"not be open).\n"
			"\n"
			"The history is invalidated first (every block dirty, new generation),\n"
			"because writes after untracking are not recorded: tracking again with "
			"the\n"
			"same metadata then starts with a full backup. --keep-history skips that,\n"
			"for when nothing can write to the device until it is tracked again.",
	},
	{
		.name = "volume-list",
		.synopsis = "[--format table|json]",
		.summary = "list the tracked devices",
		.run = cbtship_volume_list,
		.help = "Every device-mapper device whose table is a cbt target: its name,\n"
			"origin, size, tracking block size, dirty blocks since the last\n"
			"checkpoint, last checkpoint, outstanding (frozen) checkpoint and state\n"
			"(ok, invalid, error; unknown when the target's status cannot be read).",
	},
	{
		.name = "dirty-map",
		.synopsis = "NAME [--frozen] [--format ranges|json]",
		.summary = "print the blocks written since the last checkpoint",
		.run = cbtship_dirty_map,
		.help = "The current map (blocks written since the last checkpoint) or, with\n"
			"--frozen, the map of the outstanding checkpoint, read through the\n"
			"dm_cbt generic netlink family. Units are tracking blocks.\n"
			"\n"
			"  ranges   one line \"FIRST COUNT\" per run of dirty blocks (default)\n"
			"  json     {\"name\", \"map\", \"block_size\", \"nr_blocks\", "
			"\"dirty_blocks\",\n"
			"           \"checkpoint\", \"frozen_checkpoint\", \"uuid\", \"state\",\n"
			"           \"ranges\": [[FIRST, COUNT], ...]}",
	},
	{
		.name = "checkpoint",
		.synopsis = "NAME",
		.summary = "freeze the current map of NAME; prints the checkpoint number",
		.run = cbtship_checkpoint,
	},
	{
		.name = "commit",
		.synopsis = "NAME N",
		.summary = "checkpoint N of NAME was shipped: drop its frozen map",
		.run = cbtship_commit,
	},
	{
		.name = "abort",
		.synopsis = "NAME N",
		.summary = "shipping checkpoint N failed: merge its map back",
		.run = cbtship_abort,
	},
	{
		.name = "events",
		.synopsis = "[--count N] [--timeout SECONDS]",
		.summary = "print the tracking events of every device as they happen",
		.run = cbtship_events,
		.help = "One line per event: \"NAME EVENT CHECKPOINT\", EVENT one of checkpoint,\n"
			"commit, abort, invalidated, metadata-error. Stops after N events or\n"
			"SECONDS seconds (fails if fewer than N came); by default runs forever.",
	},
	{ .name = NULL },
};

void cbtship_usage(FILE *out)
{
	fprintf(out, "usage: cbtship COMMAND [ARGS...]\n\ncommands:\n");
	for (const struct cbtship_command *c = cbtship_commands; c->name; c++)
		fprintf(out, "  %-16s %s\n", c->name, c->summary);
	fprintf(out, "\n  --version        print the version\n");
}

void cbtship_command_usage(const char *name, FILE *out)
{
	for (const struct cbtship_command *c = cbtship_commands; c->name; c++) {
		if (strcmp(c->name, name) != 0)
			continue;
		fprintf(out, "usage: cbtship %s %s\n\n%s\n", c->name, c->synopsis, c->summary);
		if (c->help)
			fprintf(out, "\n%s\n", c->help);
		return;
	}
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		cbtship_usage(stdout);
		return EXIT_SUCCESS;
	}
	for (const struct cbtship_command *c = cbtship_commands; c->name; c++) {
		if (strcmp(c->name, argv[1]) == 0) {
			cbtship_command_usage(c->name, stdout);
			return EXIT_SUCCESS;
		}
	}
	fprintf(stderr, "cbtship: no command '%s'\n", argv[1]);
	return EXIT_FAILURE;
}
