/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Events of the dm_cbt family's multicast group. */
#include <errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libcbt/libcbt-internal.h"
#include "libcbt/netlink-internal.h"

struct cbt_events {
	struct nl_sock *sock;
	struct nl_cb *cb;
	int error; /* of the last parse, reported once */
	/* Received and not yet handed out, oldest first. */
	struct cbt_event *queue;
	size_t queued, head, allocated;
};

const char *cbt_event_to_string(enum dm_cbt_event event)
{
	switch (event) {
	case DM_CBT_EVENT_CHECKPOINT:
		return "checkpoint";
	case DM_CBT_EVENT_COMMIT:
		return "commit";
	case DM_CBT_EVENT_ABORT:
		return "abort";
	case DM_CBT_EVENT_INVALIDATED:
		return "invalidated";
	case DM_CBT_EVENT_METADATA_ERROR:
		return "metadata-error";
	case DM_CBT_EVENT_DETACHED:
		return "detached";
	}
	return NULL;
}

static int enqueue(struct cbt_events *ev, const struct cbt_event *e)
{
	if (ev->head > 0 && ev->head == ev->queued) {
		ev->head = ev->queued = 0;
	}
	if (ev->queued == ev->allocated) {
		size_t n = ev->allocated ? ev->allocated * 2 : 8;
		struct cbt_event *q = realloc(ev->queue, n * sizeof(*q));

		if (!q)
			return -ENOMEM;
		ev->queue = q;
		ev->allocated = n;
	}
	ev->queue[ev->queued++] = *e;
	return 0;
}

static int on_event(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[DM_CBT_ATTR_MAX + 1];
	struct cbt_events *ev = arg;
	struct cbt_event e = { 0 };
	int r;

	if (genlmsg_hdr(nlmsg_hdr(msg))->cmd != DM_CBT_CMD_EVENT)
		return NL_SKIP;
	r = cbt_genl_parse(msg, tb);
	if (r == 0 && !tb[DM_CBT_ATTR_EVENT])
		r = -EBADMSG;
	if (r == 0) {
		e.event = (enum dm_cbt_event)nla_get_u32(tb[DM_CBT_ATTR_EVENT]);
		if (tb[DM_CBT_ATTR_DEV_NAME])
			snprintf(e.name, sizeof(e.name), "%s",
				 nla_get_string(tb[DM_CBT_ATTR_DEV_NAME]));
		if (tb[DM_CBT_ATTR_DEV])
			e.dev = nla_get_u32(tb[DM_CBT_ATTR_DEV]);
		if (tb[DM_CBT_ATTR_CHECKPOINT])
			e.checkpoint = nla_get_u64(tb[DM_CBT_ATTR_CHECKPOINT]);
		r = enqueue(ev, &e);
	}
	if (r < 0 && !ev->error)
		ev->error = r;
	return NL_SKIP;
}

/* Multicast messages carry no sequence numbers of ours. */
static int accept_any_sequence(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

int cbt_events_new(struct cbt_events **ret)
{
	struct cbt_events *ev;
	int group, r;

	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	ev->sock = nl_socket_alloc();
	ev->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!ev->sock || !ev->cb) {
		r = -ENOMEM;
		goto fail;
	}
	r = genl_connect(ev->sock);
	if (r < 0) {
		r = cbt_genl_error(r);
		goto fail;
	}
	group = genl_ctrl_resolve_grp(ev->sock, DM_CBT_GENL_NAME, DM_CBT_GENL_MCGRP_EVENTS);
	if (group < 0) {
		r = -EPROTONOSUPPORT;
		goto fail;
	}
	r = nl_socket_add_membership(ev->sock, group);
	if (r < 0) {
		r = cbt_genl_error(r);
		goto fail;
	}
	nl_socket_enable_msg_peek(ev->sock);
	r = nl_socket_set_nonblocking(ev->sock);
	if (r < 0) {
		r = cbt_genl_error(r);
		goto fail;
	}
	nl_cb_set(ev->cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, accept_any_sequence, NULL);
	nl_cb_set(ev->cb, NL_CB_VALID, NL_CB_CUSTOM, on_event, ev);
	*ret = ev;
	return 0;
fail:
	cbt_events_free(ev);
	return r;
}

struct cbt_events *cbt_events_free(struct cbt_events *ev)
{
	if (!ev)
		return NULL;
	nl_cb_put(ev->cb);
	nl_socket_free(ev->sock);
	free(ev->queue);
	free(ev);
	return NULL;
}

int cbt_events_get_fd(struct cbt_events *ev)
{
	return nl_socket_get_fd(ev->sock);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cbt_events_receive(struct cbt_events *ev, int timeout_ms, struct cbt_event *ret)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = cbt_events_get_fd(ev), .events = POLLIN };
		int wait, r;

		if (ev->error) {
			r = ev->error;
			ev->error = 0;
			return r;
		}
		if (ev->head < ev->queued) {
			*ret = ev->queue[ev->head++];
			return 1;
		}
		wait = deadline < 0 ? -1 : (int)(deadline > now_ms() ? deadline - now_ms() : 0);
		r = poll(&p, 1, wait);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0)
			return 0;
		if (r < 0)
			continue;
		r = nl_recvmsgs(ev->sock, ev->cb);
		if (r == -NLE_NOMEM)
			return -ENOBUFS; /* the receive queue overflowed: events lost */
		if (r < 0 && r != -NLE_AGAIN)
			return cbt_genl_error(r);
	}
}
