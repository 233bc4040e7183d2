/*
 * sysv_hello_reader: the System V "hello, world" reader.
 *
 *   sysv_hello_reader [--remove] [ADDRESS]
 *
 * Opens the segment that sysv_hello_writer made at ADDRESS (default
 * ftok:/tmp:65), waits until the writer has marked it ready, prints the
 * message and tells the writer it is done. With --remove it also removes
 * the segment, for a writer run with --leave.
 *
 * The reader trusts nothing it finds in the segment: it checks that the
 * segment is big enough for struct hello before mapping it, and prints at
 * most sizeof(text) bytes even if the writer forgot the NUL.
 */

/* POSIX 2008 for nanosleep and strnlen, even under a strict -std=c11. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <shmkit/shmkit.h>

#include "sysv_hello.h"

/* The writer sets ready microseconds after creating the segment; allow
 * it 10 s (in steps of 10 ms) before deciding it died half-way. */
#define WAIT_STEP_NS 10000000L
#define WAIT_STEPS   1000

static const char prog[] = "sysv_hello_reader";

static int
usage(FILE *f, int status)
{
	fprintf(f, "usage: %s [--remove] [ADDRESS]\n", prog);
	return status;
}

static void
report(const char *what, const char *address, int rc)
{
	fprintf(stderr, "%s: %s %s: %s\n", prog, what, address,
		shmkit_strerror(rc));
}

/* Waits until the writer sets h->ready; 1 if it did, 0 on timeout. */
static int
wait_until_ready(struct hello *h)
{
	struct timespec step = {0, WAIT_STEP_NS};
	int i;

	for (i = 0; i < WAIT_STEPS; i++) {
		/* Acquire: pairs with the writer's release store of ready,
		 * so once we see 1 the whole text is visible. */
		if (atomic_load_explicit(&h->ready, memory_order_acquire))
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
	int do_remove = 0, status = 1, i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--remove") == 0)
			do_remove = 1;
		else if (strcmp(argv[i], "--help") == 0)
			return usage(stdout, 0);
		else if (argv[i][0] == '-' || i != argc - 1)
			return usage(stderr, 2);
		else
			address = argv[i];
	}

	/* opts.size is the least size we need: a smaller segment at this
	 * key is not the writer's, and reading past its end would fault. */
	opts.size = sizeof(*h);
	rc = shmkit_seg_open(&seg, address, &opts);
	if (rc < 0) {
		report("cannot open", address, rc);
		return 1;
	}
	/* Read-write, not read-only: we answer through h->done. */
	rc = shmkit_seg_attach(seg, &p, 0, NULL);
	if (rc < 0) {
		report("cannot attach", address, rc);
		goto out;
	}
	h = p;

	if (!wait_until_ready(h)) {
		fprintf(stderr, "%s: %s: the writer never marked it ready\n",
			prog, address);
		goto out;
	}
	printf("%.*s\n", (int)strnlen(h->text, sizeof(h->text)), h->text);
	/* Release: our reading of text happens before the writer, which
	 * pairs with an acquire load of done, removes the segment. */
	atomic_store_explicit(&h->done, 1, memory_order_release);
	status = 0;

	if (do_remove) {
		rc = shmkit_seg_unlink(seg);
		if (rc < 0) {
			report("cannot remove", address, rc);
			status = 1;
		}
	}
out:
	/* Closing detaches; it never removes the segment. */
	rc = shmkit_seg_close(seg);
	if (rc < 0) {
		report("cannot close", address, rc);
		status = 1;
	}
	return status;
}
