/*
 * How channel handles wait: spinning, sleeping on a futex, waking, and
 * the pollable descriptor of shmkit_chan_fd().
 *
 * Every wait is a loop around a pattern's "try" function, which makes one
 * bounded attempt. BUSY handles only spin; ADAPTIVE handles spin a few
 * microseconds, then sleep; BLOCK handles sleep at once. Sleeps are cut
 * into slices, and between slices (and every STUCK_NS while spinning) the
 * waiter looks for a dead peer holding it up and re-checks the header, so
 * neither a dead peer nor a scribbled channel keeps it past its timeout.
 *
 * Lost wake-ups (Dekker, made asymmetric). There are two wake words,
 * "data" (consumers sleep on it) and "room" (producers). The low bit of
 * a word, WAKE_ASLEEP, says "someone may be asleep on this generation";
 * the bits above count generations. A waiter sets the bit (a seq_cst
 * fetch_or, which also reads the generation it will sleep on), runs a
 * heavy barrier, then runs try again, and sleeps only while the word
 * still holds the value it set. A waker makes its change (a release
 * store the try functions read), runs a light barrier, then reads the
 * word: the bit clear, it is done; the bit set, it moves the word to the
 * next generation with the bit clear (a CAS), and makes the FUTEX_WAKE
 * only if its own CAS did that. The pair must order each side's store
 * before its load; then either the waker sees the bit or the waiter's
 * try sees the change, so no waiter sleeps through a change. A waker
 * whose CAS fails lost to another waker, which wakes the same sleepers;
 * if a new waiter set the bit again meanwhile, its fetch_or came after
 * our load in the word's order, so (by the same pairing) its try sees
 * our change.
 *
 * So a message costs its waker one plain load of a line nobody writes
 * while nobody sleeps, and a sleep episode costs at most one FUTEX_WAKE
 * however many messages follow it: the bit stays clear until a waiter
 * announces itself again. Counting sleepers instead would keep wakers
 * calling FUTEX_WAKE on every message for as long as anyone slept.
 *
 * The light side runs on every message, so it must not be a locked
 * instruction: one drains the store buffer and stalls the producer on
 * each message's cache-line transfer (measured: 64-byte throughput falls
 * from tens of millions of messages a second to under ten). So in the
 * common case the light barrier is only a compiler barrier, and the heavy
 * side is membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED), which makes every
 * running thread of every registered process (each process registers
 * when it opens its first handle) execute a full barrier before it
 * returns: as if every waker had a full barrier between its store and its
 * load (the pairing membarrier(2) describes). It costs about a
 * microsecond, once per sleep, never per message.
 *
 * Fallback. A process that cannot register sets the channel's "nomb"
 * flags at open; from then on every light barrier is a seq_cst RMW on the
 * word the waiter's RMW touched (for wake-ups the wake word itself: the
 * waker reads it with a fetch_or of 0), which pairs with the waiter's own
 * seq_cst RMW through that word's modification order (whichever RMW
 * comes second reads from, and synchronises with, the first), so
 * membarrier is not needed. A waker that read the flag just before it
 * was set can still miss a sleeper once: the sleep slice bounds that.
 *
 * The futex closes the rest: the waiter read the word with its fetch_or,
 * before its barrier, so a bump after that makes FUTEX_WAIT return at
 * once. Nobody asleep: no system call.
 */
#include <errno.h>
#include <limits.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "chan/chan_impl.h"
#include "sync/fd_helper.h"
#include "sync/futex.h"
#include "sync/sync_impl.h"

#define NS_PER_SEC 1000000000LL
/* Spins before an adaptive waiter sleeps (a few microseconds), and
 * between clock checks of a busy one. */
#define SPIN_ITERS 2048
/* Longest single sleep: bounds how late a waiter notices a dead peer or
 * a wake-up lost by a waker that died between its change and its wake. */
#define SLICE_NS (50LL * 1000000LL)
/* How often a waiter looks for a dead peer holding it up. */
#define STUCK_NS (20LL * 1000000LL)

void
shmkit__chan_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static struct shmkit__chan_wake *
wake_of(struct shmkit_chan *ch, int room)
{
	return room ? &ch->shm->room : &ch->shm->data;
}

/* This process is registered for the heavy barrier: the pid that
 * registered (registration is per process; a forked child does it
 * again when it opens its own handles). */
static int mb_pid;
int shmkit__chan_mb_ok;

/* Turn the fallback on for everyone on this channel. */
static void
set_nomb(struct shmkit_chan *ch)
{
	/* Seq_cst: the flag must be visible before our own waits rely on
	 * the RMW pairing; rare, so the cost is irrelevant. */
	__atomic_store_n(&ch->shm->data.nomb, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ch->shm->room.nomb, 1, __ATOMIC_SEQ_CST);
}

void
shmkit__chan_sync_init(struct shmkit_chan *ch)
{
	/* Relaxed (all three): process-local flags; registering twice is
	 * harmless, and a thread that sees mb_ok set registered itself or
	 * saw another thread do it before opening its handle. */
	if (__atomic_load_n(&mb_pid, __ATOMIC_RELAXED) != ch->pid) {
		__atomic_store_n(
			&shmkit__chan_mb_ok,
			syscall(SYS_membarrier,
				MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0,
				0) == 0,
			__ATOMIC_RELAXED);
		__atomic_store_n(&mb_pid, ch->pid, __ATOMIC_RELAXED);
	}
	if (!__atomic_load_n(&shmkit__chan_mb_ok, __ATOMIC_RELAXED)) {
		SHMKIT_DEBUG("chan", "no membarrier: slower wake-ups");
		set_nomb(ch);
	}
}

void
shmkit__chan_light(struct shmkit_chan *ch, uint32_t *sync)
{
	if (shmkit__chan_light_is_free(&ch->shm->data)) {
		/* Pairs with membarrier() in shmkit__chan_heavy(). */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		return;
	}
	/* Seq_cst: pairs with the waiter's RMW on the same word. */
	__atomic_fetch_add(sync, 0, __ATOMIC_SEQ_CST);
}

void
shmkit__chan_heavy(struct shmkit_chan *ch)
{
	/* Relaxed: see shmkit__chan_light_is_free(). */
	if (__atomic_load_n(&ch->shm->data.nomb, __ATOMIC_RELAXED) &&
	    __atomic_load_n(&ch->shm->room.nomb, __ATOMIC_RELAXED))
		return; /* every waker uses the RMW pairing */
	if (!__atomic_load_n(&shmkit__chan_mb_ok, __ATOMIC_RELAXED) ||
	    syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) < 0)
		set_nomb(ch);
}

/* Nanoseconds left until deadline on its clock (<= 0: passed). */
static int64_t
left_ns(const struct timespec *deadline, int realtime)
{
	struct timespec now;

	clock_gettime(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, &now);
	return ((int64_t)deadline->tv_sec - (int64_t)now.tv_sec) * NS_PER_SEC +
	       (deadline->tv_nsec - now.tv_nsec);
}

/* Announce a waiter on wk (the waiter's half of the pairing at the top
 * of the file): set the bit, then the heavy barrier. Returns the word to
 * sleep on. */
static uint32_t
announce(struct shmkit_chan *ch, struct shmkit__chan_wake *wk)
{
	uint32_t w;

	/* Seq_cst: pairs with the waker's load of the word after its light
	 * barrier (or with its fetch_or in the fallback) in
	 * shmkit__chan_wake(); the heavy barrier is this side's fence. */
	w = __atomic_fetch_or(&wk->word, WAKE_ASLEEP, __ATOMIC_SEQ_CST);
	shmkit__chan_heavy(ch);
	return w | WAKE_ASLEEP;
}

/* One sleep of at most max_ns; returns try's verdict, or 0 after the
 * sleep, or -EINTR when asked for and a handler ran. */
static int
sleep_once(struct shmkit_chan *ch, int room, shmkit__chan_try_fn try,
	   int64_t max_ns, unsigned flags)
{
	struct shmkit__chan_wake *wk = wake_of(ch, room);
	struct timespec abs;
	uint64_t now;
	uint32_t w;
	int rc, frc = 0;

	w = announce(ch, wk);
	rc = try(ch);
	if (rc != 0)
		return rc; /* the bit stays: one needless wake at most */
	if (max_ns > SLICE_NS)
		max_ns = SLICE_NS;
	now = shmkit__mono_ns() + (uint64_t)max_ns;
	abs.tv_sec = (time_t)(now / NS_PER_SEC);
	abs.tv_nsec = (long)(now % NS_PER_SEC);
	frc = shmkit__futex_wait(&wk->word, w, &abs, 0,
				 SHMKIT__FUTEX_BIT_WAITER);
	if (frc == -EINTR && (flags & SHMKIT_WAIT_INTR))
		return -EINTR;
	return 0;
}

int
shmkit__chan_wait_slow(struct shmkit_chan *ch, int room,
		       shmkit__chan_try_fn try, const struct timespec *timeout,
		       unsigned flags)
{
	int realtime =
		(flags & SHMKIT_WAIT_ABSTIME) && (flags & SHMKIT_WAIT_REALTIME);
	struct timespec deadline;
	int forever, rc, i, spins;
	int64_t left = SLICE_NS;
	uint64_t now;

	if (flags & SHMKIT_CHAN_NONBLOCK)
		return -EAGAIN;
	if (room && ch->lay.policy == SHMKIT_CHAN_FULL_FAIL)
		return -EAGAIN;
	rc = shmkit__deadline(&deadline, &forever, timeout,
			      (flags & SHMKIT_WAIT_ABSTIME) != 0, realtime);
	if (rc < 0)
		return rc;
	spins = ch->wait == SHMKIT_CHAN_WAIT_BLOCK ? 0 : SPIN_ITERS;
	for (;;) {
		for (i = 0; i < spins; i++) {
			shmkit__chan_cpu_relax();
			rc = try(ch);
			if (rc != 0)
				return rc < 0 ? rc : 0;
		}
		rc = shmkit__chan_check(ch);
		if (rc < 0)
			return rc;
		if (!forever) {
			left = left_ns(&deadline, realtime);
			if (left <= 0)
				return -ETIMEDOUT;
		}
		now = shmkit__mono_ns();
		if (now - ch->last_stuck >= (uint64_t)STUCK_NS) {
			ch->last_stuck = now;
			rc = ch->ops->stuck(ch, room);
			if (rc == 0)
				rc = try(ch);
			if (rc != 0)
				return rc < 0 ? rc : 0;
		}
		if (ch->wait == SHMKIT_CHAN_WAIT_BUSY) {
			/* Costs nothing when we have a CPU to ourselves, and
			 * lets the peer we wait for run when we do not. */
			sched_yield();
			continue;
		}
		rc = sleep_once(ch, room, try, forever ? SLICE_NS : left,
				flags);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
}

void
shmkit__chan_wake_slow(struct shmkit_chan *ch, int room)
{
	struct shmkit__chan_wake *wk = wake_of(ch, room);
	uint32_t w;

	/* The waker's half of the pairing at the top of the file: the
	 * caller's publishing store came first. */
	if (shmkit__chan_light_is_free(wk)) {
		/* Pairs with membarrier() in announce(). */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		/* Relaxed: ordered by the barrier pairing above. */
		w = __atomic_load_n(&wk->word, __ATOMIC_RELAXED);
	} else {
		/* Seq_cst: the fallback pairing with the waiter's fetch_or
		 * in announce(). */
		w = __atomic_fetch_or(&wk->word, 0, __ATOMIC_SEQ_CST);
	}
	if (!(w & WAKE_ASLEEP))
		return;
	/* Seq_cst: a waiter that reads the new generation also sees the
	 * change published before it; failure (relaxed) means another
	 * waker moved the word and wakes the sleepers of w itself. */
	if (!__atomic_compare_exchange_n(&wk->word, &w, w + 1, 0,
					 __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return;
	shmkit__futex_wake(&wk->word, INT_MAX, SHMKIT__FUTEX_BIT_ALL);
}

/*
 * The pollable descriptor: a helper thread sleeps on the wake word as a
 * waiter would and turns each bump into an eventfd write. It sets the
 * bit again before each write, so a change made after that makes a
 * waker bump the word again, and one made before it is seen by the
 * program's try after it reads the eventfd (the pairing at the top).
 */
struct shmkit__chan_fd {
	struct shmkit_chan *ch;
	struct shmkit__chan_wake *wk;
	int efd;
	pthread_t thread;
	uint32_t stop; /* close -> helper */
	uint32_t done; /* helper -> close */
};

static void *
helper_main(void *arg)
{
	struct shmkit__chan_fd *h = arg;
	struct timespec abs;
	uint32_t w, nw;
	uint64_t t;

	w = announce(h->ch, h->wk);
	shmkit__fd_helper_notify(h->efd); /* messages may be waiting already */
	/* Acquire: pairs with the release store of stop in
	 * shmkit__fd_helper_stop(). */
	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
		t = shmkit__mono_ns() + (uint64_t)SLICE_NS;
		abs.tv_sec = (time_t)(t / NS_PER_SEC);
		abs.tv_nsec = (long)(t % NS_PER_SEC);
		shmkit__futex_wait(&h->wk->word, w, &abs, 0,
				   SHMKIT__FUTEX_BIT_HELPER);
		/* Seq_cst: set the bit again, as in announce(); the heavy
		 * barrier follows only when a waker moved the word (else the
		 * previous one still covers us). */
		nw = __atomic_fetch_or(&h->wk->word, WAKE_ASLEEP,
				       __ATOMIC_SEQ_CST) |
		     WAKE_ASLEEP;
		if (nw != w) {
			shmkit__chan_heavy(h->ch);
			shmkit__fd_helper_notify(h->efd);
		}
		w = nw;
	}
	/* Release: pairs with the acquire load of done in
	 * shmkit__fd_helper_stop(). */
	__atomic_store_n(&h->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

SHMKIT_API int
shmkit_chan_fd(shmkit_chan_t *ch)
{
	struct shmkit__chan_fd *h;
	int rc;

	if (ch == NULL)
		return -EINVAL;
	if (ch->fd != NULL)
		return ch->fd->efd;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->ch = ch;
	h->wk = wake_of(ch, ch->role == SHMKIT_CHAN_PRODUCER);
	rc = shmkit__fd_helper_start(&h->efd, &h->thread, helper_main, h);
	if (rc < 0) {
		free(h);
		return rc;
	}
	ch->fd = h;
	return h->efd;
}

SHMKIT_API int
shmkit_chan_fd_ack(shmkit_chan_t *ch)
{
	uint64_t v;

	if (ch == NULL || ch->fd == NULL)
		return -EINVAL;
	if (read(ch->fd->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

void
shmkit__chan_fd_close(struct shmkit_chan *ch)
{
	struct shmkit__chan_fd *h = ch->fd;

	if (h == NULL)
		return;
	ch->fd = NULL;
	if (getpid() == ch->pid) {
		/* Stops with the acquire load of stop in helper_main() and
		 * its release store of done. */
		shmkit__fd_helper_stop(&h->stop, &h->done, &h->wk->word,
				       h->thread);
	}
	close(h->efd);
	free(h);
}
