/*
 * Internal side of the shared hash table (<shmkit/table.h>): the entry
 * points the key store and the compat layer build on, which choose the
 * object kind and version written into the header, and open a table on a
 * segment they already hold.
 */
#ifndef SHMKIT_TABLE_IMPL_H
#define SHMKIT_TABLE_IMPL_H

#include <shmkit/obj.h>
#include <shmkit/seg.h>
#include <shmkit/table.h>

/*
 * What an opener requires of a table beyond its kind and version: the
 * sizes of the buffers it will copy keys and values in and out of, the
 * range its capacity must lie in, and stored flags that must be set. A
 * peer that can write the segment can rewrite the params to any other
 * geometry the segment holds (the same stride fits many key and value
 * sizes), so a caller with fixed-size records names them here and gets
 * SHMKIT_ECORRUPT for a table that differs, rather than copies that run
 * past its buffers.
 */
typedef struct shmkit__table_expect {
	size_t key_size;
	size_t value_size;
	size_t capacity_min, capacity_max;
	unsigned flags; /* stored flags that must be set: SHMKIT_TABLE_SECURE */
} shmkit__table_expect_t;

/*
 * Create or open a table whose object header says kind (SHMKIT_OBJ_TABLE
 * or SHMKIT_OBJ_KEYS) and version; shmkit_table_create() and
 * shmkit_table_open() are these with SHMKIT_OBJ_TABLE, 1 and no
 * expectations (expect NULL). Opening an object of another kind gives
 * SHMKIT_ENOTOBJ; of another version, SHMKIT_EVERSION; a table that does
 * not meet *expect, SHMKIT_ECORRUPT. A table of kind SHMKIT_OBJ_KEYS is
 * always secure: creating one without SHMKIT_TABLE_SECURE is -EINVAL,
 * opening one whose params say otherwise SHMKIT_ECORRUPT (a peer must not
 * be able to switch the zeroising and locking off).
 */
int shmkit__table_create_kind(shmkit_table_t **out, const char *address,
			      const shmkit_table_opts_t *opts,
			      shmkit_obj_kind_t kind, unsigned version);
int shmkit__table_open_kind(shmkit_table_t **out, const char *address,
			    unsigned flags, shmkit_obj_kind_t kind,
			    unsigned version,
			    const shmkit__table_expect_t *expect);

/*
 * Open a table in a segment the caller already has (the compat layer has
 * System V shmids). The handle opens its own segment handle on the same
 * segment and attaches its own mapping; seg stays the caller's, attached
 * or not, and may be closed at once. kind, version and expect as
 * shmkit__table_open_kind().
 */
int shmkit__table_open_seg(shmkit_table_t **out, shmkit_seg_t *seg,
			   unsigned flags, shmkit_obj_kind_t kind,
			   unsigned version,
			   const shmkit__table_expect_t *expect);

/*
 * Make an empty table in a new segment the caller created (its size at
 * least shmkit_table_size(opts), else SHMKIT_ESIZE), with exclusive access
 * to it; past its first 512 bytes the segment must read as zeroes, as a
 * new one does. Writes through seg's mapping if it has one (which must be
 * writable), else maps and unmaps the segment itself. Open it afterwards
 * with shmkit__table_open_seg(). Errors: -EINVAL (also kind
 * SHMKIT_OBJ_KEYS without SHMKIT_TABLE_SECURE), SHMKIT_ESIZE, and those
 * of shmkit_seg_attach(), getrandom(2) and shmkit_mutex_init().
 */
int shmkit__table_format_seg(shmkit_seg_t *seg, const shmkit_table_opts_t *opts,
			     shmkit_obj_kind_t kind, unsigned version);

/* shmkit__table_update(): insert the key when it is absent. */
#define SHMKIT__TABLE_INSERT 0x1u

/*
 * Read, change and write back the record of key as one write: all of it
 * runs under the writer mutex, so no other put or del can land between
 * the read and the write (a del in between would otherwise be undone).
 *
 * fn gets a private copy of the record's value (found = 1) or, when the
 * key is absent and flags has SHMKIT__TABLE_INSERT, value_size zero bytes
 * (found = 0); it may change them and returns 0 to have them stored, a
 * negative error or a positive number to leave the table as it is (that
 * number is then returned). fn runs with the mutex held: it must not call
 * this table's put, del or update. The copy is wiped before it is freed
 * in secure mode. Returns 0 when a record was inserted, 1 when replaced,
 * what fn returned if not 0, -ENOENT when the key is absent and flags
 * lacks SHMKIT__TABLE_INSERT (fn is not called), and the errors of
 * shmkit_table_put().
 */
int shmkit__table_update(shmkit_table_t *t, const void *key,
			 int (*fn)(void *value, int found, void *arg),
			 void *arg, unsigned flags);

#endif /* SHMKIT_TABLE_IMPL_H */
