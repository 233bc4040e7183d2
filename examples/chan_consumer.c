/*
 * chan_consumer: the receiving half of a pair; chan_producer is the
 * other.
 *
 * Opens the channel at ADDRESS as its consumer (waiting up to 5 s for the
 * producer to create it), then reads every message in place:
 * shmkit_chan_peek() points at the message inside the channel, the
 * consumer checks it is the next one expected, and shmkit_chan_release()
 * hands the slot back. Nothing is copied. At the empty end mark it prints
 * how many messages arrived, in order, and removes the channel.
 *
 * A message is never trusted to be a C string: it is compared with its
 * length, as anything read from shared memory must be.
 *
 *   chan_consumer ADDRESS                e.g. posix:/demo-chan
 */
/* nanosleep() is POSIX, not ISO C. */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <shmkit/shmkit.h>

static int
fail(const char *what, const char *address, int rc)
{
	fprintf(stderr, "chan_consumer: %s %s: %s\n", what, address,
		shmkit_strerror(rc));
	return 1;
}

/* Open as consumer, retrying while the producer has not created it yet. */
static int
open_when_there(shmkit_chan_t **ch, const char *address)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	int rc, tries;

	for (tries = 0; tries < 500; tries++) {
		rc = shmkit_chan_open(ch, address, SHMKIT_CHAN_CONSUMER);
		/* -ENOENT: not created yet; -EBUSY, SHMKIT_ENOTOBJ and
		 * SHMKIT_ESIZE: caught while being created. */
		if (rc != -ENOENT && rc != -EBUSY && rc != SHMKIT_ENOTOBJ &&
		    rc != SHMKIT_ESIZE)
			return rc;
		nanosleep(&pause, NULL);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct timespec patience = { 5, 0 };
	const char *address;
	shmkit_chan_t *ch;
	char want[64];
	const void *msg;
	size_t len;
	long n = 0;
	int rc, wlen;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: chan_consumer ADDRESS\n");
		return 2;
	}
	address = argv[1];
	rc = open_when_there(&ch, address);
	if (rc < 0)
		return fail("cannot open", address, rc);

	for (;;) {
		/* Waits (at most 5 s) for the next message. */
		rc = shmkit_chan_peek(ch, &msg, &len, &patience, 0);
		if (rc < 0) {
			shmkit_chan_close(ch);
			return fail("peek on", address, rc);
		}
		if (len == 0) {
			shmkit_chan_release(ch);
			break;
		}
		n++;
		/* "message <n> of <count>": the count is the producer's; only
		 * the prefix up to it is known here. */
		wlen = snprintf(want, sizeof(want), "message %ld of ", n);
		if (len <= (size_t)wlen || memcmp(msg, want, (size_t)wlen) != 0) {
			fprintf(stderr, "chan_consumer: message %ld is "
				"'%.*s', expected '%s...'\n", n,
				(int)(len < 80 ? len : 80), (const char *)msg,
				want);
			shmkit_chan_release(ch);
			shmkit_chan_close(ch);
			return 1;
		}
		shmkit_chan_release(ch);
	}
	printf("consumer: received %ld messages in order from %s\n", n,
	       address);
	shmkit_chan_close(ch);
	/* The end mark was read: nobody needs the channel any more. */
	rc = shmkit_seg_unlink_address(address);
	if (rc < 0)
		return fail("cannot remove", address, rc);
	return 0;
}
