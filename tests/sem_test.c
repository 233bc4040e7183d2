/*
 * Counting semaphores: counting and overflow, N processes contending
 * for K permits never exceeding K holders, timeouts, wake-ups across
 * processes, the no-system-call fast path, signals, the documented fate
 * of permits held by a dead process (lost, as with POSIX sem_t), and
 * rejection of garbage. "threads" cases repeat contention and hand-off in
 * one process for ThreadSanitizer.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/sem.h>

#include "shmkit_test.h"
#include "sync/futex.h"

#define NS_PER_MS 1000000LL
#define PROCS	  4
#define PERMITS	  2
#define ITERS	  3000
#define ITEMS	  20000

struct shared {
	shmkit_sem_t sem;
	shmkit_sem_t items;
	uint32_t holders;     /* atomic */
	uint32_t max_holders; /* atomic */
	uint32_t done;	      /* atomic */
	int plain;	      /* guarded by a 1-permit semaphore */
	int rc;
	int sigs;
	int64_t elapsed_ns;
	int data[ITEMS];
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

/* Until a thread sleeps (or is about to) on sem; bounded: ~10 s. */
static void
await_waiter(shmkit_sem_t *sem)
{
	int i;

	for (i = 0; i < 10000; i++) {
		/* Relaxed: a progress probe only. */
		if (__atomic_load_n(&sem->priv_waiters, __ATOMIC_RELAXED) >= 1)
			return;
		usleep(1000);
	}
	SHMKIT_FAIL("no waiter after 10 s");
}

static void
test_counting_and_limits(void)
{
	struct shared *s = shared_new();

	SHMKIT_ASSERT_OK(shmkit_sem_init(&s->sem, 2));
	SHMKIT_ASSERT_EQ(shmkit_sem_value(&s->sem), 2);
	SHMKIT_ASSERT_OK(shmkit_sem_trywait(&s->sem));
	SHMKIT_ASSERT_OK(shmkit_sem_wait(&s->sem, NULL, 0));
	SHMKIT_ASSERT_ERR(shmkit_sem_trywait(&s->sem), -EAGAIN);
	SHMKIT_ASSERT_EQ(shmkit_sem_value(&s->sem), 0);
	SHMKIT_ASSERT_OK(shmkit_sem_post(&s->sem));
	SHMKIT_ASSERT_OK(shmkit_sem_post(&s->sem));
	SHMKIT_ASSERT_OK(shmkit_sem_post(&s->sem));
	SHMKIT_ASSERT_EQ(shmkit_sem_value(&s->sem), 3);
	SHMKIT_ASSERT_OK(shmkit_sem_fini(&s->sem));
	SHMKIT_ASSERT_ERR(shmkit_sem_post(&s->sem), SHMKIT_ECORRUPT);

	SHMKIT_ASSERT_ERR(shmkit_sem_init(&s->sem, SHMKIT_SEM_VALUE_MAX + 1u),
			  -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_sem_init(NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_sem_init((shmkit_sem_t *)((char *)s + 2), 0),
			  -EINVAL);
	SHMKIT_ASSERT_OK(shmkit_sem_init(&s->sem, SHMKIT_SEM_VALUE_MAX));
	SHMKIT_ASSERT_ERR(shmkit_sem_post(&s->sem), -EOVERFLOW);
	SHMKIT_ASSERT_EQ(shmkit_sem_value(&s->sem), SHMKIT_SEM_VALUE_MAX);
	SHMKIT_ASSERT_ERR(shmkit_sem_wait(&s->sem, NULL, 0x100), -EINVAL);
}

/* Take a permit, record how many hold one, give it back. */
static void
contend(struct shared *s, int iters)
{
	struct timespec t = rel_ms(10000);
	uint32_t h, m;
	int i, j;

	for (i = 0; i < iters; i++) {
		int rc = shmkit_sem_wait(&s->sem, &t, 0);

		if (rc < 0)
			SHMKIT_FAIL("wait %d: %s", i, shmkit_strerror(rc));
		/* Relaxed is enough for counting; the semaphore orders. */
		h = __atomic_add_fetch(&s->holders, 1, __ATOMIC_RELAXED);
		m = __atomic_load_n(&s->max_holders, __ATOMIC_RELAXED);
		while (h > m && !__atomic_compare_exchange_n(
					&s->max_holders, &m, h, 0,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
		if (i % 16 == 0)
			sched_yield();
		for (j = 0; j < 50; j++)
			__asm__ volatile("" ::: "memory");
		__atomic_sub_fetch(&s->holders, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&s->done, 1, __ATOMIC_RELAXED);
		SHMKIT_ASSERT_OK(shmkit_sem_post(&s->sem));
	}
}

static void
contend_proc(void *arg)
{
	contend(arg, ITERS);
}

static void
test_processes_never_exceed_permits(void)
{
	struct shared *s = shared_new();
	pid_t pid[PROCS];
	int i;

	SHMKIT_ASSERT_OK(shmkit_sem_init(&s->sem, PERMITS));
	for (i = 0; i < PROCS; i++)
		pid[i] = shmkit_test_fork(contend_proc, s);
	for (i = 0; i < PROCS; i++)
		SHMKIT_ASSERT_CHILD_OK(pid[i]);
	SHMKIT_ASSERT(s->max_holders >= 1);
	SHMKIT_ASSERT(s->max_holders <= PERMITS);
	SHMKIT_ASSERT_EQ(s->done, PROCS * ITERS);
	SHMKIT_ASSERT_EQ(s->holders, 0);
	SHMKIT_ASSERT_EQ(shmkit_sem_value(&s->sem), PERMITS);
}

/* One permit makes a lock: unprotected read-modify-writes stay exact. */
static void
exclusive(struct shared *s, int iters)
{
	struct timespec t = rel_ms(10000);
	int i, v;

	for (i = 0; i < iters; i++) {
		SHMKIT_ASSERT_OK(shmkit_sem_wait(&s->sem, &t, 0));
		v = s->plain;
		if (i % 64 == 0)
			sched_yield();
		s->plain = v + 1;
		SHMKIT_ASSERT_OK(shmkit_sem_post(&s->sem));
	}
}

static void
exclusive_proc(void *arg)
{
	exclusive(arg, ITERS);
}

static void
test_one_permit_excludes_across_processes(void)
{
	struct shared *s = shared_new();
	pid_t pid[PROCS];
	int i;

	SHMKIT_ASSERT_OK(shmkit_sem_init(&s->sem, 1));
	for (i = 0; i < PROCS; i++)
		pid[i] = shmkit_test_fork(exclusive_proc, s);
	for (i = 0; i < PROCS; i++)
		SHMKIT_ASSERT_CHILD_OK(pid[i]);
	SHMKIT_ASSERT_EQ(s->plain, PROCS * ITERS);
	SHMKIT_ASSERT_EQ(shmkit_sem_value(&s->sem), 1);
}

static void
test_timed_wait_times_out(void)
{
	struct shared *s = shared_new();
	struct timespec t;
	int64_t t0, el;

	SHMKIT_ASSERT_OK(shmkit_sem_init(&s->sem, 0));
	t = rel_ms(200);
	t0 = now_ns();
	SHMKIT_ASSERT_ERR(shmkit_sem_wait(&s->sem, &t, 0), -ETIMEDOUT);
	el = now_ns() - t0;
	SHMKIT_ASSERT(el >= 200 * NS_PER_MS && el < 5000 * NS_PER_MS);

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_nsec += 150 * NS_PER_MS;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	t0 = now_ns();
	SHMKIT_ASSERT_ERR(
		shmkit_sem_wait(&s->sem, &t,
				SHMKIT_WAIT_ABSTIME | SHMKIT_WAIT_REALTIME),
		-ETIMEDOUT);
	el = now_ns() - t0;
	SHMKIT_ASSERT(el >= 140 * NS_PER_MS && el < 5000 * NS_PER_MS);

	t = rel_ms(0);
	SHMKIT_ASSERT_ERR(shmkit_sem_wait(&s->sem, &t, 0), -ETIMEDOUT);
	t.tv_nsec = -1;
	SHMKIT_ASSERT_ERR(shmkit_sem_wait(&s->sem, &t, 0), -EINVAL);
	SHMKIT_ASSERT_EQ(s->sem.priv_waiters, 0);
	SHMKIT_ASSERT_EQ(shmkit_sem_value(&s->sem), 0);
}

static void
sem_waiter(void *arg)
{
	struct shared *s = arg;
	struct timespec t = rel_ms(10000);

	SHMKIT_ASSERT_OK(shmkit_sem_wait(&s->sem, &t, 0));
	SHMKIT_ASSERT_EQ(s->data[0], 99);
}

static void
test_post_wakes_waiter_in_other_process(void)
{
	struct shared *s = shared_new();
	uint64_t before;
	pid_t pid;
	int i;

	SHMKIT_ASSERT_OK(shmkit_sem_init(&s->sem, 0));
	/* No sleeper: posts and takes make no system call. */
	before = shmkit__futex_wake_calls();
	for (i = 0; i < 1000; i++) {
		SHMKIT_ASSERT_OK(shmkit_sem_post(&s->sem));
		SHMKIT_ASSERT_OK(shmkit_sem_trywait(&s->sem));
	}
	SHMKIT_ASSERT_EQ(shmkit__futex_wake_calls(), before);

	pid = shmkit_test_fork(sem_waiter, s);
	await_waiter(&s->sem);
	usleep(20000);
	s->data[0] = 99;
	SHMKIT_ASSERT_OK(shmkit_sem_post(&s->sem));
	SHMKIT_ASSERT_EQ(shmkit__futex_wake_calls(), before + 1);
	SHMKIT_ASSERT_CHILD_OK(pid);
	SHMKIT_ASSERT_EQ(shmkit_sem_value(&s->sem), 0);
	SHMKIT_ASSERT_EQ(s->sem.priv_waiters, 0);
	SHMKIT_ASSERT_OK(shmkit_sem_fini(&s->sem));
}

static void
take_and_die(void *arg)
{
	struct shared *s = arg;

	SHMKIT_ASSERT_OK(shmkit_sem_trywait(&s->sem));
	raise(SIGKILL);
}

static void
sleep_forever(void *arg)
{
	struct shared *s = arg;

	shmkit_sem_wait(&s->sem, NULL, 0);
}

static void
corrupted_while_waiting(void *arg)
{
	struct shared *s = arg;

	SHMKIT_ASSERT_ERR(shmkit_sem_wait(&s->sem, NULL, 0), SHMKIT_ECORRUPT);
}

static void
test_dead_holder_permit_is_lost(void)
{
	struct shared *s = shared_new();
	struct timespec t = rel_ms(100);
	pid_t pid;

	/* Documented: like POSIX sem_t, a dead process's permit is gone. */
	SHMKIT_ASSERT_OK(shmkit_sem_init(&s->sem, 1));
	pid = shmkit_test_fork(take_and_die, s);
	SHMKIT_ASSERT_CHILD_SIGNAL(pid, SIGKILL);
	SHMKIT_ASSERT_EQ(shmkit_sem_value(&s->sem), 0);
	SHMKIT_ASSERT_ERR(shmkit_sem_trywait(&s->sem), -EAGAIN);
	SHMKIT_ASSERT_ERR(shmkit_sem_wait(&s->sem, &t, 0), -ETIMEDOUT);
	/* The documented remedy: someone who knows of the death posts. */
	SHMKIT_ASSERT_OK(shmkit_sem_post(&s->sem));
	SHMKIT_ASSERT_OK(shmkit_sem_trywait(&s->sem));

	/* A waiter killed asleep: its registration stays, posts still
	 * work (with a needless wake call) and fini refuses. */
	pid = shmkit_test_fork(sleep_forever, s);
	await_waiter(&s->sem);
	usleep(20000);
	SHMKIT_ASSERT_OK(kill(pid, SIGKILL));
	SHMKIT_ASSERT_CHILD_SIGNAL(pid, SIGKILL);
	SHMKIT_ASSERT_EQ(s->sem.priv_waiters, 1);
	SHMKIT_ASSERT_OK(shmkit_sem_post(&s->sem));
	SHMKIT_ASSERT_OK(shmkit_sem_wait(&s->sem, &t, 0));
	SHMKIT_ASSERT_ERR(shmkit_sem_fini(&s->sem), -EBUSY);
}

static volatile sig_atomic_t handled;

static void
on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void
signalled_waiter(void *arg)
{
	struct shared *s = arg;
	struct timespec t = rel_ms(400);
	struct sigaction sa;
	int64_t t0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	SHMKIT_ASSERT_OK(sigaction(SIGUSR1, &sa, NULL));
	t0 = now_ns();
	s->rc = shmkit_sem_wait(&s->sem, &t, 0);
	s->elapsed_ns = now_ns() - t0;
	s->sigs = handled;
	t = rel_ms(10000);
	SHMKIT_ASSERT_ERR(shmkit_sem_wait(&s->sem, &t, SHMKIT_WAIT_INTR),
			  -EINTR);
}

static void
test_signals_during_wait(void)
{
	struct shared *s = shared_new();
	pid_t pid;
	int i, st = 0;

	SHMKIT_ASSERT_OK(shmkit_sem_init(&s->sem, 0));
	pid = shmkit_test_fork(signalled_waiter, s);
	await_waiter(&s->sem);
	for (i = 0; i < 2000; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		SHMKIT_ASSERT(r == 0);
		kill(pid, SIGUSR1);
		usleep(5000);
	}
	SHMKIT_ASSERT(i < 2000);
	SHMKIT_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* Handlers ran, yet the first wait lasted its full timeout. */
	SHMKIT_ASSERT_ERR(s->rc, -ETIMEDOUT);
	SHMKIT_ASSERT(s->elapsed_ns >= 400 * NS_PER_MS);
	SHMKIT_ASSERT(s->sigs > 0);
}

static void
test_garbage_state_is_an_error(void)
{
	struct shared *s = shared_new();
	struct timespec t = rel_ms(10);
	pid_t pid;

	memset(&s->sem, 0xff, sizeof(s->sem));
	SHMKIT_ASSERT_ERR(shmkit_sem_post(&s->sem), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_sem_trywait(&s->sem), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_sem_wait(&s->sem, NULL, 0), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_sem_value(&s->sem), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_sem_fini(&s->sem), SHMKIT_ECORRUPT);

	/* Good header, impossible count. */
	SHMKIT_ASSERT_OK(shmkit_sem_init(&s->sem, 1));
	s->sem.priv_value = 0x80000005u;
	SHMKIT_ASSERT_ERR(shmkit_sem_post(&s->sem), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_sem_trywait(&s->sem), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_sem_wait(&s->sem, NULL, 0), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_sem_value(&s->sem), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_OK(shmkit_sem_init(&s->sem, 1));
	s->sem.priv_waiters = 0xfffffff0u;
	SHMKIT_ASSERT_ERR(shmkit_sem_wait(&s->sem, &t, 0), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_sem_post(&s->sem), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_OK(shmkit_sem_init(&s->sem, 1));
	s->sem.priv_version = 2;
	SHMKIT_ASSERT_ERR(shmkit_sem_post(&s->sem), SHMKIT_EVERSION);

	/* Corrupted while a peer sleeps: it finds out when next woken. */
	SHMKIT_ASSERT_OK(shmkit_sem_init(&s->sem, 0));
	pid = shmkit_test_fork(corrupted_while_waiting, s);
	await_waiter(&s->sem);
	usleep(20000);
	s->sem.priv_magic = 0;
	/* Wake it the way a post would: it re-validates and gives up. */
	SHMKIT_ASSERT(shmkit__futex_wake(&s->sem.priv_value, 1,
					 SHMKIT__FUTEX_BIT_ALL) >= 0);
	SHMKIT_ASSERT_CHILD_OK(pid);
	SHMKIT_ASSERT_EQ(s->sem.priv_waiters, 0);
}

/* Threads: contention and a producer/consumer hand-off, for TSan. */
static void *
contend_thread(void *arg)
{
	contend(arg, ITERS);
	return NULL;
}

static void *
exclusive_thread(void *arg)
{
	exclusive(arg, ITERS);
	return NULL;
}

static void
test_threads_contention(void)
{
	struct shared *s = shared_new();
	pthread_t t[PROCS];
	int i;

	SHMKIT_ASSERT_OK(shmkit_sem_init(&s->sem, PERMITS));
	for (i = 0; i < PROCS; i++)
		SHMKIT_ASSERT_OK(
			-pthread_create(&t[i], NULL, contend_thread, s));
	for (i = 0; i < PROCS; i++)
		SHMKIT_ASSERT_OK(-pthread_join(t[i], NULL));
	SHMKIT_ASSERT(s->max_holders >= 1 && s->max_holders <= PERMITS);
	SHMKIT_ASSERT_EQ(s->done, PROCS * ITERS);

	SHMKIT_ASSERT_OK(shmkit_sem_init(&s->sem, 1));
	for (i = 0; i < PROCS; i++)
		SHMKIT_ASSERT_OK(
			-pthread_create(&t[i], NULL, exclusive_thread, s));
	for (i = 0; i < PROCS; i++)
		SHMKIT_ASSERT_OK(-pthread_join(t[i], NULL));
	SHMKIT_ASSERT_EQ(s->plain, PROCS * ITERS);
}

static void *
producer_thread(void *arg)
{
	struct shared *s = arg;
	int i;

	for (i = 0; i < ITEMS; i++) {
		s->data[i] = i * 3; /* plain: the post publishes it */
		SHMKIT_ASSERT_OK(shmkit_sem_post(&s->items));
	}
	return NULL;
}

static void
test_threads_producer_consumer(void)
{
	struct shared *s = shared_new();
	struct timespec t = rel_ms(5000);
	pthread_t p;
	int i;

	SHMKIT_ASSERT_OK(shmkit_sem_init(&s->items, 0));
	SHMKIT_ASSERT_OK(-pthread_create(&p, NULL, producer_thread, s));
	for (i = 0; i < ITEMS; i++) {
		SHMKIT_ASSERT_OK(shmkit_sem_wait(&s->items, &t, 0));
		SHMKIT_ASSERT_EQ(s->data[i], i * 3);
	}
	SHMKIT_ASSERT_OK(-pthread_join(p, NULL));
	SHMKIT_ASSERT_EQ(shmkit_sem_value(&s->items), 0);
}

SHMKIT_TESTS = {
	{"counting_and_limits", test_counting_and_limits},
	{"processes_never_exceed_permits", test_processes_never_exceed_permits},
	{"one_permit_excludes_across_processes",
	 test_one_permit_excludes_across_processes},
	{"timed_wait_times_out", test_timed_wait_times_out},
	{"post_wakes_waiter_in_other_process",
	 test_post_wakes_waiter_in_other_process},
	{"dead_holder_permit_is_lost", test_dead_holder_permit_is_lost},
	{"signals_during_wait", test_signals_during_wait},
	{"garbage_state_is_an_error", test_garbage_state_is_an_error},
	{"threads_contention", test_threads_contention},
	{"threads_producer_consumer", test_threads_producer_consumer},
	{NULL, NULL},
};
