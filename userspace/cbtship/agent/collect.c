/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The agent's collections: every backup_collect_interval seconds, the
 * containers the catalog marks as holding garbage are collected
 * (repo/gc.h) in a child process, so that heartbeats, reaps and events go
 * on meanwhile. One child at a time; a container whose collection yields
 * to running backups keeps its mark and is tried at the next interval.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cbtship/agent/agent.h"
#include "cbtship/backup/context.h"
#include "cbtship/driver/driver.h"
#include "cbtship/repo/gc.h"

/* In the child: collect every marked container; the exit status says how it went. */
static int collect_marked(struct agent_log *log)
{
	_cleanup_(catalog_freep) struct catalog *c = NULL;
	struct catalog_garbage **marks = NULL;
	size_t n = 0;
	int failed = 0;

	if (cbtship_catalog_open("agent", &c) < 0)
		return EXIT_FAILURE;
	if (catalog_garbage_list(c, &marks, &n) < 0) {
		agent_log_error(log, "collection: %s", catalog_error(c));
		return EXIT_FAILURE;
	}
	for (size_t i = 0; i < n; i++) {
		const char *service = cbt_service_to_string(marks[i]->service);
		struct cbt_gc_stats gs = { 0 };
		char *err = NULL;
		int r;

		if (!(cbt_service_driver(marks[i]->service)->flags & CBT_DRIVER_COLLECTS))
			continue;
		r = cbt_collect_container(c, marks[i]->service, marks[i]->container, &gs, &err);
		if (r == -EAGAIN)
			agent_log_info(log, "collection of %s %s: %s", service, marks[i]->container,
				       err ? err : "yielded");
		else if (r < 0) {
			agent_log_error(log, "collection of %s %s failed: %s", service,
					marks[i]->container, err ? err : strerror(-r));
			failed++;
		} else
			agent_log_info(log,
				       "collection of %s %s: %llu chunks and %llu index pages "
				       "removed, %llu packs deleted and %llu rewritten, %llu "
				       "backups kept, %.1f s",
				       service, marks[i]->container,
				       (unsigned long long)gs.chunks_deleted,
				       (unsigned long long)gs.pages_deleted,
				       (unsigned long long)gs.packs_deleted,
				       (unsigned long long)gs.packs_rewritten,
				       (unsigned long long)gs.manifests, gs.seconds);
		free(err);
	}
	catalog_garbage_array_free(marks, n);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

void agent_collect_start(struct catalog *c, struct agent_log *log, pid_t *child)
{
	struct catalog_garbage **marks = NULL;
	sigset_t none;
	size_t n = 0;
	pid_t pid;

	if (*child > 0)
		return; /* still running */
	if (catalog_garbage_list(c, &marks, &n) < 0) {
		agent_log_error(log, "cannot list the containers to collect: %s", catalog_error(c));
		return;
	}
	catalog_garbage_array_free(marks, n);
	if (n == 0)
		return;
	pid = fork();
	if (pid < 0) {
		agent_log_error(log, "cannot start a collection: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGTERM, SIG_DFL);
		_exit(collect_marked(log));
	}
	agent_log_info(log, "collecting %zu container%s (process %d)", n, n == 1 ? "" : "s",
		       (int)pid);
	*child = pid;
}

void agent_collect_reap(struct agent_log *log, pid_t *child, bool wait)
{
	int status;
	pid_t r;

	if (*child <= 0)
		return;
	if (wait)
		(void)kill(*child, SIGTERM);
	r = waitpid(*child, &status, wait ? 0 : WNOHANG);
	if (r == 0)
		return;
	if (r > 0 && WIFSIGNALED(status))
		agent_log_error(log, "the collection process %d was killed by signal %d",
				(int)*child, WTERMSIG(status));
	*child = 0;
}
