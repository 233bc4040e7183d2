/*
 * chan_check.h: what the cross-process channel tests share
 * (chan_proc_test.c, chan_kill_test.c, chan_hostile_test.c).
 *
 *  - Self-checking messages: a header (producer id, sequence number,
 *    length, checksum) and a payload pattern of variable length, so a
 *    receiver tells an intact message from a torn, half-written or
 *    foreign one without knowing what was sent.
 *  - A results segment that every process of a case maps and appends
 *    what it received to, one log per consumer, plus hand-shake words.
 *  - The checker that counts lost, duplicated and unexpected messages
 *    and order violations from those logs, and prints the counts.
 *  - A channel "target" over any backend (memfd by fork inheritance).
 *  - Process helpers: bounded waits, stop/kill/reap, CPU time of a pid.
 *
 * Header-only (static inline): each test executable is built from one
 * source file plus the common runner, and not every file uses every
 * helper.
 */
#ifndef CHAN_CHECK_H
#define CHAN_CHECK_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/chan.h>
#include <shmkit/seg.h>

#include "seg_util.h"
#include "shmkit_test.h"

/* Long enough never to expire in a passing run. */
#define LONG_MS 5000u

static inline struct timespec
ms_ts(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000),
			      (long)(ms % 1000) * 1000000L};

	return ts;
}

static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void
sleep_us(unsigned us)
{
	struct timespec ts = {(time_t)(us / 1000000),
			      (long)(us % 1000000) * 1000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Wait (bounded by ms) until *v >= want; 0, or -ETIMEDOUT. */
static inline int
flag_wait(_Atomic uint32_t *v, uint32_t want, unsigned ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;

	while (atomic_load_explicit(v, memory_order_acquire) < want) {
		if (now_ns() > end)
			return -ETIMEDOUT;
		sleep_us(200);
	}
	return 0;
}

#define FLAG_WAIT(v, want)                                                     \
	do {                                                                   \
		if (flag_wait((v), (want), 10000) < 0)                         \
			SHMKIT_FAIL("timed out waiting for %s >= %u", #v,      \
				    (unsigned)(want));                         \
	} while (0)

/* ---- messages ---- */

struct msg_hdr {
	uint32_t id;
	uint32_t seq;
	uint32_t len; /* of the whole message */
	uint32_t sum; /* FNV-1a of id, seq, len and the payload */
};

#define MSG_HDR	  ((size_t)sizeof(struct msg_hdr))
#define MSG_MAX	  4096u	  /* largest msg_max the tests use */
#define POISON_ID 0xdeadu /* written by producers that are then killed */

static inline uint32_t
mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static inline uint32_t
fnv(uint32_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ c[i]) * 16777619u;
	return h;
}

static inline uint32_t
msg_sum(const struct msg_hdr *h, const unsigned char *payload, size_t n)
{
	uint32_t s = 2166136261u;

	s = fnv(s, &h->id, sizeof(h->id));
	s = fnv(s, &h->seq, sizeof(h->seq));
	s = fnv(s, &h->len, sizeof(h->len));
	return fnv(s, payload, n);
}

/* Length of message (id, seq): MSG_HDR..msg_max, spread. */
static inline size_t
msg_len(uint32_t id, uint32_t seq, size_t msg_max)
{
	return MSG_HDR + mix32(id * 0x9e3779b9u ^ seq) %
				 (uint32_t)(msg_max - MSG_HDR + 1);
}

/* Write message (id, seq) into buf (msg_max bytes); returns its length. */
static inline size_t
msg_make(void *buf, uint32_t id, uint32_t seq, size_t msg_max)
{
	unsigned char *p = buf;
	size_t len = msg_len(id, seq, msg_max), i;
	uint32_t seed = mix32(id ^ (seq << 8) ^ 0x5bd1e995u);
	struct msg_hdr h;

	for (i = MSG_HDR; i < len; i++)
		p[i] = (unsigned char)(seed + 31u * i);
	h.id = id;
	h.seq = seq;
	h.len = (uint32_t)len;
	h.sum = msg_sum(&h, p + MSG_HDR, len - MSG_HDR);
	memcpy(p, &h, sizeof(h));
	return len;
}

/* 0 if (buf, len) is an intact message, with its id and seq. */
static inline int
msg_check(const void *buf, size_t len, uint32_t *id, uint32_t *seq)
{
	struct msg_hdr h;

	if (len < MSG_HDR)
		return -1;
	memcpy(&h, buf, sizeof(h));
	if (h.len != len ||
	    h.sum != msg_sum(&h, (const unsigned char *)buf + MSG_HDR,
			     len - MSG_HDR))
		return -1;
	*id = h.id;
	*seq = h.seq;
	return 0;
}

/* ---- the results segment ---- */

#define LOGS_MAX 16

struct chk_log {
	_Atomic uint64_t n;	 /* entries appended */
	_Atomic uint64_t bad;	 /* messages that failed msg_check */
	_Atomic uint64_t lost;	 /* sum of the lost counts peek/recv gave */
	_Atomic int err;	 /* first unexpected return, 0 if none */
	_Atomic int err_line;	 /* and where */
	_Atomic uint32_t peeked; /* seq + 1 of a message held, 0 if none */
};

struct chk_shared {
	_Atomic uint32_t ready;	  /* consumers registered */
	_Atomic uint32_t done;	  /* producers finished */
	_Atomic uint32_t go;	  /* parent's go-ahead */
	_Atomic uint32_t stage;	  /* case-specific hand-shake */
	_Atomic uint32_t stalled; /* the stalled subscriber holds a message */
	_Atomic int result;	  /* case-specific return code */
	_Atomic uint64_t t0, t1;  /* case-specific times */
	uint32_t nlogs;
	uint64_t cap; /* entries per log */
	struct chk_log log[LOGS_MAX];
	/* then nlogs * cap entries (uint64_t) */
};

/* An entry: producer id (16 bits), lost-before (16 bits), seq (32). */
#define ENT(id, lost, seq)                                                     \
	(((uint64_t)((id)&0xffffu) << 48) |                                    \
	 ((uint64_t)((lost) > 0xffff ? 0xffff : (lost)) << 32) | (seq))
#define ENT_ID(e)   ((uint32_t)((e) >> 48))
#define ENT_LOST(e) ((uint32_t)(((e) >> 32) & 0xffffu))
#define ENT_SEQ(e)  ((uint32_t)(e))

static char chk_name[NAMELEN];
static shmkit_seg_t *chk_seg;

static inline uint64_t *
chk_entries(struct chk_shared *sh, unsigned log)
{
	return (uint64_t *)(void *)(sh + 1) + (uint64_t)log * sh->cap;
}

/* Make the results segment (POSIX, named so exec'd helpers open it). */
static inline struct chk_shared *
chk_new(unsigned nlogs, uint64_t cap)
{
	size_t size = sizeof(struct chk_shared) + nlogs * cap * 8;
	struct chk_shared *sh;

	seg_name(chk_name, "posix");
	chk_seg = seg_make(chk_name, size);
	sh = seg_map(chk_seg, 0);
	sh->nlogs = nlogs;
	sh->cap = cap;
	return sh;
}

/* Map the results segment by name (in an exec'd helper); chk_close()
 * unmaps it and frees the handle, leaving the segment to its creator. */
static inline struct chk_shared *
chk_open(const char *name)
{
	SHMKIT_ASSERT_OK(shmkit_seg_open(&chk_seg, name, NULL));
	return seg_map(chk_seg, 0);
}

static inline void
chk_close(void)
{
	shmkit_seg_close(chk_seg);
	chk_seg = NULL;
}

static inline void
chk_free(void)
{
	seg_destroy(chk_seg);
	chk_seg = NULL;
}

static inline void
chk_append(struct chk_shared *sh, unsigned log, uint32_t id, uint32_t seq,
	   uint64_t lost)
{
	struct chk_log *l = &sh->log[log];
	uint64_t i = atomic_load_explicit(&l->n, memory_order_relaxed);

	if (i >= sh->cap) {
		int z = 0;

		atomic_compare_exchange_strong(&l->err, &z, -EOVERFLOW);
		return;
	}
	chk_entries(sh, log)[i] = ENT(id, lost, seq);
	/* Release: the entry above is complete before a reader (the parent,
	 * after this process is killed or has exited) counts it. */
	atomic_store_explicit(&l->n, i + 1, memory_order_release);
}

/* Note the first unexpected return code of a log's process. */
static inline void
chk_error(struct chk_shared *sh, unsigned log, int rc, int line)
{
	int z = 0;

	if (atomic_compare_exchange_strong(&sh->log[log].err, &z, rc))
		atomic_store(&sh->log[log].err_line, line);
}

/* Check a received message and log it (or count it bad). */
static inline void
chk_got(struct chk_shared *sh, unsigned log, const void *msg, size_t len,
	int lost)
{
	uint32_t id, seq;

	if (lost > 0)
		atomic_fetch_add(&sh->log[log].lost, (uint64_t)lost);
	if (msg_check(msg, len, &id, &seq) < 0) {
		atomic_fetch_add(&sh->log[log].bad, 1);
		return;
	}
	chk_append(sh, log, id, seq, lost > 0 ? (uint64_t)lost : 0);
}

/* What the checker found. */
struct chk_result {
	uint64_t received;
	uint64_t lost;	     /* sent, never received */
	uint64_t dup;	     /* received more than once */
	uint64_t unexpected; /* unknown producer or seq, or poison */
	uint64_t order;	     /* seq not increasing per producer per log */
	uint64_t bad;	     /* failed msg_check */
	uint64_t reported;   /* losses the channel reported (overwrite) */
	uint64_t gaps;	     /* overwrite: gap != reported loss */
	int err;	     /* first error a process noted */
	int err_line;
};

/* How logs are judged. */
#define CHK_UNION     0 /* logs together get every message once */
#define CHK_EACH      1 /* each log gets every message once (broadcast) */
#define CHK_OVERWRITE 2 /* each log: received + reported lost == sent */

/*
 * Judge logs [first, first + n) against producers 0..nprod-1 having sent
 * seqs 0..sent[p]-1 (nprod <= LOGS_MAX). Order is checked per log and
 * per producer: seqs strictly increase.
 */
static inline struct chk_result
chk_judge_logs(struct chk_shared *sh, unsigned first, unsigned n,
	       unsigned nprod, const uint32_t *sent, int mode)
{
	struct chk_result r;
	unsigned char *cnt;
	uint32_t maxs = 0;
	unsigned p, l;
	uint64_t i;

	SHMKIT_ASSERT(nprod <= LOGS_MAX);
	memset(&r, 0, sizeof(r));
	for (p = 0; p < nprod; p++)
		maxs = sent[p] > maxs ? sent[p] : maxs;
	cnt = calloc((size_t)nprod * maxs + 1, 1);
	SHMKIT_ASSERT(cnt != NULL);
	for (l = first; l < first + n; l++) {
		struct chk_log *lg = &sh->log[l];
		uint64_t m = atomic_load_explicit(&lg->n, memory_order_acquire);
		const uint64_t *e = chk_entries(sh, l);
		int64_t last[LOGS_MAX];

		if (r.err == 0 && atomic_load(&lg->err) != 0) {
			r.err = atomic_load(&lg->err);
			r.err_line = atomic_load(&lg->err_line);
		}
		r.bad += atomic_load(&lg->bad);
		r.reported += atomic_load(&lg->lost);
		for (p = 0; p < LOGS_MAX; p++)
			last[p] = -1;
		if (mode != CHK_UNION)
			memset(cnt, 0, (size_t)nprod * maxs);
		for (i = 0; i < m; i++) {
			uint32_t id = ENT_ID(e[i]), seq = ENT_SEQ(e[i]);

			r.received++;
			if (id >= nprod || seq >= sent[id]) {
				r.unexpected++;
				continue;
			}
			if ((int64_t)seq <= last[id])
				r.order++;
			if (mode == CHK_OVERWRITE &&
			    (int64_t)seq - last[id] - 1 != ENT_LOST(e[i]))
				r.gaps++;
			last[id] = seq;
			if (cnt[(size_t)id * maxs + seq] < 255)
				cnt[(size_t)id * maxs + seq]++;
		}
		if (mode == CHK_UNION)
			continue;
		for (p = 0; p < nprod; p++) {
			uint32_t s;

			for (s = 0; s < sent[p]; s++) {
				unsigned c = cnt[(size_t)p * maxs + s];

				if (c == 0 && mode == CHK_EACH)
					r.lost++;
				if (c > 1)
					r.dup += c - 1;
			}
			/* Overwrite: nothing may be lost after the last
			 * one received, since nothing overwrote it. */
			if (mode == CHK_OVERWRITE &&
			    last[p] != (int64_t)sent[p] - 1)
				r.lost += (uint64_t)((int64_t)sent[p] - 1 -
						     last[p]);
		}
	}
	if (mode == CHK_UNION) {
		for (p = 0; p < nprod; p++) {
			uint32_t s;

			for (s = 0; s < sent[p]; s++) {
				unsigned c = cnt[(size_t)p * maxs + s];

				if (c == 0)
					r.lost++;
				if (c > 1)
					r.dup += c - 1;
			}
		}
	}
	free(cnt);
	return r;
}

static inline void
chk_print(const char *what, const struct chk_result *r)
{
	fprintf(stderr,
		"%s: received %llu, lost %llu, dup %llu, unexpected %llu, "
		"order %llu, bad %llu, reported lost %llu, gaps %llu, "
		"err %d (%s) at line %d\n",
		what, (unsigned long long)r->received,
		(unsigned long long)r->lost, (unsigned long long)r->dup,
		(unsigned long long)r->unexpected, (unsigned long long)r->order,
		(unsigned long long)r->bad, (unsigned long long)r->reported,
		(unsigned long long)r->gaps, r->err, shmkit_errname(r->err),
		r->err_line);
}

/* Judge, print, and fail the case unless everything is clean, but for
 * up to order_slack messages out of order (redeliveries). */
static inline void
chk_assert_slack(struct chk_shared *sh, const char *what, unsigned first,
		 unsigned n, unsigned nprod, const uint32_t *sent, int mode,
		 uint64_t order_slack)
{
	struct chk_result r = chk_judge_logs(sh, first, n, nprod, sent, mode);

	chk_print(what, &r);
	SHMKIT_ASSERT_EQ(r.err, 0);
	SHMKIT_ASSERT_EQ(r.lost, 0);
	SHMKIT_ASSERT_EQ(r.dup, 0);
	SHMKIT_ASSERT_EQ(r.unexpected, 0);
	SHMKIT_ASSERT(r.order <= order_slack);
	SHMKIT_ASSERT_EQ(r.bad, 0);
	SHMKIT_ASSERT_EQ(r.gaps, 0);
}

static inline void
chk_assert(struct chk_shared *sh, const char *what, unsigned first, unsigned n,
	   unsigned nprod, const uint32_t *sent, int mode)
{
	chk_assert_slack(sh, what, first, n, nprod, sent, mode, 0);
}

/* ---- producing and consuming ---- */

/*
 * Send seqs first..first+count-1 as producer id, alternating send,
 * reserve of the exact length, and reserve of msg_max committed shorter,
 * each with the per-call flags (SHMKIT_CHAN_MORE: in batches). Returns 0
 * or the first error.
 */
static inline int
chk_produce_flags(shmkit_chan_t *ch, uint32_t id, uint32_t first,
		  uint32_t count, size_t msg_max, unsigned flags)
{
	unsigned char buf[MSG_MAX];
	struct timespec to = ms_ts(LONG_MS);
	uint32_t seq;
	int rc;

	for (seq = first; seq < first + count; seq++) {
		size_t len = msg_make(buf, id, seq, msg_max);
		void *p;

		if (seq % 3 == 0) {
			rc = shmkit_chan_send(ch, buf, len, &to, flags);
		} else {
			rc = shmkit_chan_reserve(ch,
						 seq % 3 == 1 ? len : msg_max,
						 &p, &to, flags);
			if (rc == 0) {
				memcpy(p, buf, len);
				rc = shmkit_chan_commit(ch, len);
			}
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static inline int
chk_produce(shmkit_chan_t *ch, uint32_t id, uint32_t first, uint32_t count,
	    size_t msg_max)
{
	return chk_produce_flags(ch, id, first, count, msg_max, 0);
}

/* Ways chk_consume() takes messages. */
#define CONS_MIXED 0 /* alternate recv and peek/release */
#define CONS_RECV  1 /* recv only: exact loss counts when overwriting */
#define CONS_PEEK  2 /* peek, log, release: kills land in between */

/*
 * Receive into log until at least ndone producers have said done and
 * the channel is then empty (or 12 s pass: an error). after, if not
 * NULL, runs after each message with the count so far.
 */
static inline void
chk_consume(shmkit_chan_t *ch, struct chk_shared *sh, unsigned log,
	    unsigned ndone, int how, void (*after)(unsigned got))
{
	unsigned char buf[MSG_MAX];
	uint64_t end = now_ns() + 12000000000u;
	unsigned iter = 0, got = 0;

	for (;;) {
		/* Acquire: pairs with the producers' release increment of
		 * done after their last commit; read before the call, so an
		 * empty answer after it means everything was taken. */
		int done = atomic_load_explicit(&sh->done,
						memory_order_acquire) >= ndone;
		struct timespec to = ms_ts(20);
		const void *m;
		size_t len = 0;
		int rc;

		if (how == CONS_PEEK || (how == CONS_MIXED && (iter++ & 1))) {
			rc = shmkit_chan_peek(ch, &m, &len, &to, 0);
			if (rc >= 0) {
				int r2;

				chk_got(sh, log, m, len, rc);
				/* Say which message is held (logged, not
				 * released: a kill now must cause its
				 * redelivery), and widen that window. */
				if (how == CONS_PEEK) {
					uint32_t id_, seq_;

					if (msg_check(m, len, &id_, &seq_) == 0)
						atomic_store(
							&sh->log[log].peeked,
							seq_ + 1);
					if (iter++ % 8 == 7)
						sleep_us(10);
					atomic_store(&sh->log[log].peeked, 0);
				}
				r2 = shmkit_chan_release(ch);
				if (r2 != 0)
					chk_error(sh, log, r2, __LINE__);
			}
		} else {
			rc = shmkit_chan_recv(ch, buf, sizeof(buf), &len, &to,
					      0);
			if (rc >= 0)
				chk_got(sh, log, buf, len, rc);
		}
		if (rc == -ETIMEDOUT) {
			if (done)
				break;
		} else if (rc < 0) {
			chk_error(sh, log, rc, __LINE__);
			break;
		} else if (++got, after != NULL) {
			after(got);
		}
		if (now_ns() > end) {
			chk_error(sh, log, -ETIME, __LINE__);
			break;
		}
	}
}

/* Say one producer is done. */
static inline void
chk_done(struct chk_shared *sh)
{
	/* Release: every commit above happens before a consumer that reads
	 * done (acquire, in chk_consume()) decides the channel is drained. */
	atomic_fetch_add_explicit(&sh->done, 1, memory_order_release);
}

/* ---- a channel over any backend ---- */

struct chan_target {
	char addr[NAMELEN];
	shmkit_seg_t *seg; /* memfd: the segment, inherited by fork */
};

/* Create a channel on backend; skips the case if memfd is missing. */
static inline void
target_make(struct chan_target *t, const char *backend,
	    const shmkit_chan_opts_t *o)
{
	seg_name(t->addr, backend);
	t->seg = NULL;
	if (strcmp(backend, "memfd") == 0) {
		size_t size = shmkit_chan_size(o);

		SHMKIT_ASSERT(size > 0);
		t->seg = seg_make(t->addr, size);
		SHMKIT_ASSERT_OK(shmkit_chan_format(t->seg, o));
		return;
	}
	SHMKIT_ASSERT_OK(shmkit_chan_create(t->addr, o));
}

static inline int
target_open(const struct chan_target *t, shmkit_chan_t **ch, unsigned flags)
{
	if (t->seg != NULL)
		return shmkit_chan_open_seg(ch, t->seg, flags);
	return shmkit_chan_open(ch, t->addr, flags);
}

static inline shmkit_chan_t *
target_open_ok(const struct chan_target *t, unsigned flags)
{
	shmkit_chan_t *ch = NULL;

	SHMKIT_ASSERT_OK(target_open(t, &ch, flags));
	SHMKIT_ASSERT(ch != NULL);
	return ch;
}

static inline void
target_destroy(struct chan_target *t)
{
	if (t->seg != NULL) {
		SHMKIT_ASSERT_OK(shmkit_seg_close(t->seg));
		t->seg = NULL;
		return;
	}
	SHMKIT_ASSERT_OK(shmkit_seg_unlink_address(t->addr));
}

/* ---- processes ---- */

/* Every child bounds itself: a hang ends as a SIGALRM death. */
static inline void
child_bound(unsigned sec)
{
	alarm(sec);
}

/* Wait until pid stops (it raised SIGSTOP); fails if it ended. */
static inline void
wait_stopped(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, WUNTRACED) < 0) {
		if (errno != EINTR)
			SHMKIT_FAIL("waitpid(%d): %s", (int)pid,
				    strerror(errno));
	}
	if (!WIFSTOPPED(st))
		SHMKIT_FAIL("child %d ended (status 0x%x) instead of stopping",
			    (int)pid, st);
}

/* SIGKILL pid and reap it (it must not have exited on its own). */
static inline void
kill_reap(pid_t pid)
{
	SHMKIT_ASSERT_EQ(kill(pid, SIGKILL), 0);
	SHMKIT_ASSERT_CHILD_SIGNAL(pid, SIGKILL);
}

/* utime + stime of pid in milliseconds, from /proc/PID/stat. */
static inline long
proc_cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		SHMKIT_FAIL("open %s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command may hold spaces and parentheses: fields count from
	 * the last ')'. utime and stime are fields 14 and 15. */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u "
				"%*u %*u %lu %lu",
				&ut, &st) != 2)
		SHMKIT_FAIL("cannot parse %s", path);
	return (long)((ut + st) * 1000u / (unsigned long)sysconf(_SC_CLK_TCK));
}

#endif /* CHAN_CHECK_H */
