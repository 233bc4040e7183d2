/*
 * shmkit/sem.h: a counting semaphore in shared memory, built on a futex.
 *
 * A shmkit_sem_t is a fixed-size object (32 bytes, no pointers) that the
 * caller places in shared memory and sets up with shmkit_sem_init(). It
 * holds a count of permits: shmkit_sem_wait() takes one, sleeping while
 * there are none; shmkit_sem_post() returns one and wakes a sleeper. The
 * fast paths are one atomic compare-and-swap; shmkit_sem_post() makes a
 * system call (FUTEX_WAKE of one waiter) only when some thread may be
 * asleep.
 *
 * Permits of dead processes are lost, exactly as with POSIX sem_t: if a
 * process that took a permit dies before posting it, the count stays one
 * lower for good. This is deliberate. A semaphore is a counter, not a
 * lock: the process that posts is often not the one that waited (a
 * producer posts what consumers take), so "the holder" of a permit is not
 * defined, and tracking one would need a bounded table of owners in the
 * object and would still be fooled by pid reuse. Programs that need a
 * permit back when its holder dies should use the robust mutex of
 * <shmkit/mutex.h>, or have a supervisor that learns of the death (from
 * waitpid or a pidfd) post on the dead process's behalf.
 *
 * A waiter that dies asleep leaves the waiter count one too high: later
 * posts make a needless FUTEX_WAKE, nothing worse. A waiter killed
 * between being woken and taking the permit leaves the permit in the
 * count; other sleepers then take it at their next wake-up or timeout.
 *
 * Timeouts, signals (handlers do not end a wait unless SHMKIT_WAIT_INTR),
 * SIGSTOP/SIGCONT and the clocks are as for events: see <shmkit/wait.h>
 * for SHMKIT_WAIT_ABSTIME, SHMKIT_WAIT_REALTIME and SHMKIT_WAIT_INTR.
 *
 * Validation: every call checks the magic, version, value and waiter
 * count and returns SHMKIT_ECORRUPT for garbage written by a peer.
 *
 * Threads and processes: every function except init and fini may be
 * called concurrently from any thread of any process that maps the
 * semaphore; all are async-signal-safe.
 */
#ifndef SHMKIT_SEM_H
#define SHMKIT_SEM_H

#include <stdint.h>
#include <time.h>

#include <shmkit/common.h>
#include <shmkit/wait.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Layout in shared memory; members are private (use the functions). */
typedef struct shmkit_sem {
	uint32_t priv_magic;   /* SHMKIT_SEM magic while initialised */
	uint32_t priv_version; /* layout version */
	uint32_t priv_value;   /* futex word: permits available */
	uint32_t priv_waiters; /* threads asleep or about to sleep */
	uint32_t priv_reserved[4];
} shmkit_sem_t;

/* The largest count a semaphore holds (fits an int). */
#define SHMKIT_SEM_VALUE_MAX 0x7fffffffu

/*
 * shmkit_sem_init - make *sem a semaphore holding `value` permits.
 * The caller owns the memory. Call once, before other processes use it.
 *
 * Errors: -EINVAL (NULL, misaligned, value > SHMKIT_SEM_VALUE_MAX).
 */
SHMKIT_API int shmkit_sem_init(shmkit_sem_t *sem, unsigned value);

/*
 * shmkit_sem_fini - retire the semaphore; further use gives
 * SHMKIT_ECORRUPT.
 *
 * Errors: -EINVAL (NULL), SHMKIT_ECORRUPT, -EBUSY (waiters present, or
 * one died asleep: the semaphore is left intact).
 */
SHMKIT_API int shmkit_sem_fini(shmkit_sem_t *sem);

/*
 * shmkit_sem_post - add one permit and wake one waiter if any may sleep.
 *
 * Errors: -EINVAL (NULL), -EOVERFLOW (already SHMKIT_SEM_VALUE_MAX),
 * SHMKIT_ECORRUPT.
 */
SHMKIT_API int shmkit_sem_post(shmkit_sem_t *sem);

/*
 * shmkit_sem_trywait - take a permit if one is available, never sleep.
 *
 * Errors: -EAGAIN (none available), -EINVAL (NULL), SHMKIT_ECORRUPT.
 */
SHMKIT_API int shmkit_sem_trywait(shmkit_sem_t *sem);

/*
 * shmkit_sem_wait - take a permit, sleeping until one is posted or the
 * timeout expires. timeout NULL waits forever; otherwise it is relative
 * (CLOCK_MONOTONIC) unless flags has SHMKIT_WAIT_ABSTIME (a deadline on
 * CLOCK_MONOTONIC, or CLOCK_REALTIME with SHMKIT_WAIT_REALTIME).
 *
 * Errors: -ETIMEDOUT, -EINTR (only with SHMKIT_WAIT_INTR), -EINVAL (NULL,
 * malformed timeout, unknown flag), SHMKIT_ECORRUPT.
 */
SHMKIT_API int shmkit_sem_wait(shmkit_sem_t *sem,
			       const struct timespec *timeout, unsigned flags);

/*
 * shmkit_sem_value - the number of permits available now (>= 0), a
 * snapshot.
 *
 * Errors: -EINVAL (NULL), SHMKIT_ECORRUPT.
 */
SHMKIT_API int shmkit_sem_value(shmkit_sem_t *sem);

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_SEM_H */
