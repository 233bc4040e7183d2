/*
 * file_students_read: prints the five records that file_students_write
 * left in a file, by mapping the file.
 *
 *   file_students_read [--remove] [ADDRESS]
 *
 * ADDRESS defaults to file:students.dat. The writer has exited long
 * before we run: the file is what carries the data from one process to
 * the next. With --remove the file is deleted after printing.
 */

/* POSIX 2008 for strnlen, even under a strict -std=c11. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include <shmkit/shmkit.h>

#include "student.h"

static const char prog[] = "file_students_read";

static int
usage(FILE *f, int status)
{
	fprintf(f, "usage: %s [--remove] [file:PATH]\n", prog);
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
	const char *address = FILE_STUDENTS_DEFAULT_ADDRESS;
	shmkit_seg_opts_t opts = {0};
	const struct student *s;
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

	/* Read-only all the way: the file cannot be changed by mistake, and
	 * a file we may read but not write still works. opts.size refuses
	 * a file too short to hold the records (SHMKIT_ESIZE) instead of
	 * faulting when we read past its end. */
	opts.size = STUDENT_COUNT * sizeof(*s);
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
	s = p;

	/* Names are bounded by their array: a damaged file must not make
	 * us read past the record. */
	for (i = 0; i < STUDENT_COUNT; i++)
		printf("id %d: %.*s, age %d, score %.1f\n", (int)s[i].id,
		       (int)strnlen(s[i].name, sizeof(s[i].name)), s[i].name,
		       (int)s[i].age, s[i].score);
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
