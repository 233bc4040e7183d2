/*
 * student.h: the student record of the file and POSIX examples.
 *
 * The record is written by one program and read by another, possibly
 * built by another compiler, so it uses fixed-width types, and the name
 * is an array inside the record: a char * would point into the writer's
 * memory, which means nothing to the reader.
 */
#ifndef STUDENT_H
#define STUDENT_H

#include <stdatomic.h>
#include <stdint.h>

struct student {
	int32_t id;
	char name[32]; /* NUL-padded; readers still bound it by the size */
	int32_t age;
	double score;
};

/* file_students_write puts this many records in its file. */
#define STUDENT_COUNT 5

/* A flag shared by two processes must be lock-free: a lock-based
 * "atomic" would use a lock private to each process. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic int must be lock-free");

/*
 * The POSIX segment of posix_student_writer and posix_student_reader: one
 * record and a flag. ready is stored last by the writer with release
 * order and loaded by the reader with acquire order, so a reader that
 * sees 1 sees the whole record.
 */
struct posix_student {
	atomic_int ready;
	struct student student;
};

#define POSIX_STUDENT_DEFAULT_ADDRESS "posix:/shmkit-example-student"
#define FILE_STUDENTS_DEFAULT_ADDRESS "file:students.dat"

#endif /* STUDENT_H */
