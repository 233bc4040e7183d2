/*
 * Shared hash table: creating a table in a segment, opening one without
 * trusting it, and the handle's life. Lookups are in table_read.c, writes
 * and crash recovery in table_write.c, the layout in table_layout.h.
 *
 * Opening reads the geometry (sizes, slot count, stride, seed) once into
 * the handle and checks it against the layout it implies and the size of
 * the segment; from then on every slot address is computed from the
 * handle's copy, so a peer rewriting the control block cannot send this
 * process outside its mapping.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <shmkit/error.h>

#include "obj/obj_impl.h"
#include "sync/sync_impl.h"
#include "table/table_impl.h"
#include "table/table_layout.h"

#define OPEN_FLAGS   (SHMKIT_TABLE_RDONLY | SHMKIT_TABLE_NOLOCK_OK)
#define CREATE_FLAGS (SHMKIT_TABLE_SECURE | SHMKIT_TABLE_NOLOCK_OK)

/* The geometry a table with these sizes has. */
struct geometry {
	size_t slots;
	size_t stride;
	size_t size;
};

static int
geometry(size_t capacity, size_t key_size, size_t value_size,
	 struct geometry *g)
{
	size_t slots = 2;

	if (capacity < 1 || capacity > SHMKIT_TABLE_CAPACITY_MAX ||
	    key_size < 1 || key_size > SHMKIT_TABLE_KEY_MAX ||
	    value_size > SHMKIT_TABLE_VALUE_MAX)
		return -EINVAL;
	/* The fill limit: capacity <= 7/8 of the slots, so probes stay
	 * short and at least one slot is never full. */
	while (slots / 8 * 7 + slots % 8 * 7 / 8 < capacity)
		slots *= 2;
	g->slots = slots;
	g->stride = 8 + shmkit__round_up(key_size, 8) +
		    2 * shmkit__round_up(value_size, 8);
	/* Slots aligned to cache lines (the array starts on one): a lookup
	 * whose record fits in a line then touches only that line. */
	if (g->stride <= 64) {
		while (64 % g->stride != 0)
			g->stride += 8;
	} else {
		g->stride = shmkit__round_up(g->stride, 64);
	}
	if (slots > ((size_t)-1 - TABLE_SLOTS_OFF) / g->stride)
		return -EINVAL;
	g->size = TABLE_SLOTS_OFF + slots * g->stride;
	return 0;
}

SHMKIT_API size_t
shmkit_table_size(const shmkit_table_opts_t *opts)
{
	struct geometry g;

	if (opts == NULL || (opts->flags & ~CREATE_FLAGS) ||
	    (opts->mode & ~(mode_t)07777))
		return 0;
	if (geometry(opts->capacity, opts->key_size, opts->value_size, &g) < 0)
		return 0;
	return g.size;
}

static int
valid_kind(shmkit_obj_kind_t kind, unsigned version)
{
	return (kind == SHMKIT_OBJ_TABLE || kind == SHMKIT_OBJ_KEYS) &&
	       version >= 1 && version <= 0xffff;
}

/* The stored flags a table of this kind must have: a key store is always
 * secure, whatever its params say. */
static unsigned
kind_flags(shmkit_obj_kind_t kind)
{
	return kind == SHMKIT_OBJ_KEYS ? SHMKIT_TABLE_SECURE : 0;
}

/* Does the geometry read at open meet what the opener expects? */
static int
meets(const shmkit__table_expect_t *e, uint64_t cap, uint32_t ks, uint32_t vs,
      uint32_t tflags)
{
	if (e == NULL)
		return 1;
	return ks == e->key_size && vs == e->value_size &&
	       cap >= e->capacity_min && cap <= e->capacity_max &&
	       (tflags & e->flags) == e->flags;
}

/* Write an empty table over the first bytes of mem (size bytes, read as
 * zeroes beyond them since the segment is new). Exclusive access. */
static int
format(unsigned char *mem, const shmkit_table_opts_t *opts,
       const struct geometry *g, shmkit_obj_kind_t kind, unsigned version)
{
	struct table_params *p = (void *)(mem + TABLE_PARAMS_OFF);
	uint64_t seed[2];
	size_t got = 0;
	ssize_t n;
	int rc;

	while (got < sizeof(seed)) {
		n = getrandom((unsigned char *)seed + got, sizeof(seed) - got,
			      0);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			got += (size_t)n;
	}
	memset(mem + SHMKIT_OBJ_HDR_SIZE, 0,
	       TABLE_SLOTS_OFF - SHMKIT_OBJ_HDR_SIZE);
	shmkit__obj_hdr_init((shmkit_obj_hdr_t *)(void *)mem, kind, version,
			     g->size);
	p->capacity = opts->capacity;
	p->key_size = (uint32_t)opts->key_size;
	p->value_size = (uint32_t)opts->value_size;
	p->slots = g->slots;
	p->stride = (uint32_t)g->stride;
	p->flags = opts->flags & TABLE_STORED_FLAGS;
	p->seed[0] = seed[0];
	p->seed[1] = seed[1];
	explicit_bzero(seed, sizeof(seed));
	rc = shmkit_mutex_init(
		(shmkit_mutex_t *)(void *)(mem + TABLE_LOCK_OFF));
	if (rc < 0)
		return rc;
	/* Publishes all of the above: release store of the state. */
	shmkit__obj_hdr_ready((shmkit_obj_hdr_t *)(void *)mem);
	return 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; C libraries before 2.35 */
#endif

/*
 * Fault in every page of a new table in memory, in the creator, at once.
 * tmpfs zeroes a page at its first touch; paid here in one pass, that is
 * no longer a page fault in the first put to land on each page (a fresh
 * 1M-record table took one every 30 inserts). Only where the segment's
 * memory is reserved already (POSIX and memfd segments are fallocated):
 * a System V table would be made resident whole, and a file: table
 * written to disk whole. Best effort: a kernel without
 * MADV_POPULATE_WRITE (before 5.14) leaves the faults where they were.
 */
static void
prefault(const shmkit_seg_t *seg, void *mem, size_t size)
{
	shmkit_backend_t b = shmkit_seg_backend(seg);

	if (b != SHMKIT_BACKEND_POSIX && b != SHMKIT_BACKEND_MEMFD)
		return;
	if (madvise(mem, shmkit__round_up(size, shmkit__page_size()),
		    MADV_POPULATE_WRITE) < 0)
		SHMKIT_DEBUG("table", "MADV_POPULATE_WRITE: %s",
			     shmkit_strerror(-errno));
}

/* Lock the pages in memory and out of core dumps (secure tables). */
static int
protect(shmkit_table_t *t, unsigned flags)
{
	size_t len = shmkit__round_up(t->map_len, shmkit__page_size());

	if (madvise(t->base, len, MADV_DONTDUMP) < 0)
		return -errno;
	/* The system call itself: AddressSanitizer replaces mlock() with a
	 * no-op, and a secure table must really be locked in every build. */
	if (syscall(SYS_mlock, t->base, t->map_len) < 0) {
		if (!(flags & SHMKIT_TABLE_NOLOCK_OK))
			return -errno;
		SHMKIT_DEBUG("table", "mlock: %s; carrying on unlocked",
			     shmkit_strerror(-errno));
		return 0;
	}
	t->locked = 1;
	return 0;
}

/* Read a field a peer may be changing: once, atomically. */
#define PEEK(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/*
 * Check the object at t->base (t->map_len bytes) and fill t's geometry
 * from it. Errors as shmkit_table_open(). Everything is read once into
 * the handle, the secure flag included: a peer clearing it later cannot
 * turn zeroising or constant-time compares off in this process.
 */
static int
check(shmkit_table_t *t, unsigned flags, shmkit_obj_kind_t kind,
      unsigned version, const shmkit__table_expect_t *expect)
{
	shmkit_obj_hdr_t *h = (shmkit_obj_hdr_t *)(void *)t->base;
	struct table_params *p;
	shmkit_obj_info_t info;
	struct geometry g;
	uint64_t cap, slots;
	uint32_t ks, vs, stride, tflags;
	int rc;

	rc = shmkit_obj_probe(t->base, t->map_len, &info);
	if (rc < 0)
		return rc;
	if (info.kind != kind)
		return SHMKIT_ENOTOBJ;
	if (info.version != version)
		return SHMKIT_EVERSION;
	/* Acquire: pairs with the release store in shmkit__obj_hdr_ready(),
	 * so the body the creator wrote is visible from here on. */
	switch (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE)) {
	case SHMKIT_OBJ_STATE_READY:
		break;
	case SHMKIT_OBJ_STATE_INIT:
		/* A creator that died half-way left it so for good. */
		return info.creator_alive == 0 ? SHMKIT_ECORRUPT : -EBUSY;
	default:
		return SHMKIT_ECORRUPT;
	}
	if (t->map_len < TABLE_SLOTS_OFF)
		return SHMKIT_ECORRUPT;
	p = (struct table_params *)(void *)(t->base + TABLE_PARAMS_OFF);
	cap = PEEK(p->capacity);
	ks = PEEK(p->key_size);
	vs = PEEK(p->value_size);
	slots = PEEK(p->slots);
	stride = PEEK(p->stride);
	tflags = PEEK(p->flags);
	if (cap > SHMKIT_TABLE_CAPACITY_MAX ||
	    geometry((size_t)cap, ks, vs, &g) < 0 || g.slots != slots ||
	    g.stride != stride || (tflags & ~TABLE_STORED_FLAGS) ||
	    (tflags & kind_flags(kind)) != kind_flags(kind) ||
	    g.size != info.size || !meets(expect, cap, ks, vs, tflags))
		return SHMKIT_ECORRUPT;
	t->params = p;
	t->counts = (struct table_counts *)(void *)(t->base + TABLE_COUNTS_OFF);
	t->lock = (shmkit_mutex_t *)(void *)(t->base + TABLE_LOCK_OFF);
	t->journal =
		(struct table_journal *)(void *)(t->base + TABLE_JOURNAL_OFF);
	t->slots = t->base + TABLE_SLOTS_OFF;
	t->capacity = (size_t)cap;
	t->key_size = ks;
	t->value_size = vs;
	t->nslots = g.slots;
	t->stride = g.stride;
	t->key_words = shmkit__round_up(ks, 8) / 8;
	t->val_words = shmkit__round_up(vs, 8) / 8;
	t->k0 = PEEK(p->seed[0]);
	t->k1 = PEEK(p->seed[1]);
	t->hash_mask = ~(uint64_t)0;
	t->flags = tflags;
	if (!t->rdonly) {
		rc = shmkit__mutex_check(t->lock);
		if (rc < 0)
			return rc;
	}
	if (t->flags & SHMKIT_TABLE_SECURE)
		return protect(t, flags);
	return 0;
}

/*
 * Make a handle on seg, which becomes the handle's on success only:
 * attach it, or use its mapping if it has one, and check the table in it.
 */
static int
handle(shmkit_table_t **out, shmkit_seg_t *seg, unsigned flags,
       shmkit_obj_kind_t kind, unsigned version,
       const shmkit__table_expect_t *expect)
{
	shmkit_table_t *t;
	void *mem = shmkit_seg_addr(seg);
	int rc;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->seg = seg;
	t->rdonly = (flags & SHMKIT_TABLE_RDONLY) != 0;
	if (mem == NULL) {
		rc = shmkit_seg_attach(
			seg, &mem, t->rdonly ? SHMKIT_ATTACH_RDONLY : 0, NULL);
		if (rc < 0)
			goto out;
	}
	t->base = mem;
	t->map_len = shmkit_seg_size(seg);
	rc = check(t, flags, kind, version, expect);
	if (rc < 0)
		goto out;
	*out = t;
	return 0;
out:
	free(t);
	return rc;
}

int
shmkit__table_format_seg(shmkit_seg_t *seg, const shmkit_table_opts_t *opts,
			 shmkit_obj_kind_t kind, unsigned version)
{
	struct geometry g;
	void *mem;
	int rc, rc2;

	if (seg == NULL || shmkit_table_size(opts) == 0 ||
	    !valid_kind(kind, version) ||
	    (opts->flags & kind_flags(kind)) != kind_flags(kind))
		return -EINVAL;
	geometry(opts->capacity, opts->key_size, opts->value_size, &g);
	if (shmkit_seg_size(seg) < g.size)
		return SHMKIT_ESIZE;
	mem = shmkit_seg_addr(seg);
	if (mem != NULL)
		return format(mem, opts, &g, kind, version);
	rc = shmkit_seg_attach(seg, &mem, 0, NULL);
	if (rc < 0)
		return rc;
	rc = format(mem, opts, &g, kind, version);
	rc2 = shmkit_seg_detach(seg);
	return rc < 0 ? rc : rc2;
}

int
shmkit__table_create_kind(shmkit_table_t **out, const char *address,
			  const shmkit_table_opts_t *opts,
			  shmkit_obj_kind_t kind, unsigned version)
{
	shmkit_seg_opts_t so = {0};
	shmkit_seg_t *seg;
	struct geometry g;
	void *mem;
	int rc;

	if (out == NULL || address == NULL || shmkit_table_size(opts) == 0 ||
	    !valid_kind(kind, version) ||
	    (opts->flags & kind_flags(kind)) != kind_flags(kind))
		return -EINVAL;
	geometry(opts->capacity, opts->key_size, opts->value_size, &g);
	so.size = g.size;
	so.mode = opts->mode;
	rc = shmkit_seg_create(&seg, address, &so);
	if (rc < 0)
		return rc;
	rc = shmkit_seg_attach(seg, &mem, 0, NULL);
	if (rc == 0)
		rc = format(mem, opts, &g, kind, version);
	if (rc < 0) {
		shmkit_seg_unlink(seg);
		shmkit_seg_close(seg);
		return rc;
	}
	prefault(seg, mem, g.size);
	rc = handle(out, seg, opts->flags & SHMKIT_TABLE_NOLOCK_OK, kind,
		    version, NULL);
	if (rc < 0) {
		shmkit_seg_unlink(seg);
		shmkit_seg_close(seg);
	}
	return rc;
}

int
shmkit__table_open_kind(shmkit_table_t **out, const char *address,
			unsigned flags, shmkit_obj_kind_t kind,
			unsigned version, const shmkit__table_expect_t *expect)
{
	shmkit_seg_opts_t so = {0};
	shmkit_seg_t *seg;
	int rc;

	if (out == NULL || address == NULL || (flags & ~OPEN_FLAGS) ||
	    !valid_kind(kind, version))
		return -EINVAL;
	if (flags & SHMKIT_TABLE_RDONLY)
		so.flags = SHMKIT_SEG_RDONLY;
	rc = shmkit_seg_open(&seg, address, &so);
	if (rc < 0)
		return rc;
	rc = handle(out, seg, flags, kind, version, expect);
	if (rc < 0)
		shmkit_seg_close(seg);
	return rc;
}

int
shmkit__table_open_seg(shmkit_table_t **out, shmkit_seg_t *seg, unsigned flags,
		       shmkit_obj_kind_t kind, unsigned version,
		       const shmkit__table_expect_t *expect)
{
	shmkit_seg_opts_t so = {0};
	shmkit_seg_stat_t st;
	shmkit_seg_t *mine;
	char addr[32];
	int rc;

	if (out == NULL || seg == NULL || (flags & ~OPEN_FLAGS) ||
	    !valid_kind(kind, version))
		return -EINVAL;
	if (flags & SHMKIT_TABLE_RDONLY)
		so.flags = SHMKIT_SEG_RDONLY;
	/* Our own handle on the same segment: the caller's keeps its own
	 * mapping and life. System V has no fd to duplicate, but an id. */
	if (shmkit_seg_backend(seg) == SHMKIT_BACKEND_SYSV) {
		rc = shmkit_seg_stat(seg, &st);
		if (rc < 0)
			return rc;
		snprintf(addr, sizeof(addr), "sysv-id:%d", st.shmid);
		rc = shmkit_seg_open(&mine, addr, &so);
	} else {
		rc = shmkit_seg_open_fd(&mine, shmkit_seg_fd(seg), &so);
	}
	if (rc < 0)
		return rc;
	rc = handle(out, mine, flags, kind, version, expect);
	if (rc < 0)
		shmkit_seg_close(mine);
	return rc;
}

SHMKIT_API int
shmkit_table_create(shmkit_table_t **out, const char *address,
		    const shmkit_table_opts_t *opts)
{
	return shmkit__table_create_kind(out, address, opts, SHMKIT_OBJ_TABLE,
					 TABLE_VERSION);
}

SHMKIT_API int
shmkit_table_open(shmkit_table_t **out, const char *address, unsigned flags)
{
	return shmkit__table_open_kind(out, address, flags, SHMKIT_OBJ_TABLE,
				       TABLE_VERSION, NULL);
}

SHMKIT_API int
shmkit_table_close(shmkit_table_t *t)
{
	int rc;

	if (t == NULL)
		return 0;
	/* Unmapping also unlocks the pages; the data stays in the segment,
	 * which outlives the handle. */
	rc = shmkit_seg_close(t->seg);
	free(t);
	return rc;
}

SHMKIT_API long
shmkit_table_count(shmkit_table_t *t)
{
	uint64_t n;

	if (t == NULL)
		return -EINVAL;
	/* Relaxed: a snapshot; no data is read on the strength of it. */
	n = atomic_load_explicit(&t->counts->count, memory_order_relaxed);
	if (n > t->capacity)
		return SHMKIT_ECORRUPT;
	return (long)n;
}

SHMKIT_API int
shmkit_table_stat(shmkit_table_t *t, shmkit_table_stat_t *st)
{
	shmkit_table_stat_t s;
	uint64_t n, mp;

	if (t == NULL || st == NULL)
		return -EINVAL;
	/* Relaxed: snapshots, as in shmkit_table_count(). */
	n = atomic_load_explicit(&t->counts->count, memory_order_relaxed);
	mp = atomic_load_explicit(&t->params->max_probe, memory_order_relaxed);
	if (n > t->capacity || mp > t->nslots)
		return SHMKIT_ECORRUPT;
	memset(&s, 0, sizeof(s));
	s.capacity = t->capacity;
	s.key_size = t->key_size;
	s.value_size = t->value_size;
	s.slots = t->nslots;
	s.count = (size_t)n;
	s.max_probe = (size_t)mp;
	s.flags = t->flags;
	s.locked = t->locked;
	*st = s;
	return 0;
}

void
shmkit__table_test_hash_mask(shmkit_table_t *t, uint64_t mask)
{
	t->hash_mask = mask;
}
