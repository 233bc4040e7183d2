/*
 * Channels: sizing, making one in a segment, attaching and detaching
 * peers, and looking at one from outside. The layout is described in
 * chan_impl.h; the ring logic lives in chan_queue.c and chan_bcast.c.
 *
 * Opening validates the object header (shmkit_obj_probe), then the
 * control block: the options it records must be valid and must give, by
 * the same computation as creation, exactly the offsets and size it
 * records, within the segment. The handle keeps that validated copy; no
 * call re-reads the control block.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmkit/chan.h>

#include "chan/chan_impl.h"
#include "obj/obj_impl.h"

_Static_assert(sizeof(struct shmkit__chan_ctl) == CHAN_LINE,
	       "shared ABI: control block is one line");
_Static_assert(sizeof(struct shmkit__chan_shm) == CHAN_PEERS_OFF,
	       "shared ABI: peer table at 512");
_Static_assert(offsetof(struct shmkit__chan_shm, tail) == 128,
	       "shared ABI: tail on its own line");
_Static_assert(sizeof(struct shmkit__chan_peer) == CHAN_LINE,
	       "shared ABI: one line per peer");
_Static_assert(sizeof(struct shmkit__chan_slot) == CHAN_SLOT_HDR,
	       "shared ABI: slot header");

#define OPEN_ROLES (SHMKIT_CHAN_PRODUCER | SHMKIT_CHAN_CONSUMER)
#define OPEN_WAITS (SHMKIT_CHAN_WAIT_BUSY | SHMKIT_CHAN_WAIT_BLOCK)

int
shmkit__chan_layout(struct shmkit__chan_layout *lay,
		    const shmkit_chan_opts_t *opts)
{
	static const shmkit_chan_opts_t defaults;
	uint64_t slots, stride, peers_bytes, slot_bytes, size;

	if (opts == NULL)
		opts = &defaults;
	memset(lay, 0, sizeof(*lay));
	lay->pattern = opts->pattern ? opts->pattern : SHMKIT_CHAN_SPSC;
	lay->policy = opts->policy;
	if (lay->pattern < SHMKIT_CHAN_SPSC ||
	    lay->pattern > SHMKIT_CHAN_BROADCAST)
		return -EINVAL;
	if (lay->policy > SHMKIT_CHAN_FULL_OVERWRITE ||
	    (lay->policy == SHMKIT_CHAN_FULL_OVERWRITE &&
	     lay->pattern != SHMKIT_CHAN_BROADCAST))
		return -EINVAL;
	lay->msg_max = opts->msg_max ? opts->msg_max : CHAN_DEFAULT_MSG;
	if (lay->msg_max > SHMKIT_CHAN_MSG_MAX)
		return -EINVAL;
	slots = opts->slots ? opts->slots : CHAN_DEFAULT_SLOTS;
	if (slots > SHMKIT_CHAN_SLOTS_MAX)
		return -EINVAL;
	if (slots < 2)
		slots = 2;
	while (slots & (slots - 1))
		slots += slots & -slots; /* round up to a power of two */
	lay->slots = slots;
	lay->peers_max = opts->peers;
	if (lay->peers_max == 0)
		lay->peers_max = lay->pattern == SHMKIT_CHAN_SPSC
					 ? 2
					 : CHAN_DEFAULT_PEERS;
	if (lay->peers_max < 2 || lay->peers_max > SHMKIT_CHAN_PEERS_MAX)
		return -EINVAL;
	if (opts->mode & ~07777u)
		return -EINVAL;
	stride = shmkit__round_up(CHAN_SLOT_HDR + lay->msg_max, CHAN_LINE);
	peers_bytes = (uint64_t)lay->peers_max * CHAN_LINE;
	slot_bytes = stride * slots; /* < 2^31 * 2^20: no overflow */
	size = CHAN_PEERS_OFF + peers_bytes + slot_bytes;
	if (size > (uint64_t)SIZE_MAX || size < slot_bytes)
		return -EINVAL;
	lay->stride = stride;
	lay->peers_off = CHAN_PEERS_OFF;
	lay->slots_off = CHAN_PEERS_OFF + peers_bytes;
	lay->size = size;
	return 0;
}

uint32_t
shmkit__chan_ctl_check(const struct shmkit__chan_layout *lay)
{
	const uint64_t v[] = {lay->pattern,   lay->policy,    lay->msg_max,
			      lay->slots,     lay->stride,    lay->peers_max,
			      lay->peers_off, lay->slots_off, lay->size};
	uint32_t h = 2166136261u; /* FNV-1a */
	size_t i, b;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		for (b = 0; b < 64; b += 8) {
			h ^= (uint32_t)(v[i] >> b) & 0xffu;
			h *= 16777619u;
		}
	return h;
}

SHMKIT_API size_t
shmkit_chan_size(const shmkit_chan_opts_t *opts)
{
	struct shmkit__chan_layout lay;

	if (shmkit__chan_layout(&lay, opts) < 0)
		return 0;
	return (size_t)lay.size;
}

int
shmkit__chan_corrupt(struct shmkit_chan *ch, const char *why)
{
	SHMKIT_DEBUG("chan", "corrupt channel: %s", why);
	/* Relaxed: BROKEN is final and publishes nothing; peers notice it
	 * at their next check. */
	__atomic_store_n(&ch->shm->hdr.state, SHMKIT_OBJ_STATE_BROKEN,
			 __ATOMIC_RELAXED);
	return SHMKIT_ECORRUPT;
}

int
shmkit__chan_check_state(struct shmkit_chan *ch, uint32_t st)
{
	if (st == SHMKIT_OBJ_STATE_READY)
		return 0;
	if (st != SHMKIT_OBJ_STATE_BROKEN)
		return shmkit__chan_corrupt(ch, "header state");
	return SHMKIT_ECORRUPT;
}

/* Write a channel with layout lay into mem (exclusive access). */
static void
format_mem(void *mem, const struct shmkit__chan_layout *lay)
{
	struct shmkit__chan_shm *sh = mem;
	unsigned char *slots = (unsigned char *)mem + lay->slots_off;
	struct shmkit__chan_slot *sl;
	uint64_t i, init;

	shmkit__obj_hdr_init(&sh->hdr, SHMKIT_OBJ_CHAN, CHAN_VERSION,
			     lay->size);
	memset((unsigned char *)mem + SHMKIT_OBJ_HDR_SIZE, 0,
	       lay->slots_off - SHMKIT_OBJ_HDR_SIZE);
	sh->ctl.pattern = lay->pattern;
	sh->ctl.policy = lay->policy;
	sh->ctl.msg_max = lay->msg_max;
	sh->ctl.slots = lay->slots;
	sh->ctl.stride = lay->stride;
	sh->ctl.peers_max = lay->peers_max;
	sh->ctl.peers_off = lay->peers_off;
	sh->ctl.slots_off = lay->slots_off;
	sh->ctl.size = lay->size;
	sh->ctl.check = shmkit__chan_ctl_check(lay);
	for (i = 0; i < lay->slots; i++) {
		sl = (struct shmkit__chan_slot *)(void *)(slots +
							  i * lay->stride);
		switch (lay->pattern) {
		case SHMKIT_CHAN_MPMC:
			init = MPMC_STATE(i, MPMC_FREE, 0);
			break;
		default:
			init = 0; /* never written (SPSC and broadcast) */
			break;
		}
		sl->seq = init;
		sl->len = 0;
		sl->flags = 0;
	}
	/* Release: publishes all of the above to the acquire load of the
	 * state in validate(). */
	shmkit__obj_hdr_ready(&sh->hdr);
}

SHMKIT_API int
shmkit_chan_format(shmkit_seg_t *seg, const shmkit_chan_opts_t *opts)
{
	struct shmkit__chan_layout lay;
	void *mem;
	int rc, attached = 0;

	if (seg == NULL)
		return -EINVAL;
	rc = shmkit__chan_layout(&lay, opts);
	if (rc < 0)
		return rc;
	if (shmkit_seg_size(seg) < lay.size)
		return SHMKIT_ESIZE;
	mem = shmkit_seg_addr(seg);
	if (mem == NULL) {
		rc = shmkit_seg_attach(seg, &mem, 0, NULL);
		if (rc < 0)
			return rc;
		attached = 1;
	}
	format_mem(mem, &lay);
	if (attached)
		shmkit_seg_detach(seg);
	return 0;
}

SHMKIT_API int
shmkit_chan_create(const char *address, const shmkit_chan_opts_t *opts)
{
	struct shmkit__chan_layout lay;
	shmkit_seg_opts_t so = {0};
	shmkit_addr_t addr;
	shmkit_seg_t *seg;
	int rc;

	if (address == NULL)
		return -EINVAL;
	rc = shmkit__chan_layout(&lay, opts);
	if (rc < 0)
		return rc;
	/* A memfd channel made here would vanish at once: nobody could
	 * open it by name. */
	rc = shmkit_addr_parse(&addr, address);
	if (rc < 0)
		return rc;
	if (shmkit_addr_backend(&addr) == SHMKIT_BACKEND_MEMFD)
		return -EINVAL;
	so.size = (size_t)lay.size;
	so.mode = opts ? opts->mode : 0;
	rc = shmkit_seg_create(&seg, address, &so);
	if (rc < 0)
		return rc;
	rc = shmkit_chan_format(seg, opts);
	if (rc < 0)
		shmkit_seg_unlink(seg);
	shmkit_seg_close(seg);
	return rc;
}

/*
 * Validate the channel in mem (len bytes of segment) and copy its layout
 * to *lay. Reads only. Returns 0, -EBUSY while it is being created, or
 * the errors of shmkit_chan_open().
 */
static int
validate(const void *mem, size_t len, struct shmkit__chan_layout *lay)
{
	const struct shmkit__chan_shm *sh = mem;
	struct shmkit__chan_layout want;
	shmkit_chan_opts_t o = {0};
	shmkit_obj_info_t info;
	uint32_t st;
	int rc;

	rc = shmkit_obj_probe(mem, len, &info);
	if (rc < 0)
		return rc;
	if (info.kind != SHMKIT_OBJ_CHAN)
		return SHMKIT_ENOTOBJ;
	/* Acquire: pairs with the release store of READY in format_mem(). */
	st = __atomic_load_n(&sh->hdr.state, __ATOMIC_ACQUIRE);
	if (st == SHMKIT_OBJ_STATE_INIT)
		return -EBUSY;
	if (st != SHMKIT_OBJ_STATE_READY)
		return SHMKIT_ECORRUPT;
	if (len < CHAN_PEERS_OFF)
		return SHMKIT_ECORRUPT;
	/* Relaxed: immutable since READY; each read once into a local. */
	o.pattern = __atomic_load_n(&sh->ctl.pattern, __ATOMIC_RELAXED);
	o.policy = __atomic_load_n(&sh->ctl.policy, __ATOMIC_RELAXED);
	o.msg_max = (size_t)__atomic_load_n(&sh->ctl.msg_max, __ATOMIC_RELAXED);
	o.slots = (size_t)__atomic_load_n(&sh->ctl.slots, __ATOMIC_RELAXED);
	o.peers = __atomic_load_n(&sh->ctl.peers_max, __ATOMIC_RELAXED);
	if (o.pattern == 0 || o.msg_max == 0 || o.slots == 0 || o.peers == 0 ||
	    (o.slots & (o.slots - 1)) != 0)
		return SHMKIT_ECORRUPT;
	if (shmkit__chan_layout(&want, &o) < 0)
		return SHMKIT_ECORRUPT;
	if (want.slots != o.slots ||
	    __atomic_load_n(&sh->ctl.stride, __ATOMIC_RELAXED) != want.stride ||
	    __atomic_load_n(&sh->ctl.peers_off, __ATOMIC_RELAXED) !=
		    want.peers_off ||
	    __atomic_load_n(&sh->ctl.slots_off, __ATOMIC_RELAXED) !=
		    want.slots_off ||
	    __atomic_load_n(&sh->ctl.size, __ATOMIC_RELAXED) != want.size ||
	    __atomic_load_n(&sh->ctl.check, __ATOMIC_RELAXED) !=
		    shmkit__chan_ctl_check(&want) ||
	    info.size != want.size || want.size > len)
		return SHMKIT_ECORRUPT;
	*lay = want;
	return 0;
}

static const struct shmkit__chan_ops *
pattern_ops(unsigned pattern)
{
	switch (pattern) {
	case SHMKIT_CHAN_SPSC:
		return &shmkit__chan_spsc_ops;
	case SHMKIT_CHAN_MPMC:
		return &shmkit__chan_mpmc_ops;
	default:
		return &shmkit__chan_bcast_ops;
	}
}

/* Attach seg (which the new handle owns, also on failure). */
static int
chan_attach(shmkit_chan_t **out, shmkit_seg_t *seg, unsigned flags)
{
	struct shmkit_chan *ch;
	void *mem;
	int rc;

	/* A cache line of its own: handles of threads that talk to each
	 * other must not share one (false sharing on every message). */
	ch = aligned_alloc(CHAN_LINE, shmkit__round_up(sizeof(*ch), CHAN_LINE));
	if (ch != NULL)
		memset(ch, 0, sizeof(*ch));
	if (ch == NULL) {
		shmkit_seg_close(seg);
		return -ENOMEM;
	}
	ch->seg = seg;
	ch->role = flags & OPEN_ROLES;
	ch->wait = flags & OPEN_WAITS;
	ch->pid = (int)getpid();
	rc = shmkit_seg_attach(seg, &mem, 0, NULL);
	if (rc < 0)
		goto out_free;
	rc = validate(mem, shmkit_seg_size(seg), &ch->lay);
	if (rc < 0)
		goto out_free;
	ch->shm = mem;
	ch->peers = (struct shmkit__chan_peer *)(void *)((unsigned char *)mem +
							 ch->lay.peers_off);
	ch->slots = (unsigned char *)mem + ch->lay.slots_off;
	ch->mask = ch->lay.slots - 1;
	ch->ops = pattern_ops(ch->lay.pattern);
	shmkit__chan_sync_init(ch);
	shmkit__chan_reap_all(ch);
	rc = shmkit__chan_register(ch);
	if (rc < 0)
		goto out_free;
	rc = ch->ops->open(ch);
	if (rc < 0) {
		shmkit__chan_unregister(ch);
		goto out_free;
	}
	rc = shmkit__chan_check(ch);
	if (rc < 0) {
		shmkit__chan_unregister(ch);
		goto out_free;
	}
	*out = ch;
	return 0;

out_free:
	shmkit_seg_close(seg);
	free(ch);
	return rc;
}

static int
check_open_flags(unsigned flags)
{
	unsigned role = flags & OPEN_ROLES;

	if (flags & ~(OPEN_ROLES | OPEN_WAITS))
		return -EINVAL;
	if (role != SHMKIT_CHAN_PRODUCER && role != SHMKIT_CHAN_CONSUMER)
		return -EINVAL;
	if ((flags & OPEN_WAITS) == OPEN_WAITS)
		return -EINVAL;
	return 0;
}

SHMKIT_API int
shmkit_chan_open(shmkit_chan_t **out, const char *address, unsigned flags)
{
	shmkit_seg_t *seg;
	int rc;

	if (out == NULL || address == NULL)
		return -EINVAL;
	rc = check_open_flags(flags);
	if (rc < 0)
		return rc;
	rc = shmkit_seg_open(&seg, address, NULL);
	if (rc < 0)
		return rc;
	return chan_attach(out, seg, flags);
}

SHMKIT_API int
shmkit_chan_open_seg(shmkit_chan_t **out, shmkit_seg_t *seg, unsigned flags)
{
	shmkit_seg_stat_t st;
	shmkit_seg_t *own;
	char addr[32];
	int rc, fd;

	if (out == NULL || seg == NULL)
		return -EINVAL;
	rc = check_open_flags(flags);
	if (rc < 0)
		return rc;
	/* Our own handle on the same memory, so that our mapping is ours
	 * and the caller's attach state is left alone. */
	fd = shmkit_seg_fd(seg);
	if (fd >= 0) {
		rc = shmkit_seg_open_fd(&own, fd, NULL);
	} else {
		rc = shmkit_seg_stat(seg, &st);
		if (rc < 0)
			return rc;
		snprintf(addr, sizeof(addr), "sysv-id:%d", st.shmid);
		rc = shmkit_seg_open(&own, addr, NULL);
	}
	if (rc < 0)
		return rc;
	return chan_attach(out, own, flags);
}

SHMKIT_API int
shmkit_chan_close(shmkit_chan_t *ch)
{
	if (ch == NULL)
		return 0;
	shmkit__chan_fd_close(ch);
	/* A forked child holds a copy of the parent's handle: it must not
	 * give back what the parent holds. */
	if ((int)getpid() == ch->pid) {
		if (ch->role == SHMKIT_CHAN_PRODUCER &&
		    ch->ops->flush != NULL && shmkit__chan_check(ch) == 0)
			ch->ops->flush(ch);
		if (ch->reserved)
			ch->ops->cancel(ch);
		if (ch->peeked || ch->held)
			ch->ops->unpeek(ch, 1);
		shmkit__chan_unregister(ch);
	}
	shmkit_seg_close(ch->seg);
	free(ch);
	return 0;
}

SHMKIT_API int
shmkit_chan_recover(shmkit_chan_t *ch)
{
	int rc;

	if (ch == NULL)
		return -EINVAL;
	rc = shmkit__chan_check(ch);
	if (rc < 0)
		return rc;
	rc = shmkit__chan_reap_all(ch);
	return shmkit__chan_check(ch) < 0 ? SHMKIT_ECORRUPT : rc;
}

/* Fill *info from a validated channel (reads only). */
static void
fill_info(const struct shmkit__chan_shm *sh,
	  const struct shmkit__chan_layout *lay, shmkit_chan_info_t *info)
{
	const struct shmkit__chan_peer *peers =
		(const void *)((const unsigned char *)sh + lay->peers_off);
	uint64_t t, h, c, r;
	unsigned i;

	memset(info, 0, sizeof(*info));
	info->pattern = lay->pattern;
	info->policy = lay->policy;
	info->msg_max = (size_t)lay->msg_max;
	info->slots = (size_t)lay->slots;
	info->peers_max = lay->peers_max;
	for (i = 0; i < lay->peers_max; i++)
		/* Relaxed: a snapshot for display. */
		if (PEER_STATE(__atomic_load_n(&peers[i].word,
					       __ATOMIC_RELAXED)) != PEER_FREE)
			info->peers++;
	/* Relaxed (all): a snapshot for display. */
	t = __atomic_load_n(&sh->tail.pos, __ATOMIC_RELAXED);
	h = __atomic_load_n(&sh->head.pos, __ATOMIC_RELAXED);
	c = __atomic_load_n(&sh->stats.committed, __ATOMIC_RELAXED);
	r = __atomic_load_n(&sh->stats.released, __ATOMIC_RELAXED);
	switch (lay->pattern) {
	case SHMKIT_CHAN_SPSC:
		info->sent = t;
		info->received = h;
		info->pending = t - h <= lay->slots ? t - h : 0;
		break;
	case SHMKIT_CHAN_MPMC:
		info->sent = c;
		info->received = r;
		info->pending = c >= r ? c - r : 0;
		break;
	default:
		info->sent = t;
		break;
	}
}

SHMKIT_API int
shmkit_chan_info(shmkit_chan_t *ch, shmkit_chan_info_t *info)
{
	int rc;

	if (ch == NULL || info == NULL)
		return -EINVAL;
	rc = shmkit__chan_check(ch);
	if (rc < 0)
		return rc;
	fill_info(ch->shm, &ch->lay, info);
	return 0;
}

SHMKIT_API int
shmkit_chan_inspect(const char *address, shmkit_chan_info_t *info,
		    shmkit_chan_peer_info_t *peers, size_t max)
{
	shmkit_seg_opts_t so = {.flags = SHMKIT_SEG_RDONLY};
	struct shmkit__chan_layout lay;
	const struct shmkit__chan_peer *tab;
	shmkit_chan_peer_info_t pi;
	shmkit_chan_info_t out;
	shmkit_seg_t *seg;
	uint64_t w;
	void *mem;
	unsigned i;
	int rc, n = 0;

	if (address == NULL || info == NULL || (peers == NULL && max > 0))
		return -EINVAL;
	rc = shmkit_seg_open(&seg, address, &so);
	if (rc < 0)
		return rc;
	rc = shmkit_seg_attach(seg, &mem, SHMKIT_ATTACH_RDONLY, NULL);
	if (rc < 0)
		goto out;
	rc = validate(mem, shmkit_seg_size(seg), &lay);
	if (rc == -EBUSY)
		rc = SHMKIT_ECORRUPT; /* never -EBUSY: a half-made channel */
	if (rc < 0)
		goto out;
	fill_info(mem, &lay, &out);
	tab = (const void *)((const unsigned char *)mem + lay.peers_off);
	for (i = 0; i < lay.peers_max; i++) {
		/* Relaxed (all): a snapshot for display. */
		w = __atomic_load_n(&tab[i].word, __ATOMIC_RELAXED);
		if (PEER_STATE(w) == PEER_FREE)
			continue;
		if ((size_t)n < max) {
			memset(&pi, 0, sizeof(pi));
			pi.index = i;
			pi.role =
				__atomic_load_n(&tab[i].role, __ATOMIC_RELAXED);
			pi.pid = __atomic_load_n(&tab[i].pid, __ATOMIC_RELAXED);
			pi.messages = __atomic_load_n(&tab[i].messages,
						      __ATOMIC_RELAXED);
			pi.lost =
				__atomic_load_n(&tab[i].lost, __ATOMIC_RELAXED);
			pi.alive = -1;
			if (PEER_STATE(w) == PEER_ACTIVE && pi.pid > 0)
				pi.alive = shmkit__proc_alive(
					pi.pid,
					__atomic_load_n(&tab[i].start,
							__ATOMIC_RELAXED));
			else if (PEER_STATE(w) == PEER_ACTIVE)
				pi.alive = 0;
			else
				pi.alive = shmkit__chan_holder_alive(w);
			peers[n] = pi;
		}
		n++;
	}
	*info = out;
	rc = n;
out:
	shmkit_seg_close(seg);
	return rc;
}

SHMKIT_API const char *
shmkit_chan_pattern_name(unsigned pattern)
{
	switch (pattern) {
	case SHMKIT_CHAN_SPSC:
		return "spsc";
	case SHMKIT_CHAN_MPMC:
		return "mpmc";
	case SHMKIT_CHAN_BROADCAST:
		return "broadcast";
	}
	return "?";
}

SHMKIT_API const char *
shmkit_chan_policy_name(unsigned policy)
{
	switch (policy) {
	case SHMKIT_CHAN_FULL_BLOCK:
		return "block";
	case SHMKIT_CHAN_FULL_FAIL:
		return "fail";
	case SHMKIT_CHAN_FULL_OVERWRITE:
		return "overwrite";
	}
	return "?";
}
