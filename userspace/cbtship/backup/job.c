/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Background jobs: queue, worker process, turn, heartbeat and end. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cbtship/backup/context.h"
#include "cbtship/backup/job.h"
#include "cbtship/config/config.h"
#include "cbtship/state-dir.h"
#include "dm-cbt.h"

#define QUEUE_POLL_SECONDS 1 /* each poll is a write transaction */

const char *cbtship_version(void)
{
	static char text[32];

	if (!text[0])
		snprintf(text, sizeof(text), "%d.%d.%d", DM_CBT_VERSION_MAJOR, DM_CBT_VERSION_MINOR,
			 DM_CBT_VERSION_PATCH);
	return text;
}

int cbt_job_queue(struct catalog *c, enum catalog_job_kind kind, const char *backup_id,
		  const char *command, struct cbt_job *ret)
{
	struct cbt_job j = { .kind = kind, .command = command };
	int r;

	snprintf(j.backup_id, sizeof(j.backup_id), "%s", backup_id);
	r = catalog_job_add(c, kind, backup_id, &j.id);
	if (r < 0) {
		fprintf(stderr, "cbtship %s: queueing the job: %s\n", command, catalog_error(c));
		return r;
	}
	*ret = j;
	return 0;
}

/* The worker's side of cbt_job_detach(): until it tells the parent. */
static int take_over(struct catalog **c, struct cbt_job *job, int ready_fd)
{
	char log[PATH_MAX];
	int fd, r;

	if (setsid() < 0)
		return -errno;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0)
		return -errno;
	close(fd);
	r = snprintf(log, sizeof(log), "%s/log/cbtship.log", cbtship_state_dir());
	if (r < 0 || (size_t)r >= sizeof(log))
		return -ENAMETOOLONG;
	r = cbtship_make_parent_dirs(log);
	if (r < 0)
		return r;
	fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = cbtship_catalog_open(job->command, c);
	if (r < 0)
		return r;
	if (job->kind == CATALOG_JOB_BACKUP || job->kind == CATALOG_JOB_RESTORE)
		r = catalog_backup_claim(*c, job->backup_id, getpid());
	if (r >= 0)
		r = catalog_job_set_pid(*c, job->id, getpid());
	if (r < 0) {
		fprintf(stderr, "cbtship %s: the background worker: %s\n", job->command,
			catalog_error(*c));
		return r;
	}
	/* From here on, what the worker says goes to the log. */
	fflush(stderr);
	if (dup2(fd, STDERR_FILENO) < 0)
		return -errno;
	close(fd);
	job->detached = true;
	if (write(ready_fd, "1", 1) != 1)
		return -EPIPE;
	close(ready_fd);
	return 0;
}

int cbt_job_detach(struct catalog **c, struct cbt_job *job)
{
	int pipefd[2];
	char byte;
	ssize_t n;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	*c = catalog_free(*c);
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		int r = -errno;

		fprintf(stderr, "cbtship %s: pipe: %s\n", job->command, strerror(-r));
		return r;
	}
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		fprintf(stderr, "cbtship %s: cannot start the background worker: %s\n",
			job->command, strerror(-r));
		close(pipefd[0]);
		close(pipefd[1]);
		return r;
	}
	if (pid == 0) {
		int r;

		close(pipefd[0]);
		r = take_over(c, job, pipefd[1]);
		if (r < 0) {
			fprintf(stderr, "cbtship %s: the background worker could not start: %s\n",
				job->command, strerror(-r));
			_exit(EXIT_FAILURE);
		}
		return 0;
	}
	close(pipefd[1]);
	do
		n = read(pipefd[0], &byte, 1);
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n != 1) {
		fprintf(stderr,
			"cbtship %s: the background worker of backup %s died before it "
			"started\n",
			job->command, job->backup_id);
		return -ECHILD;
	}
	return 1;
}

_Noreturn void cbt_job_leave(void)
{
	fflush(stdout);
	fflush(stderr);
	_exit(EXIT_SUCCESS);
}

static unsigned max_jobs(void)
{
	const struct cbt_config *cfg = cbtship_config();
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (cfg && cfg->backup_workers > 0)
		return (unsigned)cfg->backup_workers;
	return cores > 0 ? (unsigned)cores : 1;
}

static unsigned beat_seconds(void)
{
	const struct cbt_config *cfg = cbtship_config();

	return cfg && cfg->report_interval > 0 ? (unsigned)cfg->report_interval : 10;
}

int cbt_job_wait_turn(struct catalog *c, struct cbt_job *job, enum catalog_backup_status expect)
{
	struct timespec last = { 0 }, now;
	bool said = false;
	int r;

	for (;;) {
		_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;

		r = catalog_job_start(c, job->id, max_jobs(), getpid());
		if (r == 0)
			break;
		if (r == -ECANCELED) {
			fprintf(stderr, "cbtship %s: backup %s: cancelled while queued\n",
				job->command, job->backup_id);
			return r;
		}
		if (r != -EAGAIN) {
			fprintf(stderr, "cbtship %s: %s\n", job->command, catalog_error(c));
			return r;
		}
		if (!said) {
			fprintf(stderr, "cbtship %s: backup %s queued: %s\n", job->command,
				job->backup_id, catalog_error(c));
			cbtship_log("%s %s: queued: %s", job->command, job->backup_id,
				    catalog_error(c));
			said = true;
		}
		r = catalog_backup_get(c, job->backup_id, &b);
		if (r < 0 || b->status != expect) {
			(void)catalog_job_finish(c, job->id, CATALOG_JOB_CANCELLED,
						 "cancelled while queued");
			fprintf(stderr, "cbtship %s: backup %s: cancelled while queued (%s)\n",
				job->command, job->backup_id,
				r < 0 ? "record removed"
				      : catalog_backup_status_to_string(b->status));
			return -ECANCELED;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - last.tv_sec >= (time_t)beat_seconds()) {
			(void)catalog_backup_heartbeat(c, job->backup_id);
			(void)catalog_worker_heartbeat(c, CBTSHIP_WORKER_BINARY, cbtship_version());
			last = now;
		}
		nanosleep(&(struct timespec){ .tv_sec = QUEUE_POLL_SECONDS }, NULL);
	}
	(void)catalog_worker_heartbeat(c, CBTSHIP_WORKER_BINARY, cbtship_version());
	if (said)
		cbtship_log("%s %s: its turn came", job->command, job->backup_id);
	return 0;
}

void cbt_job_beat(struct catalog *c, const struct cbt_job *job, uint64_t done, uint64_t total)
{
	static time_t last_worker_beat;
	struct timespec now;

	if (!job || !job->id)
		return;
	(void)catalog_job_progress(c, job->id, done, total);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - last_worker_beat >= (time_t)beat_seconds()) {
		(void)catalog_worker_heartbeat(c, CBTSHIP_WORKER_BINARY, cbtship_version());
		last_worker_beat = now.tv_sec;
	}
}

void cbt_job_end(struct catalog *c, struct cbt_job *job, int r, const char *error)
{
	if (!job || !job->id || !c)
		return;
	(void)catalog_job_finish(c, job->id,
				 r >= 0		   ? CATALOG_JOB_DONE
				 : r == -ECANCELED ? CATALOG_JOB_CANCELLED
						   : CATALOG_JOB_FAILED,
				 r >= 0		   ? NULL
				 : error && *error ? error
						   : strerror(-r));
	job->id = 0;
}

int cbt_job_wait_stopped(struct catalog *c, const char *backup_id, const char *command,
			 unsigned seconds)
{
	for (unsigned i = 0; i < seconds * 10; i++) {
		_cleanup_(catalog_backup_freep) struct catalog_backup *b = NULL;
		int r = catalog_backup_get(c, backup_id, &b);

		if (r < 0)
			return r == -ENOENT ? 0 : r;
		if (!b->owner_pid || !b->owner_host ||
		    strcmp(b->owner_host, catalog_host(c)) != 0 || b->owner_pid == getpid() ||
		    !catalog_owner_alive(c, b->owner_pid, b->owner_boot))
			return 0;
		if (i == 10)
			fprintf(stderr,
				"cbtship %s: waiting for the running job of backup %s "
				"(pid %d) to stop\n",
				command, backup_id, (int)b->owner_pid);
		nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
	}
	return -ETIMEDOUT;
}
