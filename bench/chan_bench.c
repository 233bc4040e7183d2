/*
 * chan_bench: the performance targets of shmkit channels (issue #5), each
 * measured against a baseline measured in the same run on the same pinned
 * pair of CPUs, and printed as target, measurement and PASS or MISS:
 *
 *  (a) 64-byte ping-pong between two processes, busy-poll handles: p50
 *      <= 1.3x and p99 <= 1.5x a raw ping-pong of one cache line;
 *  (b) zero-copy: the p50 round trip of 4 MiB messages, reserved and
 *      committed whole but written and read only in their first 64
 *      bytes, <= 1.5x that of 64-byte messages;
 *  (c) adaptive handles under a steady ping-pong: p50 <= 0.05x a pipe's;
 *      and the CPU an idle adaptive consumer burns in 1 s of silence;
 *  (d) one-way throughput of 64-byte messages >= 50 M/s and >= 50x a unix
 *      stream socket's, publishing every message and in batches
 *      (SHMKIT_CHAN_MORE); of 1 MiB messages (shmkit_chan_send(), which
 *      streams them, consumer reads every byte) >= 0.8x memcpy's
 *      bandwidth;
 *  (e) broadcast: the publisher's own CPU time per message with 1, 2, 4,
 *      8 and 16 subscribers, FULL_OVERWRITE: flat (max/min <= 1.5x).
 *      FULL_BLOCK is shown for information only: there the publisher
 *      waits for its slowest subscriber, so with the subscribers sharing
 *      one CPU its time per message is theirs, not its own cost.
 *
 * Latencies are round trips timed with CLOCK_MONOTONIC, so both sides of
 * every ratio include one clock reading; ping-pongs are repeated in
 * alternating rounds and each side keeps its best round, so that noise
 * from the rest of the machine hits both alike.
 *
 * Channels live in POSIX segments that are unlinked as soon as they are
 * formatted; the processes reach them through the inherited mapping
 * (shmkit_chan_open_seg()). Children die with the parent
 * (PR_SET_PDEATHSIG) and a watchdog alarm ends a stuck run, so nothing
 * is left behind, whatever happens.
 *
 *   chan_bench [--quick] [--only abcde]
 *
 * --quick runs about a tenth of the iterations; --only runs only the
 * sections named by their letters ((a) and (b) run together).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include <shmkit/chan.h>
#include <shmkit/error.h>
#include <shmkit/seg.h>

#include "bench_verdict.h"

#define LINE 64
#define CHAN_HDR   16 /* bytes of a channel's slot before the message */
#define ROUNDS 3
#define BIG (4u << 20)      /* (b): large message */
#define STREAM_BIG (1u << 20) /* (d): large message */
#define WATCHDOG_S 60       /* seconds any one phase may take */
#define SUBS_MAX 16

/* The shape of a run: --quick divides everything by about ten. */
static struct {
	unsigned long pings;   /* round trips per ping-pong run */
	unsigned long pipe_pings;
	double stream_s;       /* seconds per throughput run */
	unsigned long bcast;   /* messages per broadcast run */
} plan = {200000, 20000, 0.5, 1000000};

static int cpu_a = -1, cpu_b = -1;
static unsigned seg_counter;

/* Shared with the children: handshakes and results. */
struct ctl {
	_Alignas(LINE) _Atomic uint64_t ready; /* children set up */
	_Alignas(LINE) _Atomic uint64_t ack;   /* consumer: done, count */
	_Alignas(LINE) _Atomic uint32_t stop;  /* broadcast: publisher done */
	uint64_t value;                        /* a child's measurement */
	char why[200];                         /* a child's failure */
};

static struct ctl *ctl;

/* The raw floor: one cache line, a state word and the payload. */
enum { LINE_EMPTY, LINE_TO_CHILD, LINE_TO_PARENT };

struct line {
	_Atomic uint64_t state;
	uint64_t data[LINE / 8 - 1];
};
_Static_assert(sizeof(struct line) == LINE, "one cache line");

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* The first two CPUs we may run on; the parent takes the first. */
static void
choose_cpus(void)
{
	cpu_set_t set;
	int i;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	for (i = 0; i < CPU_SETSIZE && cpu_b < 0; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (cpu_a < 0)
			cpu_a = i;
		else
			cpu_b = i;
	}
	if (cpu_b < 0)
		cpu_a = -1;
	pin(cpu_a);
}

static void __attribute__((noreturn))
die(const char *what, int rc)
{
	fprintf(stderr, "chan_bench: %s: %s\n", what, shmkit_strerror(rc));
	exit(1);
}

/* In a child: record why and leave. */
static void __attribute__((noreturn))
child_fail(const char *what, int rc)
{
	snprintf(ctl->why, sizeof(ctl->why), "%s: %s", what,
		 shmkit_strerror(rc));
	_exit(1);
}

static void
check(int rc, const char *what)
{
	if (rc < 0)
		die(what, rc);
}

/*
 * A channel in a fresh POSIX segment whose name is gone before this
 * returns: the segment lives as long as a process holds it. Signals are
 * held off between create and unlink so an interrupt cannot leak it.
 */
static shmkit_seg_t *
chan_new(unsigned pattern, unsigned policy, size_t msg_max, size_t slots)
{
	shmkit_chan_opts_t co;
	shmkit_seg_opts_t so;
	shmkit_seg_t *seg = NULL;
	sigset_t all, old;
	char name[80];
	int rc;

	memset(&co, 0, sizeof(co));
	co.pattern = pattern;
	co.policy = policy;
	co.msg_max = msg_max;
	co.slots = slots;
	co.peers = pattern == SHMKIT_CHAN_BROADCAST ? SUBS_MAX + 1 : 0;
	memset(&so, 0, sizeof(so));
	so.size = shmkit_chan_size(&co);
	if (so.size == 0)
		die("shmkit_chan_size", -EINVAL);
	snprintf(name, sizeof(name), "posix:/chan-bench-%ld-%u",
		 (long)getpid(), seg_counter++);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	rc = shmkit_seg_create(&seg, name, &so);
	if (rc == 0) {
		shmkit_seg_unlink(seg);
		rc = shmkit_chan_format(seg, &co);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		shmkit_seg_close(seg);
		die(name, rc);
	}
	return seg;
}

static shmkit_chan_t *
chan_end(shmkit_seg_t *seg, unsigned flags, int in_child)
{
	shmkit_chan_t *ch;
	int rc;

	rc = shmkit_chan_open_seg(&ch, seg, flags);
	if (rc < 0) {
		if (in_child)
			child_fail("shmkit_chan_open_seg", rc);
		die("shmkit_chan_open_seg", rc);
	}
	return ch;
}

/* Fork a child pinned to cpu that dies with us. */
static pid_t
spawn(int cpu)
{
	pid_t parent = getpid(), pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork", -errno);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		pin(cpu);
	}
	return pid;
}

/* Wait for a child; a failure it reported ends the run. */
static void
reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid", -errno);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "chan_bench: child failed: %s\n",
			ctl->why[0] ? ctl->why : "killed");
		exit(1);
	}
}

static void
reset_ctl(void)
{
	memset(ctl, 0, sizeof(*ctl));
	alarm(WATCHDOG_S);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

struct lat {
	double p50, p99;
};

static struct lat
percentiles(uint64_t *s, unsigned long n)
{
	struct lat l;

	qsort(s, n, sizeof(*s), cmp_u64);
	l.p50 = (double)s[(n - 1) / 2];
	l.p99 = (double)s[(unsigned long)((double)(n - 1) * 0.99)];
	return l;
}

static void
keep_best(struct lat *best, struct lat l)
{
	if (best->p50 == 0 || l.p50 < best->p50)
		best->p50 = l.p50;
	if (best->p99 == 0 || l.p99 < best->p99)
		best->p99 = l.p99;
}

/* ---- (a) the floor: one cache line ------------------------------------ */

static struct lat
floor_pingpong(uint64_t *samples)
{
	struct line *l;
	unsigned long i, n = plan.pings;
	uint64_t t0;
	pid_t pid;
	int k;

	l = mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (l == MAP_FAILED)
		die("mmap", -errno);
	reset_ctl();
	pid = spawn(cpu_b);
	if (pid == 0) {
		for (i = 1; i <= n; i++) {
			/* Acquire: pairs with the parent's release store. */
			while (atomic_load_explicit(&l->state,
						    memory_order_acquire) !=
			       LINE_TO_CHILD)
				;
			if (l->data[0] != i)
				child_fail("floor: wrong message", -EPROTO);
			for (k = 0; k < LINE / 8 - 1; k++)
				l->data[k] = i;
			/* Release: publishes the answer; pairs with the
			 * parent's acquire load. */
			atomic_store_explicit(&l->state, LINE_TO_PARENT,
					      memory_order_release);
		}
		_exit(0);
	}
	for (i = 1; i <= n; i++) {
		t0 = now_ns();
		for (k = 0; k < LINE / 8 - 1; k++)
			l->data[k] = i;
		/* Release: publishes data; pairs with the child's acquire. */
		atomic_store_explicit(&l->state, LINE_TO_CHILD,
				      memory_order_release);
		/* Acquire: pairs with the child's release store. */
		while (atomic_load_explicit(&l->state, memory_order_acquire) !=
		       LINE_TO_PARENT)
			;
		samples[i - 1] = now_ns() - t0;
		if (l->data[0] != i)
			die("floor: wrong answer", -EPROTO);
	}
	reap(pid);
	munmap(l, sizeof(*l));
	return percentiles(samples, n);
}

/* ---- ping-pong through two channels ----------------------------------- */

/* Write touch bytes of message i at p; read them back and check. */
static void
fill(void *p, size_t touch, uint64_t i)
{
	uint64_t *w = p;
	size_t k;

	for (k = 0; k < touch / 8; k++)
		w[k] = i;
}

static int
verify(const void *p, size_t touch, uint64_t i)
{
	const uint64_t *w = p;
	uint64_t bad = 0;
	size_t k;

	for (k = 0; k < touch / 8; k++)
		bad |= w[k] ^ i;
	return bad == 0 ? 0 : -EPROTO;
}

/* Send message i of size bytes on ch, writing its first touch bytes. */
static int
put(shmkit_chan_t *ch, size_t size, size_t touch, uint64_t i)
{
	void *p;
	int rc;

	rc = shmkit_chan_reserve(ch, size, &p, NULL, 0);
	if (rc < 0)
		return rc;
	fill(p, touch, i);
	return shmkit_chan_commit(ch, size);
}

/* Receive message i of size bytes from ch, reading its first touch. */
static int
get(shmkit_chan_t *ch, size_t size, size_t touch, uint64_t i)
{
	const void *p;
	size_t len;
	int rc;

	rc = shmkit_chan_peek(ch, &p, &len, NULL, 0);
	if (rc < 0)
		return rc;
	if (rc > 0 || len != size || verify(p, touch, i) < 0) {
		shmkit_chan_release(ch);
		return -EPROTO;
	}
	return shmkit_chan_release(ch);
}

/* A ping-pong of size-byte messages through two fresh channels, both
 * ends waiting with wait (SHMKIT_CHAN_WAIT_*). */
static struct lat
chan_pingpong(uint64_t *samples, size_t size, size_t slots, unsigned wait)
{
	shmkit_seg_t *seg[2];
	shmkit_chan_t *out, *in;
	unsigned long i, n = plan.pings;
	size_t touch = size < LINE ? size : LINE;
	uint64_t t0;
	pid_t pid;
	int rc;

	seg[0] = chan_new(SHMKIT_CHAN_SPSC, 0, size, slots);
	seg[1] = chan_new(SHMKIT_CHAN_SPSC, 0, size, slots);
	reset_ctl();
	pid = spawn(cpu_b);
	if (pid == 0) {
		in = chan_end(seg[0], SHMKIT_CHAN_CONSUMER | wait, 1);
		out = chan_end(seg[1], SHMKIT_CHAN_PRODUCER | wait, 1);
		for (i = 1; i <= n; i++) {
			rc = get(in, size, touch, i);
			if (rc < 0)
				child_fail("ping-pong: receive", rc);
			rc = put(out, size, touch, i);
			if (rc < 0)
				child_fail("ping-pong: send", rc);
		}
		_exit(0);
	}
	out = chan_end(seg[0], SHMKIT_CHAN_PRODUCER | wait, 0);
	in = chan_end(seg[1], SHMKIT_CHAN_CONSUMER | wait, 0);
	for (i = 1; i <= n; i++) {
		t0 = now_ns();
		check(put(out, size, touch, i), "ping-pong: send");
		check(get(in, size, touch, i), "ping-pong: receive");
		samples[i - 1] = now_ns() - t0;
	}
	reap(pid);
	shmkit_chan_close(out);
	shmkit_chan_close(in);
	shmkit_seg_close(seg[0]);
	shmkit_seg_close(seg[1]);
	return percentiles(samples, n);
}

/* ---- (c) baseline: a pipe ping-pong ----------------------------------- */

static int
full_io(int fd, void *buf, size_t len, int writing)
{
	char *p = buf;
	ssize_t k;

	while (len > 0) {
		k = writing ? write(fd, p, len) : read(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -ECONNRESET;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

static struct lat
pipe_pingpong(uint64_t *samples)
{
	unsigned long i, n = plan.pipe_pings;
	uint64_t buf[LINE / 8], t0;
	int down[2], up[2];
	pid_t pid;

	if (pipe(down) < 0 || pipe(up) < 0)
		die("pipe", -errno);
	reset_ctl();
	pid = spawn(cpu_b);
	if (pid == 0) {
		for (i = 1; i <= n; i++) {
			if (full_io(down[0], buf, sizeof(buf), 0) < 0 ||
			    verify(buf, sizeof(buf), i) < 0)
				child_fail("pipe: receive", -EPROTO);
			fill(buf, sizeof(buf), i);
			if (full_io(up[1], buf, sizeof(buf), 1) < 0)
				child_fail("pipe: send", -EPIPE);
		}
		_exit(0);
	}
	for (i = 1; i <= n; i++) {
		t0 = now_ns();
		fill(buf, sizeof(buf), i);
		check(full_io(down[1], buf, sizeof(buf), 1), "pipe: send");
		check(full_io(up[0], buf, sizeof(buf), 0), "pipe: receive");
		samples[i - 1] = now_ns() - t0;
		check(verify(buf, sizeof(buf), i), "pipe: answer");
	}
	reap(pid);
	close(down[0]);
	close(down[1]);
	close(up[0]);
	close(up[1]);
	return percentiles(samples, n);
}

/* (c) CPU time of an idle adaptive consumer during 1 s of silence. */
static double
idle_cpu_ms(unsigned wait)
{
	shmkit_seg_t *seg = chan_new(SHMKIT_CHAN_SPSC, 0, LINE, 64);
	shmkit_chan_t *in, *out;
	struct timespec second = { 1, 0 };
	uint64_t c0;
	pid_t pid;

	reset_ctl();
	pid = spawn(cpu_b);
	if (pid == 0) {
		in = chan_end(seg, SHMKIT_CHAN_CONSUMER | wait, 1);
		/* Release: our handle is registered; pairs with the
		 * parent's acquire load. */
		atomic_store_explicit(&ctl->ready, 1, memory_order_release);
		c0 = cpu_ns();
		if (get(in, LINE, LINE, 1) < 0)
			child_fail("idle: receive", -EPROTO);
		ctl->value = cpu_ns() - c0;
		_exit(0);
	}
	out = chan_end(seg, SHMKIT_CHAN_PRODUCER, 0);
	/* Acquire: pairs with the child's release store. */
	while (atomic_load_explicit(&ctl->ready, memory_order_acquire) == 0)
		sched_yield();
	nanosleep(&second, NULL);
	check(put(out, LINE, LINE, 1), "idle: send");
	reap(pid);
	shmkit_chan_close(out);
	shmkit_seg_close(seg);
	return (double)ctl->value / 1e6;
}

/* ---- (d) one-way throughput ------------------------------------------- */

/* Sink for the consumer's reads: the compiler may not drop them. */
static volatile uint64_t sink;

/*
 * The end of a one-way stream. The producer sends for plan.stream_s
 * (stream_over()) and flags its last message; the consumer, having read
 * it, reports how many it got (stream_child_done()), which the producer
 * waits for (stream_wait()) before it stops the clock.
 */
static int
stream_over(uint64_t t0)
{
	return now_ns() - t0 > (uint64_t)(plan.stream_s * 1e9);
}

static void __attribute__((noreturn))
stream_child_done(uint64_t x, uint64_t got)
{
	sink = x; /* what the reads computed: they may not be dropped */
	/* Release: pairs with the acquire load in stream_wait(). */
	atomic_store_explicit(&ctl->ack, got, memory_order_release);
	_exit(0);
}

/* How many the consumer got; *t1 the time it said so. yield: give the
 * CPU away while waiting (a consumer that sleeps in the kernel). */
static uint64_t
stream_wait(uint64_t *t1, int yield)
{
	uint64_t got;

	/* Acquire: pairs with the release store in stream_child_done(). */
	while ((got = atomic_load_explicit(&ctl->ack, memory_order_acquire)) ==
	       0)
		if (yield)
			sched_yield();
	*t1 = now_ns();
	return got;
}

/* Read every byte of p (len, a multiple of 8) and fold it. */
static uint64_t
read_all(const void *p, size_t len)
{
	const uint64_t *w = p;
	uint64_t x = 0;
	size_t k;

	for (k = 0; k < len / 8; k++)
		x ^= w[k];
	return x;
}

/*
 * ---- diagnosis: a raw ring with the channel's layout -------------------
 *
 * Not a target's baseline: a bare single-producer single-consumer ring
 * laid out as a channel's (a 16-byte slot header then the payload, slots
 * a whole number of cache lines, one slot per message, the consumer
 * handing a slot back by writing its sequence word), with release stores
 * and nothing else: no header checks, no wake-up protocol, no
 * statistics. The distance between it and the floor is what the layout
 * costs; between the channel and it, what the channel's code costs.
 *
 * In (d) the same ring also runs with its sequence word on a line of its
 * own after the payload (hdr_after): a layout the channel might take, in
 * which the consumer polls a line the producer is not filling.
 */
struct raw_ring {
	unsigned char *mem;
	size_t stride, slots;
	size_t seq_off, pay_off; /* in a slot */
};

static _Atomic uint64_t *
raw_seq(const struct raw_ring *r, uint64_t pos)
{
	return (_Atomic uint64_t *)(void *)(r->mem +
					    (pos & (r->slots - 1)) * r->stride +
					    r->seq_off);
}

static void *
raw_payload(const struct raw_ring *r, uint64_t pos)
{
	return r->mem + (pos & (r->slots - 1)) * r->stride + r->pay_off;
}

static void
raw_new(struct raw_ring *r, size_t size, size_t slots, int hdr_after)
{
	size_t i, body = (size + LINE - 1) / LINE * LINE;

	r->stride = hdr_after ? body + LINE
			      : (CHAN_HDR + size + LINE - 1) / LINE * LINE;
	r->seq_off = hdr_after ? body : 0;
	r->pay_off = hdr_after ? 0 : CHAN_HDR;
	r->slots = slots;
	r->mem = mmap(NULL, r->stride * slots, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r->mem == MAP_FAILED)
		die("mmap", -errno);
	/* Relaxed: nobody else sees the ring before fork. Positions
	 * start at 1: slot of position i (1..slots) is free for it. */
	for (i = 1; i <= slots; i++)
		atomic_store_explicit(raw_seq(r, i), i, memory_order_relaxed);
}

static void
raw_free(struct raw_ring *r)
{
	munmap(r->mem, r->stride * r->slots);
}

/* Slot pos, once free: its payload. */
static void *
raw_reserve(const struct raw_ring *r, uint64_t pos)
{
	_Atomic uint64_t *s = raw_seq(r, pos);

	/* Acquire: pairs with the consumer's release in raw_release(). */
	while (atomic_load_explicit(s, memory_order_acquire) != pos)
		;
	return raw_payload(r, pos);
}

static void
raw_commit(const struct raw_ring *r, uint64_t pos)
{
	/* Release: publishes the payload; pairs with raw_peek(). */
	atomic_store_explicit(raw_seq(r, pos), pos + 1, memory_order_release);
}

static const void *
raw_peek(const struct raw_ring *r, uint64_t pos)
{
	_Atomic uint64_t *s = raw_seq(r, pos);

	/* Acquire: pairs with the release in raw_commit(). */
	while (atomic_load_explicit(s, memory_order_acquire) != pos + 1)
		;
	return raw_payload(r, pos);
}

static void
raw_release(const struct raw_ring *r, uint64_t pos)
{
	/* Release: our reads are done; pairs with raw_reserve(). */
	atomic_store_explicit(raw_seq(r, pos), pos + r->slots,
			      memory_order_release);
}

static struct lat
raw_pingpong(uint64_t *samples, size_t size)
{
	struct raw_ring a, b;
	unsigned long i, n = plan.pings;
	uint64_t t0;
	pid_t pid;

	raw_new(&a, size, 64, 0);
	raw_new(&b, size, 64, 0);
	reset_ctl();
	pid = spawn(cpu_b);
	if (pid == 0) {
		for (i = 1; i <= n; i++) {
			if (verify(raw_peek(&a, i), size, i) < 0)
				child_fail("raw ring: wrong message", -EPROTO);
			raw_release(&a, i);
			fill(raw_reserve(&b, i), size, i);
			raw_commit(&b, i);
		}
		_exit(0);
	}
	for (i = 1; i <= n; i++) {
		t0 = now_ns();
		fill(raw_reserve(&a, i), size, i);
		raw_commit(&a, i);
		if (verify(raw_peek(&b, i), size, i) < 0)
			die("raw ring: wrong answer", -EPROTO);
		raw_release(&b, i);
		samples[i - 1] = now_ns() - t0;
	}
	reap(pid);
	raw_free(&a);
	raw_free(&b);
	return percentiles(samples, n);
}

/*
 * A copy into a slot with streaming stores, as shmkit_chan_send() makes
 * for large messages (src/chan/chan_copy_sse2.c; a few lines again here,
 * as the bench sees only the public API). memcpy where SSE2 is missing.
 */
static void
stream_copy(void *dst, const void *src, size_t n)
{
#if defined(__x86_64__)
	unsigned char *d = dst;
	const unsigned char *s = src;
	size_t head = (size_t)(-(uintptr_t)d & 63u), k;
	__m128i x;

	head = head < n ? head : n;
	memcpy(d, s, head);
	for (d += head, s += head, n -= head; n >= 64;
	     n -= 64, d += 64, s += 64)
		for (k = 0; k < 64; k += 16) {
			memcpy(&x, s + k, 16);
			_mm_stream_si128((__m128i *)(void *)(d + k), x);
		}
	_mm_sfence(); /* before raw_commit()'s release store */
	memcpy(d, s, n);
#else
	memcpy(dst, src, n);
#endif
}

/* A word of this process's own, that local_stores() writes. */
static volatile int local_word;

/* Store to local_word n times (each assignment a store): code around a
 * publication that touches nothing shared. */
static void
local_stores(int n)
{
	int k;

	for (k = 0; k < n; k++)
		local_word = k;
}

/* One way, as chan_stream(): messages per second. copy: 0 the first
 * line written, 1 the message copied in with memcpy, 2 with
 * stream_copy(). pad: stores to a word of the producer's own per message,
 * before it publishes (local_stores()). */
static double
raw_stream(size_t size, size_t slots, int copy, int hdr_after, int pad)
{
	struct raw_ring r;
	const uint64_t *m;
	uint64_t *src = NULL, *p, i, got, t0, t1, x = 0;
	size_t touch = copy ? size : LINE;
	int last = 0;
	pid_t pid;

	raw_new(&r, size, slots, hdr_after);
	reset_ctl();
	pid = spawn(cpu_b);
	if (pid == 0) {
		for (got = 1;; got++) {
			m = raw_peek(&r, got);
			if (m[0] != got)
				child_fail("raw stream: receive", -EPROTO);
			x ^= read_all(m, touch);
			last = m[1] != 0;
			raw_release(&r, got);
			if (last)
				break;
		}
		stream_child_done(x, got);
	}
	if (copy) {
		src = malloc(size);
		if (src == NULL)
			die("malloc", -ENOMEM);
		memset(src, 0x5a, size);
	}
	t0 = now_ns();
	for (i = 1; !last; i++) {
		if ((i & 1023) == 0 && stream_over(t0))
			last = 1;
		p = raw_reserve(&r, i);
		if (copy) {
			src[0] = i;
			src[1] = (uint64_t)last;
			if (copy == 2)
				stream_copy(p, src, size);
			else
				memcpy(p, src, size);
		} else {
			fill(p, LINE, 0);
			p[0] = i;
			p[1] = (uint64_t)last;
		}
		local_stores(pad);
		raw_commit(&r, i);
	}
	got = stream_wait(&t1, 0);
	reap(pid);
	free(src);
	raw_free(&r);
	return (double)got / ((double)(t1 - t0) * 1e-9);
}

/*
 * ---- diagnosis: a ring that publishes positions in batches -------------
 *
 * Not a target's baseline either: how fast 64-byte messages can cross
 * between the two CPUs when neither side touches a line the other is
 * still writing. Slots are bare 64-byte payloads; the producer publishes
 * its position (tail) and the consumer its own (head) only every
 * `batch` messages, and before either waits. The consumer thus reads
 * lines that are finished, in runs the hardware prefetcher can follow,
 * and each position line crosses once per batch instead of once per
 * message. With batch 1 it is a classic two-index ring. The distance
 * between it and the channel is what a per-message hand-over costs.
 * With hdr 16, each message sits after 16 unused bytes in a slot of two
 * lines, as in the channel's layout, where a 64-byte message spans two
 * lines: what the channel with SHMKIT_CHAN_MORE could reach.
 */
struct batch_ring {
	_Alignas(2 * LINE) _Atomic uint64_t tail; /* producer: published */
	_Alignas(2 * LINE) _Atomic uint64_t head; /* consumer: released */
	_Alignas(2 * LINE) unsigned char slots[];
};

/* The message at position p: a line of its own (hdr 0), or hdr bytes
 * into a slot of two. */
static uint64_t *
batch_msg(struct batch_ring *r, size_t slots, size_t hdr, uint64_t p)
{
	size_t stride = hdr ? 2 * LINE : LINE;

	return (uint64_t *)(void *)(r->slots + (p & (slots - 1)) * stride +
				    hdr);
}

/* One way, as raw_stream(): 64-byte messages per second. slots and
 * batch are powers of two: a mask, not a division, on every message. */
static double
batch_stream(size_t slots, uint64_t batch, size_t hdr)
{
	size_t len = sizeof(struct batch_ring) + slots * 2 * LINE;
	struct batch_ring *r;
	uint64_t p, h, seen, freed, t0, t1, x = 0, *m;
	int last = 0;
	pid_t pid;
	unsigned k;

	r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		 -1, 0);
	if (r == MAP_FAILED)
		die("mmap", -errno);
	reset_ctl();
	pid = spawn(cpu_b);
	if (pid == 0) {
		for (h = 0, seen = 0; !last; h++) {
			if (h == seen) {
				/* Release: our reads of the slots before h are
				 * done (pairs with the producer's acquire
				 * load of head); published before we wait. */
				atomic_store_explicit(&r->head, h,
						      memory_order_release);
				/* Acquire: pairs with the release store of
				 * tail; the slots before it are written. */
				while ((seen = atomic_load_explicit(
						&r->tail,
						memory_order_acquire)) == h)
					;
			}
			m = batch_msg(r, slots, hdr, h);
			if (m[0] != h)
				child_fail("batch ring: receive", -EPROTO);
			for (k = 0; k < LINE / 8; k++)
				x ^= m[k];
			last = m[1] != 0;
			if (((h + 1) & (batch - 1)) == 0)
				/* Release: as above. */
				atomic_store_explicit(&r->head, h + 1,
						      memory_order_release);
		}
		stream_child_done(x, h);
	}
	t0 = now_ns();
	for (p = 0, freed = 0; !last; p++) {
		if ((p & 1023) == 0 && stream_over(t0))
			last = 1;
		if (p - freed >= slots) {
			/* Release: the slots before p are written (pairs
			 * with the consumer's acquire load of tail);
			 * published before we wait. */
			atomic_store_explicit(&r->tail, p,
					      memory_order_release);
			/* Acquire: pairs with the consumer's release store
			 * of head: its reads of the slot we reuse are done. */
			while (p - (freed = atomic_load_explicit(
					    &r->head, memory_order_acquire)) >=
			       slots)
				;
		}
		m = batch_msg(r, slots, hdr, p);
		for (k = 0; k < LINE / 8; k++)
			m[k] = p;
		m[1] = (uint64_t)last;
		if (((p + 1) & (batch - 1)) == 0 || last)
			/* Release: as above. */
			atomic_store_explicit(&r->tail, p + 1,
					      memory_order_release);
	}
	h = stream_wait(&t1, 0);
	reap(pid);
	munmap(r, len);
	if (h != p)
		die("batch ring: messages lost", -EPROTO);
	return (double)h / ((double)(t1 - t0) * 1e-9);
}

/*
 * ---- diagnosis: where a slot's header lives ------------------------------
 *
 * The channel's protocol for batches (src/chan/chan_queue.c, "Batches"),
 * bare: 64-byte messages in batches of 32, published by the sequence of
 * the first (flagged) and the tail; the consumer releases each slot by
 * its sequence and takes a batch's other messages by the tail. With
 * split 0 each 16-byte header sits before its message in a slot of two
 * lines, as in the channel; with split 1 the headers have an array of
 * their own (four to a line) and each message a line of its own: what
 * moving the headers out of the slots could give the channel.
 */
struct split_hdr {
	_Atomic uint64_t seq;
	uint32_t len, flags;
};

struct split_ring {
	_Alignas(2 * LINE) _Atomic uint64_t tail;
	_Alignas(2 * LINE) struct split_hdr hdrs[1024];
	_Alignas(2 * LINE) unsigned char slots[1024 * 2 * LINE];
};

static struct split_hdr *
split_hdr(struct split_ring *r, int split, uint64_t p)
{
	p &= 1023;
	return split ? &r->hdrs[p]
		     : (struct split_hdr *)(void *)(r->slots + p * 2 * LINE);
}

static uint64_t *
split_msg(struct split_ring *r, int split, uint64_t p)
{
	p &= 1023;
	return (uint64_t *)(void *)(r->slots +
				    (split ? p * LINE
					   : p * 2 * LINE + CHAN_HDR));
}

/* Publish [*pub, p): the first message's flag and sequence, then the
 * tail. */
static void
split_publish(struct split_ring *r, int split, uint64_t *pub, uint64_t p)
{
	struct split_hdr *h = split_hdr(r, split, *pub);

	if (*pub == p)
		return;
	h->flags = p - *pub > 1;
	/* Release: the messages and the flag; pairs with the consumer's
	 * acquire load of the sequence. */
	atomic_store_explicit(&h->seq, *pub + 1, memory_order_release);
	/* Release: the rest of the batch; pairs with the consumer's
	 * acquire load of the tail. */
	atomic_store_explicit(&r->tail, p, memory_order_release);
	*pub = p;
}

/* One way, as batch_stream(): 64-byte messages per second. */
static double
split_stream(int split)
{
	const uint64_t n = 1024;
	struct split_ring *r;
	struct split_hdr *h;
	uint64_t p, pub, s, seen, got, t0, t1, x = 0, *m;
	int last = 0, read_tail = 0;
	unsigned k;
	pid_t pid;

	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		die("mmap", -errno);
	reset_ctl();
	pid = spawn(cpu_b);
	if (pid == 0) {
		for (p = 0, seen = 0; !last; p++) {
			h = split_hdr(r, split, p);
			while (p >= seen) {
				/* Acquire: pairs with the release store of
				 * the sequence in split_publish(). */
				if (atomic_load_explicit(
					    &h->seq, memory_order_acquire) ==
				    p + 1) {
					read_tail = h->flags != 0;
					break;
				}
				/* Acquire: pairs with the release store of
				 * the tail. */
				if (read_tail &&
				    (seen = atomic_load_explicit(
					     &r->tail, memory_order_acquire)) >
					    p)
					read_tail = 0;
			}
			m = split_msg(r, split, p);
			if (h->len != LINE || m[0] != p)
				child_fail("split ring: receive", -EPROTO);
			for (k = 0; k < LINE / 8; k++)
				x ^= m[k];
			last = m[1] != 0;
			/* Release: our reads are done; pairs with the
			 * producer's acquire load of the sequence. */
			atomic_store_explicit(&h->seq, p + n,
					      memory_order_release);
		}
		stream_child_done(x, p);
	}
	t0 = now_ns();
	for (p = 0, pub = 0; !last; p++) {
		if ((p & 1023) == 0 && stream_over(t0))
			last = 1;
		h = split_hdr(r, split, p);
		/* Acquire: pairs with the consumer's release of the slot. A
		 * full ring: publish what is held back before waiting. */
		while ((s = atomic_load_explicit(&h->seq,
						 memory_order_acquire)) != p &&
		       !(s == 0 && p < n))
			split_publish(r, split, &pub, p);
		m = split_msg(r, split, p);
		for (k = 0; k < LINE / 8; k++)
			m[k] = p;
		m[1] = (uint64_t)last;
		h->len = LINE;
		if (p + 1 - pub >= 32 || last)
			split_publish(r, split, &pub, p + 1);
	}
	got = stream_wait(&t1, 0);
	reap(pid);
	munmap(r, sizeof(*r));
	if (got != p)
		die("split ring: messages lost", -EPROTO);
	return (double)p / ((double)(t1 - t0) * 1e-9);
}

/* split_ring as a queue of single messages, for ping-pongs: wait for the
 * slot of position p, write size bytes of message i in it, publish. */
static void
split_send(struct split_ring *r, uint64_t p, size_t size, uint64_t i)
{
	struct split_hdr *h = split_hdr(r, 1, p);
	uint64_t s;

	/* Acquire: pairs with the consumer's release of the slot. */
	while ((s = atomic_load_explicit(&h->seq, memory_order_acquire)) != p &&
	       !(s == 0 && p < 1024))
		;
	fill(split_msg(r, 1, p), size, i);
	h->len = (uint32_t)size;
	h->flags = 0;
	/* Release: the message; pairs with the acquire in split_recv(). */
	atomic_store_explicit(&h->seq, p + 1, memory_order_release);
}

/* Wait for message p, asking for its line while the header says "not
 * yet" (as the channel asks for a slot's second line), check it is
 * message i, release it. 0 or -EPROTO. */
static int
split_recv(struct split_ring *r, uint64_t p, size_t size, uint64_t i)
{
	struct split_hdr *h = split_hdr(r, 1, p);
	const uint64_t *m = split_msg(r, 1, p);
	int rc;

	/* Acquire: pairs with the release in split_send(). */
	while (atomic_load_explicit(&h->seq, memory_order_acquire) != p + 1)
		__builtin_prefetch(m, 0, 3);
	rc = h->len == size ? verify(m, size, i) : -EPROTO;
	/* Release: our reads are done; pairs with split_send(). */
	atomic_store_explicit(&h->seq, p + 1024, memory_order_release);
	return rc;
}

/* As raw_pingpong(), with the headers of split_stream(1). */
static struct lat
split_pingpong(uint64_t *samples, size_t size)
{
	struct split_ring *a, *b;
	unsigned long i, n = plan.pings;
	uint64_t t0;
	pid_t pid;

	a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || b == MAP_FAILED)
		die("mmap", -errno);
	reset_ctl();
	pid = spawn(cpu_b);
	if (pid == 0) {
		for (i = 1; i <= n; i++) {
			if (split_recv(a, i - 1, size, i) < 0)
				child_fail("split ring: wrong message",
					   -EPROTO);
			split_send(b, i - 1, size, i);
		}
		_exit(0);
	}
	for (i = 1; i <= n; i++) {
		t0 = now_ns();
		split_send(a, i - 1, size, i);
		if (split_recv(b, i - 1, size, i) < 0)
			die("split ring: wrong answer", -EPROTO);
		samples[i - 1] = now_ns() - t0;
	}
	reap(pid);
	munmap(a, sizeof(*a));
	munmap(b, sizeof(*b));
	return percentiles(samples, n);
}

/*
 * Messages of size bytes one way for plan.stream_s seconds. The producer
 * sends the whole message from a private buffer with shmkit_chan_send()
 * when copy is set, and otherwise writes the first 64 bytes of each in
 * place; the consumer reads the same. The
 * last message carries a flag; the consumer then reports how many it got
 * and the clock stops. more: the reserve flag of every message but the
 * last (SHMKIT_CHAN_MORE to publish in batches). Returns messages per
 * second.
 */
static double
chan_stream(size_t size, size_t slots, int copy, unsigned more)
{
	shmkit_seg_t *seg = chan_new(SHMKIT_CHAN_SPSC, 0, size, slots);
	shmkit_chan_t *ch;
	const void *m;
	uint64_t *src = NULL, i, got, t0, t1, x = 0;
	size_t len, touch = copy ? size : LINE;
	void *p;
	pid_t pid;
	int rc, last = 0;

	reset_ctl();
	pid = spawn(cpu_b);
	if (pid == 0) {
		ch = chan_end(seg, SHMKIT_CHAN_CONSUMER | SHMKIT_CHAN_WAIT_BUSY,
			      1);
		for (got = 1;; got++) {
			rc = shmkit_chan_peek(ch, &m, &len, NULL, 0);
			if (rc != 0 || len != size ||
			    ((const uint64_t *)m)[0] != got)
				child_fail("stream: receive", rc < 0 ? rc
								     : -EPROTO);
			x ^= read_all(m, touch);
			last = ((const uint64_t *)m)[1] != 0;
			shmkit_chan_release(ch);
			if (last)
				break;
		}
		stream_child_done(x, got);
	}
	ch = chan_end(seg, SHMKIT_CHAN_PRODUCER | SHMKIT_CHAN_WAIT_BUSY, 0);
	if (copy) {
		src = malloc(size);
		if (src == NULL)
			die("malloc", -ENOMEM);
		memset(src, 0x5a, size);
	}
	t0 = now_ns();
	for (i = 1; !last; i++) {
		if ((i & 1023) == 0 && stream_over(t0))
			last = 1;
		if (copy) {
			src[0] = i;
			src[1] = (uint64_t)last;
			check(shmkit_chan_send(ch, src, size, NULL,
					       last ? 0 : more),
			      "stream: send");
			continue;
		}
		check(shmkit_chan_reserve(ch, size, &p, NULL, last ? 0 : more),
		      "stream: reserve");
		fill(p, LINE, 0);
		((uint64_t *)p)[0] = i;
		((uint64_t *)p)[1] = (uint64_t)last;
		check(shmkit_chan_commit(ch, size), "stream: commit");
	}
	got = stream_wait(&t1, 0);
	reap(pid);
	if (got != i - 1)
		die("stream: messages lost", -EPROTO);
	free(src);
	shmkit_chan_close(ch);
	shmkit_seg_close(seg);
	return (double)got / ((double)(t1 - t0) * 1e-9);
}

/* The same through a unix stream socket: one write(2) per message and a
 * read(2) of exactly one message at a time. */
static double
socket_stream(size_t size)
{
	uint64_t buf[LINE / 8], i, got, t0, t1;
	int sv[2], last = 0;
	pid_t pid;

	if (size != sizeof(buf))
		die("socket_stream", -EINVAL);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair", -errno);
	reset_ctl();
	pid = spawn(cpu_b);
	if (pid == 0) {
		close(sv[0]);
		for (got = 1;; got++) {
			if (full_io(sv[1], buf, sizeof(buf), 0) < 0 ||
			    buf[0] != got)
				child_fail("socket: receive", -EPROTO);
			if (buf[1] != 0)
				break;
		}
		stream_child_done(0, got);
	}
	close(sv[1]);
	memset(buf, 0, sizeof(buf));
	t0 = now_ns();
	for (i = 1; !last; i++) {
		if ((i & 63) == 0 && stream_over(t0))
			last = 1;
		buf[0] = i;
		buf[1] = (uint64_t)last;
		check(full_io(sv[0], buf, sizeof(buf), 1), "socket: send");
	}
	got = stream_wait(&t1, 1);
	reap(pid);
	close(sv[0]);
	return (double)got / ((double)(t1 - t0) * 1e-9);
}

/* memcpy of size bytes in this process: bytes per second. */
static double
memcpy_rate(size_t size)
{
	unsigned char *src = malloc(size), *dst = malloc(size);
	uint64_t t0, t, n = 0;

	if (src == NULL || dst == NULL)
		die("malloc", -ENOMEM);
	memset(src, 0x5a, size);
	memset(dst, 0xa5, size);
	t0 = now_ns();
	do {
		memcpy(dst, src, size);
		/* Keep the copy: the compiler may not drop it. */
		__asm__ __volatile__("" : : "r"(dst) : "memory");
		n++;
		t = now_ns() - t0;
	} while (t < (uint64_t)(plan.stream_s * 1e9));
	if (memcmp(dst, src, size) != 0)
		die("memcpy", -EPROTO);
	free(src);
	free(dst);
	return (double)n * (double)size / ((double)t * 1e-9);
}

/* ---- (e) broadcast ----------------------------------------------------- */

struct bcast {
	double cpu_ns; /* publisher CPU per message */
	double wall_ns; /* publisher wall time per message */
	uint64_t lost;  /* messages subscribers lost, all together */
};

static struct bcast
broadcast(unsigned policy, int subs)
{
	shmkit_seg_t *seg = chan_new(SHMKIT_CHAN_BROADCAST, policy, LINE, 1024);
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	shmkit_chan_t *ch;
	struct bcast b;
	const void *m;
	uint64_t i, n = plan.bcast, got, lost, t0, c0;
	pid_t pids[SUBS_MAX];
	size_t len;
	int k, rc;

	reset_ctl();
	for (k = 0; k < subs; k++) {
		pids[k] = spawn(cpu_b);
		if (pids[k] != 0)
			continue;
		ch = chan_end(seg, SHMKIT_CHAN_CONSUMER, 1);
		/* Release: our place is taken; pairs with the publisher's
		 * acquire load. */
		atomic_fetch_add_explicit(&ctl->ready, 1, memory_order_release);
		for (got = lost = 0;;) {
			rc = shmkit_chan_peek(ch, &m, &len, &tick, 0);
			if (rc == -ETIMEDOUT) {
				/* Acquire: pairs with the publisher's
				 * release store once it is done. */
				if (atomic_load_explicit(&ctl->stop,
							 memory_order_acquire))
					break;
				continue;
			}
			if (rc < 0 || len != LINE)
				child_fail("broadcast: receive",
					   rc < 0 ? rc : -EPROTO);
			lost += (uint64_t)rc;
			got = ((const uint64_t *)m)[0];
			if (shmkit_chan_release(ch) == -ESTALE)
				lost++;
			if (got == n)
				break;
		}
		/* Relaxed: summed by the parent after waitpid(). */
		atomic_fetch_add_explicit(&ctl->ack, lost, memory_order_relaxed);
		_exit(0);
	}
	ch = chan_end(seg, SHMKIT_CHAN_PRODUCER, 0);
	/* Acquire: pairs with each subscriber's release increment. */
	while (atomic_load_explicit(&ctl->ready, memory_order_acquire) <
	       (uint64_t)subs)
		sched_yield();
	t0 = now_ns();
	c0 = cpu_ns();
	for (i = 1; i <= n; i++)
		check(put(ch, LINE, LINE, i), "broadcast: publish");
	b.cpu_ns = (double)(cpu_ns() - c0) / (double)n;
	b.wall_ns = (double)(now_ns() - t0) / (double)n;
	/* Release: subscribers that missed the last message stop on their
	 * next timeout; pairs with their acquire load. */
	atomic_store_explicit(&ctl->stop, 1, memory_order_release);
	for (k = 0; k < subs; k++)
		reap(pids[k]);
	b.lost = atomic_load_explicit(&ctl->ack, memory_order_relaxed);
	shmkit_chan_close(ch);
	shmkit_seg_close(seg);
	return b;
}

/* ---- report ------------------------------------------------------------ */

static void
section_a_b(uint64_t *samples)
{
	struct lat fl = { 0, 0 }, ch = { 0, 0 }, big = { 0, 0 };
	struct lat raw = { 0, 0 }, raw48 = { 0, 0 }, ch48 = { 0, 0 };
	struct lat split = {0, 0}, split48 = {0, 0};
	int r;

	for (r = 0; r < ROUNDS; r++) {
		keep_best(&fl, floor_pingpong(samples));
		keep_best(&raw, raw_pingpong(samples, LINE));
		keep_best(&raw48, raw_pingpong(samples, 48));
		keep_best(&split, split_pingpong(samples, LINE));
		keep_best(&split48, split_pingpong(samples, 48));
		keep_best(&ch48, chan_pingpong(samples, 48, 64,
					       SHMKIT_CHAN_WAIT_BUSY));
		keep_best(&ch, chan_pingpong(samples, LINE, 64,
					     SHMKIT_CHAN_WAIT_BUSY));
		keep_best(&big, chan_pingpong(samples, BIG, 4,
					      SHMKIT_CHAN_WAIT_BUSY));
	}
	printf("(a) 64-byte ping-pong, busy-poll, round trip (best of %d "
	       "runs of %lu)\n", ROUNDS, plan.pings);
	printf("    floor (one cache line): p50 %.0f ns, p99 %.0f ns\n",
	       fl.p50, fl.p99);
	printf("    channel:                p50 %.0f ns, p99 %.0f ns\n",
	       ch.p50, ch.p99);
	bench_verdict("p50 channel / floor", ch.p50 / fl.p50, 1, 1.3);
	bench_verdict("p99 channel / floor", ch.p99 / fl.p99, 1, 1.5);
	printf("    diagnosis: raw ring with the channel's layout, 64 B: p50 "
	       "%.0f ns (%.2fx floor),\n      48 B: p50 %.0f ns; channel "
	       "48 B: p50 %.0f ns (%.2fx floor)\n", raw.p50,
	       raw.p50 / fl.p50, raw48.p50, ch48.p50, ch48.p50 / fl.p50);
	printf("      headers in an array of their own (as in (d)): 64 B p50 "
	       "%.0f ns, p99 %.0f ns,\n      48 B p50 %.0f ns (%.2fx and "
	       "%.2fx the channel's)\n",
	       split.p50, split.p99, split48.p50, split.p50 / ch.p50,
	       split48.p50 / ch48.p50);
	printf("(b) zero-copy: 4 MiB messages, 64 bytes touched, busy-poll\n");
	printf("    4 MiB: p50 %.0f ns, p99 %.0f ns; 64 B: p50 %.0f ns\n",
	       big.p50, big.p99, ch.p50);
	bench_verdict("p50 4 MiB / p50 64 B", big.p50 / ch.p50, 1, 1.5);
}

static void
section_c(uint64_t *samples)
{
	struct lat ad = { 0, 0 }, pi = { 0, 0 };
	double idle;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		keep_best(&pi, pipe_pingpong(samples));
		keep_best(&ad, chan_pingpong(samples, LINE, 64,
					     SHMKIT_CHAN_WAIT_ADAPTIVE));
	}
	idle = idle_cpu_ms(SHMKIT_CHAN_WAIT_ADAPTIVE);
	printf("(c) adaptive waiting, 64-byte ping-pong (best of %d)\n",
	       ROUNDS);
	printf("    pipe: p50 %.0f ns, p99 %.0f ns; adaptive channel: p50 "
	       "%.0f ns, p99 %.0f ns\n", pi.p50, pi.p99, ad.p50, ad.p99);
	bench_verdict("p50 adaptive channel / pipe", ad.p50 / pi.p50, 1, 0.05);
	printf("    idle adaptive consumer, 1 s of silence: %.3f ms of CPU "
	       "(%.2f%% of a core; busy-poll: 100%%)\n", idle, idle / 10);
}

static void
section_d(void)
{
	double ch, chmore, so, big, mc, raw, rawafter, rawbig, rawnt, batch1;
	double batch32;
	double batch32hdr, split0, split1, chsend, rawpad[2];

	ch = chan_stream(LINE, 1024, 0, 0);
	chmore = chan_stream(LINE, 1024, 0, SHMKIT_CHAN_MORE);
	so = socket_stream(LINE);
	chsend = chan_stream(LINE, 1024, 1, 0);
	raw = raw_stream(LINE, 1024, 0, 0, 0);
	rawpad[0] = raw_stream(LINE, 1024, 0, 0, 4);
	rawpad[1] = raw_stream(LINE, 1024, 0, 0, 20);
	rawafter = raw_stream(LINE, 1024, 0, 1, 0);
	batch1 = batch_stream(1024, 1, 0);
	batch32 = batch_stream(1024, 32, 0);
	batch32hdr = batch_stream(1024, 32, CHAN_HDR);
	split0 = split_stream(0);
	split1 = split_stream(1);
	big = chan_stream(STREAM_BIG, 8, 1, 0) * STREAM_BIG;
	mc = memcpy_rate(STREAM_BIG);
	rawbig = raw_stream(STREAM_BIG, 8, 1, 0, 0) * STREAM_BIG;
	rawnt = raw_stream(STREAM_BIG, 8, 2, 0, 0) * STREAM_BIG;
	printf("(d) one-way throughput, busy-poll, %.2f s per run\n",
	       plan.stream_s);
	printf("    64 B: channel %.2f M msgs/s publishing every message, "
	       "%.2f M msgs/s with\n      SHMKIT_CHAN_MORE (batches of %u); "
	       "unix stream socket %.3f M msgs/s\n",
	       ch / 1e6, chmore / 1e6, 32u, so / 1e6);
	bench_verdict("64 B channel, M msgs/s", ch / 1e6, 0, 50);
	bench_verdict("64 B channel / unix stream socket", ch / so, 0, 50);
	bench_verdict("64 B channel, MORE, M msgs/s", chmore / 1e6, 0, 50);
	bench_verdict("64 B channel, MORE / unix socket", chmore / so, 0, 50);
	printf("    1 MiB: channel %.2f GB/s (shmkit_chan_send in, read every "
	       "byte), memcpy %.2f GB/s\n",
	       big / 1e9, mc / 1e9);
	bench_verdict("1 MiB channel / memcpy bandwidth", big / mc, 0, 0.8);
	printf("    diagnosis: raw ring with the channel's layout: 64 B %.2f M "
	       "msgs/s (channel %.2fx),\n      1 MiB %.2f GB/s with memcpy in "
	       "(channel %.2fx: its send streams\n      messages past the "
	       "producer's caches), %.2f GB/s with streaming stores\n      "
	       "(%.2fx memcpy; channel %.2fx)\n",
	       raw / 1e6, ch / raw, rawbig / 1e9, big / rawbig, rawnt / 1e9,
	       rawnt / mc, big / rawnt);
	printf("      64 B copied in by shmkit_chan_send instead of written in "
	       "place: %.2f M msgs/s\n      (%.2fx); the raw ring with 4 or "
	       "20 stores to a word of its own before\n      each publication: "
	       "%.2f and %.2f M msgs/s (%.2fx and %.2fx): where\n      these "
	       "move, rates of one publication per message follow the "
	       "CPU's\n      handling of the code around them, not the "
	       "layout\n",
	       chsend / 1e6, chsend / ch, rawpad[0] / 1e6, rawpad[1] / 1e6,
	       rawpad[0] / raw, rawpad[1] / raw);
	printf("      the same ring with its sequence on a line after the "
	       "payload: 64 B %.2f M msgs/s\n      (%.2fx the channel's "
	       "layout)\n",
	       rawafter / 1e6, rawafter / raw);
	printf("      two positions, no per-slot word: published every message "
	       "%.2f M msgs/s,\n      every 32 messages %.2f M msgs/s "
	       "(%.2fx the channel with SHMKIT_CHAN_MORE);\n      the same "
	       "with each message %d bytes into a slot of two lines, as in the "
	       "channel:\n      %.2f M msgs/s (%.2fx the channel with "
	       "SHMKIT_CHAN_MORE)\n",
	       batch1 / 1e6, batch32 / 1e6, batch32 / chmore, CHAN_HDR,
	       batch32hdr / 1e6, batch32hdr / chmore);
	printf("      the channel's protocol for batches, bare: headers in the "
	       "slots %.2f M msgs/s\n      (%.2fx the channel with "
	       "SHMKIT_CHAN_MORE); headers in an array of their own,\n      "
	       "each message a line of its own: %.2f M msgs/s (%.2fx)\n",
	       split0 / 1e6, split0 / chmore, split1 / 1e6, split1 / split0);
}

static int
cmp_bcast(const void *a, const void *b)
{
	double x = ((const struct bcast *)a)->cpu_ns;
	double y = ((const struct bcast *)b)->cpu_ns;

	return (x > y) - (x < y);
}

#define BCAST_RUNS_MAX 5

/* One row of (e): runs runs of policy for each subscriber count, keeping
 * each count's run of median publisher CPU time (the cost depends on
 * what the subscribers happen to do, sleeping or lagging, so single runs
 * stray both ways). The counts take turns, run after run, so that a
 * change in the machine's speed (this VM has several) hits them alike
 * rather than the counts measured while it lasted. */
static void
bcast_row(unsigned policy, int runs, double *lo, double *hi)
{
	static const int counts[5] = { 1, 2, 4, 8, 16 };
	struct bcast b[5], x[5][BCAST_RUNS_MAX];
	int k, r;

	*lo = 1e300;
	*hi = 0;
	printf("    %-9s  subscribers:", shmkit_chan_policy_name(policy));
	for (k = 0; k < 5; k++)
		printf(" %9d", counts[k]);
	printf("\n    %-9s  cpu ns/msg: ", "");
	fflush(stdout);
	for (r = 0; r < runs; r++)
		for (k = 0; k < 5; k++)
			x[k][r] = broadcast(policy, counts[k]);
	for (k = 0; k < 5; k++) {
		qsort(x[k], (size_t)runs, sizeof(x[k][0]), cmp_bcast);
		b[k] = x[k][runs / 2];
		printf(" %9.1f", b[k].cpu_ns);
		*lo = b[k].cpu_ns < *lo ? b[k].cpu_ns : *lo;
		*hi = b[k].cpu_ns > *hi ? b[k].cpu_ns : *hi;
	}
	printf("\n    %-9s  wall ns/msg:", "");
	for (k = 0; k < 5; k++)
		printf(" %9.1f", b[k].wall_ns);
	printf("\n    %-9s  lost:       ", "");
	for (k = 0; k < 5; k++)
		printf(" %9llu", (unsigned long long)b[k].lost);
	printf("\n");
}

static void
section_e(void)
{
	double lo, hi;

	printf("(e) broadcast, 64-byte messages, %lu per run, publisher on "
	       "its own CPU,\n    subscribers (adaptive) sharing the other; "
	       "publisher CPU time (its thread's\n    clock) and wall time "
	       "per message\n", plan.bcast);
	bcast_row(SHMKIT_CHAN_FULL_OVERWRITE, BCAST_RUNS_MAX, &lo, &hi);
	printf("    (median of %d runs per count; the publisher never waits)\n",
	       BCAST_RUNS_MAX);
	bench_verdict("overwrite: publisher cpu ns/msg max/min", hi / lo, 1,
		      1.5);
	bcast_row(SHMKIT_CHAN_FULL_BLOCK, 1, &lo, &hi);
	printf("    information, not a target: a blocking publisher waits for "
	       "its slowest\n    subscriber, and these share one CPU, so "
	       "its time per message (spinning,\n    then sleeping) grows "
	       "with their number: it measures their throughput\n    "
	       "(max/min %.3g)\n", hi / lo);
}

int
main(int argc, char **argv)
{
	const char *only = "abcde";
	uint64_t *samples;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
			only = argv[++i];
		} else if (strcmp(argv[i], "--quick") == 0) {
			plan.pings = 20000;
			plan.pipe_pings = 2000;
			plan.stream_s = 0.1;
			plan.bcast = 100000;
		} else {
			fprintf(stderr, "usage: %s [--quick] [--only abcde]\n",
				argv[0]);
			return 2;
		}
	}
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	samples = calloc(plan.pings, sizeof(*samples));
	if (ctl == MAP_FAILED || samples == NULL)
		die("memory", -ENOMEM);
	choose_cpus();
	if (cpu_a < 0)
		printf("chan_bench: fewer than 2 CPUs: not pinned, busy-poll "
		       "numbers mean little\n");
	else
		printf("chan_bench: processes pinned to CPUs %d and %d%s\n",
		       cpu_a, cpu_b, plan.pings < 200000 ? " (--quick)" : "");
	if (strchr(only, 'a') != NULL || strchr(only, 'b') != NULL)
		section_a_b(samples);
	if (strchr(only, 'c') != NULL)
		section_c(samples);
	if (strchr(only, 'd') != NULL)
		section_d();
	if (strchr(only, 'e') != NULL)
		section_e();
	alarm(0);
	printf("%d target%s missed\n", bench_misses,
	       bench_misses == 1 ? "" : "s");
	free(samples);
	return 0;
}
