/*
 * The seqlock: a sequence number that is odd while a write is in progress,
 * a robust mutex that serialises writers, and atomic copy routines for the
 * record. Readers only load, so they work through read-only mappings and
 * never slow the writer down. The memory orders are one of the correct
 * choices in Boehm, "Can seqlocks get along with programming language
 * memory models?" (MSPC 2012): acquire on the first sequence load and
 * acquire loads of the record (so the second sequence load cannot move
 * above them); on the writer side release stores of the record (so the odd
 * sequence cannot move below them) and a release store making the
 * sequence even. That variant rather than the one with fences because
 * ThreadSanitizer does not model standalone fences (GCC refuses them under
 * -fsanitize=thread), and on x86 an acquire load or a release store is a
 * plain move anyway. What this file adds to the textbook version is
 * bounded waiting: a writer that died or stopped with the sequence odd
 * makes readers fail, never spin for ever.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <shmkit/seqlock.h>

#include "sync/sync_impl.h"

#define SEQLOCK_MAGIC	    0x534b534cu /* "SKSL" */
#define SEQLOCK_VERSION	    1u
#define SEQLOCK_STATE_INIT  0x494e4954u
#define SEQLOCK_STATE_READY 0x52454459u
#define SEQLOCK_LAYOUT                                                         \
	(((uint32_t)sizeof(shmkit_seqlock_t) << 16) | SEQLOCK_VERSION)

/* A reader spins this many times on an odd sequence before it starts
 * looking at the clock and sleeping: most writes are shorter than that. */
#define READ_SPINS   200
#define SLEEP_MIN_NS 1000u
#define SLEEP_MAX_NS 1000000u

struct seqlock_impl {
	_Atomic uint32_t magic;
	_Atomic uint32_t state;
	_Atomic uint32_t layout;
	/* Odd while a write is in progress. */
	_Atomic uint32_t seq;
	uint32_t reserved[12];
	/* Writers only: on its own cache line, so taking it does not disturb
	 * readers polling seq. */
	shmkit_mutex_t wlock;
};

_Static_assert(sizeof(shmkit_seqlock_t) == 128, "shared ABI: seqlock size");
_Static_assert(_Alignof(shmkit_seqlock_t) == 8, "shared ABI: seqlock align");
_Static_assert(sizeof(struct seqlock_impl) == sizeof(shmkit_seqlock_t),
	       "seqlock_impl must fill shmkit_seqlock_t exactly");
_Static_assert(_Alignof(struct seqlock_impl) <= _Alignof(shmkit_seqlock_t),
	       "seqlock_impl must not need more alignment");
_Static_assert(offsetof(struct seqlock_impl, wlock) == 64,
	       "shared ABI: writer mutex on the second cache line");

/* Word copies of the record may alias whatever types the caller keeps
 * there. */
typedef uint64_t __attribute__((may_alias)) word_t;

static struct seqlock_impl *
impl(shmkit_seqlock_t *sl)
{
	return (struct seqlock_impl *)(void *)sl;
}

static const struct seqlock_impl *
cimpl(const shmkit_seqlock_t *sl)
{
	return (const struct seqlock_impl *)(const void *)sl;
}

static void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static int
check(const struct seqlock_impl *si)
{
	uint32_t state;

	/* Acquire: pairs with the release store of state in
	 * shmkit_seqlock_init(), which published the header and mutex. */
	state = atomic_load_explicit(&si->state, memory_order_acquire);
	/* Relaxed: published by that same release. */
	if (atomic_load_explicit(&si->magic, memory_order_relaxed) !=
	    SEQLOCK_MAGIC)
		return SHMKIT_ECORRUPT;
	if (atomic_load_explicit(&si->layout, memory_order_relaxed) !=
	    SEQLOCK_LAYOUT)
		return SHMKIT_EABI;
	if (state != SEQLOCK_STATE_READY)
		return SHMKIT_ECORRUPT;
	return 0;
}

void
shmkit_seqlock_load(void *dst, const void *src, size_t len)
{
	const unsigned char *s = src;
	unsigned char *d = dst;

	/* Acquire throughout: the copy may race with a writer by design.
	 * Each load keeps read_retry's sequence load after it, and pairs
	 * with the release store of the same word in shmkit_seqlock_store():
	 * a load that sees a store of a newer write also sees that write's
	 * odd sequence, so read_retry reports the overlap. */
	while (len > 0 && ((uintptr_t)s & (sizeof(word_t) - 1)) != 0) {
		*d++ = __atomic_load_n(s++, __ATOMIC_ACQUIRE);
		len--;
	}
	while (len >= sizeof(word_t)) {
		word_t w = __atomic_load_n((const word_t *)(const void *)s,
					   __ATOMIC_ACQUIRE);

		memcpy(d, &w, sizeof(w));
		s += sizeof(w);
		d += sizeof(w);
		len -= sizeof(w);
	}
	while (len > 0) {
		*d++ = __atomic_load_n(s++, __ATOMIC_ACQUIRE);
		len--;
	}
}

void
shmkit_seqlock_store(void *dst, const void *src, size_t len)
{
	const unsigned char *s = src;
	unsigned char *d = dst;

	/* Release throughout: each store keeps write_begin's odd sequence
	 * before it, and pairs with the acquire load of the same word in
	 * shmkit_seqlock_load(). write_end's release store of the even
	 * sequence keeps these before it. */
	while (len > 0 && ((uintptr_t)d & (sizeof(word_t) - 1)) != 0) {
		__atomic_store_n(d++, *s++, __ATOMIC_RELEASE);
		len--;
	}
	while (len >= sizeof(word_t)) {
		word_t w;

		memcpy(&w, s, sizeof(w));
		__atomic_store_n((word_t *)(void *)d, w, __ATOMIC_RELEASE);
		s += sizeof(w);
		d += sizeof(w);
		len -= sizeof(w);
	}
	while (len > 0) {
		__atomic_store_n(d++, *s++, __ATOMIC_RELEASE);
		len--;
	}
}

int
shmkit_seqlock_init(shmkit_seqlock_t *sl)
{
	struct seqlock_impl *si;
	int rc;

	if (sl == NULL)
		return -EINVAL;
	si = impl(sl);
	/* Relaxed: exclusive access by contract; the release store of READY
	 * below publishes it all. */
	atomic_store_explicit(&si->state, SEQLOCK_STATE_INIT,
			      memory_order_relaxed);
	atomic_store_explicit(&si->magic, SEQLOCK_MAGIC, memory_order_relaxed);
	atomic_store_explicit(&si->layout, SEQLOCK_LAYOUT,
			      memory_order_relaxed);
	atomic_store_explicit(&si->seq, 0, memory_order_relaxed);
	memset(si->reserved, 0, sizeof(si->reserved));
	rc = shmkit_mutex_init(&si->wlock);
	if (rc < 0)
		return rc;
	/* Release: publishes the header and the mutex; pairs with the
	 * acquire load of state in check(). */
	atomic_store_explicit(&si->state, SEQLOCK_STATE_READY,
			      memory_order_release);
	return 0;
}

int
shmkit_seqlock_fini(shmkit_seqlock_t *sl)
{
	struct seqlock_impl *si;
	int rc;

	if (sl == NULL)
		return -EINVAL;
	si = impl(sl);
	rc = check(si);
	if (rc < 0)
		return rc;
	rc = shmkit_mutex_fini(&si->wlock);
	if (rc < 0)
		return rc;
	/* Release: pairs with the acquire load in check(), for a peer that
	 * looks (against the contract) during fini. */
	atomic_store_explicit(&si->state, 0, memory_order_release);
	atomic_store_explicit(&si->magic, 0, memory_order_relaxed);
	return 0;
}

/*
 * Wait until the sequence is even and store it in *out. *deadline is 0
 * until the first time we look at the clock, then the monotonic time at
 * which we give up; callers that wait more than once share it.
 */
static int
wait_even(const struct seqlock_impl *si, uint64_t *deadline, uint32_t *out)
{
	uint64_t sleep_ns = SLEEP_MIN_NS, now;
	unsigned spins = 0;
	uint32_t s;
	int rc;

	for (;;) {
		/* Acquire: pairs with the release store in write_end, so the
		 * record it published is visible to the copy that follows. */
		s = atomic_load_explicit(&si->seq, memory_order_acquire);
		if ((s & 1) == 0) {
			*out = s;
			return 0;
		}
		if (spins < READ_SPINS) {
			spins++;
			cpu_relax();
			continue;
		}
		rc = shmkit__mutex_check(&si->wlock);
		if (rc < 0)
			return rc;
		if (shmkit__mutex_holder_died(&si->wlock)) {
			/* The writer may have died after ending its write:
			 * then the record is whole. Acquire: as above. */
			s = atomic_load_explicit(&si->seq,
						 memory_order_acquire);
			if ((s & 1) == 0) {
				*out = s;
				return 0;
			}
			return SHMKIT_EBROKEN;
		}
		now = shmkit__mono_ns();
		if (*deadline == 0)
			*deadline =
				now + (uint64_t)SHMKIT_SEQLOCK_READ_TIMEOUT_MS *
					      1000000u;
		else if (now >= *deadline)
			return -ETIMEDOUT;
		{
			struct timespec ts = {0, (long)sleep_ns};

			nanosleep(&ts, NULL);
		}
		if (sleep_ns < SLEEP_MAX_NS)
			sleep_ns *= 2;
	}
}

int
shmkit_seqlock_read_begin(const shmkit_seqlock_t *sl, uint32_t *seq)
{
	uint64_t deadline = 0;
	uint32_t s;
	int rc;

	if (sl == NULL || seq == NULL)
		return -EINVAL;
	rc = check(cimpl(sl));
	if (rc < 0)
		return rc;
	rc = wait_even(cimpl(sl), &deadline, &s);
	if (rc < 0)
		return rc;
	*seq = s;
	return 0;
}

int
shmkit_seqlock_read_retry(const shmkit_seqlock_t *sl, uint32_t seq)
{
	if (sl == NULL)
		return 1;
	/* Relaxed: the acquire loads of shmkit_seqlock_load() already keep
	 * this load after the copy. */
	return atomic_load_explicit(&cimpl(sl)->seq, memory_order_relaxed) !=
	       seq;
}

int
shmkit_seqlock_read(const shmkit_seqlock_t *sl, void *dst, const void *src,
		    size_t len)
{
	const struct seqlock_impl *si;
	uint64_t deadline = 0, now;
	uint32_t s;
	int rc;

	if (sl == NULL || (len > 0 && (dst == NULL || src == NULL)))
		return -EINVAL;
	si = cimpl(sl);
	rc = check(si);
	if (rc < 0)
		return rc;
	for (;;) {
		rc = wait_even(si, &deadline, &s);
		if (rc < 0)
			return rc;
		shmkit_seqlock_load(dst, src, len);
		if (!shmkit_seqlock_read_retry(sl, s))
			return 0;
		now = shmkit__mono_ns();
		if (deadline == 0)
			deadline =
				now + (uint64_t)SHMKIT_SEQLOCK_READ_TIMEOUT_MS *
					      1000000u;
		else if (now >= deadline)
			return -ETIMEDOUT;
	}
}

int
shmkit_seqlock_write_begin(shmkit_seqlock_t *sl)
{
	struct seqlock_impl *si;
	int rc, died;
	uint32_t s;

	if (sl == NULL)
		return -EINVAL;
	si = impl(sl);
	rc = check(si);
	if (rc < 0)
		return rc;
	rc = shmkit_mutex_lock(&si->wlock);
	died = rc == -EOWNERDEAD;
	if (rc < 0 && !died)
		return rc;
	if (died) {
		/* The seqlock itself is repaired by this writer's write_end;
		 * the record is the caller's to rewrite, which the
		 * -EOWNERDEAD we return tells it. Should this writer die
		 * too, the kernel marks the mutex again and the next writer
		 * gets -EOWNERDEAD in turn. */
		rc = shmkit_mutex_consistent(&si->wlock);
		if (rc < 0) {
			shmkit_mutex_unlock(&si->wlock);
			return rc;
		}
	}
	/* Relaxed: only the mutex holder writes seq, and the mutex orders
	 * us after the previous holder. */
	s = atomic_load_explicit(&si->seq, memory_order_relaxed);
	/* Odd already: the previous writer died mid-write. Leave it odd;
	 * readers keep waiting until our write_end. */
	if ((s & 1) == 0)
		atomic_store_explicit(&si->seq, s + 1, memory_order_relaxed);
	/* No fence: the record stores that follow are release stores (see
	 * shmkit_seqlock_store()), which keep this one before them. */
	return died ? -EOWNERDEAD : 0;
}

int
shmkit_seqlock_write_end(shmkit_seqlock_t *sl)
{
	struct seqlock_impl *si;
	uint32_t s;
	int rc;

	if (sl == NULL)
		return -EINVAL;
	si = impl(sl);
	rc = check(si);
	if (rc < 0)
		return rc;
	rc = shmkit__mutex_check(&si->wlock);
	if (rc < 0)
		return rc;
	/* Only the writer may touch seq: another thread's write may be in
	 * progress. */
	if (!shmkit__mutex_held(&si->wlock))
		return -EPERM;
	/* Relaxed: we hold the mutex, so we wrote seq last. */
	s = atomic_load_explicit(&si->seq, memory_order_relaxed);
	/* Release: publishes the record stores of this write; pairs with the
	 * acquire load of seq in wait_even(). */
	atomic_store_explicit(&si->seq, (s | 1) + 1, memory_order_release);
	return shmkit_mutex_unlock(&si->wlock);
}

int
shmkit_seqlock_write(shmkit_seqlock_t *sl, void *dst, const void *src,
		     size_t len)
{
	int rc, died;

	if (sl == NULL || (len > 0 && (dst == NULL || src == NULL)))
		return -EINVAL;
	rc = shmkit_seqlock_write_begin(sl);
	died = rc == -EOWNERDEAD;
	if (rc < 0 && !died)
		return rc;
	shmkit_seqlock_store(dst, src, len);
	rc = shmkit_seqlock_write_end(sl);
	if (rc < 0)
		return rc;
	return died ? SHMKIT_SEQLOCK_RECOVERED : 0;
}
