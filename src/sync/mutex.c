/*
 * The robust process-shared mutex. It wraps a glibc pthread_mutex_t made
 * PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST and error-checking: the
 * kernel's robust-futex list already does the hard part (marking a mutex
 * whose holder died), and glibc already turns that into EOWNERDEAD and
 * ENOTRECOVERABLE. What this file adds is what shared memory needs and
 * pthreads does not give: a header with magic, state and a layout
 * fingerprint checked before the pthread object is touched, a check of
 * the type bits glibc dispatches on, a timed lock that follows the
 * <shmkit/wait.h> convention (CLOCK_MONOTONIC unless asked otherwise), and
 * an untimed lock that gives up on a lock word naming a thread that does
 * not exist instead of sleeping for ever.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sync/futex.h"
#include "sync/sync_impl.h"

#define MUTEX_MAGIC   0x534b4d58u /* "SKMX" */
#define MUTEX_VERSION 1u

/* state: INIT while init runs, READY in use, 0 after fini. Values far from
 * 0 and 1 so that stray small integers are not taken for READY. */
#define MUTEX_STATE_INIT  0x494e4954u
#define MUTEX_STATE_READY 0x52454459u

/* Size of the pthread object and of a pointer, and our version: two
 * builds may share a mutex only if all three agree. */
#define MUTEX_LAYOUT                                                           \
	(((uint32_t)sizeof(pthread_mutex_t) << 16) |                           \
	 ((uint32_t)sizeof(void *) << 8) | MUTEX_VERSION)

#define NS_PER_SEC 1000000000ull

/* The SHMKIT_WAIT_* flags shmkit_mutex_timedlock() honours. */
#define MUTEX_WAIT_FLAGS (SHMKIT_WAIT_ABSTIME | SHMKIT_WAIT_REALTIME)

#if defined(__SANITIZE_THREAD__)
#define MUTEX_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MUTEX_TSAN 1
#endif
#endif

struct mutex_impl {
	_Atomic uint32_t magic;
	_Atomic uint32_t state;
	_Atomic uint32_t layout;
	uint32_t reserved;
	union {
		pthread_mutex_t pm;
		unsigned char bytes[48];
	} u;
};

_Static_assert(sizeof(shmkit_mutex_t) == 64, "shared ABI: mutex size");
_Static_assert(_Alignof(shmkit_mutex_t) == 8, "shared ABI: mutex align");
_Static_assert(sizeof(struct mutex_impl) == sizeof(shmkit_mutex_t),
	       "mutex_impl must fill shmkit_mutex_t exactly");
_Static_assert(_Alignof(struct mutex_impl) <= _Alignof(shmkit_mutex_t),
	       "mutex_impl must not need more alignment than shmkit_mutex_t");
_Static_assert(offsetof(struct mutex_impl, u) == 16, "shared ABI: header");

static struct mutex_impl *
impl(shmkit_mutex_t *m)
{
	return (struct mutex_impl *)(void *)m;
}

static const struct mutex_impl *
cimpl(const shmkit_mutex_t *m)
{
	return (const struct mutex_impl *)(const void *)m;
}

uint64_t
shmkit__mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static int
init_attr(pthread_mutexattr_t *a)
{
	int rc;

	rc = pthread_mutexattr_init(a);
	if (rc != 0)
		return -rc;
	rc = pthread_mutexattr_setpshared(a, PTHREAD_PROCESS_SHARED);
	if (rc == 0)
		rc = pthread_mutexattr_setrobust(a, PTHREAD_MUTEX_ROBUST);
	if (rc == 0)
		rc = pthread_mutexattr_settype(a, PTHREAD_MUTEX_ERRORCHECK);
	if (rc != 0) {
		pthread_mutexattr_destroy(a);
		return -rc;
	}
	return 0;
}

#ifdef __GLIBC__
/*
 * glibc dispatches every mutex call on __kind, and a value it does not
 * know can send it down paths that misread the other fields. __kind is set
 * by pthread_mutex_init and never changes, so every good mutex has the
 * value a fresh one made with our attributes has. That value is learnt
 * once per process from a private mutex, not hard-coded, so a glibc that
 * encodes its flags differently still works.
 */
static int
expected_kind(int *out)
{
	/* Relaxed: the cached value is computed the same way by every thread,
	 * so a thread that races with another just computes it again. */
	static _Atomic int cached = -1;
	int k = atomic_load_explicit(&cached, memory_order_relaxed);
	pthread_mutexattr_t a;
	pthread_mutex_t ref;
	int rc;

	if (k >= 0) {
		*out = k;
		return 0;
	}
	rc = init_attr(&a);
	if (rc < 0)
		return rc;
	rc = pthread_mutex_init(&ref, &a);
	pthread_mutexattr_destroy(&a);
	if (rc != 0)
		return -rc;
	k = ref.__data.__kind;
	pthread_mutex_destroy(&ref);
	/* Relaxed: see the load above. */
	atomic_store_explicit(&cached, k, memory_order_relaxed);
	*out = k;
	return 0;
}

/*
 * The futex word: owner thread id plus FUTEX_WAITERS and FUTEX_OWNER_DIED.
 * Relaxed: it is only used as a hint (is the holder alive, did it die);
 * glibc and the kernel own its real synchronisation.
 */
static uint32_t
lock_word(const struct mutex_impl *mi)
{
	return __atomic_load_n(
		(const uint32_t *)(const void *)&mi->u.pm.__data.__lock,
		__ATOMIC_RELAXED);
}

static int
check_kind(const struct mutex_impl *mi)
{
	int want = -1, have, rc;

	rc = expected_kind(&want);
	if (rc < 0)
		return rc;
	/* Relaxed: __kind is constant after init, which the acquire load of
	 * state in check() published; atomic only because a peer may
	 * scribble on it. */
	have = __atomic_load_n(&mi->u.pm.__data.__kind, __ATOMIC_RELAXED);
	return have == want ? 0 : SHMKIT_ECORRUPT;
}
#else
/* Other C libraries: their pthread internals are not inspected. */
static uint32_t
lock_word(const struct mutex_impl *mi)
{
	(void)mi;
	return 0;
}

static int
check_kind(const struct mutex_impl *mi)
{
	(void)mi;
	return 0;
}
#endif

static int
check(const struct mutex_impl *mi)
{
	uint32_t state;

	/* Acquire: pairs with the release store of state in
	 * shmkit_mutex_init(), so the pthread object it made is visible
	 * before we use it. */
	state = atomic_load_explicit(&mi->state, memory_order_acquire);
	/* Relaxed: magic and layout were published by the same release. */
	if (atomic_load_explicit(&mi->magic, memory_order_relaxed) !=
	    MUTEX_MAGIC)
		return SHMKIT_ECORRUPT;
	if (atomic_load_explicit(&mi->layout, memory_order_relaxed) !=
	    MUTEX_LAYOUT)
		return SHMKIT_EABI;
	if (state != MUTEX_STATE_READY)
		return SHMKIT_ECORRUPT;
	return check_kind(mi);
}

int
shmkit__mutex_check(const shmkit_mutex_t *m)
{
	return check(cimpl(m));
}

int
shmkit__mutex_holder_died(const shmkit_mutex_t *m)
{
	return (lock_word(cimpl(m)) & FUTEX_OWNER_DIED) != 0;
}

int
shmkit__mutex_held(const shmkit_mutex_t *m)
{
#ifdef __GLIBC__
	return (lock_word(cimpl(m)) & FUTEX_TID_MASK) == (uint32_t)gettid();
#else
	(void)m;
	return 1;
#endif
}

#ifdef __GLIBC__
/*
 * glibc 2.36's trylock on a robust mutex returns ENOTRECOVERABLE after it
 * has taken the lock word, and leaves our thread id in it (its lock path
 * puts the word back, trylock does not). The mutex is then held by a
 * thread that believes it is not, and since it is not on that thread's
 * robust list, not even our death frees it: everyone else would wait for
 * ever instead of getting ENOTRECOVERABLE. Put the word back ourselves and
 * wake whoever queued meanwhile.
 */
static void
drop_unrecoverable(struct mutex_impl *mi)
{
	uint32_t *word = (uint32_t *)(void *)&mi->u.pm.__data.__lock;
	uint32_t tid = (uint32_t)gettid();
	uint32_t w = lock_word(mi);

	while ((w & FUTEX_TID_MASK) == tid) {
		/* Release: orders our (non-)use of the mutex before the word
		 * is free; pairs with glibc's acquire CAS in the next lock. */
		if (__atomic_compare_exchange_n(word, &w, 0, 0,
						__ATOMIC_RELEASE,
						__ATOMIC_RELAXED)) {
			if (w & FUTEX_WAITERS)
				syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX,
					NULL, NULL, 0);
			return;
		}
	}
}
#else
static void
drop_unrecoverable(struct mutex_impl *mi)
{
	(void)mi;
}
#endif

/* A pthread result of a lock call as a shmkit one. We check every
 * argument before glibc sees it, so an EINVAL from glibc means it did not
 * like the object. */
static int
lock_result(struct mutex_impl *mi, int rc)
{
	if (rc == EINVAL)
		return SHMKIT_ECORRUPT;
	if (rc == ENOTRECOVERABLE)
		drop_unrecoverable(mi);
	return -rc;
}

/*
 * 1 when the lock word has stayed the same across two checks a slice apart
 * and names no live thread: a peer wrote garbage, since a holder that
 * really died has the owner-died bit set by the kernel at its exit and
 * we would have got the mutex. *last carries the word between calls.
 */
static int
holder_vanished(const struct mutex_impl *mi, uint32_t *last)
{
	uint32_t w = lock_word(mi);
	pid_t tid = (pid_t)(w & FUTEX_TID_MASK);
	int gone;

	if (w == 0 || (w & FUTEX_OWNER_DIED) != 0) {
		*last = 0;
		return 0;
	}
	/* ESRCH only: EPERM means the thread exists in another user's
	 * process. */
	gone = tid == 0 || (kill(tid, 0) < 0 && errno == ESRCH);
	if (!gone) {
		*last = 0;
		return 0;
	}
	if (*last == w)
		return 1;
	*last = w;
	return 0;
}

/* pthread_mutex_clocklock() on CLOCK_MONOTONIC, or CLOCK_REALTIME when
 * `realtime`, but see below. Returns a positive errno like pthreads. */
static int
lock_until(struct mutex_impl *mi, const struct timespec *abs, int realtime)
{
#ifdef MUTEX_TSAN
	/*
	 * ThreadSanitizer does not intercept pthread_mutex_clocklock, so it
	 * would not see the acquisition and would report races on the data
	 * the mutex protects. Under TSan only, wait with
	 * pthread_mutex_timedlock on CLOCK_REALTIME for the same length.
	 */
	uint64_t end, now, rel;
	struct timespec rt;

	if (realtime)
		return pthread_mutex_timedlock(&mi->u.pm, abs);
	/* Saturate: a far deadline must not wrap into the past. */
	if ((uint64_t)abs->tv_sec >= (uint64_t)INT64_MAX / NS_PER_SEC)
		end = (uint64_t)INT64_MAX;
	else
		end = (uint64_t)abs->tv_sec * NS_PER_SEC +
		      (uint64_t)abs->tv_nsec;
	now = shmkit__mono_ns();
	if (end <= now) {
		int rc = pthread_mutex_trylock(&mi->u.pm);

		return rc == EBUSY ? ETIMEDOUT : rc;
	}
	rel = end - now;
	if (rel > (uint64_t)INT64_MAX / 2)
		rel = (uint64_t)INT64_MAX / 2;
	clock_gettime(CLOCK_REALTIME, &rt);
	rel += (uint64_t)rt.tv_nsec;
	rt.tv_sec += (time_t)(rel / NS_PER_SEC);
	rt.tv_nsec = (long)(rel % NS_PER_SEC);
	return pthread_mutex_timedlock(&mi->u.pm, &rt);
#else
	return pthread_mutex_clocklock(
		&mi->u.pm, realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, abs);
#endif
}

static void
ns_to_timespec(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / NS_PER_SEC);
	ts->tv_nsec = (long)(ns % NS_PER_SEC);
}

int
shmkit_mutex_init(shmkit_mutex_t *m)
{
	struct mutex_impl *mi;
	pthread_mutexattr_t a;
	int rc;

	if (m == NULL)
		return -EINVAL;
	mi = impl(m);
	/* Relaxed: init has exclusive access by contract; the release store
	 * of READY at the end publishes everything. */
	atomic_store_explicit(&mi->state, MUTEX_STATE_INIT,
			      memory_order_relaxed);
	atomic_store_explicit(&mi->magic, MUTEX_MAGIC, memory_order_relaxed);
	atomic_store_explicit(&mi->layout, MUTEX_LAYOUT, memory_order_relaxed);
	mi->reserved = 0;
	memset(&mi->u, 0, sizeof(mi->u));
	rc = init_attr(&a);
	if (rc < 0)
		return rc;
	rc = pthread_mutex_init(&mi->u.pm, &a);
	pthread_mutexattr_destroy(&a);
	if (rc != 0)
		return -rc;
	/* Release: publishes the header and the pthread object above; pairs
	 * with the acquire load of state in check(). */
	atomic_store_explicit(&mi->state, MUTEX_STATE_READY,
			      memory_order_release);
	return 0;
}

int
shmkit_mutex_fini(shmkit_mutex_t *m)
{
	struct mutex_impl *mi;
	uint32_t w;
	int rc;

	if (m == NULL)
		return -EINVAL;
	mi = impl(m);
	rc = check(mi);
	if (rc < 0)
		return rc;
	/* glibc's destroy does not refuse a held robust mutex; we do, unless
	 * the holder is dead. */
	w = lock_word(mi);
	if ((w & FUTEX_TID_MASK) != 0 && (w & FUTEX_OWNER_DIED) == 0)
		return -EBUSY;
	rc = pthread_mutex_destroy(&mi->u.pm);
	if (rc != 0)
		return -rc;
	/* Release: orders the destroy before the state change for a peer
	 * that (against the contract) still looks; pairs with the acquire
	 * load in check(). */
	atomic_store_explicit(&mi->state, 0, memory_order_release);
	atomic_store_explicit(&mi->magic, 0, memory_order_relaxed);
	return 0;
}

int
shmkit_mutex_trylock(shmkit_mutex_t *m)
{
	int rc;

	if (m == NULL)
		return -EINVAL;
	rc = check(impl(m));
	if (rc < 0)
		return rc;
	return lock_result(impl(m), pthread_mutex_trylock(&impl(m)->u.pm));
}

int
shmkit_mutex_lock(shmkit_mutex_t *m)
{
	struct mutex_impl *mi;
	struct timespec abs;
	uint32_t last = 0;
	int rc;

	if (m == NULL)
		return -EINVAL;
	mi = impl(m);
	rc = check(mi);
	if (rc < 0)
		return rc;
	/* Uncontended: one atomic, no clock read. */
	rc = pthread_mutex_trylock(&mi->u.pm);
	if (rc != EBUSY)
		return lock_result(mi, rc);
	/* Contended: wait in slices, checking between them that the holder
	 * still exists, so a garbage lock word cannot make us wait for
	 * ever. */
	for (;;) {
		ns_to_timespec(shmkit__mono_ns() +
				       (uint64_t)SHMKIT_MUTEX_CHECK_MS *
					       1000000u,
			       &abs);
		rc = lock_until(mi, &abs, 0);
		if (rc != ETIMEDOUT)
			return lock_result(mi, rc);
		if (holder_vanished(mi, &last))
			return SHMKIT_ECORRUPT;
		rc = check(mi);
		if (rc < 0)
			return rc;
	}
}

int
shmkit_mutex_timedlock(shmkit_mutex_t *m, const struct timespec *timeout,
		       unsigned flags)
{
	/* Relative timeouts always run on CLOCK_MONOTONIC, as for events. */
	int realtime =
		(flags & SHMKIT_WAIT_REALTIME) && (flags & SHMKIT_WAIT_ABSTIME);
	struct timespec deadline;
	int forever, rc;

	/* No SHMKIT_WAIT_INTR: the wait is glibc's, which restarts after
	 * every signal handler, so we could not end it with -EINTR. Refusing
	 * the flag beats silently ignoring it. */
	if (m == NULL || (flags & ~MUTEX_WAIT_FLAGS) != 0)
		return -EINVAL;
	/* Read the clock once, before the object is checked, so a relative
	 * timeout counts from the call. */
	rc = shmkit__deadline(&deadline, &forever, timeout,
			      (flags & SHMKIT_WAIT_ABSTIME) != 0, realtime);
	if (rc < 0)
		return rc;
	if (forever)
		return shmkit_mutex_lock(m);
	rc = check(impl(m));
	if (rc < 0)
		return rc;
	return lock_result(impl(m), lock_until(impl(m), &deadline, realtime));
}

int
shmkit_mutex_unlock(shmkit_mutex_t *m)
{
	int rc;

	if (m == NULL)
		return -EINVAL;
	rc = check(impl(m));
	if (rc < 0)
		return rc;
	rc = pthread_mutex_unlock(&impl(m)->u.pm);
	return rc == EINVAL ? SHMKIT_ECORRUPT : -rc;
}

int
shmkit_mutex_consistent(shmkit_mutex_t *m)
{
	struct mutex_impl *mi;
	int rc;

	if (m == NULL)
		return -EINVAL;
	mi = impl(m);
	rc = check(mi);
	if (rc < 0)
		return rc;
	/* glibc lets any thread mark the mutex consistent; only the thread
	 * that got EOWNERDEAD has repaired anything. */
	if (!shmkit__mutex_held(m))
		return -EPERM;
	rc = pthread_mutex_consistent(&mi->u.pm);
	return -rc;
}
