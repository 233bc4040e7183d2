/*
 * Helper-thread plumbing for the pollable descriptors (see fd_helper.h).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "sync/fd_helper.h"
#include "sync/futex.h"

/* Stack of a helper thread: it only loops on a futex and a write(2). */
#define HELPER_STACK (256u * 1024u)

void
shmkit__fd_helper_notify(int efd)
{
	uint64_t one = 1;

	/* The eventfd is non-blocking and its counter cannot realistically
	 * reach its 2^64 - 2 limit; EINTR cannot happen with all signals
	 * blocked, but retry anyway. */
	while (write(efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

int
shmkit__fd_helper_start(int *efd, pthread_t *thread, void *(*fn)(void *),
			void *arg)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int rc;

	/* Written before the thread starts: fn reads it through arg. */
	*efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*efd < 0)
		return -errno;
	rc = -pthread_attr_init(&attr);
	if (rc < 0)
		goto out_close;
	rc = -pthread_attr_setstacksize(&attr, HELPER_STACK);
	if (rc < 0)
		goto out_attr;
	/* The helper inherits this mask: with every signal blocked it never
	 * runs the program's handlers on the program's behalf. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(thread, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out_attr:
	pthread_attr_destroy(&attr);
out_close:
	if (rc < 0)
		close(*efd);
	return rc;
}

void
shmkit__fd_helper_stop(uint32_t *stop, const uint32_t *done, uint32_t *word,
		       pthread_t thread)
{
	const struct timespec pause = {0, 1000000};

	/* Release: pairs with the helper's acquire loads of stop. */
	__atomic_store_n(stop, 1, __ATOMIC_RELEASE);
	/* The helper may have checked stop just before we set it and be on
	 * its way into FUTEX_WAIT, where one wake could miss it: repeat the
	 * wake (only helper threads listen on this bit) until it has left.
	 * Acquire: pairs with the helper's release store of done. */
	while (!__atomic_load_n(done, __ATOMIC_ACQUIRE)) {
		shmkit__futex_wake(word, INT_MAX, SHMKIT__FUTEX_BIT_HELPER);
		nanosleep(&pause, NULL);
	}
	pthread_join(thread, NULL);
}
