/*
 * shmkit/wait.h: the one timeout convention of every blocking shmkit call
 * (events, semaphores, the mutex).
 *
 * A timed call takes `const struct timespec *timeout, unsigned flags`.
 * A NULL timeout waits forever. Otherwise the timeout is relative by
 * default, measured on CLOCK_MONOTONIC (so changes to the wall clock do
 * not move it), or absolute with SHMKIT_WAIT_ABSTIME: a deadline on
 * CLOCK_MONOTONIC, or on CLOCK_REALTIME with SHMKIT_WAIT_REALTIME too
 * (which a relative timeout ignores). A zero relative timeout, or a
 * deadline already past, polls. A timeout with a negative tv_sec or a
 * tv_nsec outside [0, 1e9), or an unknown flag, gives -EINVAL.
 *
 * Waits survive signals: a signal handler that runs during the wait does
 * not end it (the wait goes back to sleep until the same deadline) unless
 * SHMKIT_WAIT_INTR asks for -EINTR. SIGSTOP/SIGCONT are harmless; time
 * spent stopped counts against the timeout. SHMKIT_WAIT_INTR sees a
 * handler only when it interrupts a sleep in the kernel: one that runs
 * just before the call goes to sleep, or while it spins, is not seen, as
 * with any futex wait. A program that stops on a flag its handler sets
 * should wait with a bounded timeout and check the flag between waits.
 * A call that cannot honour
 * SHMKIT_WAIT_INTR (the mutex, whose wait is inside the C library and
 * always restarts) rejects it with -EINVAL rather than ignore it.
 */
#ifndef SHMKIT_WAIT_H
#define SHMKIT_WAIT_H

#include <shmkit/common.h>

/* Flags for the timed waits of events, semaphores and the mutex. */
#define SHMKIT_WAIT_ABSTIME  0x1u /* the timeout is an absolute deadline */
#define SHMKIT_WAIT_REALTIME 0x2u /* with ABSTIME: on CLOCK_REALTIME */
#define SHMKIT_WAIT_INTR     0x4u /* return -EINTR when a handler runs */

#endif /* SHMKIT_WAIT_H */
