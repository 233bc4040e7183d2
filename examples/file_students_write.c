/*
 * file_students_write: five student records written through a file
 * mapping.
 *
 *   file_students_write [ADDRESS]
 *
 * Creates the file at ADDRESS (default file:students.dat, in the current
 * directory), maps it with MAP_SHARED, fills in five records and flushes
 * them to disk with shmkit_seg_sync (msync). The file stays after we
 * exit: file_students_read maps it and prints the records, today or
 * after a reboot.
 *
 * Why a mapping rather than write(2): the records are laid out in the
 * file exactly as in memory, so any process that maps the file sees and
 * updates them in place, with no copy and no parsing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <shmkit/shmkit.h>

#include "student.h"

static const char prog[] = "file_students_write";

/* Fills in one record. The file started as zeroes, so the name is
 * NUL-padded to the end of its array. */
static void
put(struct student *s, int id, const char *name, int age, double score)
{
	s->id = id;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->age = age;
	s->score = score;
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
	struct student *s;
	shmkit_seg_t *seg;
	void *p;
	int status = 1, rc;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: %s [file:PATH]\n", prog);
		return 2;
	}
	if (argc == 2)
		address = argv[1];

	/* Exclusive create, mode 0600: we never overwrite a file that is
	 * already there, and other users cannot read the records. The size
	 * is reserved on disk now, so a full disk fails here with ENOSPC
	 * instead of killing us with SIGBUS when we touch the mapping. */
	opts.size = STUDENT_COUNT * sizeof(*s);
	opts.mode = 0600;
	rc = shmkit_seg_create(&seg, address, &opts);
	if (rc < 0) {
		report("cannot create", address, rc);
		if (rc == -EEXIST)
			fprintf(stderr,
				"%s: remove it first: "
				"file_students_read --remove %s\n",
				prog, address);
		return 1;
	}
	rc = shmkit_seg_attach(seg, &p, 0, NULL);
	if (rc < 0) {
		report("cannot attach", address, rc);
		goto out_unlink;
	}
	s = p;

	/* Stores into the mapping are stores into the file's page cache:
	 * every process that maps the file sees them at once. */
	put(&s[0], 1, "Alice", 20, 91.5);
	put(&s[1], 2, "Bob", 21, 78.0);
	put(&s[2], 3, "Carol", 19, 85.5);
	put(&s[3], 4, "Dave", 22, 66.0);
	put(&s[4], 5, "Eve", 20, 99.5);

	/* msync: the page cache reaches the disk eventually anyway; syncing
	 * makes sure it has before we report success, so a crash or power
	 * cut after this point cannot lose the records. */
	rc = shmkit_seg_sync(seg, 0, 0, 0);
	if (rc < 0) {
		report("cannot sync", address, rc);
		goto out_unlink;
	}
	printf("wrote %d students to %s\n", STUDENT_COUNT, address);
	status = 0;
	goto out_close;

out_unlink:
	/* Half-written records are worse than none: remove the file. */
	rc = shmkit_seg_unlink(seg);
	if (rc < 0)
		report("cannot remove", address, rc);
out_close:
	rc = shmkit_seg_close(seg);
	if (rc < 0) {
		report("cannot close", address, rc);
		status = 1;
	}
	return status;
}
