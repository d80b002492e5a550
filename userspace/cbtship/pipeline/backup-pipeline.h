/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backup data path, in parallel:
 *
 *   source (pread) -> zero check -> hash -> compare with the parent's
 *   index entry -> exists in the store? -> compress + encode -> put ->
 *   index entry
 *
 * One producer (the caller's thread) walks the chunks to read, in order;
 * `workers` threads each hold one chunk and one object buffer, so memory
 * is about workers * 2 * chunk_size plus the index's bounded page cache,
 * whatever the volume size. The index (opened at the parent's root, or
 * at the zero root for a full backup) is shared under a lock; its hasher
 * and compressor belong to the caller, each worker has its own.
 *
 * A chunk wholly in a hole of a sparse source file (SEEK_DATA/SEEK_HOLE)
 * is a zero chunk not even read: a sparse image backs up in time
 * proportional to its data. bytes_read counts it (it is covered).
 * A chunk equal to the parent's entry is not even looked up; a chunk the
 * store already holds (the same data elsewhere in this or another backup)
 * is not stored again; a zero chunk is never stored.
 */
#ifndef CBTSHIP_PIPELINE_BACKUP_PIPELINE_H
#define CBTSHIP_PIPELINE_BACKUP_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "cbtship/compress/compression.h"
#include "cbtship/encrypt/key.h"
#include "cbtship/repo/index.h"
#include "cbtship/store/store.h"

/* What has been done so far (or in all, at the end). */
struct cbt_backup_progress {
	uint64_t chunks_todo; /* chunks to read */
	uint64_t bytes_todo;
	uint64_t chunks_done;
	uint64_t bytes_read;
	uint64_t chunks_zero;	   /* all-zero: not stored */
	uint64_t chunks_hole;	   /* of those, in a hole of a sparse file: not even read */
	uint64_t chunks_unchanged; /* same id as the parent's entry */
	uint64_t chunks_present;   /* already in the store */
	uint64_t chunks_new;	   /* stored now */
	uint64_t bytes_stored;	   /* object bytes of those */
};

/*
 * Called by the producer about every tick_ms and once at the end; a
 * negative return cancels the run (it becomes the run's error; e.g.
 * -ECANCELED when the backup was cancelled).
 */
typedef int (*cbt_backup_tick_fn)(void *userdata, const struct cbt_backup_progress *progress);

struct cbt_backup_pipeline_config {
	int fd;		     /* the source, read with pread() */
	const char *source;  /* its name, for messages */
	uint64_t size;	     /* bytes of the source to back up */
	uint32_t chunk_size; /* power of two */
	/* Chunks to read: bit i (LSB first in each byte) for chunk i; NULL: all. */
	const uint8_t *chunk_bits;
	struct cbt_store *store;
	/* Encryption key: HMAC ids and AES-256-GCM payloads; NULL: plain SHA-256 ids. */
	const struct cbt_key *key;
	enum cbt_compression compression;
	int level;
	struct cbt_index *index; /* nr_chunks = ceil(size / chunk_size) */
	unsigned workers;	 /* 1..64 */
	cbt_backup_tick_fn tick; /* may be NULL */
	void *userdata;
	unsigned tick_ms; /* 0: 1000 */
};

/*
 * Run it. 0 when every chunk went through (*ret has the totals; the index
 * has the new entries, not yet written), else a negative errno with a
 * one-line message naming the chunk and the cause in errbuf.
 */
int cbt_backup_pipeline_run(const struct cbt_backup_pipeline_config *cfg,
			    struct cbt_backup_progress *ret, char *errbuf, size_t errlen);

/* Bit i of a chunk bitmap. */
static inline int cbt_chunk_bit_test(const uint8_t *bits, uint64_t i)
{
	return (bits[i / 8] >> (i % 8)) & 1;
}

static inline void cbt_chunk_bit_set(uint8_t *bits, uint64_t i)
{
	bits[i / 8] |= (uint8_t)(1u << (i % 8));
}

#endif
