/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The dm_cbt generic netlink family: status and dirty maps (libnl-genl). */
#include <errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <stdlib.h>
#include <string.h>

#include "libcbt/libcbt-internal.h"
#include "libcbt/netlink-internal.h"

struct cbt_netlink {
	struct nl_sock *sock;
	int family;
};

static const struct nla_policy policy[DM_CBT_ATTR_MAX + 1] = {
	[DM_CBT_ATTR_DEV_NAME] = { .type = NLA_NUL_STRING },
	[DM_CBT_ATTR_DEV] = { .type = NLA_U32 },
	[DM_CBT_ATTR_MAP] = { .type = NLA_U32 },
	[DM_CBT_ATTR_BLOCK_SECTORS] = { .type = NLA_U32 },
	[DM_CBT_ATTR_NR_BLOCKS] = { .type = NLA_U64 },
	[DM_CBT_ATTR_CURRENT_DIRTY] = { .type = NLA_U64 },
	[DM_CBT_ATTR_CHECKPOINT] = { .type = NLA_U64 },
	[DM_CBT_ATTR_FROZEN_CHECKPOINT] = { .type = NLA_U64 },
	[DM_CBT_ATTR_FROZEN_DIRTY] = { .type = NLA_U64 },
	[DM_CBT_ATTR_UUID] = { .type = NLA_UNSPEC, .minlen = 16, .maxlen = 16 },
	[DM_CBT_ATTR_STATE] = { .type = NLA_U32 },
	[DM_CBT_ATTR_MAP_OFFSET] = { .type = NLA_U64 },
	[DM_CBT_ATTR_MAP_BITS] = { .type = NLA_UNSPEC },
	[DM_CBT_ATTR_EVENT] = { .type = NLA_U32 },
};

int cbt_genl_parse(struct nl_msg *msg, struct nlattr **tb)
{
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, DM_CBT_ATTR_MAX, policy) < 0)
		return -EBADMSG;
	return 0;
}

int cbt_genl_error(int nl_error)
{
	switch (-nl_error) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_OBJ_NOTFOUND:
	case NLE_NOATTR:
		return -EPROTONOSUPPORT;
	case NLE_PERM:
		return -EPERM;
	case NLE_MSG_TRUNC:
	case NLE_MSG_TOOSHORT:
	case NLE_PARSE_ERR:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

int cbt_genl_status(struct nlattr **tb, struct cbt_status *ret)
{
	static const int required[] = {
		DM_CBT_ATTR_BLOCK_SECTORS,
		DM_CBT_ATTR_NR_BLOCKS,
		DM_CBT_ATTR_CURRENT_DIRTY,
		DM_CBT_ATTR_CHECKPOINT,
		DM_CBT_ATTR_FROZEN_CHECKPOINT,
		DM_CBT_ATTR_FROZEN_DIRTY,
		DM_CBT_ATTR_UUID,
		DM_CBT_ATTR_STATE,
	};
	struct cbt_status s = { 0 };
	uint32_t state;

	for (size_t i = 0; i < ELEMENTSOF(required); i++)
		if (!tb[required[i]])
			return -EBADMSG;
	s.block_sectors = nla_get_u32(tb[DM_CBT_ATTR_BLOCK_SECTORS]);
	s.nr_blocks = nla_get_u64(tb[DM_CBT_ATTR_NR_BLOCKS]);
	s.current_dirty = nla_get_u64(tb[DM_CBT_ATTR_CURRENT_DIRTY]);
	s.checkpoint = nla_get_u64(tb[DM_CBT_ATTR_CHECKPOINT]);
	s.frozen_checkpoint = nla_get_u64(tb[DM_CBT_ATTR_FROZEN_CHECKPOINT]);
	s.frozen_dirty = nla_get_u64(tb[DM_CBT_ATTR_FROZEN_DIRTY]);
	cbt_uuid_format(nla_data(tb[DM_CBT_ATTR_UUID]), s.uuid);
	state = nla_get_u32(tb[DM_CBT_ATTR_STATE]);
	if (!cbt_state_to_string((enum dm_cbt_state)state))
		return -EBADMSG;
	s.state = (enum dm_cbt_state)state;
	if (cbt_block_size_check((uint64_t)s.block_sectors * 512) < 0 ||
	    s.current_dirty > s.nr_blocks || s.frozen_dirty > s.nr_blocks ||
	    s.frozen_checkpoint > s.checkpoint)
		return -EBADMSG;
	*ret = s;
	return 0;
}

int cbt_netlink_new(struct cbt_netlink **ret)
{
	struct cbt_netlink *nl;
	int r;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->sock = nl_socket_alloc();
	if (!nl->sock) {
		free(nl);
		return -ENOMEM;
	}
	r = genl_connect(nl->sock);
	if (r < 0) {
		r = cbt_genl_error(r);
		goto fail;
	}
	/*
	 * Dump packets are at most 32 KiB (6.1 caps them there): one read each,
	 * no peeking.
	 */
	nl_socket_set_msg_buf_size(nl->sock, 32768);
	nl->family = genl_ctrl_resolve(nl->sock, DM_CBT_GENL_NAME);
	if (nl->family < 0) {
		r = -EPROTONOSUPPORT;
		goto fail;
	}
	*ret = nl;
	return 0;
fail:
	cbt_netlink_free(nl);
	return r;
}

struct cbt_netlink *cbt_netlink_free(struct cbt_netlink *nl)
{
	if (!nl)
		return NULL;
	nl_socket_free(nl->sock);
	free(nl);
	return NULL;
}

/* What one request collects from its replies. */
struct request {
	int error;
	bool done;
	bool have_status;
	struct cbt_status status;
	bool want_map;
	struct cbt_map *map;
	bool interrupted; /* NLM_F_DUMP_INTR: the maps changed during the dump */
};

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[DM_CBT_ATTR_MAX + 1];
	struct request *req = arg;
	int r;

	if (req->error)
		return NL_SKIP;
	r = cbt_genl_parse(msg, tb);
	if (r == 0 && tb[DM_CBT_ATTR_NR_BLOCKS] && !req->have_status) {
		r = cbt_genl_status(tb, &req->status);
		req->have_status = r == 0;
		if (r == 0 && req->want_map)
			r = cbt_map_new(req->status.nr_blocks, &req->map);
	}
	if (r == 0 && req->want_map && tb[DM_CBT_ATTR_MAP_BITS]) {
		if (!req->map || !tb[DM_CBT_ATTR_MAP_OFFSET])
			r = -EBADMSG;
		else
			r = cbt_map_add_bits(req->map, nla_get_u64(tb[DM_CBT_ATTR_MAP_OFFSET]),
					     nla_data(tb[DM_CBT_ATTR_MAP_BITS]),
					     (size_t)nla_len(tb[DM_CBT_ATTR_MAP_BITS]));
		if (r == -ERANGE)
			r = -EBADMSG;
	}
	if (r < 0)
		req->error = r;
	return NL_SKIP;
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *err, void *arg)
{
	struct request *req = arg;

	(void)who;
	if (!req->error)
		req->error = err->error < 0 ? err->error : -EIO;
	req->done = true;
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct request *req = arg;

	(void)msg;
	req->done = true;
	return NL_STOP;
}

/* NLMSG_DONE ends a dump; an error of the dump itself is its payload. */
static int on_dump_done(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *hdr = nlmsg_hdr(msg);
	struct request *req = arg;
	int error;

	if (nlmsg_datalen(hdr) >= (int)sizeof(error)) {
		memcpy(&error, nlmsg_data(hdr), sizeof(error));
		if (error < 0 && !req->error)
			req->error = error;
	}
	req->done = true;
	return NL_STOP;
}

/* The kernel flags a dump that a checkpoint, commit or abort overlapped. */
static int on_dump_intr(struct nl_msg *msg, void *arg)
{
	struct request *req = arg;

	(void)msg;
	req->interrupted = true;
	return NL_OK;
}

CBT_DEFINE_CLEANUP(struct nl_msg *, nlmsg_free, nlmsg_freep)
CBT_DEFINE_CLEANUP(struct nl_cb *, nl_cb_put, nl_cb_putp)

static int run_request(struct cbt_netlink *nl, uint8_t cmd, int flags, const char *name, int map,
		       struct request *req)
{
	_cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
	_cleanup_(nl_cb_putp) struct nl_cb *cb = NULL;
	int r;

	msg = nlmsg_alloc();
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!msg || !cb)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags, cmd,
			 DM_CBT_GENL_VERSION))
		return -ENOMEM;
	if (nla_put_string(msg, DM_CBT_ATTR_DEV_NAME, name) < 0)
		return -ENOMEM;
	if (map >= 0 && nla_put_u32(msg, DM_CBT_ATTR_MAP, (uint32_t)map) < 0)
		return -ENOMEM;

	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, req);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_dump_done, req);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, req);
	nl_cb_set(cb, NL_CB_DUMP_INTR, NL_CB_CUSTOM, on_dump_intr, req);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, req);

	r = nl_send_auto(nl->sock, msg);
	if (r < 0)
		return cbt_genl_error(r);
	while (!req->done) {
		r = nl_recvmsgs(nl->sock, cb);
		if (r < 0 && !req->error)
			req->error = cbt_genl_error(r);
		if (r < 0)
			break;
	}
	return req->error;
}

int cbt_netlink_get_status(struct cbt_netlink *nl, const char *name, struct cbt_status *ret)
{
	struct request req = { 0 };
	int r;

	r = run_request(nl, DM_CBT_CMD_GET_STATUS, 0, name, -1, &req);
	if (r < 0)
		return r;
	if (!req.have_status)
		return -EBADMSG;
	*ret = req.status;
	return 0;
}

/* Dumps that another one overlapped are read again, this many times in all. */
#define MAP_DUMP_ATTEMPTS 8

int cbt_netlink_get_map(struct cbt_netlink *nl, const char *name, enum dm_cbt_map which,
			struct cbt_status *ret_status, struct cbt_map **ret_map)
{
	struct request req;
	int r;

	for (int attempt = 0;; attempt++) {
		req = (struct request){ .want_map = true };
		r = run_request(nl, DM_CBT_CMD_GET_MAP, NLM_F_DUMP, name, (int)which, &req);
		if (r == 0 && !req.map)
			r = -EBADMSG;
		if (r == 0 && req.interrupted)
			r = -EAGAIN;
		if (r < 0)
			req.map = cbt_map_free(req.map);
		if (r != -EAGAIN || !req.interrupted || attempt + 1 == MAP_DUMP_ATTEMPTS)
			break;
	}
	if (r < 0)
		return r;
	if (ret_status)
		*ret_status = req.status;
	*ret_map = req.map;
	return 0;
}
