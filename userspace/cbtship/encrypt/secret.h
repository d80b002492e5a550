/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Secrets in this process's memory (an encryption key, a Swift key or
 * token, a Keystone password): from the first one on, the process is not
 * dumpable (prctl PR_SET_DUMPABLE 0): no core file, no ptrace attach by
 * another user, /proc/PID/mem root's only. It stays so until the process
 * ends (child processes of fork() inherit it): a secret wiped after use
 * may still sit in a freed page of the heap. Each secret is wiped
 * (OPENSSL_cleanse / explicit_bzero) when freed by its owner.
 */
#ifndef CBTSHIP_ENCRYPT_SECRET_H
#define CBTSHIP_ENCRYPT_SECRET_H

/* Make the process non-dumpable (once; cheap afterwards). 0 or -errno of prctl. */
int cbt_secret_hold(void);

#endif
