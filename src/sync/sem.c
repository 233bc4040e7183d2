/*
 * The counting semaphore of <shmkit/sem.h>: the permit count is itself
 * the futex word, and a count of sleepers lets shmkit_sem_post() skip
 * the system call when nobody sleeps.
 *
 * Lost wake-ups are excluded as for events (see src/sync/event.c): a
 * waiter registers in priv_waiters and then re-reads the count before
 * sleeping on the value 0; a poster raises the count and then reads
 * priv_waiters, all four sequentially consistent. Either the poster sees
 * the waiter and wakes one, or the waiter sees the permit and does not
 * sleep; the kernel's compare of the word under the wait-queue lock
 * closes the window between the re-read and the sleep.
 */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include <shmkit/sem.h>

#include "common/internal.h"
#include "sync/futex.h"

#define SEM_MAGIC   0x4d534b53u /* "SKSM" in memory on little endian */
#define SEM_VERSION 1u
/* More sleepers than any real machine holds: a larger count is garbage. */
#define SEM_MAX_WAITERS (1u << 24)
#define WAIT_FLAGS_ALL                                                         \
	(SHMKIT_WAIT_ABSTIME | SHMKIT_WAIT_REALTIME | SHMKIT_WAIT_INTR)

_Static_assert(sizeof(shmkit_sem_t) == 32, "shared ABI");
_Static_assert(_Alignof(shmkit_sem_t) == 4, "shared ABI");

static int
check(shmkit_sem_t *sem)
{
	if (sem == NULL)
		return -EINVAL;
	/* Acquire: pairs with the release store of the magic in
	 * shmkit_sem_init(), so the version read below is init's. */
	if (__atomic_load_n(&sem->priv_magic, __ATOMIC_ACQUIRE) != SEM_MAGIC)
		return SHMKIT_ECORRUPT;
	/* Relaxed: immutable after init, ordered by the acquire above. */
	if (__atomic_load_n(&sem->priv_version, __ATOMIC_RELAXED) !=
	    SEM_VERSION)
		return SHMKIT_EVERSION;
	/* Relaxed: range checks only; the operations re-read these with the
	 * orders they need. */
	if (__atomic_load_n(&sem->priv_value, __ATOMIC_RELAXED) >
	    SHMKIT_SEM_VALUE_MAX)
		return SHMKIT_ECORRUPT;
	if (__atomic_load_n(&sem->priv_waiters, __ATOMIC_RELAXED) >
	    SEM_MAX_WAITERS)
		return SHMKIT_ECORRUPT;
	return 0;
}

int
shmkit_sem_init(shmkit_sem_t *sem, unsigned value)
{
	int i;

	if (sem == NULL || ((uintptr_t)sem & 3) != 0 ||
	    value > SHMKIT_SEM_VALUE_MAX)
		return -EINVAL;
	/* Relaxed: nobody may use the semaphore yet; the magic store below
	 * publishes these. */
	__atomic_store_n(&sem->priv_version, SEM_VERSION, __ATOMIC_RELAXED);
	__atomic_store_n(&sem->priv_value, value, __ATOMIC_RELAXED);
	__atomic_store_n(&sem->priv_waiters, 0, __ATOMIC_RELAXED);
	for (i = 0; i < 4; i++)
		sem->priv_reserved[i] = 0;
	/* Release: publishes the fields above; pairs with the acquire load
	 * of the magic in check(). */
	__atomic_store_n(&sem->priv_magic, SEM_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

int
shmkit_sem_fini(shmkit_sem_t *sem)
{
	int rc = check(sem);

	if (rc < 0)
		return rc;
	/* Relaxed: a snapshot; use after fini is the caller's bug and gets
	 * SHMKIT_ECORRUPT. */
	if (__atomic_load_n(&sem->priv_waiters, __ATOMIC_RELAXED) != 0)
		return -EBUSY;
	/* Relaxed: retiring publishes no data. */
	__atomic_store_n(&sem->priv_magic, 0, __ATOMIC_RELAXED);
	return 0;
}

int
shmkit_sem_post(shmkit_sem_t *sem)
{
	uint32_t v;
	int rc = check(sem);

	if (rc < 0)
		return rc;
	/* Relaxed: only the first guess for the CAS below. */
	v = __atomic_load_n(&sem->priv_value, __ATOMIC_RELAXED);
	do {
		if (v > SHMKIT_SEM_VALUE_MAX)
			return SHMKIT_ECORRUPT;
		if (v == SHMKIT_SEM_VALUE_MAX)
			return -EOVERFLOW;
		/* Seq_cst: release hands what the poster wrote to the taker
		 * (pairs with the acquire CAS in take()); seq_cst orders the
		 * new count before the load of priv_waiters below, the
		 * poster's half of the pairing in the file comment. */
	} while (!__atomic_compare_exchange_n(&sem->priv_value, &v, v + 1, 1,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	/* Seq_cst: pairs with the seq_cst registration and re-read in
	 * shmkit_sem_wait(). */
	if (__atomic_load_n(&sem->priv_waiters, __ATOMIC_SEQ_CST) != 0) {
		rc = shmkit__futex_wake(&sem->priv_value, 1,
					SHMKIT__FUTEX_BIT_ALL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Take a permit if there is one: 0, -EAGAIN, or SHMKIT_ECORRUPT. */
static int
take(shmkit_sem_t *sem)
{
	/* Relaxed: the CAS below is what acquires. */
	uint32_t v = __atomic_load_n(&sem->priv_value, __ATOMIC_RELAXED);

	while (v != 0) {
		if (v > SHMKIT_SEM_VALUE_MAX)
			return SHMKIT_ECORRUPT;
		/* Acquire: pairs with the seq_cst CAS in shmkit_sem_post(),
		 * so the taker sees what the poster wrote before posting. */
		if (__atomic_compare_exchange_n(&sem->priv_value, &v, v - 1, 1,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return 0;
	}
	return -EAGAIN;
}

int
shmkit_sem_trywait(shmkit_sem_t *sem)
{
	int rc = check(sem);

	if (rc < 0)
		return rc;
	return take(sem);
}

int
shmkit_sem_wait(shmkit_sem_t *sem, const struct timespec *timeout,
		unsigned flags)
{
	/* Relative timeouts always run on CLOCK_MONOTONIC. */
	int realtime =
		(flags & SHMKIT_WAIT_REALTIME) && (flags & SHMKIT_WAIT_ABSTIME);
	struct timespec deadline;
	int forever, rc;
	uint32_t n;

	rc = check(sem);
	if (rc < 0)
		return rc;
	if ((flags & ~WAIT_FLAGS_ALL) != 0)
		return -EINVAL;
	rc = shmkit__deadline(&deadline, &forever, timeout,
			      (flags & SHMKIT_WAIT_ABSTIME) != 0, realtime);
	if (rc < 0)
		return rc;
	for (;;) {
		rc = take(sem);
		if (rc != -EAGAIN)
			return rc;
		if (!forever && shmkit__deadline_passed(&deadline, realtime))
			return -ETIMEDOUT;
		/* Seq_cst: the waiter's half of the pairing with post():
		 * register, then re-read the count. */
		n = __atomic_fetch_add(&sem->priv_waiters, 1, __ATOMIC_SEQ_CST);
		if (n >= SEM_MAX_WAITERS)
			rc = SHMKIT_ECORRUPT;
		else if (__atomic_load_n(&sem->priv_value, __ATOMIC_SEQ_CST) !=
			 0)
			rc = 0; /* a permit arrived: go take it */
		else
			rc = shmkit__futex_wait(
				&sem->priv_value, 0, forever ? NULL : &deadline,
				realtime, SHMKIT__FUTEX_BIT_WAITER);
		/* Relaxed: leaving publishes nothing; a poster that still
		 * counts us merely makes a needless FUTEX_WAKE. */
		__atomic_fetch_sub(&sem->priv_waiters, 1, __ATOMIC_RELAXED);
		if (rc == -EINTR && (flags & SHMKIT_WAIT_INTR))
			return -EINTR;
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -ETIMEDOUT)
			return rc;
		/* A peer may have scribbled on the semaphore meanwhile. */
		rc = check(sem);
		if (rc < 0)
			return rc;
	}
}

int
shmkit_sem_value(shmkit_sem_t *sem)
{
	int rc = check(sem);

	if (rc < 0)
		return rc;
	/* Relaxed: a snapshot; check() bounded it to SHMKIT_SEM_VALUE_MAX,
	 * but re-check since it may have changed since. */
	rc = (int)__atomic_load_n(&sem->priv_value, __ATOMIC_RELAXED);
	return rc < 0 ? SHMKIT_ECORRUPT : rc;
}
