/*
 * sync_event_bench: the wake-up round trip of a shmkit event between two
 * processes, against a pipe round trip measured in the same run.
 *
 * A round trip is: process A signals B, B wakes and signals A back, A
 * wakes. For events that is set(a) / wait_seq(a) / set(b) / wait_seq(b)
 * on two events in a shared anonymous mapping; for the pipe it is a
 * one-byte write and read each way over two pipes. Each mechanism runs in
 * batches; the result is the median over batches of the mean time per
 * round trip in a batch, which shrugs off a batch disturbed by the rest
 * of the machine. Prints both medians and their ratio.
 *
 *   sync_event_bench [--quick]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/error.h>
#include <shmkit/event.h>

#define MAX_BATCHES 101

struct plan {
	int batches;   /* measured batches */
	int per_batch; /* round trips in a batch */
};

struct pair {
	shmkit_event_t ping;
	shmkit_event_t pong;
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One wait of a round trip; a peer that vanished ends the bench. */
static int
await(shmkit_event_t *ev, uint32_t *seq)
{
	struct timespec t = {5, 0};
	int rc = shmkit_event_wait_seq(ev, seq, &t, 0);

	if (rc < 0)
		fprintf(stderr, "sync_event_bench: wait: %s\n",
			shmkit_strerror(rc));
	return rc;
}

static double
bench_event(const struct plan *p)
{
	double per[MAX_BATCHES];
	uint32_t seq = 0;
	int total = (p->batches + 1) * p->per_batch;
	struct pair *s;
	int64_t t0;
	pid_t pid;
	int b, i, st;

	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	if (shmkit_event_init(&s->ping, SHMKIT_EVENT_MANUAL) < 0 ||
	    shmkit_event_init(&s->pong, SHMKIT_EVENT_MANUAL) < 0)
		exit(1);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		for (i = 0; i < total; i++) {
			if (await(&s->ping, &seq) < 0)
				_exit(1);
			shmkit_event_set(&s->pong);
		}
		_exit(0);
	}
	/* Batch 0 warms caches and the scheduler and is not counted. */
	for (b = 0; b <= p->batches; b++) {
		t0 = now_ns();
		for (i = 0; i < p->per_batch; i++) {
			shmkit_event_set(&s->ping);
			if (await(&s->pong, &seq) < 0)
				exit(1);
		}
		if (b > 0)
			per[b - 1] = (double)(now_ns() - t0) / p->per_batch;
	}
	waitpid(pid, &st, 0);
	munmap(s, sizeof(*s));
	return median(per, p->batches);
}

static void
xfer(int rfd, int wfd, int reply_first)
{
	char c = 'x';

	if (reply_first) {
		if (write(wfd, &c, 1) != 1 || read(rfd, &c, 1) != 1)
			goto fail;
	} else {
		if (read(rfd, &c, 1) != 1 || write(wfd, &c, 1) != 1)
			goto fail;
	}
	return;
fail:
	fprintf(stderr, "sync_event_bench: pipe: %s\n", strerror(errno));
	_exit(1);
}

static double
bench_pipe(const struct plan *p)
{
	double per[MAX_BATCHES];
	int total = (p->batches + 1) * p->per_batch;
	int to_child[2], to_parent[2];
	int64_t t0;
	pid_t pid;
	int b, i, st;

	if (pipe(to_child) < 0 || pipe(to_parent) < 0) {
		perror("pipe");
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		for (i = 0; i < total; i++)
			xfer(to_child[0], to_parent[1], 0);
		_exit(0);
	}
	for (b = 0; b <= p->batches; b++) {
		t0 = now_ns();
		for (i = 0; i < p->per_batch; i++)
			xfer(to_parent[0], to_child[1], 1);
		if (b > 0)
			per[b - 1] = (double)(now_ns() - t0) / p->per_batch;
	}
	waitpid(pid, &st, 0);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
	return median(per, p->batches);
}

int
main(int argc, char **argv)
{
	struct plan p = {41, 2000};
	double ev, pp;

	if (argc == 2 && strcmp(argv[1], "--quick") == 0) {
		p.batches = 9;
		p.per_batch = 300;
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
		return 2;
	}
	ev = bench_event(&p);
	pp = bench_pipe(&p);
	printf("round trip between two processes, median of %d batches "
	       "of %d:\n",
	       p.batches, p.per_batch);
	printf("  shmkit event  %10.0f ns\n", ev);
	printf("  pipe          %10.0f ns\n", pp);
	printf("  pipe / event  %10.2f\n", pp / ev);
	return 0;
}
