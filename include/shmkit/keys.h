/*
 * shmkit/keys.h: the key store of a key-management service.
 *
 * A key store holds one record per (client id, server id) pair: the
 * status of the pair's key (valid or revoked), its key id, the key bytes
 * and when the record was created and last changed. A key-management
 * server writes the records as it agrees keys with its clients; the
 * services that use the keys read them from shared memory, at the cost of
 * a hash lookup and a copy, without asking the server.
 *
 * It is a shared hash table (<shmkit/table.h>) in secure mode, in a
 * segment of any backend, with object kind SHMKIT_OBJ_KEYS: lookups are
 * O(1), readers never block and never see a torn record, writers are
 * serialised by a robust lock, and a writer killed mid-change leaves the
 * old record or the new one. The key bytes are treated as secrets:
 *
 *  - the segment is made with mode 0600 unless the caller asks otherwise;
 *  - replaced and deleted records are zeroised in the segment;
 *  - every process that maps the store locks its pages in memory (mlock)
 *    and keeps them out of core dumps (MADV_DONTDUMP); see
 *    SHMKIT_KEYS_NOLOCK_OK;
 *  - ids are compared in constant time;
 *  - the library never prints, and nothing in the store is logged. A copy
 *    a caller takes with shmkit_keys_get() is the caller's to wipe, with
 *    shmkit_keys_record_zero().
 *
 * Ids are C strings of 1 to SHMKIT_KEYS_ID_MAX bytes (so no NUL inside);
 * in the table they are NUL-padded to SHMKIT_KEYS_ID_MAX bytes each. Keys
 * are 0 to SHMKIT_KEYS_KEY_MAX bytes of any value.
 *
 * Nothing read from the segment is trusted: a record whose status, key
 * length or ids are out of range gives SHMKIT_ECORRUPT, and so does
 * opening a store whose record sizes are not this layout's or whose
 * table is not in secure mode (whoever can write the segment could
 * otherwise switch the zeroising and locking off). A handle keeps what
 * it checked at open; a peer that rewrites the store later cannot change
 * it.
 *
 * Readers never wait for writers: a record that a peer rewrites without
 * pause while it is being copied makes shmkit_keys_get() and
 * shmkit_keys_next() give up after about a second with -EAGAIN (worth
 * retrying). Writers (put, del, revoke) read under the writer lock and
 * never return -EAGAIN; a peer that holds that lock for ever blocks
 * them (see <shmkit/table.h>).
 *
 * Threads: a handle may be used by any number of threads at once. Fork:
 * a handle is not inherited; the child opens its own. Remove a store with
 * shmkit_seg_unlink_address().
 */
#ifndef SHMKIT_KEYS_H
#define SHMKIT_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <shmkit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMKIT_KEYS_ID_MAX  12	/* bytes of a client or server id */
#define SHMKIT_KEYS_KEY_MAX 128 /* bytes of a key */

/* Limit of shmkit_keys_create()'s capacity. */
#define SHMKIT_KEYS_CAPACITY_MAX (1ul << 24)

/* Flags of shmkit_keys_create() and shmkit_keys_open(). */
#define SHMKIT_KEYS_RDONLY    0x1u /* open: map read-only; get, next */
#define SHMKIT_KEYS_NOLOCK_OK 0x2u /* carry on if mlock fails */

/* Status of a record. The values are those of the classic NodeSHMInfo. */
typedef enum shmkit_keys_status {
	SHMKIT_KEYS_VALID = 0,
	SHMKIT_KEYS_REVOKED = 1,
} shmkit_keys_status_t;

/*
 * A record as shmkit_keys_get() and shmkit_keys_next() copy it out. Ids
 * are NUL-terminated; key_len bytes of key are the key and the rest are
 * zero. Times are CLOCK_REALTIME in nanoseconds since the epoch: created
 * is kept when the key is replaced or revoked, updated is not.
 */
typedef struct shmkit_keys_record {
	char client[SHMKIT_KEYS_ID_MAX + 1];
	char server[SHMKIT_KEYS_ID_MAX + 1];
	shmkit_keys_status_t status;
	uint32_t key_id;
	size_t key_len;
	unsigned char key[SHMKIT_KEYS_KEY_MAX];
	int64_t created_ns;
	int64_t updated_ns;
} shmkit_keys_record_t;

/* A process-local handle. */
typedef struct shmkit_keys shmkit_keys_t;

/* shmkit_keys_size - bytes of segment a store of capacity records needs,
 * or 0 for a capacity out of range. */
SHMKIT_API size_t shmkit_keys_size(size_t capacity);

/*
 * shmkit_keys_create - create a segment at address holding an empty key
 * store of capacity records (1..SHMKIT_KEYS_CAPACITY_MAX), and open it
 * (*out, freed by shmkit_keys_close()). mode: permission bits, 0 means
 * 0600. flags: SHMKIT_KEYS_NOLOCK_OK.
 * Errors: -EINVAL, -EEXIST, -EACCES, -ENOSPC, the mlock errors (-ENOMEM,
 * -EPERM, -EAGAIN) unless SHMKIT_KEYS_NOLOCK_OK, and the other errors of
 * shmkit_seg_create().
 */
SHMKIT_API int shmkit_keys_create(shmkit_keys_t **out, const char *address,
				  size_t capacity, mode_t mode, unsigned flags);

/*
 * shmkit_keys_open - open the key store at address. flags:
 * SHMKIT_KEYS_RDONLY, SHMKIT_KEYS_NOLOCK_OK. Errors: -EINVAL, -ENOENT,
 * -EACCES, SHMKIT_ENOTOBJ (not a key store, e.g. a plain table),
 * SHMKIT_ECORRUPT, SHMKIT_EVERSION, SHMKIT_EABI, -EBUSY (still being
 * created), the mlock errors.
 */
SHMKIT_API int shmkit_keys_open(shmkit_keys_t **out, const char *address,
				unsigned flags);

/* shmkit_keys_close - detach and free the handle; NULL is a no-op. The
 * store stays: remove it with shmkit_seg_unlink_address(). */
SHMKIT_API int shmkit_keys_close(shmkit_keys_t *ks);

/*
 * shmkit_keys_put - store key (key_len bytes, 0..SHMKIT_KEYS_KEY_MAX;
 * key may be NULL when key_len is 0) with key_id for (client, server),
 * status SHMKIT_KEYS_VALID. A record already there is replaced whole
 * (its old key zeroised) and keeps its created time. Returns 0 when
 * inserted, 1 when replaced. Errors: -EINVAL (an id empty or longer than
 * SHMKIT_KEYS_ID_MAX, key_len too large, NULL), -ENOSPC (the store holds
 * capacity records), -EROFS (opened read-only), -ENOMEM, SHMKIT_ECORRUPT.
 */
SHMKIT_API int shmkit_keys_put(shmkit_keys_t *ks, const char *client,
			       const char *server, uint32_t key_id,
			       const void *key, size_t key_len);

/*
 * shmkit_keys_get - copy the record of (client, server) into *rec. Never
 * blocks. Errors: -ENOENT, -EINVAL, -EAGAIN (a peer kept rewriting the
 * record for about a second), SHMKIT_ECORRUPT; *rec is written only on
 * success.
 */
SHMKIT_API int shmkit_keys_get(shmkit_keys_t *ks, const char *client,
			       const char *server, shmkit_keys_record_t *rec);

/* shmkit_keys_del - remove the record of (client, server); its bytes are
 * zeroised in the segment. Errors: -ENOENT, -EINVAL, -EROFS,
 * SHMKIT_ECORRUPT. */
SHMKIT_API int shmkit_keys_del(shmkit_keys_t *ks, const char *client,
			       const char *server);

/*
 * shmkit_keys_revoke - mark the key of (client, server) revoked, keeping
 * the record (readers learn that the key must no longer be used). Returns
 * 0, or 1 if it was already revoked. Errors as shmkit_keys_del(), and
 * -ENOMEM. The record is read, marked and written back under the writer
 * lock, so a put or del of the same pair in another process happens
 * wholly before or after it: a deleted record stays deleted (-ENOENT),
 * and no key is left valid after this returned 0.
 */
SHMKIT_API int shmkit_keys_revoke(shmkit_keys_t *ks, const char *client,
				  const char *server);

/*
 * shmkit_keys_next - iterate: start with *cursor = 0; each call copies the
 * next record into *rec and advances *cursor. Returns 0, or -ENOENT after
 * the last record. Records put or deleted meanwhile may or may not be
 * seen. Errors: -EINVAL, -EAGAIN (as for get; *cursor has not moved, so
 * the call may be retried), SHMKIT_ECORRUPT (a corrupt record: *cursor has
 * moved past it, so a caller may report it and carry on).
 */
SHMKIT_API int shmkit_keys_next(shmkit_keys_t *ks, size_t *cursor,
				shmkit_keys_record_t *rec);

/* shmkit_keys_count - records in the store (>= 0), or an error. */
SHMKIT_API long shmkit_keys_count(shmkit_keys_t *ks);

/* What shmkit_keys_stat() reports. */
typedef struct shmkit_keys_stat {
	size_t capacity; /* records it can hold */
	size_t count;	 /* records it holds */
	int locked;	 /* pages locked in memory in this process */
} shmkit_keys_stat_t;

/* shmkit_keys_stat - fill *st. Errors: -EINVAL, SHMKIT_ECORRUPT. */
SHMKIT_API int shmkit_keys_stat(shmkit_keys_t *ks, shmkit_keys_stat_t *st);

/*
 * shmkit_keys_record_zero - wipe a caller's copy of a record (all of it,
 * key bytes included) in a way the compiler cannot drop as a dead store.
 * NULL is a no-op.
 */
SHMKIT_API void shmkit_keys_record_zero(shmkit_keys_record_t *rec);

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_KEYS_H */
