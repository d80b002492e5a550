/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbt-rbd-tool: drive the RBD backup target (driver/ceph/rbd-image.h) from
 * test scripts. The cluster is the one of $CEPH_CONF (or --conf).
 *
 *   cbt-rbd-tool [OPTIONS] ping
 *   cbt-rbd-tool [OPTIONS] write-image VOLUME_ID FILE --snap BACKUP_ID
 *                          [--dirty-map MAPFILE]
 *        write FILE (all of it, or the ranges of MAPFILE: "OFFSET LENGTH"
 *        in bytes a line) into the volume's backup image, resized to the
 *        file's size, then snapshot it for BACKUP_ID; prints the snapshot
 *        name. Zero 64 KiB blocks become write-zeroes (or nothing, on a
 *        new image). --delay-ms N sleeps N ms after each 4 MiB piece (to
 *        stop a server in the middle).
 *   cbt-rbd-tool [OPTIONS] read-snap VOLUME_ID SNAP OUTFILE
 *        restore SNAP into OUTFILE (made sparse, the snapshot's size):
 *        only the extents the snapshot has are read, and their zero
 *        64 KiB blocks are left as holes
 *   cbt-rbd-tool [OPTIONS] find VOLUME_ID BACKUP_ID    prints the snapshot
 *   cbt-rbd-tool [OPTIONS] ls VOLUME_ID
 *        one snapshot a line, oldest first: NAME SIZE TIMESTAMP BACKUP_ID
 *   cbt-rbd-tool [OPTIONS] extents VOLUME_ID SNAP
 *   cbt-rbd-tool [OPTIONS] diff VOLUME_ID FROM_SNAP|- TO_SNAP
 *        one extent a line: OFFSET LENGTH 1|0 (0: zeroed)
 *   cbt-rbd-tool [OPTIONS] rm-snap VOLUME_ID SNAP
 *        remove the snapshot, then the image if it was the last one;
 *        prints "image removed" or "image kept"
 *
 * OPTIONS: --conf FILE, --user ID, --pool POOL, --timeout SECONDS.
 * Statistics ("wrote ... in S s") go to stderr. A failure prints
 * "cbt-rbd-tool: MESSAGE" and exits 1, or 3 for -ENOENT; 2 is a usage
 * error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cbtship/driver/ceph/rbd-image.h"

#define PIECE (4u << 20)  /* bytes read or written at a time */
#define BLOCK (64u << 10) /* zero detection */

static struct cbt_rbd_config cfg;

static int usage(void)
{
	fprintf(stderr,
		"usage: cbt-rbd-tool [--conf F] [--user U] [--pool P] [--timeout S] COMMAND ...\n"
		"  ping\n"
		"  write-image VOLUME_ID FILE --snap BACKUP_ID [--dirty-map MAPFILE] [--delay-ms "
		"N]\n"
		"  read-snap VOLUME_ID SNAP OUTFILE\n"
		"  find VOLUME_ID BACKUP_ID\n"
		"  ls VOLUME_ID\n"
		"  extents VOLUME_ID SNAP\n"
		"  diff VOLUME_ID FROM_SNAP|- TO_SNAP\n"
		"  rm-snap VOLUME_ID SNAP\n");
	return 2;
}

static int failed(int r, const char *error, const char *what)
{
	if (error)
		fprintf(stderr, "cbt-rbd-tool: %s\n", error);
	else
		fprintf(stderr, "cbt-rbd-tool: %s: %s\n", what ? what : "error", strerror(-r));
	return r == -ENOENT ? 3 : 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

struct writer {
	struct cbt_rbd_image *img;
	int fd;
	bool created;
	unsigned delay_ms;
	unsigned char *buf;
	uint64_t written, zeroed;
	uint64_t zero_start, zero_len; /* the pending run of zero blocks */
	char *error;
};

/* Zero the pending run of zero blocks (one call, so whole objects are deallocated). */
static int flush_zeros(struct writer *w)
{
	int r = 0;

	if (w->zero_len && !w->created) {
		r = cbt_rbd_image_discard(w->img, w->zero_start, w->zero_len, &w->error);
		w->zeroed += w->zero_len;
	}
	w->zero_len = 0;
	return r;
}

/*
 * Copy [offset, offset + len) of the file: data written, runs of zero
 * blocks zeroed (nothing on a new image), across the pieces read.
 */
static int copy_range(struct writer *w, uint64_t offset, uint64_t len)
{
	int r;

	while (len > 0) {
		size_t n = len < PIECE ? (size_t)len : PIECE;
		ssize_t got = pread(w->fd, w->buf, n, (off_t)offset);

		if (got < 0)
			return -errno;
		if ((size_t)got < n) /* past the end of the file: zeros */
			memset(w->buf + got, 0, n - (size_t)got);
		for (size_t i = 0; i < n;) {
			size_t b = n - i < BLOCK ? n - i : BLOCK;
			size_t run = b;

			if (all_zero(w->buf + i, b)) {
				if (!w->zero_len)
					w->zero_start = offset + i;
				w->zero_len += b;
				i += b;
				continue;
			}
			r = flush_zeros(w);
			if (r < 0)
				return r;
			while (i + run < n) {
				size_t nb = n - i - run < BLOCK ? n - i - run : BLOCK;

				if (all_zero(w->buf + i + run, nb))
					break;
				run += nb;
			}
			r = cbt_rbd_image_write(w->img, offset + i, w->buf + i, run, &w->error);
			if (r < 0)
				return r;
			w->written += run;
			i += run;
		}
		offset += n;
		len -= n;
		if (w->delay_ms)
			usleep(w->delay_ms * 1000u);
	}
	return flush_zeros(w);
}

static int cmd_write_image(int argc, char **argv)
{
	_cleanup_(cbt_rbd_freep) struct cbt_rbd *rbd = NULL;
	_cleanup_(cbt_rbd_image_freep) struct cbt_rbd_image *img = NULL;
	_cleanup_(freep) char *error = NULL;
	_cleanup_(freep) char *snap = NULL;
	_cleanup_(fclosep) FILE *map = NULL;
	_cleanup_(closep) int fd = -1;
	const char *volume, *file, *backup = NULL, *map_path = NULL;
	struct writer w = { 0 };
	struct stat st;
	double t0 = now();
	int r;

	if (argc < 3)
		return usage();
	volume = argv[1];
	file = argv[2];
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--snap") == 0 && i + 1 < argc)
			backup = argv[++i];
		else if (strcmp(argv[i], "--dirty-map") == 0 && i + 1 < argc)
			map_path = argv[++i];
		else if (strcmp(argv[i], "--delay-ms") == 0 && i + 1 < argc)
			w.delay_ms = (unsigned)strtoul(argv[++i], NULL, 10);
		else
			return usage();
	}
	if (!backup)
		return usage();
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "cbt-rbd-tool: %s: %s\n", file, strerror(errno));
		return 1;
	}
	if (map_path) {
		map = fopen(map_path, "re");
		if (!map) {
			fprintf(stderr, "cbt-rbd-tool: %s: %s\n", map_path, strerror(errno));
			return 1;
		}
	}
	r = cbt_rbd_open(&cfg, &rbd, &error);
	if (r < 0)
		return failed(r, error, "open");
	r = cbt_rbd_image_open(rbd, volume, (uint64_t)st.st_size, true, &img, &w.created, &error);
	if (r < 0)
		return failed(r, error, "image open");
	w.img = img;
	w.fd = fd;
	w.buf = malloc(PIECE);
	if (!w.buf)
		return failed(-ENOMEM, NULL, NULL);
	if (map) {
		unsigned long long off, len;
		int n;

		while ((n = fscanf(map, "%llu %llu", &off, &len)) == 2) {
			if (off > (uint64_t)st.st_size || len > (uint64_t)st.st_size - off) {
				fprintf(stderr, "cbt-rbd-tool: %s: range %llu+%llu is beyond %s\n",
					map_path, off, len, file);
				free(w.buf);
				return 1;
			}
			r = copy_range(&w, off, len);
			if (r < 0)
				break;
		}
		if (r == 0 && n != EOF) {
			fprintf(stderr, "cbt-rbd-tool: %s: not 'OFFSET LENGTH' lines\n", map_path);
			free(w.buf);
			return 1;
		}
	} else {
		r = copy_range(&w, 0, (uint64_t)st.st_size);
	}
	free(w.buf);
	if (r < 0)
		return failed(r, w.error, "write");
	r = cbt_rbd_snap_create(img, backup, &snap, &error);
	if (r < 0)
		return failed(r, error, "snapshot");
	printf("%s\n", snap);
	fprintf(stderr,
		"cbt-rbd-tool: wrote %" PRIu64 " bytes, zeroed %" PRIu64 " bytes%s in %.2f s\n",
		w.written, w.zeroed, w.created ? " (new image)" : "", now() - t0);
	return 0;
}

struct reader {
	struct cbt_rbd_snap *snap;
	int fd;
	unsigned char *buf;
	uint64_t bytes, extents;
	char *error;
};

static int restore_extent(uint64_t offset, uint64_t len, bool exists, void *userdata)
{
	struct reader *rd = userdata;

	if (!exists)
		return 0; /* zeros: the file is sparse */
	rd->extents++;
	while (len > 0) {
		size_t n = len < PIECE ? (size_t)len : PIECE;
		ssize_t got = cbt_rbd_snap_read(rd->snap, offset, rd->buf, n, &rd->error);

		if (got < 0)
			return (int)got;
		if ((size_t)got != n) {
			fprintf(stderr, "cbt-rbd-tool: short read at %" PRIu64 "\n", offset);
			return -EIO;
		}
		for (size_t i = 0; i < n; i += BLOCK) {
			size_t b = n - i < BLOCK ? n - i : BLOCK;

			if (all_zero(rd->buf + i, b))
				continue; /* a hole of the new file */
			if (pwrite(rd->fd, rd->buf + i, b, (off_t)(offset + i)) != (ssize_t)b)
				return -errno;
		}
		rd->bytes += n;
		offset += n;
		len -= n;
	}
	return 0;
}

static int cmd_read_snap(const char *volume, const char *snap_name, const char *out)
{
	_cleanup_(cbt_rbd_freep) struct cbt_rbd *rbd = NULL;
	_cleanup_(cbt_rbd_snap_freep) struct cbt_rbd_snap *snap = NULL;
	_cleanup_(freep) char *error = NULL;
	struct reader rd = { 0 };
	double t0 = now();
	int r;

	r = cbt_rbd_open(&cfg, &rbd, &error);
	if (r < 0)
		return failed(r, error, "open");
	r = cbt_rbd_snap_open(rbd, volume, snap_name, &snap, &error);
	if (r < 0)
		return failed(r, error, "snapshot open");
	rd.snap = snap;
	rd.fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (rd.fd < 0 || ftruncate(rd.fd, (off_t)cbt_rbd_snap_size(snap)) < 0) {
		fprintf(stderr, "cbt-rbd-tool: %s: %s\n", out, strerror(errno));
		if (rd.fd >= 0)
			close(rd.fd);
		return 1;
	}
	rd.buf = malloc(PIECE);
	r = rd.buf ? cbt_rbd_snap_extents(snap, restore_extent, &rd, &error) : -ENOMEM;
	free(rd.buf);
	if (r == 0 && fsync(rd.fd) < 0)
		r = -errno;
	close(rd.fd);
	if (r < 0) {
		failed(r, rd.error ? rd.error : error, out);
		free(rd.error);
		return r == -ENOENT ? 3 : 1;
	}
	fprintf(stderr,
		"cbt-rbd-tool: restored %" PRIu64 " bytes in %" PRIu64 " extents of %" PRIu64
		" in %.2f s\n",
		rd.bytes, rd.extents, cbt_rbd_snap_size(snap), now() - t0);
	return 0;
}

static int print_extent(uint64_t offset, uint64_t len, bool exists, void *userdata)
{
	(void)userdata;
	printf("%" PRIu64 " %" PRIu64 " %d\n", offset, len, exists ? 1 : 0);
	return 0;
}

static int cmd_extents(const char *volume, const char *snap_name)
{
	_cleanup_(cbt_rbd_freep) struct cbt_rbd *rbd = NULL;
	_cleanup_(cbt_rbd_snap_freep) struct cbt_rbd_snap *snap = NULL;
	_cleanup_(freep) char *error = NULL;
	int r;

	r = cbt_rbd_open(&cfg, &rbd, &error);
	if (r < 0)
		return failed(r, error, "open");
	r = cbt_rbd_snap_open(rbd, volume, snap_name, &snap, &error);
	if (r >= 0)
		r = cbt_rbd_snap_extents(snap, print_extent, NULL, &error);
	return r < 0 ? failed(r, error, "extents") : 0;
}

static int cmd_diff(const char *volume, const char *from, const char *to)
{
	_cleanup_(cbt_rbd_freep) struct cbt_rbd *rbd = NULL;
	_cleanup_(freep) char *error = NULL;
	int r;

	r = cbt_rbd_open(&cfg, &rbd, &error);
	if (r >= 0)
		r = cbt_rbd_snap_diff(rbd, volume, strcmp(from, "-") == 0 ? NULL : from, to,
				      print_extent, NULL, &error);
	return r < 0 ? failed(r, error, "diff") : 0;
}

static int cmd_ls(const char *volume)
{
	_cleanup_(cbt_rbd_freep) struct cbt_rbd *rbd = NULL;
	_cleanup_(freep) char *error = NULL;
	struct cbt_rbd_snap_info *snaps = NULL;
	int n;

	n = cbt_rbd_open(&cfg, &rbd, &error);
	if (n >= 0)
		n = cbt_rbd_snap_list(rbd, volume, &snaps, &error);
	if (n < 0)
		return failed(n, error, "ls");
	for (int i = 0; i < n; i++)
		printf("%s %" PRIu64 " %" PRId64 " %s\n", snaps[i].name, snaps[i].size,
		       snaps[i].timestamp, snaps[i].backup_id ? snaps[i].backup_id : "-");
	cbt_rbd_snap_list_free(snaps, n);
	return 0;
}

static int cmd_find(const char *volume, const char *backup)
{
	_cleanup_(cbt_rbd_freep) struct cbt_rbd *rbd = NULL;
	_cleanup_(freep) char *error = NULL;
	_cleanup_(freep) char *name = NULL;
	int r;

	r = cbt_rbd_open(&cfg, &rbd, &error);
	if (r >= 0)
		r = cbt_rbd_snap_find(rbd, volume, backup, &name, &error);
	if (r < 0)
		return failed(r, error, "find");
	printf("%s\n", name);
	return 0;
}

static int cmd_rm_snap(const char *volume, const char *snap)
{
	_cleanup_(cbt_rbd_freep) struct cbt_rbd *rbd = NULL;
	_cleanup_(freep) char *error = NULL;
	int r;

	r = cbt_rbd_open(&cfg, &rbd, &error);
	if (r >= 0)
		r = cbt_rbd_snap_remove(rbd, volume, snap, &error);
	if (r >= 0)
		r = cbt_rbd_image_remove_if_unused(rbd, volume, &error);
	if (r < 0)
		return failed(r, error, "rm-snap");
	printf("image %s\n", r == 1 ? "removed" : "kept");
	return 0;
}

static int cmd_ping(void)
{
	_cleanup_(freep) char *error = NULL;
	double t0 = now();
	int r = cbt_rbd_ping(&cfg, &error);

	if (r < 0)
		return failed(r, error, "ping");
	printf("ok %.3f s\n", now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;

	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--conf") == 0)
			cfg.conf = argv[i + 1];
		else if (strcmp(argv[i], "--user") == 0)
			cfg.user = argv[i + 1];
		else if (strcmp(argv[i], "--pool") == 0)
			cfg.pool = argv[i + 1];
		else if (strcmp(argv[i], "--timeout") == 0)
			cfg.timeout_seconds = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else
			return usage();
	}
	argc -= i;
	argv += i;
	if (argc < 1)
		return usage();
	if (strcmp(argv[0], "ping") == 0 && argc == 1)
		return cmd_ping();
	if (strcmp(argv[0], "write-image") == 0)
		return cmd_write_image(argc, argv);
	if (strcmp(argv[0], "read-snap") == 0 && argc == 4)
		return cmd_read_snap(argv[1], argv[2], argv[3]);
	if (strcmp(argv[0], "find") == 0 && argc == 3)
		return cmd_find(argv[1], argv[2]);
	if (strcmp(argv[0], "ls") == 0 && argc == 2)
		return cmd_ls(argv[1]);
	if (strcmp(argv[0], "extents") == 0 && argc == 3)
		return cmd_extents(argv[1], argv[2]);
	if (strcmp(argv[0], "diff") == 0 && argc == 4)
		return cmd_diff(argv[1], argv[2], argv[3]);
	if (strcmp(argv[0], "rm-snap") == 0 && argc == 3)
		return cmd_rm_snap(argv[1], argv[2]);
	return usage();
}
