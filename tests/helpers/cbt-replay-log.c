/*
 * cbt-replay-log: replay a dm-log-writes log onto a block device (or file).
 *
 * The log format is the kernel's (drivers/md/dm-log-writes.c): a super
 * block at byte 0, then from byte `sectorsize` one entry after the other,
 * each a header sector (struct log_write_entry, then for a MARK its name)
 * followed by the `nr_sectors` data sectors that were written (none for a
 * DISCARD). `sector` and `nr_sectors` count in units of `sectorsize`, the
 * logical block size of the logged device. Entries are numbered from 0.
 *
 *   cbt-replay-log --log DEV [--replay DEV] [--start-entry N | --start-mark NAME]
 *                  [--limit N] [--end-mark NAME] [--next-fua | --next-flush]
 *                  [--fsck CMD --check fua|flush|N] [--no-discard | --blkdiscard] [-v]
 *   cbt-replay-log --log DEV --num-entries
 *   cbt-replay-log --log DEV --list
 *   cbt-replay-log --log DEV --find [--start-entry N] --next-fua|--next-flush|--mark NAME
 *
 * Replay writes the data entries, and performs discards by zeroing the range
 * (BLKZEROOUT, or written zeroes), so that the result does not depend on
 * what the replay device returns for discarded blocks; --blkdiscard issues
 * BLKDISCARD instead, --no-discard skips them. Flags are otherwise ignored.
 * --find prints "INDEX@LOGSECTOR" (the header's position in the log in
 * sectorsize units), as xfstests' replay-log does.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <endian.h>

#define PROG "cbt-replay-log"

#define LOG_FLUSH_FLAG	  (1ULL << 0)
#define LOG_FUA_FLAG	  (1ULL << 1)
#define LOG_DISCARD_FLAG  (1ULL << 2)
#define LOG_MARK_FLAG	  (1ULL << 3)
#define LOG_METADATA_FLAG (1ULL << 4)

#define WRITE_LOG_VERSION 1ULL
#define WRITE_LOG_MAGIC	  0x6a736677736872ULL

#define COPY_CHUNK (1024 * 1024)
#define NO_LIMIT   UINT64_MAX

/* On-disk structures, little endian (dm-log-writes.c). */
struct log_write_super {
	uint64_t magic;
	uint64_t version;
	uint64_t nr_entries;
	uint32_t sectorsize;
} __attribute__((packed));

struct log_write_entry {
	uint64_t sector;
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_len;
};

struct log {
	const char *path;
	int fd;
	uint64_t size; /* bytes */
	uint32_t sectorsize;
	uint64_t nr_entries;
	uint64_t next_index; /* index of the entry at next_pos */
	uint64_t next_pos;   /* byte offset of its header */
	unsigned char *hdr;  /* one sector */
};

struct entry {
	uint64_t index;
	uint64_t log_pos;  /* byte offset of the header in the log */
	uint64_t data_pos; /* byte offset of the data in the log */
	uint64_t sector;
	uint64_t nr_sectors;
	uint64_t flags;
	char mark[4096];
};

enum check_mode { CHECK_NONE, CHECK_FUA, CHECK_FLUSH, CHECK_EVERY };
enum discard_mode { DISCARD_ZERO, DISCARD_BLKDISCARD, DISCARD_SKIP };

struct options {
	const char *log_path;
	const char *replay_path;
	uint64_t start_entry;
	const char *start_mark;
	uint64_t limit;
	const char *end_mark;
	uint64_t stop_flags;
	bool find;
	bool num_entries;
	bool list;
	const char *fsck;
	enum check_mode check;
	uint64_t check_every;
	enum discard_mode discard;
	int verbose;
};

struct replay {
	const char *path;
	int fd;
	uint64_t size;
	bool is_blockdev;
	enum discard_mode discard;
	unsigned char *buf; /* COPY_CHUNK bytes */
};

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* ------------------------------------------------------------ raw I/O */

static int read_at(int fd, const char *path, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("%s: read at byte %" PRIu64 ": %s", path, off + done,
				    strerror(errno));
		if (n == 0)
			return fail("%s: short read at byte %" PRIu64 " (%zu of %zu bytes)", path,
				    off + done, done, len);
		done += (size_t)n;
	}
	return 0;
}

static int write_at(int fd, const char *path, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail("%s: write at byte %" PRIu64 ": %s", path, off + done,
				    n < 0 ? strerror(errno) : "no progress");
		done += (size_t)n;
	}
	return 0;
}

/* Size in bytes of a block device or regular file. */
static int fd_size(int fd, const char *path, uint64_t *size, bool *is_blockdev)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return fail("%s: %s", path, strerror(errno));
	*is_blockdev = S_ISBLK(st.st_mode);
	if (*is_blockdev) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0)
			return fail("%s: BLKGETSIZE64: %s", path, strerror(errno));
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return fail("%s: not a block device or regular file", path);
	*size = (uint64_t)st.st_size;
	return 0;
}

/* ------------------------------------------------------------ the log */

static bool valid_sectorsize(uint32_t s)
{
	return s >= 512 && s <= 65536 && (s & (s - 1)) == 0;
}

static int log_read_super(struct log *log)
{
	struct log_write_super super;
	uint64_t magic, version;

	if (log->size < 512)
		return fail("%s: not a dm-log-writes log (only %" PRIu64 " bytes)", log->path,
			    log->size);
	if (read_at(log->fd, log->path, &super, sizeof(super), 0) < 0)
		return -1;
	magic = le64toh(super.magic);
	version = le64toh(super.version);
	if (magic != WRITE_LOG_MAGIC)
		return fail("%s: not a dm-log-writes log (bad magic 0x%" PRIx64
			    ", expected 0x%llx)",
			    log->path, magic, WRITE_LOG_MAGIC);
	if (version != WRITE_LOG_VERSION)
		return fail("%s: unsupported dm-log-writes version %" PRIu64, log->path, version);
	log->nr_entries = le64toh(super.nr_entries);
	log->sectorsize = le32toh(super.sectorsize);
	if (!valid_sectorsize(log->sectorsize))
		return fail("%s: bad sector size %" PRIu32 " in the log super block", log->path,
			    log->sectorsize);
	return 0;
}

static int log_open(struct log *log, const char *path)
{
	bool is_blockdev;

	memset(log, 0, sizeof(*log));
	log->path = path;
	log->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (log->fd < 0)
		return fail("%s: %s", path, strerror(errno));
	if (fd_size(log->fd, path, &log->size, &is_blockdev) < 0 || log_read_super(log) < 0)
		return -1;
	log->hdr = malloc(log->sectorsize);
	if (!log->hdr)
		return fail("out of memory");
	log->next_index = 0;
	log->next_pos = log->sectorsize;
	return 0;
}

static void log_close(struct log *log)
{
	free(log->hdr);
	if (log->fd >= 0)
		close(log->fd);
}

/* Copies the mark name of a MARK header into e->mark. */
static int parse_mark(const struct log *log, struct entry *e, uint64_t data_len)
{
	size_t max = log->sectorsize - sizeof(struct log_write_entry);

	if (data_len >= max || data_len >= sizeof(e->mark))
		return fail("%s: entry %" PRIu64 ": mark of %" PRIu64
			    " bytes does not fit a sector",
			    log->path, e->index, data_len);
	memcpy(e->mark, log->hdr + sizeof(struct log_write_entry), (size_t)data_len);
	e->mark[data_len] = '\0';
	return 0;
}

/* Where the next entry starts, checking that this one lies inside the log. */
static int entry_end(const struct log *log, const struct entry *e, uint64_t *end)
{
	uint64_t data_bytes = 0;

	if (!(e->flags & LOG_DISCARD_FLAG)) {
		if (e->nr_sectors > (log->size - e->data_pos) / log->sectorsize)
			return fail("%s: entry %" PRIu64 ": %" PRIu64
				    " data sectors run past the end of the log (corrupt log?)",
				    log->path, e->index, e->nr_sectors);
		data_bytes = e->nr_sectors * log->sectorsize;
	}
	*end = e->data_pos + data_bytes;
	return 0;
}

/*
 * Reads the header of the next entry into e and moves past its data.
 * Returns 1 at the end of the log, 0 on success, -1 on error.
 */
static int log_next(struct log *log, struct entry *e)
{
	struct log_write_entry raw;
	uint64_t data_len, end = 0;

	if (log->next_index >= log->nr_entries)
		return 1;
	if (log->next_pos > log->size - log->sectorsize)
		return fail("%s: entry %" PRIu64 " lies past the end of the log (corrupt log?)",
			    log->path, log->next_index);
	if (read_at(log->fd, log->path, log->hdr, log->sectorsize, log->next_pos) < 0)
		return -1;
	memcpy(&raw, log->hdr, sizeof(raw));
	e->index = log->next_index;
	e->log_pos = log->next_pos;
	e->data_pos = log->next_pos + log->sectorsize;
	e->sector = le64toh(raw.sector);
	e->nr_sectors = le64toh(raw.nr_sectors);
	e->flags = le64toh(raw.flags);
	data_len = le64toh(raw.data_len);
	e->mark[0] = '\0';
	if ((e->flags & LOG_MARK_FLAG) && parse_mark(log, e, data_len) < 0)
		return -1;
	if (entry_end(log, e, &end) < 0)
		return -1;
	log->next_index++;
	log->next_pos = end;
	return 0;
}

/* Moves to entry `index` without replaying anything. */
static int log_seek_entry(struct log *log, uint64_t index)
{
	struct entry e;
	int ret;

	if (index > log->nr_entries)
		return fail("%s: start entry %" PRIu64 " is beyond the %" PRIu64 " entries",
			    log->path, index, log->nr_entries);
	while (log->next_index < index) {
		ret = log_next(log, &e);
		if (ret)
			return -1;
	}
	return 0;
}

static bool is_mark(const struct entry *e, const char *name)
{
	return (e->flags & LOG_MARK_FLAG) && strcmp(e->mark, name) == 0;
}

/* Moves just past the mark `name`. */
static int log_seek_mark(struct log *log, const char *name)
{
	struct entry e;
	int ret;

	while ((ret = log_next(log, &e)) == 0) {
		if (is_mark(&e, name))
			return 0;
	}
	if (ret > 0)
		return fail("%s: no mark '%s' in the log", log->path, name);
	return -1;
}

static void flags_to_words(uint64_t flags, char *buf, size_t len)
{
	static const struct {
		uint64_t flag;
		const char *word;
	} names[] = {
		{ LOG_FLUSH_FLAG, "FLUSH" },	   { LOG_FUA_FLAG, "FUA" },
		{ LOG_DISCARD_FLAG, "DISCARD" },   { LOG_MARK_FLAG, "MARK" },
		{ LOG_METADATA_FLAG, "METADATA" },
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].flag))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "",
					 names[i].word);
		flags &= ~names[i].flag;
	}
	if (flags)
		used += (size_t)snprintf(buf + used, len - used, "%s0x%" PRIx64, used ? "," : "",
					 flags);
	if (!used)
		snprintf(buf, len, "WRITE");
}

static void print_entry(FILE *out, const struct entry *e)
{
	char words[128];

	flags_to_words(e->flags, words, sizeof(words));
	fprintf(out, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %s", e->index, e->sector, e->nr_sectors,
		words);
	if (e->flags & LOG_MARK_FLAG)
		fprintf(out, " %s", e->mark);
	fputc('\n', out);
}

/* ------------------------------------------------------------ replay */

static int replay_open(struct replay *r, const char *path, enum discard_mode discard)
{
	memset(r, 0, sizeof(*r));
	r->path = path;
	r->discard = discard;
	r->fd = open(path, O_WRONLY | O_CLOEXEC);
	if (r->fd < 0)
		return fail("%s: %s", path, strerror(errno));
	if (fd_size(r->fd, path, &r->size, &r->is_blockdev) < 0)
		return -1;
	r->buf = malloc(COPY_CHUNK);
	if (!r->buf)
		return fail("out of memory");
	return 0;
}

static int replay_close(struct replay *r)
{
	int ret = 0;

	if (r->fd >= 0 && fsync(r->fd) < 0)
		ret = fail("%s: fsync: %s", r->path, strerror(errno));
	if (r->fd >= 0 && close(r->fd) < 0 && !ret)
		ret = fail("%s: close: %s", r->path, strerror(errno));
	free(r->buf);
	return ret;
}

static int write_zeroes(struct replay *r, uint64_t off, uint64_t len)
{
	uint64_t range[2] = { off, len };

	if (r->is_blockdev && ioctl(r->fd, BLKZEROOUT, range) == 0)
		return 0;
	memset(r->buf, 0, COPY_CHUNK);
	while (len) {
		size_t n = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;

		if (write_at(r->fd, r->path, r->buf, n, off) < 0)
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}

static int replay_discard(struct replay *r, uint64_t off, uint64_t len)
{
	uint64_t range[2] = { off, len };

	switch (r->discard) {
	case DISCARD_SKIP:
		return 0;
	case DISCARD_BLKDISCARD:
		if (!r->is_blockdev)
			return fail("%s: --blkdiscard needs a block device", r->path);
		if (ioctl(r->fd, BLKDISCARD, range) < 0)
			return fail("%s: BLKDISCARD at byte %" PRIu64 ": %s", r->path, off,
				    strerror(errno));
		return 0;
	case DISCARD_ZERO:
		break;
	}
	return write_zeroes(r, off, len);
}

static int replay_data(struct replay *r, const struct log *log, const struct entry *e, uint64_t off,
		       uint64_t len)
{
	uint64_t src = e->data_pos;

	while (len) {
		size_t n = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;

		if (read_at(log->fd, log->path, r->buf, n, src) < 0 ||
		    write_at(r->fd, r->path, r->buf, n, off) < 0)
			return -1;
		src += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int replay_entry(struct replay *r, const struct log *log, const struct entry *e)
{
	uint64_t ss = log->sectorsize;
	uint64_t off, len;

	if (!e->nr_sectors)
		return 0; /* marks, empty flushes */
	if (e->sector > r->size / ss || e->nr_sectors > r->size / ss - e->sector)
		return fail("%s: entry %" PRIu64 " (sector %" PRIu64 ", %" PRIu64
			    " sectors) is beyond the end of the device",
			    r->path, e->index, e->sector, e->nr_sectors);
	off = e->sector * ss;
	len = e->nr_sectors * ss;
	if (e->flags & LOG_DISCARD_FLAG)
		return replay_discard(r, off, len);
	return replay_data(r, log, e, off, len);
}

static int run_fsck(struct replay *r, const char *cmd, uint64_t index)
{
	int status;

	if (fsync(r->fd) < 0)
		return fail("%s: fsync: %s", r->path, strerror(errno));
	fflush(NULL);
	status = system(cmd);
	if (status == -1)
		return fail("cannot run '%s': %s", cmd, strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail("check '%s' failed after entry %" PRIu64 " (status %d)", cmd, index,
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

static bool check_due(const struct options *o, const struct entry *e, uint64_t replayed)
{
	switch (o->check) {
	case CHECK_FUA:
		return e->flags & LOG_FUA_FLAG;
	case CHECK_FLUSH:
		return e->flags & LOG_FLUSH_FLAG;
	case CHECK_EVERY:
		return replayed % o->check_every == 0;
	case CHECK_NONE:
		break;
	}
	return false;
}

/* ------------------------------------------------------------ modes */

/* Does entry e end the range (--end-mark, --next-fua, --next-flush)? */
static bool is_stop(const struct options *o, const struct entry *e)
{
	if (o->end_mark && is_mark(e, o->end_mark))
		return true;
	return (e->flags & o->stop_flags) != 0;
}

static bool has_stop(const struct options *o)
{
	return o->end_mark || o->stop_flags;
}

/*
 * Finds where the replay ends, from the current position: *end is one past
 * the first stop entry, or the last entry within the limit, or the end of
 * the log.
 */
static int find_end(struct log *log, const struct options *o, uint64_t *end)
{
	uint64_t first = log->next_index, seen = 0;
	struct entry e;
	int ret;

	if (o->limit == 0) {
		*end = first;
		return 0;
	}
	while ((ret = log_next(log, &e)) == 0) {
		seen++;
		if (is_stop(o, &e) || (o->limit != NO_LIMIT && seen == o->limit)) {
			*end = e.index + 1;
			return 0;
		}
	}
	if (ret < 0)
		return -1;
	if (o->end_mark)
		return fail("%s: no mark '%s' in the log", log->path, o->end_mark);
	if (o->stop_flags)
		return fail("%s: no %s entry after entry %" PRIu64, log->path,
			    (o->stop_flags & LOG_FUA_FLAG) ? "FUA" : "FLUSH", first);
	*end = log->next_index;
	return 0;
}

static int do_find(struct log *log, const struct options *o)
{
	struct entry e;
	int ret;

	while ((ret = log_next(log, &e)) == 0) {
		if (is_stop(o, &e)) {
			printf("%" PRIu64 "@%" PRIu64 "\n", e.index, e.log_pos / log->sectorsize);
			return 0;
		}
	}
	if (ret < 0)
		return -1;
	return fail("%s: no matching entry", log->path);
}

static int do_list(struct log *log)
{
	struct entry e;
	int ret;

	while ((ret = log_next(log, &e)) == 0)
		print_entry(stdout, &e);
	return ret < 0 ? -1 : 0;
}

/* Replays entries from the current position up to (excluding) `end`. */
static int replay_range(struct log *log, struct replay *r, const struct options *o, uint64_t end)
{
	uint64_t replayed = 0;
	struct entry e;

	while (log->next_index < end) {
		if (log_next(log, &e) != 0)
			return -1;
		if (o->verbose)
			print_entry(stderr, &e);
		if (replay_entry(r, log, &e) < 0)
			return -1;
		replayed++;
		if (o->fsck && check_due(o, &e, replayed) && run_fsck(r, o->fsck, e.index) < 0)
			return -1;
	}
	if (o->verbose)
		fprintf(stderr, PROG ": replayed %" PRIu64 " entries\n", replayed);
	return 0;
}

static int do_replay(struct log *log, const struct options *o)
{
	uint64_t start = log->next_index, start_pos = log->next_pos, end;
	struct replay r;
	int ret;

	/* Resolve the range first: a missing mark must leave the device alone. */
	if (find_end(log, o, &end) < 0)
		return -1;
	log->next_index = start;
	log->next_pos = start_pos;
	if (replay_open(&r, o->replay_path, o->discard) < 0) {
		replay_close(&r);
		return -1;
	}
	ret = replay_range(log, &r, o, end);
	if (replay_close(&r) < 0)
		ret = -1;
	return ret;
}

/* ------------------------------------------------------------ options */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " --log DEV [options]\n"
		"  --replay DEV         replay onto DEV (from the start entry to the end)\n"
		"  --limit N            replay at most N entries (0: none)\n"
		"  --end-mark NAME      replay up to and including the mark NAME\n"
		"  --next-fua           replay up to and including the next FUA entry\n"
		"  --next-flush         replay up to and including the next FLUSH entry\n"
		"  --start-entry N      start at entry N (earlier entries are not replayed)\n"
		"  --start-mark NAME    start just after the mark NAME\n"
		"  --find               print INDEX@LOGSECTOR of the first entry matching\n"
		"                       --next-fua, --next-flush or --mark NAME\n"
		"  --mark NAME          same as --end-mark\n"
		"  --num-entries        print the number of entries in the log\n"
		"  --list               print INDEX SECTOR NR_SECTORS FLAGS [MARK] per entry\n"
		"  --fsck CMD           run CMD (through sh) during the replay, see --check;\n"
		"                       the replay stops if CMD fails\n"
		"  --check fua|flush|N  run --fsck after each FUA, FLUSH or N entries\n"
		"  --no-discard         skip discard entries\n"
		"  --blkdiscard         issue BLKDISCARD for discards (default: write zeroes)\n"
		"  -v, --verbose        print each replayed entry on stderr\n"
		"Sectors count in units of the log's sector size.\n");
}

static int parse_u64(const char *opt, const char *arg, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-')
		return fail("%s: '%s' is not a number", opt, arg);
	*out = v;
	return 0;
}

static int parse_check(struct options *o, const char *arg)
{
	if (strcmp(arg, "fua") == 0) {
		o->check = CHECK_FUA;
		return 0;
	}
	if (strcmp(arg, "flush") == 0) {
		o->check = CHECK_FLUSH;
		return 0;
	}
	o->check = CHECK_EVERY;
	if (parse_u64("--check", arg, &o->check_every) < 0)
		return -1;
	if (!o->check_every)
		return fail("--check: the number of entries must not be 0");
	return 0;
}

enum {
	OPT_LOG = 256,
	OPT_REPLAY,
	OPT_LIMIT,
	OPT_END_MARK,
	OPT_START_ENTRY,
	OPT_START_MARK,
	OPT_FIND,
	OPT_NEXT_FUA,
	OPT_NEXT_FLUSH,
	OPT_NUM_ENTRIES,
	OPT_LIST,
	OPT_FSCK,
	OPT_CHECK,
	OPT_NO_DISCARD,
	OPT_BLKDISCARD,
};

static const struct option long_options[] = {
	{ "log", required_argument, NULL, OPT_LOG },
	{ "replay", required_argument, NULL, OPT_REPLAY },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "end-mark", required_argument, NULL, OPT_END_MARK },
	{ "mark", required_argument, NULL, OPT_END_MARK },
	{ "start-entry", required_argument, NULL, OPT_START_ENTRY },
	{ "start-mark", required_argument, NULL, OPT_START_MARK },
	{ "find", no_argument, NULL, OPT_FIND },
	{ "next-fua", no_argument, NULL, OPT_NEXT_FUA },
	{ "next-flush", no_argument, NULL, OPT_NEXT_FLUSH },
	{ "num-entries", no_argument, NULL, OPT_NUM_ENTRIES },
	{ "list", no_argument, NULL, OPT_LIST },
	{ "fsck", required_argument, NULL, OPT_FSCK },
	{ "check", required_argument, NULL, OPT_CHECK },
	{ "no-discard", no_argument, NULL, OPT_NO_DISCARD },
	{ "blkdiscard", no_argument, NULL, OPT_BLKDISCARD },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int parse_option(struct options *o, int c, const char *arg)
{
	switch (c) {
	case OPT_LOG:
		o->log_path = arg;
		return 0;
	case OPT_REPLAY:
		o->replay_path = arg;
		return 0;
	case OPT_LIMIT:
		return parse_u64("--limit", arg, &o->limit);
	case OPT_END_MARK:
		o->end_mark = arg;
		return 0;
	case OPT_START_ENTRY:
		return parse_u64("--start-entry", arg, &o->start_entry);
	case OPT_START_MARK:
		o->start_mark = arg;
		return 0;
	case OPT_FIND:
		o->find = true;
		return 0;
	case OPT_NEXT_FUA:
		o->stop_flags |= LOG_FUA_FLAG;
		return 0;
	case OPT_NEXT_FLUSH:
		o->stop_flags |= LOG_FLUSH_FLAG;
		return 0;
	case OPT_NUM_ENTRIES:
		o->num_entries = true;
		return 0;
	case OPT_LIST:
		o->list = true;
		return 0;
	case OPT_FSCK:
		o->fsck = arg;
		return 0;
	case OPT_CHECK:
		return parse_check(o, arg);
	case OPT_NO_DISCARD:
		o->discard = DISCARD_SKIP;
		return 0;
	case OPT_BLKDISCARD:
		o->discard = DISCARD_BLKDISCARD;
		return 0;
	case 'v':
		o->verbose++;
		return 0;
	}
	return -1;
}

static int validate_options(const struct options *o)
{
	if (!o->log_path)
		return fail("--log is required (try --help)");
	if (o->start_mark && o->start_entry)
		return fail("--start-entry and --start-mark exclude each other");
	if (!o->fsck != (o->check == CHECK_NONE))
		return fail("--fsck and --check go together");
	if (o->find && !has_stop(o))
		return fail("--find needs --next-fua, --next-flush or --mark NAME");
	if (o->fsck && !o->replay_path)
		return fail("--fsck needs --replay");
	return 0;
}

static int parse_options(struct options *o, int argc, char **argv)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->limit = NO_LIMIT;
	o->discard = DISCARD_ZERO;
	while ((c = getopt_long(argc, argv, "vh", long_options, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (c == '?') {
			usage(stderr);
			return -1;
		}
		if (parse_option(o, c, optarg) < 0)
			return -1;
	}
	if (optind < argc)
		return fail("unexpected argument '%s' (try --help)", argv[optind]);
	return validate_options(o);
}

/* ------------------------------------------------------------ main */

static int run(struct log *log, const struct options *o)
{
	if (o->num_entries) {
		printf("%" PRIu64 "\n", log->nr_entries);
		return 0;
	}
	if (o->start_mark ? log_seek_mark(log, o->start_mark) : log_seek_entry(log, o->start_entry))
		return -1;
	if (o->find)
		return do_find(log, o);
	if (o->list)
		return do_list(log);
	if (o->replay_path)
		return do_replay(log, o);
	printf("log %s: version %llu, sector size %" PRIu32 ", %" PRIu64 " entries\n", log->path,
	       WRITE_LOG_VERSION, log->sectorsize, log->nr_entries);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct log log;
	int ret;

	if (parse_options(&o, argc, argv) < 0)
		return 2;
	if (log_open(&log, o.log_path) < 0) {
		log_close(&log);
		return 1;
	}
	ret = run(&log, &o);
	log_close(&log);
	if (fflush(stdout) != 0)
		return 1;
	return ret < 0 ? 1 : 0;
}
