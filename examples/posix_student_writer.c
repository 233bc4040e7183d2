/*
 * posix_student_writer: puts one student record in a POSIX shared memory
 * object for posix_student_reader.
 *
 *   posix_student_writer [ADDRESS]
 *
 * ADDRESS is posix:/name (default posix:/shmkit-example-student); the
 * object appears as /dev/shm/name. The classic tutorial's steps are all
 * here (shm_open, ftruncate, mmap, write, munmap, close), done by
 * shmkit_seg_create, shmkit_seg_attach and shmkit_seg_close, with the
 * things it forgets: 0600 instead of 0666, storage reserved up front so
 * a full /dev/shm fails with ENOSPC instead of SIGBUS, and a ready flag
 * so the reader never prints a half-written record.
 *
 * The object outlives the writer, like a file in /dev/shm: remove it
 * with posix_student_reader --remove.
 */
#include <errno.h>
#include <stdio.h>

#include <shmkit/shmkit.h>

#include "student.h"

static const char prog[] = "posix_student_writer";

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
	struct posix_student *rec;
	shmkit_seg_t *seg;
	void *p;
	int status = 1, rc;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: %s [posix:/NAME]\n", prog);
		return 2;
	}
	if (argc == 2)
		address = argv[1];

	/* Exclusive create: an object already at this name is someone
	 * else's, or a reader may be using it right now. */
	opts.size = sizeof(*rec);
	opts.mode = 0600;
	rc = shmkit_seg_create(&seg, address, &opts);
	if (rc < 0) {
		report("cannot create", address, rc);
		if (rc == -EEXIST)
			fprintf(stderr,
				"%s: remove it first: "
				"posix_student_reader --remove %s\n",
				prog, address);
		return 1;
	}
	rc = shmkit_seg_attach(seg, &p, 0, NULL);
	if (rc < 0) {
		report("cannot attach", address, rc);
		/* Leave nothing behind when we cannot finish. */
		shmkit_seg_unlink(seg);
		goto out;
	}
	rec = p;

	/* The object starts as zeroes: ready is 0 and the name is
	 * NUL-padded. */
	rec->student.id = 1001;
	snprintf(rec->student.name, sizeof(rec->student.name), "%s",
		 "Ada Lovelace");
	rec->student.age = 36;
	rec->student.score = 97.5;
	/* Release: publishes the record above; pairs with the acquire load
	 * of ready in posix_student_reader. */
	atomic_store_explicit(&rec->ready, 1, memory_order_release);
	printf("wrote student %d to %s\n", (int)rec->student.id, address);
	status = 0;

out:
	/* Closing unmaps and closes the fd; the object and its record stay
	 * in /dev/shm for the reader. */
	rc = shmkit_seg_close(seg);
	if (rc < 0) {
		report("cannot close", address, rc);
		status = 1;
	}
	return status;
}
