/*
 * sysv_hello_writer: the System V "hello, world" writer, done carefully.
 *
 *   sysv_hello_writer [--leave] [ADDRESS]
 *
 * Creates a System V segment at ADDRESS (default ftok:/tmp:65; any
 * sysv:KEY or ftok:PATH:PROJ address works), writes "hello, world" into
 * it, and marks it ready. Then, like the classic tutorial, it waits for
 * sysv_hello_reader to print the message and removes the segment. With
 * --leave it exits at once instead, and the segment stays in `ipcs -m`
 * until someone removes it (sysv_hello_reader --remove does).
 *
 * What the classic version gets wrong and this one does not: it creates
 * with 0666, so any user can read or overwrite the message (shmkit uses
 * 0600); it attaches to a segment that someone else left at the key (we
 * create exclusively and say so); it ignores errors; and it lets the
 * reader race the writer (the ready flag in sysv_hello.h).
 */

/* POSIX 2008 for nanosleep, even under a strict -std=c11. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <shmkit/shmkit.h>

#include "sysv_hello.h"

/* How long the writer waits for a reader before giving up: 60 s in
 * steps of 10 ms, short enough that the reader's wait is not noticed. */
#define WAIT_STEP_NS 10000000L
#define WAIT_STEPS   6000

static const char prog[] = "sysv_hello_writer";

static int
usage(FILE *f, int status)
{
	fprintf(f, "usage: %s [--leave] [ADDRESS]\n", prog);
	return status;
}

/* Reports a failed shmkit call: every shmkit error has a message. */
static void
report(const char *what, const char *address, int rc)
{
	fprintf(stderr, "%s: %s %s: %s\n", prog, what, address,
		shmkit_strerror(rc));
}

/* Waits until a reader sets h->done; 1 if one did, 0 on timeout. */
static int
wait_for_reader(struct hello *h)
{
	struct timespec step = {0, WAIT_STEP_NS};
	int i;

	for (i = 0; i < WAIT_STEPS; i++) {
		/* Acquire: pairs with the reader's release store of done. */
		if (atomic_load_explicit(&h->done, memory_order_acquire))
			return 1;
		nanosleep(&step, NULL);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *address = HELLO_DEFAULT_ADDRESS;
	shmkit_seg_opts_t opts = {0};
	shmkit_seg_t *seg;
	struct hello *h;
	void *p;
	int leave = 0, status = 1, i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--leave") == 0)
			leave = 1;
		else if (strcmp(argv[i], "--help") == 0)
			return usage(stdout, 0);
		else if (argv[i][0] == '-' || i != argc - 1)
			return usage(stderr, 2);
		else
			address = argv[i];
	}

	/* Exclusive create: an existing segment at this key belongs to
	 * someone else (or to an earlier run), and writing into it would
	 * corrupt their data. Mode 0600 keeps other users out. */
	opts.size = sizeof(*h);
	opts.mode = 0600;
	rc = shmkit_seg_create(&seg, address, &opts);
	if (rc < 0) {
		report("cannot create", address, rc);
		if (rc == -EEXIST)
			fprintf(stderr,
				"%s: remove it first: "
				"sysv_hello_reader --remove %s\n",
				prog, address);
		return 1;
	}
	rc = shmkit_seg_attach(seg, &p, 0, NULL);
	if (rc < 0) {
		report("cannot attach", address, rc);
		goto out_unlink;
	}
	h = p;

	/* A new segment reads as zeroes, so ready and done start at 0: no
	 * reader can take the empty text for a message. */
	snprintf(h->text, sizeof(h->text), "%s", "hello, world");
	/* Release: publishes text above; pairs with the acquire load of
	 * ready in sysv_hello_reader. */
	atomic_store_explicit(&h->ready, 1, memory_order_release);
	printf("wrote \"%s\" to %s\n", h->text, address);

	if (leave) {
		/* The segment outlives us: System V memory stays until it is
		 * removed, even with nobody attached. */
		printf("left %s for the reader\n", address);
		status = 0;
		goto out_close;
	}

	/* Make the line above visible now, not when we exit: whoever
	 * starts the reader may be waiting for it. */
	fflush(stdout);
	if (!wait_for_reader(h)) {
		fprintf(stderr, "%s: no reader came; removing %s\n", prog,
			address);
		goto out_unlink;
	}
	printf("reader done, removing %s\n", address);
	status = 0;

out_unlink:
	/* Removing marks the segment for destruction: its key is free at
	 * once, and the memory goes when the last process detaches. */
	rc = shmkit_seg_unlink(seg);
	if (rc < 0) {
		report("cannot remove", address, rc);
		status = 1;
	}
out_close:
	rc = shmkit_seg_close(seg);
	if (rc < 0) {
		report("cannot close", address, rc);
		status = 1;
	}
	return status;
}
