/*
 * sem_pool: a counting semaphore lets at most K of N worker processes
 * into a section at once, the way a pool of K licences, connections or
 * GPU slots is shared.
 *
 * The parent puts a semaphore holding K permits in an anonymous shared
 * mapping and forks N workers. Each worker repeatedly takes a permit,
 * "works" for a moment while counting itself in, and gives the permit
 * back. Every worker records the largest number of workers it ever saw
 * inside; the parent checks that it never exceeded K.
 *
 *   sem_pool [WORKERS [K [ROUNDS]]]
 */
/* MAP_ANONYMOUS and nanosleep are not in ISO C. */
#define _DEFAULT_SOURCE

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/error.h>
#include <shmkit/sem.h>

struct shared {
	shmkit_sem_t pool;   /* K permits: one per worker allowed inside */
	atomic_int inside;   /* workers inside right now */
	atomic_int max_seen; /* the most ever seen inside at once */
};

static int
check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "sem_pool: %s: %s\n", what,
			shmkit_strerror(rc));
		exit(1);
	}
	return rc;
}

/* Raise *max to at least n: a compare-and-swap loop, since another worker
 * may raise it at the same time. */
static void
note_max(atomic_int *max, int n)
{
	/* Relaxed: the maximum is only read by the parent after waitpid(),
	 * which orders everything the workers did before it. */
	int old = atomic_load_explicit(max, memory_order_relaxed);

	while (old < n && !atomic_compare_exchange_weak_explicit(
				  max, &old, n, memory_order_relaxed,
				  memory_order_relaxed))
		;
}

static void
worker(struct shared *s, int rounds)
{
	/* Long enough for any healthy run; a peer that died holding
	 * permits makes us fail instead of hang. */
	struct timespec timeout = {10, 0};
	struct timespec work = {0, 200000}; /* 0.2 ms */
	int i, n;

	for (i = 0; i < rounds; i++) {
		check(shmkit_sem_wait(&s->pool, &timeout, 0), "wait");
		/*
		 * Relaxed is enough for the count: a worker's decrement
		 * below comes before its post, the post synchronises with
		 * the next wait, and that wait comes before the next
		 * worker's increment. So an increment always sees the
		 * decrements of the workers whose permits it reuses.
		 */
		n = atomic_fetch_add_explicit(&s->inside, 1,
					      memory_order_relaxed) +
		    1;
		note_max(&s->max_seen, n);
		nanosleep(&work, NULL); /* stay inside so others pile up */
		atomic_fetch_sub_explicit(&s->inside, 1, memory_order_relaxed);
		check(shmkit_sem_post(&s->pool), "post");
	}
}

int
main(int argc, char **argv)
{
	int workers = argc > 1 ? atoi(argv[1]) : 8;
	int limit = argc > 2 ? atoi(argv[2]) : 3;
	int rounds = argc > 3 ? atoi(argv[3]) : 50;
	int i, status, failed = 0, max;
	struct shared *s;
	pid_t pid;

	if (workers < 1 || limit < 1 || rounds < 1) {
		fprintf(stderr, "usage: sem_pool [WORKERS [K [ROUNDS]]]\n");
		return 2;
	}
	/* The semaphore lives in memory every worker maps: MAP_SHARED, set
	 * up before fork, so each child sees the same object. */
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	check(shmkit_sem_init(&s->pool, (unsigned)limit), "init");
	atomic_init(&s->inside, 0);
	atomic_init(&s->max_seen, 0);

	for (i = 0; i < workers; i++) {
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			worker(s, rounds);
			_exit(0);
		}
	}
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;

	max = atomic_load_explicit(&s->max_seen, memory_order_relaxed);
	printf("%d workers, %d permits: at most %d inside at once\n", workers,
	       limit, max);
	/* Every permit taken was given back, so the pool is full again. */
	if (check(shmkit_sem_value(&s->pool), "value") != limit) {
		fprintf(stderr, "sem_pool: permits lost\n");
		failed = 1;
	}
	if (max > limit) {
		fprintf(stderr, "sem_pool: limit exceeded\n");
		failed = 1;
	}
	check(shmkit_sem_fini(&s->pool), "fini");
	munmap(s, sizeof(*s));
	return failed;
}
