/*
 * event_pingpong: two processes take turns through two shmkit events.
 *
 * The parent puts a counter and two events in an anonymous shared
 * mapping and forks. Each side waits for the generation of "its" event to
 * move (shmkit_event_wait_seq never misses a set), bumps the counter and
 * sets the other side's event. The parent then watches a third event
 * through a pollable fd, the way an epoll/poll program would.
 *
 *   event_pingpong [ROUNDS]
 */
/* MAP_ANONYMOUS is not in ISO C or strict POSIX. */
#define _DEFAULT_SOURCE

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmkit/error.h>
#include <shmkit/event.h>

struct shared {
	shmkit_event_t ping; /* parent -> child */
	shmkit_event_t pong; /* child -> parent */
	shmkit_event_t done; /* child -> parent, watched with poll() */
	long counter;	     /* written in turns: the events order it */
};

static int
check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "event_pingpong: %s: %s\n", what,
			shmkit_strerror(rc));
		exit(1);
	}
	return rc;
}

/* Wait for the next set of ev; a peer silent for 5 s is an error. */
static void
await(shmkit_event_t *ev, uint32_t *seq)
{
	struct timespec timeout = {5, 0};

	check(shmkit_event_wait_seq(ev, seq, &timeout, 0), "wait");
}

int
main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 1000, i;
	shmkit_event_fd_t *watch;
	struct shared *s;
	struct pollfd pfd;
	uint32_t seq = 0;
	int status, ok;
	pid_t pid;

	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	check(shmkit_event_init(&s->ping, SHMKIT_EVENT_MANUAL), "init");
	check(shmkit_event_init(&s->pong, SHMKIT_EVENT_MANUAL), "init");
	check(shmkit_event_init(&s->done, SHMKIT_EVENT_MANUAL), "init");
	/* Open the watch before forking so no set can come before it. */
	check(shmkit_event_fd_open(&watch, &s->done), "fd_open");

	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		for (i = 0; i < rounds; i++) {
			await(&s->ping, &seq);
			s->counter++;
			check(shmkit_event_set(&s->pong), "set");
		}
		check(shmkit_event_set(&s->done), "set");
		_exit(0);
	}

	for (i = 0; i < rounds; i++) {
		s->counter++;
		check(shmkit_event_set(&s->ping), "set");
		await(&s->pong, &seq);
	}

	pfd.fd = shmkit_event_fd(watch);
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 5000) != 1) {
		fprintf(stderr, "event_pingpong: no 'done' within 5 s\n");
		return 1;
	}
	check(shmkit_event_fd_ack(watch), "fd_ack");
	shmkit_event_fd_close(watch);
	waitpid(pid, &status, 0);

	printf("%ld round trips, counter %ld\n", rounds, s->counter);
	ok = s->counter == 2 * rounds;
	check(shmkit_event_fini(&s->ping), "fini");
	check(shmkit_event_fini(&s->pong), "fini");
	check(shmkit_event_fini(&s->done), "fini");
	munmap(s, sizeof(*s));
	return ok ? 0 : 1;
}
