/*
 * The futex event of <shmkit/event.h>: a generation counter and a
 * signalled flag packed into one 32-bit futex word, a count of sleeping
 * waiters that lets shmkit_event_set() skip the system call when nobody
 * sleeps, and the helper thread behind the pollable descriptor.
 *
 * Lost wake-ups. A waiter registers in priv_waiters and then re-reads the
 * word before sleeping; a setter changes the word and then reads
 * priv_waiters. All four accesses are sequentially consistent, so in
 * their single total order either the setter's read sees the waiter
 * registered (and it calls FUTEX_WAKE after its change), or the waiter's
 * re-read sees the change (and it does not sleep). In the first case the
 * kernel closes the remaining gap: FUTEX_WAIT compares the word with the
 * value the waiter last saw under the wait-queue lock, so a change that
 * lands before the waiter is queued makes it return -EAGAIN instead of
 * sleeping, and one that lands after finds it queued and wakes it.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/event.h>

#include "common/internal.h"
#include "sync/fd_helper.h"
#include "sync/futex.h"

#define EVENT_MAGIC	0x564b5345u /* "ESKV" in memory on little endian */
#define EVENT_VERSION	1u
#define EVENT_SIGNALLED 0x1u
#define EVENT_GEN_ONE	0x2u /* generation lives above the flag bit */
/* More sleepers than any real machine holds: a larger count is garbage. */
#define EVENT_MAX_WAITERS (1u << 24)
#define WAIT_FLAGS_ALL                                                         \
	(SHMKIT_WAIT_ABSTIME | SHMKIT_WAIT_REALTIME | SHMKIT_WAIT_INTR)

_Static_assert(sizeof(shmkit_event_t) == 32, "shared ABI");
_Static_assert(_Alignof(shmkit_event_t) == 4, "shared ABI");

enum wait_kind {
	WAIT_FLAG, /* until signalled (auto mode: and consume it) */
	WAIT_SEQ,  /* until the generation differs from *seq */
};

/* Validate what a peer may have scribbled on; 0 or an error code. */
static int
check(shmkit_event_t *ev)
{
	if (ev == NULL)
		return -EINVAL;
	/* Acquire: pairs with the release store of the magic in
	 * shmkit_event_init(), so the mode and version read after it are the
	 * ones init wrote. */
	if (__atomic_load_n(&ev->priv_magic, __ATOMIC_ACQUIRE) != EVENT_MAGIC)
		return SHMKIT_ECORRUPT;
	/* Relaxed (here and below): immutable after init, ordered by the
	 * acquire above; the waiter count is only range-checked. */
	if (__atomic_load_n(&ev->priv_version, __ATOMIC_RELAXED) !=
	    EVENT_VERSION)
		return SHMKIT_EVERSION;
	if (__atomic_load_n(&ev->priv_mode, __ATOMIC_RELAXED) >
	    SHMKIT_EVENT_AUTO)
		return SHMKIT_ECORRUPT;
	if (__atomic_load_n(&ev->priv_waiters, __ATOMIC_RELAXED) >
	    EVENT_MAX_WAITERS)
		return SHMKIT_ECORRUPT;
	return 0;
}

int
shmkit_event_init(shmkit_event_t *ev, unsigned mode)
{
	if (ev == NULL || ((uintptr_t)ev & 3) != 0 || mode > SHMKIT_EVENT_AUTO)
		return -EINVAL;
	/* Relaxed: nobody may use the event yet; the magic store below
	 * publishes these. */
	__atomic_store_n(&ev->priv_version, EVENT_VERSION, __ATOMIC_RELAXED);
	__atomic_store_n(&ev->priv_word, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ev->priv_waiters, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ev->priv_mode, mode, __ATOMIC_RELAXED);
	ev->priv_reserved[0] = 0;
	ev->priv_reserved[1] = 0;
	ev->priv_reserved[2] = 0;
	/* Release: publishes the fields above; pairs with the acquire load
	 * of the magic in check(). */
	__atomic_store_n(&ev->priv_magic, EVENT_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

int
shmkit_event_fini(shmkit_event_t *ev)
{
	int rc = check(ev);

	if (rc < 0)
		return rc;
	/* Relaxed: a snapshot; a waiter arriving after fini is the caller's
	 * bug and gets SHMKIT_ECORRUPT from check(). */
	if (__atomic_load_n(&ev->priv_waiters, __ATOMIC_RELAXED) != 0)
		return -EBUSY;
	/* Relaxed: retiring publishes no data; check() rejects the event
	 * from now on. */
	__atomic_store_n(&ev->priv_magic, 0, __ATOMIC_RELAXED);
	return 0;
}

int
shmkit_event_set(shmkit_event_t *ev)
{
	uint32_t w, nw;
	int rc = check(ev);

	if (rc < 0)
		return rc;
	/* Relaxed: only the first guess for the CAS below. */
	w = __atomic_load_n(&ev->priv_word, __ATOMIC_RELAXED);
	do {
		nw = (w + EVENT_GEN_ONE) | EVENT_SIGNALLED;
		/* Seq_cst: release publishes whatever the caller wrote before
		 * set() to waiters that acquire the word; seq_cst orders this
		 * change before the load of priv_waiters below, the setter's
		 * half of the pairing with the waiter's registration in
		 * event_wait() (see the file comment). */
	} while (!__atomic_compare_exchange_n(
		&ev->priv_word, &w, nw, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
	/* Seq_cst: pairs with the seq_cst increment of priv_waiters and the
	 * re-read of the word in event_wait(). */
	if (__atomic_load_n(&ev->priv_waiters, __ATOMIC_SEQ_CST) != 0) {
		rc = shmkit__futex_wake(&ev->priv_word, INT_MAX,
					SHMKIT__FUTEX_BIT_ALL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
shmkit_event_reset(shmkit_event_t *ev)
{
	int rc = check(ev);

	if (rc < 0)
		return rc;
	/* Relaxed: clearing the flag publishes nothing and wakes nobody;
	 * the next set() is the release that matters. */
	__atomic_fetch_and(&ev->priv_word, ~EVENT_SIGNALLED, __ATOMIC_RELAXED);
	return 0;
}

/*
 * Is the wait over for word value w? For auto mode this also tries to
 * consume the flag; returns 1 (done), 0 (sleep on w) or -1 (the word
 * moved under us: re-read it).
 */
static int
satisfied(shmkit_event_t *ev, enum wait_kind kind, uint32_t w, uint32_t *seq)
{
	if (kind == WAIT_SEQ) {
		if ((w >> 1) == *seq)
			return 0;
		*seq = w >> 1;
		return 1;
	}
	if (!(w & EVENT_SIGNALLED))
		return 0;
	/* Relaxed: immutable after init. */
	if (__atomic_load_n(&ev->priv_mode, __ATOMIC_RELAXED) ==
	    SHMKIT_EVENT_MANUAL)
		return 1;
	/* Acquire: consuming the signal acquires what the setter published;
	 * pairs with the seq_cst CAS in shmkit_event_set(). */
	if (__atomic_compare_exchange_n(&ev->priv_word, &w,
					w & ~EVENT_SIGNALLED, 0,
					__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return 1;
	return -1;
}

/*
 * The one wait loop. bitset picks the futex wait queue (helpers of the
 * pollable fd use their own bit); stop, when not NULL, is a process-local
 * flag that ends the wait with -ECANCELED after a wake-up.
 */
static int
event_wait(shmkit_event_t *ev, enum wait_kind kind, uint32_t *seq,
	   const struct timespec *timeout, unsigned flags, uint32_t bitset,
	   const uint32_t *stop)
{
	/* Relative timeouts always run on CLOCK_MONOTONIC. */
	int realtime =
		(flags & SHMKIT_WAIT_REALTIME) && (flags & SHMKIT_WAIT_ABSTIME);
	struct timespec deadline;
	int forever, rc, s;
	uint32_t w, n;

	rc = check(ev);
	if (rc < 0)
		return rc;
	if ((flags & ~WAIT_FLAGS_ALL) != 0)
		return -EINVAL;
	rc = shmkit__deadline(&deadline, &forever, timeout,
			      (flags & SHMKIT_WAIT_ABSTIME) != 0, realtime);
	if (rc < 0)
		return rc;
	for (;;) {
		/* Acquire: pairs with the seq_cst CAS in shmkit_event_set(),
		 * so data written before the set is visible once we return
		 * having seen it. */
		w = __atomic_load_n(&ev->priv_word, __ATOMIC_ACQUIRE);
		s = satisfied(ev, kind, w, seq);
		if (s > 0)
			return 0;
		if (s < 0)
			continue;
		/* Acquire: pairs with the release store in
		 * shmkit__fd_helper_stop(); orders nothing else. */
		if (stop != NULL && __atomic_load_n(stop, __ATOMIC_ACQUIRE))
			return -ECANCELED;
		if (!forever && shmkit__deadline_passed(&deadline, realtime))
			return -ETIMEDOUT;
		/* Seq_cst: the waiter's half of the pairing with set() (see
		 * the file comment): register, then re-read the word. */
		n = __atomic_fetch_add(&ev->priv_waiters, 1, __ATOMIC_SEQ_CST);
		if (n >= EVENT_MAX_WAITERS) {
			rc = SHMKIT_ECORRUPT;
		} else if (__atomic_load_n(&ev->priv_word, __ATOMIC_SEQ_CST) !=
			   w) {
			rc = 0; /* changed since we looked: re-check */
		} else {
			rc = shmkit__futex_wait(&ev->priv_word, w,
						forever ? NULL : &deadline,
						realtime, bitset);
		}
		/* Relaxed: leaving publishes nothing; a setter that still
		 * counts us merely makes a needless FUTEX_WAKE. */
		__atomic_fetch_sub(&ev->priv_waiters, 1, __ATOMIC_RELAXED);
		if (rc == -EINTR && (flags & SHMKIT_WAIT_INTR))
			return -EINTR;
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -ETIMEDOUT)
			return rc;
		/* A peer may have scribbled on the event while we slept. */
		rc = check(ev);
		if (rc < 0)
			return rc;
	}
}

int
shmkit_event_trywait(shmkit_event_t *ev)
{
	uint32_t w;
	int rc = check(ev), s;

	if (rc < 0)
		return rc;
	do {
		/* Acquire: pairs with the seq_cst CAS in shmkit_event_set(). */
		w = __atomic_load_n(&ev->priv_word, __ATOMIC_ACQUIRE);
		s = satisfied(ev, WAIT_FLAG, w, NULL);
	} while (s < 0);
	return s > 0 ? 0 : -EAGAIN;
}

int
shmkit_event_wait(shmkit_event_t *ev, const struct timespec *timeout,
		  unsigned flags)
{
	return event_wait(ev, WAIT_FLAG, NULL, timeout, flags,
			  SHMKIT__FUTEX_BIT_WAITER, NULL);
}

int
shmkit_event_wait_seq(shmkit_event_t *ev, uint32_t *seq,
		      const struct timespec *timeout, unsigned flags)
{
	uint32_t s;
	int rc;

	if (seq == NULL)
		return -EINVAL;
	/* The generation has 31 bits; compare on those only, and write *seq
	 * only on success. */
	s = *seq & 0x7fffffffu;
	rc = event_wait(ev, WAIT_SEQ, &s, timeout, flags,
			SHMKIT__FUTEX_BIT_WAITER, NULL);
	if (rc == 0)
		*seq = s;
	return rc;
}

int
shmkit_event_seq(shmkit_event_t *ev)
{
	int rc = check(ev);

	if (rc < 0)
		return rc;
	/* Acquire: pairs with the seq_cst CAS in shmkit_event_set(), so a
	 * caller that sees generation g also sees what preceded set g. */
	return (int)(__atomic_load_n(&ev->priv_word, __ATOMIC_ACQUIRE) >> 1);
}

int
shmkit_event_waiters(shmkit_event_t *ev)
{
	int rc = check(ev);

	if (rc < 0)
		return rc;
	/* Relaxed: a diagnostic snapshot. */
	return (int)__atomic_load_n(&ev->priv_waiters, __ATOMIC_RELAXED);
}

/*
 * Pollable descriptor: a helper thread per handle turns generation
 * changes into eventfd writes (see event.h for why not something else).
 */
struct shmkit_event_fd {
	shmkit_event_t *ev;
	pid_t pid; /* the process whose thread the helper is */
	int efd;
	pthread_t thread;
	uint32_t seq;  /* helper thread only */
	uint32_t stop; /* close -> helper: stop waiting */
	uint32_t done; /* helper -> close: about to exit */
	int error;     /* helper -> ack: why it stopped early */
};

static void *
helper_main(void *arg)
{
	struct shmkit_event_fd *h = arg;
	int rc;

	/* Acquire: pairs with the release store in shmkit__fd_helper_stop().
	 * Checked here too, not only inside event_wait(), so that a storm of
	 * sets that always finds the wait satisfied cannot keep the helper
	 * from seeing it. */
	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
		rc = event_wait(h->ev, WAIT_SEQ, &h->seq, NULL, 0,
				SHMKIT__FUTEX_BIT_HELPER, &h->stop);
		if (rc == -ECANCELED)
			break;
		if (rc < 0) {
			/* Release: pairs with the acquire load in
			 * shmkit_event_fd_ack(). */
			__atomic_store_n(&h->error, rc, __ATOMIC_RELEASE);
			shmkit__fd_helper_notify(h->efd);
			break;
		}
		shmkit__fd_helper_notify(h->efd);
	}
	/* Release: pairs with the acquire load in shmkit__fd_helper_stop();
	 * after it the helper touches nothing of the handle. */
	__atomic_store_n(&h->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

int
shmkit_event_fd_open(shmkit_event_fd_t **out, shmkit_event_t *ev)
{
	struct shmkit_event_fd *h;
	int rc;

	if (out == NULL)
		return -EINVAL;
	rc = shmkit_event_seq(ev);
	if (rc < 0)
		return rc;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->ev = ev;
	h->pid = getpid();
	h->seq = (uint32_t)rc;
	rc = shmkit__fd_helper_start(&h->efd, &h->thread, helper_main, h);
	if (rc < 0) {
		free(h);
		return rc;
	}
	*out = h;
	return 0;
}

int
shmkit_event_fd(const shmkit_event_fd_t *h)
{
	if (h == NULL)
		return -EINVAL;
	return h->efd;
}

int
shmkit_event_fd_ack(shmkit_event_fd_t *h)
{
	uint64_t v;
	int err;

	if (h == NULL)
		return -EINVAL;
	/* Acquire: pairs with the release store in helper_main(). */
	err = __atomic_load_n(&h->error, __ATOMIC_ACQUIRE);
	if (err < 0)
		return err;
	if (read(h->efd, &v, sizeof(v)) < 0) {
		if (errno == EAGAIN)
			return 0;
		return -errno;
	}
	return v > INT_MAX ? INT_MAX : (int)v;
}

int
shmkit_event_fd_close(shmkit_event_fd_t *h)
{
	if (h == NULL)
		return 0;
	/* A forked child has the handle but not the thread: waiting for it
	 * would never end. Misuse, but fail safe: drop the copy. */
	if (getpid() != h->pid) {
		close(h->efd);
		free(h);
		return 0;
	}
	/* Stops with the acquire loads of stop in event_wait() and
	 * helper_main(), and its release store of done. */
	shmkit__fd_helper_stop(&h->stop, &h->done, &h->ev->priv_word,
			       h->thread);
	close(h->efd);
	free(h);
	return 0;
}
