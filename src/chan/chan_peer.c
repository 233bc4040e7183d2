/*
 * The peer table of a channel: one 64-byte entry per attached handle,
 * holding its role, pid and process start time, so that a dead peer is
 * told from a live one even after its pid is reused.
 *
 * An entry's word packs a state and the pid of the process that set it:
 * FREE -> CLAIMING(pid) -> ACTIVE(pid) when a handle registers, and
 * ACTIVE -> REAPING(reaper) -> FREE when a live peer finds the owner dead
 * and recovers what it held (the pattern's recover op). Every transition
 * is a CAS, so two reapers cannot both win an entry; a claimer or a
 * reaper that dies in the middle is itself found dead by its pid and the
 * start time tagged in the word with it (so a process that reuses the
 * pid does not keep the entry: an SPSC role would stay -EBUSY until that
 * unrelated process exits), and the entry taken over (recovery is
 * idempotent: each slot fix is a CAS). The
 * entry is FREE again only after recovery, so a slot's owner index never
 * names a newcomer while the dead owner's slots are still being fixed.
 *
 * SPSC channels use entry 0 for the producer and 1 for the consumer, and
 * broadcast channels entry 0 for the publisher: the CAS on a fixed entry
 * is what makes "one producer" (or one publisher) race-free.
 */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "chan/chan_impl.h"
#include "obj/obj_impl.h"

/* Does a process with this pid exist at all? */
static int
pid_exists(int pid)
{
	if (pid <= 0)
		return 0;
	return !(kill(pid, 0) < 0 && errno == ESRCH);
}

/*
 * Is the claimer or reaper named by w alive: its pid, and the start time
 * tagged with it when the tag is known? A tag that cannot be checked (no
 * tag, /proc/PID/stat unreadable) leaves the pid alone to decide. Any
 * value a peer scribbled there only changes the answer: one read of /proc
 * whatever it holds.
 */
int
shmkit__chan_holder_alive(uint64_t w)
{
	uint32_t tag = PEER_WORD_TAG(w);
	uint64_t now;
	int pid = PEER_PID(w);

	if (pid <= 0)
		return 0;
	if (tag & PEER_TAG_KNOWN) {
		now = shmkit__proc_start_time(pid);
		if (now != 0)
			return PEER_TAG(now) == tag;
	}
	return pid_exists(pid);
}

/* 1 if the entry with word w is held by a dead process. */
static int
entry_dead(const struct shmkit_chan *ch, unsigned idx, uint64_t w)
{
	struct shmkit__chan_peer *p = &ch->peers[idx];
	uint64_t start;
	int pid;

	switch (PEER_STATE(w)) {
	case PEER_ACTIVE:
		/* Relaxed: written before the release store of ACTIVE that
		 * the caller's acquire load of w read. */
		pid = __atomic_load_n(&p->pid, __ATOMIC_RELAXED);
		start = __atomic_load_n(&p->start, __ATOMIC_RELAXED);
		if (pid <= 0)
			return 1;
		return shmkit__proc_alive(pid, start) == 0;
	case PEER_CLAIMING:
	case PEER_REAPING:
		return !shmkit__chan_holder_alive(w);
	default:
		return 0;
	}
}

int
shmkit__chan_reap(struct shmkit_chan *ch, unsigned idx)
{
	struct shmkit__chan_peer *p;
	uint64_t w, mine, start;

	if (idx >= ch->lay.peers_max)
		return 0;
	p = &ch->peers[idx];
	/* Acquire: pairs with the release store of ACTIVE in claim(), so
	 * pid and start are the registered ones. */
	w = __atomic_load_n(&p->word, __ATOMIC_ACQUIRE);
	if (PEER_STATE(w) == PEER_FREE ||
	    (PEER_STATE(w) == PEER_REAPING && PEER_PID(w) == ch->pid &&
	     shmkit__chan_holder_alive(w)))
		return 0; /* free, or this process is reaping it already */
	if (PEER_STATE(w) > PEER_REAPING) {
		/* Garbage state: nobody can own it; take it back. */
		shmkit__chan_corrupt(ch, "peer state");
		return 0;
	}
	if (!entry_dead(ch, idx, w))
		return 0;
	start = shmkit__proc_start_time(ch->pid);
	mine = PEER_WORD_TAGGED(ch->pid, PEER_REAPING, start);
	/* Acq_rel: winning the entry acquires what the dead owner and any
	 * earlier reaper did; the recovery below happens after it. */
	if (!__atomic_compare_exchange_n(&p->word, &w, mine, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return 0;
	SHMKIT_DEBUG("chan", "reaping peer %u (pid %d)", idx,
		     (int)__atomic_load_n(&p->pid, __ATOMIC_RELAXED));
	ch->ops->recover(ch, idx);
	/* Seq_cst: release makes the recovery visible before the entry can
	 * be claimed again (pairs with the acquire CAS in claim()); seq_cst
	 * orders it before the wake below (chan_wait.c). */
	__atomic_compare_exchange_n(&p->word, &mine, PEER_WORD(0, PEER_FREE), 0,
				    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
	/* A waiting publisher or producer may now have room. */
	shmkit__chan_wake(ch, 1);
	return 1;
}

int
shmkit__chan_reap_all(struct shmkit_chan *ch)
{
	unsigned i;
	int n = 0;

	for (i = 0; i < ch->lay.peers_max; i++)
		n += shmkit__chan_reap(ch, i);
	return n;
}

/* Take entry idx if FREE, as this process started at start; 1 on
 * success. */
static int
claim(struct shmkit_chan *ch, unsigned idx, uint64_t start)
{
	struct shmkit__chan_peer *p = &ch->peers[idx];
	uint64_t w = PEER_WORD(0, PEER_FREE), tail;

	/* Acquire: pairs with the release CAS that freed the entry. The
	 * start time goes into the word with the claim itself: a claimer
	 * that dies before the fields below are written is still told from
	 * a process that reuses its pid. */
	if (!__atomic_compare_exchange_n(
		    &p->word, &w,
		    PEER_WORD_TAGGED(ch->pid, PEER_CLAIMING, start), 0,
		    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return 0;
	/* Relaxed: published by the release store of ACTIVE. */
	__atomic_store_n(&p->role, ch->role, __ATOMIC_RELAXED);
	__atomic_store_n(&p->pid, ch->pid, __ATOMIC_RELAXED);
	__atomic_store_n(&p->start, start, __ATOMIC_RELAXED);
	__atomic_store_n(&p->messages, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&p->lost, 0, __ATOMIC_RELAXED);
	/* Acquire: a first guess of where a subscriber starts (pairs with
	 * the publisher's release store of the tail). */
	tail = __atomic_load_n(&ch->shm->tail.pos, __ATOMIC_ACQUIRE);
	__atomic_store_n(&p->pos, tail, __ATOMIC_RELAXED);
	/* Release: publishes the fields above; pairs with the acquire load
	 * of the word by reapers and by the publisher's scan. */
	__atomic_store_n(&p->word, PEER_WORD(ch->pid, PEER_ACTIVE),
			 __ATOMIC_RELEASE);
	if (ch->lay.pattern == SHMKIT_CHAN_BROADCAST &&
	    ch->role == SHMKIT_CHAN_CONSUMER) {
		/* The subscriber's half of the registration pairing
		 * (chan_bcast.c): our entry store before our tail load.
		 * Seq_cst: the fallback pairs through this word's
		 * modification order with the publisher's RMW on it. */
		__atomic_fetch_add(&ch->shm->stats.reg, 1, __ATOMIC_SEQ_CST);
		shmkit__chan_heavy(ch);
		tail = __atomic_load_n(&ch->shm->tail.pos, __ATOMIC_ACQUIRE);
		/* Release: read by the publisher's acquire scan. */
		__atomic_store_n(&p->pos, tail, __ATOMIC_RELEASE);
	}
	ch->idx = idx;
	ch->me = p;
	ch->pos = tail;
	return 1;
}

/* Claim a fixed entry, reaping a dead holder: 0 or -EBUSY. */
static int
claim_fixed(struct shmkit_chan *ch, unsigned idx, uint64_t start)
{
	if (claim(ch, idx, start))
		return 0;
	if (shmkit__chan_reap(ch, idx) && claim(ch, idx, start))
		return 0;
	return -EBUSY;
}

/* Claim any free entry from first on: 0 or -EUSERS. */
static int
claim_any(struct shmkit_chan *ch, unsigned first, uint64_t start)
{
	unsigned i, round;

	for (round = 0; round < 2; round++) {
		for (i = first; i < ch->lay.peers_max; i++)
			if (claim(ch, i, start))
				return 0;
		if (shmkit__chan_reap_all(ch) == 0)
			break;
	}
	return -EUSERS;
}

int
shmkit__chan_register(struct shmkit_chan *ch)
{
	int prod = ch->role == SHMKIT_CHAN_PRODUCER;
	uint64_t start = shmkit__proc_start_time(ch->pid);

	switch (ch->lay.pattern) {
	case SHMKIT_CHAN_SPSC:
		return claim_fixed(ch, prod ? 0 : 1, start);
	case SHMKIT_CHAN_BROADCAST:
		if (prod)
			return claim_fixed(ch, 0, start);
		return claim_any(ch, 1, start);
	default:
		return claim_any(ch, 0, start);
	}
}

void
shmkit__chan_unregister(struct shmkit_chan *ch)
{
	uint64_t w = PEER_WORD(ch->pid, PEER_ACTIVE);

	/* Seq_cst: release makes whatever this peer gave back visible
	 * before its entry can be claimed again (pairs with the acquire CAS
	 * in claim()); seq_cst orders it before the wake below, against a
	 * publisher's seq_cst scan of the table (chan_wait.c). */
	__atomic_compare_exchange_n(&ch->me->word, &w, PEER_WORD(0, PEER_FREE),
				    0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
	/* A publisher held back by this subscriber may go on. */
	shmkit__chan_wake(ch, 1);
}
