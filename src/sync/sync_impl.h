/*
 * Internal interface between the mutex and the seqlock: the seqlock
 * serialises its writers with a shmkit_mutex_t and its readers need to
 * know, without taking that mutex, whether the writer died mid-write.
 * Nothing here is exported.
 */
#ifndef SHMKIT_SYNC_IMPL_H
#define SHMKIT_SYNC_IMPL_H

#include <stdint.h>

#include <shmkit/mutex.h>

#include "common/internal.h"

/*
 * 1 if the last holder of m died holding it and nobody has taken it since
 * (the kernel set the owner-died bit in the lock word), 0 otherwise, also
 * when this cannot be known. Only reads *m, so it works through a
 * read-only mapping. m must have been validated by the caller.
 */
int shmkit__mutex_holder_died(const shmkit_mutex_t *m);

/* 1 if the calling thread holds m, 0 if not; 1 when this cannot be known
 * (the unlock that follows then reports -EPERM). */
int shmkit__mutex_held(const shmkit_mutex_t *m);

/* Validate m's header without locking it: 0, SHMKIT_ECORRUPT or
 * SHMKIT_EABI. Only reads *m. */
int shmkit__mutex_check(const shmkit_mutex_t *m);

/* CLOCK_MONOTONIC now, in nanoseconds. */
uint64_t shmkit__mono_ns(void);

#endif /* SHMKIT_SYNC_IMPL_H */
