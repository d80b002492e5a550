/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Whole reads and writes at an offset, retried on EINTR and short counts. */
#ifndef CBTSHIP_PIPELINE_IO_H
#define CBTSHIP_PIPELINE_IO_H

#include <stddef.h>
#include <stdint.h>

/* 0, -ENODATA (end of file first) or -errno. */
int cbt_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* 0 or -errno (-ENOSPC for a full device). */
int cbt_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

#endif
