/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cbt-chunk-bench: measure the chunk size with cbtship's own data path
 * (zero check, SHA-256, zstd, chunk object codec, index tree, POSIX store).
 * Used by scripts/bench-chunk-size. Single-threaded on purpose: the
 * figures compare chunk sizes, not pipelines.
 *
 *   cbt-chunk-bench backup --image FILE --store DIR --chunk-size N
 *                   [--parent STATE --dirty MAP] --state-out STATE
 *       Store FILE into the POSIX store at DIR as a backup would. Without
 *       --parent: a full backup (every chunk: zero check, hash, compress,
 *       put unless already present, index set; the index is opened from
 *       the zero root so its memory stays bounded). With --parent and
 *       --dirty: an incremental; only the chunks overlapping a dirty range
 *       are read and processed, the index is opened from the parent's root
 *       and only changed entries are set. Prints one JSON object.
 *
 *   cbt-chunk-bench estimate --image FILE --dirty MAP --block N
 *       What a fixed-block incremental (cinder's chunked driver, N = 32768)
 *       stores for the same change: every distinct N-byte block touched by
 *       the map, each compressed with zstd (raw when it does not shrink),
 *       plus cinder's per-backup sha256 list (68 bytes of JSON per block of
 *       the volume). Prints one JSON object.
 *
 *   cbt-chunk-bench make-image --image FILE --size N --seed S
 *       A sparse image of extents 64 KiB..64 MiB long (powers of two), each
 *       in turn random (incompressible), text (words from a fixed list,
 *       compresses about 3-4x with zstd) or zero (a hole), in a seeded
 *       random order, so each kind is about one third of the volume.
 *
 *   cbt-chunk-bench mutate --image FILE --dirty-out MAP --per-mille P
 *                   --run-blocks R --seed S
 *       Rewrite P/1000 of the 4 KiB blocks of FILE with random data, in runs
 *       of R contiguous blocks starting at any 4 KiB block (not aligned to
 *       R, not overlapping), chosen with the seed; write the dirty map.
 *
 * Dirty map: one range per line, "FIRST_BYTE LENGTH" in decimal bytes.
 * State file: "chunk_size N\nnr_chunks N\nroot HEX\n".
 * Sizes accept K, M, G suffixes (powers of 1024).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cbt-cleanup.h"
#include "cbtship/compress/compressor.h"
#include "cbtship/hash/chunk-id.h"
#include "cbtship/hash/hasher.h"
#include "cbtship/hash/zero.h"
#include "cbtship/pipeline/io.h"
#include "cbtship/repo/chunk-object.h"
#include "cbtship/repo/index.h"
#include "cbtship/repo/object-key.h"
#include "cbtship/store/posix/posix.h"
#include "cbtship/store/store.h"

#define PROG	   "cbt-chunk-bench"
#define BLOCK_4K   4096
#define CHUNK_MIN  (4u << 10)
#define CHUNK_MAX  (UINT64_C(16) << 20)
#define IO_SIZE	   (UINT64_C(1) << 20)
#define EXTENT_MIN (UINT64_C(64) << 10)

struct opts {
	const char *image;
	const char *store;
	const char *parent;
	const char *dirty;
	const char *state_out;
	uint64_t chunk_size;
	uint64_t size;
	uint64_t seed;
	uint64_t per_mille;
	uint64_t run_blocks;
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	return 1;
}

/* splitmix64: a fixed, portable sequence for a seed. */
static uint64_t rnd_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void rnd_fill(uint64_t *s, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len >= 8) {
		uint64_t v = rnd_next(s);

		memcpy(p, &v, 8);
		p += 8;
		len -= 8;
	}
	while (len--)
		*p++ = (uint8_t)rnd_next(s);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t peak_rss_kib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (uint64_t)ru.ru_maxrss;
}

static int parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'G':
		v <<= 30;
		end++;
		break;
	default:
		break;
	}
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* ------------------------------------------------------------ dirty maps */

/* Mark in bits[] every unit of `unit` bytes overlapping a range of the map. */
static int dirty_units(const char *path, uint64_t image_size, uint64_t unit, uint8_t *bits,
		       uint64_t nr_units)
{
	_cleanup_(fclosep) FILE *f = fopen(path, "re");
	unsigned long long first, len;
	int n;

	if (!f)
		return -errno;
	while ((n = fscanf(f, "%llu %llu", &first, &len)) == 2) {
		uint64_t a, b;

		if (len == 0)
			continue;
		if (first >= image_size || len > image_size - first)
			return -ERANGE;
		a = first / unit;
		b = (first + len - 1) / unit;
		for (uint64_t u = a; u <= b && u < nr_units; u++)
			bits[u / 8] |= (uint8_t)(1u << (u % 8));
	}
	if (n != EOF)
		return -EBADMSG;
	return 0;
}

static bool bit_test(const uint8_t *bits, uint64_t u)
{
	return bits[u / 8] & (1u << (u % 8));
}

/* ------------------------------------------------------------ state file */

static int state_read(const char *path, uint64_t *chunk_size, uint64_t *nr_chunks,
		      struct cbt_chunk_id *root)
{
	_cleanup_(fclosep) FILE *f = fopen(path, "re");
	unsigned long long cs, nr;
	char hex[CBT_CHUNK_ID_HEX_SIZE];

	if (!f)
		return -errno;
	if (fscanf(f, "chunk_size %llu nr_chunks %llu root %64s", &cs, &nr, hex) != 3)
		return -EBADMSG;
	*chunk_size = cs;
	*nr_chunks = nr;
	return cbt_chunk_id_from_hex(hex, root);
}

static int state_write(const char *path, uint64_t chunk_size, uint64_t nr_chunks,
		       const struct cbt_chunk_id *root)
{
	_cleanup_(fclosep) FILE *f = fopen(path, "we");
	char hex[CBT_CHUNK_ID_HEX_SIZE];

	if (!f)
		return -errno;
	fprintf(f, "chunk_size %" PRIu64 "\nnr_chunks %" PRIu64 "\nroot %s\n", chunk_size,
		nr_chunks, cbt_chunk_id_to_hex(root, hex));
	if (fflush(f) != 0)
		return -errno;
	return 0;
}

/* ------------------------------------------------------------ backup */

struct counters {
	uint64_t chunks_read, bytes_read;
	uint64_t chunks_zero, chunks_present;
	uint64_t chunks_new, chunk_bytes_new;
};

static int store_chunk(struct cbt_store *store, struct cbt_hasher *h, struct cbt_compressor *c,
		       struct cbt_index *idx, uint64_t chunk, const uint8_t *raw, size_t len,
		       uint8_t *obj, struct counters *k)
{
	struct cbt_chunk_id id;
	char key[CBT_OBJECT_KEY_SIZE];
	size_t obj_len;
	int r;

	if (cbt_is_zero(raw, len)) {
		k->chunks_zero++;
		memset(&id, 0, sizeof(id));
		return cbt_index_set(idx, chunk, &id);
	}
	r = cbt_hasher_hash(h, raw, len, &id);
	if (r < 0)
		return r;
	cbt_chunk_key(&id, key);
	r = cbt_store_exists(store, key);
	if (r < 0)
		return r;
	if (r > 0) {
		k->chunks_present++;
	} else {
		r = cbt_chunk_encode(c, h, &id, raw, len, obj, cbt_chunk_object_bound(len),
				     &obj_len);
		if (r < 0)
			return r;
		r = cbt_store_put(store, key, obj, obj_len);
		if (r < 0)
			return r;
		k->chunks_new++;
		k->chunk_bytes_new += obj_len;
	}
	return cbt_index_set(idx, chunk, &id);
}

static int cmd_backup(const struct opts *o)
{
	_cleanup_(cbt_store_freep) struct cbt_store *store = NULL;
	_cleanup_(cbt_hasher_freep) struct cbt_hasher *h = NULL;
	_cleanup_(cbt_compressor_freep) struct cbt_compressor *c = NULL;
	_cleanup_(cbt_index_freep) struct cbt_index *idx = NULL;
	_cleanup_(freep) uint8_t *bits = NULL;
	_cleanup_(freep) uint8_t *raw = NULL;
	_cleanup_(freep) uint8_t *obj = NULL;
	_cleanup_(closep) int fd = -1;
	struct cbt_chunk_id root;
	struct cbt_index_stats st = { 0 };
	struct counters k = { 0 };
	struct stat sb;
	uint64_t cs = o->chunk_size, size, nr;
	double t0 = now_s(), t;
	int r;

	if (!o->image || !o->store || !o->state_out || !cs)
		return fail("backup needs --image, --store, --chunk-size and --state-out");
	if (cs < CHUNK_MIN || cs > CHUNK_MAX || (cs & (cs - 1)))
		return fail("chunk size must be a power of two from 4K to 16M");
	if (!o->parent != !o->dirty)
		return fail("an incremental needs both --parent and --dirty");
	fd = open(o->image, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0)
		return fail("%s: %s", o->image, strerror(errno));
	size = (uint64_t)sb.st_size;
	nr = (size + cs - 1) / cs;

	r = cbt_posix_store_open(o->store, &store);
	if (r < 0)
		return fail("%s: %s", o->store, cbt_posix_store_strerror(r));
	r = cbt_hasher_new(NULL, 0, &h);
	if (r >= 0)
		r = cbt_compressor_new(CBT_COMPRESS_DEFAULT, CBT_COMPRESSION_LEVEL_DEFAULT, &c);
	if (r < 0)
		return fail("hasher/compressor: %s", strerror(-r));

	memset(&root, 0, sizeof(root));
	if (o->parent) {
		uint64_t pcs = 0, pnr = 0;

		r = state_read(o->parent, &pcs, &pnr, &root);
		if (r < 0)
			return fail("%s: %s", o->parent, strerror(-r));
		if (pcs != cs || pnr != nr)
			return fail("parent has chunk size %" PRIu64 " and %" PRIu64
				    " chunks, not %" PRIu64 " and %" PRIu64,
				    pcs, pnr, cs, nr);
	}
	r = cbt_index_open(store, h, c, &root, nr, &idx);
	if (r < 0)
		return fail("index: %s", strerror(-r));

	raw = malloc(cs);
	obj = malloc(cbt_chunk_object_bound(cs));
	if (!raw || !obj)
		return fail("out of memory");
	if (o->dirty) {
		bits = calloc(nr / 8 + 1, 1);
		if (!bits)
			return fail("out of memory");
		r = dirty_units(o->dirty, size, cs, bits, nr);
		if (r < 0)
			return fail("%s: %s", o->dirty, strerror(-r));
	}

	for (uint64_t i = 0; i < nr; i++) {
		size_t len = (size_t)(size - i * cs < cs ? size - i * cs : cs);

		if (bits && !bit_test(bits, i))
			continue;
		r = cbt_pread_full(fd, raw, len, i * cs);
		if (r < 0)
			return fail("%s: read: %s", o->image, strerror(-r));
		k.chunks_read++;
		k.bytes_read += len;
		r = store_chunk(store, h, c, idx, i, raw, len, obj, &k);
		if (r < 0)
			return fail("chunk %" PRIu64 ": %s", i, cbt_chunk_strerror(r));
	}
	r = cbt_index_write(idx, store, &root, &st);
	if (r < 0)
		return fail("index write: %s", cbt_chunk_strerror(r));
	r = state_write(o->state_out, cs, nr, &root);
	if (r < 0)
		return fail("%s: %s", o->state_out, strerror(-r));
	t = now_s() - t0;

	printf("{\"mode\":\"%s\",\"threads\":1,\"chunk_size\":%" PRIu64 ",\"nr_chunks\":%" PRIu64
	       ",\"chunks_read\":%" PRIu64 ",\"bytes_read\":%" PRIu64 ",\"chunks_zero\":%" PRIu64
	       ",\"chunks_present\":%" PRIu64 ",\"chunks_stored_new\":%" PRIu64
	       ",\"chunk_bytes_stored\":%" PRIu64 ",\"index_pages_written\":%" PRIu64
	       ",\"index_bytes_written\":%" PRIu64 ",\"bytes_stored\":%" PRIu64
	       ",\"objects_written\":%" PRIu64 ",\"wall_s\":%.3f,\"peak_rss_kib\":%" PRIu64 "}\n",
	       o->parent ? "incremental" : "full", cs, nr, k.chunks_read, k.bytes_read,
	       k.chunks_zero, k.chunks_present, k.chunks_new, k.chunk_bytes_new, st.pages_written,
	       st.bytes_written, k.chunk_bytes_new + st.bytes_written,
	       k.chunks_new + st.pages_written, t, peak_rss_kib());
	return 0;
}

/* ------------------------------------------------------------ estimate */

static int cmd_estimate(const struct opts *o)
{
	_cleanup_(cbt_compressor_freep) struct cbt_compressor *c = NULL;
	_cleanup_(freep) uint8_t *bits = NULL;
	_cleanup_(freep) uint8_t *raw = NULL;
	_cleanup_(freep) uint8_t *dst = NULL;
	_cleanup_(closep) int fd = -1;
	uint64_t bs = o->chunk_size, size, nr, touched = 0, raw_bytes = 0, stored = 0;
	struct stat sb;
	double t0 = now_s();
	int r;

	if (!o->image || !o->dirty || !bs)
		return fail("estimate needs --image, --dirty and --block");
	fd = open(o->image, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0)
		return fail("%s: %s", o->image, strerror(errno));
	size = (uint64_t)sb.st_size;
	nr = (size + bs - 1) / bs;
	r = cbt_compressor_new(CBT_COMPRESS_ZSTD, CBT_COMPRESSION_LEVEL_DEFAULT, &c);
	if (r < 0)
		return fail("compressor: %s", strerror(-r));
	bits = calloc(nr / 8 + 1, 1);
	raw = malloc(bs);
	dst = malloc(bs);
	if (!bits || !raw || !dst)
		return fail("out of memory");
	r = dirty_units(o->dirty, size, bs, bits, nr);
	if (r < 0)
		return fail("%s: %s", o->dirty, strerror(-r));
	for (uint64_t i = 0; i < nr; i++) {
		size_t len = (size_t)(size - i * bs < bs ? size - i * bs : bs), out;

		if (!bit_test(bits, i))
			continue;
		r = cbt_pread_full(fd, raw, len, i * bs);
		if (r < 0)
			return fail("%s: read: %s", o->image, strerror(-r));
		touched++;
		raw_bytes += len;
		r = cbt_compressor_compress(c, raw, len, dst, len, &out);
		if (r == -ENOSPC)
			out = len;
		else if (r < 0)
			return fail("compress: %s", strerror(-r));
		stored += out;
	}
	printf("{\"mode\":\"estimate\",\"block_size\":%" PRIu64 ",\"blocks_touched\":%" PRIu64
	       ",\"bytes_touched\":%" PRIu64 ",\"bytes_stored\":%" PRIu64
	       ",\"sha256_list_bytes\":%" PRIu64 ",\"wall_s\":%.3f}\n",
	       bs, touched, raw_bytes, stored, nr * 68, now_s() - t0);
	return 0;
}

/* ------------------------------------------------------------ make-image */

static const char *const words[] = {
	"the",	    "of",	"and",	    "to",	"in",	   "is",       "that",
	"for",	    "it",	"as",	    "was",	"with",	   "be",       "by",
	"on",	    "not",	"he",	    "this",	"are",	   "or",       "his",
	"from",	    "at",	"which",    "but",	"have",	   "an",       "had",
	"they",	    "you",	"were",	    "their",	"one",	   "all",      "we",
	"can",	    "her",	"has",	    "there",	"been",	   "if",       "more",
	"when",	    "will",	"would",    "who",	"so",	   "no",       "volume",
	"backup",   "chunk",	"block",    "device",	"mapper",  "target",   "kernel",
	"error",    "warning",	"info",	    "debug",	"request", "response", "server",
	"client",   "session",	"user",	    "password", "config",  "value",    "default",
	"option",   "return",	"function", "struct",	"include", "define",   "static",
	"const",    "unsigned", "integer",  "string",	"buffer",  "length",   "offset",
	"sector",   "bitmap",	"dirty",    "clean",	"write",   "read",     "flush",
	"commit",   "abort",	"journal",  "metadata", "data",	   "file",     "directory",
	"system",   "service",	"started",  "stopped",	"failed",  "success",  "timeout",
	"network",  "address",	"port",	    "host",	"2026",	   "11",       "24",
	"10:46:11", "UTC",	"GET",	    "POST",	"200",	   "404",      "500",
};

static void fill_text(uint64_t *s, uint8_t *buf, size_t len)
{
	size_t nw = sizeof(words) / sizeof(words[0]), i = 0, col = 0;

	while (i < len) {
		uint64_t v = rnd_next(s);
		const char *w = words[v % nw];
		size_t wl = strlen(w);

		for (size_t j = 0; j < wl && i < len; j++)
			buf[i++] = (uint8_t)w[j];
		col += wl + 1;
		if (col > 60 || (v >> 32) % 17 == 0)
			col = 0;
		if (i < len)
			buf[i++] = col ? ' ' : '\n';
	}
}

static int cmd_make_image(const struct opts *o)
{
	_cleanup_(freep) uint8_t *buf = NULL;
	_cleanup_(closep) int fd = -1;
	uint64_t s = o->seed, off = 0, counts[3] = { 0 };
	unsigned kind = 0;
	int r;

	if (!o->image || !o->size || o->size % BLOCK_4K)
		return fail("make-image needs --image and --size (a multiple of 4K)");
	fd = open(o->image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail("%s: %s", o->image, strerror(errno));
	if (ftruncate(fd, (off_t)o->size) < 0)
		return fail("%s: %s", o->image, strerror(errno));
	buf = malloc(IO_SIZE);
	if (!buf)
		return fail("out of memory");
	while (off < o->size) {
		uint64_t len = EXTENT_MIN << (rnd_next(&s) % 11);

		if (len > o->size - off)
			len = o->size - off;
		/* Next kind: any of the two others, so that extents alternate. */
		kind = (kind + 1 + (unsigned)(rnd_next(&s) % 2)) % 3;
		counts[kind] += len;
		for (uint64_t p = 0; p < len && kind != 2; p += IO_SIZE) {
			size_t n = (size_t)(len - p < IO_SIZE ? len - p : IO_SIZE);

			if (kind == 0)
				rnd_fill(&s, buf, n);
			else
				fill_text(&s, buf, n);
			r = cbt_pwrite_full(fd, buf, n, off + p);
			if (r < 0)
				return fail("%s: write: %s", o->image, strerror(-r));
		}
		off += len;
	}
	if (fsync(fd) < 0)
		return fail("%s: fsync: %s", o->image, strerror(errno));
	printf("{\"mode\":\"make-image\",\"size\":%" PRIu64 ",\"random_bytes\":%" PRIu64
	       ",\"text_bytes\":%" PRIu64 ",\"zero_bytes\":%" PRIu64 "}\n",
	       o->size, counts[0], counts[1], counts[2]);
	return 0;
}

/* ------------------------------------------------------------ mutate */

static int cmd_mutate(const struct opts *o)
{
	_cleanup_(freep) uint8_t *used = NULL;
	_cleanup_(freep) uint8_t *buf = NULL;
	_cleanup_(fclosep) FILE *map = NULL;
	_cleanup_(closep) int fd = -1;
	uint64_t s = o->seed, rb = o->run_blocks, nr_blocks, want, done = 0, first = 0, len = 0;
	struct stat sb;
	int r;

	if (!o->image || !o->state_out || !o->per_mille || !rb)
		return fail("mutate needs --image, --dirty-out, --per-mille and --run-blocks");
	fd = open(o->image, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0)
		return fail("%s: %s", o->image, strerror(errno));
	nr_blocks = (uint64_t)sb.st_size / BLOCK_4K;
	want = (nr_blocks * o->per_mille / 1000 + rb - 1) / rb;
	if (nr_blocks < rb || want * rb > nr_blocks / 4)
		return fail("image too small for that change");
	used = calloc(nr_blocks / 8 + 1, 1);
	buf = malloc(BLOCK_4K);
	map = fopen(o->state_out, "we");
	if (!used || !buf || !map)
		return fail("out of memory or %s: %s", o->state_out, strerror(errno));
	/* Runs start at any 4 KiB block (not aligned to the run) and do not overlap. */
	while (done < want) {
		uint64_t start = rnd_next(&s) % (nr_blocks - rb + 1), b;

		for (b = start; b < start + rb && !bit_test(used, b); b++)
			;
		if (b < start + rb)
			continue;
		for (b = start; b < start + rb; b++)
			used[b / 8] |= (uint8_t)(1u << (b % 8));
		done++;
	}
	/* Write in offset order; the map lists maximal ranges (touching runs merge). */
	for (uint64_t b = 0; b <= nr_blocks; b++) {
		if (b < nr_blocks && bit_test(used, b)) {
			rnd_fill(&s, buf, BLOCK_4K);
			r = cbt_pwrite_full(fd, buf, BLOCK_4K, b * BLOCK_4K);
			if (r < 0)
				return fail("%s: write: %s", o->image, strerror(-r));
			if (!len)
				first = b;
			len++;
		} else if (len) {
			fprintf(map, "%" PRIu64 " %" PRIu64 "\n", first * BLOCK_4K, len * BLOCK_4K);
			len = 0;
		}
	}
	if (fsync(fd) < 0 || fflush(map) != 0)
		return fail("fsync/flush: %s", strerror(errno));
	printf("{\"mode\":\"mutate\",\"runs\":%" PRIu64 ",\"run_blocks\":%" PRIu64
	       ",\"bytes_written\":%" PRIu64 "}\n",
	       want, rb, want * rb * BLOCK_4K);
	return 0;
}

/* ------------------------------------------------------------ main */

static int usage(void)
{
	fprintf(stderr,
		"usage: " PROG " backup --image F --store DIR --chunk-size N [--parent STATE "
		"--dirty MAP] --state-out STATE\n"
		"       " PROG " estimate --image F --dirty MAP --block N\n"
		"       " PROG " make-image --image F --size N --seed S\n"
		"       " PROG " mutate --image F --dirty-out MAP --per-mille P --run-blocks R "
		"--seed S\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	const char *cmd;

	if (argc < 2)
		return usage();
	cmd = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int r = 0;

		if (!v)
			return usage();
		i++;
		if (!strcmp(a, "--image"))
			o.image = v;
		else if (!strcmp(a, "--store"))
			o.store = v;
		else if (!strcmp(a, "--parent"))
			o.parent = v;
		else if (!strcmp(a, "--dirty"))
			o.dirty = v;
		else if (!strcmp(a, "--state-out") || !strcmp(a, "--dirty-out"))
			o.state_out = v;
		else if (!strcmp(a, "--chunk-size") || !strcmp(a, "--block"))
			r = parse_size(v, &o.chunk_size);
		else if (!strcmp(a, "--size"))
			r = parse_size(v, &o.size);
		else if (!strcmp(a, "--seed"))
			r = parse_size(v, &o.seed);
		else if (!strcmp(a, "--per-mille"))
			r = parse_size(v, &o.per_mille);
		else if (!strcmp(a, "--run-blocks"))
			r = parse_size(v, &o.run_blocks);
		else
			return usage();
		if (r < 0)
			return fail("%s: invalid number '%s'", a, v);
	}
	if (!strcmp(cmd, "backup"))
		return cmd_backup(&o);
	if (!strcmp(cmd, "estimate"))
		return cmd_estimate(&o);
	if (!strcmp(cmd, "make-image"))
		return cmd_make_image(&o);
	if (!strcmp(cmd, "mutate"))
		return cmd_mutate(&o);
	return usage();
}
