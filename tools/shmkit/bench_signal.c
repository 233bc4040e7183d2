/*
 * bench_signal.c: real-time signals (sigqueue + sigwaitinfo) and eventfd,
 * the two notification mechanisms. Neither carries a payload: a signal
 * carries one int, an eventfd a 64-bit counter. Both carry the message's
 * sequence number in it, so the driver still checks order and loss; they
 * are measured once, as size 0.
 *
 * Signals: BENCH_SIGNAL is blocked in both processes (the child inherits
 * the mask) and taken synchronously with sigwaitinfo(2), the fastest way
 * to receive one. The queue of pending real-time signals is bounded
 * (RLIMIT_SIGPENDING): a sender that finds it full yields and retries.
 *
 * eventfd: one per direction. Writes add to the counter and a read takes
 * the sum, so a receiver that falls behind gets several messages in one
 * read. The sum of consecutive sequence numbers from the one expected is
 * decoded back into messages; any other value is a failed check.
 */
#include "bench.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static sigset_t saved_mask;

static int
signal_setup(struct bench_ctx *c)
{
	sigset_t set;

	(void)c;
	sigemptyset(&set);
	sigaddset(&set, BENCH_SIGNAL);
	if (sigprocmask(SIG_BLOCK, &set, &saved_mask) < 0)
		return -errno;
	return 0;
}

static int
signal_send(struct bench_ctx *c, const void *buf, size_t len)
{
	union sigval v;
	uint64_t seq;
	int rc;

	(void)len;
	memcpy(&seq, buf, sizeof(seq));
	v.sival_int = (int)(uint32_t)seq;
	while (sigqueue(c->peer, BENCH_SIGNAL, v) < 0) {
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		rc = bench_check();
		if (rc < 0)
			return rc;
		sched_yield(); /* the peer's queue is full: let it drain */
	}
	return 0;
}

static int
signal_recv(struct bench_ctx *c, void *buf, size_t len)
{
	siginfo_t si;
	sigset_t set;
	uint64_t seq;
	int rc;

	(void)len;
	sigemptyset(&set);
	sigaddset(&set, BENCH_SIGNAL);
	for (;;) {
		if (sigwaitinfo(&set, &si) >= 0)
			break;
		if (errno != EINTR)
			return -errno;
		rc = bench_check();
		if (rc < 0)
			return rc;
	}
	if (si.si_code != SI_QUEUE || si.si_pid != c->peer)
		return -EBADMSG;
	seq = (uint32_t)si.si_value.sival_int;
	memcpy(buf, &seq, sizeof(seq));
	return 0;
}

static void
signal_fini(struct bench_ctx *c)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	(void)c;
	/* Drop what the dead peer left queued, then unblock. */
	sigemptyset(&set);
	sigaddset(&set, BENCH_SIGNAL);
	while (sigtimedwait(&set, NULL, &zero) >= 0)
		;
	sigprocmask(SIG_SETMASK, &saved_mask, NULL);
}

static int
eventfd_setup(struct bench_ctx *c)
{
	int rc;

	c->fd[0] = eventfd(0, EFD_CLOEXEC);
	if (c->fd[0] < 0)
		return -errno;
	c->fd[1] = eventfd(0, EFD_CLOEXEC);
	if (c->fd[1] < 0) {
		rc = -errno;
		bench_close(&c->fd[0]);
		return rc;
	}
	return 0;
}

static int
eventfd_send(struct bench_ctx *c, const void *buf, size_t len)
{
	(void)len;
	return bench_write_full(c->fd[c->side == BENCH_PARENT ? 0 : 1], buf,
				sizeof(uint64_t));
}

static int
eventfd_recv(struct bench_ctx *c, void *buf, size_t len)
{
	uint64_t v, sum = 0, k = 0;
	int rc;

	(void)len;
	if (c->pending == 0) {
		rc = bench_read_full(c->fd[c->side == BENCH_PARENT ? 1 : 0],
				     &v, sizeof(v));
		if (rc < 0)
			return rc;
		while (sum < v) {
			sum += c->expect + k;
			k++;
		}
		if (sum != v || k == 0) {
			/* Not a run of consecutive messages: hand the raw
			 * value to the driver, whose check will fail. */
			memcpy(buf, &v, sizeof(v));
			return 0;
		}
		c->pending = k;
	}
	c->pending--;
	v = c->expect++;
	memcpy(buf, &v, sizeof(v));
	return 0;
}

static void
eventfd_fini(struct bench_ctx *c)
{
	bench_close(&c->fd[0]);
	bench_close(&c->fd[1]);
}

const struct bench_ops bench_signal_ops = {
	.setup = signal_setup,
	.send = signal_send,
	.recv = signal_recv,
	.fini = signal_fini,
};

const struct bench_ops bench_eventfd_ops = {
	.setup = eventfd_setup,
	.send = eventfd_send,
	.recv = eventfd_recv,
	.fini = eventfd_fini,
};
