/*
 * shmkit/common.h: definitions every shmkit header needs.
 *
 * SHMKIT_API marks the exported symbols; the library is built with hidden
 * visibility, so anything without it stays internal to libshmkit.
 */
#ifndef SHMKIT_COMMON_H
#define SHMKIT_COMMON_H

#if defined(SHMKIT_BUILDING)
#define SHMKIT_API __attribute__((visibility("default")))
#else
#define SHMKIT_API
#endif

#define SHMKIT_VERSION_MAJOR 0
#define SHMKIT_VERSION_MINOR 1
#define SHMKIT_VERSION_PATCH 0
#define SHMKIT_VERSION_STRING "0.1.0"

#endif /* SHMKIT_COMMON_H */
