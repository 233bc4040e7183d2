/*
 * Events: set/wait semantics in both modes, timeouts on both clocks,
 * wake-ups across processes that survive signals, SIGSTOP, dead setters
 * and storms of round trips, the no-system-call fast path, rejection of
 * garbage, and the pollable descriptor. Cases named "threads" repeat the
 * essentials inside one process so ThreadSanitizer can check the
 * acquire/release pairing on the futex word.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/event.h>

#include "shmkit_test.h"
#include "sync/futex.h"

#define ROUND_TRIPS 10000
#define NS_PER_MS   1000000LL

struct shared {
	shmkit_event_t a;
	shmkit_event_t b;
	int rc;
	int sigs;
	int64_t elapsed_ns;
	int data;
};

static struct shared *
shared_new(void)
{
	void *p = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		SHMKIT_FAIL("mmap: %s", strerror(errno));
	return p;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct timespec
rel_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * NS_PER_MS};

	return ts;
}

static struct timespec
abs_ms(clockid_t clk, long ms)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * NS_PER_MS;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/*
 * One ping-pong wait, with a deadline so that a lost wake-up fails
 * instead of hanging. A wait that succeeds only at its deadline (the
 * state changed but nobody woke it) is a lost wake-up too.
 */
static void
pp_wait(shmkit_event_t *ev, uint32_t *seq, const char *who, int i)
{
	struct timespec d = abs_ms(CLOCK_MONOTONIC, 5000), now;
	int rc;

	if (seq != NULL)
		rc = shmkit_event_wait_seq(ev, seq, &d, SHMKIT_WAIT_ABSTIME);
	else
		rc = shmkit_event_wait(ev, &d, SHMKIT_WAIT_ABSTIME);
	if (rc < 0)
		SHMKIT_FAIL("%s %d: %s", who, i, shmkit_strerror(rc));
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > d.tv_sec ||
	    (now.tv_sec == d.tv_sec && now.tv_nsec >= d.tv_nsec))
		SHMKIT_FAIL("%s %d: wake-up lost (found only at deadline)", who,
			    i);
}

/* Until n threads are registered as waiters on ev (bounded: ~10 s). */
static void
await_waiters(shmkit_event_t *ev, int n)
{
	int i;

	for (i = 0; i < 10000; i++) {
		if (shmkit_event_waiters(ev) >= n)
			return;
		usleep(1000);
	}
	SHMKIT_FAIL("no %d waiter(s) after 10 s (have %d)", n,
		    shmkit_event_waiters(ev));
}

/* Wait for pid to exit, sending it sig every 5 ms meanwhile. */
static int
wait_while_signalling(pid_t pid, int sig)
{
	int i, st;

	for (i = 0; i < 2000; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0)
			SHMKIT_FAIL("waitpid: %s", strerror(errno));
		kill(pid, sig);
		usleep(5000);
	}
	kill(pid, SIGKILL);
	SHMKIT_FAIL("child %d still running after 10 s", (int)pid);
}

static void
test_manual_and_auto_semantics(void)
{
	struct shared *s = shared_new();
	shmkit_event_t *ev = &s->a;
	uint32_t seq;

	SHMKIT_ASSERT_OK(shmkit_event_init(ev, SHMKIT_EVENT_MANUAL));
	SHMKIT_ASSERT_EQ(shmkit_event_seq(ev), 0);
	SHMKIT_ASSERT_ERR(shmkit_event_trywait(ev), -EAGAIN);
	SHMKIT_ASSERT_OK(shmkit_event_set(ev));
	SHMKIT_ASSERT_EQ(shmkit_event_seq(ev), 1);
	/* Manual: stays signalled for every waiter until reset. */
	SHMKIT_ASSERT_OK(shmkit_event_trywait(ev));
	SHMKIT_ASSERT_OK(shmkit_event_trywait(ev));
	SHMKIT_ASSERT_OK(shmkit_event_wait(ev, NULL, 0));
	SHMKIT_ASSERT_OK(shmkit_event_reset(ev));
	SHMKIT_ASSERT_ERR(shmkit_event_trywait(ev), -EAGAIN);
	SHMKIT_ASSERT_EQ(shmkit_event_seq(ev), 1);
	/* Every set bumps the generation, signalled or not. */
	SHMKIT_ASSERT_OK(shmkit_event_set(ev));
	SHMKIT_ASSERT_OK(shmkit_event_set(ev));
	SHMKIT_ASSERT_EQ(shmkit_event_seq(ev), 3);
	seq = 1;
	SHMKIT_ASSERT_OK(shmkit_event_wait_seq(ev, &seq, NULL, 0));
	SHMKIT_ASSERT_EQ(seq, 3);
	SHMKIT_ASSERT_OK(shmkit_event_fini(ev));
	SHMKIT_ASSERT_ERR(shmkit_event_set(ev), SHMKIT_ECORRUPT);

	/* Auto: one waiter consumes; sets do not accumulate. */
	SHMKIT_ASSERT_OK(shmkit_event_init(ev, SHMKIT_EVENT_AUTO));
	SHMKIT_ASSERT_OK(shmkit_event_set(ev));
	SHMKIT_ASSERT_OK(shmkit_event_set(ev));
	SHMKIT_ASSERT_OK(shmkit_event_trywait(ev));
	SHMKIT_ASSERT_ERR(shmkit_event_trywait(ev), -EAGAIN);
	SHMKIT_ASSERT_OK(shmkit_event_set(ev));
	SHMKIT_ASSERT_OK(shmkit_event_wait(ev, NULL, 0));
	SHMKIT_ASSERT_ERR(shmkit_event_trywait(ev), -EAGAIN);
	/* wait_seq never steals the auto-reset signal. */
	seq = (uint32_t)shmkit_event_seq(ev);
	SHMKIT_ASSERT_OK(shmkit_event_set(ev));
	SHMKIT_ASSERT_OK(shmkit_event_wait_seq(ev, &seq, NULL, 0));
	SHMKIT_ASSERT_OK(shmkit_event_trywait(ev));
	SHMKIT_ASSERT_OK(shmkit_event_fini(ev));

	SHMKIT_ASSERT_ERR(shmkit_event_init(ev, 2), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_event_init(NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(
		shmkit_event_init((shmkit_event_t *)((char *)s + 1), 0),
		-EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_event_set(NULL), -EINVAL);
	SHMKIT_ASSERT_OK(shmkit_event_init(ev, 0));
	SHMKIT_ASSERT_ERR(shmkit_event_wait_seq(ev, NULL, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_event_wait(ev, NULL, 0x100), -EINVAL);
}

static void
waiter_seq(void *arg)
{
	struct shared *s = arg;
	uint32_t seq = (uint32_t)shmkit_event_seq(&s->a);
	struct timespec t = rel_ms(10000);

	s->rc = shmkit_event_wait_seq(&s->a, &seq, &t, 0);
	SHMKIT_ASSERT_OK(s->rc);
	SHMKIT_ASSERT_EQ(seq, 1);
	/* The acquire on the word makes the parent's write visible. */
	SHMKIT_ASSERT_EQ(s->data, 42);
}

static void
waiter_auto(void *arg)
{
	struct shared *s = arg;
	struct timespec t = rel_ms(10000);

	SHMKIT_ASSERT_OK(shmkit_event_wait(&s->a, &t, 0));
}

static void
test_waiter_in_other_process_wakes_on_set(void)
{
	struct shared *s = shared_new();
	uint64_t wakes;
	pid_t pid;

	SHMKIT_ASSERT_OK(shmkit_event_init(&s->a, SHMKIT_EVENT_MANUAL));
	pid = shmkit_test_fork(waiter_seq, s);
	await_waiters(&s->a, 1);
	usleep(20000); /* let it reach FUTEX_WAIT */
	s->data = 42;
	wakes = shmkit__futex_wake_calls();
	SHMKIT_ASSERT_OK(shmkit_event_set(&s->a));
	/* A sleeper was registered, so the set had to call FUTEX_WAKE. */
	SHMKIT_ASSERT_EQ(shmkit__futex_wake_calls(), wakes + 1);
	SHMKIT_ASSERT_CHILD_OK(pid);
	SHMKIT_ASSERT_EQ(shmkit_event_waiters(&s->a), 0);

	/* Auto mode: the waiter consumes the signal. */
	SHMKIT_ASSERT_OK(shmkit_event_init(&s->a, SHMKIT_EVENT_AUTO));
	pid = shmkit_test_fork(waiter_auto, s);
	await_waiters(&s->a, 1);
	SHMKIT_ASSERT_OK(shmkit_event_set(&s->a));
	SHMKIT_ASSERT_CHILD_OK(pid);
	SHMKIT_ASSERT_ERR(shmkit_event_trywait(&s->a), -EAGAIN);
	SHMKIT_ASSERT_OK(shmkit_event_fini(&s->a));
}

static void
test_timed_wait_times_out(void)
{
	struct shared *s = shared_new();
	struct timespec t, bad = {0, 1000000000L};
	uint32_t seq = 0;
	int64_t t0, el;

	SHMKIT_ASSERT_OK(shmkit_event_init(&s->a, SHMKIT_EVENT_MANUAL));

	t = rel_ms(200);
	t0 = now_ns();
	SHMKIT_ASSERT_ERR(shmkit_event_wait(&s->a, &t, 0), -ETIMEDOUT);
	el = now_ns() - t0;
	SHMKIT_ASSERT(el >= 200 * NS_PER_MS && el < 5000 * NS_PER_MS);

	t = rel_ms(150);
	t0 = now_ns();
	SHMKIT_ASSERT_ERR(shmkit_event_wait_seq(&s->a, &seq, &t, 0),
			  -ETIMEDOUT);
	el = now_ns() - t0;
	SHMKIT_ASSERT(el >= 150 * NS_PER_MS && el < 5000 * NS_PER_MS);
	SHMKIT_ASSERT_EQ(seq, 0);

	t = abs_ms(CLOCK_MONOTONIC, 150);
	t0 = now_ns();
	SHMKIT_ASSERT_ERR(shmkit_event_wait(&s->a, &t, SHMKIT_WAIT_ABSTIME),
			  -ETIMEDOUT);
	el = now_ns() - t0;
	SHMKIT_ASSERT(el >= 140 * NS_PER_MS && el < 5000 * NS_PER_MS);

	t = abs_ms(CLOCK_REALTIME, 150);
	t0 = now_ns();
	SHMKIT_ASSERT_ERR(
		shmkit_event_wait(&s->a, &t,
				  SHMKIT_WAIT_ABSTIME | SHMKIT_WAIT_REALTIME),
		-ETIMEDOUT);
	el = now_ns() - t0;
	SHMKIT_ASSERT(el >= 140 * NS_PER_MS && el < 5000 * NS_PER_MS);

	/* A zero timeout polls; a deadline in the past too. */
	t = rel_ms(0);
	SHMKIT_ASSERT_ERR(shmkit_event_wait(&s->a, &t, 0), -ETIMEDOUT);
	t.tv_sec = 1;
	SHMKIT_ASSERT_ERR(shmkit_event_wait(&s->a, &t, SHMKIT_WAIT_ABSTIME),
			  -ETIMEDOUT);
	SHMKIT_ASSERT_ERR(shmkit_event_wait(&s->a, &bad, 0), -EINVAL);
	bad.tv_sec = -1;
	bad.tv_nsec = 0;
	SHMKIT_ASSERT_ERR(shmkit_event_wait(&s->a, &bad, 0), -EINVAL);
	/* A satisfied wait returns at once whatever the timeout. */
	SHMKIT_ASSERT_OK(shmkit_event_set(&s->a));
	t = rel_ms(0);
	SHMKIT_ASSERT_OK(shmkit_event_wait(&s->a, &t, 0));
	SHMKIT_ASSERT_EQ(shmkit_event_waiters(&s->a), 0);
}

static void
timed_waiter(void *arg)
{
	struct shared *s = arg;
	struct timespec t = rel_ms(1000);
	int64_t t0 = now_ns();

	s->rc = shmkit_event_wait(&s->a, &t, 0);
	s->elapsed_ns = now_ns() - t0;
}

static void
dying_setter(void *arg)
{
	struct shared *s = arg;

	/* What a set() killed after its CAS and before FUTEX_WAKE leaves
	 * behind: a new generation and the flag, and nobody woken. */
	__atomic_fetch_add(&s->a.priv_word, 3, __ATOMIC_SEQ_CST);
	raise(SIGKILL);
}

static void
idle_dier(void *arg)
{
	(void)arg;
	raise(SIGKILL);
}

static void
test_dead_waker_does_not_strand_waiter(void)
{
	struct shared *s = shared_new();
	pid_t w, k;

	SHMKIT_ASSERT_OK(shmkit_event_init(&s->a, SHMKIT_EVENT_MANUAL));
	w = shmkit_test_fork(timed_waiter, s);
	await_waiters(&s->a, 1);
	usleep(20000);
	k = shmkit_test_fork(dying_setter, s);
	SHMKIT_ASSERT_CHILD_SIGNAL(k, SIGKILL);
	SHMKIT_ASSERT_CHILD_OK(w);
	/* Not woken, but it saw the new state at its deadline. */
	SHMKIT_ASSERT_OK(s->rc);
	SHMKIT_ASSERT(s->elapsed_ns < 5000 * NS_PER_MS);

	/* A would-be setter that dies without touching anything: the
	 * waiter times out on time. */
	SHMKIT_ASSERT_OK(shmkit_event_reset(&s->a));
	w = shmkit_test_fork(timed_waiter, s);
	await_waiters(&s->a, 1);
	k = shmkit_test_fork(idle_dier, s);
	SHMKIT_ASSERT_CHILD_SIGNAL(k, SIGKILL);
	SHMKIT_ASSERT_CHILD_OK(w);
	SHMKIT_ASSERT_ERR(s->rc, -ETIMEDOUT);
	SHMKIT_ASSERT(s->elapsed_ns >= 1000 * NS_PER_MS &&
		      s->elapsed_ns < 6000 * NS_PER_MS);
}

/* Ping-pong peers: one process (or thread) answers every ping. */
static void
pong_seq(struct shared *s)
{
	uint32_t seq = 0;
	int i;

	for (i = 0; i < ROUND_TRIPS; i++) {
		pp_wait(&s->a, &seq, "pong", i);
		SHMKIT_ASSERT_EQ(s->data, i);
		SHMKIT_ASSERT_OK(shmkit_event_set(&s->b));
	}
}

static void
ping_seq(struct shared *s)
{
	uint32_t seq = 0;
	int i;

	for (i = 0; i < ROUND_TRIPS; i++) {
		s->data = i; /* plain: the set/wait pair orders it */
		SHMKIT_ASSERT_OK(shmkit_event_set(&s->a));
		pp_wait(&s->b, &seq, "ping", i);
		/* Each answer is one set: no wake-up lost or doubled. */
		SHMKIT_ASSERT_EQ(seq, (uint32_t)i + 1);
	}
}

static void
pong_auto(struct shared *s)
{
	int i;

	for (i = 0; i < ROUND_TRIPS; i++) {
		pp_wait(&s->a, NULL, "pong", i);
		SHMKIT_ASSERT_EQ(s->data, i);
		SHMKIT_ASSERT_OK(shmkit_event_set(&s->b));
	}
}

static void
ping_auto(struct shared *s)
{
	int i;

	for (i = 0; i < ROUND_TRIPS; i++) {
		s->data = i;
		SHMKIT_ASSERT_OK(shmkit_event_set(&s->a));
		pp_wait(&s->b, NULL, "ping", i);
	}
	SHMKIT_ASSERT_EQ(shmkit_event_seq(&s->b), ROUND_TRIPS);
}

static void
pong_seq_proc(void *arg)
{
	pong_seq(arg);
}

static void
pong_auto_proc(void *arg)
{
	pong_auto(arg);
}

static void
test_pingpong_processes_no_lost_wakeups(void)
{
	struct shared *s = shared_new();
	pid_t pid;

	SHMKIT_ASSERT_OK(shmkit_event_init(&s->a, SHMKIT_EVENT_MANUAL));
	SHMKIT_ASSERT_OK(shmkit_event_init(&s->b, SHMKIT_EVENT_MANUAL));
	pid = shmkit_test_fork(pong_seq_proc, s);
	ping_seq(s);
	SHMKIT_ASSERT_CHILD_OK(pid);
	SHMKIT_ASSERT_EQ(shmkit_event_seq(&s->a), ROUND_TRIPS);
}

static void
test_pingpong_auto_processes_no_lost_wakeups(void)
{
	struct shared *s = shared_new();
	pid_t pid;

	SHMKIT_ASSERT_OK(shmkit_event_init(&s->a, SHMKIT_EVENT_AUTO));
	SHMKIT_ASSERT_OK(shmkit_event_init(&s->b, SHMKIT_EVENT_AUTO));
	pid = shmkit_test_fork(pong_auto_proc, s);
	ping_auto(s);
	SHMKIT_ASSERT_CHILD_OK(pid);
}

static void
long_waiter(void *arg)
{
	struct shared *s = arg;
	struct timespec t = rel_ms(10000);

	SHMKIT_ASSERT_OK(shmkit_event_wait(&s->a, &t, 0));
}

static void
test_sigstop_sigcont_of_waiter(void)
{
	struct shared *s = shared_new();
	pid_t pid;

	/* Set while the waiter is stopped: it passes once continued. */
	SHMKIT_ASSERT_OK(shmkit_event_init(&s->a, SHMKIT_EVENT_MANUAL));
	pid = shmkit_test_fork(long_waiter, s);
	await_waiters(&s->a, 1);
	usleep(20000);
	SHMKIT_ASSERT_OK(kill(pid, SIGSTOP));
	usleep(100000);
	SHMKIT_ASSERT_OK(shmkit_event_set(&s->a));
	usleep(50000);
	SHMKIT_ASSERT_OK(kill(pid, SIGCONT));
	SHMKIT_ASSERT_CHILD_OK(pid);

	/* Stopped and continued with nothing set: it sleeps on. */
	SHMKIT_ASSERT_OK(shmkit_event_reset(&s->a));
	pid = shmkit_test_fork(long_waiter, s);
	await_waiters(&s->a, 1);
	usleep(20000);
	SHMKIT_ASSERT_OK(kill(pid, SIGSTOP));
	usleep(50000);
	SHMKIT_ASSERT_OK(kill(pid, SIGCONT));
	usleep(200000);
	SHMKIT_ASSERT_EQ(waitpid(pid, NULL, WNOHANG), 0);
	SHMKIT_ASSERT_OK(shmkit_event_set(&s->a));
	SHMKIT_ASSERT_CHILD_OK(pid);

	/* Stopped past its deadline: it times out, not earlier. */
	SHMKIT_ASSERT_OK(shmkit_event_reset(&s->a));
	pid = shmkit_test_fork(timed_waiter, s);
	await_waiters(&s->a, 1);
	SHMKIT_ASSERT_OK(kill(pid, SIGSTOP));
	usleep(1500000);
	SHMKIT_ASSERT_OK(kill(pid, SIGCONT));
	SHMKIT_ASSERT_CHILD_OK(pid);
	SHMKIT_ASSERT_ERR(s->rc, -ETIMEDOUT);
	SHMKIT_ASSERT(s->elapsed_ns >= 1000 * NS_PER_MS);
}

static volatile sig_atomic_t handled;

static void
on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void
install_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = 0; /* no SA_RESTART: the futex call sees EINTR */
	sigemptyset(&sa.sa_mask);
	SHMKIT_ASSERT_OK(sigaction(SIGUSR1, &sa, NULL));
}

static void
signalled_timed_waiter(void *arg)
{
	struct shared *s = arg;
	struct timespec t = rel_ms(500);
	int64_t t0;

	install_handler();
	t0 = now_ns();
	s->rc = shmkit_event_wait(&s->a, &t, 0);
	s->elapsed_ns = now_ns() - t0;
	s->sigs = handled;
}

static void
signalled_waiter(void *arg)
{
	struct shared *s = arg;
	struct timespec t = rel_ms(10000);

	install_handler();
	s->rc = shmkit_event_wait(&s->a, &t, 0);
	s->sigs = handled;
}

static void
intr_waiter(void *arg)
{
	struct shared *s = arg;
	struct timespec t = rel_ms(10000);

	install_handler();
	s->rc = shmkit_event_wait(&s->a, &t, SHMKIT_WAIT_INTR);
	s->sigs = handled;
}

static void
test_signals_during_wait_do_not_end_it(void)
{
	struct shared *s = shared_new();
	pid_t pid;
	int st, i;

	SHMKIT_ASSERT_OK(shmkit_event_init(&s->a, SHMKIT_EVENT_MANUAL));

	/* A storm of handled signals: the wait still lasts its timeout. */
	pid = shmkit_test_fork(signalled_timed_waiter, s);
	await_waiters(&s->a, 1);
	st = wait_while_signalling(pid, SIGUSR1);
	SHMKIT_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	SHMKIT_ASSERT_ERR(s->rc, -ETIMEDOUT);
	SHMKIT_ASSERT(s->elapsed_ns >= 500 * NS_PER_MS);
	SHMKIT_ASSERT(s->sigs > 0);

	/* Signals, then a set: the wait returns 0 for the set. */
	s->sigs = 0;
	pid = shmkit_test_fork(signalled_waiter, s);
	await_waiters(&s->a, 1);
	for (i = 0; i < 20; i++) {
		kill(pid, SIGUSR1);
		usleep(5000);
	}
	await_waiters(&s->a, 1);
	SHMKIT_ASSERT_EQ(waitpid(pid, NULL, WNOHANG), 0);
	SHMKIT_ASSERT_OK(shmkit_event_set(&s->a));
	SHMKIT_ASSERT_CHILD_OK(pid);
	SHMKIT_ASSERT_OK(s->rc);
	SHMKIT_ASSERT(s->sigs > 0);

	/* Asked for: SHMKIT_WAIT_INTR ends the wait with -EINTR. */
	SHMKIT_ASSERT_OK(shmkit_event_reset(&s->a));
	s->sigs = 0;
	pid = shmkit_test_fork(intr_waiter, s);
	await_waiters(&s->a, 1);
	st = wait_while_signalling(pid, SIGUSR1);
	SHMKIT_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	SHMKIT_ASSERT_ERR(s->rc, -EINTR);
	SHMKIT_ASSERT(s->sigs > 0);
}

static void
test_set_without_waiters_makes_no_syscall(void)
{
	struct shared *s = shared_new();
	uint64_t before;
	pid_t pid;
	int i;

	SHMKIT_ASSERT_OK(shmkit_event_init(&s->a, SHMKIT_EVENT_MANUAL));
	before = shmkit__futex_wake_calls();
	for (i = 0; i < 1000; i++) {
		SHMKIT_ASSERT_OK(shmkit_event_set(&s->a));
		SHMKIT_ASSERT_OK(shmkit_event_reset(&s->a));
	}
	SHMKIT_ASSERT_EQ(shmkit__futex_wake_calls(), before);
	SHMKIT_ASSERT_EQ(shmkit_event_waiters(&s->a), 0);
	SHMKIT_ASSERT_EQ(shmkit_event_seq(&s->a), 1000);

	/* With a sleeper: exactly one wake call, then none again. */
	pid = shmkit_test_fork(long_waiter, s);
	await_waiters(&s->a, 1);
	SHMKIT_ASSERT_OK(shmkit_event_set(&s->a));
	SHMKIT_ASSERT_EQ(shmkit__futex_wake_calls(), before + 1);
	SHMKIT_ASSERT_CHILD_OK(pid);
	SHMKIT_ASSERT_EQ(shmkit_event_waiters(&s->a), 0);
	SHMKIT_ASSERT_OK(shmkit_event_set(&s->a));
	SHMKIT_ASSERT_EQ(shmkit__futex_wake_calls(), before + 1);
}

static void
corrupted_while_waiting(void *arg)
{
	struct shared *s = arg;
	struct timespec t = rel_ms(300);

	SHMKIT_ASSERT_ERR(shmkit_event_wait(&s->a, &t, 0), SHMKIT_ECORRUPT);
}

static void
check_all_fail(shmkit_event_t *ev, int err)
{
	struct timespec t = rel_ms(10);
	shmkit_event_fd_t *h;
	uint32_t seq = 0;

	SHMKIT_ASSERT_ERR(shmkit_event_set(ev), err);
	SHMKIT_ASSERT_ERR(shmkit_event_reset(ev), err);
	SHMKIT_ASSERT_ERR(shmkit_event_trywait(ev), err);
	SHMKIT_ASSERT_ERR(shmkit_event_wait(ev, &t, 0), err);
	SHMKIT_ASSERT_ERR(shmkit_event_wait(ev, NULL, 0), err);
	SHMKIT_ASSERT_ERR(shmkit_event_wait_seq(ev, &seq, NULL, 0), err);
	SHMKIT_ASSERT_ERR(shmkit_event_seq(ev), err);
	SHMKIT_ASSERT_ERR(shmkit_event_waiters(ev), err);
	SHMKIT_ASSERT_ERR(shmkit_event_fd_open(&h, ev), err);
	SHMKIT_ASSERT_ERR(shmkit_event_fini(ev), err);
}

static void
test_garbage_state_is_an_error(void)
{
	struct shared *s = shared_new();
	shmkit_event_t *ev = &s->a;
	struct timespec t = rel_ms(0);
	unsigned seed = 1;
	uint32_t seq;
	pid_t pid;
	int i, j, rc;

	memset(ev, 0xff, sizeof(*ev));
	check_all_fail(ev, SHMKIT_ECORRUPT);
	memset(ev, 0, sizeof(*ev));
	check_all_fail(ev, SHMKIT_ECORRUPT);

	SHMKIT_ASSERT_OK(shmkit_event_init(ev, SHMKIT_EVENT_MANUAL));
	ev->priv_mode = 7;
	check_all_fail(ev, SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_OK(shmkit_event_init(ev, SHMKIT_EVENT_MANUAL));
	ev->priv_waiters = 0x7fffffff;
	check_all_fail(ev, SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_OK(shmkit_event_init(ev, SHMKIT_EVENT_MANUAL));
	ev->priv_version = 99;
	check_all_fail(ev, SHMKIT_EVERSION);

	/* Any futex word is a valid state: never a hang, never a crash. */
	SHMKIT_ASSERT_OK(shmkit_event_init(ev, SHMKIT_EVENT_AUTO));
	ev->priv_word = 0xdeadbeef;
	SHMKIT_ASSERT_OK(shmkit_event_wait(ev, &t, 0));
	SHMKIT_ASSERT_ERR(shmkit_event_wait(ev, &t, 0), -ETIMEDOUT);

	/* Random bytes: every call returns promptly with a known result. */
	for (i = 0; i < 2000; i++) {
		unsigned char *p = (unsigned char *)ev;

		if (i % 2 == 0)
			SHMKIT_ASSERT_OK(shmkit_event_init(ev, i % 4 / 2));
		for (j = 0; j < 4; j++)
			p[rand_r(&seed) % sizeof(*ev)] =
				(unsigned char)rand_r(&seed);
		seq = (uint32_t)rand_r(&seed);
		rc = shmkit_event_wait_seq(ev, &seq, &t, 0);
		SHMKIT_ASSERT(rc == 0 || rc == -ETIMEDOUT ||
			      rc == SHMKIT_ECORRUPT || rc == SHMKIT_EVERSION);
		rc = shmkit_event_wait(ev, &t, 0);
		SHMKIT_ASSERT(rc == 0 || rc == -ETIMEDOUT ||
			      rc == SHMKIT_ECORRUPT || rc == SHMKIT_EVERSION);
		rc = shmkit_event_set(ev);
		SHMKIT_ASSERT(rc == 0 || rc == SHMKIT_ECORRUPT ||
			      rc == SHMKIT_EVERSION);
	}

	/* Corrupted while a peer sleeps on it: the sleeper reports it by its
	 * timeout at the latest. */
	SHMKIT_ASSERT_OK(shmkit_event_init(ev, SHMKIT_EVENT_MANUAL));
	pid = shmkit_test_fork(corrupted_while_waiting, s);
	await_waiters(ev, 1);
	ev->priv_magic = 0x12345678;
	SHMKIT_ASSERT_CHILD_OK(pid);
}

static void
fd_setter(void *arg)
{
	struct shared *s = arg;
	struct timespec t = rel_ms(5000);
	uint32_t seq = 0;
	int i;

	for (i = 0; i < 100; i++) {
		SHMKIT_ASSERT_OK(shmkit_event_set(&s->a));
		/* Wait for the poller's acknowledgement before the next. */
		SHMKIT_ASSERT_OK(shmkit_event_wait_seq(&s->b, &seq, &t, 0));
	}
}

static void
test_pollable_fd_across_processes(void)
{
	struct shared *s = shared_new();
	shmkit_event_fd_t *h;
	struct pollfd pfd;
	pid_t pid;
	int i;

	SHMKIT_ASSERT_OK(shmkit_event_init(&s->a, SHMKIT_EVENT_AUTO));
	SHMKIT_ASSERT_OK(shmkit_event_init(&s->b, SHMKIT_EVENT_MANUAL));
	SHMKIT_ASSERT_OK(shmkit_event_fd_open(&h, &s->a));
	pfd.fd = shmkit_event_fd(h);
	pfd.events = POLLIN;
	SHMKIT_ASSERT(pfd.fd >= 0);
	SHMKIT_ASSERT_EQ(poll(&pfd, 1, 0), 0);
	SHMKIT_ASSERT_EQ(shmkit_event_fd_ack(h), 0);
	/* The helper is a waiter: fini must refuse. */
	await_waiters(&s->a, 1);
	SHMKIT_ASSERT_ERR(shmkit_event_fini(&s->a), -EBUSY);

	pid = shmkit_test_fork(fd_setter, s);
	for (i = 0; i < 100; i++) {
		SHMKIT_ASSERT_EQ(poll(&pfd, 1, 5000), 1);
		SHMKIT_ASSERT(pfd.revents & POLLIN);
		SHMKIT_ASSERT(shmkit_event_fd_ack(h) >= 1);
		/* The helper does not consume the auto-reset signal. */
		SHMKIT_ASSERT_OK(shmkit_event_trywait(&s->a));
		SHMKIT_ASSERT_EQ(poll(&pfd, 1, 0), 0);
		SHMKIT_ASSERT_OK(shmkit_event_set(&s->b));
	}
	SHMKIT_ASSERT_CHILD_OK(pid);
	SHMKIT_ASSERT_EQ(shmkit_event_seq(&s->a), 100);
	SHMKIT_ASSERT_OK(shmkit_event_fd_close(h));
	SHMKIT_ASSERT_EQ(shmkit_event_waiters(&s->a), 0);
	SHMKIT_ASSERT_OK(shmkit_event_fini(&s->a));
}

static void
set_storm(void *arg)
{
	struct shared *s = arg;
	int i;

	/* Bounded: at most ~10 s of sets, stopping when told. */
	for (i = 0; i < 10000000; i++) {
		if (__atomic_load_n(&s->rc, __ATOMIC_RELAXED))
			return;
		SHMKIT_ASSERT_OK(shmkit_event_set(&s->a));
	}
}

static void
test_fd_close_is_prompt_and_reports_corruption(void)
{
	struct shared *s = shared_new();
	shmkit_event_fd_t *h;
	struct pollfd pfd;
	pid_t pid;
	int i;

	SHMKIT_ASSERT_OK(shmkit_event_init(&s->a, SHMKIT_EVENT_MANUAL));
	/* Close races the helper going to sleep: it must never hang. */
	for (i = 0; i < 200; i++) {
		SHMKIT_ASSERT_OK(shmkit_event_fd_open(&h, &s->a));
		if (i % 2)
			await_waiters(&s->a, 1);
		SHMKIT_ASSERT_OK(shmkit_event_fd_close(h));
	}
	SHMKIT_ASSERT_EQ(shmkit_event_waiters(&s->a), 0);
	SHMKIT_ASSERT_OK(shmkit_event_fd_close(NULL));

	/* ... and while another process sets it as fast as it can. */
	pid = shmkit_test_fork(set_storm, s);
	for (i = 0; i < 50; i++) {
		SHMKIT_ASSERT_OK(shmkit_event_fd_open(&h, &s->a));
		usleep(1000);
		SHMKIT_ASSERT_OK(shmkit_event_fd_close(h));
	}
	/* Relaxed: a plain flag to the storm; the exit status is checked. */
	__atomic_store_n(&s->rc, 1, __ATOMIC_RELAXED);
	SHMKIT_ASSERT_CHILD_OK(pid);
	SHMKIT_ASSERT_EQ(shmkit_event_waiters(&s->a), 0);

	/* Corruption found by the helper: the fd turns readable and ack
	 * reports it. */
	SHMKIT_ASSERT_OK(shmkit_event_fd_open(&h, &s->a));
	await_waiters(&s->a, 1);
	/* Atomic (relaxed) only so TSan accepts the scribbling peer. */
	__atomic_store_n(&s->a.priv_mode, 9, __ATOMIC_RELAXED);
	SHMKIT_ASSERT(shmkit__futex_wake(&s->a.priv_word, 1000,
					 SHMKIT__FUTEX_BIT_ALL) >= 0);
	pfd.fd = shmkit_event_fd(h);
	pfd.events = POLLIN;
	SHMKIT_ASSERT_EQ(poll(&pfd, 1, 5000), 1);
	SHMKIT_ASSERT_ERR(shmkit_event_fd_ack(h), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_OK(shmkit_event_fd_close(h));
}

/* Threads: the same protocols inside one process, for TSan. */
static void *
pong_seq_thread(void *arg)
{
	pong_seq(arg);
	return NULL;
}

static void *
pong_auto_thread(void *arg)
{
	pong_auto(arg);
	return NULL;
}

static void
test_threads_pingpong(void)
{
	struct shared *s = shared_new();
	pthread_t t;

	SHMKIT_ASSERT_OK(shmkit_event_init(&s->a, SHMKIT_EVENT_MANUAL));
	SHMKIT_ASSERT_OK(shmkit_event_init(&s->b, SHMKIT_EVENT_MANUAL));
	SHMKIT_ASSERT_OK(-pthread_create(&t, NULL, pong_seq_thread, s));
	ping_seq(s);
	SHMKIT_ASSERT_OK(-pthread_join(t, NULL));

	SHMKIT_ASSERT_OK(shmkit_event_init(&s->a, SHMKIT_EVENT_AUTO));
	SHMKIT_ASSERT_OK(shmkit_event_init(&s->b, SHMKIT_EVENT_AUTO));
	SHMKIT_ASSERT_OK(-pthread_create(&t, NULL, pong_auto_thread, s));
	ping_auto(s);
	SHMKIT_ASSERT_OK(-pthread_join(t, NULL));
}

static void *
waiter_thread(void *arg)
{
	struct shared *s = arg;
	struct timespec t = rel_ms(10000);
	intptr_t rc;

	rc = shmkit_event_wait(&s->a, &t, 0);
	if (rc == 0 && s->data != 7)
		rc = -1000;
	return (void *)rc;
}

static void
test_threads_set_wakes_all_waiters(void)
{
	struct shared *s = shared_new();
	pthread_t t[4];
	void *rc;
	int i;

	SHMKIT_ASSERT_OK(shmkit_event_init(&s->a, SHMKIT_EVENT_MANUAL));
	for (i = 0; i < 4; i++)
		SHMKIT_ASSERT_OK(
			-pthread_create(&t[i], NULL, waiter_thread, s));
	await_waiters(&s->a, 4);
	s->data = 7;
	SHMKIT_ASSERT_OK(shmkit_event_set(&s->a));
	for (i = 0; i < 4; i++) {
		SHMKIT_ASSERT_OK(-pthread_join(t[i], &rc));
		SHMKIT_ASSERT_EQ((intptr_t)rc, 0);
	}
	SHMKIT_ASSERT_EQ(shmkit_event_waiters(&s->a), 0);
}

static void *
fd_setter_thread(void *arg)
{
	fd_setter(arg);
	return NULL;
}

static void
test_threads_pollable_fd(void)
{
	struct shared *s = shared_new();
	shmkit_event_fd_t *h;
	struct pollfd pfd;
	pthread_t t;
	int i;

	SHMKIT_ASSERT_OK(shmkit_event_init(&s->a, SHMKIT_EVENT_AUTO));
	SHMKIT_ASSERT_OK(shmkit_event_init(&s->b, SHMKIT_EVENT_MANUAL));
	SHMKIT_ASSERT_OK(shmkit_event_fd_open(&h, &s->a));
	pfd.fd = shmkit_event_fd(h);
	pfd.events = POLLIN;
	SHMKIT_ASSERT_OK(-pthread_create(&t, NULL, fd_setter_thread, s));
	for (i = 0; i < 100; i++) {
		SHMKIT_ASSERT_EQ(poll(&pfd, 1, 5000), 1);
		SHMKIT_ASSERT(shmkit_event_fd_ack(h) >= 1);
		SHMKIT_ASSERT_OK(shmkit_event_trywait(&s->a));
		SHMKIT_ASSERT_OK(shmkit_event_set(&s->b));
	}
	SHMKIT_ASSERT_OK(-pthread_join(t, NULL));
	SHMKIT_ASSERT_OK(shmkit_event_fd_close(h));
	SHMKIT_ASSERT_EQ(shmkit_event_waiters(&s->a), 0);
}

SHMKIT_TESTS = {
	{"manual_and_auto_semantics", test_manual_and_auto_semantics},
	{"waiter_in_other_process_wakes_on_set",
	 test_waiter_in_other_process_wakes_on_set},
	{"timed_wait_times_out", test_timed_wait_times_out},
	{"dead_waker_does_not_strand_waiter",
	 test_dead_waker_does_not_strand_waiter},
	{"pingpong_processes_no_lost_wakeups",
	 test_pingpong_processes_no_lost_wakeups},
	{"pingpong_auto_processes_no_lost_wakeups",
	 test_pingpong_auto_processes_no_lost_wakeups},
	{"sigstop_sigcont_of_waiter", test_sigstop_sigcont_of_waiter},
	{"signals_during_wait_do_not_end_it",
	 test_signals_during_wait_do_not_end_it},
	{"set_without_waiters_makes_no_syscall",
	 test_set_without_waiters_makes_no_syscall},
	{"garbage_state_is_an_error", test_garbage_state_is_an_error},
	{"pollable_fd_across_processes", test_pollable_fd_across_processes},
	{"fd_close_is_prompt_and_reports_corruption",
	 test_fd_close_is_prompt_and_reports_corruption},
	{"threads_pingpong", test_threads_pingpong},
	{"threads_set_wakes_all_waiters", test_threads_set_wakes_all_waiters},
	{"threads_pollable_fd", test_threads_pollable_fd},
	{NULL, NULL},
};
