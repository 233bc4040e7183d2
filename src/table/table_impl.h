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
 * Create or open a table whose object header says kind (SHMKIT_OBJ_TABLE
 * or SHMKIT_OBJ_KEYS) and version; shmkit_table_create() and
 * shmkit_table_open() are these with SHMKIT_OBJ_TABLE, 1. Opening an
 * object of another kind gives SHMKIT_ENOTOBJ; of another version,
 * SHMKIT_EVERSION.
 */
int shmkit__table_create_kind(shmkit_table_t **out, const char *address,
			      const shmkit_table_opts_t *opts,
			      shmkit_obj_kind_t kind, unsigned version);
int shmkit__table_open_kind(shmkit_table_t **out, const char *address,
			    unsigned flags, shmkit_obj_kind_t kind,
			    unsigned version);

/*
 * Open a table in a segment the caller already has (the compat layer has
 * System V shmids). The handle opens its own segment handle on the same
 * segment and attaches its own mapping; seg stays the caller's, attached
 * or not, and may be closed at once.
 */
int shmkit__table_open_seg(shmkit_table_t **out, shmkit_seg_t *seg,
			   unsigned flags, shmkit_obj_kind_t kind,
			   unsigned version);

/*
 * Make an empty table in a new segment the caller created (its size at
 * least shmkit_table_size(opts), else SHMKIT_ESIZE), with exclusive access
 * to it; past its first 512 bytes the segment must read as zeroes, as a
 * new one does. Writes through seg's mapping if it has one (which must be
 * writable), else maps and unmaps the segment itself. Open it afterwards
 * with shmkit__table_open_seg(). Errors: -EINVAL, SHMKIT_ESIZE, and those
 * of shmkit_seg_attach(), getrandom(2) and shmkit_mutex_init().
 */
int shmkit__table_format_seg(shmkit_seg_t *seg, const shmkit_table_opts_t *opts,
			     shmkit_obj_kind_t kind, unsigned version);

#endif /* SHMKIT_TABLE_IMPL_H */
