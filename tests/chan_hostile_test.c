/*
 * Channels against a hostile peer: another process maps the channel's
 * segment raw (shmkit_seg_open + attach, not the channel API) and
 * scribbles seeded random values over the object header, the control
 * area, the slot headers, or anywhere, while and before a victim process
 * uses the channel with short timeouts. Every call must return an
 * allowed value (success, -EAGAIN, -ETIMEDOUT, SHMKIT_ECORRUPT, ...):
 * never a crash (CI runs this under ASan), never a hang (each call is
 * timed, each process bounded by alarm()). Once a call said the channel
 * is corrupt, it is marked broken and every data call on every handle
 * says SHMKIT_ECORRUPT at once.
 *
 * The layout is not assumed: the parent finds where message payloads lie
 * by sending marked messages and searching the raw segment for them;
 * the bytes between payloads are the slot headers, those before the
 * first payload (after the 64-byte object header) and after the last the
 * control area and peer table; and the words outside the payloads that
 * change while peers work (positions, slot states, lengths, wake words,
 * peer entries) are the "hot words". A failing round prints its seed.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <shmkit/chan.h>
#include <shmkit/obj.h>

#include "chan_check.h"
#include "shmkit_test.h"

#define H_SLOTS 8
#define H_MAX	64
#define MAXR	64 /* ranges per region */

enum region { R_HEADER, R_CONTROL, R_SLOTS, R_HOT, R_ANY, R_COUNT };

static const char *const region_name[R_COUNT] = {
	"header", "control", "slot headers", "hot words", "anywhere"};

struct range {
	size_t off, len;
};

/* Where things lie in a channel of one configuration. */
struct layout {
	size_t size;
	struct range r[R_COUNT][MAXR];
	unsigned n[R_COUNT];
};

/* The configurations the rounds cycle through. */
struct conf {
	unsigned pattern, policy;
};

static const struct conf confs[] = {
	{SHMKIT_CHAN_SPSC, SHMKIT_CHAN_FULL_BLOCK},
	{SHMKIT_CHAN_MPMC, SHMKIT_CHAN_FULL_BLOCK},
	{SHMKIT_CHAN_BROADCAST, SHMKIT_CHAN_FULL_BLOCK},
	{SHMKIT_CHAN_BROADCAST, SHMKIT_CHAN_FULL_OVERWRITE},
};

#define NCONF (sizeof(confs) / sizeof(confs[0]))

static struct layout lay[NCONF];
static char addr[NAMELEN];

/* What the victim saw; in an anonymous shared mapping. */
struct verdict {
	_Atomic int bad_rc; /* a value outside the allowed set */
	_Atomic int bad_line;
	_Atomic int corrupt;	 /* some call said SHMKIT_ECORRUPT */
	_Atomic int stop;	 /* the concurrent hostile is done */
	_Atomic uint32_t joined; /* the sleeper is registered */
	_Atomic uint64_t calls;
	_Atomic uint64_t corrupts;
	_Atomic uint64_t max_ns; /* longest call */
};

static struct verdict *vd;

static void
make(const struct conf *c)
{
	shmkit_chan_opts_t o = {
		.pattern = c->pattern,
		.policy = c->policy,
		.slots = H_SLOTS,
		.msg_max = H_MAX,
		/* A small peer table, so that most writes into the control
		 * area hit something in use (the victim needs 3 places). */
		.peers = c->pattern == SHMKIT_CHAN_SPSC ? 0 : 4,
	};

	seg_name(addr, "posix");
	SHMKIT_ASSERT_OK(shmkit_chan_create(addr, &o));
}

static void
unmake(void)
{
	SHMKIT_ASSERT_OK(shmkit_seg_unlink_address(addr));
}

/* Map the channel's segment raw, as a hostile process would. */
static unsigned char *
raw_map(shmkit_seg_t **seg, size_t *size)
{
	SHMKIT_ASSERT_OK(shmkit_seg_open(seg, addr, NULL));
	*size = shmkit_seg_size(*seg);
	return seg_map(*seg, 0);
}

static void
marker(unsigned char *buf, unsigned i)
{
	memset(buf, 0xc5, H_MAX);
	memcpy(buf, "SKMK", 4);
	memcpy(buf + 4, &i, sizeof(i));
}

/* Note in hot[] the bytes that differ between the segment and snap,
 * then take a new snapshot. */
static void
snap_diff(const unsigned char *base, unsigned char *snap, unsigned char *hot,
	  size_t size)
{
	size_t i;

	for (i = 0; i < size; i++)
		hot[i] |= base[i] != snap[i];
	memcpy(snap, base, size);
}

/* Append [off, off + len) to region reg, merging with the last range. */
static void
add_range(struct layout *l, enum region reg, size_t off, size_t len)
{
	unsigned n = l->n[reg];

	if (n > 0 && l->r[reg][n - 1].off + l->r[reg][n - 1].len == off) {
		l->r[reg][n - 1].len += len;
		return;
	}
	if (n < MAXR) {
		l->r[reg][n] = (struct range){off, len};
		l->n[reg]++;
	}
}

/*
 * Learn the layout of configuration k. Marked messages show where the
 * payloads lie; snapshots of the raw segment taken while peers send,
 * receive, hold, reserve and leave show which words outside the payloads
 * change: positions, slot states and lengths, wake words, peer entries.
 */
static void
discover(unsigned k)
{
	struct layout *l = &lay[k];
	size_t p[H_SLOTS], first, last, stride = 0, gap = 0, size, i, w;
	shmkit_chan_t *prod = NULL, *cons = NULL, *c2 = NULL;
	unsigned char buf[H_MAX], *base, *snap, *hot;
	struct timespec t5 = ms_ts(5);
	const void *m;
	shmkit_seg_t *seg;
	unsigned j, found = 0, nhot = 0;
	size_t len;
	void *r;

	make(&confs[k]);
	base = raw_map(&seg, &size);
	snap = malloc(size);
	hot = calloc(size, 1);
	SHMKIT_ASSERT(snap != NULL && hot != NULL);
	memcpy(snap, base, size);
	SHMKIT_ASSERT_OK(shmkit_chan_open(&cons, addr, SHMKIT_CHAN_CONSUMER));
	SHMKIT_ASSERT_OK(shmkit_chan_open(&prod, addr, SHMKIT_CHAN_PRODUCER));
	snap_diff(base, snap, hot, size);
	for (j = 0; j < H_SLOTS; j++) {
		marker(buf, j);
		SHMKIT_ASSERT_EQ(shmkit_chan_send(prod, buf, H_MAX - j, NULL,
						  SHMKIT_CHAN_NONBLOCK),
				 0);
	}
	for (j = 0; j < H_SLOTS; j++) {
		unsigned char *mk;

		marker(buf, j);
		mk = memmem(base, size, buf, 8);
		if (mk != NULL) {
			p[j] = (size_t)(mk - base);
			found++;
		}
	}
	snap_diff(base, snap, hot, size);
	for (j = 0; j < 5; j++)
		SHMKIT_ASSERT_OK(
			shmkit_chan_recv(cons, buf, sizeof(buf), &len, &t5, 0));
	snap_diff(base, snap, hot, size);
	for (j = 0; j < 3; j++)
		SHMKIT_ASSERT_EQ(shmkit_chan_send(prod, buf, 1 + j, &t5, 0), 0);
	snap_diff(base, snap, hot, size);
	SHMKIT_ASSERT_OK(shmkit_chan_peek(cons, &m, &len, &t5, 0));
	SHMKIT_ASSERT_EQ(shmkit_chan_reserve(prod, H_MAX, &r, &t5, 0), 0);
	snap_diff(base, snap, hot, size);
	SHMKIT_ASSERT_EQ(shmkit_chan_commit(prod, 7), 0);
	SHMKIT_ASSERT_OK(shmkit_chan_release(cons));
	snap_diff(base, snap, hot, size);
	if (confs[k].pattern != SHMKIT_CHAN_SPSC)
		SHMKIT_ASSERT_OK(
			shmkit_chan_open(&c2, addr, SHMKIT_CHAN_CONSUMER));
	SHMKIT_ASSERT_EQ(shmkit_chan_close(c2), 0);
	snap_diff(base, snap, hot, size);

	memset(l, 0, sizeof(*l));
	l->size = size;
	add_range(l, R_HEADER, 0, SHMKIT_OBJ_HDR_SIZE);
	add_range(l, R_ANY, 0, size);
	if (found < H_SLOTS) {
		/* Payloads not found: all but the object header is control,
		 * and slot headers are not told apart. */
		add_range(l, R_CONTROL, 64, size - 64);
		add_range(l, R_SLOTS, 64, size - 64);
		fprintf(stderr, "%s: found %u of %u payloads\n",
			shmkit_chan_pattern_name(confs[k].pattern), found,
			H_SLOTS);
		first = last = size;
	} else {
		first = last = p[0];
		for (j = 1; j < H_SLOTS; j++) {
			first = p[j] < first ? p[j] : first;
			last = p[j] > last ? p[j] : last;
		}
		stride = (last - first) / (H_SLOTS - 1);
		if (stride > H_MAX)
			gap = stride - H_MAX;
		if (gap > 256)
			gap = 256;
		if (first < 64 + gap)
			gap = 0;
		add_range(l, R_CONTROL, 64, first - gap - 64);
		if (last + H_MAX < size)
			add_range(l, R_CONTROL, last + H_MAX,
				  size - last - H_MAX);
		/* Slot headers: the words between payloads that changed,
		 * or, if none did, all of them. */
		for (j = 0; j < H_SLOTS && gap > 0; j++) {
			unsigned before = l->n[R_SLOTS];

			for (w = (p[j] - gap) & ~(size_t)7; w < p[j]; w += 8) {
				for (i = w; i < w + 8 && !hot[i]; i++)
					;
				if (i < w + 8)
					add_range(l, R_SLOTS, w, 8);
			}
			if (l->n[R_SLOTS] == before)
				add_range(l, R_SLOTS, p[j] - gap, gap);
		}
		if (gap == 0)
			add_range(l, R_SLOTS, 64, first - 64);
	}
	/* Hot words: every word outside the payloads that changed. */
	for (w = 64; w + 8 <= size; w += 8) {
		int in_payload = 0;

		for (j = 0; j < H_SLOTS && found == H_SLOTS; j++)
			in_payload |= w + 8 > p[j] && w < p[j] + H_MAX;
		for (i = w; i < w + 8 && !hot[i]; i++)
			;
		if (!in_payload && i < w + 8) {
			add_range(l, R_HOT, w, 8);
			nhot++;
		}
	}
	if (l->n[R_HOT] == 0)
		add_range(l, R_HOT, 64, size - 64);
	fprintf(stderr,
		"%s/%s: %zu bytes, payloads %zu..%zu stride %zu, gap %zu, "
		"%u slot header ranges, %u hot words in %u ranges\n",
		shmkit_chan_pattern_name(confs[k].pattern),
		shmkit_chan_policy_name(confs[k].policy), size, first, last,
		stride, gap, l->n[R_SLOTS], nhot, l->n[R_HOT]);
	free(snap);
	free(hot);
	SHMKIT_ASSERT_OK(shmkit_seg_close(seg));
	SHMKIT_ASSERT_EQ(shmkit_chan_close(prod), 0);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(cons), 0);
	unmake();
}

/* ---- the hostile peer ---- */

/* One seeded random write into region reg of the raw mapping. */
static void
scribble_one(unsigned char *base, const struct layout *l, enum region reg,
	     unsigned *seed, pid_t victim)
{
	const struct range *r = &l->r[reg][(unsigned)rand_r(seed) % l->n[reg]];
	size_t off;
	uint64_t v, cur;
	unsigned kind = (unsigned)rand_r(seed) % 5;

	if (r->len == 0)
		return;
	off = r->off + (size_t)rand_r(seed) % r->len;
	switch (kind) {
	case 0: /* a random byte */
		base[off] = (unsigned char)rand_r(seed);
		return;
	case 1: { /* a run of 0x00 or 0xff */
		size_t n = 1 + (size_t)rand_r(seed) % 16;

		if (n > r->off + r->len - off)
			n = r->off + r->len - off;
		memset(base + off, rand_r(seed) & 1 ? 0xff : 0, n);
		return;
	}
	default:
		break;
	}
	/* An aligned word with a value that looks almost right. */
	off &= ~(size_t)(kind == 2 ? 3 : 7);
	if (off < r->off || off + 8 > l->size)
		return;
	memcpy(&cur, base + off, 8);
	{
		const uint64_t cand[] = {
			0,
			~(uint64_t)0,
			cur + 1,
			cur - 1,
			cur + H_SLOTS,
			cur ^ ((uint64_t)1 << (rand_r(seed) % 64)),
			H_MAX + 1 + (uint64_t)(rand_r(seed) % 4),
			(uint64_t)victim,
			0x7fffffffu,
			0x80000000u,
			(uint64_t)1 << 63,
			((uint64_t)(unsigned)rand_r(seed) << 32) ^
				(unsigned)rand_r(seed),
		};

		v = cand[(unsigned)rand_r(seed) % (sizeof(cand) / 8)];
	}
	if (kind == 2) {
		uint32_t w = (uint32_t)v;

		memcpy(base + off, &w, 4);
	} else {
		memcpy(base + off, &v, 8);
	}
}

struct attack {
	unsigned conf;
	enum region reg;
	unsigned seed;
	unsigned writes; /* rounds: how many writes; 0 = until stop */
	pid_t victim;
};

static void
hostile(void *arg)
{
	const struct attack *a = arg;
	unsigned seed = a->seed * 2654435761u + 1;
	shmkit_seg_t *seg;
	unsigned char *base;
	size_t size;
	unsigned i;

	child_bound(20);
	base = raw_map(&seg, &size);
	SHMKIT_ASSERT_EQ(size, lay[a->conf].size);
	if (a->writes > 0) {
		for (i = 0; i < a->writes; i++)
			scribble_one(base, &lay[a->conf], a->reg, &seed,
				     a->victim);
	} else {
		uint64_t end = now_ns() + 500000000u;

		while (now_ns() < end) {
			enum region reg = (enum region)(
				(unsigned)rand_r(&seed) % R_COUNT);

			scribble_one(base, &lay[a->conf], reg, &seed,
				     a->victim);
			sleep_us((unsigned)rand_r(&seed) % 300);
		}
		atomic_store(&vd->stop, 1);
	}
	SHMKIT_ASSERT_OK(shmkit_seg_close(seg));
}

/* ---- the victim ---- */

#define OK_VAL	0x01u /* >= 0 */
#define AGAIN	0x02u
#define TIMEOUT 0x04u
#define CORRUPT 0x08u
#define STALE	0x10u
#define OPENERR 0x20u /* SHMKIT_ENOTOBJ, _EVERSION, _EABI, -EBUSY, -EUSERS */

static int
allowed(int rc, unsigned mask)
{
	if (rc >= 0)
		return (mask & OK_VAL) != 0;
	switch (rc) {
	case -EAGAIN:
		return (mask & AGAIN) != 0;
	case -ETIMEDOUT:
		return (mask & TIMEOUT) != 0;
	case SHMKIT_ECORRUPT:
		return (mask & CORRUPT) != 0;
	case -ESTALE:
		return (mask & STALE) != 0;
	case SHMKIT_ENOTOBJ:
	case SHMKIT_EVERSION:
	case SHMKIT_EABI:
	case -EBUSY:
	case -EUSERS:
		return (mask & OPENERR) != 0;
	default:
		return 0;
	}
}

/* Run one call: time it, check its value, note corruption. A call on
 * an open handle that says corrupt counts as the channel being found
 * corrupt (open and inspect only look, and may not mark it). */
static uint64_t call_t0;
static int call_rc;

#define CALL(expr, mask, marks)                                                \
	(call_t0 = now_ns(), call_rc = (expr), victim_time(call_t0),           \
	 victim_check(__LINE__, #expr, call_rc, (mask), (marks)))

static void
victim_time(uint64_t t0)
{
	uint64_t d = now_ns() - t0;

	if (d > atomic_load(&vd->max_ns))
		atomic_store(&vd->max_ns, d);
	/* Each call has a timeout of at most 10 ms: 2 s is a hang. */
	if (d > 2000000000u)
		SHMKIT_FAIL("a call took %llu ms",
			    (unsigned long long)(d / 1000000));
}

static int
victim_check(int line, const char *what, int rc, unsigned mask, int marks)
{
	atomic_fetch_add(&vd->calls, 1);
	if (!allowed(rc, mask)) {
		int z = 0;

		fprintf(stderr, "line %d: %s: unexpected %d (%s)\n", line, what,
			rc, shmkit_test_errstr(rc));
		if (atomic_compare_exchange_strong(&vd->bad_rc, &z, rc))
			atomic_store(&vd->bad_line, line);
	}
	if (rc == SHMKIT_ECORRUPT) {
		atomic_fetch_add(&vd->corrupts, 1);
		if (marks)
			atomic_store(&vd->corrupt, 1);
	}
	return rc;
}

static volatile unsigned sink;

static void
touch(const void *p, size_t len)
{
	const unsigned char *c = p;
	unsigned s = 0;
	size_t i;

	for (i = 0; i < len; i++)
		s += c[i];
	sink += s;
}

/* Every data call once on (prod, cons), new handles, and the tools. */
static void
battery(shmkit_chan_t *prod, shmkit_chan_t *cons)
{
	struct timespec t5 = ms_ts(5), t0 = ms_ts(0);
	shmkit_chan_peer_info_t peers[8];
	unsigned char buf[MSG_MAX];
	shmkit_chan_info_t info;
	shmkit_chan_t *nc = NULL;
	const void *m;
	size_t len = 0;
	void *p;
	int i, rc;

	memset(buf, 0x21, sizeof(buf));
	for (i = 0; i < 3; i++) {
		CALL(shmkit_chan_send(prod, buf, 1 + (size_t)i * 20, NULL,
				      SHMKIT_CHAN_NONBLOCK),
		     OK_VAL | AGAIN | CORRUPT, 1);
		CALL(shmkit_chan_send(prod, buf, H_MAX, &t5, 0),
		     OK_VAL | AGAIN | TIMEOUT | CORRUPT, 1);
	}
	rc = CALL(shmkit_chan_reserve(prod, H_MAX, &p, &t5, 0),
		  OK_VAL | AGAIN | TIMEOUT | CORRUPT, 1);
	if (rc == 0) {
		memset(p, 0x5a, H_MAX);
		CALL(shmkit_chan_commit(prod, H_MAX / 2), OK_VAL | CORRUPT, 1);
	}
	for (i = 0; i < 3; i++) {
		rc = CALL(
			shmkit_chan_recv(cons, buf, sizeof(buf), &len, &t0, 0),
			OK_VAL | AGAIN | TIMEOUT | CORRUPT, 1);
		if (rc >= 0 && len > H_MAX)
			SHMKIT_FAIL("recv gave %zu bytes > msg_max", len);
		rc = CALL(shmkit_chan_peek(cons, &m, &len, &t5, 0),
			  OK_VAL | AGAIN | TIMEOUT | CORRUPT, 1);
		if (rc >= 0) {
			if (len > H_MAX)
				SHMKIT_FAIL("peek gave %zu bytes > msg_max",
					    len);
			touch(m, len);
			CALL(shmkit_chan_release(cons),
			     OK_VAL | STALE | CORRUPT, 1);
		}
	}
	CALL(shmkit_chan_recv(cons, buf, sizeof(buf), &len, NULL,
			      SHMKIT_CHAN_NONBLOCK),
	     OK_VAL | AGAIN | CORRUPT, 1);
	CALL(shmkit_chan_info(prod, &info), OK_VAL | CORRUPT, 1);
	CALL(shmkit_chan_inspect(addr, &info, peers, 8),
	     OK_VAL | CORRUPT | OPENERR, 0);
	CALL(shmkit_chan_recover(prod), OK_VAL | CORRUPT, 1);
	CALL(shmkit_chan_recover(cons), OK_VAL | CORRUPT, 1);
	rc = CALL(shmkit_chan_open(&nc, addr, SHMKIT_CHAN_CONSUMER),
		  OK_VAL | CORRUPT | OPENERR, 0);
	if (rc == 0) {
		CALL(shmkit_chan_recv(nc, buf, sizeof(buf), &len, &t5, 0),
		     OK_VAL | AGAIN | TIMEOUT | CORRUPT, 1);
		SHMKIT_ASSERT_EQ(shmkit_chan_close(nc), 0);
	}
	rc = CALL(shmkit_chan_open(&nc, addr, SHMKIT_CHAN_PRODUCER),
		  OK_VAL | CORRUPT | OPENERR, 0);
	if (rc == 0) {
		CALL(shmkit_chan_send(nc, buf, 10, &t5, 0),
		     OK_VAL | AGAIN | TIMEOUT | CORRUPT, 1);
		SHMKIT_ASSERT_EQ(shmkit_chan_close(nc), 0);
	}
}

/*
 * The channel was found corrupt: every data call on these handles now
 * says so, at once, even with a long timeout; a new open fails; and the
 * header, if still a sound one, reads broken.
 */
static void
assert_broken(shmkit_chan_t *prod, shmkit_chan_t *cons)
{
	struct timespec tl = ms_ts(2000);
	unsigned char buf[MSG_MAX];
	shmkit_obj_info_t oi;
	shmkit_chan_t *nc = NULL;
	shmkit_seg_t *seg;
	unsigned char *base;
	const void *m;
	size_t len, size;
	uint64_t t;
	void *p;
	int rc;

	t = now_ns();
	SHMKIT_ASSERT_ERR(shmkit_chan_send(prod, buf, 8, &tl, 0),
			  SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_chan_reserve(prod, 8, &p, &tl, 0),
			  SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(
		shmkit_chan_recv(cons, buf, sizeof(buf), &len, &tl, 0),
		SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_chan_peek(cons, &m, &len, &tl, 0),
			  SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_chan_recover(prod), SHMKIT_ECORRUPT);
	t = now_ns() - t;
	SHMKIT_ASSERT(t < 1000000000u); /* not one 2 s timeout waited */
	rc = shmkit_chan_open(&nc, addr, SHMKIT_CHAN_CONSUMER);
	if (rc == 0)
		SHMKIT_FAIL("open of a broken channel succeeded");
	SHMKIT_ASSERT(allowed(rc, CORRUPT | OPENERR) && rc != -EBUSY &&
		      rc != -EUSERS);
	base = raw_map(&seg, &size);
	if (shmkit_obj_probe(base, size, &oi) == 0)
		SHMKIT_ASSERT_EQ(oi.state, SHMKIT_OBJ_STATE_BROKEN);
	SHMKIT_ASSERT_OK(shmkit_seg_close(seg));
}

static void
victim_round(void *arg)
{
	struct attack a = *(const struct attack *)arg;
	struct timespec t5 = ms_ts(5);
	unsigned char buf[H_MAX];
	shmkit_chan_t *prod = NULL, *cons = NULL;
	const void *m = NULL;
	size_t len = 0;
	void *p = NULL;
	int i, held_r = 0, held_p = 0;

	child_bound(20);
	SHMKIT_ASSERT_OK(shmkit_chan_open(&cons, addr, SHMKIT_CHAN_CONSUMER));
	SHMKIT_ASSERT_OK(shmkit_chan_open(&prod, addr, SHMKIT_CHAN_PRODUCER));
	memset(buf, 0x33, sizeof(buf));
	for (i = 0; i < 5; i++)
		SHMKIT_ASSERT_EQ(shmkit_chan_send(prod, buf, 10 + (size_t)i,
						  NULL, SHMKIT_CHAN_NONBLOCK),
				 0);
	for (i = 0; i < 2; i++)
		SHMKIT_ASSERT_OK(
			shmkit_chan_recv(cons, buf, sizeof(buf), &len, &t5, 0));
	/* Hold a reservation and a peeked message across the attack in
	 * some rounds. */
	if (a.seed & 1) {
		SHMKIT_ASSERT_EQ(shmkit_chan_reserve(prod, H_MAX, &p, &t5, 0),
				 0);
		held_r = 1;
	}
	if (a.seed & 2) {
		SHMKIT_ASSERT_OK(shmkit_chan_peek(cons, &m, &len, &t5, 0));
		held_p = 1;
	}
	a.victim = getpid();
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(hostile, &a));
	if (held_r) {
		memset(p, 0x44, H_MAX);
		CALL(shmkit_chan_commit(prod, H_MAX), OK_VAL | CORRUPT, 1);
	}
	if (held_p) {
		touch(m, len);
		CALL(shmkit_chan_release(cons), OK_VAL | STALE | CORRUPT, 1);
	}
	battery(prod, cons);
	battery(prod, cons);
	if (atomic_load(&vd->corrupt))
		assert_broken(prod, cons);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(prod), 0);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(cons), 0);
}

#define ROUNDS 60

static void
run_rounds(enum region reg, unsigned seed0)
{
	unsigned k, r, broken = 0;
	uint64_t calls = 0, corrupts = 0, max_ns = 0;

	vd = mmap(NULL, sizeof(*vd), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	SHMKIT_ASSERT(vd != MAP_FAILED);
	for (k = 0; k < NCONF; k++)
		discover(k);
	for (r = 0; r < ROUNDS; r++) {
		struct attack a = {
			.conf = r % NCONF,
			.reg = reg,
			.seed = seed0 + r,
			.writes = 1 + r % 8,
		};
		int st;

		memset(vd, 0, sizeof(*vd));
		make(&confs[a.conf]);
		st = shmkit_test_wait(shmkit_test_fork(victim_round, &a));
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
		    atomic_load(&vd->bad_rc) != 0)
			SHMKIT_FAIL(
				"%s round %u (%s/%s, seed %u, %u writes): "
				"status 0x%x, bad value %d at line %d",
				region_name[reg], r,
				shmkit_chan_pattern_name(confs[a.conf].pattern),
				shmkit_chan_policy_name(confs[a.conf].policy),
				a.seed, a.writes, st, atomic_load(&vd->bad_rc),
				atomic_load(&vd->bad_line));
		broken += atomic_load(&vd->corrupt) ? 1 : 0;
		calls += atomic_load(&vd->calls);
		corrupts += atomic_load(&vd->corrupts);
		if (atomic_load(&vd->max_ns) > max_ns)
			max_ns = atomic_load(&vd->max_ns);
		unmake();
	}
	fprintf(stderr,
		"%s: %u rounds, %llu calls, %llu SHMKIT_ECORRUPT, %u rounds "
		"found corrupt, longest call %llu us\n",
		region_name[reg], ROUNDS, (unsigned long long)calls,
		(unsigned long long)corrupts, broken,
		(unsigned long long)(max_ns / 1000));
	munmap(vd, sizeof(*vd));
}

static void
test_scribble_header(void)
{
	run_rounds(R_HEADER, 1000);
}

static void
test_scribble_control(void)
{
	run_rounds(R_CONTROL, 2000);
}

static void
test_scribble_slot_headers(void)
{
	run_rounds(R_SLOTS, 3000);
}

static void
test_scribble_hot_words(void)
{
	run_rounds(R_HOT, 5000);
}

static void
test_scribble_anywhere(void)
{
	run_rounds(R_ANY, 4000);
}

/* The victim calls in a loop while the hostile peer writes at random
 * for half a second; then, quiet, the last verdict must hold. */
static void
victim_loop(void *arg)
{
	const struct attack *a = arg;
	shmkit_chan_t *prod = NULL, *cons = NULL;
	struct attack h = *a;
	pid_t hp;

	child_bound(20);
	SHMKIT_ASSERT_OK(shmkit_chan_open(&cons, addr, SHMKIT_CHAN_CONSUMER));
	SHMKIT_ASSERT_OK(shmkit_chan_open(&prod, addr, SHMKIT_CHAN_PRODUCER));
	h.victim = getpid();
	hp = shmkit_test_fork(hostile, &h);
	while (!atomic_load(&vd->stop))
		battery(prod, cons);
	SHMKIT_ASSERT_CHILD_OK(hp);
	atomic_store(&vd->corrupt, 0);
	battery(prod, cons);
	if (atomic_load(&vd->corrupt))
		assert_broken(prod, cons);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(prod), 0);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(cons), 0);
}

static void
test_scribble_concurrent(void)
{
	unsigned k;

	vd = mmap(NULL, sizeof(*vd), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	SHMKIT_ASSERT(vd != MAP_FAILED);
	for (k = 0; k < NCONF; k++) {
		struct attack a = {.conf = k, .seed = 5000 + k};

		discover(k);
		memset(vd, 0, sizeof(*vd));
		make(&confs[k]);
		SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(victim_loop, &a));
		fprintf(stderr,
			"%s/%s: %llu calls, %llu SHMKIT_ECORRUPT, longest "
			"%llu us\n",
			shmkit_chan_pattern_name(confs[k].pattern),
			shmkit_chan_policy_name(confs[k].policy),
			(unsigned long long)atomic_load(&vd->calls),
			(unsigned long long)atomic_load(&vd->corrupts),
			(unsigned long long)(atomic_load(&vd->max_ns) / 1000));
		SHMKIT_ASSERT_EQ(atomic_load(&vd->bad_rc), 0);
		unmake();
	}
	munmap(vd, sizeof(*vd));
}

/* ---- marked broken ---- */

/* Write SHMKIT_OBJ_STATE_BROKEN into the header's state word, raw. */
static void
mark_broken_raw(void *arg)
{
	shmkit_seg_t *seg;
	unsigned char *base;
	uint32_t st = SHMKIT_OBJ_STATE_BROKEN;
	size_t size;

	(void)arg;
	base = raw_map(&seg, &size);
	memcpy(base + offsetof(shmkit_obj_hdr_t, state), &st, sizeof(st));
	SHMKIT_ASSERT_OK(shmkit_seg_close(seg));
}

/* A channel marked broken gives SHMKIT_ECORRUPT at once to every call
 * of every peer, in every process, and to every new open. */
static void
test_broken_gives_ecorrupt(void)
{
	unsigned k;

	vd = mmap(NULL, sizeof(*vd), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	SHMKIT_ASSERT(vd != MAP_FAILED);
	for (k = 0; k < NCONF; k++) {
		shmkit_chan_t *prod = NULL, *cons = NULL;
		struct timespec t5 = ms_ts(5);
		unsigned char buf[H_MAX];
		void *held;
		size_t len;

		make(&confs[k]);
		SHMKIT_ASSERT_OK(
			shmkit_chan_open(&cons, addr, SHMKIT_CHAN_CONSUMER));
		SHMKIT_ASSERT_OK(
			shmkit_chan_open(&prod, addr, SHMKIT_CHAN_PRODUCER));
		memset(buf, 1, sizeof(buf));
		SHMKIT_ASSERT_EQ(shmkit_chan_send(prod, buf, 9, &t5, 0), 0);
		/* A reservation of a batch held across the breakage: its
		 * commit, which would only hold the message back, fails. */
		SHMKIT_ASSERT_EQ(shmkit_chan_reserve(prod, 8, &held, &t5,
						     SHMKIT_CHAN_MORE),
				 0);
		SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(mark_broken_raw, NULL));
		SHMKIT_ASSERT_ERR(shmkit_chan_commit(prod, 8), SHMKIT_ECORRUPT);
		assert_broken(prod, cons);
		SHMKIT_ASSERT_ERR(shmkit_chan_recv(cons, buf, sizeof(buf), &len,
						   NULL, SHMKIT_CHAN_NONBLOCK),
				  SHMKIT_ECORRUPT);
		SHMKIT_ASSERT_EQ(shmkit_chan_close(prod), 0);
		SHMKIT_ASSERT_EQ(shmkit_chan_close(cons), 0);
		unmake();
	}
	munmap(vd, sizeof(*vd));
}

/* A consumer asleep in another process with a long timeout. */
static void
sleeper(void *arg)
{
	unsigned char buf[H_MAX];
	struct timespec tl = ms_ts(LONG_MS);
	shmkit_chan_t *cons = NULL;
	uint64_t t;
	size_t len;

	(void)arg;
	child_bound(20);
	SHMKIT_ASSERT_OK(shmkit_chan_open(
		&cons, addr, SHMKIT_CHAN_CONSUMER | SHMKIT_CHAN_WAIT_BLOCK));
	atomic_store(&vd->joined, 1);
	t = now_ns();
	SHMKIT_ASSERT_ERR(
		shmkit_chan_recv(cons, buf, sizeof(buf), &len, &tl, 0),
		SHMKIT_ECORRUPT);
	t = now_ns() - t;
	atomic_store(&vd->max_ns, t);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(cons), 0);
}

/*
 * A length field made larger than msg_max is found corrupt by the next
 * recv (the library must check it); the channel is marked broken and a
 * subscriber asleep in another process is told long before its timeout.
 * The length is found by committing a message of an unusual length (53)
 * and looking for that value in the bytes before its payload.
 */
static void
test_bad_length_breaks_and_wakes(void)
{
	static const struct conf c = {SHMKIT_CHAN_BROADCAST,
				      SHMKIT_CHAN_FULL_BLOCK};
	unsigned char buf[H_MAX], *base, *m;
	shmkit_chan_t *prod = NULL, *cons = NULL;
	struct timespec t5 = ms_ts(5);
	size_t size, len, off, hits = 0, at = 0;
	shmkit_seg_t *seg;
	uint32_t v, big = 0x7fff0000u;
	pid_t sl;

	vd = mmap(NULL, sizeof(*vd), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	SHMKIT_ASSERT(vd != MAP_FAILED);
	make(&c);
	SHMKIT_ASSERT_OK(shmkit_chan_open(&cons, addr, SHMKIT_CHAN_CONSUMER));
	SHMKIT_ASSERT_OK(shmkit_chan_open(&prod, addr, SHMKIT_CHAN_PRODUCER));
	marker(buf, 77);
	SHMKIT_ASSERT_EQ(shmkit_chan_send(prod, buf, 53, &t5, 0), 0);
	base = raw_map(&seg, &size);
	m = memmem(base, size, buf, 8);
	SHMKIT_ASSERT(m != NULL);
	for (off = (size_t)(m - base) >= 256 ? (size_t)(m - base) - 256 : 64;
	     off + 4 <= (size_t)(m - base); off += 4) {
		memcpy(&v, base + off, 4);
		if (v == 53) {
			hits++;
			at = off;
		}
	}
	if (hits != 1) {
		SHMKIT_ASSERT_OK(shmkit_seg_close(seg));
		SHMKIT_SKIP("message length not found before its payload "
			    "(%zu candidates)",
			    hits);
	}
	sl = shmkit_test_fork(sleeper, NULL);
	FLAG_WAIT(&vd->joined, 1);
	sleep_us(100000);
	/* The sleeper joined after the message was published, so it sleeps
	 * (a subscriber sees only what comes after it); cons takes the
	 * message below. Make its length lie, as a hostile peer would. */
	memcpy(base + at, &big, 4);
	SHMKIT_ASSERT_ERR(
		shmkit_chan_recv(cons, buf, sizeof(buf), &len, &t5, 0),
		SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_CHILD_OK(sl);
	fprintf(stderr, "sleeper told after %llu ms\n",
		(unsigned long long)(atomic_load(&vd->max_ns) / 1000000));
	SHMKIT_ASSERT(atomic_load(&vd->max_ns) < 2000000000u);
	assert_broken(prod, cons);
	SHMKIT_ASSERT_OK(shmkit_seg_close(seg));
	SHMKIT_ASSERT_EQ(shmkit_chan_close(prod), 0);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(cons), 0);
	unmake();
	munmap(vd, sizeof(*vd));
}

SHMKIT_TESTS = {
	{"scribble_header", test_scribble_header},
	{"scribble_control", test_scribble_control},
	{"scribble_slot_headers", test_scribble_slot_headers},
	{"scribble_hot_words", test_scribble_hot_words},
	{"scribble_anywhere", test_scribble_anywhere},
	{"scribble_concurrent", test_scribble_concurrent},
	{"broken_gives_ecorrupt", test_broken_gives_ecorrupt},
	{"bad_length_breaks_and_wakes", test_bad_length_breaks_and_wakes},
	{NULL, NULL},
};
