/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the netlink request and event code of libcbt. */
#ifndef LIBCBT_NETLINK_INTERNAL_H
#define LIBCBT_NETLINK_INTERNAL_H

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "libcbt.h"

/* Parse a dm_cbt message into tb[DM_CBT_ATTR_MAX + 1]: 0 or -EBADMSG. */
int cbt_genl_parse(struct nl_msg *msg, struct nlattr **tb);

/* The status attributes of a message, checked: 0 or -EBADMSG. */
int cbt_genl_status(struct nlattr **tb, struct cbt_status *ret);

/* A libnl error (negative NLE_*) as a negative errno. */
int cbt_genl_error(int nl_error);

#endif
