/* SPDX-License-Identifier: GPL-2.0-or-later */
/* No core dumps while secrets are in memory (see the header). */
#include <errno.h>
#include <stdbool.h>
#include <sys/prctl.h>

#include "cbtship/encrypt/secret.h"

int cbt_secret_hold(void)
{
	static bool held;

	if (held)
		return 0;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	held = true;
	return 0;
}
