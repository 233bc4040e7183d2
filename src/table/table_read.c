/*
 * Shared hash table: lookups and iteration. Readers never write to the
 * segment (they work through read-only mappings) and never wait for a
 * writer: a slot's live record is never written in place (table_layout.h),
 * so a reader reads the control word, copies the record, and keeps the
 * copy if the control word is unchanged; otherwise the slot changed during
 * the copy and the reader reads it again. A writer that dies leaves every
 * slot whole, old or new, so nothing a reader waits on can stay unfinished.
 *
 * A reader retries only a slot that changed under it, so retries end as
 * soon as writers leave that slot alone for the length of one copy. A peer
 * that rewrites it without pause makes the reader give up after about a
 * second with -EAGAIN rather than spin for ever.
 *
 * A batched lookup (shmkit_table_get_many()) makes the same lookups, but
 * hashes keys ahead of the one it probes and prefetches their slots, so
 * that the cache misses of many keys overlap instead of following one
 * another.
 */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>

#include <shmkit/error.h>
#include <shmkit/seqlock.h>

#include "sync/sync_impl.h"
#include "table/table_hash.h"
#include "table/table_layout.h"

/* Retries of one slot before the reader starts looking at the clock. */
#define RETRY_SPINS 64

struct retry {
	unsigned n;
	uint64_t deadline;
};

static int
retry(struct retry *r)
{
	uint64_t now;

	if (++r->n < RETRY_SPINS)
		return 0;
	now = shmkit__mono_ns();
	if (r->deadline == 0)
		r->deadline = now + (uint64_t)SHMKIT_SEQLOCK_READ_TIMEOUT_MS *
					    1000000u;
	else if (now >= r->deadline)
		return -EAGAIN;
	return 0;
}

/*
 * Does the key of slot i equal the padded key k? In secure mode every word
 * is compared whatever the earlier ones held, so the time taken does not
 * tell how much of a key matched.
 */
static inline int
key_equal(const shmkit_table_t *t, size_t i, const uint64_t *k)
{
	const table_word_t *s = table_key(t, i);
	uint64_t diff = 0;
	size_t w;

	/* Acquire: see table_load(). */
	if (t->flags & SHMKIT_TABLE_SECURE) {
		for (w = 0; w < t->key_words; w++)
			diff |= __atomic_load_n(&s[w], __ATOMIC_ACQUIRE) ^ k[w];
		return diff == 0;
	}
	for (w = 0; w < t->key_words; w++)
		if (__atomic_load_n(&s[w], __ATOMIC_ACQUIRE) != k[w])
			return 0;
	return 1;
}

/*
 * Look at slot i for the key k: 1 found (value copied), 0 not here (go on
 * probing), -ENOENT the slot is empty (stop probing), or an error.
 */
static inline int
probe_slot(const shmkit_table_t *t, size_t i, const uint64_t *k, void *value)
{
	_Atomic uint64_t *ctl = table_ctl(t, i);
	struct retry r = {0, 0};
	uint64_t c1;
	int rc;

	for (;;) {
		/* Acquire: pairs with the writer's release store of the
		 * control word, which published the key and value copy it
		 * names. */
		c1 = atomic_load_explicit(ctl, memory_order_acquire);
		switch (SLOT_STATE(c1)) {
		case SLOT_EMPTY:
			return -ENOENT;
		case SLOT_TOMB:
			return 0;
		case SLOT_FULL:
			break;
		default:
			return SHMKIT_ECORRUPT;
		}
		/* A mismatch needs no validation: a key read while the slot
		 * changed belongs to a record put or deleted during this
		 * lookup, which may then count as not found. */
		if (!key_equal(t, i, k))
			return 0;
		if (value != NULL)
			table_load(value, table_val(t, i, SLOT_SEL(c1)),
				   t->value_size);
		/* Relaxed: the acquire loads of the copy keep this load after
		 * them (as shmkit_seqlock_read_retry()). */
		if (atomic_load_explicit(ctl, memory_order_relaxed) == c1)
			return 1;
		rc = retry(&r);
		if (rc < 0)
			return rc;
	}
}

/*
 * Look for the padded key k, whose hash is h, probing at most mp slots:
 * 0 found (value copied), -ENOENT, or an error. mp was checked against
 * the slot count.
 */
static inline int
lookup(const shmkit_table_t *t, uint64_t h, const uint64_t *k, uint64_t mp,
       void *value)
{
	size_t mask = t->nslots - 1;
	uint64_t d;
	int rc;

	for (d = 0; d < mp; d++) {
		rc = probe_slot(t, (size_t)(h + d) & mask, k, value);
		if (rc != 0)
			return rc > 0 ? 0 : rc;
	}
	return -ENOENT;
}

/* The probe bound a lookup may use, read now, or SHMKIT_ECORRUPT. */
static inline int
probe_bound(const shmkit_table_t *t, uint64_t *mp)
{
	/* Relaxed: a stale bound can only miss a record whose insert runs
	 * concurrently with this lookup. */
	*mp = atomic_load_explicit(&t->params->max_probe, memory_order_relaxed);
	return *mp > t->nslots ? SHMKIT_ECORRUPT : 0;
}

SHMKIT_API int
shmkit_table_get(shmkit_table_t *t, const void *key, void *value)
{
	uint64_t k[SHMKIT_TABLE_KEY_MAX / 8];
	uint64_t h, mp;
	int rc;

	if (t == NULL || key == NULL)
		return -EINVAL;
	h = table_key_words(t, key, k);
	rc = probe_bound(t, &mp);
	if (rc < 0)
		return rc;
	return lookup(t, h, k, mp, value);
}

/*
 * A batched lookup works on a window of keys: it hashes key i + AHEAD
 * and prefetches its home slot, prefetches the live value of key
 * i + AHEAD / 2 when records are longer than a line, and probes key i.
 * AHEAD keys' worth of hashing covers a trip to memory, so each probe
 * finds its lines arrived while the misses of the whole window were in
 * flight together; the window is small enough that they are still in L1.
 */
#define AHEAD 16
#define RING  32 /* a power of two above AHEAD: hashes in the window */

/* Lines of a long value prefetched ahead: enough for a record of a few
 * hundred bytes; a larger value's copy streams, and prefetching all of it
 * would evict the window's other slots from L1. */
#define VALUE_LINES 4

/* Start fetching the first lines of slot i's live value that do not
 * share the control word's line (slots longer than a line start on one).
 * The control word may be anything a peer wrote: SLOT_SEL() is 0 or 1,
 * so the lines stay inside slot i whatever it holds. */
static inline void
prefetch_value(const shmkit_table_t *t, size_t i)
{
	const unsigned char *line = table_slot(t, i) + 64, *v, *end;
	unsigned lines = 0;
	uint64_t c;

	/* Relaxed: only a hint; probe_slot() reads it again properly. */
	c = atomic_load_explicit(table_ctl(t, i), memory_order_relaxed);
	v = (const unsigned char *)table_val(t, i, SLOT_SEL(c));
	end = v + 8 * t->val_words;
	for (; line < end && lines < VALUE_LINES; line += 64)
		if (line + 64 > v) {
			__builtin_prefetch(line, 0, 3);
			lines++;
		}
}

SHMKIT_API int
shmkit_table_get_many(shmkit_table_t *t, size_t n, const void *keys,
		      void *values, int *results)
{
	uint64_t k[SHMKIT_TABLE_KEY_MAX / 8], h[RING], mp;
	const unsigned char *kp = keys;
	unsigned char *vp = values;
	int long_slots, rc, found = 0;
	size_t i, j, mask;

	if (t == NULL || n > INT_MAX ||
	    (n > 0 && (keys == NULL || results == NULL)))
		return -EINVAL;
	rc = probe_bound(t, &mp);
	if (rc < 0)
		return rc;
	mask = t->nslots - 1;
	long_slots = vp != NULL && t->stride > 64;
	for (i = 0; i < n + AHEAD; i++) {
		if (i < n) {
			h[i % RING] =
				table_key_words(t, kp + i * t->key_size, k);
			__builtin_prefetch(
				table_slot(t, (size_t)h[i % RING] & mask), 0,
				3);
			__builtin_prefetch(
				table_slot(t, (size_t)(h[i % RING] + 1) & mask),
				0, 3);
		}
		j = i - AHEAD / 2;
		if (long_slots && i >= AHEAD / 2 && j < n)
			prefetch_value(t, (size_t)h[j % RING] & mask);
		if (i < AHEAD)
			continue;
		j = i - AHEAD;
		table_pad_key(t, kp + j * t->key_size, k);
		/* The bound as of this key's lookup, as get() would read
		 * it: a put done since the call began is then found. */
		rc = probe_bound(t, &mp);
		if (rc == 0)
			rc = lookup(t, h[j % RING], k, mp,
				    vp == NULL ? NULL : vp + j * t->value_size);
		results[j] = rc;
		found += rc == 0;
	}
	return found;
}

SHMKIT_API int
shmkit_table_next(shmkit_table_t *t, size_t *cursor, void *key, void *value)
{
	struct retry r = {0, 0};
	_Atomic uint64_t *ctl;
	uint64_t c1;
	size_t i;
	int rc;

	if (t == NULL || cursor == NULL || *cursor > t->nslots)
		return -EINVAL;
	for (i = *cursor; i < t->nslots; i++) {
		ctl = table_ctl(t, i);
		for (;;) {
			/* Acquire: as in probe_slot(). */
			c1 = atomic_load_explicit(ctl, memory_order_acquire);
			if (SLOT_STATE(c1) > SLOT_TOMB)
				return SHMKIT_ECORRUPT;
			if (SLOT_STATE(c1) != SLOT_FULL)
				break;
			if (key != NULL)
				table_load(key, table_key(t, i), t->key_size);
			if (value != NULL)
				table_load(value, table_val(t, i, SLOT_SEL(c1)),
					   t->value_size);
			/* Relaxed: as in probe_slot(). */
			if (atomic_load_explicit(ctl, memory_order_relaxed) ==
			    c1) {
				*cursor = i + 1;
				return 0;
			}
			rc = retry(&r);
			if (rc < 0)
				return rc;
		}
	}
	return -ENOENT;
}
