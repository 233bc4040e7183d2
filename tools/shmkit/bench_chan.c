/*
 * bench_chan.c: shmkit channels (<shmkit/chan.h>), the structured way to
 * move messages through shared memory.
 *
 * chan-<backend>: two single-producer single-consumer channels, one per
 * direction, in two segments of the backend (sysv, posix, file, memfd),
 * with msg_max the size measured. A waiting side busy-polls
 * (SHMKIT_CHAN_WAIT_BUSY), as the shm-* rows do. chan-posix-adaptive
 * spins briefly then sleeps on a futex (SHMKIT_CHAN_WAIT_ADAPTIVE, the
 * default of a channel); chan-posix-block sleeps at once
 * (SHMKIT_CHAN_WAIT_BLOCK), like shm-futex. chan-posix-more busy-polls
 * and sends the one-way stream with SHMKIT_CHAN_MORE, which the driver
 * allows for every message of it but the last (c->more), so the
 * consumer is handed batches: its ping-pong is chan-posix's.
 *
 * Zero-copy: a message is written in place between reserve and commit
 * and read in place between peek and release. Of the message only the
 * bytes the driver stamps and checks (sequence number, one byte per 4 KiB
 * page, the last byte) are written and read, as a program that builds its
 * messages in the channel would write them once and nothing more: these
 * rows measure the channel itself, and their bytes per second are not a
 * copy bandwidth (they can exceed memcpy's).
 *
 * A channel holds as many slots as fit in 4 MiB (2 to 1024), and both
 * processes write or read every page of every slot once before the
 * driver starts its clock (prime()), so no row pays page faults that a
 * long-running program would not, whatever the ring's size against the
 * warm-up.
 *
 * Each segment is formatted and the parent's handles opened before fork,
 * then its name removed: the child inherits the mappings (a System V
 * segment marked for destruction stays alive while attached), opens its
 * own handles on the inherited segments, and an interrupted run leaves
 * nothing behind. Every wait is bounded (a tick, with SHMKIT_WAIT_INTR),
 * so a dead peer or a signal is noticed through bench_check().
 */
#include "bench.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <shmkit/chan.h>
#include <shmkit/error.h>

/* Bytes of slots per channel: 4 MiB in up to SLOTS_MAX slots of msg_max
 * bytes, never fewer than 2. */
#define CHAN_BYTES (4u << 20)
#define SLOTS_MAX 1024u
#define PAGE 4096u

/* How long one wait lasts before we look at signals and the deadline. */
static const struct timespec tick = { 0, 50 * 1000 * 1000 };

static unsigned
wait_flags(const struct bench_mech *m)
{
	if (m->arg & BENCH_WAIT_ADAPTIVE)
		return SHMKIT_CHAN_WAIT_ADAPTIVE;
	if (m->arg & BENCH_WAIT_BLOCK)
		return SHMKIT_CHAN_WAIT_BLOCK;
	return SHMKIT_CHAN_WAIT_BUSY;
}

static void
chan_options(shmkit_chan_opts_t *o, size_t size)
{
	size_t slots = CHAN_BYTES / size;

	if (slots > SLOTS_MAX)
		slots = SLOTS_MAX;
	if (slots < 2)
		slots = 2;
	memset(o, 0, sizeof(*o));
	o->pattern = SHMKIT_CHAN_SPSC;
	o->policy = SHMKIT_CHAN_FULL_BLOCK;
	o->msg_max = size;
	o->slots = slots;
	o->mode = 0600;
}

/* Direction dir's channel: segment created, formatted, unlinked. */
static int
make_channel(struct bench_ctx *c, int dir, const shmkit_chan_opts_t *co)
{
	shmkit_backend_t b = (shmkit_backend_t)(c->mech->arg & 0xff);
	shmkit_seg_opts_t so;
	unsigned attempt;
	int rc = -EEXIST;

	memset(&so, 0, sizeof(so));
	so.size = shmkit_chan_size(co);
	so.mode = 0600;
	for (attempt = 8u * (unsigned)dir;
	     attempt < 8u * (unsigned)dir + 8 && rc == -EEXIST; attempt++) {
		rc = bench_shm_address(c->path, sizeof(c->path), b, attempt);
		if (rc == 0)
			rc = shmkit_seg_create(&c->chseg[dir], c->path, &so);
	}
	if (rc < 0) {
		snprintf(c->why, sizeof(c->why), "create %.140s", c->path);
		return rc;
	}
	rc = shmkit_chan_format(c->chseg[dir], co);
	if (rc < 0) {
		snprintf(c->why, sizeof(c->why), "format %.140s", c->path);
		goto out_unlink;
	}
	/* The parent's end, before fork: its mapping keeps a System V
	 * segment alive once its name is gone. Direction 0 runs from
	 * parent to child. */
	rc = shmkit_chan_open_seg(&c->chan[dir], c->chseg[dir],
				  (dir == 0 ? SHMKIT_CHAN_PRODUCER
					    : SHMKIT_CHAN_CONSUMER) |
					  wait_flags(c->mech));
	if (rc < 0)
		snprintf(c->why, sizeof(c->why), "open %.140s", c->path);
out_unlink:
	/* Mapped (or failed): the name has served its purpose. */
	shmkit_seg_unlink(c->chseg[dir]);
	return rc;
}

static void
chan_fini(struct bench_ctx *c)
{
	int dir;

	for (dir = 0; dir < 2; dir++) {
		shmkit_chan_close(c->chan[dir]);
		c->chan[dir] = NULL;
		shmkit_seg_close(c->chseg[dir]);
		c->chseg[dir] = NULL;
	}
}

static int
chan_setup(struct bench_ctx *c)
{
	shmkit_chan_opts_t co;
	int rc;

	chan_options(&co, c->size);
	if (shmkit_chan_size(&co) == 0) {
		snprintf(c->why, sizeof(c->why),
			 "beyond a channel's limits (msg_max %zu, %zu slots)",
			 co.msg_max, co.slots);
		return -EMSGSIZE;
	}
	c->chan_err = 0;
	rc = make_channel(c, 0, &co);
	if (rc == 0)
		rc = make_channel(c, 1, &co);
	if (rc < 0)
		chan_fini(c);
	return rc;
}

/* Write (or read) one byte in every page of a slot. */
static void
touch_pages(void *slot, const void *msg, size_t len)
{
	volatile unsigned char *w = slot;
	const volatile unsigned char *r = msg;
	unsigned char x = 0;
	size_t off;

	for (off = 0; off < len; off += PAGE) {
		if (w != NULL)
			w[off] = 0;
		else
			x ^= r[off];
	}
	(void)x;
}

/* Reserve len bytes, waiting as long as bench_check() allows. First
 * without waiting: when the peer keeps up this costs no clock reading
 * for a timeout. A bounded wait that comes back empty-handed (tick over,
 * or a signal) asks bench_check() whether to go on. */
static int
reserve_wait(shmkit_chan_t *ch, size_t len, void **slot, unsigned more)
{
	int rc;

	rc = shmkit_chan_reserve(ch, len, slot, NULL,
				 SHMKIT_CHAN_NONBLOCK | more);
	while (rc == -EAGAIN || rc == -ETIMEDOUT || rc == -EINTR) {
		if (rc != -EAGAIN && (rc = bench_check()) < 0)
			return rc;
		rc = shmkit_chan_reserve(ch, len, slot, &tick,
					 SHMKIT_WAIT_INTR | more);
	}
	return rc;
}

/* The same for peek. */
static int
peek_wait(shmkit_chan_t *ch, const void **msg, size_t *len)
{
	int rc;

	rc = shmkit_chan_peek(ch, msg, len, NULL, SHMKIT_CHAN_NONBLOCK);
	while (rc == -EAGAIN || rc == -ETIMEDOUT || rc == -EINTR) {
		if (rc != -EAGAIN && (rc = bench_check()) < 0)
			return rc;
		rc = shmkit_chan_peek(ch, msg, len, &tick, SHMKIT_WAIT_INTR);
	}
	return rc;
}

/* Prime one direction: its producer fills every slot once, touching each
 * page, and its consumer takes them all, so both have every page of the
 * ring mapped. */
static int
prime(shmkit_chan_t *ch, int producing, size_t size, size_t slots)
{
	const void *msg;
	void *slot;
	size_t i, len;
	int rc;

	for (i = 0; i < slots; i++) {
		if (producing) {
			rc = reserve_wait(ch, size, &slot, 0);
			if (rc < 0)
				return rc;
			touch_pages(slot, NULL, size);
			rc = shmkit_chan_commit(ch, size);
		} else {
			rc = peek_wait(ch, &msg, &len);
			if (rc < 0)
				return rc;
			touch_pages(NULL, msg, len);
			rc = shmkit_chan_release(ch);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Each side after fork: the child opens its ends on the inherited
 * segments (the parent's inherited handles are not its own: it leaves
 * them alone); then both prime the two rings, the parent's direction
 * first. A failure is kept for the first send or receive to report. */
static void
chan_attach(struct bench_ctx *c)
{
	shmkit_chan_opts_t co;
	unsigned w = wait_flags(c->mech);
	int rc = 0, child = c->side == BENCH_CHILD;

	chan_options(&co, c->size);
	if (child) {
		c->chan[0] = c->chan[1] = NULL;
		rc = shmkit_chan_open_seg(&c->chan[0], c->chseg[0],
					  SHMKIT_CHAN_CONSUMER | w);
		if (rc == 0)
			rc = shmkit_chan_open_seg(&c->chan[1], c->chseg[1],
						  SHMKIT_CHAN_PRODUCER | w);
	}
	if (rc == 0)
		rc = prime(c->chan[0], !child, c->size, co.slots);
	if (rc == 0)
		rc = prime(c->chan[1], child, c->size, co.slots);
	c->chan_err = rc;
}

/* The handle this side sends (or receives) on. */
static shmkit_chan_t *
end_of(const struct bench_ctx *c, int sending)
{
	int towards_child = (c->side == BENCH_PARENT) == sending;

	return c->chan[towards_child ? 0 : 1];
}

static int
chan_send(struct bench_ctx *c, const void *buf, size_t len)
{
	shmkit_chan_t *ch = end_of(c, 1);
	void *slot;
	int rc;

	if (c->chan_err < 0 || ch == NULL)
		return c->chan_err < 0 ? c->chan_err : -EBADF;
	rc = reserve_wait(
		ch, len, &slot,
		(c->mech->arg & BENCH_MORE) && c->more ? SHMKIT_CHAN_MORE : 0);
	if (rc < 0)
		return rc;
	bench_copy_stamped(slot, buf, len);
	return shmkit_chan_commit(ch, len);
}

static int
chan_recv(struct bench_ctx *c, void *buf, size_t len)
{
	shmkit_chan_t *ch = end_of(c, 0);
	const void *msg;
	size_t got;
	int rc;

	if (c->chan_err < 0 || ch == NULL)
		return c->chan_err < 0 ? c->chan_err : -EBADF;
	rc = peek_wait(ch, &msg, &got);
	if (rc < 0)
		return rc;
	if (rc > 0 || got != len) {
		/* Lost messages or a wrong length: the channel failed. */
		shmkit_chan_release(ch);
		return -EPROTO;
	}
	bench_copy_stamped(buf, msg, len);
	return shmkit_chan_release(ch);
}

const struct bench_ops bench_chan_ops = {
	.setup = chan_setup,
	.attach = chan_attach,
	.send = chan_send,
	.recv = chan_recv,
	.fini = chan_fini,
};
