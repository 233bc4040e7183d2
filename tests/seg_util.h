/*
 * seg_util.h: helpers the segment tests share. Data patterns a reader can
 * tell from zeroes and from another seed's, and segment calls that fail
 * the case on error. (tests/raw/segio.c writes the same pattern without
 * linking anything of ours, on purpose.)
 */
#ifndef SHMKIT_SEG_UTIL_H
#define SHMKIT_SEG_UTIL_H

#include <stddef.h>

#include <shmkit/seg.h>

/* Room for any name shmkit_test_name() makes. */
#define NAMELEN 4200

/* A fresh unique address for backend into buf (NAMELEN bytes). */
void seg_name(char *buf, const char *backend);

/* Byte i is (seed + 31 i) mod 256. */
void pattern_fill(void *p, size_t n, unsigned seed);

/* Index of the first byte that differs from pattern_fill's, or -1. */
long pattern_check(const void *p, size_t n, unsigned seed);

/* 1 if all n bytes are zero. */
int bytes_all_zero(const void *p, size_t n);

/* Create addr with size bytes (default mode), failing the case on error;
 * skips the case when memfd is not built in. */
shmkit_seg_t *seg_make(const char *addr, size_t size);

/* Attach with flags, failing the case on error. */
void *seg_map(shmkit_seg_t *s, unsigned flags);

/* Unlink and close, failing the case on error. */
void seg_destroy(shmkit_seg_t *s);

#endif /* SHMKIT_SEG_UTIL_H */
