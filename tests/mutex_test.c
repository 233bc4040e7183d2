/*
 * The robust mutex: mutual exclusion across processes and threads,
 * EOWNERDEAD/ENOTRECOVERABLE when holders die or exec, timed and try
 * locks, ownership errors, and garbage in the object giving errors rather
 * than hangs. Shared state lives in an anonymous MAP_SHARED mapping made
 * before fork. Every wait in a case is bounded, so a bug fails the case
 * instead of hanging it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include <shmkit/mutex.h>

#include "shmkit_test.h"

/* Generous: a correct lock on a loaded machine never comes close. */
/* Long enough never to expire in a passing run; a hang ends as a failure
 * rather than blocking the suite. */
static const struct timespec long_timeout = {.tv_sec = 10};

/* Short relative timeouts for the cases that expect -ETIMEDOUT. */
static const struct timespec ms0 = {.tv_nsec = 0};
static const struct timespec ms10 = {.tv_nsec = 10000000};
static const struct timespec ms20 = {.tv_nsec = 20000000};
static const struct timespec ms50 = {.tv_nsec = 50000000};

struct shared {
	shmkit_mutex_t m;
	long a, b;	  /* protected by m; a == b when consistent */
	_Atomic int flag; /* parent/child hand-shakes */
	_Atomic int go;
	_Atomic int waiting;
	_Atomic int got;
	_Atomic int dead;
	_Atomic int errors;
};

static void *
shared_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		SHMKIT_FAIL("mmap: %s", strerror(errno));
	return p;
}

static struct shared *
shared_new(void)
{
	struct shared *s = shared_map(sizeof(*s));

	SHMKIT_ASSERT_OK(shmkit_mutex_init(&s->m));
	return s;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Wait (bounded) until *v >= want. */
static void
wait_for(_Atomic int *v, int want)
{
	int i;

	for (i = 0; i < 10000; i++) {
		if (atomic_load(v) >= want)
			return;
		sleep_ms(1);
	}
	SHMKIT_FAIL("timed out waiting for a flag to reach %d", want);
}

/* ---- mutual exclusion ---- */

#define COUNT_PROCS 4
#define COUNT_ITERS 20000

static void
count_child(void *arg)
{
	struct shared *s = arg;
	int i;

	for (i = 0; i < COUNT_ITERS; i++) {
		SHMKIT_ASSERT_EQ(
			shmkit_mutex_timedlock(&s->m, &long_timeout, 0), 0);
		s->a++;
		SHMKIT_ASSERT_EQ(shmkit_mutex_unlock(&s->m), 0);
	}
}

static void
test_counter_processes(void)
{
	struct shared *s = shared_new();
	pid_t pids[COUNT_PROCS];
	int i;

	for (i = 0; i < COUNT_PROCS; i++)
		pids[i] = shmkit_test_fork(count_child, s);
	for (i = 0; i < COUNT_PROCS; i++)
		SHMKIT_ASSERT_CHILD_OK(pids[i]);
	SHMKIT_ASSERT_EQ(s->a, (long)COUNT_PROCS * COUNT_ITERS);
	SHMKIT_ASSERT_OK(shmkit_mutex_fini(&s->m));
}

static void *
count_thread(void *arg)
{
	struct shared *s = arg;
	int i;

	for (i = 0; i < COUNT_ITERS / 4; i++) {
		/* Alternate the lock calls so each path is checked by TSan. */
		int rc = (i & 1) ? shmkit_mutex_lock(&s->m)
				 : shmkit_mutex_timedlock(&s->m, &long_timeout,
							  0);

		if (rc != 0) {
			atomic_fetch_add(&s->errors, 1);
			return NULL;
		}
		s->a++;
		if (shmkit_mutex_unlock(&s->m) != 0)
			atomic_fetch_add(&s->errors, 1);
	}
	return NULL;
}

static void
test_counter_threads(void)
{
	struct shared *s = shared_new();
	pthread_t t[COUNT_PROCS];
	int i;

	for (i = 0; i < COUNT_PROCS; i++)
		SHMKIT_ASSERT_EQ(pthread_create(&t[i], NULL, count_thread, s),
				 0);
	for (i = 0; i < COUNT_PROCS; i++)
		SHMKIT_ASSERT_EQ(pthread_join(t[i], NULL), 0);
	SHMKIT_ASSERT_EQ(atomic_load(&s->errors), 0);
	SHMKIT_ASSERT_EQ(s->a, (long)COUNT_PROCS * (COUNT_ITERS / 4));
	SHMKIT_ASSERT_OK(shmkit_mutex_fini(&s->m));
}

/* ---- holders that die ---- */

/* Lock, half-update the data, die. */
static void
die_holding(void *arg)
{
	struct shared *s = arg;

	SHMKIT_ASSERT_EQ(shmkit_mutex_timedlock(&s->m, &long_timeout, 0), 0);
	s->a++;
	raise(SIGKILL);
}

static void
test_owner_death_eownerdead_once(void)
{
	struct shared *s = shared_new();

	SHMKIT_ASSERT_CHILD_SIGNAL(shmkit_test_fork(die_holding, s), SIGKILL);
	SHMKIT_ASSERT_ERR(shmkit_mutex_timedlock(&s->m, &long_timeout, 0),
			  -EOWNERDEAD);
	SHMKIT_ASSERT_EQ(s->a, 1);
	SHMKIT_ASSERT_EQ(s->b, 0);
	s->b = s->a; /* repair */
	SHMKIT_ASSERT_EQ(shmkit_mutex_consistent(&s->m), 0);
	/* Only the first locker is told: now it is an ordinary mutex. */
	SHMKIT_ASSERT_EQ(shmkit_mutex_unlock(&s->m), 0);
	SHMKIT_ASSERT_EQ(shmkit_mutex_lock(&s->m), 0);
	SHMKIT_ASSERT_EQ(shmkit_mutex_unlock(&s->m), 0);
	SHMKIT_ASSERT_EQ(shmkit_mutex_trylock(&s->m), 0);
	SHMKIT_ASSERT_ERR(shmkit_mutex_consistent(&s->m), -EINVAL);
	SHMKIT_ASSERT_EQ(shmkit_mutex_unlock(&s->m), 0);
	SHMKIT_ASSERT_OK(shmkit_mutex_fini(&s->m));
}

static void
expect_unrecoverable(void *arg)
{
	struct shared *s = arg;

	/* trylock first: glibc's leaves the lock word taken, which must not
	 * make the calls after it, or other processes, wait. */
	SHMKIT_ASSERT_ERR(shmkit_mutex_trylock(&s->m), -ENOTRECOVERABLE);
	SHMKIT_ASSERT_ERR(shmkit_mutex_trylock(&s->m), -ENOTRECOVERABLE);
	SHMKIT_ASSERT_ERR(shmkit_mutex_timedlock(&s->m, &long_timeout, 0),
			  -ENOTRECOVERABLE);
	SHMKIT_ASSERT_ERR(shmkit_mutex_lock(&s->m), -ENOTRECOVERABLE);
	SHMKIT_ASSERT_ERR(shmkit_mutex_trylock(&s->m), -ENOTRECOVERABLE);
}

static void
test_unlock_without_consistent_unrecoverable(void)
{
	struct shared *s = shared_new();

	SHMKIT_ASSERT_CHILD_SIGNAL(shmkit_test_fork(die_holding, s), SIGKILL);
	SHMKIT_ASSERT_ERR(shmkit_mutex_lock(&s->m), -EOWNERDEAD);
	SHMKIT_ASSERT_EQ(shmkit_mutex_unlock(&s->m), 0);
	expect_unrecoverable(s);
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(expect_unrecoverable, s));
	/* Re-initialising is the way out. */
	SHMKIT_ASSERT_OK(shmkit_mutex_init(&s->m));
	SHMKIT_ASSERT_EQ(shmkit_mutex_lock(&s->m), 0);
	SHMKIT_ASSERT_EQ(shmkit_mutex_unlock(&s->m), 0);
}

/* Take the lock (repairing if needed) and exit 0, or fail. */
static void
queued_waiter(void *arg)
{
	struct shared *s = arg;
	int rc;

	atomic_fetch_add(&s->waiting, 1);
	rc = shmkit_mutex_timedlock(&s->m, &long_timeout, 0);
	if (rc == -EOWNERDEAD) {
		atomic_fetch_add(&s->dead, 1);
		s->b = s->a;
		SHMKIT_ASSERT_EQ(shmkit_mutex_consistent(&s->m), 0);
	} else {
		SHMKIT_ASSERT_EQ(rc, 0);
	}
	SHMKIT_ASSERT_EQ(s->a, s->b);
	s->a++;
	s->b++;
	atomic_fetch_add(&s->got, 1);
	SHMKIT_ASSERT_EQ(shmkit_mutex_unlock(&s->m), 0);
}

static void
hold_then_die(void *arg)
{
	struct shared *s = arg;

	SHMKIT_ASSERT_EQ(shmkit_mutex_timedlock(&s->m, &long_timeout, 0), 0);
	s->a++;
	atomic_store(&s->flag, 1);
	wait_for(&s->go, 1);
	raise(SIGKILL);
}

static void
test_owner_death_with_three_waiters(void)
{
	struct shared *s = shared_new();
	pid_t holder, w[3];
	int i;

	holder = shmkit_test_fork(hold_then_die, s);
	wait_for(&s->flag, 1);
	for (i = 0; i < 3; i++)
		w[i] = shmkit_test_fork(queued_waiter, s);
	wait_for(&s->waiting, 3);
	/* Give them time to block in the kernel; correctness does not
	 * depend on it, only the coverage of the queued case. */
	sleep_ms(100);
	SHMKIT_ASSERT_EQ(atomic_load(&s->got), 0);
	atomic_store(&s->go, 1);
	SHMKIT_ASSERT_CHILD_SIGNAL(holder, SIGKILL);
	for (i = 0; i < 3; i++)
		SHMKIT_ASSERT_CHILD_OK(w[i]);
	SHMKIT_ASSERT_EQ(atomic_load(&s->got), 3);
	SHMKIT_ASSERT_EQ(atomic_load(&s->dead), 1);
	SHMKIT_ASSERT_EQ(s->a, 4);
	SHMKIT_ASSERT_EQ(s->b, 4);
}

/* Gets EOWNERDEAD, starts repairing, dies before consistent. */
static void
repairer_dies(void *arg)
{
	struct shared *s = arg;

	SHMKIT_ASSERT_ERR(shmkit_mutex_timedlock(&s->m, &long_timeout, 0),
			  -EOWNERDEAD);
	raise(SIGKILL);
}

static void
test_repairer_dies_before_consistent(void)
{
	struct shared *s = shared_new();

	SHMKIT_ASSERT_CHILD_SIGNAL(shmkit_test_fork(die_holding, s), SIGKILL);
	SHMKIT_ASSERT_CHILD_SIGNAL(shmkit_test_fork(repairer_dies, s), SIGKILL);
	SHMKIT_ASSERT_ERR(shmkit_mutex_timedlock(&s->m, &long_timeout, 0),
			  -EOWNERDEAD);
	SHMKIT_ASSERT_EQ(shmkit_mutex_consistent(&s->m), 0);
	SHMKIT_ASSERT_EQ(shmkit_mutex_unlock(&s->m), 0);
	SHMKIT_ASSERT_EQ(shmkit_mutex_trylock(&s->m), 0);
	SHMKIT_ASSERT_EQ(shmkit_mutex_unlock(&s->m), 0);
}

static void
lock_then_exec(void *arg)
{
	struct shared *s = arg;

	SHMKIT_ASSERT_EQ(shmkit_mutex_timedlock(&s->m, &long_timeout, 0), 0);
	atomic_store(&s->flag, 1);
	execlp("sleep", "sleep", "30", (char *)NULL);
	SHMKIT_FAIL("exec sleep: %s", strerror(errno));
}

static void
test_owner_exec_gives_eownerdead(void)
{
	struct shared *s = shared_new();
	pid_t pid;
	int st;

	pid = shmkit_test_fork(lock_then_exec, s);
	wait_for(&s->flag, 1);
	SHMKIT_ASSERT_ERR(shmkit_mutex_timedlock(&s->m, &long_timeout, 0),
			  -EOWNERDEAD);
	/* The holder is alive (running sleep): exec alone released it. */
	SHMKIT_ASSERT_EQ(waitpid(pid, &st, WNOHANG), 0);
	SHMKIT_ASSERT_EQ(shmkit_mutex_consistent(&s->m), 0);
	SHMKIT_ASSERT_EQ(shmkit_mutex_unlock(&s->m), 0);
	kill(pid, SIGKILL);
	SHMKIT_ASSERT_CHILD_SIGNAL(pid, SIGKILL);
}

/*
 * In the spirit of glibc's tst-robust8: children hammer the mutex and get
 * SIGKILLed at random points, also inside the critical section, which
 * updates a then b. Whoever gets EOWNERDEAD must find a - b in {0, 1} and
 * repairs by b = a; everyone else must find a == b.
 */
#define ROBUST_ROUNDS 200
#define ROBUST_KIDS   2

static void
hammer(void *arg)
{
	struct shared *s = arg;
	volatile int spin;
	int i, rc;

	for (i = 0; i < 1000000; i++) {
		rc = shmkit_mutex_timedlock(&s->m, &long_timeout, 0);
		if (rc == -EOWNERDEAD) {
			if (s->a - s->b != 0 && s->a - s->b != 1)
				atomic_fetch_add(&s->errors, 1);
			s->b = s->a;
			atomic_fetch_add(&s->dead, 1);
			if (shmkit_mutex_consistent(&s->m) != 0)
				atomic_fetch_add(&s->errors, 1);
		} else if (rc != 0) {
			atomic_fetch_add(&s->errors, 1);
			return;
		}
		if (s->a != s->b)
			atomic_fetch_add(&s->errors, 1);
		s->a++;
		for (spin = 0; spin < 50; spin++)
			;
		s->b++;
		if (shmkit_mutex_unlock(&s->m) != 0)
			atomic_fetch_add(&s->errors, 1);
	}
}

static void
test_random_kills_robust(void)
{
	struct shared *s = shared_new();
	pid_t kids[ROBUST_KIDS];
	unsigned seed = 12345;
	int round, i, rc, repairs = 0;

	for (round = 0; round < ROBUST_ROUNDS; round++) {
		for (i = 0; i < ROBUST_KIDS; i++)
			kids[i] = shmkit_test_fork(hammer, s);
		sleep_ms((unsigned)rand_r(&seed) % 3);
		for (i = 0; i < ROBUST_KIDS; i++) {
			int st;

			kill(kids[i], SIGKILL);
			st = shmkit_test_wait(kids[i]);
			/* A child that finished its loop is fine too. */
			SHMKIT_ASSERT(WIFSIGNALED(st) || WEXITSTATUS(st) == 0);
		}
		SHMKIT_ASSERT_EQ(atomic_load(&s->errors), 0);
		rc = shmkit_mutex_timedlock(&s->m, &long_timeout, 0);
		if (rc == -EOWNERDEAD) {
			SHMKIT_ASSERT(s->a - s->b == 0 || s->a - s->b == 1);
			s->b = s->a;
			repairs++;
			SHMKIT_ASSERT_EQ(shmkit_mutex_consistent(&s->m), 0);
		} else {
			SHMKIT_ASSERT_EQ(rc, 0);
		}
		SHMKIT_ASSERT_EQ(s->a, s->b);
		SHMKIT_ASSERT_EQ(shmkit_mutex_unlock(&s->m), 0);
	}
	/* Some kill must have landed inside the lock: otherwise the test
	 * did not test anything. */
	SHMKIT_ASSERT(repairs + atomic_load(&s->dead) > 0);
	SHMKIT_ASSERT(s->a > 0);
}

/* ---- timed, try, ownership ---- */

static void
hold_until_go(void *arg)
{
	struct shared *s = arg;

	SHMKIT_ASSERT_EQ(shmkit_mutex_timedlock(&s->m, &long_timeout, 0), 0);
	atomic_store(&s->flag, 1);
	wait_for(&s->go, 1);
	SHMKIT_ASSERT_EQ(shmkit_mutex_unlock(&s->m), 0);
}

static pid_t
held_by_child(struct shared *s)
{
	pid_t pid = shmkit_test_fork(hold_until_go, s);

	wait_for(&s->flag, 1);
	return pid;
}

static void
test_timedlock_times_out_when_held(void)
{
	struct shared *s = shared_new();
	struct timespec abs;
	pid_t pid = held_by_child(s);

	SHMKIT_ASSERT_ERR(shmkit_mutex_timedlock(&s->m, &ms20, 0), -ETIMEDOUT);
	SHMKIT_ASSERT_ERR(shmkit_mutex_timedlock(&s->m, &ms0, 0), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += 20000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	SHMKIT_ASSERT_ERR(
		shmkit_mutex_timedlock(&s->m, &abs, SHMKIT_WAIT_ABSTIME),
		-ETIMEDOUT);
	/* The same deadline on the wall clock. */
	clock_gettime(CLOCK_REALTIME, &abs);
	abs.tv_nsec += 20000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	SHMKIT_ASSERT_ERR(shmkit_mutex_timedlock(&s->m, &abs,
						 SHMKIT_WAIT_ABSTIME |
							 SHMKIT_WAIT_REALTIME),
			  -ETIMEDOUT);
	abs.tv_sec = 0;
	abs.tv_nsec = 0;
	SHMKIT_ASSERT_ERR(
		shmkit_mutex_timedlock(&s->m, &abs, SHMKIT_WAIT_ABSTIME),
		-ETIMEDOUT);
	atomic_store(&s->go, 1);
	SHMKIT_ASSERT_CHILD_OK(pid);
	/* Free now: a deadline in the past still takes it. */
	SHMKIT_ASSERT_EQ(
		shmkit_mutex_timedlock(&s->m, &abs, SHMKIT_WAIT_ABSTIME), 0);
	SHMKIT_ASSERT_EQ(shmkit_mutex_unlock(&s->m), 0);
	abs.tv_nsec = 1000000000;
	SHMKIT_ASSERT_ERR(
		shmkit_mutex_timedlock(&s->m, &abs, SHMKIT_WAIT_ABSTIME),
		-EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_mutex_timedlock(&s->m, &abs, 0), -EINVAL);
	/* The mutex cannot end its wait on a signal, so it refuses
	 * SHMKIT_WAIT_INTR rather than ignore it; unknown flags too. */
	SHMKIT_ASSERT_ERR(
		shmkit_mutex_timedlock(&s->m, &long_timeout, SHMKIT_WAIT_INTR),
		-EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_mutex_timedlock(&s->m, NULL, 0x100u), -EINVAL);
	/* NULL waits forever, like shmkit_mutex_lock(): a free mutex. */
	SHMKIT_ASSERT_EQ(shmkit_mutex_timedlock(&s->m, NULL, 0), 0);
	SHMKIT_ASSERT_EQ(shmkit_mutex_unlock(&s->m), 0);
}

static void
test_trylock_busy(void)
{
	struct shared *s = shared_new();
	pid_t pid = held_by_child(s);

	SHMKIT_ASSERT_ERR(shmkit_mutex_trylock(&s->m), -EBUSY);
	atomic_store(&s->go, 1);
	SHMKIT_ASSERT_CHILD_OK(pid);
	SHMKIT_ASSERT_EQ(shmkit_mutex_trylock(&s->m), 0);
	SHMKIT_ASSERT_ERR(shmkit_mutex_trylock(&s->m), -EDEADLK);
	SHMKIT_ASSERT_ERR(shmkit_mutex_lock(&s->m), -EDEADLK);
	SHMKIT_ASSERT_EQ(shmkit_mutex_unlock(&s->m), 0);
}

static void
test_nonowner_unlock_eperm(void)
{
	struct shared *s = shared_new();
	pid_t pid;

	SHMKIT_ASSERT_ERR(shmkit_mutex_unlock(&s->m), -EPERM);
	pid = held_by_child(s);
	SHMKIT_ASSERT_ERR(shmkit_mutex_unlock(&s->m), -EPERM);
	SHMKIT_ASSERT_ERR(shmkit_mutex_consistent(&s->m), -EPERM);
	SHMKIT_ASSERT_ERR(shmkit_mutex_fini(&s->m), -EBUSY);
	atomic_store(&s->go, 1);
	SHMKIT_ASSERT_CHILD_OK(pid); /* the owner's unlock still works */
	SHMKIT_ASSERT_OK(shmkit_mutex_fini(&s->m));
}

/* ---- bad objects ---- */

static void
test_init_fini_and_layout(void)
{
	struct shared *s = shared_map(sizeof(*s));

	SHMKIT_ASSERT_EQ(sizeof(shmkit_mutex_t), 64);
	SHMKIT_ASSERT_EQ(_Alignof(shmkit_mutex_t), 8);
	SHMKIT_ASSERT_ERR(shmkit_mutex_init(NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_mutex_lock(NULL), -EINVAL);
	/* Zero-filled memory is not a mutex. */
	SHMKIT_ASSERT_ERR(shmkit_mutex_lock(&s->m), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_OK(shmkit_mutex_init(&s->m));
	SHMKIT_ASSERT_OK(shmkit_mutex_fini(&s->m));
	SHMKIT_ASSERT_ERR(shmkit_mutex_lock(&s->m), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_mutex_unlock(&s->m), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_mutex_fini(&s->m), SHMKIT_ECORRUPT);
}

/* Every entry point on a garbage mutex: an error or a timeout. Run in
 * a child under alarm(), so a hang or a crash fails the case cleanly. */
static void
poke_all(void *arg)
{
	shmkit_mutex_t *m = arg;
	int rc;

	alarm(10);
	rc = shmkit_mutex_timedlock(m, &ms50, 0);
	SHMKIT_ASSERT(rc < 0);
	rc = shmkit_mutex_trylock(m);
	SHMKIT_ASSERT(rc < 0);
	rc = shmkit_mutex_lock(m);
	SHMKIT_ASSERT(rc < 0);
	SHMKIT_ASSERT(shmkit_mutex_unlock(m) < 0);
	SHMKIT_ASSERT(shmkit_mutex_consistent(m) < 0);
	SHMKIT_ASSERT(shmkit_mutex_fini(m) < 0);
}

static void
test_garbage_gives_error(void)
{
	struct shared *s = shared_map(sizeof(*s));
	unsigned char *p = (unsigned char *)&s->m;
	unsigned seed = 7;
	int round;
	size_t i;

	/* Random bytes over the whole object. */
	for (round = 0; round < 20; round++) {
		for (i = 0; i < sizeof(s->m); i++)
			p[i] = (unsigned char)rand_r(&seed);
		SHMKIT_ASSERT_ERR(shmkit_mutex_trylock(&s->m), SHMKIT_ECORRUPT);
		SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(poke_all, &s->m));
	}
	/* A valid header over a garbage pthread object: glibc's type bits
	 * no longer match. Bytes 16.. hold the pthread_mutex_t. */
	for (round = 0; round < 20; round++) {
		SHMKIT_ASSERT_OK(shmkit_mutex_init(&s->m));
		for (i = 16; i < sizeof(s->m); i++)
			p[i] = (unsigned char)rand_r(&seed);
		SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(poke_all, &s->m));
	}
}

static void
reap_quietly(void *arg)
{
	(void)arg;
}

/*
 * A lock word that names a thread that does not exist (glibc: the first
 * word of the pthread object) would make a plain pthread_mutex_lock sleep
 * for ever; shmkit_mutex_lock gives up after two check intervals.
 */
static void
test_stale_owner_word_gives_ecorrupt(void)
{
#ifdef __GLIBC__
	struct shared *s = shared_new();
	uint32_t *word = (uint32_t *)(void *)((char *)&s->m + 16);
	pid_t gone = shmkit_test_fork(reap_quietly, NULL);

	SHMKIT_ASSERT_CHILD_OK(gone); /* a pid that no longer exists */
	__atomic_store_n(word, (uint32_t)gone, __ATOMIC_RELAXED);
	alarm(20);
	SHMKIT_ASSERT_ERR(shmkit_mutex_trylock(&s->m), -EBUSY);
	SHMKIT_ASSERT_ERR(shmkit_mutex_timedlock(&s->m, &ms10, 0), -ETIMEDOUT);
	SHMKIT_ASSERT_ERR(shmkit_mutex_lock(&s->m), SHMKIT_ECORRUPT);
#else
	SHMKIT_SKIP("lock word layout known for glibc only");
#endif
}

SHMKIT_TESTS = {
	{"counter_processes", test_counter_processes},
	{"counter_threads", test_counter_threads},
	{"owner_death_eownerdead_once", test_owner_death_eownerdead_once},
	{"unlock_without_consistent_unrecoverable",
	 test_unlock_without_consistent_unrecoverable},
	{"owner_death_with_three_waiters", test_owner_death_with_three_waiters},
	{"repairer_dies_before_consistent",
	 test_repairer_dies_before_consistent},
	{"owner_exec_gives_eownerdead", test_owner_exec_gives_eownerdead},
	{"random_kills_robust", test_random_kills_robust},
	{"timedlock_times_out_when_held", test_timedlock_times_out_when_held},
	{"trylock_busy", test_trylock_busy},
	{"nonowner_unlock_eperm", test_nonowner_unlock_eperm},
	{"init_fini_and_layout", test_init_fini_and_layout},
	{"garbage_gives_error", test_garbage_gives_error},
	{"stale_owner_word_gives_ecorrupt",
	 test_stale_owner_word_gives_ecorrupt},
	{NULL, NULL},
};
