/*
 * Broadcast: one publisher, any number of subscribers, every message to
 * every subscriber.
 *
 * Each slot carries a stamp, like a seqlock's sequence but naming the
 * position: 2p + 1 while position p is being written, 2p + 2 once it is
 * committed, 0 never written. The publisher writes the message, then
 * stores the even stamp and the tail (release). Only an overwriting
 * channel marks a slot odd while rewriting it, with an acq_rel exchange
 * (its acquire half keeps the message writes after it): on the others no
 * subscriber reads a slot the publisher may be rewriting, and the locked
 * exchange would cost every message a stall (chan_wait.c).
 * A subscriber keeps its own position in its peer entry and reads slot p
 * when its stamp says "committed p". A stamp naming a later position
 * means the slot was overwritten: the subscriber jumps to the oldest
 * position still held (tail - slots) and counts what it skipped.
 *
 * FULL_BLOCK: the publisher may write position p only when every live
 * subscriber has read p - slots. It keeps the slowest position it last
 * saw and rescans the table only when that says full, so its cost per
 * message does not grow with the number of subscribers. The tail store
 * then the scan, and a joining subscriber's entry store then its read of
 * the tail (chan_peer.c claim()), are a store-then-load pairing (light
 * barrier before the scan, heavy after the registration, chan_wait.c):
 * a subscriber the scan misses starts at a tail the cached minimum is
 * not above. A dead subscriber holding the minimum is reaped by the
 * waiting publisher (the stuck op).
 *
 * FULL_OVERWRITE: the publisher never waits. A subscriber reading in
 * place may see the message change under it; release re-reads the stamp
 * with an acq_rel read-modify-write (its release half keeps the reads of
 * the message before it) and reports -ESTALE.
 */
#include <errno.h>

#include "chan/chan_impl.h"

static uint64_t
stamp_pos(uint64_t s)
{
	return (s - 1) / 2; /* both 2p + 1 and 2p + 2 give p */
}

static int
bcast_open(struct shmkit_chan *ch)
{
	uint64_t t, i;

	if (ch->role != SHMKIT_CHAN_PRODUCER)
		return 0; /* claim() set our position to the tail */
	/* Acquire: pairs with the release store of the tail by the previous
	 * publisher. */
	t = __atomic_load_n(&ch->shm->tail.pos, __ATOMIC_ACQUIRE);
	/* A publisher killed between its stamp and tail stores. */
	for (i = 0; i < ch->lay.slots; i++) {
		if (__atomic_load_n(&shmkit__chan_slot(ch, t)->seq,
				    __ATOMIC_ACQUIRE) != 2 * t + 2)
			break;
		t++;
	}
	/* Release: as every tail store. */
	__atomic_store_n(&ch->shm->tail.pos, t, __ATOMIC_RELEASE);
	ch->pos = t;
	ch->cached_min = 0; /* rescan at the first full ring */
	return 0;
}

/* FULL_BLOCK: is position ch->pos free of unread messages? 1 yes, 0 no. */
static int
bcast_room(struct shmkit_chan *ch)
{
	uint64_t p = ch->pos, min = p, w, q;
	unsigned i;

	if (p - ch->cached_min < ch->lay.slots)
		return 1;
	/* The publisher's half of the registration pairing (file comment):
	 * our tail stores before the scan's loads. */
	shmkit__chan_light(ch, &ch->shm->stats.reg);
	for (i = 1; i < ch->lay.peers_max; i++) {
		/* Acquire: pairs with the release of the entry's state and
		 * position stores (a subscriber's reads of the messages
		 * before its position are done); also the waiter's re-check
		 * of the sleep protocol. */
		w = __atomic_load_n(&ch->peers[i].word, __ATOMIC_ACQUIRE);
		if (PEER_STATE(w) != PEER_ACTIVE)
			continue;
		q = __atomic_load_n(&ch->peers[i].pos, __ATOMIC_ACQUIRE);
		if (q > p)
			return shmkit__chan_corrupt(ch, "subscriber position");
		if (q < min)
			min = q;
	}
	ch->cached_min = min;
	return p - min < ch->lay.slots;
}

static int
bcast_try_reserve(struct shmkit_chan *ch)
{
	uint64_t p = ch->pos;

	ch->res_pos = p;
	if (ch->lay.policy != SHMKIT_CHAN_FULL_OVERWRITE)
		return bcast_room(ch);
	/* Acq_rel: release is not needed, acquire keeps the caller's
	 * message writes after the odd stamp (pairs with the subscribers'
	 * read-modify-write of the stamp after their reads, in
	 * bcast_release()). */
	__atomic_exchange_n(&shmkit__chan_slot(ch, p)->seq, 2 * p + 1,
			    __ATOMIC_ACQ_REL);
	return 1;
}

static int
bcast_commit(struct shmkit_chan *ch, size_t len)
{
	struct shmkit__chan_slot *sl = shmkit__chan_slot(ch, ch->res_pos);

	/* Relaxed: subscribers of an overwriting channel may read it while
	 * we write; the stamp below publishes it. */
	__atomic_store_n(&sl->len, (uint32_t)len, __ATOMIC_RELAXED);
	/* Release: publishes the message; pairs with the acquire load of the
	 * stamp in bcast_try_peek(). */
	__atomic_store_n(&sl->seq, 2 * ch->res_pos + 2, __ATOMIC_RELEASE);
	ch->pos = ch->res_pos + 1;
	/* Release: the publishing store of the wake protocol (subscribers
	 * re-check the tail) and of the registration pairing. */
	__atomic_store_n(&ch->shm->tail.pos, ch->pos, __ATOMIC_RELEASE);
	shmkit__chan_count(&ch->me->messages, 1);
	shmkit__chan_wake(ch, 0);
	return 0;
}

static void
bcast_cancel(struct shmkit_chan *ch)
{
	(void)ch; /* the tail never moved; the slot is rewritten next */
}

/* Move our position to p, publishing it to the publisher. */
static void
set_pos(struct shmkit_chan *ch, uint64_t p)
{
	ch->pos = p;
	/* Release: orders our reads of the messages before it (pairs with
	 * the publisher's acquire scan in bcast_room()); the publishing
	 * store of the wake protocol. */
	__atomic_store_n(&ch->me->pos, p, __ATOMIC_RELEASE);
}

/* Bounded re-reads after a race with the publisher or a loss. */
#define PEEK_TRIES 16

static int
bcast_try_peek(struct shmkit_chan *ch)
{
	struct shmkit__chan_slot *sl;
	uint64_t p, s, t, q, len, newp, n = ch->lay.slots;
	int i;

	for (i = 0; i < PEEK_TRIES; i++) {
		p = ch->pos;
		sl = shmkit__chan_slot(ch, p);
		/* Acquire: pairs with the release store of the stamp in
		 * bcast_commit(). */
		s = __atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE);
		if (s == 2 * p + 2) {
			/* Relaxed: published by the stamp. */
			len = __atomic_load_n(&sl->len, __ATOMIC_RELAXED);
			if (len > ch->lay.msg_max)
				return shmkit__chan_corrupt(ch, "bcast length");
			ch->peek_pos = p;
			ch->peek_len = (size_t)len;
			return 1;
		}
		/* Nothing new: the slot still holds an older lap, or is
		 * being written. Stamps grow per slot, so that is all the
		 * stamp can say: the tail, which the publisher stores per
		 * message, is left alone, or a subscriber waiting right
		 * behind the publisher would pull its line across on every
		 * poll. The stamp is also what the wake protocol's re-check
		 * reads (it is stored before the tail). */
		q = stamp_pos(s);
		if (s == 0 || ((q & ch->mask) == (p & ch->mask) && q <= p))
			return 0;
		/* Acquire: pairs with the release store of the tail in
		 * bcast_commit(). */
		t = __atomic_load_n(&ch->shm->tail.pos, __ATOMIC_ACQUIRE);
		/* The tail may lag our position by one: the publisher
		 * stores it after the stamp we read the last message by. */
		if (t + 1 < p)
			return shmkit__chan_corrupt(ch, "bcast tail behind");
		if (t <= p)
			return 0; /* a stamp ahead of the tail: wait for it */
		if ((q & ch->mask) != (p & ch->mask) || q > t)
			return shmkit__chan_corrupt(ch, "bcast stamp");
		/* Overwritten: go to the oldest position still held. If
		 * the publisher is rewriting it already, the next round
		 * finds it overwritten too and moves on by at least one. */
		newp = t >= n ? t - n : 0;
		if (newp <= p)
			newp = p + 1;
		ch->lost += newp - p;
		shmkit__chan_count(&ch->me->lost, newp - p);
		set_pos(ch, newp);
	}
	return 0;
}

static int
bcast_release(struct shmkit_chan *ch)
{
	uint64_t p = ch->peek_pos, s;
	int stale = 0;

	if (ch->lay.policy == SHMKIT_CHAN_FULL_OVERWRITE) {
		/* Acq_rel: its release half keeps the caller's reads of the
		 * message before this re-read of the stamp (a plain acquire
		 * load would not; no fence, which ThreadSanitizer rejects).
		 * Adding 0 changes nothing the publisher could lose. */
		s = __atomic_fetch_add(&shmkit__chan_slot(ch, p)->seq, 0,
				       __ATOMIC_ACQ_REL);
		stale = s != 2 * p + 2;
	}
	set_pos(ch, p + 1);
	shmkit__chan_count(stale ? &ch->me->lost : &ch->me->messages, 1);
	if (ch->lay.policy != SHMKIT_CHAN_FULL_OVERWRITE)
		shmkit__chan_wake(ch, 1);
	return stale ? -ESTALE : 0;
}

static void
bcast_unpeek(struct shmkit_chan *ch, int closing)
{
	(void)ch; /* our position never moved */
	(void)closing;
}

static int
bcast_stuck(struct shmkit_chan *ch, int room)
{
	uint64_t w, q;
	unsigned i;

	if (!room)
		return 0; /* a dead publisher is replaced on open */
	for (i = 1; i < ch->lay.peers_max; i++) {
		/* Acquire: as the scan in bcast_room(). */
		w = __atomic_load_n(&ch->peers[i].word, __ATOMIC_ACQUIRE);
		if (PEER_STATE(w) == PEER_FREE)
			continue;
		q = __atomic_load_n(&ch->peers[i].pos, __ATOMIC_ACQUIRE);
		if (PEER_STATE(w) != PEER_ACTIVE ||
		    ch->pos - q >= ch->lay.slots)
			shmkit__chan_reap(ch, i);
	}
	return 0;
}

static void
bcast_recover(struct shmkit_chan *ch, unsigned idx)
{
	(void)ch; /* subscribers and the publisher hold no slot */
	(void)idx;
}

const struct shmkit__chan_ops shmkit__chan_bcast_ops = {
	.open = bcast_open,
	.try_reserve = bcast_try_reserve,
	.commit = bcast_commit,
	.flush = NULL, /* every commit publishes */
	.cancel = bcast_cancel,
	.try_peek = bcast_try_peek,
	.release = bcast_release,
	.unpeek = bcast_unpeek,
	.stuck = bcast_stuck,
	.recover = bcast_recover,
};
