/*
 * shmkit/table.h: a fixed-capacity hash table in shared memory.
 *
 * A table is a structured object (<shmkit/obj.h>, kind SHMKIT_OBJ_TABLE)
 * in a segment of any backend. Keys and values have fixed sizes chosen at
 * creation (a key is key_size bytes compared bytewise; shorter keys are
 * the caller's to pad). Many processes read and write it at once:
 *
 *  - Readers never block and never see a torn record: each record is
 *    read optimistically and validated (seqlock-style), and retried if a
 *    writer changed it meanwhile. A writer never changes a record in
 *    place (each slot keeps two value copies and publishes a change with
 *    one store), so readers never wait for a writer, even a dead one.
 *  - Writers are serialised by a robust mutex (<shmkit/mutex.h>). A
 *    writer killed in the middle of a put or a delete leaves the old
 *    record or the new one, never a mix: the next writer finds the lock's
 *    holder dead and finishes or undoes its change before going on.
 *  - Lookups cost O(1) on average up to the documented fill limit
 *    (capacity is at most 7/8 of the slots), and stay bounded when many
 *    keys collide: the hash is keyed with a random seed chosen at
 *    creation, and probing stops at the longest probe any writer made.
 *
 * Secure mode (SHMKIT_TABLE_SECURE) is for secrets: replaced and deleted
 * values are zeroised in the segment, key compares take constant time,
 * and every process that maps the table locks its pages in memory
 * (mlock) and keeps them out of core dumps (MADV_DONTDUMP). A failure to
 * lock is an error unless SHMKIT_TABLE_NOLOCK_OK says to carry on
 * (shmkit_table_stat() then reports locked = 0).
 *
 * Never trusting the segment: every index, size and probe length read
 * from shared memory is checked; a corrupt table gives SHMKIT_ECORRUPT,
 * never a crash or an endless loop. A handle reads the geometry (key and
 * value sizes, capacity, slots) and the secure flag once, at open, and
 * never again: a peer that rewrites them afterwards cannot make get or
 * next copy more than the sizes the handle opened with, nor switch
 * zeroising off in a process that opened the table in secure mode. (A
 * new open takes whatever consistent geometry the segment then holds:
 * check shmkit_table_stat() if your buffers have fixed sizes.)
 *
 * What a peer with write access can still do: hold the writer mutex for
 * ever while it lives, which blocks every put and del of other processes
 * (a live holder of a lock is not something the library can break; a
 * dead one is recovered from), and truncate the segment, which makes the
 * next access past its new end raise SIGBUS (see <shmkit/seg.h>). Share
 * a table only with processes you trust that far.
 *
 * Threads: a handle may be used by any number of threads at once. Fork:
 * a handle is not inherited; the child opens its own.
 */
#ifndef SHMKIT_TABLE_H
#define SHMKIT_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <shmkit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of shmkit_table_opts_t.flags and shmkit_table_open(). */
#define SHMKIT_TABLE_SECURE                                                    \
	0x1u			    /* creation: zeroise, mlock, no dump,      \
				       constant-time compares */
#define SHMKIT_TABLE_RDONLY    0x2u /* open: map read-only; get/iterate */
#define SHMKIT_TABLE_NOLOCK_OK 0x4u /* secure: carry on if mlock fails */

/* Limits of the creation options. */
#define SHMKIT_TABLE_KEY_MAX	  256u
#define SHMKIT_TABLE_VALUE_MAX	  65536u
#define SHMKIT_TABLE_CAPACITY_MAX (1ul << 28)

/* Creation options. */
typedef struct shmkit_table_opts {
	size_t capacity;   /* records it can hold, >= 1 */
	size_t key_size;   /* bytes, 1..SHMKIT_TABLE_KEY_MAX */
	size_t value_size; /* bytes, 0..SHMKIT_TABLE_VALUE_MAX */
	unsigned flags;	   /* SHMKIT_TABLE_SECURE, SHMKIT_TABLE_NOLOCK_OK */
	mode_t mode;	   /* permission bits; 0 = 0600 */
} shmkit_table_opts_t;

/* A process-local handle. */
typedef struct shmkit_table shmkit_table_t;

/* shmkit_table_size - bytes of segment a table with these options needs,
 * or 0 for invalid options. */
SHMKIT_API size_t shmkit_table_size(const shmkit_table_opts_t *opts);

/*
 * shmkit_table_create - create a segment at address holding an empty
 * table, and open it (*out, freed by shmkit_table_close()).
 * Errors: -EINVAL, -EEXIST, -EACCES, -ENOSPC, the mlock errors in secure
 * mode (-ENOMEM, -EPERM, -EAGAIN) unless SHMKIT_TABLE_NOLOCK_OK, and the
 * other errors of shmkit_seg_create().
 */
SHMKIT_API int shmkit_table_create(shmkit_table_t **out, const char *address,
				   const shmkit_table_opts_t *opts);

/*
 * shmkit_table_open - open the table at address. flags: SHMKIT_TABLE_RDONLY,
 * SHMKIT_TABLE_NOLOCK_OK. Errors: -EINVAL, -ENOENT, -EACCES,
 * SHMKIT_ENOTOBJ, SHMKIT_ECORRUPT, SHMKIT_EVERSION, SHMKIT_EABI, -EBUSY
 * (still being created; SHMKIT_ECORRUPT if its creator died first, and
 * SHMKIT_ENOTOBJ while even its header is unwritten), the mlock errors in
 * secure mode unless SHMKIT_TABLE_NOLOCK_OK, and the errors of
 * shmkit_seg_open() and shmkit_seg_attach().
 */
SHMKIT_API int shmkit_table_open(shmkit_table_t **out, const char *address,
				 unsigned flags);

/* shmkit_table_close - detach and free the handle; NULL is a no-op.
 * The table stays: remove it with shmkit_seg_unlink_address(). */
SHMKIT_API int shmkit_table_close(shmkit_table_t *t);

/*
 * shmkit_table_put - insert key -> value, or replace the value of key.
 * key is key_size bytes, value value_size bytes (NULL when value_size is
 * 0). Returns 0 when inserted, 1 when replaced. Errors: -EINVAL,
 * -ENOSPC (capacity reached), -EROFS (opened read-only), SHMKIT_ECORRUPT
 * (also a damaged writer lock, or a write left half done by a dead writer
 * that cannot be finished or undone).
 */
SHMKIT_API int shmkit_table_put(shmkit_table_t *t, const void *key,
				const void *value);

/*
 * shmkit_table_get - copy the value of key into value (value_size bytes;
 * NULL to test presence only). Never blocks: a record that changes while
 * it is copied is copied again, and -EAGAIN ends that after about a second
 * of a peer rewriting it without pause. Errors: -ENOENT, -EINVAL, -EAGAIN,
 * SHMKIT_ECORRUPT. After an error the contents of value are unspecified.
 */
SHMKIT_API int shmkit_table_get(shmkit_table_t *t, const void *key,
				void *value);

/*
 * shmkit_table_get_many - look up n keys at once. keys holds n keys of
 * key_size bytes back to back; values has room for n values of
 * value_size bytes in the same order (NULL to test presence only); and
 * results[i] is set to what shmkit_table_get() would have returned for
 * key i: 0 (found, its value copied), -ENOENT, -EAGAIN or
 * SHMKIT_ECORRUPT. values[i] is unspecified unless results[i] is 0. All
 * three arrays are the caller's and must not overlap. Each lookup is one
 * shmkit_table_get() would make, so the batch is no more atomic than n
 * calls: a record put or deleted during the call may be found by one
 * key and not by another; and as each can retry for about a second
 * while a peer rewrites its record without pause, so can the call, per
 * such key. Batching lets the cache misses of many keys overlap: in a
 * table far larger than the caches a key costs less than half of a lone
 * lookup. Safe from any number of threads and processes, as get is.
 * Returns how many keys were found (>= 0). Errors: -EINVAL (also
 * n > INT_MAX), SHMKIT_ECORRUPT (a corrupt table seen before any lookup;
 * results untouched).
 */
SHMKIT_API int shmkit_table_get_many(shmkit_table_t *t, size_t n,
				     const void *keys, void *values,
				     int *results);

/* shmkit_table_del - remove key. Errors: -ENOENT, -EINVAL, -EROFS,
 * SHMKIT_ECORRUPT (as for put). */
SHMKIT_API int shmkit_table_del(shmkit_table_t *t, const void *key);

/* shmkit_table_count - records in the table (>= 0), or an error. */
SHMKIT_API long shmkit_table_count(shmkit_table_t *t);

/*
 * shmkit_table_next - iterate: start with *cursor = 0; each call copies
 * the next record's key and value (either may be NULL) and advances
 * *cursor. Returns 0, or -ENOENT after the last record. Each record is
 * whole; records put or deleted during the iteration may or may not be
 * seen. Errors: -EINVAL (also *cursor past the end), -EAGAIN (as for
 * get), SHMKIT_ECORRUPT; key and value are unspecified after an error.
 */
SHMKIT_API int shmkit_table_next(shmkit_table_t *t, size_t *cursor, void *key,
				 void *value);

/* What shmkit_table_stat() reports. */
typedef struct shmkit_table_stat {
	size_t capacity;
	size_t key_size;
	size_t value_size;
	size_t slots;	  /* hash slots (power of two) */
	size_t count;	  /* records */
	size_t max_probe; /* longest probe sequence a writer made */
	unsigned flags;	  /* SHMKIT_TABLE_SECURE */
	int locked;	  /* secure: pages locked in this process */
} shmkit_table_stat_t;

/* shmkit_table_stat - fill *st. Errors: -EINVAL, SHMKIT_ECORRUPT. */
SHMKIT_API int shmkit_table_stat(shmkit_table_t *t, shmkit_table_stat_t *st);

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_TABLE_H */
