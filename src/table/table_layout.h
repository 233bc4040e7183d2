/*
 * The shared hash table's layout in its segment, its process-local handle,
 * and what the files of src/table/ share. Nothing here is exported; tests
 * include it to corrupt chosen fields.
 *
 * Segment (all offsets fixed by layout version 1, none stored as a
 * pointer):
 *   0    shmkit_obj_hdr_t (64 bytes)
 *   64   struct table_params: geometry and seed, written once at creation,
 *        and max_probe, which every lookup reads (read-mostly line)
 *   128  struct table_counts: count and tombstones (written on every put
 *        and delete, so kept off the readers' line)
 *   192  shmkit_mutex_t serialising writers
 *   256  struct table_journal: the writer's intent, for crash recovery
 *   512  the slot array: slots * stride bytes
 *
 * A slot is a 64-bit control word, then the key (padded to 8 bytes), then
 * two value copies (each padded to 8 bytes). The control word holds the
 * state (empty, full, tombstone), which value copy is live, and a
 * generation that changes with every change of the slot. A slot is never
 * changed in place while it is visible: a writer fills the key (of a slot
 * that is not full) or the dead value copy (of a full one), then publishes
 * the change with one release store of the control word. So a reader that
 * reads the control word, copies the key and live value, and finds the
 * control word unchanged has a whole record; and a writer that dies at any
 * moment leaves every slot either old or new, which is why readers never
 * wait for a writer, live or dead (see the recovery in table_write.c).
 *
 * Open addressing with linear probing from the keyed hash of the key.
 * Invariant: between a full slot's home and the slot itself there is no
 * empty slot; deletes leave tombstones, turned back into empty slots when
 * that keeps the invariant (the slot after them is empty).
 */
#ifndef SHMKIT_TABLE_LAYOUT_H
#define SHMKIT_TABLE_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <shmkit/mutex.h>
#include <shmkit/obj.h>
#include <shmkit/seg.h>
#include <shmkit/table.h>

#include "common/internal.h"

#define TABLE_VERSION 1u

#define TABLE_PARAMS_OFF  64u
#define TABLE_COUNTS_OFF  128u
#define TABLE_LOCK_OFF	  192u
#define TABLE_JOURNAL_OFF 256u
#define TABLE_SLOTS_OFF	  512u

/* Control word: bits 0-1 state, bit 2 live value copy, bits 3-63 the
 * generation. A zeroed slot is empty, generation 0. */
#define SLOT_EMPTY    0u
#define SLOT_FULL     1u
#define SLOT_TOMB     2u
#define SLOT_STATE(w) ((unsigned)((w)&3u))
#define SLOT_SEL(w)   ((unsigned)(((w) >> 2) & 1u))
#define SLOT_NEXT(w, state, sel)                                               \
	((((w) >> 3) + 1) << 3 | (uint64_t)(sel) << 2 | (uint64_t)(state))

/* Journal operations. */
#define JOP_INSERT     1u
#define JOP_REPLACE    2u
#define JOP_DELETE     3u
#define JOURNAL_ACTIVE 0x4a524e4cu /* "JRNL" */

/* Per-table flags kept in the params (SHMKIT_TABLE_SECURE only). */
#define TABLE_STORED_FLAGS SHMKIT_TABLE_SECURE

struct table_params {
	uint64_t capacity;
	uint32_t key_size;
	uint32_t value_size;
	uint64_t slots;
	uint32_t stride;
	uint32_t flags;
	uint64_t seed[2];
	/* Longest probe sequence (in slots) any insert made; only grows.
	 * Writers store it, lookups bound their probing with it. */
	_Atomic uint64_t max_probe;
	uint64_t reserved;
};

struct table_counts {
	_Atomic uint64_t count;
	_Atomic uint64_t tombstones;
	uint64_t reserved[6];
};

/*
 * The intent of the write in progress, written before the write touches a
 * slot and cleared after it finished. Only writers, holding the mutex,
 * read or write it.
 */
struct table_journal {
	_Atomic uint64_t active; /* JOURNAL_ACTIVE while a write is open */
	_Atomic uint64_t op;	 /* JOP_* */
	_Atomic uint64_t slot;
	_Atomic uint64_t old_ctl; /* the slot's control word before */
	_Atomic uint64_t new_ctl; /* and after the write */
	_Atomic uint64_t old_count, new_count;
	_Atomic uint64_t old_tomb, new_tomb;
	/* Delete: how many slots before slot turn from tombstone to empty. */
	_Atomic uint64_t clean;
	uint64_t reserved[6];
};

_Static_assert(sizeof(struct table_params) == 64, "shared ABI: params");
_Static_assert(sizeof(struct table_counts) == 64, "shared ABI: counts");
_Static_assert(sizeof(struct table_journal) == 128, "shared ABI: journal");
_Static_assert(TABLE_JOURNAL_OFF + sizeof(struct table_journal) <=
		       TABLE_SLOTS_OFF,
	       "journal fits before the slots");

struct shmkit_table {
	shmkit_seg_t *seg;   /* owned by the handle */
	unsigned char *base; /* its mapping */
	size_t map_len;
	struct table_params *params;
	struct table_counts *counts;
	struct table_journal *journal;
	shmkit_mutex_t *lock;
	unsigned char *slots;
	/* Geometry, copied from the params at open and checked once: what
	 * every bound below relies on, whatever peers write later. */
	size_t capacity;
	size_t key_size;
	size_t value_size;
	size_t nslots; /* a power of two */
	size_t stride;
	size_t key_words;   /* key padded, in 8-byte words */
	size_t val_words;   /* one value copy padded, in 8-byte words */
	uint64_t k0, k1;    /* hash seed */
	uint64_t hash_mask; /* ~0; tests make the hash degenerate */
	/* SHMKIT_TABLE_SECURE, also read once: a peer that clears it in the
	 * params cannot switch zeroising off in a process that has the
	 * table open. */
	unsigned flags;
	int rdonly;
	int locked;
};

/* Word loads and stores of slot contents may alias whatever the caller
 * keeps in keys and values. */
typedef uint64_t __attribute__((may_alias)) table_word_t;

static inline unsigned char *
table_slot(const shmkit_table_t *t, size_t i)
{
	return t->slots + i * t->stride;
}

static inline _Atomic uint64_t *
table_ctl(const shmkit_table_t *t, size_t i)
{
	return (_Atomic uint64_t *)(void *)table_slot(t, i);
}

static inline table_word_t *
table_key(const shmkit_table_t *t, size_t i)
{
	return (table_word_t *)(void *)(table_slot(t, i) + 8);
}

static inline table_word_t *
table_val(const shmkit_table_t *t, size_t i, unsigned sel)
{
	return (table_word_t *)(void *)(table_slot(t, i) + 8 +
					8 * (t->key_words +
					     (size_t)sel * t->val_words));
}

/*
 * Copy len bytes out of a key or value in the slots with acquire loads of
 * whole words (the area is padded to a multiple of 8 bytes). Acquire: the
 * copy races with writers by design; each load pairs with the release
 * store of the same word in table_store(), so a load that sees a newer
 * write also makes the reader's second load of the control word see that
 * write's change, and keeps that second load after the copy (the seqlock
 * argument of src/sync/seqlock.c, with the control word as the sequence).
 */
static inline void
table_load(void *dst, const table_word_t *src, size_t len)
{
	unsigned char *d = dst;
	uint64_t w;

	for (; len >= 8; len -= 8, d += 8, src++) {
		w = __atomic_load_n(src, __ATOMIC_ACQUIRE);
		memcpy(d, &w, 8);
	}
	if (len > 0) {
		w = __atomic_load_n(src, __ATOMIC_ACQUIRE);
		memcpy(d, &w, len);
	}
}

/*
 * Copy len bytes into an area of nwords words (nwords * 8 >= len) with
 * release stores, zeroing the padding. Release: keeps the journal and any
 * earlier change of the slot before these stores; pairs with the acquire
 * loads of table_load().
 */
static inline void
table_store(table_word_t *dst, const void *src, size_t len, size_t nwords)
{
	const unsigned char *s = src;
	uint64_t w;

	for (; len >= 8; len -= 8, s += 8, dst++, nwords--) {
		memcpy(&w, s, 8);
		__atomic_store_n(dst, w, __ATOMIC_RELEASE);
	}
	if (len > 0) {
		w = 0;
		memcpy(&w, s, len);
		__atomic_store_n(dst++, w, __ATOMIC_RELEASE);
		nwords--;
	}
	for (; nwords > 0; nwords--)
		__atomic_store_n(dst++, 0, __ATOMIC_RELEASE);
}

/*
 * Zero nwords words (secure mode). Atomic stores, unlike a memset of
 * memory that is never read again in this function, are never removed as
 * dead stores; and readers may be copying these words. Release: as in
 * table_store().
 */
static inline void
table_zero(table_word_t *dst, size_t nwords)
{
	for (; nwords > 0; nwords--)
		__atomic_store_n(dst++, 0, __ATOMIC_RELEASE);
}

/* Internal between the files of src/table/. */

/* Take the writer mutex and finish or undo a write that a dead writer
 * left open (table_write.c). 0 with the mutex held, or an error. */
int shmkit__table_lock(shmkit_table_t *t);
void shmkit__table_unlock(shmkit_table_t *t);

/* Test hook: AND every hash with mask (0 puts every key in one slot). */
void shmkit__table_test_hash_mask(shmkit_table_t *t, uint64_t mask);

#endif /* SHMKIT_TABLE_LAYOUT_H */
