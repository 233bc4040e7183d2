/*
 * bench_sync.c: what the synchronisation objects of libshmkit cost, next
 * to what a program would use without them, measured in the same run.
 *
 * Two comparisons, each a ratio the user can act on:
 *  - mutex: an uncontended shmkit_mutex_lock/unlock pair (robust,
 *    process-shared, validated) against a default private pthread mutex,
 *    the cheapest lock there is. Both in this process, in alternating
 *    batches so that frequency changes hit both alike; the result is the
 *    median batch, in nanoseconds per lock+unlock.
 *  - event: a wake-up round trip between two processes through two
 *    shmkit events (set, the peer wakes and sets back) against the same
 *    round trip through two pipes carrying one byte, on the same pinned
 *    pair of processes. The result is the median round trip.
 * These do not fit the byte-moving driver of bench_run.c (the mutex does
 * not cross processes, the event carries no data and coalesces sets), so
 * they are measured here and printed as their own section.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/error.h>
#include <shmkit/event.h>
#include <shmkit/mutex.h>

/* Lock+unlock pairs per timed batch: long enough that reading the clock
 * is noise, short enough for many batches. */
#define MUTEX_BATCH 1000

/* A peer that does not answer within this long is taken for dead. */
static const struct timespec peer_timeout = { 5, 0 };

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
pin_to(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void
fail(struct bench_sync_result *r, enum bench_status st, const char *what,
     int rc)
{
	r->status = st;
	snprintf(r->why, sizeof(r->why), "%s: %s", what, shmkit_strerror(rc));
}

/* How many batches or round trips: the iterations asked for, but stop
 * early at a few times the duration so a slow machine still finishes. */
static unsigned long
rounds_of(const struct bench_opts *o)
{
	return o->iterations < 100 ? 100 : o->iterations;
}

static void
measure_mutex(const struct bench_opts *o, struct bench_sync_result *r)
{
	unsigned long n = rounds_of(o) / 10, i, k, done = 0;
	double *a = NULL, *b = NULL, t0, cap;
	pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
	shmkit_mutex_t *m;
	int rc;

	if (n < 20)
		n = 20;
	/* In a shared mapping, where a shmkit mutex lives in real use. */
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		fail(r, BENCH_NA, "mmap", -errno);
		return;
	}
	rc = shmkit_mutex_init(m);
	if (rc < 0) {
		fail(r, BENCH_NA, "shmkit_mutex_init", rc);
		goto out;
	}
	a = calloc(n, sizeof(*a));
	b = calloc(n, sizeof(*b));
	if (a == NULL || b == NULL) {
		fail(r, BENCH_FAILED, "calloc", -ENOMEM);
		goto out_fini;
	}
	cap = now_ns() + 5e9 * o->duration + 1e9;
	for (i = 0; i < n && now_ns() < cap && !bench_interrupted(); i++) {
		t0 = now_ns();
		for (k = 0; k < MUTEX_BATCH; k++) {
			rc = shmkit_mutex_lock(m);
			if (rc == 0)
				rc = shmkit_mutex_unlock(m);
			if (rc < 0) {
				fail(r, BENCH_FAILED, "shmkit_mutex_lock", rc);
				goto out_fini;
			}
		}
		a[i] = (now_ns() - t0) / MUTEX_BATCH;
		t0 = now_ns();
		for (k = 0; k < MUTEX_BATCH; k++) {
			pthread_mutex_lock(&pm);
			pthread_mutex_unlock(&pm);
		}
		b[i] = (now_ns() - t0) / MUTEX_BATCH;
		done++;
	}
	if (done == 0) {
		snprintf(r->why, sizeof(r->why), "interrupted");
		goto out_fini;
	}
	r->ns = median(a, done);
	r->base_ns = median(b, done);
	r->samples = done;
	r->status = BENCH_OK;
out_fini:
	shmkit_mutex_fini(m);
out:
	free(a);
	free(b);
	munmap(m, sizeof(*m));
	pthread_mutex_destroy(&pm);
}

struct event_shared {
	shmkit_event_t ping; /* parent -> child */
	shmkit_event_t pong; /* child -> parent */
	atomic_int stop;     /* parent -> child: the event phase is over */
};

static int
write_byte(int fd)
{
	char ch = 'x';

	while (write(fd, &ch, 1) != 1)
		if (errno != EINTR || bench_interrupted())
			return -errno;
	return 0;
}

/* 0 on a byte, -ECONNRESET at end of file, or -errno. */
static int
read_byte(int fd)
{
	ssize_t n;
	char ch;

	while ((n = read(fd, &ch, 1)) != 1) {
		if (n == 0)
			return -ECONNRESET;
		if (errno != EINTR || bench_interrupted())
			return -errno;
	}
	return 0;
}

/* The child: answer every ping until told to stop, then echo pipe bytes
 * until the parent closes its end. */
static void
event_child(struct event_shared *s, uint32_t seq, int in, int out, int cpu)
{
	pin_to(cpu);
	for (;;) {
		if (shmkit_event_wait_seq(&s->ping, &seq, &peer_timeout, 0) < 0)
			_exit(1);
		/* Acquire: orders nothing the child needs beyond the flag
		 * itself (the wait already synchronises with the set); pairs
		 * with the release store in measure_event(). */
		if (atomic_load_explicit(&s->stop, memory_order_acquire))
			break;
		if (shmkit_event_set(&s->pong) < 0)
			_exit(1);
	}
	while (read_byte(in) == 0)
		if (write_byte(out) < 0)
			_exit(1);
	_exit(0);
}

static void
measure_event(const struct bench_opts *o, const struct bench_machine *mc,
	      struct bench_sync_result *r)
{
	unsigned long n = rounds_of(o), i, ev_done = 0, pp_done = 0;
	int p2c[2] = { -1, -1 }, c2p[2] = { -1, -1 }, rc = 0, st;
	double *ev = NULL, *pp = NULL, t0, cap;
	struct event_shared *s;
	uint32_t seq, ping_seq;
	pid_t pid = -1;

	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED) {
		fail(r, BENCH_NA, "mmap", -errno);
		return;
	}
	atomic_init(&s->stop, 0);
	rc = shmkit_event_init(&s->ping, SHMKIT_EVENT_MANUAL);
	if (rc == 0)
		rc = shmkit_event_init(&s->pong, SHMKIT_EVENT_MANUAL);
	if (rc < 0) {
		fail(r, BENCH_NA, "shmkit_event_init", rc);
		goto out;
	}
	ev = calloc(n, sizeof(*ev));
	pp = calloc(n, sizeof(*pp));
	if (ev == NULL || pp == NULL) {
		fail(r, BENCH_FAILED, "calloc", -ENOMEM);
		goto out;
	}
	if (pipe2(p2c, O_CLOEXEC) < 0 || pipe2(c2p, O_CLOEXEC) < 0) {
		fail(r, BENCH_FAILED, "pipe", -errno);
		goto out;
	}
	/* Both generations before fork: a child that read its own after
	 * the parent's first set would wait for a set already made. */
	ping_seq = (uint32_t)shmkit_event_seq(&s->ping);
	seq = (uint32_t)shmkit_event_seq(&s->pong);
	pid = fork();
	if (pid < 0) {
		fail(r, BENCH_FAILED, "fork", -errno);
		goto out;
	}
	if (pid == 0) {
		close(p2c[1]);
		close(c2p[0]);
		event_child(s, ping_seq, p2c[0], c2p[1],
			    mc->pinned ? mc->cpu_b : -1);
	}
	close(p2c[0]);
	close(c2p[1]);
	p2c[0] = c2p[1] = -1;
	if (mc->pinned)
		pin_to(mc->cpu_a);

	cap = now_ns() + 5e9 * o->duration + 1e9;
	for (i = 0; i < n + o->warmup && now_ns() < cap; i++) {
		if (bench_interrupted()) {
			rc = -ECANCELED;
			break;
		}
		t0 = now_ns();
		rc = shmkit_event_set(&s->ping);
		if (rc == 0)
			rc = shmkit_event_wait_seq(&s->pong, &seq,
						   &peer_timeout, 0);
		if (rc < 0)
			break;
		if (i >= o->warmup)
			ev[ev_done++] = now_ns() - t0;
	}
	/* Release: the child reads the flag after the set below wakes it;
	 * pairs with the acquire load in event_child(). */
	atomic_store_explicit(&s->stop, 1, memory_order_release);
	shmkit_event_set(&s->ping);
	if (rc < 0) {
		fail(r, BENCH_FAILED, "event round trip", rc);
		goto out;
	}

	cap = now_ns() + 5e9 * o->duration + 1e9;
	for (i = 0; i < n + o->warmup && now_ns() < cap; i++) {
		t0 = now_ns();
		rc = write_byte(p2c[1]);
		if (rc == 0)
			rc = read_byte(c2p[0]);
		if (rc < 0) {
			fail(r, BENCH_FAILED, "pipe round trip", rc);
			goto out;
		}
		if (i >= o->warmup)
			pp[pp_done++] = now_ns() - t0;
	}
	if (ev_done == 0 || pp_done == 0) {
		snprintf(r->why, sizeof(r->why), "no round trip in time");
		r->status = BENCH_FAILED;
		goto out;
	}
	r->ns = median(ev, ev_done);
	r->base_ns = median(pp, pp_done);
	r->samples = ev_done;
	r->status = BENCH_OK;
out:
	/* Closing our pipe end ends the child's echo loop; a child stuck
	 * elsewhere is killed rather than waited for. */
	bench_close(&p2c[1]);
	bench_close(&c2p[0]);
	bench_close(&p2c[0]);
	bench_close(&c2p[1]);
	if (pid > 0) {
		if (r->status != BENCH_OK)
			kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	free(ev);
	free(pp);
	munmap(s, sizeof(*s));
}

void
bench_sync_measure(const struct bench_mech *m, const struct bench_opts *o,
		   const struct bench_machine *mc, struct bench_sync_result *r)
{
	memset(r, 0, sizeof(*r));
	r->mech = m;
	r->status = BENCH_FAILED;
	if (m->arg == BENCH_SYNC_MUTEX) {
		r->base = "pthread-mutex";
		measure_mutex(o, r);
	} else {
		r->base = "pipe";
		measure_event(o, mc, r);
	}
	if (r->status == BENCH_OK && r->base_ns > 0)
		r->ratio = r->ns / r->base_ns;
}
