/*
 * sync_mutex_bench: what robustness and validation cost. Times an
 * uncontended lock/unlock pair of a shmkit mutex (robust, process-shared,
 * error-checking, header checked on every call) against a plain private
 * pthread mutex, in the same run on the same machine, and prints ns per
 * pair for each and their ratio. --quick runs a tenth of the iterations.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <shmkit/error.h>
#include <shmkit/mutex.h>

#define ROUNDS 5

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double
bench_shmkit(shmkit_mutex_t *m, long iters)
{
	double t0 = now_ns();
	long i;

	for (i = 0; i < iters; i++) {
		if (shmkit_mutex_lock(m) != 0 || shmkit_mutex_unlock(m) != 0) {
			fprintf(stderr, "shmkit mutex failed\n");
			exit(1);
		}
	}
	return (now_ns() - t0) / (double)iters;
}

static double
bench_pthread(pthread_mutex_t *m, long iters)
{
	double t0 = now_ns();
	long i;

	for (i = 0; i < iters; i++) {
		if (pthread_mutex_lock(m) != 0 ||
		    pthread_mutex_unlock(m) != 0) {
			fprintf(stderr, "pthread mutex failed\n");
			exit(1);
		}
	}
	return (now_ns() - t0) / (double)iters;
}

int
main(int argc, char **argv)
{
	long iters = 20000000;
	double best_s = 1e30, best_p = 1e30, t;
	pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
	shmkit_mutex_t *m;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			iters /= 10;
		} else {
			fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
			return 2;
		}
	}
	/* In shared memory, as it would be used. */
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	rc = shmkit_mutex_init(m);
	if (rc < 0) {
		fprintf(stderr, "shmkit_mutex_init: %s\n", shmkit_strerror(rc));
		return 1;
	}
	/* Warm up both, then take the best of several interleaved rounds so
	 * that frequency changes and noise hit both sides alike. */
	bench_shmkit(m, iters / 10);
	bench_pthread(&pm, iters / 10);
	for (i = 0; i < ROUNDS; i++) {
		t = bench_shmkit(m, iters);
		if (t < best_s)
			best_s = t;
		t = bench_pthread(&pm, iters);
		if (t < best_p)
			best_p = t;
	}
	printf("uncontended lock+unlock, best of %d x %ld:\n", ROUNDS, iters);
	printf("  shmkit mutex (robust, pshared)  %8.1f ns/op\n", best_s);
	printf("  pthread mutex (private, normal) %8.1f ns/op\n", best_p);
	printf("  ratio shmkit/pthread            %8.2f\n", best_s / best_p);
	shmkit_mutex_fini(m);
	munmap(m, sizeof(*m));
	return 0;
}
