/*
 * The futex system call behind every sleeping primitive in src/sync/,
 * and the deadline arithmetic they share. See futex.h for the contract.
 *
 * glibc has no futex() wrapper, so this goes through syscall(2).
 * FUTEX_WAIT_BITSET is used even for plain waits because, unlike
 * FUTEX_WAIT, it takes an absolute deadline and can be told which clock
 * it is on (FUTEX_CLOCK_REALTIME); an absolute deadline is what lets
 * callers restart after EINTR without drifting.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/internal.h"
#include "sync/futex.h"

#define NSEC_PER_SEC 1000000000L

static uint64_t wake_calls;

int
shmkit__futex_wait(uint32_t *word, uint32_t val, const struct timespec *abs,
		   int realtime, uint32_t bitset)
{
	int op = FUTEX_WAIT_BITSET;
	long rc;

	if (realtime)
		op |= FUTEX_CLOCK_REALTIME;
	rc = syscall(SYS_futex, word, op, val, abs, NULL, bitset);
	if (rc == 0)
		return 0;
	/* EAGAIN (value changed), EINTR and ETIMEDOUT are for the caller to
	 * judge; anything else is a bug or a bad address. */
	return -errno;
}

int
shmkit__futex_wake(uint32_t *word, int n, uint32_t bitset)
{
	long rc;

	/* Relaxed: a statistic read by tests of this same thread; it orders
	 * nothing. */
	__atomic_fetch_add(&wake_calls, 1, __ATOMIC_RELAXED);
	rc = syscall(SYS_futex, word, FUTEX_WAKE_BITSET, n, NULL, NULL, bitset);
	if (rc < 0)
		return -errno;
	return (int)rc;
}

uint64_t
shmkit__futex_wake_calls(void)
{
	/* Relaxed: pairs with nothing; see shmkit__futex_wake(). */
	return __atomic_load_n(&wake_calls, __ATOMIC_RELAXED);
}

int
shmkit__deadline(struct timespec *out, int *out_null, const struct timespec *ts,
		 int abs, int realtime)
{
	struct timespec now;

	*out_null = 0;
	if (ts == NULL) {
		*out_null = 1;
		return 0;
	}
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= NSEC_PER_SEC)
		return -EINVAL;
	if (abs) {
		*out = *ts;
		return 0;
	}
	clock_gettime(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, &now);
	/* A relative timeout so long that the sum overflows is "forever". */
	if (ts->tv_sec > INT64_MAX / 2 - now.tv_sec) {
		*out_null = 1;
		return 0;
	}
	out->tv_sec = now.tv_sec + ts->tv_sec;
	out->tv_nsec = now.tv_nsec + ts->tv_nsec;
	if (out->tv_nsec >= NSEC_PER_SEC) {
		out->tv_sec++;
		out->tv_nsec -= NSEC_PER_SEC;
	}
	return 0;
}

int
shmkit__deadline_passed(const struct timespec *abs, int realtime)
{
	struct timespec now;

	clock_gettime(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, &now);
	if (now.tv_sec != abs->tv_sec)
		return now.tv_sec > abs->tv_sec;
	return now.tv_nsec >= abs->tv_nsec;
}
