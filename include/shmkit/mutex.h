/*
 * shmkit/mutex.h: a robust, process-shared mutex that lives in shared
 * memory.
 *
 * A shmkit_mutex_t is placed by the caller anywhere in memory that every
 * user maps (a segment, an anonymous MAP_SHARED mapping before fork) and is
 * set up once with shmkit_mutex_init(). It holds no pointers and is 64
 * bytes, 8-byte aligned, in every build, so it can sit at a fixed offset of
 * a shared layout. Processes that share a mutex must run the same
 * architecture and word size (a 32-bit process attaching a mutex made by a
 * 64-bit one gets SHMKIT_EABI) and the same PID namespace (ownership is
 * recorded as a thread id).
 *
 * Robustness: when the holder dies, or execs, while holding the mutex, the
 * kernel marks it and the next locker gets -EOWNERDEAD. That locker holds
 * the mutex; it repairs the data the mutex protects, then calls
 * shmkit_mutex_consistent() and carries on. If it unlocks without doing so,
 * the mutex becomes unrecoverable: every later lock returns
 * -ENOTRECOVERABLE and the object must be re-made with shmkit_mutex_init().
 * If the repairer dies too, the next locker gets -EOWNERDEAD again.
 *
 * Every call first validates the object's own header (magic, state,
 * layout) and, with glibc, the type bits of the pthread mutex inside it, so
 * garbage written by a peer gives SHMKIT_ECORRUPT rather than undefined
 * behaviour. A lock word that names a thread which does not exist makes
 * shmkit_mutex_lock() return SHMKIT_ECORRUPT after about two seconds
 * instead of waiting for ever. What validation cannot catch: a peer that
 * scribbles over the mutex while this process holds it, in particular over
 * the robust-list links glibc keeps inside it, can still crash this
 * process at unlock. Shared memory writable by an untrusted peer cannot be
 * protected against that by any lock stored in it.
 *
 * Threads and processes: every function may be called concurrently from
 * any thread of any process that maps the mutex, except init and fini,
 * which need exclusive access. The mutex is error-checking: relocking it
 * from the owning thread gives -EDEADLK, unlocking it from any other thread
 * gives -EPERM. Ownership belongs to a thread, not a process.
 */
#ifndef SHMKIT_MUTEX_H
#define SHMKIT_MUTEX_H

#include <stdint.h>
#include <time.h>

#include <shmkit/common.h>
#include <shmkit/wait.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The mutex as stored in shared memory. Opaque: use the functions below.
 * Zero-filled memory is not a valid mutex; call shmkit_mutex_init().
 */
typedef struct shmkit_mutex {
	uint64_t shmkit__opaque[8];
} __attribute__((aligned(8))) shmkit_mutex_t;

/* How long shmkit_mutex_lock() waits between checks that the holder still
 * exists (milliseconds). It never returns -ETIMEDOUT. */
#define SHMKIT_MUTEX_CHECK_MS 1000

/*
 * shmkit_mutex_init - make *m a fresh, unlocked mutex.
 *
 * m points into memory the caller owns (usually shared); shmkit keeps no
 * reference to it. Whatever *m held before is overwritten, so init also
 * re-makes an unrecoverable or corrupt mutex, but it must not run while
 * another thread or process uses the mutex.
 *
 * Returns 0, or -EINVAL (m is NULL), -ENOMEM, -EAGAIN (from
 * pthread_mutex_init).
 */
SHMKIT_API int shmkit_mutex_init(shmkit_mutex_t *m);

/*
 * shmkit_mutex_fini - retire a mutex nobody uses any more.
 *
 * Afterwards every call on *m returns SHMKIT_ECORRUPT until it is
 * initialised again. Needs exclusive access, like init.
 *
 * Returns 0, or -EINVAL (m is NULL), -EBUSY (the mutex is held by a live
 * thread; it is left as it was), SHMKIT_ECORRUPT, SHMKIT_EABI.
 */
SHMKIT_API int shmkit_mutex_fini(shmkit_mutex_t *m);

/*
 * shmkit_mutex_lock - take the mutex, waiting as long as it takes.
 *
 * Returns 0 (the caller holds the mutex), or:
 *   -EOWNERDEAD       the caller holds the mutex, but the previous holder
 *                     died holding it: repair the protected data, then
 *                     call shmkit_mutex_consistent().
 *   -ENOTRECOVERABLE  a holder unlocked after -EOWNERDEAD without making
 *                     the mutex consistent; it cannot be taken again.
 *   -EDEADLK          the calling thread already holds it.
 *   -EINVAL           m is NULL.
 *   SHMKIT_ECORRUPT   the object is not an initialised mutex, or its lock
 *                     word names a thread that does not exist.
 *   SHMKIT_EABI       made by a build with another memory layout.
 * Only 0 and -EOWNERDEAD leave the mutex held.
 */
SHMKIT_API int shmkit_mutex_lock(shmkit_mutex_t *m);

/*
 * shmkit_mutex_trylock - take the mutex only if that needs no wait.
 *
 * Returns as shmkit_mutex_lock(), and -EBUSY if another thread holds it.
 */
SHMKIT_API int shmkit_mutex_trylock(shmkit_mutex_t *m);

/*
 * shmkit_mutex_timedlock - take the mutex, waiting at most until the
 * timeout, which follows <shmkit/wait.h> exactly as for events and
 * semaphores: NULL waits forever (as shmkit_mutex_lock(), including its
 * check for a vanished holder); otherwise relative to now on
 * CLOCK_MONOTONIC, or with SHMKIT_WAIT_ABSTIME a deadline on
 * CLOCK_MONOTONIC, or on CLOCK_REALTIME with SHMKIT_WAIT_REALTIME too. A
 * zero relative timeout or a deadline already past still takes a free
 * mutex.
 *
 * SHMKIT_WAIT_INTR is not supported: the wait happens inside the C
 * library, which resumes it after every signal handler, so the flag gives
 * -EINVAL instead of being silently ignored. Use a semaphore or an event
 * where a signal must end the wait.
 *
 * Returns as shmkit_mutex_lock(), and -ETIMEDOUT if the timeout expired
 * with the mutex still held by another thread, -EINVAL if the timeout has
 * tv_nsec outside [0, 1e9) or a negative tv_sec, or flags has
 * SHMKIT_WAIT_INTR or an unknown bit.
 */
SHMKIT_API int shmkit_mutex_timedlock(shmkit_mutex_t *m,
				      const struct timespec *timeout,
				      unsigned flags);

/*
 * shmkit_mutex_unlock - release the mutex held by the calling thread.
 *
 * Unlocking after -EOWNERDEAD without shmkit_mutex_consistent() makes the
 * mutex unrecoverable for everyone (see above).
 *
 * Returns 0, or -EPERM (the calling thread does not hold it), -EINVAL (m is
 * NULL), SHMKIT_ECORRUPT, SHMKIT_EABI.
 */
SHMKIT_API int shmkit_mutex_unlock(shmkit_mutex_t *m);

/*
 * shmkit_mutex_consistent - declare the protected data repaired after a
 * lock call returned -EOWNERDEAD. The caller keeps holding the mutex and
 * unlocks it as usual.
 *
 * Returns 0, or -EPERM (the calling thread does not hold it), -EINVAL (m is
 * NULL, or the mutex is not in the owner-died state), SHMKIT_ECORRUPT,
 * SHMKIT_EABI.
 */
SHMKIT_API int shmkit_mutex_consistent(shmkit_mutex_t *m);

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_MUTEX_H */
