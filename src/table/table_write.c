/*
 * Shared hash table: puts, deletes, and finishing the write of a writer
 * that died.
 *
 * Writers hold the table's robust mutex. Each write first records its
 * intent in the journal (slot, operation, the slot's control word before
 * and after, the counters before and after), then prepares the change
 * where no reader looks (the key of a slot that is not full, the dead
 * value copy of a full one), then makes it with one release store of the
 * slot's control word, then tidies up (counters, zeroising in secure mode)
 * and clears the journal. A writer killed anywhere leaves the control word
 * old or new; the next writer gets -EOWNERDEAD from the mutex (or finds
 * the journal open) and, from whichever it finds, completes the tidying
 * (new) or undoes the preparation (old). Readers are never involved: they
 * only ever see whole records.
 *
 * Journal and counter stores are relaxed: only writers read them, and the
 * mutex orders each writer after the previous one. The release stores of
 * the slot contents and control word keep the journal stores before them,
 * so a write is never visible in a slot before its intent is recorded.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <shmkit/error.h>

#include "table/table_hash.h"
#include "table/table_impl.h"
#include "table/table_layout.h"

#define LOAD(x)	    atomic_load_explicit(&(x), memory_order_relaxed)
#define STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)

static void
set_counts(shmkit_table_t *t, uint64_t count, uint64_t tomb)
{
	STORE(t->counts->count, count);
	STORE(t->counts->tombstones, tomb);
}

/*
 * Finish or undo the write recorded in the journal, if one is open.
 * Caller holds the mutex. 0, or SHMKIT_ECORRUPT if the journal or the
 * slot it names cannot be trusted (the journal then stays open, so every
 * writer keeps failing rather than build on a corrupt table).
 */
static int
recover(shmkit_table_t *t)
{
	struct table_journal *j = t->journal;
	uint64_t op, slot, oldc, newc, cur, clean, k, c;
	int secure = (t->flags & SHMKIT_TABLE_SECURE) != 0;
	size_t mask = t->nslots - 1, i;

	switch (LOAD(j->active)) {
	case 0:
		return 0;
	case JOURNAL_ACTIVE:
		break;
	default:
		return SHMKIT_ECORRUPT;
	}
	op = LOAD(j->op);
	slot = LOAD(j->slot);
	oldc = LOAD(j->old_ctl);
	newc = LOAD(j->new_ctl);
	clean = LOAD(j->clean);
	if ((op != JOP_INSERT && op != JOP_REPLACE && op != JOP_DELETE) ||
	    slot >= t->nslots || clean >= t->nslots ||
	    LOAD(j->old_count) > t->capacity ||
	    LOAD(j->new_count) > t->capacity || LOAD(j->old_tomb) > t->nslots ||
	    LOAD(j->new_tomb) > t->nslots)
		return SHMKIT_ECORRUPT;
	i = (size_t)slot;
	cur = LOAD(*table_ctl(t, i));
	if (cur == newc) {
		/* The write happened: do what it had left to do. */
		if (op == JOP_REPLACE && secure)
			table_zero(table_val(t, i, !SLOT_SEL(newc)),
				   t->val_words);
		if (op == JOP_DELETE) {
			for (k = 1; k <= clean; k++) {
				_Atomic uint64_t *w =
					table_ctl(t, (i - (size_t)k) & mask);

				c = LOAD(*w);
				/* Release: as in del(). */
				if (SLOT_STATE(c) == SLOT_TOMB)
					atomic_store_explicit(
						w,
						SLOT_NEXT(c, SLOT_EMPTY,
							  SLOT_SEL(c)),
						memory_order_release);
			}
			if (secure) {
				table_zero(table_key(t, i), t->key_words);
				table_zero(table_val(t, i, 0),
					   2 * t->val_words);
			}
		}
		set_counts(t, LOAD(j->new_count), LOAD(j->new_tomb));
	} else if (cur == oldc) {
		/* It did not: wipe what it may have prepared. */
		if (op == JOP_INSERT && secure)
			table_zero(table_key(t, i), t->key_words);
		if (op != JOP_DELETE && secure)
			table_zero(table_val(t, i, SLOT_SEL(newc)),
				   t->val_words);
		set_counts(t, LOAD(j->old_count), LOAD(j->old_tomb));
	} else {
		return SHMKIT_ECORRUPT;
	}
	/* Release: orders the repairs above before the journal closes. */
	atomic_store_explicit(&j->active, 0, memory_order_release);
	SHMKIT_DEBUG("table", "recovered an interrupted %s of slot %zu (%s)",
		     op == JOP_INSERT	 ? "insert"
		     : op == JOP_REPLACE ? "replace"
					 : "delete",
		     i, cur == newc ? "completed" : "rolled back");
	return 0;
}

int
shmkit__table_lock(shmkit_table_t *t)
{
	int rc, died, rrc;

	rc = shmkit_mutex_lock(t->lock);
	died = rc == -EOWNERDEAD;
	if (rc < 0 && !died)
		return rc;
	/* Also without -EOWNERDEAD: a journal left open by a writer whose
	 * recovery failed stays a reason to refuse. */
	rrc = recover(t);
	if (died) {
		/* Consistent even when recovery failed, so that the mutex
		 * stays usable and later writers see the same error rather
		 * than -ENOTRECOVERABLE. */
		rc = shmkit_mutex_consistent(t->lock);
		if (rc < 0) {
			shmkit_mutex_unlock(t->lock);
			return rc;
		}
	}
	if (rrc < 0) {
		shmkit_mutex_unlock(t->lock);
		return rrc;
	}
	return 0;
}

void
shmkit__table_unlock(shmkit_table_t *t)
{
	shmkit_mutex_unlock(t->lock);
}

static void
journal_open(shmkit_table_t *t, uint64_t op, size_t slot, uint64_t oldc,
	     uint64_t newc, uint64_t count, uint64_t new_count, uint64_t tomb,
	     uint64_t new_tomb, uint64_t clean)
{
	struct table_journal *j = t->journal;

	STORE(j->op, op);
	STORE(j->slot, slot);
	STORE(j->old_ctl, oldc);
	STORE(j->new_ctl, newc);
	STORE(j->old_count, count);
	STORE(j->new_count, new_count);
	STORE(j->old_tomb, tomb);
	STORE(j->new_tomb, new_tomb);
	STORE(j->clean, clean);
	/* Release: the fields above before the mark that makes them count
	 * (for the compiler: this thread's stores reach memory in program
	 * order on the machines we run on). */
	atomic_store_explicit(&j->active, JOURNAL_ACTIVE, memory_order_release);
}

static void
journal_close(shmkit_table_t *t)
{
	/* Release: the tidying before the mark that ends the write. */
	atomic_store_explicit(&t->journal->active, 0, memory_order_release);
}

/* Does slot i hold key k (padded)? Constant time in secure mode. */
static int
key_equal(const shmkit_table_t *t, size_t i, const uint64_t *k)
{
	const table_word_t *s = table_key(t, i);
	uint64_t diff = 0;
	size_t w;

	/* Relaxed: only writers write keys, and we are the writer. */
	for (w = 0; w < t->key_words; w++) {
		diff |= __atomic_load_n(&s[w], __ATOMIC_RELAXED) ^ k[w];
		if (diff != 0 && !(t->flags & SHMKIT_TABLE_SECURE))
			return 0;
	}
	return diff == 0;
}

/*
 * Find key k (hash h) under the mutex: *found is its slot or -1, *hole the
 * first slot an insert could take (tombstone or empty) and *dist that
 * slot's probe length. Probing for the key stops at max_probe or an empty
 * slot; for a hole it may go further, but never round the table twice.
 */
static int
find(shmkit_table_t *t, uint64_t h, const uint64_t *k, long *found, long *hole,
     uint64_t *dist)
{
	size_t mask = t->nslots - 1, i;
	uint64_t mp, d, c;

	mp = LOAD(t->params->max_probe);
	if (mp > t->nslots)
		return SHMKIT_ECORRUPT;
	*found = -1;
	*hole = -1;
	for (d = 0; d < t->nslots; d++) {
		i = (size_t)(h + d) & mask;
		c = LOAD(*table_ctl(t, i));
		switch (SLOT_STATE(c)) {
		case SLOT_FULL:
			if (d < mp && key_equal(t, i, k)) {
				*found = (long)i;
				return 0;
			}
			break;
		case SLOT_TOMB:
		case SLOT_EMPTY:
			if (*hole < 0) {
				*hole = (long)i;
				*dist = d + 1;
			}
			if (SLOT_STATE(c) == SLOT_EMPTY)
				return 0;
			break;
		default:
			return SHMKIT_ECORRUPT;
		}
		if (d + 1 >= mp && *hole >= 0)
			return 0;
	}
	/* No empty slot and no tombstone: more records than slots. */
	return *hole >= 0 ? 0 : SHMKIT_ECORRUPT;
}

/*
 * Take the writer mutex and find key (see find()), k being its words.
 * Returns 0 with the mutex held, or an error with it released.
 */
static int
lock_find(shmkit_table_t *t, const void *key, uint64_t *k, long *found,
	  long *hole, uint64_t *dist)
{
	uint64_t h = table_key_words(t, key, k);
	int rc;

	rc = shmkit__table_lock(t);
	if (rc < 0)
		return rc;
	rc = find(t, h, k, found, hole, dist);
	if (rc < 0)
		shmkit__table_unlock(t);
	return rc;
}

static int
replace(shmkit_table_t *t, size_t i, const void *value)
{
	_Atomic uint64_t *ctl = table_ctl(t, i);
	uint64_t c = LOAD(*ctl), n, count, tomb;
	unsigned sel = SLOT_SEL(c);

	n = SLOT_NEXT(c, SLOT_FULL, !sel);
	count = LOAD(t->counts->count);
	tomb = LOAD(t->counts->tombstones);
	journal_open(t, JOP_REPLACE, i, c, n, count, count, tomb, tomb, 0);
	table_store(table_val(t, i, !sel), value, t->value_size, t->val_words);
	/* Release: publishes the value copy stored above; pairs with the
	 * acquire load of the control word in probe_slot() (table_read.c). */
	atomic_store_explicit(ctl, n, memory_order_release);
	if (t->flags & SHMKIT_TABLE_SECURE)
		table_zero(table_val(t, i, sel), t->val_words);
	journal_close(t);
	return 1;
}

static int
insert(shmkit_table_t *t, size_t i, uint64_t dist, const void *key,
       const void *value)
{
	_Atomic uint64_t *ctl = table_ctl(t, i);
	uint64_t c = LOAD(*ctl), n, count, tomb, ntomb;

	count = LOAD(t->counts->count);
	if (count > t->capacity)
		return SHMKIT_ECORRUPT;
	if (count == t->capacity)
		return -ENOSPC;
	tomb = LOAD(t->counts->tombstones);
	ntomb = tomb;
	if (SLOT_STATE(c) == SLOT_TOMB && ntomb > 0)
		ntomb--;
	n = SLOT_NEXT(c, SLOT_FULL, 0);
	journal_open(t, JOP_INSERT, i, c, n, count, count + 1, tomb, ntomb, 0);
	/* Before the record is visible, so that a lookup that sees the
	 * record probes far enough; harmless if the insert is undone. */
	if (dist > LOAD(t->params->max_probe))
		STORE(t->params->max_probe, dist);
	table_store(table_key(t, i), key, t->key_size, t->key_words);
	table_store(table_val(t, i, 0), value, t->value_size, t->val_words);
	/* Release: publishes the key and value stored above (and the new
	 * max_probe); pairs with the acquire load of the control word in
	 * probe_slot() (table_read.c). */
	atomic_store_explicit(ctl, n, memory_order_release);
	set_counts(t, count + 1, ntomb);
	journal_close(t);
	return 0;
}

SHMKIT_API int
shmkit_table_put(shmkit_table_t *t, const void *key, const void *value)
{
	uint64_t k[SHMKIT_TABLE_KEY_MAX / 8];
	long found, hole;
	uint64_t dist = 0;
	int rc;

	if (t == NULL || key == NULL || (value == NULL && t->value_size > 0))
		return -EINVAL;
	if (t->rdonly)
		return -EROFS;
	rc = lock_find(t, key, k, &found, &hole, &dist);
	if (rc < 0)
		return rc;
	if (found >= 0)
		rc = replace(t, (size_t)found, value);
	else
		rc = insert(t, (size_t)hole, dist, key, value);
	shmkit__table_unlock(t);
	return rc;
}

int
shmkit__table_update(shmkit_table_t *t, const void *key,
		     int (*fn)(void *value, int found, void *arg), void *arg,
		     unsigned flags)
{
	uint64_t k[SHMKIT_TABLE_KEY_MAX / 8];
	long found, hole;
	uint64_t dist = 0;
	unsigned char *buf;
	unsigned sel;
	int rc;

	if (t == NULL || key == NULL || fn == NULL ||
	    (flags & ~SHMKIT__TABLE_INSERT))
		return -EINVAL;
	if (t->rdonly)
		return -EROFS;
	/* The caller's copy, so that fn checks and changes bytes no peer
	 * can rewrite under it; at least 1 byte for value_size 0. */
	buf = malloc(t->value_size + 1);
	if (buf == NULL)
		return -ENOMEM;
	rc = lock_find(t, key, k, &found, &hole, &dist);
	if (rc < 0)
		goto out;
	if (found < 0 && !(flags & SHMKIT__TABLE_INSERT)) {
		rc = -ENOENT;
	} else if (found >= 0) {
		/* Relaxed, and the acquire loads of table_load() more than
		 * needed: only writers change a slot, and we are the writer
		 * (the mutex orders us after the last one). */
		sel = SLOT_SEL(LOAD(*table_ctl(t, (size_t)found)));
		table_load(buf, table_val(t, (size_t)found, sel),
			   t->value_size);
		rc = fn(buf, 1, arg);
		if (rc == 0)
			rc = replace(t, (size_t)found, buf);
	} else {
		memset(buf, 0, t->value_size);
		rc = fn(buf, 0, arg);
		if (rc == 0)
			rc = insert(t, (size_t)hole, dist, key, buf);
	}
	shmkit__table_unlock(t);
out:
	if (t->flags & SHMKIT_TABLE_SECURE)
		explicit_bzero(buf, t->value_size);
	free(buf);
	return rc;
}

SHMKIT_API int
shmkit_table_del(shmkit_table_t *t, const void *key)
{
	uint64_t k[SHMKIT_TABLE_KEY_MAX / 8];
	uint64_t c, n, count, tomb, ntomb, clean = 0, dist;
	size_t mask, i, x;
	_Atomic uint64_t *ctl;
	long found, hole;
	unsigned state;
	int rc;

	if (t == NULL || key == NULL)
		return -EINVAL;
	if (t->rdonly)
		return -EROFS;
	rc = lock_find(t, key, k, &found, &hole, &dist);
	if (rc < 0)
		return rc;
	if (found < 0) {
		rc = -ENOENT;
		goto out;
	}
	mask = t->nslots - 1;
	i = (size_t)found;
	ctl = table_ctl(t, i);
	c = LOAD(*ctl);
	count = LOAD(t->counts->count);
	tomb = LOAD(t->counts->tombstones);
	if (count == 0 || count > t->capacity) {
		rc = SHMKIT_ECORRUPT;
		goto out;
	}
	/* A slot followed by an empty one is on no record's probe path, so
	 * it can become empty rather than a tombstone, and so can the
	 * tombstones just before it: lookups of absent keys stay short. */
	state = SLOT_TOMB;
	if (SLOT_STATE(LOAD(*table_ctl(t, (i + 1) & mask))) == SLOT_EMPTY) {
		state = SLOT_EMPTY;
		while (clean + 1 < t->nslots &&
		       SLOT_STATE(LOAD(*table_ctl(t, (i - (size_t)clean -
						      1) & mask))) == SLOT_TOMB)
			clean++;
	}
	ntomb = tomb + (state == SLOT_TOMB) - clean;
	if (ntomb > t->nslots)
		ntomb = 0; /* the counter is advisory; never trust it */
	n = SLOT_NEXT(c, state, SLOT_SEL(c));
	journal_open(t, JOP_DELETE, i, c, n, count, count - 1, tomb, ntomb,
		     clean);
	/* Release: after the journal; pairs with the acquire load of the
	 * control word in probe_slot(), which then stops or skips here. */
	atomic_store_explicit(ctl, n, memory_order_release);
	for (x = 1; x <= clean; x++) {
		_Atomic uint64_t *w = table_ctl(t, (i - x) & mask);

		c = LOAD(*w);
		/* Release: as above. */
		atomic_store_explicit(w, SLOT_NEXT(c, SLOT_EMPTY, SLOT_SEL(c)),
				      memory_order_release);
	}
	set_counts(t, count - 1, ntomb);
	if (t->flags & SHMKIT_TABLE_SECURE) {
		table_zero(table_key(t, i), t->key_words);
		table_zero(table_val(t, i, 0), 2 * t->val_words);
	}
	journal_close(t);
out:
	shmkit__table_unlock(t);
	return rc;
}
