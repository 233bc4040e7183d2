/*
 * sysv_hello.h: the bytes that sysv_hello_writer and sysv_hello_reader
 * share. Both programs map the same segment, so both must agree on this
 * layout exactly; one header keeps them from drifting apart.
 *
 * Two rules of shared memory show here. It holds plain data, never
 * pointers: each process maps the segment at its own address. And the
 * kernel does no synchronisation: a process that reads while another
 * writes sees half a message, so the two flags below say how far the
 * other side has got.
 */
#ifndef SYSV_HELLO_H
#define SYSV_HELLO_H

#include <stdatomic.h>

/*
 * The classic tutorials make their key with ftok(3) from a path that
 * exists on every machine. Any program that picks the same path and
 * project gets the same segment, so pass your own address as argv[1]
 * when you can (the tests do).
 */
#define HELLO_DEFAULT_ADDRESS "ftok:/tmp:65"

/* A flag shared by two processes must be lock-free: a lock-based
 * "atomic" would use a lock private to each process. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic int must be lock-free");

struct hello {
	/* 1 once text is complete. The writer stores it last, with release
	 * order; the reader loads it with acquire order, so a reader that
	 * sees 1 also sees all of text. */
	atomic_int ready;
	/* 1 once a reader has printed text: a waiting writer may then remove
	 * the segment. Release/acquire pair as for ready. */
	atomic_int done;
	char text[64];
};

#endif /* SYSV_HELLO_H */
