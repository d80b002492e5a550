/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The agent's log: timestamped lines appended to a file, or stderr. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cbtship/agent/agent.h"
#include "cbtship/state-dir.h"

struct agent_log {
	char *path; /* NULL: stderr */
	int fd;
	bool echo_errors;
};

static int open_log(const char *path)
{
	int fd, r;

	r = cbtship_make_parent_dirs(path);
	if (r < 0)
		return r;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	return fd < 0 ? -errno : fd;
}

int agent_log_new(const char *path, struct agent_log **ret)
{
	_cleanup_(agent_log_freep) struct agent_log *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->fd = STDERR_FILENO;
	if (path) {
		l->path = strdup(path);
		if (!l->path)
			return -ENOMEM;
		l->fd = open_log(path);
		if (l->fd < 0)
			return l->fd;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

struct agent_log *agent_log_free(struct agent_log *l)
{
	if (!l)
		return NULL;
	if (l->path && l->fd >= 0)
		close(l->fd);
	free(l->path);
	free(l);
	return NULL;
}

int agent_log_reopen(struct agent_log *l)
{
	int fd;

	if (!l->path)
		return 0;
	fd = open_log(l->path);
	if (fd < 0)
		return fd;
	close(l->fd);
	l->fd = fd;
	return 0;
}

void agent_log_set_echo_errors(struct agent_log *l, bool echo)
{
	l->echo_errors = echo;
}

/* One line in one write(): O_APPEND keeps lines whole between processes. */
static void write_line(int fd, const char *prefix, const char *fmt, va_list ap)
{
	char line[4096];
	int n, m;

	n = snprintf(line, sizeof(line), "%s", prefix);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(fd, line, (size_t)n);
}

static void log_va(struct agent_log *l, bool error, const char *fmt, va_list ap)
{
	char prefix[160], stamp[64];
	struct timespec ts;
	struct tm tm;
	va_list copy;

	if (!l->path) {
		write_line(STDERR_FILENO, "cbtship agent: ", fmt, ap);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(prefix, sizeof(prefix), "%s.%06ldZ cbtship-agent[%d]: ", stamp, ts.tv_nsec / 1000,
		 (int)getpid());
	va_copy(copy, ap);
	write_line(l->fd, prefix, fmt, copy);
	va_end(copy);
	if (error && l->echo_errors)
		write_line(STDERR_FILENO, "cbtship agent: ", fmt, ap);
}

void agent_log_info(struct agent_log *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(l, false, fmt, ap);
	va_end(ap);
}

void agent_log_error(struct agent_log *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(l, true, fmt, ap);
	va_end(ap);
}
