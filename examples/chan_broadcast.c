/*
 * chan_broadcast: one publisher, subscribers that join at different
 * times, and what an overwriting broadcast channel tells a subscriber
 * that fell behind.
 *
 * The publisher creates a broadcast channel of 8 slots with the
 * SHMKIT_CHAN_FULL_OVERWRITE policy (it never waits for anyone) and
 * forks two subscribers; each opens its own handle (handles are not
 * inherited across fork) and says so on a pipe:
 *
 *   - the early subscriber joins first, then dawdles until told to read;
 *   - the publisher publishes messages 1 to 12;
 *   - the late subscriber joins: it will see only what comes after;
 *   - the publisher publishes 13 to 16 and an empty end mark.
 *
 * Then each subscriber in turn reads until the end mark. The early one
 * has fallen 17 messages behind a ring of 8: its first shmkit_chan_peek()
 * returns 9, the exact number overwritten before it could read them, and
 * it reads 10 to 16. The late one reads 13 to 16 and lost nothing. The
 * publisher removes the channel at the end.
 *
 *   chan_broadcast [ADDRESS]             default posix:/chan-broadcast-PID
 */
/* fork(), pipe() and getpid() are POSIX, not ISO C. */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/shmkit.h>

#define SLOTS 8

static const char *address;

static void
check(int rc, const char *who, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "chan_broadcast: %s: %s %s: %s\n", who, what,
			address, shmkit_strerror(rc));
		exit(1);
	}
}

/* Publish message n ("tick <n>"), or the end mark when n is 0. */
static void
publish(shmkit_chan_t *ch, int n)
{
	void *slot;
	int len = 0;

	/* Overwrite policy: never waits, so no timeout is needed. */
	check(shmkit_chan_reserve(ch, 32, &slot, NULL, 0), "publisher",
	      "reserve on");
	if (n > 0)
		len = snprintf(slot, 32, "tick %d", n);
	check(shmkit_chan_commit(ch, (size_t)len), "publisher", "commit on");
}

/*
 * A subscriber: join, tell the publisher on ready, wait for a byte on go,
 * then read to the end mark and say what arrived.
 */
static void __attribute__((noreturn))
subscriber(const char *who, int ready, int go)
{
	struct timespec patience = { 5, 0 };
	shmkit_chan_t *ch;
	const void *msg;
	size_t len;
	int rc, first = 0, last = 0, lost = 0, n;
	char buf[16], c = 'r';

	check(shmkit_chan_open(&ch, address, SHMKIT_CHAN_CONSUMER), who,
	      "cannot open");
	if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
		exit(1);
	for (;;) {
		rc = shmkit_chan_peek(ch, &msg, &len, &patience, 0);
		check(rc, who, "peek on");
		lost += rc; /* messages overwritten before we got to them */
		if (len == 0) {
			shmkit_chan_release(ch);
			break;
		}
		/* Never trust shared memory: bound the text, then parse. */
		if (len >= sizeof(buf)) {
			fprintf(stderr, "%s: message too long\n", who);
			exit(1);
		}
		memcpy(buf, msg, len);
		buf[len] = '\0';
		/* -ESTALE: overwritten while we read it; it counts as lost. */
		rc = shmkit_chan_release(ch);
		if (rc == -ESTALE) {
			lost++;
			continue;
		}
		if (sscanf(buf, "tick %d", &n) != 1) {
			fprintf(stderr, "%s: bad message '%s'\n", who, buf);
			exit(1);
		}
		if (first == 0)
			first = n;
		last = n;
	}
	printf("%s subscriber: lost %d, read %d to %d\n", who, lost, first,
	       last);
	fflush(stdout);
	shmkit_chan_close(ch);
	exit(0);
}

/* Fork a subscriber and wait until it has joined. */
static pid_t
start(const char *who, int go[2])
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe(ready) < 0 || pipe(go) < 0) {
		perror("pipe");
		exit(1);
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		/* Only the publisher writes go: if it dies, read() sees EOF
		 * instead of waiting forever. */
		close(go[1]);
		close(ready[0]);
		subscriber(who, ready[1], go[0]);
	}
	if (read(ready[0], &c, 1) != 1) {
		fprintf(stderr, "chan_broadcast: %s subscriber failed\n", who);
		exit(1);
	}
	close(ready[0]);
	close(ready[1]);
	return pid;
}

/* Let a subscriber read, and wait for it to finish. */
static int
finish(pid_t pid, int go[2])
{
	int status;

	if (write(go[1], "g", 1) != 1 || waitpid(pid, &status, 0) != pid)
		return 1;
	close(go[0]);
	close(go[1]);
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

int
main(int argc, char **argv)
{
	shmkit_chan_opts_t opts = { 0 };
	char name[64];
	shmkit_chan_t *pub;
	int go_early[2], go_late[2], i, bad, rc;
	pid_t early, late;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: chan_broadcast [ADDRESS]\n");
		return 2;
	}
	snprintf(name, sizeof(name), "posix:/chan-broadcast-%ld",
		 (long)getpid());
	address = argc > 1 ? argv[1] : name;

	opts.pattern = SHMKIT_CHAN_BROADCAST;
	opts.policy = SHMKIT_CHAN_FULL_OVERWRITE;
	opts.msg_max = 32;
	opts.slots = SLOTS;
	check(shmkit_chan_create(address, &opts), "publisher", "cannot create");
	rc = shmkit_chan_open(&pub, address, SHMKIT_CHAN_PRODUCER);
	if (rc < 0) {
		shmkit_seg_unlink_address(address);
		check(rc, "publisher", "cannot open");
	}

	early = start("early", go_early);
	for (i = 1; i <= 12; i++)
		publish(pub, i);
	printf("publisher: published 1 to 12\n");
	late = start("late", go_late);
	printf("publisher: late subscriber joined\n");
	for (i = 13; i <= 16; i++)
		publish(pub, i);
	publish(pub, 0);
	printf("publisher: published 13 to 16 and the end mark\n");
	fflush(stdout);

	/* One after the other, so that the output has a fixed order. */
	bad = finish(early, go_early);
	bad |= finish(late, go_late);
	shmkit_chan_close(pub);
	check(shmkit_seg_unlink_address(address), "publisher", "cannot remove");
	return bad;
}
