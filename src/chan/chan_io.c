/*
 * The data path of <shmkit/chan.h>: reserve/commit, peek/release and the
 * copying send/recv built on them. Each call checks its arguments and the
 * handle's state here, then hands the ring work to its pattern's ops
 * (chan_queue.c, chan_bcast.c) and the waiting to chan_wait.c.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "chan/chan_impl.h"

/* recv retries after a message overwritten while being copied; each
 * retry follows a publisher that is lapping us, so a few suffice. */
#define RECV_TRIES 64

/* shmkit__chan_wait() after checking the wait arguments and the header. */
static inline int
checked_wait(shmkit_chan_t *ch, int room, shmkit__chan_try_fn try,
	     const struct timespec *timeout, unsigned flags)
{
	int rc;

	rc = shmkit__chan_check_wait(timeout, flags);
	if (rc < 0)
		return rc;
	rc = shmkit__chan_check(ch);
	if (rc < 0)
		return rc;
	return shmkit__chan_wait(ch, room, try, timeout, flags);
}

/*
 * Can a call take the SPSC fast path? The channel is SPSC and its header
 * READY (relaxed, as in shmkit__chan_check(), which the slow paths
 * make). The fast paths of reserve, commit and peek do the pattern's
 * common case inline, with no call and so no registers saved on the
 * stack: a producer streaming small messages is limited by how many
 * stores wait on cache lines the consumer holds, and every store of its
 * own that queues behind them counts (16 more per message cost a scratch
 * ring a third of its throughput).
 */
static inline int
spsc_ready(const shmkit_chan_t *ch)
{
	return ch->lay.pattern == SHMKIT_CHAN_SPSC &&
	       __atomic_load_n(&ch->shm->hdr.state, __ATOMIC_RELAXED) ==
		       SHMKIT_OBJ_STATE_READY;
}

/* A reservation of len at ch->res_pos is ours. */
static inline int
reserved(shmkit_chan_t *ch, size_t len, void **buf, unsigned flags)
{
	ch->reserved = 1;
	ch->res_more = (flags & SHMKIT_CHAN_MORE) != 0;
	ch->res_len = len;
	*buf = shmkit__chan_payload(ch, ch->res_pos);
	return 0;
}

/* shmkit_chan_reserve() past its fast path: any pattern, waiting. */
static __attribute__((noinline)) int
reserve_slow(shmkit_chan_t *ch, size_t len, void **buf,
	     const struct timespec *timeout, unsigned flags)
{
	int rc = checked_wait(ch, 1, ch->ops->try_reserve, timeout,
			      flags & ~SHMKIT_CHAN_MORE);

	return rc < 0 ? rc : reserved(ch, len, buf, flags);
}

SHMKIT_API int
shmkit_chan_reserve(shmkit_chan_t *ch, size_t len, void **buf,
		    const struct timespec *timeout, unsigned flags)
{
	uint64_t seen;

	if (ch == NULL || buf == NULL || ch->role != SHMKIT_CHAN_PRODUCER ||
	    ch->reserved || len > ch->lay.msg_max)
		return -EINVAL;
	/* The fast path (spsc_ready()): a free slot. */
	if (spsc_ready(ch) &&
	    shmkit__chan_check_wait(timeout, flags & ~SHMKIT_CHAN_MORE) == 0 &&
	    shmkit__spsc_claim(ch, &seen))
		return reserved(ch, len, buf, flags);
	return reserve_slow(ch, len, buf, timeout, flags);
}

/* shmkit_chan_commit() past its fast path. */
static __attribute__((noinline)) int
commit_slow(shmkit_chan_t *ch, size_t len)
{
	if (shmkit__chan_check(ch) < 0)
		return SHMKIT_ECORRUPT;
	return ch->ops->commit(ch, len);
}

SHMKIT_API int
shmkit_chan_commit(shmkit_chan_t *ch, size_t len)
{
	if (ch == NULL || !ch->reserved || len > ch->res_len)
		return -EINVAL;
	ch->reserved = 0;
	/* The fast path (spsc_ready()): a message held back in a batch. */
	if (spsc_ready(ch) && shmkit__spsc_hold(ch, len))
		return 0;
	return commit_slow(ch, len);
}

SHMKIT_API int
shmkit_chan_send(shmkit_chan_t *ch, const void *msg, size_t len,
		 const struct timespec *timeout, unsigned flags)
{
	void *buf;
	int rc;

	if (msg == NULL && len > 0)
		return -EINVAL;
	rc = shmkit_chan_reserve(ch, len, &buf, timeout, flags);
	if (rc < 0)
		return rc;
	if (len > 0)
		shmkit__chan_copy_in(buf, msg, len);
	return shmkit_chan_commit(ch, len);
}

SHMKIT_API int
shmkit_chan_flush(shmkit_chan_t *ch)
{
	if (ch == NULL || ch->role != SHMKIT_CHAN_PRODUCER)
		return -EINVAL;
	if (shmkit__chan_check(ch) < 0)
		return SHMKIT_ECORRUPT;
	if (ch->ops->flush != NULL)
		ch->ops->flush(ch);
	return 0;
}

/* Hand out and forget the losses counted since the last report. */
static int
take_lost(shmkit_chan_t *ch)
{
	uint64_t n = ch->lost;

	ch->lost = 0;
	return n > INT_MAX ? INT_MAX : (int)n;
}

/* The message at ch->peek_pos is ours; returns lost. */
static inline int
peeked(shmkit_chan_t *ch, const void **msg, size_t *len, int lost)
{
	ch->peeked = 1;
	*msg = shmkit__chan_payload(ch, ch->peek_pos);
	*len = ch->peek_len;
	return lost;
}

/* shmkit_chan_peek() past its fast path: any pattern, waiting. */
static __attribute__((noinline)) int
peek_slow(shmkit_chan_t *ch, const void **msg, size_t *len,
	  const struct timespec *timeout, unsigned flags)
{
	int rc = checked_wait(ch, 0, ch->ops->try_peek, timeout, flags);

	return rc < 0 ? rc : peeked(ch, msg, len, take_lost(ch));
}

SHMKIT_API int
shmkit_chan_peek(shmkit_chan_t *ch, const void **msg, size_t *len,
		 const struct timespec *timeout, unsigned flags)
{
	uint64_t seen;

	if (ch == NULL || msg == NULL || len == NULL ||
	    ch->role != SHMKIT_CHAN_CONSUMER || ch->peeked)
		return -EINVAL;
	/* The fast path (spsc_ready()): a message waiting. SPSC loses
	 * nothing: 0 messages lost. */
	if (spsc_ready(ch) && shmkit__chan_check_wait(timeout, flags) == 0 &&
	    shmkit__spsc_take(ch, &seen))
		return peeked(ch, msg, len, 0);
	return peek_slow(ch, msg, len, timeout, flags);
}

SHMKIT_API int
shmkit_chan_release(shmkit_chan_t *ch)
{
	if (ch == NULL || !ch->peeked)
		return -EINVAL;
	ch->peeked = 0;
	if (shmkit__chan_check(ch) < 0)
		return SHMKIT_ECORRUPT;
	return ch->ops->release(ch);
}

SHMKIT_API int
shmkit_chan_recv(shmkit_chan_t *ch, void *buf, size_t cap, size_t *len,
		 const struct timespec *timeout, unsigned flags)
{
	uint64_t lost = 0;
	const void *m;
	size_t n;
	int rc, i;

	if (ch == NULL || len == NULL || (buf == NULL && cap > 0))
		return -EINVAL;
	for (i = 0; i < RECV_TRIES; i++) {
		rc = shmkit_chan_peek(ch, &m, &n, timeout, flags);
		if (rc < 0)
			break;
		lost += (uint64_t)rc;
		if (n > cap) {
			ch->ops->unpeek(ch, 0);
			ch->peeked = 0;
			ch->lost += lost; /* reported with the next message */
			*len = n;
			return -EMSGSIZE;
		}
		if (n > 0)
			memcpy(buf, m, n);
		rc = shmkit_chan_release(ch);
		if (rc == -ESTALE) {
			lost++; /* torn copy: counted as lost, take the next */
			continue;
		}
		if (rc < 0)
			break;
		*len = n;
		return lost > INT_MAX ? INT_MAX : (int)lost;
	}
	if (i == RECV_TRIES)
		rc = -EAGAIN;
	ch->lost += lost; /* not reported yet: the next success says it */
	return rc;
}
