/*
 * The queue patterns: SPSC and MPMC rings of slots, where each message
 * goes to exactly one consumer.
 *
 * SPSC. Each slot has a sequence word that both sides write, like a turn:
 * seq == pos + 1 means "message pos committed" (the producer's store),
 * seq == pos + slots "message pos released, the slot is free for position
 * pos + slots" (the consumer's store), and 0 a slot never used (or, on
 * the first lap, one whose message only the tail published: "Batches"
 * below). Each side polls the sequence of the slot it is about to use,
 * which lies on the same cache line as the start of the message: per
 * small message that line goes to the consumer and back, and nothing else
 * is shared in the hot path. (Publishing the consumer's progress only in
 * the head, read by the producer when its copy said "full", moved the
 * head's line back and forth on every message once a faster producer had
 * filled the ring.)
 *
 * Each side also persists its next position on a line of its own, after
 * its sequence store: the producer in the tail, the consumer in the head;
 * neither reads the other's in the hot path (but for batches, below). A
 * restarted peer carries on where the dead one stopped; one killed
 * between its two stores is fixed up at open, since the sequences tell:
 * the tail moves past slots that say committed (or committed and
 * released), the head past slots that say released (or released and
 * reused for the next lap). A message is consumed once the consumer's
 * sequence store is done: killed before it, the next consumer gets the
 * message again; after it, never again.
 *
 * Batches (SHMKIT_CHAN_MORE). A commit of a reservation made with the
 * flag stores the length and moves the producer's own position, but not
 * the sequence: the message stays invisible, and the consumer, polling
 * the first unpublished slot, is not pulling lines the producer is still
 * writing. spsc_publish() then stores the sequence of the batch's first
 * message, as a single commit does, flagged CHAN_SLOT_BATCH, and the
 * tail, with one wake check; the other messages of the batch are
 * published by the tail alone. A consumer that took a flagged message
 * reads the tail when the next slot's sequence says "not committed", and
 * takes the messages below it without looking at their sequences. With a
 * sequence store per message, each on a line the consumer has just read
 * or is about to, batches of 64-byte messages went 1.5x slower
 * (chan_bench (d), the library before and after in turn: 22-23 against
 * 34 M msgs/s). Otherwise the consumer leaves the tail's line alone:
 * polled on every wait, it cost the producer of a ping-pong a transfer
 * per message (99th percentile 221-231 ns became 261-280). The producer
 * knows a message published by the tail, while unreleased, by the
 * sequence its slot had before it: spsc_unreleased(). A producer killed
 * between its two stores published the batch's first message only, which
 * spsc_open() finds as it finds a single commit: what was not published
 * is lost, as an uncommitted reservation is. chan_bench (d) measures the
 * gain of batches.
 *
 * MPMC. The slot word packs a 48-bit lap position, a phase (FREE,
 * WRITING, READY, READING) and the peer holding the slot; a producer or
 * consumer claims a slot with a CAS on that word, then helps the shared
 * tail or head past it with a CAS (anyone who sees a claimed slot at the
 * shared position helps). A slot held by a dead peer is recovered by
 * reaping (chan_peer.c): WRITING becomes FREE for the next lap (the
 * half-written message is skipped) and READING becomes READY again
 * behind the head, counted in stats.redeliver; consumers that see that
 * count scan the ring for such slots first. Delivery order across
 * consumers is therefore not promised; from one producer to one consumer
 * it is FIFO unless a message was redelivered.
 *
 * Memory orders. SPSC publishes with release stores and reads with
 * acquire loads: the message written before a commit is visible to the
 * consumer that sees the sequence, and the message read before a release
 * is done before the producer, having seen the sequence, reuses the slot.
 * No locked instruction per message (see chan_wait.c for why that
 * matters and how sleepers are still woken). MPMC claims with seq_cst
 * CASes (acquire and release for the same reasons; a CAS is a locked
 * instruction whatever its order) and loads slot words seq_cst, which
 * costs what acquire does on x86 and arm64.
 */
#include <errno.h>
#include <string.h>

#include "chan/chan_impl.h"

/* ---- SPSC ---- */

/* Sequence s of slot(pos), pos one lap or more ahead: is message
 * pos - n, of the last lap, unreleased? Published by its sequence
 * (pos + 1 - n), or by the tail alone (a batch's message after its
 * first), so that the sequence still says what it said when the slot
 * became free for it: pos - n, or 0 on the first lap. */
static int
spsc_unreleased(uint64_t s, uint64_t pos, uint64_t n)
{
	return s == pos + 1 - n || s == pos - n || (s == 0 && pos < 2 * n);
}

/* Sequence s of slot(pos): is message pos committed (whether or not also
 * released, and the slot perhaps reused for pos + n)? */
static int
spsc_committed(uint64_t s, uint64_t pos, uint64_t n)
{
	return s == pos + 1 || s == pos + n || s == pos + n + 1;
}

/* Is message pos released (the slot perhaps reused for pos + n)? */
static int
spsc_released(uint64_t s, uint64_t pos, uint64_t n)
{
	return s == pos + n || s == pos + n + 1;
}

static int
spsc_open(struct shmkit_chan *ch)
{
	struct shmkit__chan_shm *sh = ch->shm;
	uint64_t n = ch->lay.slots, t, h, i, s;

	/* Acquire: pairs with the release stores of the positions by the
	 * previous holders of the roles. */
	t = __atomic_load_n(&sh->tail.pos, __ATOMIC_ACQUIRE);
	h = __atomic_load_n(&sh->head.pos, __ATOMIC_ACQUIRE);
	/* A producer killed between its sequence and tail stores published
	 * one message more than the tail says (the first of a batch:
	 * spsc_publish()); a consumer killed between
	 * its sequence and head stores released one more than the head
	 * says (and the producer may have reused that slot since, so the
	 * stored positions may be n + 1 apart). Both are read here, whatever
	 * our role, so that the check below sees the true positions; each
	 * loop is bounded, and the slot index masked, whatever the stored
	 * positions hold. The tail first: every message the head may move
	 * past was committed before we read it. */
	for (i = 0; i < n; i++) {
		/* Acquire: pairs with the release stores of the sequence in
		 * spsc_publish() and spsc_release(). */
		s = __atomic_load_n(&shmkit__chan_slot(ch, t)->seq,
				    __ATOMIC_ACQUIRE);
		if (!spsc_committed(s, t, n))
			break;
		t++;
	}
	for (i = 0; i < n; i++) {
		/* Acquire: as above. */
		s = __atomic_load_n(&shmkit__chan_slot(ch, h)->seq,
				    __ATOMIC_ACQUIRE);
		if (!spsc_released(s, h, n))
			break;
		h++;
	}
	if (t - h > n)
		return shmkit__chan_corrupt(ch, "spsc positions");
	if (ch->role == SHMKIT_CHAN_PRODUCER) {
		/* Release: pairs with the acquire load above by the next
		 * producer. */
		__atomic_store_n(&sh->tail.pos, t, __ATOMIC_RELEASE);
		ch->pos = t;
		ch->pub_pos = t;
		ch->batch = n / 2 < CHAN_BATCH_MAX ? n / 2 : CHAN_BATCH_MAX;
	} else {
		/* Release: as the head store in spsc_release(). */
		__atomic_store_n(&sh->head.pos, h, __ATOMIC_RELEASE);
		ch->pos = h;
		/* Our predecessor may have taken the first of a batch whose
		 * rest only the tail publishes. */
		ch->read_tail = 1;
	}
	return 0;
}

/* Publish the messages committed since the last publication. */
static void
spsc_publish(struct shmkit_chan *ch)
{
	uint64_t p = ch->pub_pos, end = ch->pos;

	if (p == end)
		return;
	/* Relaxed: published with the sequence below, so it must come
	 * before it. Then the tail: were it first, a producer killed
	 * between the two would leave a batch that the consumer, polling
	 * the first sequence, never sees (chan.more_tail_after_first_
	 * sequence checks the order with a write-protected page). */
	__atomic_store_n(&shmkit__chan_slot(ch, p)->flags,
			 end - p > 1 ? CHAN_SLOT_BATCH : 0u, __ATOMIC_RELAXED);
	/* Release: publishes message p, its length and flags (and the
	 * messages before it) to the consumer's acquire load in
	 * shmkit__spsc_take() (chan_impl.h). The first of the wake
	 * protocol's publishing stores (chan_wait.c): a sleeping consumer
	 * re-checks it. */
	__atomic_store_n(&shmkit__chan_slot(ch, p)->seq, p + 1,
			 __ATOMIC_RELEASE);
	/* Release: publishes the rest of a batch, and the messages before
	 * them, to the consumer's acquire load in spsc_try_peek() ("Batches"
	 * above); also to a restarted producer's in spsc_open(). The second
	 * publishing store of the wake protocol: both come before the light
	 * barrier in wake(), and a consumer that took p re-checks this one. */
	__atomic_store_n(&ch->shm->tail.pos, end, __ATOMIC_RELEASE);
	shmkit__chan_count(&ch->me->messages, end - ch->pub_pos);
	ch->pub_pos = end;
	shmkit__chan_wake(ch, 0);
}

static int
spsc_try_reserve(struct shmkit_chan *ch)
{
	uint64_t pos = ch->pos, n = ch->lay.slots, s;

	if (shmkit__spsc_claim(ch, &s))
		return 1;
	/* Full: last lap's message is still there. Publish what we hold
	 * back before anyone waits or gives up: the consumer may need it
	 * to make room. */
	if (spsc_unreleased(s, pos, n)) {
		spsc_publish(ch);
		return 0;
	}
	return shmkit__chan_corrupt(ch, "spsc slot sequence (producer)");
}

static int
spsc_commit(struct shmkit_chan *ch, size_t len)
{
	if (shmkit__spsc_hold(ch, len))
		return 0; /* published with the rest of the batch */
	shmkit__spsc_stage(ch, len);
	spsc_publish(ch);
	return 0;
}

static void
spsc_cancel(struct shmkit_chan *ch)
{
	(void)ch; /* nothing was published */
}

static int
spsc_try_peek(struct shmkit_chan *ch)
{
	uint64_t pos = ch->pos, n = ch->lay.slots, s, t;

	if (shmkit__spsc_take(ch, &s))
		return 1;
	if (s == pos + 1)
		return shmkit__chan_corrupt(ch, "spsc length");
	if (ch->read_tail) {
		/* Not published by its sequence; perhaps by the tail, as the
		 * messages of a batch after its first are. Acquire: pairs
		 * with the release store of the tail in spsc_publish(): the
		 * messages before it are written. Also the re-check of the
		 * wake protocol. */
		t = __atomic_load_n(&ch->shm->tail.pos, __ATOMIC_ACQUIRE);
		if (t - pos - 1 < n) { /* pos < t <= pos + n */
			ch->cached_tail = t;
			ch->read_tail = 0;
			if (shmkit__spsc_take(ch, &s))
				return 1;
			return shmkit__chan_corrupt(ch, "spsc length");
		}
		/* Otherwise the tail is ours: the batch is all taken, and
		 * the next message comes with its sequence, so we stop
		 * reading the tail's line. Or one behind: we took the first
		 * message of a batch by its sequence before the producer
		 * stored the tail. Nothing else is a tail a producer wrote. */
		if (t == pos)
			ch->read_tail = 0;
		else if (t != pos - 1)
			return shmkit__chan_corrupt(ch, "spsc tail");
	}
	/* Empty: we released last lap's message from the slot, or it was
	 * never used. */
	if (shmkit__spsc_free(s, pos, n)) {
		shmkit__chan_poll_second_line(ch, shmkit__chan_slot(ch, pos));
		return 0;
	}
	return shmkit__chan_corrupt(ch, "spsc slot sequence");
}

static int
spsc_release(struct shmkit_chan *ch)
{
	uint64_t pos = ch->peek_pos;

	/* Release: orders our reads of the message before the producer's
	 * reuse of the slot (pairs with the acquire load in
	 * shmkit__spsc_claim() and spsc_try_reserve()); the publishing
	 * store of the wake protocol.
	 * From here on the message is consumed. */
	__atomic_store_n(&shmkit__chan_slot(ch, pos)->seq, pos + ch->lay.slots,
			 __ATOMIC_RELEASE);
	ch->pos = pos + 1;
	/* Release: persists our position for a restarted consumer (pairs
	 * with the acquire load in spsc_open()). Our own line: the
	 * producer does not read it in the hot path. */
	__atomic_store_n(&ch->shm->head.pos, ch->pos, __ATOMIC_RELEASE);
	shmkit__chan_count(&ch->me->messages, 1);
	shmkit__chan_wake(ch, 1);
	return 0;
}

static void
spsc_unpeek(struct shmkit_chan *ch, int closing)
{
	(void)ch; /* the position never moved: the message stays */
	(void)closing;
}

static int
spsc_stuck(struct shmkit_chan *ch, int room)
{
	(void)ch; /* a dead SPSC peer holds nothing; its successor resumes */
	(void)room;
	return 0;
}

static void
spsc_recover(struct shmkit_chan *ch, unsigned idx)
{
	(void)ch;
	(void)idx;
}

const struct shmkit__chan_ops shmkit__chan_spsc_ops = {
	.open = spsc_open,
	.try_reserve = spsc_try_reserve,
	.commit = spsc_commit,
	.flush = spsc_publish,
	.cancel = spsc_cancel,
	.try_peek = spsc_try_peek,
	.release = spsc_release,
	.unpeek = spsc_unpeek,
	.stuck = spsc_stuck,
	.recover = spsc_recover,
};

/* ---- MPMC ---- */

/* Bound on the attempts of one try: each failed CAS means another peer
 * made progress, so this only caps a call's share of a busy ring. */
#define MPMC_TRIES(ch) ((ch)->lay.slots * 2 + 64)

/* Validate slot word s seen at index of position pos. */
static int
mpmc_sane(const struct shmkit_chan *ch, uint64_t s, uint64_t pos)
{
	unsigned ph = MPMC_PHASE(s);

	if ((MPMC_SEQ(s) & ch->mask) != (pos & ch->mask))
		return 0;
	if ((ph == MPMC_WRITING || ph == MPMC_READING) &&
	    MPMC_OWNER(s) >= ch->lay.peers_max)
		return 0;
	return 1;
}

static int
mpmc_open(struct shmkit_chan *ch)
{
	(void)ch; /* positions are shared and self-repairing */
	return 0;
}

/* Help the shared position from pos to pos + 1. */
static void
help(uint64_t *shared, uint64_t pos)
{
	/* Seq_cst: positions are hints, the slot words decide; seq_cst
	 * keeps the reasoning simple (a loaded position never runs ahead of
	 * a slot claim that made it). */
	__atomic_compare_exchange_n(shared, &pos, (pos + 1) & MPMC_SEQ_MASK, 0,
				    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

static int
mpmc_try_reserve(struct shmkit_chan *ch)
{
	struct shmkit__chan_shm *sh = ch->shm;
	uint64_t t, s, i, *word;
	int64_t d;

	for (i = 0; i < MPMC_TRIES(ch); i++) {
		/* Seq_cst: see help(). */
		t = __atomic_load_n(&sh->tail.pos, __ATOMIC_SEQ_CST) &
		    MPMC_SEQ_MASK;
		word = &shmkit__chan_slot(ch, t)->seq;
		/* Seq_cst: acquire pairs with the consumer's release CAS in
		 * mpmc_release(); also the wake protocol's re-check. */
		s = __atomic_load_n(word, __ATOMIC_SEQ_CST);
		if (!mpmc_sane(ch, s, t))
			return shmkit__chan_corrupt(ch, "mpmc slot (producer)");
		d = shmkit__mpmc_diff(MPMC_SEQ(s), t);
		if (d == 0 && MPMC_PHASE(s) == MPMC_FREE) {
			/* Seq_cst: acquire as above; the claim is then
			 * helped along the tail. */
			if (__atomic_compare_exchange_n(
				    word, &s,
				    MPMC_STATE(t, MPMC_WRITING, ch->idx), 0,
				    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
				help(&sh->tail.pos, t);
				ch->res_pos = t;
				return 1;
			}
			continue;
		}
		if (d == 0 || (d > 0 && d % (int64_t)ch->lay.slots == 0)) {
			help(&sh->tail.pos, t); /* claimed, or tail behind */
			continue;
		}
		if (d == -(int64_t)ch->lay.slots && MPMC_PHASE(s) != MPMC_FREE)
			return 0; /* full: last lap's message still there */
		return shmkit__chan_corrupt(ch, "mpmc slot lap (producer)");
	}
	return 0;
}

static int
mpmc_commit(struct shmkit_chan *ch, size_t len)
{
	struct shmkit__chan_slot *sl = shmkit__chan_slot(ch, ch->res_pos);
	uint64_t s = MPMC_STATE(ch->res_pos, MPMC_WRITING, ch->idx);

	/* Relaxed: published by the release below. */
	__atomic_store_n(&sl->len, (uint32_t)len, __ATOMIC_RELAXED);
	/* Seq_cst: release publishes the message and length to the
	 * consumer's acquire CAS in mpmc_try_peek(); the publishing store
	 * of the wake protocol. Failure: someone took our slot, which only
	 * a scribble can do. */
	if (!__atomic_compare_exchange_n(&sl->seq, &s,
					 MPMC_STATE(ch->res_pos, MPMC_READY, 0),
					 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return shmkit__chan_corrupt(ch, "mpmc slot taken (commit)");
	/* Relaxed: statistics. */
	__atomic_fetch_add(&ch->shm->stats.committed, 1, __ATOMIC_RELAXED);
	shmkit__chan_count(&ch->me->messages, 1);
	shmkit__chan_wake(ch, 0);
	return 0;
}

/* Skip a WRITING slot of position pos held by owner: the next lap may
 * use it, consumers step over it. */
static void
mpmc_skip(struct shmkit_chan *ch, uint64_t pos, unsigned owner)
{
	uint64_t s = MPMC_STATE(pos, MPMC_WRITING, owner);

	/* Seq_cst: publishing for the wake protocol; release so the next
	 * lap's producer acquires a settled slot. */
	if (__atomic_compare_exchange_n(
		    &shmkit__chan_slot(ch, pos)->seq, &s,
		    MPMC_STATE(pos + ch->lay.slots, MPMC_FREE, 0), 0,
		    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
		/* Relaxed: statistics. */
		__atomic_fetch_add(&ch->shm->stats.skipped, 1,
				   __ATOMIC_RELAXED);
		shmkit__chan_wake(ch, 0);
		shmkit__chan_wake(ch, 1);
	}
}

/* Make a READING slot of position pos held by owner deliverable again. */
static void
mpmc_requeue(struct shmkit_chan *ch, uint64_t pos, unsigned owner)
{
	uint64_t s = MPMC_STATE(pos, MPMC_READING, owner);

	/* Seq_cst: as in mpmc_skip(). */
	if (__atomic_compare_exchange_n(&shmkit__chan_slot(ch, pos)->seq, &s,
					MPMC_STATE(pos, MPMC_READY, 0), 0,
					__ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
		/* Seq_cst: after the slot turned READY, so a consumer that
		 * sees the count finds the slot (mpmc_redelivered()). */
		__atomic_fetch_add(&ch->shm->stats.redeliver, 1,
				   __ATOMIC_SEQ_CST);
		shmkit__chan_wake(ch, 0);
	}
}

static void
mpmc_cancel(struct shmkit_chan *ch)
{
	mpmc_skip(ch, ch->res_pos, ch->idx);
}

/* Slots a waiting consumer looks at per check when no hint says a
 * message was put back (see mpmc_stuck()). */
#define SCAN_WINDOW 1024u

/* Claim a READY slot left behind the head by a dead consumer: 1 if one
 * was claimed (ch->peek_* set), 0 if none, < 0 corrupt. With the hint
 * set, the whole ring is searched; forced without it, the next window. */
static int
mpmc_redelivered(struct shmkit_chan *ch, int force)
{
	struct shmkit__chan_shm *sh = ch->shm;
	uint64_t r, h, i, j, s, q, len, *word;
	uint64_t start = 0, n = ch->lay.slots;
	int64_t behind;

	/* Seq_cst: pairs with the increment in mpmc_requeue(). */
	r = __atomic_load_n(&sh->stats.redeliver, __ATOMIC_SEQ_CST);
	if (r == 0 && !force)
		return 0;
	if (r == 0) {
		/* No hint: look at a window per call, not at a whole big
		 * ring every time a consumer waits. */
		start = ch->scan_at;
		n = ch->lay.slots < SCAN_WINDOW ? ch->lay.slots : SCAN_WINDOW;
		ch->scan_at = (start + n) & ch->mask;
	}
	h = __atomic_load_n(&sh->head.pos, __ATOMIC_SEQ_CST) & MPMC_SEQ_MASK;
	for (j = 0; j < n; j++) {
		i = (start + j) & ch->mask;
		word = &shmkit__chan_slot(ch, i)->seq;
		/* Seq_cst: acquire pairs with the CAS that made it READY. */
		s = __atomic_load_n(word, __ATOMIC_SEQ_CST);
		if (MPMC_PHASE(s) != MPMC_READY || !mpmc_sane(ch, s, i))
			continue;
		q = MPMC_SEQ(s);
		behind = shmkit__mpmc_diff(h, q);
		if (behind < 1 || behind > (int64_t)ch->lay.slots)
			continue;
		/* Seq_cst: acquire, as a normal claim. */
		if (!__atomic_compare_exchange_n(
			    word, &s, MPMC_STATE(q, MPMC_READING, ch->idx), 0,
			    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
			continue;
		/* Relaxed: a hint; never below zero. */
		r = __atomic_load_n(&sh->stats.redeliver, __ATOMIC_RELAXED);
		while (r > 0 && !__atomic_compare_exchange_n(
					&sh->stats.redeliver, &r, r - 1, 0,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
		/* Relaxed: published by the slot word; read once. */
		len = __atomic_load_n(&shmkit__chan_slot(ch, q)->len,
				      __ATOMIC_RELAXED);
		ch->peek_pos = q;
		ch->peek_len = (size_t)len;
		if (len > ch->lay.msg_max)
			return shmkit__chan_corrupt(ch, "mpmc length");
		return 1;
	}
	/* None left: clear the hint unless it moved meanwhile (a requeue
	 * after our load of it made its slot READY before the increment,
	 * so our scan may have missed it only if the count moved). */
	if (r != 0)
		__atomic_compare_exchange_n(&sh->stats.redeliver, &r, 0, 0,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	return 0;
}

static int
mpmc_try_peek(struct shmkit_chan *ch)
{
	struct shmkit__chan_shm *sh = ch->shm;
	uint64_t h, s, i, len, *word;
	int64_t d;
	int rc;

	if (ch->held) {
		ch->held = 0;
		return 1; /* kept from a recv that gave -EMSGSIZE */
	}
	rc = mpmc_redelivered(ch, 0);
	if (rc != 0)
		return rc;
	for (i = 0; i < MPMC_TRIES(ch); i++) {
		/* Seq_cst: see help(). */
		h = __atomic_load_n(&sh->head.pos, __ATOMIC_SEQ_CST) &
		    MPMC_SEQ_MASK;
		word = &shmkit__chan_slot(ch, h)->seq;
		/* Seq_cst: acquire pairs with the release CAS in
		 * mpmc_commit(); also the wake protocol's re-check. */
		s = __atomic_load_n(word, __ATOMIC_SEQ_CST);
		if (!mpmc_sane(ch, s, h))
			return shmkit__chan_corrupt(ch, "mpmc slot (consumer)");
		d = shmkit__mpmc_diff(MPMC_SEQ(s), h);
		if (d == 0 && MPMC_PHASE(s) == MPMC_READY) {
			if (!__atomic_compare_exchange_n(
				    word, &s,
				    MPMC_STATE(h, MPMC_READING, ch->idx), 0,
				    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
				continue;
			help(&sh->head.pos, h);
			/* Relaxed: published by the slot word; read once. */
			len = __atomic_load_n(&shmkit__chan_slot(ch, h)->len,
					      __ATOMIC_RELAXED);
			ch->peek_pos = h;
			ch->peek_len = (size_t)len;
			if (len > ch->lay.msg_max)
				return shmkit__chan_corrupt(ch, "mpmc length");
			return 1;
		}
		if (d == 0 && MPMC_PHASE(s) == MPMC_READING) {
			help(&sh->head.pos, h);
			continue;
		}
		if (d == 0) {
			/* FREE or WRITING: nothing yet. */
			shmkit__chan_poll_second_line(ch,
						      shmkit__chan_slot(ch, h));
			return 0;
		}
		if (d > 0 && d % (int64_t)ch->lay.slots == 0) {
			help(&sh->head.pos, h); /* consumed or skipped */
			continue;
		}
		if (d == -(int64_t)ch->lay.slots &&
		    (MPMC_PHASE(s) == MPMC_READING ||
		     MPMC_PHASE(s) == MPMC_READY))
			return 0; /* last lap's message still held */
		return shmkit__chan_corrupt(ch, "mpmc slot lap (consumer)");
	}
	return 0;
}

static int
mpmc_release(struct shmkit_chan *ch)
{
	uint64_t pos = ch->peek_pos;
	uint64_t s = MPMC_STATE(pos, MPMC_READING, ch->idx);

	/* Seq_cst: release orders our reads of the message before the
	 * producer's reuse (pairs with its acquire load); the publishing
	 * store of the wake protocol. */
	if (!__atomic_compare_exchange_n(
		    &shmkit__chan_slot(ch, pos)->seq, &s,
		    MPMC_STATE(pos + ch->lay.slots, MPMC_FREE, 0), 0,
		    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return shmkit__chan_corrupt(ch, "mpmc slot taken (release)");
	/* Relaxed: statistics. */
	__atomic_fetch_add(&ch->shm->stats.released, 1, __ATOMIC_RELAXED);
	shmkit__chan_count(&ch->me->messages, 1);
	shmkit__chan_wake(ch, 1);
	return 0;
}

static void
mpmc_unpeek(struct shmkit_chan *ch, int closing)
{
	if (closing)
		mpmc_requeue(ch, ch->peek_pos, ch->idx);
	else
		ch->held = 1; /* ours still: the next peek returns it */
}

static int
mpmc_stuck(struct shmkit_chan *ch, int room)
{
	uint64_t *pos = room ? &ch->shm->tail.pos : &ch->shm->head.pos;
	uint64_t p, s;
	unsigned ph;

	/* Seq_cst: as the loads in the try functions. */
	p = __atomic_load_n(pos, __ATOMIC_SEQ_CST) & MPMC_SEQ_MASK;
	s = __atomic_load_n(&shmkit__chan_slot(ch, p)->seq, __ATOMIC_SEQ_CST);
	ph = MPMC_PHASE(s);
	if ((ph == MPMC_WRITING || ph == MPMC_READING) &&
	    MPMC_OWNER(s) < ch->lay.peers_max && MPMC_OWNER(s) != ch->idx)
		shmkit__chan_reap(ch, MPMC_OWNER(s));
	/* A waiting consumer also looks for redelivered messages whatever
	 * the hint says, so a hint lost to a scribble costs a slice, not
	 * the message. The next try claims what this finds. */
	if (!room && mpmc_redelivered(ch, 1) == 1) {
		ch->held = 1;
		return 0;
	}
	return 0;
}

static void
mpmc_recover(struct shmkit_chan *ch, unsigned idx)
{
	uint64_t i, s;

	for (i = 0; i < ch->lay.slots; i++) {
		/* Seq_cst: as the loads in the try functions. */
		s = __atomic_load_n(&shmkit__chan_slot(ch, i)->seq,
				    __ATOMIC_SEQ_CST);
		if (MPMC_OWNER(s) != idx || !mpmc_sane(ch, s, i))
			continue;
		if (MPMC_PHASE(s) == MPMC_WRITING)
			mpmc_skip(ch, MPMC_SEQ(s), idx);
		else if (MPMC_PHASE(s) == MPMC_READING)
			mpmc_requeue(ch, MPMC_SEQ(s), idx);
	}
}

const struct shmkit__chan_ops shmkit__chan_mpmc_ops = {
	.open = mpmc_open,
	.try_reserve = mpmc_try_reserve,
	.commit = mpmc_commit,
	.flush = NULL, /* every commit publishes */
	.cancel = mpmc_cancel,
	.try_peek = mpmc_try_peek,
	.release = mpmc_release,
	.unpeek = mpmc_unpeek,
	.stuck = mpmc_stuck,
	.recover = mpmc_recover,
};
