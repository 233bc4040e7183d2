/*
 * shmkit/chan.h: message channels between processes, in shared memory.
 *
 * A channel is a structured object (<shmkit/obj.h>, kind SHMKIT_OBJ_CHAN)
 * in a segment of any backend: a ring of fixed-size slots, each holding
 * one message of 0..msg_max bytes, plus a table of the peers attached to
 * it. Three patterns, chosen at creation:
 *
 *   SHMKIT_CHAN_SPSC       one producer, one consumer, FIFO; the fastest.
 *   SHMKIT_CHAN_MPMC       any number of producers and consumers; each
 *                          message goes to exactly one consumer.
 *   SHMKIT_CHAN_BROADCAST  one publisher; every message goes to every
 *                          subscriber. Subscribers join (seeing messages
 *                          published from then on) and leave at any time.
 *
 * Zero-copy. A producer reserves a slot, writes the message in place and
 * commits it; a consumer peeks at a message in place and releases it.
 * Nothing is copied by the channel. shmkit_chan_send() and
 * shmkit_chan_recv() are the copying conveniences built on those.
 *
 * Waiting. Every call that may wait takes (timeout, flags) as in
 * <shmkit/wait.h>, plus SHMKIT_CHAN_NONBLOCK, which fails at once with
 * -EAGAIN instead of waiting. How a handle waits is chosen when it is
 * opened: SHMKIT_CHAN_WAIT_ADAPTIVE (default) spins briefly, then sleeps
 * on a futex, so a busy peer costs no system call and an idle channel no
 * CPU; SHMKIT_CHAN_WAIT_BUSY never sleeps (lowest latency, one CPU per
 * waiter); SHMKIT_CHAN_WAIT_BLOCK sleeps at once. Producers wake sleeping
 * consumers (and consumers sleeping producers) only when someone sleeps:
 * no system call otherwise, and one per sleep, not per message.
 * shmkit_chan_fd() gives a descriptor for poll/epoll programs. The check
 * costs a producer no locked instruction per message: a sleeper makes the
 * check safe with membarrier(2), once per sleep (where membarrier is
 * unavailable, every peer of the channel falls back to a locked
 * instruction per message). A BUSY handle never sleeps, so
 * SHMKIT_WAIT_INTR does not interrupt it; its timeouts still
 * hold.
 *
 * Batches. A producer that has several messages to send passes
 * SHMKIT_CHAN_MORE to reserve or send, as MSG_MORE to send(2): the
 * commit may then leave the message unpublished, invisible to consumers,
 * so that the consumer is handed a batch at once instead of each message
 * as it comes (on an SPSC channel; the other patterns publish at once).
 * Unpublished messages are published by the next commit without the
 * flag, by shmkit_chan_flush(), when a batch of them has built up (at
 * most 32, and never more than half the slots), before reserve or send
 * wait for room or fail for want of it, and by shmkit_chan_close(). A
 * producer that dies first loses them, as it would a reservation: a
 * message counts as sent once it is published. This is how the channel
 * reaches its best throughput (chan_bench (d) measures both ways).
 *
 * Full channel, chosen at creation: SHMKIT_CHAN_FULL_BLOCK (default) makes
 * reserve/send wait for room; SHMKIT_CHAN_FULL_FAIL makes them fail with
 * -EAGAIN at once whatever the timeout; SHMKIT_CHAN_FULL_OVERWRITE
 * (broadcast only) lets the publisher overwrite messages a slow
 * subscriber has not read: that subscriber's next peek/recv returns the
 * exact number of messages it lost. An overwritten subscriber resumes at
 * the oldest message still in the channel.
 *
 * Order. SPSC and broadcast deliver in publication order. MPMC: each
 * consumer receives any one producer's messages in order, but there is
 * no order across consumers, and a message delivered again (its consumer
 * died holding it) comes out of order.
 *
 * Dead peers. Every handle is registered in the channel's peer table
 * with its pid and process start time, so a dead peer is told from a
 * live one even when its pid is reused. Nobody ever cleans up by hand:
 *  - a message half-written by a producer that died is skipped;
 *  - a message a consumer peeked and did not release before dying is
 *    delivered again (to the restarted consumer, or to another consumer
 *    of an MPMC channel): delivery is at least once for messages held by
 *    a consumer that died, exactly once otherwise;
 *  - a restarted SPSC producer or consumer takes over the dead one's
 *    place and position; a dead subscriber no longer holds back a
 *    blocking broadcast;
 *  - dead peers are reaped whenever a live peer needs their place or is
 *    held up by them, when any handle is opened, and on
 *    shmkit_chan_recover().
 *
 * Never trusting the segment. Every index, position, length and peer
 * number read from shared memory is checked before use. A channel found
 * corrupt gives SHMKIT_ECORRUPT and is marked SHMKIT_OBJ_STATE_BROKEN in
 * its header, so every peer then gets SHMKIT_ECORRUPT at once: never a
 * crash, never an endless spin. That covers the values a peer writes into
 * the segment, not its size: a peer that truncates a POSIX or file
 * segment (or a memfd) makes the others die of SIGBUS when they touch the
 * lost pages (see shmkit_seg_resize() in <shmkit/seg.h>), so give a
 * channel only to processes trusted not to shrink it; System V segments
 * cannot shrink, nor can a memfd sealed with SHMKIT_SEAL_SHRINK.
 *
 * Threads. A handle is one peer, for one thread at a time (the caller
 * serialises calls on a handle); open one handle per thread that sends or
 * receives concurrently. Different handles may be used concurrently from
 * any thread of any process. Fork: a handle is not inherited; the child
 * opens its own. Pointers returned by reserve and peek stay valid until
 * the matching commit/release or the handle's close.
 *
 * Peer places: an SPSC channel has one fixed place per role (peers
 * beyond 2 are unused); a broadcast channel keeps place 0 for the
 * publisher, so it takes peers - 1 subscribers.
 */
#ifndef SHMKIT_CHAN_H
#define SHMKIT_CHAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <shmkit/common.h>
#include <shmkit/seg.h>
#include <shmkit/wait.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Patterns (shmkit_chan_opts_t.pattern). Values are ABI. */
#define SHMKIT_CHAN_SPSC      1u
#define SHMKIT_CHAN_MPMC      2u
#define SHMKIT_CHAN_BROADCAST 3u

/* Full-channel policies (shmkit_chan_opts_t.policy). Values are ABI. */
#define SHMKIT_CHAN_FULL_BLOCK     0u
#define SHMKIT_CHAN_FULL_FAIL      1u
#define SHMKIT_CHAN_FULL_OVERWRITE 2u

/* Limits of the creation options. */
#define SHMKIT_CHAN_MSG_MAX   (1ul << 30) /* largest msg_max */
#define SHMKIT_CHAN_SLOTS_MAX (1ul << 20) /* most slots */
#define SHMKIT_CHAN_PEERS_MAX 4096u       /* most peers */

/*
 * Creation options. Zero fields take the default shown.
 */
typedef struct shmkit_chan_opts {
	unsigned pattern;  /* SHMKIT_CHAN_*; 0 = SHMKIT_CHAN_SPSC */
	unsigned policy;   /* SHMKIT_CHAN_FULL_*; 0 = block */
	size_t msg_max;    /* largest message in bytes; 0 = 4096 */
	size_t slots;      /* messages held, rounded up to a power of
			      two, >= 2; 0 = 64 */
	unsigned peers;    /* handles attached at once; 0 = 64 (SPSC: 2) */
	mode_t mode;       /* permission bits; 0 = 0600 */
} shmkit_chan_opts_t;

/* Roles and wait strategies (shmkit_chan_open() flags). */
#define SHMKIT_CHAN_PRODUCER      0x1u  /* publisher, for broadcast */
#define SHMKIT_CHAN_CONSUMER      0x2u  /* subscriber, for broadcast */
#define SHMKIT_CHAN_WAIT_ADAPTIVE 0x00u /* default */
#define SHMKIT_CHAN_WAIT_BUSY     0x10u
#define SHMKIT_CHAN_WAIT_BLOCK    0x20u

/* Per-call flags, with the SHMKIT_WAIT_* ones of <shmkit/wait.h>. */
#define SHMKIT_CHAN_NONBLOCK 0x100u /* -EAGAIN instead of waiting */
#define SHMKIT_CHAN_MORE     0x200u /* reserve/send: more messages follow */

/* A process-local handle: one registered peer. */
typedef struct shmkit_chan shmkit_chan_t;

/*
 * shmkit_chan_size - bytes of segment a channel with these options needs
 * (header, peer table, slots), or 0 for invalid options.
 */
SHMKIT_API size_t shmkit_chan_size(const shmkit_chan_opts_t *opts);

/*
 * shmkit_chan_create - create a segment at address and make a channel in
 * it. opts may be NULL for all defaults. The segment is exactly
 * shmkit_chan_size() bytes, with permission bits opts->mode (0600 by
 * default whatever the umask). Peers attach with shmkit_chan_open().
 * memfd addresses have no name to open again, so they are refused
 * (-EINVAL): use shmkit_chan_format() on a memfd segment and pass its fd
 * instead.
 *
 * Errors: -EINVAL (bad address or options), -EEXIST, -EACCES, -ENOSPC,
 * and the other errors of shmkit_seg_create().
 */
SHMKIT_API int shmkit_chan_create(const char *address,
				  const shmkit_chan_opts_t *opts);

/*
 * shmkit_chan_format - make a channel in a segment the caller created and
 * has not shared yet (of at least shmkit_chan_size(opts) bytes). The
 * segment is attached for the call if it is not attached, and detached
 * again.
 *
 * Errors: -EINVAL, SHMKIT_ESIZE (segment too small), errors of
 * shmkit_seg_attach().
 */
SHMKIT_API int shmkit_chan_format(shmkit_seg_t *seg,
				  const shmkit_chan_opts_t *opts);

/*
 * shmkit_chan_open - attach to the channel at address as a producer or a
 * consumer (exactly one of SHMKIT_CHAN_PRODUCER, SHMKIT_CHAN_CONSUMER),
 * with a wait strategy (SHMKIT_CHAN_WAIT_*). *out gets a handle that
 * shmkit_chan_close() frees. Reaps dead peers first.
 *
 * A consumer of an SPSC or MPMC channel starts at the oldest message not
 * yet consumed; a subscriber of a broadcast channel at the next message
 * published. A restarted SPSC peer takes the place of a dead one.
 *
 * Errors: -EINVAL, -ENOENT, -EACCES, SHMKIT_ENOTOBJ (not a shmkit
 * object), SHMKIT_ECORRUPT, SHMKIT_EVERSION, SHMKIT_EABI, -EBUSY (the
 * channel is still being created, or the SPSC role or the broadcast
 * publisher is held by a live peer), -EUSERS (peer table full of live
 * peers), -ENOMEM.
 */
SHMKIT_API int shmkit_chan_open(shmkit_chan_t **out, const char *address,
				unsigned flags);

/*
 * shmkit_chan_open_seg - as shmkit_chan_open(), on a segment the caller
 * holds (for memfd channels received with shmkit_seg_recv()). The handle
 * attaches its own mapping; seg stays the caller's and must outlive the
 * handle.
 */
SHMKIT_API int shmkit_chan_open_seg(shmkit_chan_t **out, shmkit_seg_t *seg,
				    unsigned flags);

/*
 * shmkit_chan_close - unregister the peer and free the handle. Messages
 * committed with SHMKIT_CHAN_MORE are published first; a reservation or
 * a peeked message still held is given back (an uncommitted reservation
 * is dropped, a peeked message is delivered again). The channel itself
 * stays: remove it with shmkit_seg_unlink_address(). NULL is a no-op.
 * Returns 0.
 */
SHMKIT_API int shmkit_chan_close(shmkit_chan_t *ch);

/*
 * shmkit_chan_reserve - get room for a message of up to len bytes
 * (len <= msg_max) and a pointer to write it at. The message is invisible
 * to consumers until shmkit_chan_commit() (with SHMKIT_CHAN_MORE in
 * flags, until it is published: see Batches above). One reservation at a
 * time per handle.
 *
 * Errors: -EINVAL (len > msg_max, not a producer, a reservation already
 * held, bad flags or timeout), -EAGAIN (full and SHMKIT_CHAN_NONBLOCK or
 * SHMKIT_CHAN_FULL_FAIL), -ETIMEDOUT, -EINTR (SHMKIT_WAIT_INTR),
 * SHMKIT_ECORRUPT.
 */
SHMKIT_API int shmkit_chan_reserve(shmkit_chan_t *ch, size_t len,
				   void **buf,
				   const struct timespec *timeout,
				   unsigned flags);

/*
 * shmkit_chan_commit - publish the reserved message with its final length
 * len (<= the length reserved), together with the messages held back
 * before it; or, if it was reserved with SHMKIT_CHAN_MORE, perhaps hold
 * it back too (see Batches above). Never waits.
 *
 * Errors: -EINVAL (nothing reserved, len too big), SHMKIT_ECORRUPT.
 */
SHMKIT_API int shmkit_chan_commit(shmkit_chan_t *ch, size_t len);

/*
 * shmkit_chan_send - copy len bytes from msg into the channel as one
 * message: reserve, memcpy, commit. On x86-64, messages of half the L2
 * cache and more are copied with streaming stores, past the producer's
 * caches: a consumer on another core reads them faster than after a
 * memcpy (chan_bench (d) measures it), one on the same core from memory
 * rather than from cache. Errors as shmkit_chan_reserve().
 */
SHMKIT_API int shmkit_chan_send(shmkit_chan_t *ch, const void *msg,
				size_t len, const struct timespec *timeout,
				unsigned flags);

/*
 * shmkit_chan_flush - publish the messages this producer committed with
 * SHMKIT_CHAN_MORE and has not published yet. Never waits. Returns 0 on
 * success, or -EINVAL (NULL or not a producer), SHMKIT_ECORRUPT.
 */
SHMKIT_API int shmkit_chan_flush(shmkit_chan_t *ch);

/*
 * shmkit_chan_peek - wait for the next message and point *msg and *len
 * at it, in place. The message stays the caller's until
 * shmkit_chan_release(). One peeked message at a time per handle.
 *
 * Returns the number of messages this subscriber lost just before this
 * one (> 0 only on an overwriting broadcast channel), or a negative error:
 * -EINVAL (not a consumer, a message already peeked, bad flags or
 * timeout), -EAGAIN (empty and SHMKIT_CHAN_NONBLOCK), -ETIMEDOUT, -EINTR,
 * SHMKIT_ECORRUPT.
 *
 * On an overwriting broadcast channel the publisher may overwrite the
 * message while the caller reads it: shmkit_chan_release() then says so.
 */
SHMKIT_API int shmkit_chan_peek(shmkit_chan_t *ch, const void **msg,
				size_t *len, const struct timespec *timeout,
				unsigned flags);

/*
 * shmkit_chan_release - done with the peeked message: its slot may be
 * reused. Returns 0, or -ESTALE when, on an overwriting broadcast
 * channel, the message was overwritten while peeked (what was read may be
 * torn: discard it; it counts as lost). Errors: -EINVAL (nothing peeked),
 * SHMKIT_ECORRUPT.
 */
SHMKIT_API int shmkit_chan_release(shmkit_chan_t *ch);

/*
 * shmkit_chan_recv - copy the next message into buf (cap bytes) and its
 * length into *len: peek, check, memcpy, release. Returns as
 * shmkit_chan_peek() (the count of messages lost before it), and also
 * -EMSGSIZE when the message is longer than cap: *len then gets its
 * length and the message stays in the channel (on an MPMC channel it
 * stays claimed by this handle: its next peek/recv returns it, and its
 * close gives it back). A message overwritten during the copy is counted
 * as lost and the next one is taken.
 */
SHMKIT_API int shmkit_chan_recv(shmkit_chan_t *ch, void *buf, size_t cap,
				size_t *len, const struct timespec *timeout,
				unsigned flags);

/*
 * shmkit_chan_fd - a descriptor that polls readable when a message may be
 * waiting for this consumer (or, for a producer, room may be free). After
 * it polls readable, call shmkit_chan_fd_ack() and then peek/recv (or
 * reserve/send) with SHMKIT_CHAN_NONBLOCK until -EAGAIN. Owned by the
 * handle; costs one helper thread in this process (see
 * shmkit_event_fd_open(3)), which sleeps on the channel as a waiter
 * does: a commit (or release) makes a FUTEX_WAKE system call only when
 * the helper went back to sleep since the last one. The fd is readable
 * once at first, as messages may already be waiting. Errors: -EINVAL,
 * -ENOMEM, -EMFILE, -EAGAIN.
 */
SHMKIT_API int shmkit_chan_fd(shmkit_chan_t *ch);

/* shmkit_chan_fd_ack - make the fd unreadable until the next wake-up.
 * Returns 0 or a negative error. */
SHMKIT_API int shmkit_chan_fd_ack(shmkit_chan_t *ch);

/*
 * shmkit_chan_recover - reap dead peers now: skip their half-written
 * messages, make the messages they held deliverable again, free their
 * places. Returns how many peers were reaped, or a negative error.
 * (Waiters do this by themselves for a dead peer that holds them up,
 * within a few tens of milliseconds.)
 */
SHMKIT_API int shmkit_chan_recover(shmkit_chan_t *ch);

/* What a peer looks like from outside (shmkit_chan_inspect()). */
typedef struct shmkit_chan_peer_info {
	unsigned index;   /* place in the peer table */
	unsigned role;    /* SHMKIT_CHAN_PRODUCER or _CONSUMER */
	int pid;
	int alive;        /* 1 alive, 0 dead, -1 unknown */
	uint64_t messages; /* committed (producer) or released (consumer) */
	uint64_t lost;     /* broadcast subscribers: messages lost */
} shmkit_chan_peer_info_t;

/* What a channel looks like from outside. */
typedef struct shmkit_chan_info {
	unsigned pattern;
	unsigned policy;
	size_t msg_max;
	size_t slots;
	unsigned peers_max;
	unsigned peers;   /* registered places in use, dead ones included */
	uint64_t sent;    /* messages committed since creation */
	uint64_t received; /* released (broadcast: 0) */
	uint64_t pending; /* committed, not yet consumed (broadcast: 0) */
} shmkit_chan_info_t;

/*
 * shmkit_chan_inspect - describe the channel at address without attaching
 * as a peer (read-only; for tools). Fills *info and up to max entries of
 * peers (may be NULL when max is 0) and returns the number of registered
 * peers (which may exceed max). Errors as shmkit_chan_open(), never
 * -EBUSY or -EUSERS: a channel whose creation has not finished (or whose
 * creator died making it) gives SHMKIT_ECORRUPT.
 */
SHMKIT_API int shmkit_chan_inspect(const char *address,
				   shmkit_chan_info_t *info,
				   shmkit_chan_peer_info_t *peers,
				   size_t max);

/* shmkit_chan_info - the same for the channel of an open handle. */
SHMKIT_API int shmkit_chan_info(shmkit_chan_t *ch, shmkit_chan_info_t *info);

/* Names: "spsc", "mpmc", "broadcast"; "block", "fail", "overwrite";
 * "?" if unknown. */
SHMKIT_API const char *shmkit_chan_pattern_name(unsigned pattern);
SHMKIT_API const char *shmkit_chan_policy_name(unsigned policy);

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_CHAN_H */
