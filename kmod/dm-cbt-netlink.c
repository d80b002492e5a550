// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-cbt generic netlink family: status of tracked devices, dumps of their
 * bitmaps in chunks, and a multicast group for events. Names and
 * attributes are in include/uapi/dm-cbt.h.
 */
#include <net/genetlink.h>
#include <linux/kdev_t.h>

#include "dm-cbt.h"

/* Bitmap bytes per dump message: fits a default-sized dump skb. */
#define CBT_MAP_CHUNK_BYTES 2048U
#define CBT_MAP_CHUNK_BITS (CBT_MAP_CHUNK_BYTES * 8ULL)

/* A dump's attributes (in a struct genl_info since Linux 6.6). */
#ifdef HAVE_GENL_INFO_DUMP
#define cbt_dump_attrs(cb) (genl_info_dump(cb)->attrs)
#else
#define cbt_dump_attrs(cb) (genl_dumpit_info(cb)->attrs)
#endif

/*
 * Registry of resumed devices, for look-ups by name or dev_t. Nothing that
 * waits for I/O is done while holding it.
 */
static LIST_HEAD(cbt_registry);
static DEFINE_MUTEX(cbt_registry_lock);

void cbt_registry_add(struct cbt_c *cbt)
{
	mutex_lock(&cbt_registry_lock);
	if (!cbt->registered) {
		list_add_tail(&cbt->registry, &cbt_registry);
		cbt->registered = true;
	}
	mutex_unlock(&cbt_registry_lock);
}

void cbt_registry_del(struct cbt_c *cbt)
{
	/*
	 * A table that was never resumed was never added; its destructor may
	 * run under dm's hash lock, so it must not wait for ours.
	 */
	if (!READ_ONCE(cbt->registered))
		return;
	mutex_lock(&cbt_registry_lock);
	if (cbt->registered) {
		list_del_init(&cbt->registry);
		cbt->registered = false;
	}
	mutex_unlock(&cbt_registry_lock);
}

/* The device's dm name now (it may have been renamed since resume). */
static void live_name(struct cbt_c *cbt, char *name)
{
	if (dm_copy_name_and_uuid(dm_table_get_md(cbt->ti->table), name, NULL))
		strscpy(name, cbt->name, DM_NAME_LEN);
}

static struct cbt_c *lookup(struct nlattr **attrs)
{
	char name[DM_NAME_LEN];
	struct cbt_c *cbt;

	lockdep_assert_held(&cbt_registry_lock);
	list_for_each_entry(cbt, &cbt_registry, registry) {
		if (attrs[DM_CBT_ATTR_DEV_NAME]) {
			live_name(cbt, name);
			if (!strcmp(nla_data(attrs[DM_CBT_ATTR_DEV_NAME]), name))
				return cbt;
		}
		if (attrs[DM_CBT_ATTR_DEV] &&
		    nla_get_u32(attrs[DM_CBT_ATTR_DEV]) ==
		    new_encode_dev(cbt_device_devt(cbt)))
			return cbt;
	}
	return NULL;
}

static struct genl_family cbt_family;

static int put_status(struct sk_buff *skb, struct cbt_c *cbt)
{
	struct cbt_metadata *md = &cbt->md;
	char name[DM_NAME_LEN];
	u8 uuid[16];

	export_uuid(uuid, &md->uuid);
	live_name(cbt, name);
	if (nla_put_string(skb, DM_CBT_ATTR_DEV_NAME, name) ||
	    nla_put_u32(skb, DM_CBT_ATTR_DEV, new_encode_dev(cbt_device_devt(cbt))) ||
	    nla_put_u32(skb, DM_CBT_ATTR_BLOCK_SECTORS, md->block_sectors) ||
	    nla_put_u64_64bit(skb, DM_CBT_ATTR_NR_BLOCKS, md->nr_blocks, DM_CBT_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, DM_CBT_ATTR_CURRENT_DIRTY, cbt_current_dirty(cbt),
			      DM_CBT_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, DM_CBT_ATTR_CHECKPOINT, READ_ONCE(md->checkpoint),
			      DM_CBT_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, DM_CBT_ATTR_FROZEN_CHECKPOINT,
			      READ_ONCE(md->frozen_checkpoint), DM_CBT_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, DM_CBT_ATTR_FROZEN_DIRTY, READ_ONCE(cbt->frozen_dirty),
			      DM_CBT_ATTR_PAD) ||
	    nla_put(skb, DM_CBT_ATTR_UUID, sizeof(uuid), uuid) ||
	    nla_put_u32(skb, DM_CBT_ATTR_STATE, READ_ONCE(cbt->state)))
		return -EMSGSIZE;
	return 0;
}

/*
 * DM_CBT_CMD_GET_STATUS
 */

static int status_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	struct cbt_c *cbt;
	void *hdr;
	int r = -ENODEV;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&cbt_registry_lock);
	cbt = lookup(info->attrs);
	if (!cbt) {
		NL_SET_ERR_MSG(info->extack, "no active cbt device with that name or dev_t");
		goto fail;
	}
	r = -EMSGSIZE;
	hdr = genlmsg_put_reply(msg, info, &cbt_family, 0, DM_CBT_CMD_GET_STATUS);
	if (!hdr || put_status(msg, cbt))
		goto fail;
	mutex_unlock(&cbt_registry_lock);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

fail:
	mutex_unlock(&cbt_registry_lock);
	nlmsg_free(msg);
	return r;
}

/* Every active device, one message each; cb->args[0] counts them. */
static int status_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct cbt_c *cbt;
	long i = 0;
	void *hdr;

	mutex_lock(&cbt_registry_lock);
	list_for_each_entry(cbt, &cbt_registry, registry) {
		if (i++ < cb->args[0])
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				  &cbt_family, NLM_F_MULTI, DM_CBT_CMD_GET_STATUS);
		if (!hdr)
			break;
		if (put_status(skb, cbt)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		cb->args[0] = i;
	}
	mutex_unlock(&cbt_registry_lock);
	return skb->len;
}

/*
 * DM_CBT_CMD_GET_MAP: the status once (cb->args[0]), then the chunks from
 * block cb->args[1] on. All-zero chunks are left out. A NULL map means
 * every block (the error state). No lock is taken: bits of the current
 * set only appear; user space reads the frozen set, which changes only at
 * its own commit or abort.
 */
static int put_map_chunks(struct sk_buff *skb, struct netlink_callback *cb,
			  struct cbt_c *cbt, const unsigned long *map)
{
	u64 nr_blocks = cbt->md.nr_blocks;
	u64 next = cb->args[1];
	struct nlattr *bits;
	unsigned int bytes;
	const u8 *src;
	void *hdr;

	while (next < nr_blocks) {
		bytes = DIV_ROUND_UP_ULL(min_t(u64, CBT_MAP_CHUNK_BITS, nr_blocks - next), 8);
		src = map ? (const u8 *)map + next / 8 : NULL;
		if (src && !memchr_inv(src, 0, bytes)) {
			next += CBT_MAP_CHUNK_BITS;
			continue;
		}
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				  &cbt_family, NLM_F_MULTI, DM_CBT_CMD_GET_MAP);
		if (!hdr)
			break;
		genl_dump_check_consistent(cb, hdr);
		if (nla_put_u64_64bit(skb, DM_CBT_ATTR_MAP_OFFSET, next, DM_CBT_ATTR_PAD)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		bits = nla_reserve(skb, DM_CBT_ATTR_MAP_BITS, bytes);
		if (!bits) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		if (src) {
			memcpy(nla_data(bits), src, bytes);
		} else {
			u64 left = nr_blocks - next;

			memset(nla_data(bits), 0xff, bytes);
			if (left < bytes * 8ULL)
				((u8 *)nla_data(bits))[bytes - 1] = (1U << (left % 8)) - 1;
		}
		genlmsg_end(skb, hdr);
		next += CBT_MAP_CHUNK_BITS;
	}
	cb->args[1] = next;
	/*
	 * An empty packet ends the dump: if not even one chunk fits, fail
	 * rather than truncate the map silently.
	 */
	if (next < nr_blocks && !skb->len)
		return -EMSGSIZE;
	return 0;
}

/*
 * A dump spans several calls, and the maps may change between them or
 * while one runs (a checkpoint swaps them, a commit clears the frozen one).
 * Each call's messages carry the map_seq read at its start (cb->seq); one
 * that changed since, or a different table, or a change in progress makes
 * the next message (or NLMSG_DONE) say NLM_F_DUMP_INTR: user space retries.
 */
static void dump_seq_begin(struct netlink_callback *cb, struct cbt_c *cbt,
			   unsigned int *seq)
{
	/* Acquire: pairs with the smp_wmb() of cbt_map_change_begin/end. */
	*seq = smp_load_acquire(&cbt->map_seq);
	if (cb->args[2] && cb->args[2] != cbt->map_id)
		cb->seq = cb->prev_seq + 2;	/* another table: interrupted */
	else
		cb->seq = *seq * 2 + 1;		/* odd: never 0 */
	cb->args[2] = cbt->map_id;
}

static void dump_seq_end(struct netlink_callback *cb, struct cbt_c *cbt,
			 unsigned int seq)
{
	smp_rmb(); /* the maps were read before the count is read again */
	if (seq & 1 || READ_ONCE(cbt->map_seq) != seq)
		cb->seq = cb->prev_seq + 2;
}

static int map_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nlattr **attrs = cbt_dump_attrs(cb);
	u32 which = DM_CBT_MAP_CURRENT;
	const unsigned long *map;
	struct cbt_c *cbt;
	unsigned int seq;
	void *hdr;
	int r = 0;

	if (attrs[DM_CBT_ATTR_MAP])
		which = nla_get_u32(attrs[DM_CBT_ATTR_MAP]);
	if (which != DM_CBT_MAP_CURRENT && which != DM_CBT_MAP_FROZEN)
		return -EINVAL;

	mutex_lock(&cbt_registry_lock);
	cbt = lookup(attrs);
	if (!cbt) {
		r = -ENODEV;
		goto out;
	}
	dump_seq_begin(cb, cbt, &seq);
	if (!cb->args[0]) {
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				  &cbt_family, NLM_F_MULTI, DM_CBT_CMD_GET_MAP);
		if (!hdr || put_status(skb, cbt)) {
			r = -EMSGSIZE;
			goto out;
		}
		genl_dump_check_consistent(cb, hdr);
		genlmsg_end(skb, hdr);
		cb->args[0] = 1;
	}
	if (which == DM_CBT_MAP_FROZEN)
		map = READ_ONCE(cbt->frozen_map);
	else if (READ_ONCE(cbt->state) == CBT_ERROR)
		map = NULL;
	else
		map = READ_ONCE(cbt->current_map);
	r = put_map_chunks(skb, cb, cbt, map);
	dump_seq_end(cb, cbt, seq);
	if (!r)
		r = skb->len;
out:
	mutex_unlock(&cbt_registry_lock);
	return r;
}

/*
 * Events
 */

void cbt_netlink_event(struct cbt_c *cbt, enum dm_cbt_event event)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_NOIO);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &cbt_family, 0, DM_CBT_CMD_EVENT);
	if (!hdr || nla_put_u32(msg, DM_CBT_ATTR_EVENT, event) ||
	    put_status(msg, cbt)) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	/* -ESRCH just means nobody listens. */
	genlmsg_multicast(&cbt_family, msg, 0, 0, GFP_NOIO);
}

/*
 * Family
 */

static const struct nla_policy cbt_policy[DM_CBT_ATTR_MAX + 1] = {
	[DM_CBT_ATTR_DEV_NAME] = { .type = NLA_NUL_STRING, .len = DM_NAME_LEN - 1 },
	[DM_CBT_ATTR_DEV] = { .type = NLA_U32 },
	[DM_CBT_ATTR_MAP] = { .type = NLA_U32 },
};

static const struct genl_small_ops cbt_ops[] = {
	{
		.cmd = DM_CBT_CMD_GET_STATUS,
		.doit = status_doit,
		.dumpit = status_dumpit,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = DM_CBT_CMD_GET_MAP,
		.dumpit = map_dumpit,
		.flags = GENL_ADMIN_PERM,
	},
};

/*
 * Events name devices and report their state: joining the group takes
 * CAP_NET_ADMIN, like the commands (GENL_ADMIN_PERM). Kernels with
 * per-group flags (6.7, and stable ones with that change such as
 * Debian's 6.1) check it themselves; older ones call the family's
 * mcast_bind.
 */
static const struct genl_multicast_group cbt_mcgrps[] = {
#ifdef GENL_MCAST_CAP_NET_ADMIN
	{ .name = DM_CBT_GENL_MCGRP_EVENTS, .flags = GENL_MCAST_CAP_NET_ADMIN },
#else
	{ .name = DM_CBT_GENL_MCGRP_EVENTS },
#endif
};

#if !defined(GENL_MCAST_CAP_NET_ADMIN) && defined(HAVE_GENL_MCAST_BIND)
static int cbt_mcast_bind(struct net *net, int group)
{
	return ns_capable(net->user_ns, CAP_NET_ADMIN) ? 0 : -EPERM;
}
#elif !defined(GENL_MCAST_CAP_NET_ADMIN)
#error "dm-cbt: this kernel can restrict neither multicast groups nor their binding"
#endif

static struct genl_family cbt_family __ro_after_init = {
	.name = DM_CBT_GENL_NAME,
	.version = DM_CBT_GENL_VERSION,
	.maxattr = DM_CBT_ATTR_MAX,
	.policy = cbt_policy,
	.module = THIS_MODULE,
	.small_ops = cbt_ops,
	.n_small_ops = ARRAY_SIZE(cbt_ops),
#ifdef HAVE_GENL_RESV_START_OP
	.resv_start_op = DM_CBT_CMD_GET_STATUS,
#endif
	/* Our own registry lock serialises; never hold genl_mutex. */
	.parallel_ops = true,
	.mcgrps = cbt_mcgrps,
	.n_mcgrps = ARRAY_SIZE(cbt_mcgrps),
#if !defined(GENL_MCAST_CAP_NET_ADMIN)
	.mcast_bind = cbt_mcast_bind,
#endif
};

int cbt_netlink_init(void)
{
	return genl_register_family(&cbt_family);
}

void cbt_netlink_exit(void)
{
	genl_unregister_family(&cbt_family);
}
