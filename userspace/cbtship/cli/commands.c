/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The subcommand table and the usage text built from it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbtship/cli/commands.h"

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
		.summary = "put a block device under change tracking",
		.run = cbtship_track,
		.options = cbtship_track_options,
		.args = { "DEV", 1, 1 },
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
			"Tracking again with the metadata of an earlier run continues its history\n"
			"('cbtship untrack' invalidates it, so the next backup reads everything).\n"
			"\n"
			"The volume is recorded in the catalog (origin, metadata, block size and\n"
			"the origin's identity), so that 'cbtship agent' re-creates it at boot;\n"
			"when the record cannot be written, the tracking is undone (exit 1).",
	},
	{
		.name = "untrack",
		.options = cbtship_untrack_options,
		.args = { "NAME", 1, 1 },
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
			"same metadata then starts with a full backup (unless --keep-history).\n"
			"The catalog record stays (its backups refer to it), marked untracked:\n"
			"the agent no longer re-creates it at boot.",
	},
	{
		.name = "volume-list",
		.options = cbtship_volume_list_options,
		.summary = "list the tracked devices",
		.run = cbtship_volume_list,
		.help = "Every device-mapper device whose table is a cbt target: its name,\n"
			"origin, size, tracking block size, dirty blocks since the last\n"
			"checkpoint, last checkpoint, outstanding (frozen) checkpoint and state\n"
			"(ok, invalid, error; unknown when the target's status cannot be read),\n"
			"then the status of its catalog record (ok, error; - when not recorded).\n"
			"A volume recorded as tracked that has no device here is listed with\n"
			"state absent; under the table, why a volume is in error and why its\n"
			"next backup reads everything. JSON adds status, status_reason and\n"
			"full_read_reason.",
	},
	{
		.name = "dirty-map",
		.options = cbtship_dirty_map_options,
		.args = { "NAME", 1, 1 },
		.summary = "print the blocks written since the last checkpoint",
		.run = cbtship_dirty_map,
		.help = "The current map (blocks written since the last checkpoint) or, with\n"
			"--frozen, the map of the outstanding checkpoint, read through the\n"
			"dm_cbt generic netlink family. Units are tracking blocks.",
	},
	{
		.name = "checkpoint",
		.args = { "NAME", 1, 1 },
		.summary = "freeze the current map of NAME; prints the checkpoint number",
		.run = cbtship_checkpoint,
	},
	{
		.name = "commit",
		.args = { "NAME N", 2, 2 },
		.summary = "checkpoint N of NAME was shipped: drop its frozen map",
		.run = cbtship_commit,
	},
	{
		.name = "abort",
		.args = { "NAME N", 2, 2 },
		.summary = "shipping checkpoint N failed: merge its map back",
		.run = cbtship_abort,
	},
	{
		.name = "events",
		.options = cbtship_events_options,
		.summary = "print the tracking events of every device as they happen",
		.run = cbtship_events,
		.help = "One line per event: \"NAME EVENT CHECKPOINT\", EVENT one of checkpoint,\n"
			"commit, abort, invalidated, metadata-error. Stops after N events or\n"
			"SECONDS seconds (fails if fewer than N came); by default runs forever.",
	},
	{
		.name = "agent",
		.options = cbtship_agent_options,
		.summary = "the host agent: re-attach tracked volumes at boot, heartbeats, events",
		.run = cbtship_agent,
		.help = "Run by the cbtship-agent service at boot, before guests start. First it\n"
			"re-creates every volume the catalog records as tracked (by 'track'),\n"
			"over the same origin and metadata, without formatting: the change maps\n"
			"persisted across the reboot continue. A volume already tracked is left\n"
			"alone. One whose origin is missing, or is not the device that was\n"
			"tracked (its size, serial, wwid, dm UUID or partition UUID differ), is\n"
			"refused: its status in the catalog becomes error, with the reason\n"
			"(volume-list shows it). Then jobs and backups whose process died (the\n"
			"reboot) are settled as backup-create would.\n"
			"\n"
			"Then it tells systemd it is ready and runs until SIGTERM or SIGINT\n"
			"(exit 0): a heartbeat in the catalog every report_interval seconds\n"
			"(service-list), the same reaping, and the target's events: an\n"
			"invalidation or a metadata error on a volume is recorded, so that its\n"
			"next backup reads everything and says why. SIGHUP reopens the log.",
	},
	{
		.name = "backup-create",
		.options = cbtship_backup_create_options,
		.args = { "VOLUME", 1, 1 },
		.summary = "back up a volume, fully or incrementally",
		.run = cbtship_backup_create,
		.help = "VOLUME is a volume of the catalog (name or id), a tracked device's name,\n"
			"or a block device or image file (untracked: every chunk is read, but\n"
			"chunks the container already holds are not stored again).\n"
			"\n"
			"A tracked volume is read from a point-in-time view (dm-snapshot, its\n"
			"copy-on-write store a sparse file in --cow-dir, default\n"
			"$CBTSHIP_STATE_DIR/cow) taken with a tracking checkpoint under one\n"
			"suspend: the backup is crash-consistent and the volume keeps serving\n"
			"writes. Success commits the checkpoint; failure, cancel or an overflow "
			"of\n"
			"the view aborts it, so no change is lost.\n"
			"\n"
			"It returns once the record exists (status creating) and prints it; a\n"
			"background worker does the backup (its messages go to\n"
			"$CBTSHIP_STATE_DIR/log/cbtship.log, its end to the record: available,\n"
			"or error with the reason). At most backup_workers jobs run at once on a\n"
			"host; the others wait in the queue. backup-show reports the progress.\n"
			"\n"
			"The catalog is $CBTSHIP_CATALOG (default $CBTSHIP_STATE_DIR/catalog.db);\n"
			"the project $OS_PROJECT_NAME (default admin).",
	},
	{
		.name = "backup-list",
		.options = cbtship_backup_list_options,
		.summary = "list the backups",
		.run = cbtship_backup_list,
		.help = "Newest first. A creating or restoring backup whose process is gone is\n"
			"shown as stale (backup-delete --force removes it).",
	},
	{
		.name = "backup-show",
		.options = cbtship_format_options,
		.args = { "BACKUP", 1, 1 },
		.summary = "show one backup's record",
		.run = cbtship_backup_show,
		.help = "cinder's fields, then cbtship's: bytes read and stored, chunk counts,\n"
			"the tracking checkpoint and generation shipped.",
	},
	{
		.name = "backup-restore",
		.options = cbtship_backup_restore_options,
		.args = { "BACKUP", 1, 1 },
		.summary = "restore a backup to a new image file or over a volume",
		.run = cbtship_backup_restore,
		.help = "Without --volume, a new sparse image file is made under\n"
			"$CBTSHIP_STATE_DIR/restore and its path printed; zero chunks stay holes.\n"
			"With --volume, the target must be at least as large as the backup's\n"
			"volume; one in use is refused unless --force. Every chunk is fetched\n"
			"once and its hash checked; a bad chunk stops the restore, naming it.\n"
			"--workers: parallel fetches (default 4 per core, fewer for large chunks:\n"
			"a restore waits on reads, not on the CPU).\n"
			"\n"
			"It returns once the backup is restoring, printing the destination; a\n"
			"background worker writes it (queued like backups, at most\n"
			"backup_workers jobs at once) and the backup becomes available again when\n"
			"it ends. backup-reset-state --state error BACKUP cancels it, leaving\n"
			"the destination unusable. --wait restores in the foreground.",
	},
	{
		.name = "backup-delete",
		.options = cbtship_backup_delete_options,
		.args = { "BACKUP...", 1, -1 },
		.summary = "delete backups (the space comes back at the next collection)",
		.run = cbtship_backup_delete,
		.help = "Any backup, in any order: every backup's index is complete. The manifest\n"
			"and the record go at once, whatever the container holds; the chunks no\n"
			"other backup references are removed by the next collection of the\n"
			"container (backup-collect, or the agent every backup_collect_interval\n"
			"seconds). --force also deletes creating, restoring and error_deleting\n"
			"backups; a running backup is cancelled (its checkpoint aborted, no "
			"change\n"
			"lost) and this waits for it to stop.",
	},
	{
		.name = "backup-collect",
		.options = cbtship_backup_collect_options,
		.summary = "reclaim the space of deleted and failed backups in a container",
		.run = cbtship_backup_collect,
		.help = "Without --backup-driver or --container: every container where a delete\n"
			"left garbage (the catalog's marks); with them: that container (the\n"
			"configured one by default), marked or not. Safe with backups running on\n"
			"any host that shares the container: it writes a lease in the container,\n"
			"waits backup_collect_settle_time seconds, and yields (exit status 75,\n"
			"EX_TEMPFAIL; nothing more deleted) while a backup holds a live lease\n"
			"there. It deletes nothing when the container's listing lacks a manifest\n"
			"that the catalog records as available, or when a manifest cannot be read\n"
			"(an encrypted one needs its key). A kill at any point loses nothing; a\n"
			"rerun finishes the work.",
	},
	{
		.name = "backup-verify",
		.options = cbtship_backup_verify_options,
		.args = { "BACKUP", 1, 1 },
		.summary = "fetch and check every chunk of a backup",
		.run = cbtship_backup_verify,
		.help = "Reports each missing or corrupt chunk; exits 1 if there is any.",
	},
	{
		.name = "backup-export",
		.options = cbtship_format_options,
		.args = { "BACKUP", 1, 1 },
		.summary = "print a backup's record (backup_service, backup_url) for backup-import",
		.run = cbtship_backup_export,
		.help = "The backup_url is the backup's manifest, base64-encoded: everything "
			"needed\n"
			"to find and restore it (service, container, volume, index), and no "
			"secret.",
	},
	{
		.name = "backup-import",
		.options = cbtship_format_options,
		.args = { "BACKUP_SERVICE BACKUP_URL", 2, 2 },
		.summary = "put an exported backup record back into the catalog",
		.run = cbtship_backup_import,
		.help = "Checks that the target holds the backup (its manifest, or its Ceph\n"
			"snapshot) before the record becomes available. A backup already in the\n"
			"catalog, a damaged or foreign URL, or a service that disagrees with the\n"
			"record is refused. An incremental needs no parent record: every backup's\n"
			"index is complete. BACKUP_SERVICE: posix, swift, ceph, nfs or cinder's\n"
			"driver class name.",
	},
	{
		.name = "catalog-rebuild",
		.options = cbtship_catalog_rebuild_options,
		.summary = "put back every backup whose manifest a container holds",
		.run = cbtship_catalog_rebuild,
		.help = "After the loss of the catalog: reads every manifest of the container "
			"(the\n"
			"configured one by default) and records the backups the catalog lacks, "
			"with\n"
			"their volumes. Ceph backups are put back with backup-import.",
	},
	{
		.name = "backup-reset-state",
		.options = cbtship_backup_reset_state_options,
		.args = { "BACKUP...", 1, -1 },
		.summary = "force a backup's status (repairs a stuck state; cancels a restore)",
		.run = cbtship_backup_reset_state,
		.help = "The default state is available. A restore running on the backup sees it\n"
			"leave 'restoring' and stops (its destination is then not usable); a\n"
			"backup being created sees it leave 'creating', stops and aborts its\n"
			"checkpoint (no change lost).",
	},
	{
		.name = "quota-show",
		.options = cbtship_quota_show_options,
		.args = { "[PROJECT]", 0, 1 },
		.summary = "a project's backup quotas (backups, backup_gigabytes)",
		.run = cbtship_quota_show,
		.help = "PROJECT defaults to the project cbtship acts for. -1 means no limit.\n"
			"Projects without their own limits have quota_backups and\n"
			"quota_backup_gigabytes from the configuration when it sets them, else\n"
			"none.",
	},
	{
		.name = "quota-update",
		.options = cbtship_quota_update_options,
		.args = { "[PROJECT]", 0, 1 },
		.summary = "set a project's backup quotas",
		.run = cbtship_quota_update,
		.help = "N and G are counts, -1 for no limit. A backup-create that would exceed a\n"
			"limit is refused before any I/O, with the numbers in the message.",
	},
	{
		.name = "quota-usage",
		.options = cbtship_quota_show_options,
		.args = { "[PROJECT]", 0, 1 },
		.summary = "a project's backup quota usage: in use, reserved, limit",
		.run = cbtship_quota_usage,
		.help = "In use: available backups (and those restoring, deleting, or in error\n"
			"after being available); reserved: backups being created.",
	},
	{
		.name = "snapshot-create",
		.options = cbtship_snapshot_create_options,
		.args = { "VOLUME", 1, 1 },
		.summary = "keep a point-in-time snapshot of a tracked volume",
		.run = cbtship_snapshot_create,
		.help = "The snapshot is a point-in-time view (dm-snapshot, copy-on-write store a\n"
			"sparse file in --cow-dir, default $CBTSHIP_STATE_DIR/cow, of --cow-size,\n"
			"default the volume's size) taken with a tracking checkpoint under one\n"
			"suspend. It holds that checkpoint until a backup from it\n"
			"(backup-create --snapshot-id) ships the changes, or until it is deleted\n"
			"(they are merged back): meanwhile other snapshots and forced backups of\n"
			"the live volume are refused. A volume in use needs --force. Snapshots\n"
			"live in the kernel's device tables: a reboot loses them (they are then\n"
			"shown in error, and their changes merged back).",
	},
	{
		.name = "snapshot-list",
		.options = cbtship_snapshot_list_options,
		.summary = "list the snapshots",
		.run = cbtship_snapshot_list,
		.help = "Each snapshot with its checkpoint, whether it still holds it (its "
			"changes\n"
			"not yet shipped) and its view: valid, overflowed (too many writes since;\n"
			"give more --cow-size) or missing.",
	},
	{
		.name = "snapshot-delete",
		.args = { "SNAPSHOT...", 1, -1 },
		.summary = "delete snapshots (changes not yet shipped are merged back)",
		.run = cbtship_snapshot_delete,
		.help = "Refused while a backup reads the snapshot.",
	},
	{
		.name = "service-list",
		.options = cbtship_format_options,
		.summary = "this host's backup service, its back end and whether it answers",
		.run = cbtship_service_list,
		.help = "State is up when the configured target answers now: a POSIX directory\n"
			"that can be written, an NFS share that mounts, a Swift account that\n"
			"authenticates and has the container, a Ceph pool whose OSDs answer; down\n"
			"with the reason otherwise.",
	},
	{
		.name = "config-show",
		.options = cbtship_format_options,
		.summary = "print the effective configuration (secrets masked)",
		.run = cbtship_config_show,
		.help = "Every option with its value and where it came from: the built-in\n"
			"default, FILE:LINE, or a command-line override. Secrets show as ***.",
	},
	{ .name = NULL },
};

void cbtship_usage(FILE *out)
{
	fprintf(out, "usage: cbtship [--config FILE] [--os-project-name PROJECT] COMMAND "
		     "[ARGS...]\n\ncommands:\n");
	for (const struct cbtship_command *c = cbtship_commands; c->name; c++)
		fprintf(out, "  %-16s %s\n", c->name, c->summary);
	fprintf(out, "\n  --config FILE    the configuration file (default $CBTSHIP_CONFIG, else\n"
		     "                   /etc/cbtship/cbtship.conf if it exists)\n"
		     "  --os-project-name PROJECT\n"
		     "                   act for PROJECT (default $OS_PROJECT_NAME, else admin)\n"
		     "  --version        print the version\n");
}

const struct cbtship_command *cbtship_command_find(const char *name)
{
	for (const struct cbtship_command *c = cbtship_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void cbtship_command_synopsis(const char *name, FILE *out)
{
	const struct cbtship_command *c = cbtship_command_find(name);
	char synopsis[1024];

	if (!c)
		return;
	if (c->synopsis)
		snprintf(synopsis, sizeof(synopsis), "%s", c->synopsis);
	else
		cbt_options_synopsis(c->options, &c->args, synopsis, sizeof(synopsis));
	fprintf(out, "usage: cbtship %s%s%s\n", c->name, synopsis[0] ? " " : "", synopsis);
}

void cbtship_command_usage(const char *name, FILE *out)
{
	const struct cbtship_command *c = cbtship_command_find(name);

	if (!c)
		return;
	cbtship_command_synopsis(name, out);
	fprintf(out, "\n%s\n", c->summary);
	if (c->help)
		fprintf(out, "\n%s\n", c->help);
	if (c->options && c->options[0].name) {
		fputc('\n', out);
		cbt_options_print(c->options, out);
	}
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		cbtship_usage(stdout);
		return EXIT_SUCCESS;
	}
	if (cbtship_command_find(argv[1])) {
		cbtship_command_usage(argv[1], stdout);
		return EXIT_SUCCESS;
	}
	fprintf(stderr, "cbtship: no command '%s'\n", argv[1]);
	return EXIT_FAILURE;
}

const struct cbt_option cbtship_format_options[] = {
	CBT_OPTION_FORMAT("table|json"),
	CBT_OPTION_END,
};

struct format_only {
	const char *command;
	unsigned formats;
	enum cbtship_format *format;
};

static int format_only_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	struct format_only *f = ctx;

	if (opt->key != CBT_OPTION_FORMAT_KEY)
		return 0;
	return cbtship_format_parse(f->command, arg, f->formats, f->format);
}

int cbtship_parse_format_only(const char *command, int argc, char **argv, unsigned formats,
			      enum cbtship_format *format, int nargs)
{
	const struct cbtship_command *c = cbtship_command_find(command);
	struct format_only f = { .command = command, .formats = formats, .format = format };
	struct cbt_args_spec args = { .names = c ? c->args.names : NULL,
				      .min = nargs,
				      .max = nargs };

	*format = CBTSHIP_FORMAT_TABLE;
	return cbt_options_parse(command, c && c->options ? c->options : cbtship_format_options,
				 &args, argc, argv, format_only_option, &f);
}
