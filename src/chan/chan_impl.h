/*
 * Internal side of the channel module (<shmkit/chan.h>): the layout of a
 * channel in its segment, the process-local handle, and the interfaces
 * between the files of src/chan/:
 *   chan.c        sizes, create/format, open/close, inspect, info
 *   chan_io.c     the public reserve/commit/peek/release calls, which
 *                 check their arguments and dispatch to a pattern
 *   chan_peer.c   the peer table: registering, liveness, reaping
 *   chan_queue.c  SPSC and MPMC rings
 *   chan_bcast.c  broadcast
 *   chan_wait.c   spinning, sleeping, waking, the pollable descriptor
 *   chan_copy_*.c copying a message into a slot (streaming or plain)
 *
 * Segment layout (offsets from the start of the segment; every shared
 * word a peer writes in the hot path has a cache line of its own):
 *      0  shmkit_obj_hdr_t (kind SHMKIT_OBJ_CHAN, version CHAN_VERSION)
 *     64  control block: the creation options and the layout they give,
 *         with a hash of it all; immutable after format
 *    128  tail: producer position (broadcast: publish position)
 *    192  head: consumer position (SPSC/MPMC)
 *    256  data wake word (consumers sleep on it)
 *    320  room wake word (producers sleep on it)
 *    384  statistics: committed, released, redeliver, skipped; the
 *         registration word of broadcast subscribers
 *    448  reserved line
 *    512  peer table: peers_max entries of 64 bytes
 *      .  slot array: slots entries of `stride` bytes (a multiple of 64):
 *         a 16-byte slot header then msg_max bytes of payload, so the
 *         word a consumer polls shares a cache line with the first 48
 *         bytes of the message.
 *
 * The handle copies the layout out of the control block once, at open,
 * after validating it; later calls use only those copies, so a peer that
 * scribbles on the control block cannot steer an index out of range.
 */
#ifndef SHMKIT_CHAN_IMPL_H
#define SHMKIT_CHAN_IMPL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <shmkit/chan.h>
#include <shmkit/obj.h>

#include "common/internal.h"
#include "obj/obj_impl.h"

/* 2: an SPSC batch is published by the sequence of its first message
 * and the tail (chan_queue.c), which a consumer of version 1 would wait
 * for in vain. */
#define CHAN_VERSION	   SHMKIT__OBJ_CHAN_VERSION
#define CHAN_LINE	   64u
#define CHAN_SLOT_HDR	   16u
#define CHAN_PEERS_OFF	   512u
#define CHAN_DEFAULT_MSG   4096u
#define CHAN_DEFAULT_SLOTS 64u
#define CHAN_DEFAULT_PEERS 64u
/* Most messages committed with SHMKIT_CHAN_MORE left unpublished (and
 * never more than half the slots, so the consumer always has work while
 * the producer fills the other half). chan_bench (d) shows what batches
 * of this size give over publishing every message. */
#define CHAN_BATCH_MAX 32u

/* The control block: creation options and the layout derived from them.
 * Written once by format, before the header turns READY. */
struct shmkit__chan_ctl {
	uint32_t pattern;
	uint32_t policy;
	uint64_t msg_max;
	uint64_t slots;
	uint64_t stride;
	uint32_t peers_max;
	uint32_t check; /* hash of the other fields (shmkit__chan_ctl_check) */
	uint64_t peers_off;
	uint64_t slots_off;
	uint64_t size; /* bytes of the whole channel */
};

/* A word on a cache line of its own. */
struct shmkit__chan_pos {
	uint64_t pos;
	uint8_t pad[CHAN_LINE - 8];
};

/* A futex word: a generation count in the bits above WAKE_ASLEEP, which
 * a waiter sets before it sleeps and the waker that bumps the generation
 * clears (chan_wait.c); and the flag that makes wakers use the fallback
 * barrier. */
struct shmkit__chan_wake {
	uint32_t word;
	uint32_t nomb;
	uint8_t pad[CHAN_LINE - 8];
};

#define WAKE_ASLEEP 1u

struct shmkit__chan_stats {
	uint64_t committed; /* MPMC: messages committed */
	uint64_t released;  /* MPMC: messages released */
	uint64_t redeliver; /* MPMC: READY slots left behind head by reaping */
	uint64_t skipped;   /* MPMC: positions of dead writers skipped */
	uint32_t reg;	    /* broadcast: subscriber registration pairing */
	uint8_t pad[CHAN_LINE - 36];
};

struct shmkit__chan_shm {
	shmkit_obj_hdr_t hdr;
	struct shmkit__chan_ctl ctl;
	struct shmkit__chan_pos tail;
	struct shmkit__chan_pos head;
	struct shmkit__chan_wake data;
	struct shmkit__chan_wake room;
	struct shmkit__chan_stats stats;
	uint8_t reserved[CHAN_LINE];
};

/* Peer states, in the low byte of shmkit__chan_peer.word; the pid of the
 * process that set the state is in the 32 bits above, and for CLAIMING
 * and REAPING a tag of its start time in the top 24 (PEER_TAG), so that
 * a claimer or reaper that died is told from a process that reuses its
 * pid before the entry's pid and start fields are written. */
#define PEER_FREE	   0u
#define PEER_CLAIMING	   1u /* being registered by word's pid */
#define PEER_ACTIVE	   2u /* registered; pid and start identify it */
#define PEER_REAPING	   3u /* word's pid is recovering a dead peer's work */
#define PEER_WORD(pid, st) (((uint64_t)(uint32_t)(pid) << 8) | (st))
#define PEER_STATE(w)	   ((unsigned)((w)&0xffu))
#define PEER_PID(w)	   ((int)(uint32_t)((w) >> 8))
/* The tag: a "known" bit and the low 23 bits of the start time (clock
 * ticks: a pid reused after a multiple of about 23 hours at 100 Hz is the
 * only collision); 0 when the start time could not be read. */
#define PEER_TAG_KNOWN	   0x800000u
#define PEER_TAG(start)                                                     \
	((start) ? (PEER_TAG_KNOWN | (uint32_t)((start)&0x7fffffu)) : 0u)
#define PEER_WORD_TAGGED(pid, st, start)                                    \
	(PEER_WORD(pid, st) | ((uint64_t)PEER_TAG(start) << 40))
#define PEER_WORD_TAG(w)   ((uint32_t)((w) >> 40))

struct shmkit__chan_peer {
	uint64_t word;	   /* PEER_WORD(pid, state) */
	uint32_t role;	   /* SHMKIT_CHAN_PRODUCER or _CONSUMER */
	int32_t pid;	   /* the registered process */
	uint64_t start;	   /* its start time (shmkit__proc_start_time) */
	uint64_t pos;	   /* broadcast subscriber: next position to read */
	uint64_t messages; /* committed or released by this peer */
	uint64_t lost;	   /* broadcast subscriber: messages lost */
	uint64_t reserved[2];
};

struct shmkit__chan_slot {
	uint64_t seq; /* SPSC sequence, MPMC state, broadcast stamp */
	uint32_t len;
	uint32_t flags; /* SPSC: CHAN_SLOT_BATCH */
};

/* SPSC: messages after this one were published with it, by the tail
 * (chan_queue.c, "Batches"). */
#define CHAN_SLOT_BATCH 1u

/*
 * MPMC slot state: lap position (48 bits, compared modulo 2^48), phase,
 * and the peer that holds the slot while WRITING or READING.
 */
#define MPMC_FREE	0u
#define MPMC_WRITING	1u
#define MPMC_READY	2u
#define MPMC_READING	3u
#define MPMC_SEQ_BITS	48
#define MPMC_SEQ_MASK	((UINT64_C(1) << MPMC_SEQ_BITS) - 1)
#define MPMC_OWNER_MASK 0x3fffu
#define MPMC_STATE(seq, phase, owner)                                          \
	((((uint64_t)(seq)&MPMC_SEQ_MASK) << 16) | ((uint64_t)(phase) << 14) | \
	 ((uint64_t)(owner)&MPMC_OWNER_MASK))
#define MPMC_SEQ(s)   ((s) >> 16)
#define MPMC_PHASE(s) ((unsigned)(((s) >> 14) & 3u))
#define MPMC_OWNER(s) ((unsigned)((s)&MPMC_OWNER_MASK))

/* Signed distance a - b between two 48-bit positions. */
static inline int64_t
shmkit__mpmc_diff(uint64_t a, uint64_t b)
{
	uint64_t d = (a - b) & MPMC_SEQ_MASK;

	return (int64_t)(d << 16) >> 16;
}

/* The layout a set of (normalised) options gives. */
struct shmkit__chan_layout {
	unsigned pattern;
	unsigned policy;
	uint64_t msg_max;
	uint64_t slots;
	uint64_t stride;
	unsigned peers_max;
	uint64_t peers_off;
	uint64_t slots_off;
	uint64_t size;
};

struct shmkit__chan_ops;

/* The process-local handle. */
struct shmkit_chan {
	shmkit_seg_t *seg; /* our own segment handle and mapping */
	struct shmkit__chan_shm *shm;
	struct shmkit__chan_peer *peers;
	unsigned char *slots;
	const struct shmkit__chan_ops *ops;
	struct shmkit__chan_layout lay; /* validated copy, never re-read */
	uint64_t mask;			/* lay.slots - 1 */
	unsigned role;			/* SHMKIT_CHAN_PRODUCER/_CONSUMER */
	unsigned wait;			/* SHMKIT_CHAN_WAIT_* */
	unsigned idx;			/* our peer table entry */
	int pid;
	struct shmkit__chan_peer *me;

	uint64_t pos;	      /* SPSC/broadcast: our next position */
	uint64_t cached_min;  /* broadcast publisher: slowest subscriber */
	uint64_t cached_tail; /* SPSC consumer: the tail it last read */
	int read_tail;	      /* SPSC consumer: ... and should read again */
	uint64_t lost;	      /* broadcast: lost, not yet reported */
	uint64_t last_stuck;  /* mono ns of the last dead-peer check */
	uint64_t scan_at;     /* MPMC: where the next forced scan starts */

	int reserved; /* a reservation is held */
	int res_more; /* ... with SHMKIT_CHAN_MORE */
	uint64_t res_pos;
	size_t res_len;
	uint64_t pub_pos; /* SPSC producer: first position not published */
	uint64_t batch;	  /* SPSC producer: most unpublished messages */
	int peeked; /* a message is peeked */
	int held;   /* MPMC: a claimed message kept after -EMSGSIZE */
	uint64_t peek_pos;
	size_t peek_len;

	struct shmkit__chan_fd *fd; /* shmkit_chan_fd() helper, or NULL */
};

/*
 * What differs between patterns. "try" functions make one bounded
 * attempt: 1 done, 0 not yet (the caller may wait), < 0 an error.
 */
struct shmkit__chan_ops {
	/* Fix up positions a dead predecessor left half-advanced. */
	int (*open)(struct shmkit_chan *ch);
	/* Reserve: on 1, ch->res_pos is set. */
	int (*try_reserve)(struct shmkit_chan *ch);
	int (*commit)(struct shmkit_chan *ch, size_t len);
	/* Publish what commits of SHMKIT_CHAN_MORE left unpublished. */
	void (*flush)(struct shmkit_chan *ch);
	/* Drop the held reservation (close). */
	void (*cancel)(struct shmkit_chan *ch);
	/* Peek: on 1, ch->peek_pos and ch->peek_len are set. */
	int (*try_peek)(struct shmkit_chan *ch);
	int (*release)(struct shmkit_chan *ch);
	/* Give back the peeked message unconsumed (close, -EMSGSIZE). */
	void (*unpeek)(struct shmkit_chan *ch, int closing);
	/* Look for a dead peer holding up a waiter: 0 or an error. */
	int (*stuck)(struct shmkit_chan *ch, int room);
	/* Recover the slots a dead peer idx held (reaping). */
	void (*recover)(struct shmkit_chan *ch, unsigned idx);
};

extern const struct shmkit__chan_ops shmkit__chan_spsc_ops;
extern const struct shmkit__chan_ops shmkit__chan_mpmc_ops;
extern const struct shmkit__chan_ops shmkit__chan_bcast_ops;

static inline struct shmkit__chan_slot *
shmkit__chan_slot(const struct shmkit_chan *ch, uint64_t pos)
{
	return (struct shmkit__chan_slot *)(void *)(ch->slots +
						    (pos & ch->mask) *
							    ch->lay.stride);
}

/*
 * While a consumer polls an empty slot: ask for the slot's second cache
 * line too, where a message longer than 48 bytes goes on. A prefetch that
 * lands after the producer wrote that line brings it with the sequence
 * word rather than one transfer after it; one that lands before costs the
 * producer an invalidation it would pay for our read anyway. chan_bench
 * (a), the binaries with and without it in turn: 64-byte round trips
 * 1.91x -> 1.52x the floor while this VM ran slow, no change while it ran
 * fast. Only when that line is the slot's own (stride above one line):
 * otherwise it is the next slot's first line, which holds nothing for us
 * until the producer has written it.
 */
static inline void
shmkit__chan_poll_second_line(const struct shmkit_chan *ch,
			      const struct shmkit__chan_slot *sl)
{
	if (ch->lay.stride > CHAN_LINE)
		__builtin_prefetch((const unsigned char *)sl + CHAN_LINE, 0, 3);
}

static inline unsigned char *
shmkit__chan_payload(const struct shmkit_chan *ch, uint64_t pos)
{
	return (unsigned char *)shmkit__chan_slot(ch, pos) + CHAN_SLOT_HDR;
}

/*
 * SPSC: is the slot of position pos, whose sequence is s, free for it
 * (last lap's message released, or never used)? See chan_queue.c. Or,
 * for a consumer, holding a message the tail alone published: it says
 * "empty", and spsc_try_peek() then reads the tail if it should.
 */
static inline int
shmkit__spsc_free(uint64_t s, uint64_t pos, uint64_t n)
{
	return s == pos || (s == 0 && pos < n);
}

/*
 * SPSC producer: claim the slot of ch->pos if it is free (1), else 0,
 * with the sequence seen in *s (full, or one no producer wrote:
 * spsc_try_reserve() tells). Inline in shmkit_chan_reserve(), whose fast
 * path it is.
 */
static inline int
shmkit__spsc_claim(struct shmkit_chan *ch, uint64_t *s)
{
	uint64_t pos = ch->pos;

	/* Acquire: pairs with the consumer's release store in
	 * spsc_release() (its reads of the last lap's message are done);
	 * also the re-check of the wake protocol (chan_wait.c). The slot
	 * we are about to write: its line comes to us anyway. */
	*s = __atomic_load_n(&shmkit__chan_slot(ch, pos)->seq,
			     __ATOMIC_ACQUIRE);
	if (!shmkit__spsc_free(*s, pos, ch->lay.slots))
		return 0;
	ch->res_pos = pos;
	return 1;
}

/* SPSC producer: the reserved message is len bytes long and committed;
 * published later, by spsc_publish(). */
static inline void
shmkit__spsc_stage(struct shmkit_chan *ch, size_t len)
{
	/* Relaxed: published by the release of the sequence in
	 * spsc_publish(). */
	__atomic_store_n(&shmkit__chan_slot(ch, ch->res_pos)->len,
			 (uint32_t)len, __ATOMIC_RELAXED);
	ch->pos = ch->res_pos + 1;
}

/*
 * SPSC producer: commit the reserved message of len bytes without
 * publishing it, if it was reserved with SHMKIT_CHAN_MORE and the batch
 * has room (1); else 0, and the caller goes through spsc_commit(), which
 * publishes. Inline in shmkit_chan_commit(), whose fast path it is.
 */
static inline int
shmkit__spsc_hold(struct shmkit_chan *ch, size_t len)
{
	if (!ch->res_more || ch->res_pos + 1 - ch->pub_pos >= ch->batch)
		return 0;
	shmkit__spsc_stage(ch, len);
	return 1;
}

/*
 * SPSC consumer: take the message at ch->pos if it is published and its
 * length in bounds (1: ch->peek_* set); else 0, with the sequence seen
 * in *s, pos + 1 if the message is published (so the length is out of
 * bounds; spsc_try_peek() tells empty from corrupt). Published means
 * below the tail last read (the messages of a batch after its first),
 * or its sequence says committed. Inline in shmkit_chan_peek(), whose
 * fast path it is.
 */
static inline int
shmkit__spsc_take(struct shmkit_chan *ch, uint64_t *s)
{
	uint64_t pos = ch->pos, len;
	struct shmkit__chan_slot *sl = shmkit__chan_slot(ch, pos);

	if (pos < ch->cached_tail) {
		/* Published by the tail, read with acquire in
		 * spsc_try_peek(). */
		*s = pos + 1;
	} else {
		/* Acquire: pairs with the release of the sequence in
		 * spsc_publish(); also the re-check of the wake protocol.
		 * This word shares its cache line with the start of the
		 * message: one line moves per small message. */
		*s = __atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE);
		if (*s != pos + 1)
			return 0;
		/* Relaxed: published by the sequence. Only tells where to
		 * look next; either way is safe. */
		if (__atomic_load_n(&sl->flags, __ATOMIC_RELAXED) &
		    CHAN_SLOT_BATCH)
			ch->read_tail = 1;
	}
	/* Relaxed: published by the sequence or the tail; read once. */
	len = __atomic_load_n(&sl->len, __ATOMIC_RELAXED);
	if (len > ch->lay.msg_max)
		return 0;
	ch->peek_pos = pos;
	ch->peek_len = (size_t)len;
	return 1;
}

/* Add n to a counter in shared memory that only its owner writes.
 * Relaxed: statistics for inspect; no locked instruction. */
static inline void
shmkit__chan_count(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

/* chan.c: the hash stored in the control block's check field, so that a
 * scribble that keeps the layout self-consistent is still caught. */
uint32_t shmkit__chan_ctl_check(const struct shmkit__chan_layout *lay);

/* chan.c: the layout of options (-EINVAL if invalid). */
int shmkit__chan_layout(struct shmkit__chan_layout *lay,
			const shmkit_chan_opts_t *opts);

/* Mark the channel BROKEN and return SHMKIT_ECORRUPT. */
int shmkit__chan_corrupt(struct shmkit_chan *ch, const char *why);

/* chan.c: shmkit__chan_check() for a state st other than READY. */
int shmkit__chan_check_state(struct shmkit_chan *ch, uint32_t st);

/* 0 while the header says READY, else SHMKIT_ECORRUPT. Inline, like the
 * other fast paths below: every data-path call makes it, and for a small
 * message out-of-line calls cost more than its cache lines (measured:
 * about 40% of a send and receive in one process). */
static inline int
shmkit__chan_check(struct shmkit_chan *ch)
{
	/* Relaxed: only its value matters; anything but READY is final
	 * for an open channel. */
	uint32_t st = __atomic_load_n(&ch->shm->hdr.state, __ATOMIC_RELAXED);

	if (__builtin_expect(st == SHMKIT_OBJ_STATE_READY, 1))
		return 0;
	return shmkit__chan_check_state(ch, st);
}

/* chan_peer.c */
int shmkit__chan_register(struct shmkit_chan *ch);
void shmkit__chan_unregister(struct shmkit_chan *ch);
/* Reap entry idx if its peer is dead: 1 reaped, 0 not. */
int shmkit__chan_reap(struct shmkit_chan *ch, unsigned idx);
/* Reap every dead peer: how many. */
int shmkit__chan_reap_all(struct shmkit_chan *ch);

/* Is the claimer or reaper whose pid (and start-time tag) the peer word w
 * holds alive? 1 or 0; for the short CLAIMING and REAPING states, which
 * record no start time of their own (chan_peer.c). */
int shmkit__chan_holder_alive(uint64_t w);

/* chan_copy_sse2.c or _plain.c: memcpy into a slot, with streaming stores
 * for messages large enough that they pay; ordered before a later
 * commit. */
void shmkit__chan_copy_in(void *dst, const void *src, size_t len);
/* The streaming copy itself, whatever the size (tests drive it directly,
 * as the threshold depends on the machine). */
void shmkit__chan_copy_stream(void *dst, const void *src, size_t len);

/* chan_wait.c */
typedef int (*shmkit__chan_try_fn)(struct shmkit_chan *ch);

#define CHAN_CALL_FLAGS                                                        \
	(SHMKIT_WAIT_ABSTIME | SHMKIT_WAIT_REALTIME | SHMKIT_WAIT_INTR |       \
	 SHMKIT_CHAN_NONBLOCK)

/* Validate per-call flags and timeout: 0 or -EINVAL. (Reserve and send
 * take SHMKIT_CHAN_MORE too, and strip it before this check.) */
static inline int
shmkit__chan_check_wait(const struct timespec *timeout, unsigned flags)
{
	if (flags & ~CHAN_CALL_FLAGS)
		return -EINVAL;
	if (timeout != NULL && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
				timeout->tv_nsec >= 1000000000L))
		return -EINVAL;
	return 0;
}

/* shmkit__chan_wait() once its first try said "not yet". */
int shmkit__chan_wait_slow(struct shmkit_chan *ch, int room,
			   shmkit__chan_try_fn try,
			   const struct timespec *timeout, unsigned flags);

/* Run try until it succeeds, fails, or the wait ends per timeout/flags.
 * room: waiting for room (producer) rather than data (consumer). */
static inline int
shmkit__chan_wait(struct shmkit_chan *ch, int room, shmkit__chan_try_fn try,
		  const struct timespec *timeout, unsigned flags)
{
	int rc = try(ch);

	if (__builtin_expect(rc != 0, 1))
		return rc < 0 ? rc : 0;
	return shmkit__chan_wait_slow(ch, room, try, timeout, flags);
}

/* This process registered for membarrier (chan_wait.c). Relaxed flag. */
extern int shmkit__chan_mb_ok;

/* 1 when a compiler barrier is enough on the light side of the pairing
 * for wake word wk (chan_wait.c). */
static inline int
shmkit__chan_light_is_free(const struct shmkit__chan_wake *wk)
{
	/* Relaxed: flags that only ever go 0 -> 1; see chan_wait.c for
	 * the one late reader. */
	return __atomic_load_n(&shmkit__chan_mb_ok, __ATOMIC_RELAXED) &&
	       !__atomic_load_n(&wk->nomb, __ATOMIC_RELAXED);
}

/* shmkit__chan_wake() once the fast path saw a sleeper, or when the
 * fallback barrier is in use. */
void shmkit__chan_wake_slow(struct shmkit_chan *ch, int room);

/* Wake sleepers of data (room == 0) or room, if any. The caller's
 * publishing store comes first (see chan_wait.c). Inline: per message,
 * with nobody asleep, this is a compiler barrier and one load. */
static inline void
shmkit__chan_wake(struct shmkit_chan *ch, int room)
{
	struct shmkit__chan_wake *wk = room ? &ch->shm->room : &ch->shm->data;

	if (__builtin_expect(shmkit__chan_light_is_free(wk), 1)) {
		/* Pairs with membarrier() in the waiter's announce()
		 * (chan_wait.c): the waker's half of the pairing. */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		/* Relaxed: ordered by the barrier pairing above. */
		if (!(__atomic_load_n(&wk->word, __ATOMIC_RELAXED) &
		      WAKE_ASLEEP))
			return;
	}
	shmkit__chan_wake_slow(ch, room);
}
void shmkit__chan_fd_close(struct shmkit_chan *ch);
/* Register this process for the heavy barrier (once) and turn on the
 * channel's fallback if that fails. Call before registering a peer. */
void shmkit__chan_sync_init(struct shmkit_chan *ch);
/* The two sides of a store-then-load pairing (chan_wait.c): light after
 * the frequent side's store (sync: the word the fallback RMW uses),
 * heavy after the rare side's RMW on that same word. */
void shmkit__chan_light(struct shmkit_chan *ch, uint32_t *sync);
void shmkit__chan_heavy(struct shmkit_chan *ch);
void shmkit__chan_cpu_relax(void);

#endif /* SHMKIT_CHAN_IMPL_H */
