/*
 * chan_producer: the sending half of a pair; chan_consumer is the other.
 *
 * Creates a single-producer single-consumer channel at ADDRESS (mode
 * 0600, 64 slots of up to 256 bytes) and sends COUNT text messages,
 * "message <i> of <count>", each written in place: shmkit_chan_reserve()
 * gives a pointer into the channel, snprintf() writes there, and
 * shmkit_chan_commit() publishes exactly the bytes written. Nothing is
 * copied. An empty message marks the end. The messages go in batches:
 * each but the end mark is reserved with SHMKIT_CHAN_MORE ("more
 * follow"), so the channel may hold it back and hand the consumer up to
 * 32 at once; the end mark, sent without the flag, publishes whatever is
 * still held back. When the channel is full the producer publishes what
 * it holds and waits (at most 5 s each time) for the consumer to make
 * room, so the consumer may start before, with or after it.
 *
 * The channel outlives the producer: chan_consumer removes it once it has
 * read the end mark.
 *
 *   chan_producer ADDRESS [COUNT]        e.g. posix:/demo-chan 1000
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <shmkit/shmkit.h>

#define MSG_MAX 256

static int
fail(const char *what, const char *address, int rc)
{
	fprintf(stderr, "chan_producer: %s %s: %s\n", what, address,
		shmkit_strerror(rc));
	return 1;
}

int
main(int argc, char **argv)
{
	shmkit_chan_opts_t opts = { 0 };
	struct timespec patience = { 5, 0 };
	shmkit_chan_t *ch;
	const char *address;
	long count, i;
	void *slot;
	int rc, len;

	if (argc < 2 || argc > 3 || argv[1][0] == '-') {
		fprintf(stderr, "usage: chan_producer ADDRESS [COUNT]\n");
		return 2;
	}
	address = argv[1];
	count = argc > 2 ? atol(argv[2]) : 1000;
	if (count < 0) {
		fprintf(stderr, "chan_producer: COUNT must be >= 0\n");
		return 2;
	}

	opts.pattern = SHMKIT_CHAN_SPSC;
	opts.policy = SHMKIT_CHAN_FULL_BLOCK; /* wait for room, lose nothing */
	opts.msg_max = MSG_MAX;
	opts.slots = 64;
	/* Exclusive: -EEXIST if something is already there. */
	rc = shmkit_chan_create(address, &opts);
	if (rc < 0)
		return fail("cannot create", address, rc);
	rc = shmkit_chan_open(&ch, address, SHMKIT_CHAN_PRODUCER);
	if (rc < 0) {
		shmkit_seg_unlink_address(address);
		return fail("cannot open", address, rc);
	}

	for (i = 1; i <= count + 1; i++) {
		/* Room for the longest message; commit says how long it is.
		 * More follow until the end mark. */
		unsigned more = i <= count ? SHMKIT_CHAN_MORE : 0;

		rc = shmkit_chan_reserve(ch, MSG_MAX, &slot, &patience, more);
		if (rc < 0) {
			shmkit_chan_close(ch);
			return fail("reserve on", address, rc);
		}
		if (i <= count)
			len = snprintf(slot, MSG_MAX, "message %ld of %ld", i,
				       count);
		else
			len = 0; /* the end mark */
		rc = shmkit_chan_commit(ch, (size_t)len);
		if (rc < 0) {
			shmkit_chan_close(ch);
			return fail("commit on", address, rc);
		}
	}
	printf("producer: sent %ld messages to %s\n", count, address);
	/* The consumer removes the channel; close only lets go of it. */
	shmkit_chan_close(ch);
	return 0;
}
