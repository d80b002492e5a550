/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NFS back end's share: validated, found mounted in /proc/self/mountinfo,
 * or mounted by mount(8) run directly (an argv, never a shell) under a time
 * bound, its own messages captured for the error.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cbt-cleanup.h"
#include "cbtship/store/nfs/nfs-mount.h"

extern char **environ;

#define DIR_MODE 0700
/*
 * How long mount(8) may take before it is killed (CBTSHIP_NFS_MOUNT_TIMEOUT,
 * in seconds, overrides it: tests), and how long its death may take.
 */
#define MOUNT_TIMEOUT_MS 60000
#define KILL_GRACE_MS	 5000
#define POLL_TICK_MS	 50
/* What is kept of mount's output for the message. */
#define OUTPUT_MAX 2048
#define HOST_MAX   253

static __attribute__((format(printf, 2, 3))) void set_error(char **ret_error, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (!ret_error)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(*ret_error);
	*ret_error = s;
}

static bool host_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/*
 * HOST:/PATH or [IPV6]:/PATH. HOST is a name or an IPv4 address (letters,
 * digits, '.', '-', '_', not starting with '-' so that it can never read
 * as an option of mount), IPV6 hex digits, ':' and '.' with an optional
 * %zone. PATH is absolute, without blanks or control characters (which
 * mountinfo would show escaped and no cinder share has). NULL when valid,
 * else why not (static).
 */
static const char *share_invalid(const char *share)
{
	const char *colon, *p;

	if (!*share)
		return "empty";
	if (strlen(share) > PATH_MAX)
		return "too long";
	if (share[0] == '[') {
		const char *close = strchr(share, ']');
		bool zone = false;

		if (!close || close == share + 1 || close[1] != ':')
			return "no ']:' after the IPv6 address";
		for (p = share + 1; p < close; p++) {
			if (*p == '%' && !zone && p > share + 1 && p + 1 < close)
				zone = true;
			else if (zone ? !host_char(*p)
				      : !(isxdigit((unsigned char)*p) || *p == ':' || *p == '.'))
				return "bad character in the IPv6 address";
		}
		colon = close + 1;
	} else {
		colon = strchr(share, ':');
		if (!colon)
			return "no ':' between the host and the export path";
		if (colon == share)
			return "no host";
		if (colon - share > HOST_MAX)
			return "host name too long";
		if (share[0] == '-' || share[0] == '.')
			return "bad host name";
		for (p = share; p < colon; p++)
			if (!host_char(*p))
				return "bad character in the host name";
	}
	if (colon[1] != '/')
		return "the export path must be absolute";
	for (p = colon + 1; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return "blank or control character in the export path";
	return NULL;
}

/* The options as one -o argument (NULL: none), trimmed; -EINVAL when they hold blanks. */
static int normalize_options(const char *options, char **ret)
{
	const char *end;

	*ret = NULL;
	if (!options)
		return 0;
	while (isspace((unsigned char)*options))
		options++;
	end = options + strlen(options);
	while (end > options && isspace((unsigned char)end[-1]))
		end--;
	if (end == options)
		return 0;
	for (const char *p = options; p < end; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return -EINVAL;
	if (options[0] == '-' || options[0] == ',')
		return -EINVAL;
	*ret = strndup(options, (size_t)(end - options));
	return *ret ? 0 : -ENOMEM;
}

static bool has_option(const char *options, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = options; p && *p;) {
		if (strncmp(p, name, n) == 0 && (p[n] == '=' || p[n] == ',' || !p[n]))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/* MD5 of s in lower-case hex, as os-brick's remotefs client names mount points. */
static int md5_hex(const char *s, char out[2 * 16 + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_Digest(s, strlen(s), md, &len, EVP_md5(), NULL) || len != 16)
		return -ENOTSUP; /* no MD5 (a FIPS-only provider) */
	for (unsigned int i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	return 0;
}

static char *mount_point_under(const char *base, const char *share)
{
	char hex[2 * 16 + 1];
	size_t n = strlen(base);
	char *path;

	if (md5_hex(share, hex) < 0)
		return NULL;
	while (n > 1 && base[n - 1] == '/')
		n--;
	if (asprintf(&path, "%.*s%s%s", (int)n, base, base[n - 1] == '/' ? "" : "/", hex) < 0)
		return NULL;
	return path;
}

char *cbt_nfs_mount_point(const char *share, const char *mount_point_base)
{
	if (!share || !mount_point_base || !*mount_point_base)
		return NULL;
	return mount_point_under(mount_point_base, share);
}

/* Undo mountinfo's octal escapes (\040 for a space, ...) in place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/*
 * The file system mounted at exactly dir (the topmost one, the one path
 * lookups see): 1 with its type and source (malloc()ed), 0 when nothing is
 * mounted there, or a negative errno.
 */
static int find_mount(const char *dir, char **ret_fstype, char **ret_source)
{
	_cleanup_(fclosep) FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_(freep) char *line = NULL;
	size_t size = 0;
	int found = 0;

	*ret_fstype = *ret_source = NULL;
	if (!f)
		return -errno;
	while (getline(&line, &size, f) > 0) {
		/* ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - TYPE SOURCE ... */
		char *save = NULL, *tok, *point = NULL, *type = NULL, *source = NULL;
		bool dash = false;
		int field = 0;

		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
			if (field == 4)
				point = tok;
			if (dash && !type)
				type = tok;
			else if (dash && !source)
				source = tok;
			else if (field >= 6 && strcmp(tok, "-") == 0)
				dash = true;
			field++;
		}
		if (!point || !type || !source)
			continue;
		unescape(point);
		if (strcmp(point, dir) != 0)
			continue;
		unescape(source);
		free(*ret_fstype);
		free(*ret_source);
		*ret_fstype = strdup(type);
		*ret_source = strdup(source);
		if (!*ret_fstype || !*ret_source)
			return -ENOMEM;
		found = 1;
	}
	if (ferror(f))
		return -EIO;
	return found;
}

static bool nfs_type(const char *type)
{
	return strcmp(type, "nfs") == 0 || strcmp(type, "nfs4") == 0;
}

/* Two spellings of a share are the same up to trailing slashes in the path. */
static bool same_share(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	while (na > 1 && a[na - 1] == '/' && a[na - 2] != ':')
		na--;
	while (nb > 1 && b[nb - 1] == '/' && b[nb - 2] != ':')
		nb--;
	return na == nb && strncmp(a, b, na) == 0;
}

/* mkdir -p with mode for every directory made; -ENOTDIR when a component is not one. */
static int mkdir_parents(const char *path, mode_t mode)
{
	_cleanup_(freep) char *copy = strdup(path);
	struct stat st;

	if (!copy)
		return -ENOMEM;
	for (char *p = copy + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = saved;
		if (!saved)
			break;
	}
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct output {
	char buf[OUTPUT_MAX];
	size_t len;
	char line[OUTPUT_MAX + OUTPUT_MAX / 2]; /* buf on one line */
};

/* Read what the pipe has now (it is non-blocking); false at end of file. */
static bool drain(int fd, struct output *out)
{
	char chunk[512];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 && errno == EAGAIN;
		size_t keep = sizeof(out->buf) - 1 - out->len;

		if ((size_t)n < keep)
			keep = (size_t)n;
		memcpy(out->buf + out->len, chunk, keep);
		out->len += keep;
	}
}

/* Kill the process group of pid and reap pid, waiting at most KILL_GRACE_MS. */
static void kill_and_reap(pid_t pid)
{
	long long deadline = now_ms() + KILL_GRACE_MS;

	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, WNOHANG) == 0 && now_ms() < deadline)
		poll(NULL, 0, 10);
	/* Still unreaped: stuck in the kernel; it stays a zombie until it dies. */
}

/*
 * Run argv (argv[0] looked up in PATH unless it holds a '/') with stdin
 * from /dev/null, stdout and stderr into *out, in its own process group so
 * that mount.nfs, its child, can be killed with it. 0 with *status its
 * wait status; -ETIMEDOUT when it ran over timeout_ms and was killed;
 * another negative errno when it could not run.
 */
static int run_bounded(char *const argv[], int timeout_ms, struct output *out, int *status)
{
	_cleanup_(closep) int rfd = -1;
	int pipefd[2], r;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t mask, dflt;
	long long deadline;
	bool open_pipe = true;
	pid_t pid;

	out->len = 0;
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	rfd = pipefd[0];
	/* The writing end is blocking for the child (dup2 clears O_CLOEXEC, not O_NONBLOCK). */
	fcntl(pipefd[1], F_SETFL, 0);

	r = posix_spawn_file_actions_init(&fa);
	if (r) {
		close(pipefd[1]);
		return -r;
	}
	r = posix_spawnattr_init(&attr);
	if (r) {
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[1]);
		return -r;
	}
	sigemptyset(&mask);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	sigaddset(&dflt, SIGCHLD);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGTERM);
	sigaddset(&dflt, SIGHUP);
	r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	if (!r)
		r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
							    POSIX_SPAWN_SETSIGDEF);
	if (!r)
		r = posix_spawnattr_setpgroup(&attr, 0);
	if (!r)
		r = posix_spawnattr_setsigmask(&attr, &mask);
	if (!r)
		r = posix_spawnattr_setsigdefault(&attr, &dflt);
	if (!r)
		r = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pipefd[1]);
	if (r)
		return -r;

	deadline = now_ms() + timeout_ms;
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			r = -errno;
			kill_and_reap(pid);
			return r;
		}
		long long left = deadline - now_ms();

		if (left <= 0) {
			if (open_pipe)
				drain(rfd, out);
			kill_and_reap(pid);
			out->buf[out->len] = '\0';
			return -ETIMEDOUT;
		}
		if (open_pipe) {
			struct pollfd pfd = { .fd = rfd, .events = POLLIN };

			if (poll(&pfd, 1, left < POLL_TICK_MS ? (int)left : POLL_TICK_MS) > 0)
				open_pipe = drain(rfd, out);
		} else {
			poll(NULL, 0, left < POLL_TICK_MS ? (int)left : POLL_TICK_MS);
		}
	}
	if (open_pipe)
		drain(rfd, out);
	out->buf[out->len] = '\0';
	return 0;
}

/* mount's messages on one line: lines joined with "; ", blanks at their ends dropped. */
static void one_line(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (const char *p = in; *p && n + 3 < size; p++) {
		if (*p == '\n' || *p == '\r') {
			while (n && out[n - 1] == ' ')
				n--;
			if (n && out[n - 1] != ';')
				out[n++] = ';';
		} else if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p)) {
			if (n && out[n - 1] != ' ')
				out[n++] = ' ';
		} else {
			if (n && out[n - 1] == ';')
				out[n++] = ' ';
			out[n++] = *p;
		}
	}
	while (n && (out[n - 1] == ' ' || out[n - 1] == ';'))
		n--;
	out[n] = '\0';
}

static int mount_timeout_ms(void)
{
	const char *env = getenv("CBTSHIP_NFS_MOUNT_TIMEOUT");
	char *end;
	long secs;

	if (!env || !*env)
		return MOUNT_TIMEOUT_MS;
	errno = 0;
	secs = strtol(env, &end, 10);
	if (errno || *end || secs < 1 || secs > 3600)
		return MOUNT_TIMEOUT_MS;
	return (int)secs * 1000;
}

static bool mount_nfs_installed(void)
{
	/* mount(8) runs /sbin/mount.<type>; /usr/sbin is the same on a merged /usr. */
	return access("/sbin/mount.nfs", X_OK) == 0 || access("/usr/sbin/mount.nfs", X_OK) == 0;
}

/* Check what is mounted at path: 1 the share (reuse it), 0 nothing, <0 with a message. */
static int check_mounted(const char *share, const char *path, char **ret_error)
{
	_cleanup_(freep) char *type = NULL;
	_cleanup_(freep) char *source = NULL;
	int r = find_mount(path, &type, &source);

	if (r < 0) {
		set_error(ret_error, "NFS share %s: cannot read /proc/self/mountinfo: %s", share,
			  strerror(-r));
		return r;
	}
	if (r == 0)
		return 0;
	if (!nfs_type(type)) {
		set_error(ret_error, "NFS share %s: its mount point %s holds a %s file system (%s)",
			  share, path, type, source);
		return -EBUSY;
	}
	if (!same_share(share, source)) {
		set_error(ret_error,
			  "NFS share %s: another share, %s, is mounted at its mount point %s",
			  share, source, path);
		return -EBUSY;
	}
	return 1;
}

int cbt_nfs_mount(const char *share, const char *options, const char *mount_point_base,
		  char **ret_path, char **ret_error)
{
	_cleanup_(freep) char *opts = NULL;
	_cleanup_(freep) char *base = NULL;
	_cleanup_(freep) char *path = NULL;
	_cleanup_(freep) char *type = NULL;
	_cleanup_(freep) char *source = NULL;
	_cleanup_(closep) int lock_fd = -1;
	struct output *out;
	const char *why;
	bool made = false;
	char *argv[8];
	size_t argc = 0;
	int r, status = 0, timeout_ms;

	*ret_path = NULL;
	if (ret_error)
		*ret_error = NULL;
	if (!share || (why = share_invalid(share))) {
		set_error(ret_error, "bad NFS share '%s': %s (HOST:/PATH or [IPV6]:/PATH)",
			  share ? share : "", share ? why : "none given");
		return -EINVAL;
	}
	if (!mount_point_base || mount_point_base[0] != '/') {
		set_error(ret_error, "NFS share %s: the mount point base must be an absolute path",
			  share);
		return -EINVAL;
	}
	r = normalize_options(options, &opts);
	if (r == -EINVAL) {
		set_error(ret_error,
			  "NFS share %s: bad mount options '%s' (one comma-separated list, "
			  "as for mount -o)",
			  share, options);
		return r;
	}
	if (r < 0)
		return r;
	/*
	 * mount.nfs retries a failing foreground mount for 2 minutes by default
	 * (retry=2); with retry=0 it tries once, so that a dead or wrong server
	 * is reported at once rather than at our own time limit. Options that
	 * name retry themselves are kept.
	 */
	if (!has_option(opts, "retry")) {
		char *with_retry;

		if (asprintf(&with_retry, "%s%sretry=0", opts ? opts : "", opts ? "," : "") < 0)
			return -ENOMEM;
		free(opts);
		opts = with_retry;
	}

	r = mkdir_parents(mount_point_base, DIR_MODE);
	if (r < 0) {
		set_error(ret_error, "NFS share %s: cannot make the mount point base %s: %s", share,
			  mount_point_base, strerror(-r));
		return r;
	}
	/* mountinfo shows the real path. */
	base = realpath(mount_point_base, NULL);
	if (!base) {
		r = -errno;
		set_error(ret_error, "NFS share %s: %s: %s", share, mount_point_base, strerror(-r));
		return r;
	}
	path = mount_point_under(base, share);
	if (!path) {
		set_error(ret_error, "NFS share %s: cannot name its mount point (no MD5?)", share);
		return -ENOMEM;
	}
	/* One mounter at a time per base: two processes would stack two mounts. */
	lock_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX) < 0) {
		r = -errno;
		set_error(ret_error, "NFS share %s: cannot lock %s: %s", share, base, strerror(-r));
		return r;
	}

	r = check_mounted(share, path, ret_error);
	if (r < 0)
		return r;
	if (r > 0) {
		*ret_path = TAKE_PTR(path);
		return 0;
	}

	if (!mount_nfs_installed()) {
		set_error(ret_error,
			  "cannot mount NFS share %s: no /sbin/mount.nfs (install nfs-common)",
			  share);
		return -ENOENT;
	}
	if (mkdir(path, DIR_MODE) == 0) {
		made = true;
	} else if (errno != EEXIST) {
		r = -errno;
		set_error(ret_error, "NFS share %s: cannot make the mount point %s: %s", share,
			  path, strerror(-r));
		return r;
	}

	argv[argc++] = access("/bin/mount", X_OK) == 0 ? "/bin/mount" : "mount";
	argv[argc++] = "-t";
	argv[argc++] = "nfs";
	argv[argc++] = "-o";
	argv[argc++] = opts;
	argv[argc++] = (char *)share;
	argv[argc++] = path;
	argv[argc] = NULL;

	out = malloc(sizeof(*out));
	if (!out) {
		r = -ENOMEM;
		goto fail;
	}
	timeout_ms = mount_timeout_ms();
	r = run_bounded(argv, timeout_ms, out, &status);
	one_line(out->buf, out->line, sizeof(out->line));
	if (r == -ETIMEDOUT) {
		set_error(ret_error,
			  "cannot mount NFS share %s at %s: mount did not finish within %d s and "
			  "was killed (is the server reachable?)%s%s",
			  share, path, timeout_ms / 1000, out->line[0] ? ": " : "", out->line);
	} else if (r < 0) {
		set_error(ret_error, "cannot mount NFS share %s: cannot run %s: %s", share, argv[0],
			  strerror(-r));
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		r = -EIO;
		set_error(ret_error, "cannot mount NFS share %s at %s: %s", share, path,
			  out->line[0] ? out->line : "mount failed without a message");
	}
	free(out);
	if (r < 0)
		goto fail;

	/*
	 * mount said yes: an NFS file system must be there now (not with "bg",
	 * for one). Its source is not compared: the kernel may spell it in its
	 * own way.
	 */
	r = find_mount(path, &type, &source);
	if (r >= 0 && (r == 0 || !nfs_type(type))) {
		set_error(ret_error,
			  "cannot mount NFS share %s at %s: mount succeeded but no NFS file system "
			  "is mounted there",
			  share, path);
		r = -EIO;
	} else if (r < 0) {
		set_error(ret_error, "NFS share %s: cannot read /proc/self/mountinfo: %s", share,
			  strerror(-r));
	}
	if (r < 0)
		goto fail;
	*ret_path = TAKE_PTR(path);
	return 0;

fail:
	if (made)
		rmdir(path);
	return r;
}
