/*
 * demo_lock.c: the demo's "lock" section, a robust mutex outliving its
 * holder.
 *
 * A POSIX segment holds a shmkit mutex and a counter it protects. The demo
 * and a peer process each add 1 to the counter LOCK_ROUNDS times, taking
 * the lock for every addition. Then the peer takes the lock once more,
 * starts an addition and is killed with SIGKILL in the middle of it. The
 * demo's next lock call returns -EOWNERDEAD: the kernel saw the holder die.
 * Every addition writes an in-progress marker with the value it started
 * from before touching the counter, so the new holder can tell a
 * half-done addition and undo it; it then calls shmkit_mutex_consistent()
 * and the mutex works as before. The counter ends at exactly twice
 * LOCK_ROUNDS: nothing lost, nothing counted twice.
 */
#include "cli.h"
#include "demo.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/shmkit.h>

#define LOCK_SEG_SIZE 4096
#define LOCK_ROUNDS   1000

_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
	       "the handshake flag must be lock-free to work across processes");

/* Values of lock_area.state: how far the peer is. */
enum { LOCK_COUNTING = 0, LOCK_GO = 1, LOCK_HOLDING = 2 };

/* The demo's own layout at the start of the segment. */
struct lock_area {
	shmkit_mutex_t lock;
	/* Protected by lock. */
	uint64_t count;
	uint64_t saved;	      /* count when the addition under way began */
	uint32_t in_progress; /* 1 from the start of an addition to its end */
	/* Outside the lock: the demo tells the peer when to take the lock
	 * for the last time, the peer says when it holds it. */
	atomic_uint state;
};
_Static_assert(sizeof(struct lock_area) <= LOCK_SEG_SIZE, "fits a segment");

static struct timespec
ms_to_ts(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000L};

	return ts;
}

/*
 * An addition in two halves, in the order a crash can be repaired from:
 * the starting value and the marker first, then the counter; the marker
 * is cleared only when the counter is right. Caller holds a->lock.
 *
 * The fences are compiler barriers only: a SIGKILL can land between any
 * two instructions, so each store must reach memory in program order.
 * The next holder reads them after the kernel has reported the death
 * (EOWNERDEAD), which orders them for other CPUs; the fences pair with
 * that read in lock_story().
 */
static void
begin_add(struct lock_area *a)
{
	a->saved = a->count;
	atomic_signal_fence(memory_order_seq_cst);
	a->in_progress = 1;
	atomic_signal_fence(memory_order_seq_cst);
	a->count = a->saved + 1;
}

static void
end_add(struct lock_area *a)
{
	atomic_signal_fence(memory_order_seq_cst);
	a->in_progress = 0;
}

/*
 * Add 1 rounds times, each under the lock. Returns 0 or the lock's error
 * (-EOWNERDEAD included: nobody should have died yet).
 */
static int
add_rounds(struct lock_area *a, int rounds, long timeout_ms)
{
	const struct timespec to = ms_to_ts(timeout_ms);
	int i, rc;

	for (i = 0; i < rounds; i++) {
		rc = shmkit_mutex_timedlock(&a->lock, &to, 0);
		if (rc < 0)
			return rc;
		begin_add(a);
		end_add(a);
		rc = shmkit_mutex_unlock(&a->lock);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * Wait for the peer to hold the lock, for it to die, for the timeout or
 * for a signal. Returns 0 when it holds the lock; otherwise reports and
 * returns -1 (a signal is reported later, by the demo).
 */
static int
await_holding(const struct demo *d, struct lock_area *a, const char *address,
	      pid_t *peer)
{
	long deadline = demo_now_ms() + d->timeout_ms;
	char how[96];
	int status;

	for (;;) {
		/* Acquire: pairs with the peer's release store of
		 * LOCK_HOLDING in demo_lock_peer(). */
		if (atomic_load_explicit(&a->state, memory_order_acquire) ==
		    LOCK_HOLDING)
			return 0;
		if (demo_signal)
			return -1;
		if (waitpid(*peer, &status, WNOHANG) == *peer) {
			*peer = -1;
			demo_describe_status(how, sizeof(how), status);
			cli_errorf(DEMO_CMD,
				   "%s: the peer %s before it took the lock",
				   address, how);
			return -1;
		}
		if (demo_now_ms() >= deadline) {
			cli_errorf(DEMO_CMD,
				   "%s: peer %d did not take the lock within "
				   "%ld ms",
				   address, (int)*peer, d->timeout_ms);
			return -1;
		}
		demo_sleep_ms(1);
	}
}

/* Kill the peer that holds the lock and check that SIGKILL is what
 * ended it. */
static int
kill_holder(const char *address, pid_t *peer)
{
	char how[96];
	int status;
	pid_t pid = *peer;

	if (kill(pid, SIGKILL) < 0) {
		cli_error(DEMO_CMD, "kill", -errno);
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			cli_error(DEMO_CMD, "waitpid", -errno);
			return -1;
		}
	*peer = -1;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		demo_describe_status(how, sizeof(how), status);
		cli_errorf(DEMO_CMD, "%s: the peer %s, not killed", address,
			   how);
		return -1;
	}
	return 0;
}

/*
 * The story proper, once the segment holds an initialised mutex. Leaves
 * a running peer in *peer for the caller to stop.
 */
static int
lock_story(const struct demo *d, struct lock_area *a, const char *address,
	   pid_t *peer)
{
	const struct timespec to = ms_to_ts(d->timeout_ms);
	char timeout[32], delay[32];
	char *argv[10];
	uint64_t found, saved, want = 2 * (uint64_t)LOCK_ROUNDS;
	pid_t holder;
	int rc, n = 0;

	snprintf(timeout, sizeof(timeout), "%ld", d->timeout_ms);
	argv[n++] = CLI_PROGRAM;
	argv[n++] = PEER_CMD;
	argv[n++] = "--lock";
	if (d->peer_delay_ms > 0) {
		snprintf(delay, sizeof(delay), "%ld", d->peer_delay_ms);
		argv[n++] = "--delay";
		argv[n++] = delay;
	}
	argv[n++] = "--timeout";
	argv[n++] = timeout;
	argv[n++] = (char *)address;
	argv[n] = NULL;
	*peer = demo_spawn_peer(argv, -1);
	if (*peer < 0) {
		cli_error(DEMO_CMD, "fork", *peer);
		*peer = -1;
		return -1;
	}
	holder = *peer;
	demo_tell_started(holder, argv);
	rc = add_rounds(a, LOCK_ROUNDS, d->timeout_ms);
	if (rc < 0) {
		cli_error(DEMO_CMD, address, rc);
		return -1;
	}
	/* Release: orders our additions before the go; pairs with the
	 * peer's acquire load of LOCK_GO (the lock orders the counter
	 * anyway: this only says when). */
	atomic_store_explicit(&a->state, LOCK_GO, memory_order_release);
	if (await_holding(d, a, address, peer) < 0)
		return -1;
	printf("Both processes added 1 to the counter %d times, locking for "
	       "each addition.\n",
	       LOCK_ROUNDS);
	if (kill_holder(address, peer) < 0)
		return -1;
	printf("Process %d took the lock again, began one more addition, and "
	       "was killed\nwith SIGKILL while holding it.\n",
	       (int)holder);

	rc = shmkit_mutex_timedlock(&a->lock, &to, 0);
	if (rc == 0) {
		shmkit_mutex_unlock(&a->lock);
		cli_errorf(DEMO_CMD,
			   "%s: the lock did not report that its holder "
			   "died",
			   address);
		return -1;
	}
	if (rc != -EOWNERDEAD) {
		cli_error(DEMO_CMD, address, rc);
		return -1;
	}
	/* We hold the lock: the dead holder's writes are ours to read. */
	found = a->count;
	saved = a->saved;
	if (!a->in_progress) {
		shmkit_mutex_consistent(&a->lock);
		shmkit_mutex_unlock(&a->lock);
		cli_errorf(DEMO_CMD,
			   "%s: the holder died without its addition marked "
			   "in progress",
			   address);
		return -1;
	}
	a->count = saved;
	a->in_progress = 0;
	rc = shmkit_mutex_consistent(&a->lock);
	if (rc < 0) {
		shmkit_mutex_unlock(&a->lock);
		cli_error(DEMO_CMD, address, rc);
		return -1;
	}
	rc = shmkit_mutex_unlock(&a->lock);
	if (rc < 0) {
		cli_error(DEMO_CMD, address, rc);
		return -1;
	}
	printf("The next locker was told the holder died (EOWNERDEAD).\n"
	       "The in-progress marker showed a half-done addition (%" PRIu64
	       " to %" PRIu64 "), so it\nput back %" PRIu64
	       ", called shmkit_mutex_consistent and carried on.\n",
	       saved, found, saved);

	rc = shmkit_mutex_timedlock(&a->lock, &to, 0);
	if (rc < 0) {
		cli_error(DEMO_CMD, address, rc);
		return -1;
	}
	found = a->count;
	rc = shmkit_mutex_unlock(&a->lock);
	if (rc < 0) {
		cli_error(DEMO_CMD, address, rc);
		return -1;
	}
	if (found != want) {
		cli_errorf(DEMO_CMD,
			   "%s: the counter is %" PRIu64 ", expected %" PRIu64,
			   address, found, want);
		return -1;
	}
	printf("Locked it again as usual: the counter is %" PRIu64 ", as it "
	       "should be:\n%d additions from each process, none lost, the "
	       "unfinished one undone.\n",
	       found, LOCK_ROUNDS);
	return 0;
}

int
demo_lock(const struct demo *d)
{
	const shmkit_seg_opts_t opts = {.size = LOCK_SEG_SIZE, .mode = 0600};
	char address[64];
	shmkit_seg_t *seg = NULL;
	struct lock_area *a;
	pid_t peer = -1;
	int ret = -1, rc, inited = 0;
	void *p;

	snprintf(address, sizeof(address), "posix:/shmkit-demo-lock-%d",
		 (int)d->pid);
	rc = shmkit_seg_create(&seg, address, &opts);
	if (rc < 0) {
		cli_error(DEMO_CMD, address, rc);
		return -1;
	}
	rc = shmkit_seg_attach(seg, &p, 0, NULL);
	if (rc < 0) {
		cli_error(DEMO_CMD, address, rc);
		goto out;
	}
	a = p;
	rc = shmkit_mutex_init(&a->lock);
	if (rc < 0) {
		cli_error(DEMO_CMD, address, rc);
		goto out;
	}
	inited = 1;
	a->count = 0;
	printf("Created %s (%d bytes, mode 0600)\nand put in it a robust "
	       "shmkit mutex and a counter at 0 that the mutex protects.\n",
	       address, LOCK_SEG_SIZE);
	if (lock_story(d, a, address, &peer) < 0 || demo_signal)
		goto out;
	ret = 0;
out:
	demo_stop_peer(&peer);
	if (inited) {
		/* The peer is gone: nobody else uses the mutex now. */
		rc = shmkit_mutex_fini(&a->lock);
		if (rc < 0 && ret == 0) {
			cli_error(DEMO_CMD, address, rc);
			ret = -1;
		}
	}
	if (demo_removed(address, shmkit_seg_unlink(seg)) < 0)
		ret = -1;
	shmkit_seg_close(seg);
	return ret;
}

/*
 * The peer: after delay_ms, add LOCK_ROUNDS times alongside the demo,
 * wait for the go, take the lock, begin an addition and wait, holding the
 * lock, to be killed. Exits 1 if nobody kills it within timeout_ms.
 */
int
demo_lock_peer(const char *address, long delay_ms, long timeout_ms)
{
	const struct timespec to = ms_to_ts(timeout_ms);
	const shmkit_seg_opts_t opts = {.size = sizeof(struct lock_area)};
	struct lock_area *a;
	shmkit_seg_t *seg;
	long deadline;
	void *p;
	int rc;

	if (delay_ms > 0)
		demo_sleep_ms(delay_ms);
	rc = shmkit_seg_open(&seg, address, &opts);
	if (rc < 0) {
		cli_error(PEER_CMD, address, rc);
		return CLI_EXIT_FAIL;
	}
	rc = shmkit_seg_attach(seg, &p, 0, NULL);
	if (rc < 0)
		goto fail;
	a = p;
	rc = add_rounds(a, LOCK_ROUNDS, timeout_ms);
	if (rc < 0)
		goto fail;
	deadline = demo_now_ms() + timeout_ms;
	/* Acquire: pairs with the demo's release store of LOCK_GO. */
	while (atomic_load_explicit(&a->state, memory_order_acquire) !=
	       LOCK_GO) {
		if (demo_now_ms() >= deadline) {
			rc = -ETIMEDOUT;
			goto fail;
		}
		demo_sleep_ms(1);
	}
	rc = shmkit_mutex_timedlock(&a->lock, &to, 0);
	if (rc < 0)
		goto fail;
	/* Half an addition: never ended. */
	begin_add(a);
	/* Release: publishes the state change after the lock is held;
	 * pairs with the acquire load in await_holding(). */
	atomic_store_explicit(&a->state, LOCK_HOLDING, memory_order_release);
	deadline = demo_now_ms() + timeout_ms;
	while (demo_now_ms() < deadline)
		demo_sleep_ms(10);
	cli_errorf(PEER_CMD, "%s: held the lock %ld ms and nobody killed us",
		   address, timeout_ms);
	shmkit_seg_close(seg);
	return CLI_EXIT_FAIL;
fail:
	cli_error(PEER_CMD, address, rc);
	shmkit_seg_close(seg);
	return CLI_EXIT_FAIL;
}
