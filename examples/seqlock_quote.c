/*
 * seqlock_quote: one writer process publishes a price quote, reader
 * processes copy it out, and no reader ever sees half of one update.
 *
 * A quote is several fields that only make sense together. Here each
 * update sets bid, ask = bid + 2 and check = -bid, so a reader can tell a
 * torn copy (fields from two different updates) from a good one. The
 * seqlock lets readers copy the quote without ever blocking the writer
 * or each other: a copy that a write overlapped is simply retried.
 *
 *   seqlock_quote [READERS [UPDATES]]
 */
/* MAP_ANONYMOUS and nanosleep are not in ISO C. */
#define _DEFAULT_SOURCE

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/error.h>
#include <shmkit/seqlock.h>

struct quote {
	int64_t bid;
	int64_t ask;   /* always bid + 2 */
	int64_t check; /* always -bid */
	uint64_t tick; /* update number, 1, 2, ... */
};

struct shared {
	shmkit_seqlock_t lock;
	struct quote quote; /* written only through the seqlock */
};

static int
check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "seqlock_quote: %s: %s\n", what,
			shmkit_strerror(rc));
		exit(1);
	}
	return rc;
}

static void
writer(struct shared *s, uint64_t updates)
{
	struct timespec pause = {0, 50000}; /* 50 us */
	struct quote q;
	uint64_t i;

	for (i = 1; i <= updates; i++) {
		q.bid = 1000 + (int64_t)(i % 97);
		q.ask = q.bid + 2;
		q.check = -q.bid;
		q.tick = i;
		/* Takes the writer lock, marks the write in progress so
		 * readers retry, stores the fields, publishes. */
		check(shmkit_seqlock_write(&s->lock, &s->quote, &q, sizeof(q)),
		      "write");
		/* A real feed pauses between ticks. A writer that never
		 * paused could starve readers: their reads would give up
		 * with -ETIMEDOUT after SHMKIT_SEQLOCK_READ_TIMEOUT_MS. */
		if (i % 256 == 0)
			nanosleep(&pause, NULL);
	}
}

/* Read until the last update shows up; exit status 1 if any copy was
 * torn or went back in time. */
static void
reader(struct shared *s, uint64_t updates)
{
	uint64_t reads = 0, last = 0;
	struct quote q;

	do {
		/* A consistent copy or an error, never a torn copy. */
		check(shmkit_seqlock_read(&s->lock, &q, &s->quote, sizeof(q)),
		      "read");
		reads++;
		if (q.ask != q.bid + 2 || q.check != -q.bid || q.tick < last) {
			fprintf(stderr,
				"seqlock_quote: torn quote: bid %" PRId64
				" ask %" PRId64 " check %" PRId64
				" tick %" PRIu64 "\n",
				q.bid, q.ask, q.check, q.tick);
			_exit(1);
		}
		last = q.tick;
	} while (last < updates);
	printf("reader %d: %" PRIu64 " consistent reads\n", (int)getpid(),
	       reads);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	const struct quote first = {1000, 1002, -1000, 0};
	int readers = argc > 1 ? atoi(argv[1]) : 3;
	long updates = argc > 2 ? atol(argv[2]) : 100000;
	int i, status, failed = 0;
	struct shared *s;
	pid_t pid;

	if (readers < 1 || updates < 1) {
		fprintf(stderr, "usage: seqlock_quote [READERS [UPDATES]]\n");
		return 2;
	}
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	check(shmkit_seqlock_init(&s->lock), "init");
	/* The zero-filled mapping is not a valid quote (ask != bid + 2), so
	 * publish tick 0 before any reader starts. */
	check(shmkit_seqlock_write(&s->lock, &s->quote, &first, sizeof(first)),
	      "write");

	for (i = 0; i < readers; i++) {
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			/* A writer that died would leave us waiting for
			 * the last tick for ever: bound the run. */
			alarm(60);
			reader(s, (uint64_t)updates);
			_exit(0);
		}
	}
	writer(s, (uint64_t)updates);

	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	printf("%ld updates, %d readers: %s\n", updates, readers,
	       failed ? "FAILED" : "every read consistent");
	check(shmkit_seqlock_fini(&s->lock), "fini");
	munmap(s, sizeof(*s));
	return failed;
}
