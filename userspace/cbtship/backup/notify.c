/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Job notifications as JSON lines (see the header). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cbtship/backup/context.h"
#include "cbtship/backup/notify.h"
#include "cbtship/cli/output.h"

static bool warned;

static void warn_once(const char *path, int err)
{
	if (warned)
		return;
	warned = true;
	cbtship_log("notifications to %s cannot be written: %s", path, strerror(err));
}

/*
 * A listener that stops reading must not stop a backup: connecting and
 * sending give up after this long (SO_SNDTIMEO), and the line is lost.
 */
#define SOCKET_TIMEOUT_MS 2000

/* Send line to the UNIX socket at path: stream, else datagram. */
static int send_socket(const char *path, const char *line, size_t len)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
	static const struct timeval timeout = { .tv_sec = SOCKET_TIMEOUT_MS / 1000,
						.tv_usec = SOCKET_TIMEOUT_MS % 1000 * 1000 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r = -ENOTSOCK;
	ssize_t n;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (size_t i = 0; i < ELEMENTSOF(types); i++) {
		_cleanup_(closep) int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		/* connect() of a UNIX socket waits by this timeout too, when the backlog is full.
		 */
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			r = -errno;
			if (errno == EPROTOTYPE)
				continue;
			return r;
		}
		n = send(fd, line, len, MSG_NOSIGNAL);
		return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
	}
	return r;
}

static void emit(const char *path, const char *line, size_t len)
{
	struct stat st;
	int r;

	/* lstat: a symbolic link is never followed, to a socket or a file. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		r = send_socket(path, line, len);
	} else {
		/*
		 * O_NOFOLLOW: a link planted at the path does not redirect the
		 * lines (or create a file) elsewhere; O_NONBLOCK: a FIFO without
		 * a reader fails (ENXIO) instead of blocking the job, and one
		 * that is full fails (EAGAIN).
		 */
		_cleanup_(closep) int fd = open(path,
						O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
							O_NOCTTY | O_NOFOLLOW | O_NONBLOCK,
						0600);

		/* O_APPEND: one write per line, so concurrent jobs never mix lines. */
		ssize_t n = fd < 0 ? -1 : write(fd, line, len);

		r = n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
	}
	if (r < 0)
		warn_once(path, -r);
}

void cbt_notify(struct cbt_notifier *n, const char *phase, const struct catalog *c,
		const struct catalog_backup *b, uint64_t bytes_done, uint64_t bytes_total)
{
	const char *path = cbtship_config()->backup_events_file;
	_cleanup_(json_decrefp) json_t *o = NULL;
	_cleanup_(freep) char *line = NULL;
	char event[64], now[40];

	if (!path || !*path)
		return;
	snprintf(event, sizeof(event), "backup.%s.%s", n->kind, phase);
	catalog_time_format(catalog_now(), now, sizeof(now));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:o, s:o, s:s?}", "event", event,
		      "timestamp", now, "host", catalog_host(c), "backup_id", b->id, "volume_id",
		      b->volume_id, "project", b->project, "status",
		      catalog_backup_status_to_string(b->status), "bytes_done",
		      cbtship_json_u64(bytes_done), "bytes_total", cbtship_json_u64(bytes_total),
		      "fail_reason", b->fail_reason);
	if (!o)
		return;
	line = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (!line)
		return;
	{
		size_t len = strlen(line);
		char *with_nl = realloc(line, len + 2);

		if (!with_nl)
			return;
		line = with_nl;
		line[len] = '\n';
		line[len + 1] = '\0';
		emit(path, line, len + 1);
	}
	n->last = cbtship_seconds();
}

void cbt_notify_progress(struct cbt_notifier *n, const struct catalog *c,
			 const struct catalog_backup *b, uint64_t bytes_done, uint64_t bytes_total)
{
	const struct cbt_config *cfg = cbtship_config();

	if (!cfg->backup_enable_progress_timer || !cfg->backup_events_file)
		return;
	if (cbtship_seconds() - n->last < cfg->backup_timer_interval)
		return;
	cbt_notify(n, "progress", c, b, bytes_done, bytes_total);
}
