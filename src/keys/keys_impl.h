/*
 * Internal side of the key store (<shmkit/keys.h>): what the compat layer
 * (KeyMng_Shm*) needs beyond the public API. It keeps its stores in
 * System V segments it already holds by shmid, and writes the status a
 * classic NodeSHMInfo carries in the same change as the key.
 */
#ifndef SHMKIT_KEYS_IMPL_H
#define SHMKIT_KEYS_IMPL_H

#include <shmkit/keys.h>
#include <shmkit/seg.h>

/* Layout version of a key store's records (object kind SHMKIT_OBJ_KEYS). */
#define SHMKIT__KEYS_VERSION 1

/*
 * Make an empty store of capacity records in a new segment the caller
 * created (at least shmkit_keys_size(capacity) bytes) and holds
 * exclusively; seg must not be attached. Errors as
 * shmkit__table_format_seg().
 */
int shmkit__keys_format_seg(shmkit_seg_t *seg, size_t capacity, unsigned flags);

/* Open the store in a segment the caller has; seg stays the caller's and
 * may be closed at once. Errors as shmkit_keys_open(). */
int shmkit__keys_open_seg(shmkit_keys_t **out, shmkit_seg_t *seg,
			  unsigned flags);

/*
 * shmkit_keys_put() with the status given: 0 when inserted, 1 when
 * replaced. One table put, so readers never see the new key with the old
 * status or the other way round.
 */
int shmkit__keys_write(shmkit_keys_t *ks, const char *client,
		       const char *server, shmkit_keys_status_t status,
		       uint32_t key_id, const void *key, size_t key_len);

#endif /* SHMKIT_KEYS_IMPL_H */
