/*
 * shmkit/shmkit.h: the whole public API in one include.
 * See shmkit(7) for the layers and the address syntax.
 */
#ifndef SHMKIT_SHMKIT_H
#define SHMKIT_SHMKIT_H

#include <shmkit/common.h>
#include <shmkit/wait.h>
#include <shmkit/error.h>
#include <shmkit/addr.h>
#include <shmkit/seg.h>
#include <shmkit/obj.h>
#include <shmkit/mutex.h>
#include <shmkit/seqlock.h>
#include <shmkit/event.h>
#include <shmkit/sem.h>
#include <shmkit/chan.h>
#include <shmkit/table.h>
#include <shmkit/keys.h>

#endif /* SHMKIT_SHMKIT_H */
