/*
 * Internal helper-thread plumbing shared by the pollable descriptors of
 * <shmkit/event.h> and <shmkit/chan.h>: each runs one thread that sleeps
 * on a futex word with SHMKIT__FUTEX_BIT_HELPER and turns wake-ups into
 * eventfd writes. What the thread waits for stays with its owner; only
 * starting it, signalling the eventfd and stopping it live here.
 */
#ifndef SHMKIT_SYNC_FD_HELPER_H
#define SHMKIT_SYNC_FD_HELPER_H

#include <pthread.h>
#include <stdint.h>

/* Add one to the non-blocking eventfd efd (retrying EINTR). */
void shmkit__fd_helper_notify(int efd);

/*
 * Create a non-blocking, close-on-exec eventfd into *efd, then start
 * fn(arg) on a thread with a small stack and every signal blocked, so it
 * never runs the program's handlers on the program's behalf. Returns 0
 * (*efd and *thread written), or -errno with nothing left open.
 */
int shmkit__fd_helper_start(int *efd, pthread_t *thread, void *(*fn)(void *),
			    void *arg);

/*
 * Stop the helper: set *stop (release), wake the helper bit on *word
 * until the thread has stored 1 to *done with release order, then join
 * it. The thread must check *stop with an acquire load before each
 * sleep and store *done as its last access to shared state.
 */
void shmkit__fd_helper_stop(uint32_t *stop, const uint32_t *done,
			    uint32_t *word, pthread_t thread);

#endif /* SHMKIT_SYNC_FD_HELPER_H */
