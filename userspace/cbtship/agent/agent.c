/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtship agent: the command and its main loop (see agent.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "cbtship/agent/agent.h"
#include "cbtship/backup/context.h"
#include "cbtship/backup/job.h"
#include "cbtship/cli/commands.h"

CBT_DEFINE_CLEANUP(struct cbt_events *, cbt_events_free, cbt_events_freep)

struct agent {
	struct catalog *c;
	struct agent_log *log;
	struct cbt_events *events; /* NULL: none (the family is missing) */
	int signal_fd;
	unsigned interval;	   /* seconds between heartbeats and reaps */
	unsigned collect_interval; /* seconds between collections; 0: none */
	pid_t collector;	   /* the running collection, or 0 */
};

static void beat(struct agent *a)
{
	if (catalog_worker_heartbeat(a->c, CBTSHIP_WORKER_BINARY, cbtship_version()) < 0)
		agent_log_error(a->log, "cannot write the heartbeat: %s", catalog_error(a->c));
}

/* Every event waiting; after an overflow, the states of the volumes instead. */
static void drain_events(struct agent *a)
{
	struct cbt_event e;
	int r;

	while ((r = cbt_events_receive(a->events, 0, &e)) > 0)
		agent_volume_event(a->c, a->log, &e);
	if (r == -ENOBUFS) {
		agent_log_error(a->log, "events were lost (receive queue overflow): checking the "
					"state of every volume");
		agent_volume_check_states(a->c, a->log);
	} else if (r < 0) {
		agent_log_error(a->log, "receiving events: %s", strerror(-r));
	}
}

/* 1: go on; 0: SIGTERM or SIGINT (exit 0). */
static int handle_signal(struct agent *a)
{
	struct signalfd_siginfo si;

	if (read(a->signal_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 1;
	if (si.ssi_signo == SIGHUP) {
		int r = agent_log_reopen(a->log);

		if (r < 0)
			agent_log_error(a->log, "cannot reopen the log file: %s", strerror(-r));
		else
			agent_log_info(a->log, "log reopened");
		return 1;
	}
	agent_log_info(a->log, "%s: stopping", strsignal((int)si.ssi_signo));
	return 0;
}

static int run_loop(struct agent *a)
{
	double next = cbtship_seconds();
	double next_collect = next + (a->collect_interval ? a->collect_interval : 0);

	for (;;) {
		struct pollfd fds[2] = { { .fd = a->signal_fd, .events = POLLIN },
					 { .fd = a->events ? cbt_events_get_fd(a->events) : -1,
					   .events = POLLIN } };
		double wait = next - cbtship_seconds();
		int r;

		if (wait <= 0) {
			beat(a);
			agent_reap(a->c, a->log);
			agent_volume_check_states(a->c, a->log);
			agent_collect_reap(a->log, &a->collector, false);
			if (a->collect_interval && cbtship_seconds() >= next_collect) {
				agent_collect_start(a->c, a->log, &a->collector);
				next_collect = cbtship_seconds() + a->collect_interval;
			}
			next = cbtship_seconds() + a->interval;
			continue;
		}
		r = poll(fds, 2, (int)(wait * 1000) + 1);
		if (r < 0 && errno != EINTR) {
			agent_log_error(a->log, "poll: %s", strerror(errno));
			return EXIT_FAILURE;
		}
		if (r > 0 && (fds[0].revents & POLLIN) && handle_signal(a) == 0) {
			agent_collect_reap(a->log, &a->collector, true);
			return EXIT_SUCCESS;
		}
		if (r > 0 && (fds[1].revents & (POLLIN | POLLERR)))
			drain_events(a);
	}
}

/* SIGTERM, SIGINT, SIGHUP come through a signalfd. */
static int block_signals(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

static int subscribe(struct agent *a)
{
	int r = cbt_events_new(&a->events);

	if (r < 0) {
		a->events = NULL;
		agent_log_error(a->log,
				"cannot subscribe to the %s events (%s): invalidations and "
				"metadata errors will not be recorded",
				DM_CBT_GENL_NAME,
				r == -EPROTONOSUPPORT ? "dm-cbt is not loaded, or too old"
						      : strerror(-r));
	}
	return r;
}

const struct cbt_option cbtship_agent_options[] = {
	{ "once", 'o', NULL,
	  "re-attach and reap, then exit: 0 when every volume is tracked, 1 when any was "
	  "refused (reasons on stderr)",
	  CBT_OPT_SHORT },
	{ "log-file", 'l', "FILE", "append timestamped lines to FILE (default: stderr)",
	  CBT_OPT_SHORT },
	CBT_OPTION_END,
};

struct agent_opts {
	const char *log_file;
	bool once;
};

static int agent_option(void *ctx, const struct cbt_option *opt, const char *arg)
{
	struct agent_opts *o = ctx;

	if (opt->key == 'o')
		o->once = true;
	else
		o->log_file = arg;
	return 0;
}

int cbtship_agent(int argc, char **argv)
{
	struct agent_opts o = { 0 };
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	_cleanup_(agent_log_freep) struct agent_log *log = NULL;
	_cleanup_(cbt_events_freep) struct cbt_events *events = NULL;
	_cleanup_(closep) int signal_fd = -1;
	struct agent_reattach_counts counts;
	const char *log_file;
	bool once;
	struct agent a;
	int r;

	r = cbt_command_parse("agent", argc, argv, agent_option, &o);
	if (r)
		return r == CBT_OPTIONS_HELP ? EXIT_SUCCESS : r;
	log_file = o.log_file;
	once = o.once;
	r = agent_log_new(log_file, &log);
	if (r < 0) {
		fprintf(stderr, "cbtship agent: cannot open the log file %s: %s\n", log_file,
			strerror(-r));
		return EXIT_FAILURE;
	}
	agent_log_set_echo_errors(log, once);
	/* Subscribed before re-attaching: no event of a re-attached volume is missed. */
	signal_fd = block_signals();
	if (signal_fd < 0) {
		agent_log_error(log, "cannot set up signals: %s", strerror(-signal_fd));
		return EXIT_FAILURE;
	}
	if (cbtship_catalog_open("agent", &c) < 0) {
		agent_log_error(log, "cannot open the catalog");
		return EXIT_FAILURE;
	}
	agent_log_info(log, "starting (cbtship %s%s)", cbtship_version(), once ? ", once" : "");
	a = (struct agent){ .c = c, .log = log, .signal_fd = signal_fd };
	if (!once)
		(void)subscribe(&a);
	events = a.events;
	r = agent_reattach_all(c, log, &counts);
	if (r < 0)
		return EXIT_FAILURE;
	agent_log_info(log, "volumes: %u re-attached, %u already tracked, %u refused",
		       counts.reattached, counts.already, counts.refused);
	agent_reap(c, log);
	if (once)
		return counts.refused ? EXIT_FAILURE : EXIT_SUCCESS;

	agent_volume_check_states(c, log);
	r = sd_notify(0, "READY=1\nSTATUS=tracking restored; heartbeats and events");
	if (r < 0)
		agent_log_error(log, "cannot notify systemd: %s", strerror(-r));
	a.interval = cbtship_config() && cbtship_config()->report_interval > 0
			     ? (unsigned)cbtship_config()->report_interval
			     : 10;
	a.collect_interval = cbtship_config() && cbtship_config()->backup_collect_interval > 0
				     ? (unsigned)cbtship_config()->backup_collect_interval
				     : 0;
	if (a.collect_interval && a.collect_interval < a.interval)
		a.interval = a.collect_interval;
	r = run_loop(&a);
	(void)sd_notify(0, "STOPPING=1");
	/* Stopped by the shutdown, which removes the dm devices next. */
	if (r == EXIT_SUCCESS && agent_system_stopping(log))
		agent_prepare_detach_all(c, log);
	return r;
}
