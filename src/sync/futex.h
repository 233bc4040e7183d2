/*
 * Internal futex wrappers shared by the primitives in src/sync/ (event,
 * semaphore, and anything else that sleeps on a 32-bit word in shared
 * memory).
 *
 * The words live in memory that other processes map, so every operation
 * uses the shared futex (no FUTEX_PRIVATE_FLAG): the kernel then keys the
 * wait queue on the underlying page and offset, not on this process's
 * address space, so a waker in another process finds the sleeper. Waits take an
 * absolute deadline, so a caller that is interrupted by a signal can simply
 * call again with the same deadline and never has to recompute the remaining
 * time.
 *
 * Every FUTEX_WAKE issued through here is counted in a process-local
 * counter; the tests use it to prove that signalling with nobody waiting
 * makes no system call.
 */
#ifndef SHMKIT_SYNC_FUTEX_H
#define SHMKIT_SYNC_FUTEX_H

#include <stdint.h>
#include <time.h>

/* Wait-queue bitsets: ordinary waiters and the pollable-fd helper threads
 * of <shmkit/event.h> sleep on the same word with different bits, so a
 * helper can be woken alone when its handle is closed. */
#define SHMKIT__FUTEX_BIT_WAITER 0x1u
#define SHMKIT__FUTEX_BIT_HELPER 0x2u
#define SHMKIT__FUTEX_BIT_ALL	 0xffffffffu

/*
 * Sleep while *word == val, until woken, until the absolute deadline
 * `abs` (NULL: no deadline) on CLOCK_MONOTONIC, or on CLOCK_REALTIME when
 * `realtime` is non-zero. `bitset` selects which wakes reach this waiter
 * (SHMKIT__FUTEX_BIT_*).
 *
 * Returns 0 when woken (possibly spuriously), -EAGAIN when *word was not
 * val on entry, -EINTR when a signal handler ran, -ETIMEDOUT when the
 * deadline passed, any other -errno (-EFAULT, -EINVAL) otherwise. Every
 * return except a hard error means "re-check the state and decide": the
 * callers loop, which makes them tolerant of spurious wake-ups.
 */
int shmkit__futex_wait(uint32_t *word, uint32_t val, const struct timespec *abs,
		       int realtime, uint32_t bitset);

/*
 * Wake at most n waiters sleeping on word whose bitset intersects
 * `bitset`. Returns the number woken, or -errno.
 */
int shmkit__futex_wake(uint32_t *word, int n, uint32_t bitset);

/* FUTEX_WAKE calls this process has made (for tests). Relaxed counter. */
uint64_t shmkit__futex_wake_calls(void);

/*
 * The absolute deadline for a wait, on the clock shmkit__futex_wait will
 * use. ts is relative unless `abs`; NULL means no deadline (*out_null is
 * set). Returns 0 or -EINVAL for a malformed timespec (negative seconds,
 * nanoseconds outside [0, 1e9)).
 */
int shmkit__deadline(struct timespec *out, int *out_null,
		     const struct timespec *ts, int abs, int realtime);

/* 1 when the deadline on that clock has passed, else 0. */
int shmkit__deadline_passed(const struct timespec *abs, int realtime);

#endif /* SHMKIT_SYNC_FUTEX_H */
