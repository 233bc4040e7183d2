/*
 * mutex_counter: several processes increment one counter in shared memory
 * under a shmkit robust mutex; one of them is killed while it holds the
 * lock, and the next locker repairs the record and carries on.
 *
 *   mutex_counter [PROCS [ITERS]]     (defaults 4 and 100000)
 *
 * The record keeps the count twice (a, then b): while a holder is inside
 * the critical section they differ, so a locker that gets -EOWNERDEAD can
 * see what the dead holder left half-done and finish it.
 */
/* MAP_ANONYMOUS is not in ISO C or strict POSIX. */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmkit/error.h>
#include <shmkit/mutex.h>

struct record {
	shmkit_mutex_t lock;
	long a, b;
	long repairs;
};

/* Lock, repairing the record if the previous holder died. */
static int
lock_record(struct record *r)
{
	int rc = shmkit_mutex_lock(&r->lock);

	if (rc == -EOWNERDEAD) {
		/* The dead holder got as far as a++; finish its b++. */
		r->b = r->a;
		r->repairs++;
		rc = shmkit_mutex_consistent(&r->lock);
	}
	return rc;
}

static int
worker(struct record *r, long iters, int die_inside)
{
	long i;
	int rc;

	for (i = 0; i < iters; i++) {
		rc = lock_record(r);
		if (rc < 0) {
			fprintf(stderr, "lock: %s\n", shmkit_strerror(rc));
			return 1;
		}
		r->a++;
		if (die_inside && i == iters / 2)
			raise(SIGKILL); /* holding the lock, record half-done */
		r->b++;
		shmkit_mutex_unlock(&r->lock);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	int procs = argc > 1 ? atoi(argv[1]) : 4;
	long iters = argc > 2 ? atol(argv[2]) : 100000;
	struct record *r;
	long expected;
	int i, rc, failed = 0;

	if (procs < 1 || iters < 1) {
		fprintf(stderr, "usage: %s [PROCS [ITERS]]\n", argv[0]);
		return 2;
	}
	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	rc = shmkit_mutex_init(&r->lock);
	if (rc < 0) {
		fprintf(stderr, "shmkit_mutex_init: %s\n", shmkit_strerror(rc));
		return 1;
	}
	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		/* Process 0 dies half-way through, inside the lock. */
		if (pid == 0)
			_exit(worker(r, iters, i == 0));
	}
	for (i = 0; i < procs; i++) {
		int st;

		if (wait(&st) < 0)
			break;
		if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
			failed = 1;
	}
	rc = lock_record(r);
	if (rc < 0) {
		fprintf(stderr, "lock: %s\n", shmkit_strerror(rc));
		return 1;
	}
	/* The dead one counted iters / 2 whole steps and one repaired. */
	expected = (long)(procs - 1) * iters + iters / 2 + 1;
	printf("count %ld (expected %ld: one process died half-way), "
	       "repairs %ld\n",
	       r->b, expected, r->repairs);
	shmkit_mutex_unlock(&r->lock);
	shmkit_mutex_fini(&r->lock);
	return failed || r->a != r->b || r->b != expected;
}
