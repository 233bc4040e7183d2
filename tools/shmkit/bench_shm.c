/*
 * bench_shm.c: shared memory, the mechanisms shmkit is about.
 *
 * floor: two processes hand one cache line back and forth in anonymous
 * MAP_SHARED memory, spinning. Nothing between two processes can be
 * faster on this machine; every latency is also shown as a multiple of it.
 *
 * shm-<backend>: the same exchange through a shmkit segment of each
 * backend (sysv, posix, file, memfd), holding two single-producer,
 * single-consumer byte rings, one per direction. A message larger than a
 * ring goes through in pieces while the peer drains it, as with a pipe.
 * The receiver copies each message out, as a copying channel would. By
 * default a waiting side spins (busy-poll): the lowest latency, a whole
 * core burnt while waiting. shm-futex waits in the kernel on a futex
 * instead, which is what a blocking channel pays: the wake-up.
 *
 * Segments are unlinked as soon as they are mapped: fork inherits the
 * mapping, and nothing is left behind if the run is interrupted.
 */
#include "bench.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/addr.h>

/* mech->arg of the shm-* rows: the backend, plus this bit to block. */
#define SHM_FUTEX BENCH_WAIT_FUTEX

/* Bytes of data in each ring; a power of two. */
#define RING_CAP (1u << 20)
#define LINE 64

/* Floor: the line's states. */
enum { LINE_EMPTY, LINE_TO_CHILD, LINE_TO_PARENT };

struct line {
	_Atomic uint32_t state;
	uint32_t pad;
	unsigned char data[LINE - 8];
};
_Static_assert(sizeof(struct line) == LINE, "one cache line");

/*
 * One ring. head and tail count bytes ever written and read, modulo 2^32
 * (the ring is far smaller, so head - tail is the fill level); each sits
 * on its own cache line so producer and consumer do not share one. They
 * are 32-bit so that they can be futex words.
 */
struct ring {
	_Alignas(LINE) _Atomic uint32_t head; /* written by the producer */
	_Alignas(LINE) _Atomic uint32_t tail; /* written by the consumer */
	_Alignas(LINE) _Atomic uint32_t cons_waiting; /* futex mode only */
	_Atomic uint32_t prod_waiting;
	_Alignas(LINE) unsigned char data[RING_CAP];
};

static unsigned long
line_spins;

static struct line *
the_line(struct bench_ctx *c)
{
	return c->map;
}

static int
floor_setup(struct bench_ctx *c)
{
	c->map_len = (size_t)sysconf(_SC_PAGESIZE);
	c->map = mmap(NULL, c->map_len, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->map == MAP_FAILED)
		return -errno;
	/* Relaxed: nobody else sees the line before fork. */
	atomic_store_explicit(&the_line(c)->state, LINE_EMPTY,
			      memory_order_relaxed);
	return 0;
}

/* Spin until the line is in state want. */
static int
line_wait(struct line *l, uint32_t want)
{
	int rc;

	/* Acquire: pairs with the release store that set this state, so
	 * the data written before it (or read out before it) is settled. */
	while (atomic_load_explicit(&l->state, memory_order_acquire) != want) {
		rc = bench_spin(&line_spins);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
floor_send(struct bench_ctx *c, const void *buf, size_t len)
{
	struct line *l = the_line(c);
	int rc;

	if (len > sizeof(l->data))
		return -EMSGSIZE;
	rc = line_wait(l, LINE_EMPTY);
	if (rc < 0)
		return rc;
	memcpy(l->data, buf, len);
	/* Release: publishes data; pairs with the acquire in line_wait()
	 * of the receiver's floor_recv(). */
	atomic_store_explicit(&l->state,
			      c->side == BENCH_PARENT ? LINE_TO_CHILD
						      : LINE_TO_PARENT,
			      memory_order_release);
	return 0;
}

static int
floor_recv(struct bench_ctx *c, void *buf, size_t len)
{
	struct line *l = the_line(c);
	int rc;

	rc = line_wait(l, c->side == BENCH_PARENT ? LINE_TO_PARENT
						  : LINE_TO_CHILD);
	if (rc < 0)
		return rc;
	memcpy(buf, l->data, len);
	/* Release: our reads of data are done before the sender, whose
	 * acquire in line_wait(EMPTY) pairs with this, writes again. */
	atomic_store_explicit(&l->state, LINE_EMPTY, memory_order_release);
	return 0;
}

static void
floor_fini(struct bench_ctx *c)
{
	if (c->map != MAP_FAILED)
		munmap(c->map, c->map_len);
	c->map = MAP_FAILED;
}

int
bench_shm_address(char *buf, size_t len, shmkit_backend_t b,
		  unsigned attempt)
{
	const char *tmp = getenv("TMPDIR");
	long pid = (long)getpid();

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	switch (b) {
	case SHMKIT_BACKEND_SYSV:
		/* Keys from the pid; a collision is retried with the next. */
		snprintf(buf, len, "sysv:0x%08lx",
			 0x5b000000ul | (((unsigned long)pid * 16 + attempt) &
					 0xffffffu));
		return 0;
	case SHMKIT_BACKEND_POSIX:
		snprintf(buf, len, "posix:/shmkit-bench-%ld-%u", pid, attempt);
		return 0;
	case SHMKIT_BACKEND_FILE:
		snprintf(buf, len, "file:%s/shmkit-bench-%ld-%u", tmp, pid,
			 attempt);
		return 0;
	case SHMKIT_BACKEND_MEMFD:
		snprintf(buf, len, "memfd:shmkit-bench");
		return 0;
	}
	return -EINVAL;
}

static int
shm_setup(struct bench_ctx *c)
{
	shmkit_backend_t b = (shmkit_backend_t)(c->mech->arg & 0xff);
	shmkit_seg_opts_t o;
	unsigned attempt;
	void *addr;
	int rc = -EEXIST;

	memset(&o, 0, sizeof(o));
	o.size = 2 * sizeof(struct ring);
	o.mode = 0600;
	for (attempt = 0; attempt < 16 && rc == -EEXIST; attempt++) {
		rc = bench_shm_address(c->path, sizeof(c->path), b, attempt);
		if (rc == 0)
			rc = shmkit_seg_create(&c->seg, c->path, &o);
	}
	if (rc < 0) {
		snprintf(c->why, sizeof(c->why), "create %.140s", c->path);
		return rc;
	}
	rc = shmkit_seg_attach(c->seg, &addr, 0, NULL);
	/* Mapped (or failed): the name has served its purpose. */
	shmkit_seg_unlink(c->seg);
	if (rc < 0) {
		snprintf(c->why, sizeof(c->why), "attach %.140s", c->path);
		shmkit_seg_close(c->seg);
		c->seg = NULL;
		return rc;
	}
	/* New segments read as zeroes: both rings start empty. */
	c->map = addr;
	return 0;
}

static long
futex(_Atomic uint32_t *word, int op, uint32_t val,
      const struct timespec *timeout)
{
	/* Not FUTEX_PRIVATE: the word is shared between processes. */
	return syscall(SYS_futex, (uint32_t *)word, op, val, timeout, NULL,
		       0);
}

/*
 * Wait until *word is no longer old. Busy-poll mode spins; futex mode
 * announces itself in *waiting and sleeps. The announcement and the
 * peer's update form a Dekker pair made of seq_cst operations only (no
 * fences, which ThreadSanitizer does not model): here a seq_cst store of
 * *waiting then a seq_cst load of *word; in wake_peer() a seq_cst
 * read-modify-write of *word then a seq_cst load of *waiting. In the
 * single total order of seq_cst operations one side comes first, so
 * either the waker sees the flag or we see the new value; FUTEX_WAIT
 * itself rechecks *word atomically.
 */
static int
wait_change(const struct bench_ctx *c, _Atomic uint32_t *word, uint32_t old,
	    _Atomic uint32_t *waiting)
{
	static const struct timespec tick = { 0, 100 * 1000 * 1000 };
	unsigned long spins = 0;
	int rc;

	if (!(c->mech->arg & SHM_FUTEX)) {
		/* Acquire: pairs with the peer's release store of *word,
		 * making the bytes it covers visible. */
		while (atomic_load_explicit(word, memory_order_acquire) == old) {
			rc = bench_spin(&spins);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	for (;;) {
		/* Seq_cst: ordered before the load of *word below; pairs
		 * with the seq_cst load of *waiting in wake_peer(). */
		atomic_store_explicit(waiting, 1, memory_order_seq_cst);
		/* Seq_cst (so also acquire, as in the spinning case): pairs
		 * with the seq_cst read-modify-write of *word in
		 * wake_peer(). */
		if (atomic_load_explicit(word, memory_order_seq_cst) != old)
			break;
		if (futex(word, FUTEX_WAIT, old, &tick) < 0 &&
		    (errno == EINTR || errno == ETIMEDOUT)) {
			rc = bench_check();
			if (rc < 0)
				return rc;
		}
	}
	/* Relaxed: only a hint that saves the peer a futex_wake call. */
	atomic_store_explicit(waiting, 0, memory_order_relaxed);
	return 0;
}

/* After publishing *word (release store by the caller): wake the peer if
 * it sleeps on it. */
static void
wake_peer(const struct bench_ctx *c, _Atomic uint32_t *word,
	  _Atomic uint32_t *waiting)
{
	if (!(c->mech->arg & SHM_FUTEX))
		return;
	/* Seq_cst read-modify-write that changes nothing: puts the update
	 * of *word into the seq_cst order; pairs with the seq_cst load of
	 * *word in wait_change(). */
	atomic_fetch_add_explicit(word, 0, memory_order_seq_cst);
	/* Seq_cst: after the update above in that order; pairs with the
	 * seq_cst store of *waiting in wait_change(). */
	if (atomic_load_explicit(waiting, memory_order_seq_cst))
		futex(word, FUTEX_WAKE, 1, NULL);
}

static struct ring *
ring_of(const struct bench_ctx *c, int sending)
{
	struct ring *r = c->map;
	int towards_child = (c->side == BENCH_PARENT) == sending;

	return towards_child ? &r[0] : &r[1];
}

static int
shm_send(struct bench_ctx *c, const void *buf, size_t len)
{
	struct ring *r = ring_of(c, 1);
	const unsigned char *p = buf;
	uint32_t h, t, room, off;
	size_t n;
	int rc;

	while (len > 0) {
		/* Relaxed: we are the only writer of head. */
		h = atomic_load_explicit(&r->head, memory_order_relaxed);
		/* Acquire: pairs with the consumer's release of tail in
		 * shm_recv(), so it has finished reading what we overwrite. */
		t = atomic_load_explicit(&r->tail, memory_order_acquire);
		room = RING_CAP - (h - t);
		if (room == 0) {
			rc = wait_change(c, &r->tail, t, &r->prod_waiting);
			if (rc < 0)
				return rc;
			continue;
		}
		off = h & (RING_CAP - 1);
		n = len < room ? len : room;
		if (n > RING_CAP - off)
			n = RING_CAP - off;
		memcpy(r->data + off, p, n);
		/* Release: publishes the bytes; pairs with the acquire load
		 * of head in shm_recv() / wait_change(). */
		atomic_store_explicit(&r->head, h + (uint32_t)n,
				      memory_order_release);
		wake_peer(c, &r->head, &r->cons_waiting);
		p += n;
		len -= n;
	}
	return 0;
}

static int
shm_recv(struct bench_ctx *c, void *buf, size_t len)
{
	struct ring *r = ring_of(c, 0);
	unsigned char *p = buf;
	uint32_t h, t, avail, off;
	size_t n;
	int rc;

	while (len > 0) {
		/* Relaxed: we are the only writer of tail. */
		t = atomic_load_explicit(&r->tail, memory_order_relaxed);
		/* Acquire: pairs with the producer's release of head. */
		h = atomic_load_explicit(&r->head, memory_order_acquire);
		avail = h - t;
		if (avail == 0) {
			rc = wait_change(c, &r->head, t, &r->cons_waiting);
			if (rc < 0)
				return rc;
			continue;
		}
		if (avail > RING_CAP)
			return -EBADMSG; /* a corrupt peer, not a hang */
		off = t & (RING_CAP - 1);
		n = len < avail ? len : avail;
		if (n > RING_CAP - off)
			n = RING_CAP - off;
		memcpy(p, r->data + off, n);
		/* Release: our reads are done before the producer, whose
		 * acquire load of tail pairs with this, reuses the bytes. */
		atomic_store_explicit(&r->tail, t + (uint32_t)n,
				      memory_order_release);
		wake_peer(c, &r->tail, &r->prod_waiting);
		p += n;
		len -= n;
	}
	return 0;
}

static void
shm_fini(struct bench_ctx *c)
{
	shmkit_seg_close(c->seg); /* detaches; the name is already gone */
	c->seg = NULL;
	c->map = MAP_FAILED;
}

const struct bench_ops bench_floor_ops = {
	.setup = floor_setup,
	.send = floor_send,
	.recv = floor_recv,
	.fini = floor_fini,
};

const struct bench_ops bench_shm_ops = {
	.setup = shm_setup,
	.send = shm_send,
	.recv = shm_recv,
	.fini = shm_fini,
};
