/*
 * shmkit/event.h: an event that processes sharing memory wait for and
 * signal, built on a futex word, with timeouts and a pollable fd.
 *
 * A shmkit_event_t is a small fixed-size object that the caller places
 * in shared memory (any 4-byte aligned address of a MAP_SHARED mapping
 * or a System V segment) and sets up once with shmkit_event_init(). It
 * holds no pointers, so every process may map it at a different address.
 *
 * Semantics. An event carries two things:
 *  - a generation counter (31 bits, wraps), bumped by every
 *    shmkit_event_set(). shmkit_event_wait_seq() sleeps until the
 *    generation differs from the one the caller last saw, so no set is
 *    ever missed between two waits (sets that happen while the caller is
 *    busy are coalesced into one wake-up, and the new generation tells how
 *    many there were). This is the sequence-counting event, and it works
 *    the same in both modes.
 *  - a "signalled" flag, set by shmkit_event_set(), which
 *    shmkit_event_wait() and shmkit_event_trywait() test:
 *      SHMKIT_EVENT_MANUAL  the flag stays set until shmkit_event_reset();
 *                           every waiter passes while it is set.
 *      SHMKIT_EVENT_AUTO    one waiter consumes the flag and passes; a set
 *                           with the flag already set changes nothing but
 *                           the generation (sets do not accumulate: use a
 *                           semaphore, <shmkit/sem.h>, to count).
 *
 * Cost. shmkit_event_set() is one atomic read-modify-write plus one load
 * of the waiter count; it makes a system call (FUTEX_WAKE, waking every
 * waiter) only when some thread may be asleep on the event. Waiters never
 * spin: a wait whose condition already holds returns without a system
 * call, otherwise it sleeps in the kernel.
 *
 * Timeouts follow <shmkit/wait.h>: relative by default or absolute with
 * SHMKIT_WAIT_ABSTIME; absolute deadlines are on CLOCK_MONOTONIC (immune
 * to clock changes), or on CLOCK_REALTIME with SHMKIT_WAIT_REALTIME.
 * Waits survive signals: a signal handler that runs during the wait does
 * not end it (the wait goes back to sleep until the same deadline) unless
 * SHMKIT_WAIT_INTR asks for -EINTR. SIGSTOP/SIGCONT are harmless; time
 * spent stopped counts against the timeout. A wait may also return 0 at
 * its deadline when it finds its condition true then (e.g. a setter died
 * between changing the state and waking anyone).
 *
 * Process death. A setter killed at any point leaves the event usable;
 * waiters that missed its wake-up see the new state at their timeout at
 * the latest. A waiter killed while asleep leaves the waiter count one
 * too high: later sets make a needless FUTEX_WAKE system call, nothing
 * worse. shmkit_event_fini() then reports -EBUSY.
 *
 * Validation. Every call checks the object's magic, version, mode and
 * waiter count and returns SHMKIT_ECORRUPT for garbage, so a peer that
 * scribbles over the event causes an error or a timeout, never a crash
 * or an endless wait (as long as the caller gives a timeout).
 *
 * Threads and processes: every function except init and fini may be
 * called concurrently from any thread of any process that maps the event.
 * All functions are async-signal-safe except the shmkit_event_fd_*()
 * ones. Fork: the event is in shared memory, so parent and child share
 * it; a shmkit_event_fd_t handle is not inherited (see below).
 */
#ifndef SHMKIT_EVENT_H
#define SHMKIT_EVENT_H

#include <stdint.h>
#include <time.h>

#include <shmkit/common.h>
#include <shmkit/wait.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The event as laid out in shared memory: 32 bytes, 4-byte aligned, the
 * same for 32- and 64-bit builds. The members are private: use the
 * functions. They are visible only so that the object can be embedded
 * in the caller's shared structures.
 */
typedef struct shmkit_event {
	uint32_t priv_magic;   /* SHMKIT_EVENT_MAGIC while initialised */
	uint32_t priv_version; /* layout version */
	uint32_t priv_word;    /* futex word: generation << 1 | signalled */
	uint32_t priv_waiters; /* threads asleep or about to sleep */
	uint32_t priv_mode;    /* SHMKIT_EVENT_MANUAL or _AUTO */
	uint32_t priv_reserved[3];
} shmkit_event_t;

/* Modes for shmkit_event_init(). */
#define SHMKIT_EVENT_MANUAL 0u
#define SHMKIT_EVENT_AUTO   1u

/*
 * shmkit_event_init - make *ev a fresh, unsignalled event with generation
 * 0 in the given mode (SHMKIT_EVENT_MANUAL or SHMKIT_EVENT_AUTO).
 *
 * The caller owns the memory; the event lives in it until
 * shmkit_event_fini(). Call once, before any other process uses the
 * event; initialising an event that others are using is undefined.
 *
 * Errors: -EINVAL (NULL, misaligned, unknown mode).
 */
SHMKIT_API int shmkit_event_init(shmkit_event_t *ev, unsigned mode);

/*
 * shmkit_event_fini - retire an event so further use gives
 * SHMKIT_ECORRUPT. The memory is the caller's again afterwards.
 *
 * Errors: -EINVAL (NULL), SHMKIT_ECORRUPT, -EBUSY (waiters are present,
 * or a waiter died while asleep: the event is left intact).
 */
SHMKIT_API int shmkit_event_fini(shmkit_event_t *ev);

/*
 * shmkit_event_set - bump the generation, set the signalled flag and
 * wake every waiter. No system call when nobody waits.
 *
 * Errors: -EINVAL (NULL), SHMKIT_ECORRUPT.
 */
SHMKIT_API int shmkit_event_set(shmkit_event_t *ev);

/*
 * shmkit_event_reset - clear the signalled flag (both modes). The
 * generation is unchanged and nobody is woken.
 *
 * Errors: -EINVAL (NULL), SHMKIT_ECORRUPT.
 */
SHMKIT_API int shmkit_event_reset(shmkit_event_t *ev);

/*
 * shmkit_event_trywait - test the signalled flag without sleeping.
 * Manual mode: 0 when set. Auto mode: 0 when set, and the flag is
 * consumed (cleared) by this call.
 *
 * Errors: -EAGAIN (not signalled), -EINVAL (NULL), SHMKIT_ECORRUPT.
 */
SHMKIT_API int shmkit_event_trywait(shmkit_event_t *ev);

/*
 * shmkit_event_wait - wait until the event is signalled (and, in auto
 * mode, consume the signal), or until the timeout.
 *
 * timeout: NULL waits forever; otherwise relative (from now, on
 * CLOCK_MONOTONIC) unless flags has SHMKIT_WAIT_ABSTIME, in which case it
 * is a deadline on CLOCK_MONOTONIC, or on CLOCK_REALTIME with
 * SHMKIT_WAIT_REALTIME (which a relative timeout ignores). A zero
 * relative timeout polls.
 *
 * Errors: -ETIMEDOUT, -EINTR (only with SHMKIT_WAIT_INTR), -EINVAL (NULL
 * ev, malformed timeout, unknown flag), SHMKIT_ECORRUPT (also when the
 * event is corrupted or retired while this call sleeps).
 */
SHMKIT_API int shmkit_event_wait(shmkit_event_t *ev,
				 const struct timespec *timeout,
				 unsigned flags);

/*
 * shmkit_event_seq - the current generation, >= 0 (31 bits: it wraps
 * from 0x7fffffff to 0). Take it before waiting with
 * shmkit_event_wait_seq().
 *
 * Errors: -EINVAL (NULL), SHMKIT_ECORRUPT.
 */
SHMKIT_API int shmkit_event_seq(shmkit_event_t *ev);

/*
 * shmkit_event_wait_seq - wait until the generation differs from *seq,
 * then store the new generation in *seq. Returns at once if it already
 * differs. Never touches the signalled flag, so it works the same in
 * both modes and never steals an auto-reset signal.
 *
 * The usual loop never misses a set:
 *     uint32_t seq = shmkit_event_seq(ev);
 *     for (;;) { shmkit_event_wait_seq(ev, &seq, NULL, 0); handle(); }
 *
 * timeout and flags as for shmkit_event_wait(). *seq is written only on
 * success.
 *
 * Errors: as shmkit_event_wait(); -EINVAL also for a NULL seq.
 */
SHMKIT_API int shmkit_event_wait_seq(shmkit_event_t *ev, uint32_t *seq,
				     const struct timespec *timeout,
				     unsigned flags);

/*
 * shmkit_event_waiters - how many threads are asleep on the event, or
 * about to be (they registered and are re-checking the state), counted
 * across all processes. Includes waiters that died asleep and the helper
 * thread of every open shmkit_event_fd_t. A snapshot, for diagnostics.
 *
 * Errors: -EINVAL (NULL), SHMKIT_ECORRUPT.
 */
SHMKIT_API int shmkit_event_waiters(shmkit_event_t *ev);

/*
 * Pollable descriptor. A futex cannot be polled, and an eventfd belongs
 * to one process: a setter in another process cannot write to it. So
 * shmkit_event_fd_open() starts, in the calling process, a helper thread
 * that sleeps on the event (with shmkit_event_wait_seq) and, after each
 * generation change, writes to an eventfd. That fd is what the program
 * gives to poll/epoll/select; it is readable when at least one set
 * happened since the last shmkit_event_fd_ack().
 *
 * Cost: one thread per handle (small stack) in the polling process, and
 * the helper counts as a waiter, so every set of that event makes a
 * FUTEX_WAKE system call and wakes the helper, which makes a write(2).
 * Setters need no change and may be in any process. The fd is a
 * notification only: after it polls readable, call shmkit_event_fd_ack()
 * and then look at the event (trywait, seq) or at the data it guards.
 * Sets are coalesced as in shmkit_event_wait_seq().
 *
 * Fork: the child inherits the eventfd but not the helper thread, so the
 * parent's handle does not work there; closing it in the child only frees
 * the child's copy. The fd is close-on-exec.
 * Keep the event mapped until the handle is closed.
 */
typedef struct shmkit_event_fd shmkit_event_fd_t;

/*
 * shmkit_event_fd_open - start watching ev; *out gets a handle that
 * shmkit_event_fd_close() frees. The fd becomes readable after the first
 * set that happens after this call.
 *
 * Errors: -EINVAL (NULL), SHMKIT_ECORRUPT, -EMFILE, -ENFILE, -ENOMEM,
 * -EAGAIN (no thread could be created).
 */
SHMKIT_API int shmkit_event_fd_open(shmkit_event_fd_t **out,
				    shmkit_event_t *ev);

/*
 * shmkit_event_fd - the pollable file descriptor of the handle (>= 0).
 * Owned by the handle: do not close it.
 */
SHMKIT_API int shmkit_event_fd(const shmkit_event_fd_t *h);

/*
 * shmkit_event_fd_ack - make the fd unreadable again until the next set;
 * returns how many notifications were pending (0 if none; a notification
 * stands for one or more sets). Does not block.
 *
 * Errors: -EINVAL (NULL), SHMKIT_ECORRUPT (the helper found the event
 * corrupt and stopped; the fd stays readable), -errno from read(2).
 */
SHMKIT_API int shmkit_event_fd_ack(shmkit_event_fd_t *h);

/*
 * shmkit_event_fd_close - stop the helper thread, close the fd and free
 * the handle. NULL is a no-op. Takes a few milliseconds at most.
 * Returns 0.
 */
SHMKIT_API int shmkit_event_fd_close(shmkit_event_fd_t *h);

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_EVENT_H */
