/*
 * Internal side of the structured-object header (<shmkit/obj.h>): what a
 * kind's create and open use, and process liveness checks shared with the
 * tools' view of peers.
 */
#ifndef SHMKIT_OBJ_IMPL_H
#define SHMKIT_OBJ_IMPL_H

#include <stdint.h>

#include <shmkit/obj.h>

/* The layout version of channels (CHAN_VERSION in chan_impl.h says what
 * changed), here so that shmkit_obj_probe() knows it: channels of other
 * versions, older ones too, are refused. */
#define SHMKIT__OBJ_CHAN_VERSION 2u

/* The layout fingerprint of this build. */
uint32_t shmkit__obj_fingerprint(void);

/* Start time of pid in clock ticks since boot (/proc/PID/stat field 22),
 * or 0 if it cannot be read. */
uint64_t shmkit__proc_start_time(int pid);

/* 1 if pid is alive and started at start, 0 if dead or recycled, -1 if
 * unknown (exists but its /proc entry is not readable). */
int shmkit__proc_alive(int pid, uint64_t start);

/* Write a fresh header in state INIT, recording this process as creator.
 * Caller has exclusive access to the new segment. */
void shmkit__obj_hdr_init(shmkit_obj_hdr_t *h, shmkit_obj_kind_t kind,
			  unsigned version, uint64_t size);

/* Mark the object READY with a release store, after its body is set up. */
void shmkit__obj_hdr_ready(shmkit_obj_hdr_t *h);

#endif /* SHMKIT_OBJ_IMPL_H */
