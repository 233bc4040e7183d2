/*
 * posix_student_reader: prints the student record that
 * posix_student_writer left in a POSIX shared memory object.
 *
 *   posix_student_reader [--remove] [ADDRESS]
 *
 * ADDRESS defaults to posix:/shmkit-example-student. With --remove the
 * object is removed after printing (shm_unlink): the name goes at once,
 * the memory when the last process unmaps it.
 */

/* POSIX 2008 for strnlen, even under a strict -std=c11. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include <shmkit/shmkit.h>

#include "student.h"

static const char prog[] = "posix_student_reader";

static int
usage(FILE *f, int status)
{
	fprintf(f, "usage: %s [--remove] [posix:/NAME]\n", prog);
	return status;
}

static void
report(const char *what, const char *address, int rc)
{
	fprintf(stderr, "%s: %s %s: %s\n", prog, what, address,
		shmkit_strerror(rc));
}

int
main(int argc, char **argv)
{
	const char *address = POSIX_STUDENT_DEFAULT_ADDRESS;
	shmkit_seg_opts_t opts = {0};
	const struct posix_student *rec;
	shmkit_seg_t *seg;
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

	/* Read-only: a reader has no business changing the record. The
	 * least size refuses an object too small to be the writer's. */
	opts.size = sizeof(*rec);
	opts.flags = SHMKIT_SEG_RDONLY;
	rc = shmkit_seg_open(&seg, address, &opts);
	if (rc < 0) {
		report("cannot open", address, rc);
		return 1;
	}
	rc = shmkit_seg_attach(seg, &p, SHMKIT_ATTACH_RDONLY, NULL);
	if (rc < 0) {
		report("cannot attach", address, rc);
		goto out;
	}
	rec = p;

	/* Acquire: pairs with the writer's release store of ready; seeing 1
	 * means the whole record is there. */
	if (!atomic_load_explicit(&rec->ready, memory_order_acquire)) {
		fprintf(stderr, "%s: %s: no record written yet\n", prog,
			address);
		goto out;
	}
	printf("id %d: %.*s, age %d, score %.1f\n", (int)rec->student.id,
	       (int)strnlen(rec->student.name, sizeof(rec->student.name)),
	       rec->student.name, (int)rec->student.age, rec->student.score);
	status = 0;

	if (do_remove) {
		rc = shmkit_seg_unlink(seg);
		if (rc < 0) {
			report("cannot remove", address, rc);
			status = 1;
		}
	}
out:
	rc = shmkit_seg_close(seg);
	if (rc < 0) {
		report("cannot close", address, rc);
		status = 1;
	}
	return status;
}
