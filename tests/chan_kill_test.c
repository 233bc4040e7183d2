/*
 * Channels with peers SIGKILLed at awkward moments: a producer between
 * reserve and commit, a consumer between peek and release, a subscriber
 * that a blocking publisher waits for, and consumers killed at random
 * moments of a stream. Nobody cleans up by hand: the message a dead
 * producer half-wrote is never seen, the one a dead consumer held is
 * delivered again, restarted peers carry on, and nothing committed is
 * lost (the checker in chan_check.h counts). A killed peer shows as dead
 * in shmkit_chan_inspect(), shmkit_chan_recover() reaps it, and its place
 * is free again at once for a fresh open.
 *
 * The awkward moment is made exact by having the child raise(SIGSTOP)
 * there: the parent sees it stopped (waitpid WUNTRACED) and kills it.
 * A peer killed in the instant between taking a peer entry and filling
 * it in, whose pid is then reused, is written into the table by hand.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>

#include <shmkit/chan.h>

#include "chan/chan_impl.h"
#include "chan_check.h"
#include "obj/obj_impl.h"
#include "shmkit_test.h"

#define MAXLEN 200

static struct chan_target tgt;
static struct chk_shared *sh;

static void
make_chan(unsigned pattern, size_t slots)
{
	shmkit_chan_opts_t o = {
		.pattern = pattern,
		.policy = SHMKIT_CHAN_FULL_BLOCK,
		.slots = slots,
		.msg_max = MAXLEN,
	};

	target_make(&tgt, "posix", &o);
}

/* Stop here and wait for the SIGKILL. */
static void __attribute__((noreturn)) stop_for_kill(void)
{
	raise(SIGSTOP);
	SHMKIT_FAIL("resumed after SIGSTOP: should have been killed");
}

/* ---- producers killed between reserve and commit ---- */

/* Send seqs 0..2 as producer arg, then reserve, write a whole poison
 * message (valid in itself, with an id no producer has), and stop. */
static void
stop_in_reserve(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	struct timespec tl = ms_ts(LONG_MS);
	unsigned char buf[MSG_MAX];
	shmkit_chan_t *ch;
	size_t len;
	void *p;

	child_bound(20);
	ch = target_open_ok(&tgt, SHMKIT_CHAN_PRODUCER);
	SHMKIT_ASSERT_OK(chk_produce(ch, id, 0, 3, MAXLEN));
	SHMKIT_ASSERT_EQ(shmkit_chan_reserve(ch, MAXLEN, &p, &tl, 0), 0);
	len = msg_make(buf, POISON_ID, 3, MAXLEN);
	memcpy(p, buf, len);
	stop_for_kill();
}

struct resume {
	uint32_t id, first, count;
	unsigned flags; /* SHMKIT_CHAN_MORE: in batches; close publishes
			   the last, partial one */
};

/* A restarted producer: carries on with its own numbering. */
static void
resume_producer(void *arg)
{
	const struct resume *r = arg;
	shmkit_chan_t *ch;
	int rc;

	child_bound(20);
	ch = target_open_ok(&tgt, SHMKIT_CHAN_PRODUCER);
	rc = chk_produce_flags(ch, r->id, r->first, r->count, MAXLEN, r->flags);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(ch), 0);
	chk_done(sh);
	SHMKIT_ASSERT_OK(rc);
}

/*
 * Kill the SPSC producer that stop() makes stop, receive the before
 * messages it sent, see nothing more within 100 ms, then start again
 * (a restarted producer) and check that the consumer gets sent
 * messages in all, each once, in order.
 */
static void
kill_and_resume_spsc(const char *what, size_t slots, void (*stop)(void *),
		     int before, const struct resume *again, uint32_t sent)
{
	unsigned char buf[MSG_MAX];
	struct timespec tl = ms_ts(LONG_MS), t100 = ms_ts(100);
	shmkit_chan_t *cons;
	size_t len;
	pid_t pid;
	int i;

	make_chan(SHMKIT_CHAN_SPSC, slots);
	sh = chk_new(1, 64);
	cons = target_open_ok(&tgt, SHMKIT_CHAN_CONSUMER);
	pid = shmkit_test_fork(stop, NULL);
	wait_stopped(pid);
	kill_reap(pid);
	for (i = 0; i < before; i++) {
		SHMKIT_ASSERT_EQ(
			shmkit_chan_recv(cons, buf, sizeof(buf), &len, &tl, 0),
			0);
		chk_got(sh, 0, buf, len, 0);
	}
	SHMKIT_ASSERT_ERR(
		shmkit_chan_recv(cons, buf, sizeof(buf), &len, &t100, 0),
		-ETIMEDOUT);
	pid = shmkit_test_fork(resume_producer, (void *)again);
	chk_consume(cons, sh, 0, 1, CONS_MIXED, NULL);
	SHMKIT_ASSERT_CHILD_OK(pid);
	chk_assert(sh, what, 0, 1, 1, &sent, CHK_UNION);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(cons), 0);
	chk_free();
	target_destroy(&tgt);
}

/*
 * The half-written message never shows; the restarted producer takes
 * the dead one's place and carries on past the ring's end (40 > 8
 * slots) while we consume.
 */
static void
test_producer_killed_in_reserve_spsc(void)
{
	static const struct resume again = {0, 3, 40, 0};

	kill_and_resume_spsc("spsc producer killed in reserve", 8,
			     stop_in_reserve, 3, &again, 43);
}

/* ---- a producer killed holding back a batch ---- */

/* Send seqs 0..9 published, then five poison messages (valid, with an id
 * no producer has) with SHMKIT_CHAN_MORE: fewer than a batch, so left
 * unpublished; and stop. */
static void
stop_with_batch(void *arg)
{
	shmkit_chan_t *ch;

	(void)arg;
	child_bound(20);
	ch = target_open_ok(&tgt, SHMKIT_CHAN_PRODUCER);
	SHMKIT_ASSERT_OK(chk_produce(ch, 0, 0, 10, MAXLEN));
	SHMKIT_ASSERT_OK(chk_produce_flags(ch, POISON_ID, 10, 5, MAXLEN,
					   SHMKIT_CHAN_MORE));
	stop_for_kill();
}

/*
 * The messages a killed producer held back were never sent: they never
 * show, and the restarted producer's messages take their positions; the
 * consumer gets 0..9 and then the new 10..52, each once, in order (43
 * sent in batches of 8, on 16 slots: its close publishes the last 3).
 */
static void
test_producer_killed_with_batch_spsc(void)
{
	static const struct resume again = {0, 10, 43, SHMKIT_CHAN_MORE};

	kill_and_resume_spsc("spsc producer killed holding a batch", 16,
			     stop_with_batch, 10, &again, 53);
}

static void
mpmc_consumer(void *arg)
{
	unsigned log = (unsigned)(uintptr_t)arg;
	shmkit_chan_t *ch;

	child_bound(20);
	ch = target_open_ok(&tgt, SHMKIT_CHAN_CONSUMER);
	chk_consume(ch, sh, log, 3, CONS_MIXED, NULL);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(ch), 0);
}

static void
test_producer_killed_in_reserve_mpmc(void)
{
	static const struct resume others[2] = {{1, 0, 300, 0}, {2, 0, 300, 0}};
	static const struct resume again = {0, 3, 20, 0};
	uint32_t sent[3] = {23, 300, 300};
	pid_t dead, pids[5];
	int i;

	make_chan(SHMKIT_CHAN_MPMC, 16);
	sh = chk_new(2, 700);
	/* Its reservation comes first in the ring. */
	dead = shmkit_test_fork(stop_in_reserve, (void *)0);
	wait_stopped(dead);
	pids[0] = shmkit_test_fork(mpmc_consumer, (void *)0);
	pids[1] = shmkit_test_fork(mpmc_consumer, (void *)1);
	pids[2] = shmkit_test_fork(resume_producer, (void *)&others[0]);
	pids[3] = shmkit_test_fork(resume_producer, (void *)&others[1]);
	sleep_us(50000);
	kill_reap(dead);
	pids[4] = shmkit_test_fork(resume_producer, (void *)&again);
	for (i = 0; i < 5; i++)
		SHMKIT_ASSERT_CHILD_OK(pids[i]);
	chk_assert(sh, "mpmc producer killed in reserve", 0, 2, 3, sent,
		   CHK_UNION);
	chk_free();
	target_destroy(&tgt);
}

/* ---- consumers killed between peek and release ---- */

/* Take arg messages, note them, peek one more, note it held, stop. */
static void
stop_in_peek(void *arg)
{
	unsigned take = (unsigned)(uintptr_t)arg;
	struct timespec tl = ms_ts(LONG_MS);
	unsigned char buf[MSG_MAX];
	shmkit_chan_t *ch;
	uint32_t id, seq;
	const void *m;
	unsigned i;
	size_t len;

	child_bound(20);
	ch = target_open_ok(&tgt, SHMKIT_CHAN_CONSUMER);
	atomic_fetch_add(&sh->ready, 1);
	for (i = 0; i < take; i++) {
		SHMKIT_ASSERT_EQ(
			shmkit_chan_recv(ch, buf, sizeof(buf), &len, &tl, 0),
			0);
		chk_got(sh, 0, buf, len, 0);
	}
	SHMKIT_ASSERT_EQ(shmkit_chan_peek(ch, &m, &len, &tl, 0), 0);
	SHMKIT_ASSERT_EQ(msg_check(m, len, &id, &seq), 0);
	atomic_store(&sh->log[0].peeked, seq + 1);
	stop_for_kill();
}

static void
restarted_consumer(void *arg)
{
	unsigned log = (unsigned)(uintptr_t)arg;
	shmkit_chan_t *ch;

	child_bound(20);
	ch = target_open_ok(&tgt, SHMKIT_CHAN_CONSUMER);
	atomic_fetch_add(&sh->ready, 1);
	chk_consume(ch, sh, log, 1, CONS_MIXED, NULL);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(ch), 0);
}

static void
test_consumer_killed_in_peek_spsc(void)
{
	uint32_t sent[1] = {40};
	shmkit_chan_t *prod;
	pid_t pid;

	make_chan(SHMKIT_CHAN_SPSC, 8);
	sh = chk_new(1, 64);
	prod = target_open_ok(&tgt, SHMKIT_CHAN_PRODUCER);
	SHMKIT_ASSERT_OK(chk_produce(prod, 0, 0, 6, MAXLEN));
	pid = shmkit_test_fork(stop_in_peek, (void *)3);
	wait_stopped(pid);
	kill_reap(pid);
	SHMKIT_ASSERT_EQ(atomic_load(&sh->log[0].n), 3);
	SHMKIT_ASSERT_EQ(atomic_load(&sh->log[0].peeked), 4); /* seq 3 */
	/* The restarted consumer gets seq 3 first (the order check of the
	 * log, which holds 0..2 already, says so), then the rest. */
	pid = shmkit_test_fork(restarted_consumer, (void *)0);
	SHMKIT_ASSERT_OK(chk_produce(prod, 0, 6, 34, MAXLEN));
	chk_done(sh);
	SHMKIT_ASSERT_CHILD_OK(pid);
	chk_assert(sh, "spsc consumer killed in peek", 0, 1, 1, sent,
		   CHK_UNION);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(prod), 0);
	chk_free();
	target_destroy(&tgt);
}

static void
test_consumer_killed_in_peek_mpmc(void)
{
	uint32_t sent[1] = {100};
	shmkit_chan_t *prod;
	pid_t a, b, c;

	make_chan(SHMKIT_CHAN_MPMC, 16);
	sh = chk_new(3, 128);
	prod = target_open_ok(&tgt, SHMKIT_CHAN_PRODUCER);
	a = shmkit_test_fork(stop_in_peek, (void *)0);
	FLAG_WAIT(&sh->ready, 1);
	SHMKIT_ASSERT_OK(chk_produce(prod, 0, 0, 1, MAXLEN));
	wait_stopped(a);
	SHMKIT_ASSERT_EQ(atomic_load(&sh->log[0].peeked), 1); /* seq 0 */
	b = shmkit_test_fork(restarted_consumer, (void *)1);
	c = shmkit_test_fork(restarted_consumer, (void *)2);
	FLAG_WAIT(&sh->ready, 3);
	kill_reap(a);
	/* No new handle is opened from here on: seq 0 must reach b or c
	 * through the reaping of a by the peers it holds up. */
	SHMKIT_ASSERT_OK(chk_produce(prod, 0, 1, 99, MAXLEN));
	chk_done(sh);
	SHMKIT_ASSERT_CHILD_OK(b);
	SHMKIT_ASSERT_CHILD_OK(c);
	/* Redelivered, seq 0 may come after later ones: the only message
	 * allowed out of order. */
	chk_assert_slack(sh, "mpmc consumer killed in peek", 1, 2, 1, sent,
			 CHK_UNION, 1);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(prod), 0);
	chk_free();
	target_destroy(&tgt);
}

/* ---- a subscriber killed under a blocking publisher ---- */

static void
subscriber(void *arg)
{
	unsigned log = (unsigned)(uintptr_t)arg;
	shmkit_chan_t *ch;

	child_bound(20);
	ch = target_open_ok(&tgt, SHMKIT_CHAN_CONSUMER);
	atomic_fetch_add(&sh->ready, 1);
	chk_consume(ch, sh, log, 1, CONS_MIXED, NULL);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(ch), 0);
}

#define BC_SLOTS 8
#define BC_COUNT 500

static void
test_subscriber_killed_publisher_continues(void)
{
	struct timespec t100 = ms_ts(100), tl = ms_ts(LONG_MS);
	uint32_t sent[1] = {BC_COUNT}, seq;
	unsigned char buf[MSG_MAX];
	shmkit_chan_t *pub;
	pid_t s0, s1, dead;
	int rc = 0;

	make_chan(SHMKIT_CHAN_BROADCAST, BC_SLOTS);
	sh = chk_new(3, BC_COUNT + 16);
	/* The one to die logs to log 0 (it takes 2, then holds seq 2). */
	dead = shmkit_test_fork(stop_in_peek, (void *)2);
	s0 = shmkit_test_fork(subscriber, (void *)1);
	s1 = shmkit_test_fork(subscriber, (void *)2);
	FLAG_WAIT(&sh->ready, 3);
	pub = target_open_ok(&tgt, SHMKIT_CHAN_PRODUCER);
	SHMKIT_ASSERT_OK(chk_produce(pub, 0, 0, 3, MAXLEN));
	wait_stopped(dead);
	SHMKIT_ASSERT_EQ(atomic_load(&sh->log[0].peeked), 3);
	/* Alive but stopped, it holds the publisher back once the ring is
	 * full: proof that the case tests what it claims. */
	for (seq = 3; seq < 3 + BC_SLOTS + 2; seq++) {
		rc = shmkit_chan_send(pub, buf, msg_make(buf, 0, seq, MAXLEN),
				      &t100, 0);
		if (rc < 0)
			break;
	}
	SHMKIT_ASSERT_ERR(rc, -ETIMEDOUT);
	SHMKIT_ASSERT(seq <= 2 + BC_SLOTS);
	kill_reap(dead);
	/* Dead, it holds nobody back. */
	for (; seq < BC_COUNT; seq++)
		SHMKIT_ASSERT_EQ(shmkit_chan_send(pub, buf,
						  msg_make(buf, 0, seq, MAXLEN),
						  &tl, 0),
				 0);
	chk_done(sh);
	SHMKIT_ASSERT_CHILD_OK(s0);
	SHMKIT_ASSERT_CHILD_OK(s1);
	chk_assert(sh, "broadcast subscriber killed", 1, 2, 1, sent, CHK_EACH);
	SHMKIT_ASSERT_EQ(atomic_load(&sh->log[0].n), 2);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(pub), 0);
	chk_free();
	target_destroy(&tgt);
}

/* ---- consumers killed at random moments ---- */

#define ROUNDS	       50
#define RAND_MAX_COUNT 200000u /* the stream stops sooner, at "go" */

static void
stream_producer(void *arg)
{
	shmkit_chan_t *ch;
	uint32_t seq;
	int rc;

	(void)arg;
	child_bound(30);
	ch = target_open_ok(&tgt, SHMKIT_CHAN_PRODUCER);
	/* Paced, and on until the kill rounds are over (go), so that every
	 * kill lands in the stream. */
	for (seq = 0, rc = 0; seq < RAND_MAX_COUNT && rc == 0;) {
		rc = chk_produce(ch, 0, seq, 16, 64);
		if (rc == 0)
			seq += 16;
		sleep_us(50);
		if (atomic_load(&sh->go))
			break;
	}
	atomic_store(&sh->t0, seq); /* how many were sent */
	SHMKIT_ASSERT_EQ(shmkit_chan_close(ch), 0);
	chk_done(sh);
	SHMKIT_ASSERT_OK(rc);
}

/* peek, log, release: a kill between log and release makes the one
 * duplicate a redelivery may cause, at an incarnation's boundary. */
static void
doomed_consumer(void *arg)
{
	unsigned log = (unsigned)(uintptr_t)arg;
	shmkit_chan_t *ch;

	child_bound(30);
	ch = target_open_ok(&tgt, SHMKIT_CHAN_CONSUMER);
	chk_consume(ch, sh, log, 1, CONS_PEEK, NULL);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(ch), 0);
}

/*
 * Kill the consumer of log `log` at random moments, ROUNDS times,
 * restarting it each time; then let a last one finish. bound gets,
 * per kill, the log's length just after it, and held the seq + 1 of the
 * message the killed one held (logged, not released), or 0. Fails unless most
 * kills landed while the stream was running.
 */
static void
kill_rounds(unsigned log, unsigned seed, uint64_t *bound, uint32_t *held)
{
	int r, live = 0;

	for (r = 0; r < ROUNDS; r++) {
		pid_t c = shmkit_test_fork(doomed_consumer,
					   (void *)(uintptr_t)log);
		int st;

		sleep_us((unsigned)rand_r(&seed) % 4000);
		live += atomic_load(&sh->done) == 0;
		kill(c, SIGKILL);
		st = shmkit_test_wait(c);
		/* It may have finished the stream first: fine. */
		SHMKIT_ASSERT(WIFSIGNALED(st) || WEXITSTATUS(st) == 0);
		bound[r] = atomic_load(&sh->log[log].n);
		held[r] = atomic_load(&sh->log[log].peeked);
		atomic_store(&sh->log[log].peeked, 0);
	}
	atomic_store(&sh->go, 1);
	fprintf(stderr, "%d of %d kills during the stream\n", live, ROUNDS);
	SHMKIT_ASSERT(live >= ROUNDS / 2);
	SHMKIT_ASSERT_CHILD_OK(
		shmkit_test_fork(doomed_consumer, (void *)(uintptr_t)log));
}

static int
is_bound(const uint64_t *bound, uint64_t i)
{
	int r;

	for (r = 0; r < ROUNDS; r++) {
		if (bound[r] == i)
			return 1;
	}
	return 0;
}

static void
test_random_kill_rounds_spsc(void)
{
	uint64_t bound[ROUNDS], i, n;
	uint32_t expect = 0, dups = 0, bad = 0, held[ROUNDS], nheld = 0, sent;
	const uint64_t *e;
	pid_t prod;
	int r;

	make_chan(SHMKIT_CHAN_SPSC, 16);
	sh = chk_new(1, RAND_MAX_COUNT + 2 * ROUNDS);
	prod = shmkit_test_fork(stream_producer, NULL);
	kill_rounds(0, 4242, bound, held);
	SHMKIT_ASSERT_CHILD_OK(prod);
	sent = (uint32_t)atomic_load(&sh->t0);
	n = atomic_load(&sh->log[0].n);
	e = chk_entries(sh, 0);

	/* A message held at a kill was logged last by the dead one and is
	 * the first the next one logs. */
	for (r = 0; r < ROUNDS; r++) {
		if (held[r] == 0)
			continue;
		nheld++;
		SHMKIT_ASSERT(bound[r] >= 1 && bound[r] < n);
		SHMKIT_ASSERT_EQ(ENT_SEQ(e[bound[r] - 1]), held[r] - 1);
		SHMKIT_ASSERT_EQ(ENT_SEQ(e[bound[r]]), held[r] - 1);
	}

	/* The stream of every incarnation together is 0, 1, 2, ... with a
	 * repeat allowed only as the first entry after a kill. */
	for (i = 0; i < n; i++) {
		uint32_t seq = ENT_SEQ(e[i]);

		if (ENT_ID(e[i]) == 0 && seq == expect)
			expect++;
		else if (ENT_ID(e[i]) == 0 && seq + 1 == expect &&
			 is_bound(bound, i))
			dups++;
		else if (bad++ < 5)
			fprintf(stderr,
				"entry %llu: id %u seq %u, expected %u\n",
				(unsigned long long)i, ENT_ID(e[i]), seq,
				expect);
	}
	fprintf(stderr,
		"%d kills (%u holding a message): %llu received, next "
		"expected %u of %u, %u redelivered, %u out of place, %llu "
		"torn, err %d line %d\n",
		ROUNDS, nheld, (unsigned long long)n, expect, sent, dups, bad,
		(unsigned long long)atomic_load(&sh->log[0].bad),
		atomic_load(&sh->log[0].err),
		atomic_load(&sh->log[0].err_line));
	SHMKIT_ASSERT_EQ(bad, 0);
	SHMKIT_ASSERT_EQ(expect, sent);
	SHMKIT_ASSERT_EQ(atomic_load(&sh->log[0].bad), 0);
	SHMKIT_ASSERT_EQ(atomic_load(&sh->log[0].err), 0);
	chk_free();
	target_destroy(&tgt);
}

static void
steady_consumer(void *arg)
{
	shmkit_chan_t *ch;

	(void)arg;
	child_bound(30);
	ch = target_open_ok(&tgt, SHMKIT_CHAN_CONSUMER);
	chk_consume(ch, sh, 0, 1, CONS_MIXED, NULL);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(ch), 0);
}

/*
 * Producers sending in batches, killed at random moments (mid-batch,
 * mid-publication, mid-open), ROUNDS of them, each with its own id, then
 * a last one that finishes. Whatever a killed one published arrives, in
 * order, as a run 0, 1, 2, ... of its id; what it held back never shows;
 * the next one carries on without error; the last one's messages all
 * arrive.
 */
#define BATCH_KILLED_MAX 20000u /* then it waits for its kill */
#define BATCH_LAST	 1000u
#define BATCH_FINAL	 0x10000u /* arg flag: the last producer */

static void
batch_stream_producer(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg & 0xffffu;
	int last = ((uintptr_t)arg & BATCH_FINAL) != 0;
	uint32_t seq, n = last ? BATCH_LAST : BATCH_KILLED_MAX;
	shmkit_chan_t *ch;
	int rc = 0;

	child_bound(30);
	ch = target_open_ok(&tgt, SHMKIT_CHAN_PRODUCER);
	for (seq = 0; seq < n && rc == 0; seq += 7)
		rc = chk_produce_flags(ch, id, seq, n - seq < 7 ? n - seq : 7,
				       64, SHMKIT_CHAN_MORE);
	SHMKIT_ASSERT_OK(rc);
	if (!last) {
		atomic_fetch_add(&sh->stalled, 1); /* done before its kill */
		for (;;)
			pause();
	}
	SHMKIT_ASSERT_EQ(shmkit_chan_close(ch), 0);
	chk_done(sh);
}

static void
test_random_producer_kills_batches_spsc(void)
{
	unsigned seed = 777, r;
	uint32_t id = 0, next = 0, bad = 0, ids = 0;
	const uint64_t *e;
	uint64_t i, n;
	pid_t cons;

	make_chan(SHMKIT_CHAN_SPSC, 64); /* batches of 32 */
	sh = chk_new(1, (uint64_t)ROUNDS * BATCH_KILLED_MAX + BATCH_LAST);
	cons = shmkit_test_fork(steady_consumer, NULL);
	for (r = 1; r <= ROUNDS; r++) {
		pid_t p = shmkit_test_fork(batch_stream_producer,
					   (void *)(uintptr_t)r);
		int st;

		sleep_us(200 + (unsigned)rand_r(&seed) % 2800);
		kill(p, SIGKILL);
		st = shmkit_test_wait(p);
		SHMKIT_ASSERT(WIFSIGNALED(st));
	}
	fprintf(stderr, "%u of %d producers were done before their kill\n",
		atomic_load(&sh->stalled), ROUNDS);
	SHMKIT_ASSERT(atomic_load(&sh->stalled) <= ROUNDS / 2);
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(
		batch_stream_producer,
		(void *)(uintptr_t)(BATCH_FINAL | (ROUNDS + 1))));
	SHMKIT_ASSERT_CHILD_OK(cons);

	/* Ids in increasing order, each a run 0, 1, 2, ... */
	n = atomic_load(&sh->log[0].n);
	e = chk_entries(sh, 0);
	for (i = 0; i < n; i++) {
		uint32_t eid = ENT_ID(e[i]), seq = ENT_SEQ(e[i]);

		if (eid != id && eid > id && eid <= ROUNDS + 1 && seq == 0) {
			id = eid; /* the next producer's first message */
			next = 1;
			ids++;
		} else if (eid == id && seq == next) {
			next++;
		} else if (bad++ < 5) {
			fprintf(stderr,
				"entry %llu: id %u seq %u after id %u seq %u\n",
				(unsigned long long)i, eid, seq, id, next);
		}
	}
	fprintf(stderr,
		"%llu received from %u producers; the last sent %u of %u; "
		"%u out of place, %llu torn, err %d line %d\n",
		(unsigned long long)n, ids, id == ROUNDS + 1 ? next : 0,
		BATCH_LAST, bad,
		(unsigned long long)atomic_load(&sh->log[0].bad),
		atomic_load(&sh->log[0].err),
		atomic_load(&sh->log[0].err_line));
	SHMKIT_ASSERT_EQ(bad, 0);
	SHMKIT_ASSERT_EQ(id, ROUNDS + 1);
	SHMKIT_ASSERT_EQ(next, BATCH_LAST);
	SHMKIT_ASSERT_EQ(atomic_load(&sh->log[0].bad), 0);
	SHMKIT_ASSERT_EQ(atomic_load(&sh->log[0].err), 0);
	chk_free();
	target_destroy(&tgt);
}

/*
 * MPMC: a steady consumer (log 0) and one killed at random moments
 * (log 1). Every message arrives; one arrives twice only if it was the
 * last one a killed incarnation logged (held, not yet released).
 */
static void
test_random_kill_rounds_mpmc(void)
{
	uint64_t bound[ROUNDS], i, n0, n1;
	unsigned char *cnt, *allow;
	uint32_t lost = 0, extra = 0, unexpected = 0, s, held[ROUNDS];
	uint32_t nheld = 0, missed = 0, sent;
	const uint64_t *e;
	pid_t prod, steady;
	int r;

	make_chan(SHMKIT_CHAN_MPMC, 16);
	sh = chk_new(2, RAND_MAX_COUNT + 2 * ROUNDS);
	prod = shmkit_test_fork(stream_producer, NULL);
	steady = shmkit_test_fork(steady_consumer, NULL);
	kill_rounds(1, 777, bound, held);
	SHMKIT_ASSERT_CHILD_OK(prod);
	SHMKIT_ASSERT_CHILD_OK(steady);
	sent = (uint32_t)atomic_load(&sh->t0);

	cnt = calloc(sent, 1);
	allow = calloc(sent, 1);
	SHMKIT_ASSERT(cnt != NULL && allow != NULL);
	n0 = atomic_load(&sh->log[0].n);
	n1 = atomic_load(&sh->log[1].n);
	e = chk_entries(sh, 1);
	for (r = 0; r < ROUNDS; r++) {
		if (bound[r] > 0 && bound[r] <= n1 &&
		    ENT_SEQ(e[bound[r] - 1]) < sent)
			allow[ENT_SEQ(e[bound[r] - 1])]++;
	}
	for (r = 0; r < 2; r++) {
		uint64_t n = r == 0 ? n0 : n1;

		e = chk_entries(sh, (unsigned)r);
		for (i = 0; i < n; i++) {
			if (ENT_ID(e[i]) != 0 || ENT_SEQ(e[i]) >= sent)
				unexpected++;
			else if (cnt[ENT_SEQ(e[i])] < 255)
				cnt[ENT_SEQ(e[i])]++;
		}
	}
	/* A message held at a kill arrived twice: logged by the dead one,
	 * and again by whoever got it redelivered. */
	for (r = 0; r < ROUNDS; r++) {
		if (held[r] == 0)
			continue;
		nheld++;
		if (held[r] > sent || cnt[held[r] - 1] < 2)
			missed++;
	}
	for (s = 0; s < sent; s++) {
		if (cnt[s] == 0)
			lost++;
		else if (cnt[s] > 1 + allow[s])
			extra += cnt[s] - 1 - allow[s];
	}
	fprintf(stderr,
		"%d kills (%u holding a message, %u of those not "
		"redelivered): steady %llu, killed %llu, lost %u, "
		"unexplained duplicates %u, unexpected %u, torn %llu/%llu, "
		"err %d/%d\n",
		ROUNDS, nheld, missed, (unsigned long long)n0,
		(unsigned long long)n1, lost, extra, unexpected,
		(unsigned long long)atomic_load(&sh->log[0].bad),
		(unsigned long long)atomic_load(&sh->log[1].bad),
		atomic_load(&sh->log[0].err), atomic_load(&sh->log[1].err));
	SHMKIT_ASSERT_EQ(lost, 0);
	SHMKIT_ASSERT_EQ(missed, 0);
	SHMKIT_ASSERT_EQ(extra, 0);
	SHMKIT_ASSERT_EQ(unexpected, 0);
	SHMKIT_ASSERT_EQ(atomic_load(&sh->log[0].bad), 0);
	SHMKIT_ASSERT_EQ(atomic_load(&sh->log[1].bad), 0);
	SHMKIT_ASSERT_EQ(atomic_load(&sh->log[0].err), 0);
	SHMKIT_ASSERT_EQ(atomic_load(&sh->log[1].err), 0);
	free(cnt);
	free(allow);
	chk_free();
	target_destroy(&tgt);
}

static const unsigned patterns[] = {SHMKIT_CHAN_SPSC, SHMKIT_CHAN_MPMC,
				    SHMKIT_CHAN_BROADCAST};

/* ---- dead peers: visible, reaped, never cleaned by hand ---- */

/* Open with the role in arg, say so, and wait to be killed. */
static void
parked_peer(void *arg)
{
	shmkit_chan_t *ch;

	child_bound(20);
	ch = target_open_ok(&tgt, (unsigned)(uintptr_t)arg);
	atomic_fetch_add(&sh->ready, 1);
	for (;;)
		pause();
	(void)ch;
}

static const shmkit_chan_peer_info_t *
find_peer(const shmkit_chan_peer_info_t *p, int n, pid_t pid)
{
	int i;

	for (i = 0; i < n; i++) {
		if (p[i].pid == (int)pid)
			return &p[i];
	}
	return NULL;
}

static void
test_inspect_shows_dead_peer(void)
{
	unsigned p;

	for (p = 0; p < 3; p++) {
		shmkit_chan_peer_info_t peers[8];
		const shmkit_chan_peer_info_t *e;
		unsigned i, nkids = patterns[p] == SHMKIT_CHAN_SPSC ? 1 : 2;
		shmkit_chan_info_t info;
		shmkit_chan_t *prod;
		pid_t kid[2];
		int n;

		make_chan(patterns[p], 8);
		sh = chk_new(1, 1);
		prod = target_open_ok(&tgt, SHMKIT_CHAN_PRODUCER);
		for (i = 0; i < nkids; i++)
			kid[i] = shmkit_test_fork(
				parked_peer,
				(void *)(uintptr_t)SHMKIT_CHAN_CONSUMER);
		FLAG_WAIT(&sh->ready, nkids);

		n = shmkit_chan_inspect(tgt.addr, &info, peers, 8);
		SHMKIT_ASSERT_EQ(n, nkids + 1);
		SHMKIT_ASSERT_EQ(info.peers, nkids + 1);
		e = find_peer(peers, n, getpid());
		SHMKIT_ASSERT(e != NULL);
		SHMKIT_ASSERT_EQ(e->role, SHMKIT_CHAN_PRODUCER);
		SHMKIT_ASSERT_EQ(e->alive, 1);
		for (i = 0; i < nkids; i++) {
			e = find_peer(peers, n, kid[i]);
			SHMKIT_ASSERT(e != NULL);
			SHMKIT_ASSERT_EQ(e->role, SHMKIT_CHAN_CONSUMER);
			SHMKIT_ASSERT_EQ(e->alive, 1);
		}

		for (i = 0; i < nkids; i++)
			kill_reap(kid[i]);
		/* inspect only looks: the dead are still registered. */
		n = shmkit_chan_inspect(tgt.addr, &info, peers, 8);
		SHMKIT_ASSERT_EQ(n, nkids + 1);
		for (i = 0; i < nkids; i++) {
			e = find_peer(peers, n, kid[i]);
			SHMKIT_ASSERT(e != NULL);
			SHMKIT_ASSERT_EQ(e->alive, 0);
		}
		SHMKIT_ASSERT_EQ(find_peer(peers, n, getpid())->alive, 1);

		SHMKIT_ASSERT_EQ(shmkit_chan_recover(prod), nkids);
		SHMKIT_ASSERT_EQ(shmkit_chan_recover(prod), 0);
		n = shmkit_chan_inspect(tgt.addr, &info, peers, 8);
		SHMKIT_ASSERT_EQ(n, 1);
		SHMKIT_ASSERT_EQ(peers[0].pid, getpid());
		SHMKIT_ASSERT_OK(shmkit_chan_info(prod, &info));
		SHMKIT_ASSERT_EQ(info.peers, 1);
		SHMKIT_ASSERT_EQ(shmkit_chan_close(prod), 0);
		chk_free();
		target_destroy(&tgt);
	}
}

/* A killed SPSC producer sent three messages first. */
static void
spsc_producer_sends_three(void *arg)
{
	unsigned char buf[MSG_MAX];
	shmkit_chan_t *ch;
	uint32_t seq;

	(void)arg;
	child_bound(20);
	ch = target_open_ok(&tgt, SHMKIT_CHAN_PRODUCER);
	for (seq = 0; seq < 3; seq++)
		SHMKIT_ASSERT_EQ(shmkit_chan_send(ch, buf,
						  msg_make(buf, 0, seq, MAXLEN),
						  NULL, SHMKIT_CHAN_NONBLOCK),
				 0);
	atomic_fetch_add(&sh->ready, 1);
	for (;;)
		pause();
}

/* The role of a killed peer is free again at once: no recover, no
 * unlink, no -EBUSY; while the peer lives it is not. */
static void
test_open_after_kill_needs_no_cleanup(void)
{
	shmkit_chan_opts_t mp = {
		.pattern = SHMKIT_CHAN_MPMC, .peers = 2, .msg_max = MAXLEN};
	struct timespec t1 = ms_ts(1000);
	uint32_t sent[1] = {3};
	shmkit_chan_t *a = NULL, *b = NULL;
	unsigned char buf[MSG_MAX];
	unsigned i;
	size_t len;
	pid_t kid[2];

	/* SPSC consumer. */
	make_chan(SHMKIT_CHAN_SPSC, 8);
	sh = chk_new(1, 16);
	kid[0] = shmkit_test_fork(parked_peer,
				  (void *)(uintptr_t)SHMKIT_CHAN_CONSUMER);
	FLAG_WAIT(&sh->ready, 1);
	SHMKIT_ASSERT_ERR(target_open(&tgt, &a, SHMKIT_CHAN_CONSUMER), -EBUSY);
	kill_reap(kid[0]);
	a = target_open_ok(&tgt, SHMKIT_CHAN_CONSUMER);

	/* SPSC producer, with messages of its own in the channel. */
	atomic_store(&sh->ready, 0);
	kid[0] = shmkit_test_fork(spsc_producer_sends_three, NULL);
	FLAG_WAIT(&sh->ready, 1);
	SHMKIT_ASSERT_ERR(target_open(&tgt, &b, SHMKIT_CHAN_PRODUCER), -EBUSY);
	kill_reap(kid[0]);
	b = target_open_ok(&tgt, SHMKIT_CHAN_PRODUCER);
	for (i = 0; i < 3; i++) {
		SHMKIT_ASSERT_EQ(
			shmkit_chan_recv(a, buf, sizeof(buf), &len, &t1, 0), 0);
		chk_got(sh, 0, buf, len, 0);
	}
	chk_assert(sh, "spsc after kills", 0, 1, 1, sent, CHK_UNION);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(a), 0);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(b), 0);
	chk_free();
	target_destroy(&tgt);

	/* Broadcast publisher. */
	make_chan(SHMKIT_CHAN_BROADCAST, 8);
	sh = chk_new(1, 1);
	kid[0] = shmkit_test_fork(parked_peer,
				  (void *)(uintptr_t)SHMKIT_CHAN_PRODUCER);
	FLAG_WAIT(&sh->ready, 1);
	SHMKIT_ASSERT_ERR(target_open(&tgt, &a, SHMKIT_CHAN_PRODUCER), -EBUSY);
	kill_reap(kid[0]);
	a = target_open_ok(&tgt, SHMKIT_CHAN_PRODUCER);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(a), 0);
	chk_free();
	target_destroy(&tgt);

	/* MPMC with a peer table full of the dead. */
	target_make(&tgt, "posix", &mp);
	sh = chk_new(1, 1);
	for (i = 0; i < 2; i++)
		kid[i] = shmkit_test_fork(
			parked_peer, (void *)(uintptr_t)SHMKIT_CHAN_CONSUMER);
	FLAG_WAIT(&sh->ready, 2);
	SHMKIT_ASSERT_ERR(target_open(&tgt, &a, SHMKIT_CHAN_CONSUMER), -EUSERS);
	for (i = 0; i < 2; i++)
		kill_reap(kid[i]);
	a = target_open_ok(&tgt, SHMKIT_CHAN_CONSUMER);
	b = target_open_ok(&tgt, SHMKIT_CHAN_PRODUCER);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(a), 0);
	SHMKIT_ASSERT_EQ(shmkit_chan_close(b), 0);
	chk_free();
	target_destroy(&tgt);
}

/*
 * A claimer or reaper that died with the entry in CLAIMING or REAPING,
 * its pid since reused by an unrelated live process (here the runner,
 * our parent, tagged with a start time not its own): the entry is a dead
 * one's, and the SPSC consumer place is free to a fresh open, not -EBUSY
 * until the runner exits. With the runner's real start time, or with no
 * start time recorded, the holder counts as alive and keeps the place.
 */
static void
test_dead_claimer_pid_reused(void)
{
	static const unsigned states[] = {PEER_CLAIMING, PEER_REAPING};
	int ppid = (int)getppid();
	uint64_t real = shmkit__proc_start_time(ppid);
	struct shmkit__chan_shm *csh;
	struct shmkit__chan_peer *cons;
	shmkit_chan_t *ch = NULL;
	shmkit_seg_t *seg;
	unsigned i;

	SHMKIT_ASSERT(real != 0);
	make_chan(SHMKIT_CHAN_SPSC, 8);
	SHMKIT_ASSERT_OK(shmkit_seg_open(&seg, tgt.addr, NULL));
	csh = seg_map(seg, 0);
	cons = (struct shmkit__chan_peer *)(void *)((unsigned char *)csh +
						    csh->ctl.peers_off) +
	       1;
	for (i = 0; i < 2; i++) {
		/* Held by the live runner: its real start time. */
		cons->word = PEER_WORD_TAGGED(ppid, states[i], real);
		SHMKIT_ASSERT_ERR(target_open(&tgt, &ch, SHMKIT_CHAN_CONSUMER),
				  -EBUSY);
		/* No start time recorded: the pid alone decides. */
		cons->word = PEER_WORD(ppid, states[i]);
		SHMKIT_ASSERT_ERR(target_open(&tgt, &ch, SHMKIT_CHAN_CONSUMER),
				  -EBUSY);
		/* A dead holder whose pid the runner reuses. */
		cons->word = PEER_WORD_TAGGED(ppid, states[i], real + 1);
		ch = target_open_ok(&tgt, SHMKIT_CHAN_CONSUMER);
		SHMKIT_ASSERT_EQ(cons->pid, (int32_t)getpid());
		SHMKIT_ASSERT_EQ(shmkit_chan_close(ch), 0);
		SHMKIT_ASSERT_EQ(cons->word, PEER_WORD(0, PEER_FREE));
		/* A scribbled tag is one more start time to compare
		 * (all ones: not the runner's, bar one chance in 2^23). */
		cons->word = PEER_WORD(ppid, states[i]) | ~0ull << 40;
		if (PEER_TAG(real) == 0xffffffu)
			continue;
		ch = target_open_ok(&tgt, SHMKIT_CHAN_CONSUMER);
		SHMKIT_ASSERT_EQ(shmkit_chan_close(ch), 0);
	}
	SHMKIT_ASSERT_OK(shmkit_seg_close(seg));
	target_destroy(&tgt);
}

SHMKIT_TESTS = {
	{"producer_killed_in_reserve_spsc",
	 test_producer_killed_in_reserve_spsc},
	{"producer_killed_in_reserve_mpmc",
	 test_producer_killed_in_reserve_mpmc},
	{"producer_killed_with_batch_spsc",
	 test_producer_killed_with_batch_spsc},
	{"consumer_killed_in_peek_spsc", test_consumer_killed_in_peek_spsc},
	{"consumer_killed_in_peek_mpmc", test_consumer_killed_in_peek_mpmc},
	{"subscriber_killed_publisher_continues",
	 test_subscriber_killed_publisher_continues},
	{"random_kill_rounds_spsc", test_random_kill_rounds_spsc},
	{"random_kill_rounds_mpmc", test_random_kill_rounds_mpmc},
	{"random_producer_kills_batches_spsc",
	 test_random_producer_kills_batches_spsc},
	{"inspect_shows_dead_peer", test_inspect_shows_dead_peer},
	{"open_after_kill_needs_no_cleanup",
	 test_open_after_kill_needs_no_cleanup},
	{"dead_claimer_pid_reused", test_dead_claimer_pid_reused},
	{NULL, NULL},
};
