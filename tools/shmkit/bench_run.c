/*
 * bench_run.c: the driver of "shmkit bench".
 *
 * For one mechanism at one size it forks a peer, pins parent and child to
 * different CPUs, runs a ping-pong (round-trip latency, one sample per
 * round trip, sorted into percentiles) and then a one-way stream
 * (throughput: messages sent for --duration, timed until the peer
 * acknowledges the last one). Every message is stamped with its sequence
 * number and a pattern and checked on arrival by the side that receives
 * it; a mismatch fails the mechanism with the message and byte named.
 *
 * The two processes agree on when a phase ends through a small control
 * page (anonymous shared memory), not through in-band markers, so the
 * messages of every mechanism are the same: consecutive sequence numbers.
 *
 * Signals: SIGINT/SIGTERM/SIGHUP set a flag and SIGCHLD another, without
 * SA_RESTART, so a mechanism blocked in the kernel returns EINTR and asks
 * bench_check() whether to go on. A one-second interval timer does the
 * same for a wake-up that was lost to a race, and enforces a deadline per
 * measurement so a stuck peer fails the mechanism instead of hanging.
 */
#include "bench.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/error.h>

/* Bytes a mechanism of each kind carries per message. */
#define TOKEN_CARRY 8  /* the sequence number is the token's value */
#define FLOOR_CARRY 56 /* one cache line less its 8-byte flag */

/* A measurement taking longer than this has a stuck peer. */
#define DEADLINE_S 30.0

/* The latency phase keeps at least this many samples under --duration. */
#define MIN_SAMPLES 10

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t child_gone;
static double deadline;
static struct sigaction saved[6];
static const int handled[6] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGALRM,
				SIGPIPE };

/* Shared by parent and child for one measurement. */
struct ctl {
	/* Written by the parent before it sends the last ping (release);
	 * read by the child after each ping (acquire): the child stops
	 * echoing when it has seen this many. */
	_Atomic uint64_t lat_total;
	/* The same for the stream: the sequence number of its last message. */
	_Atomic uint64_t tput_last;
	char why[200]; /* the child's reason for failing */
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
on_signal(int sig)
{
	if (sig == SIGCHLD)
		child_gone = 1;
	else if (sig != SIGALRM && sig != SIGPIPE)
		stop_signal = sig;
}

void
bench_signals_init(void)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: blocked calls must come back and look at the
	 * flags. SIGPIPE is handled (not ignored) so a write to a dead
	 * peer fails with EPIPE while exec'd programs get the default. */
	sa.sa_flags = 0;
	for (i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaction(handled[i], &sa, &saved[i]);
}

void
bench_signals_fini(void)
{
	size_t i;

	for (i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaction(handled[i], &saved[i], NULL);
}

int
bench_interrupted(void)
{
	return stop_signal;
}

int
bench_check(void)
{
	if (stop_signal)
		return -ECANCELED;
	if (child_gone)
		return -ECHILD;
	if (now() > deadline)
		return -ETIMEDOUT;
	return 0;
}

int
bench_spin(unsigned long *spins)
{
	++*spins;
	if (stop_signal)
		return -ECANCELED;
	if (child_gone)
		return -ECHILD;
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
	/* On a single CPU (or a loaded one) the peer needs our core to make
	 * progress: give it away now and then. */
	if ((*spins & 4095) == 0) {
		sched_yield();
		if (now() > deadline)
			return -ETIMEDOUT;
	}
	return 0;
}

int
bench_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;
	int rc;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno != EINTR)
				return -errno;
			rc = bench_check();
			if (rc < 0)
				return rc;
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
bench_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;
	int rc;

	while (len > 0) {
		n = read(fd, p, len);
		if (n < 0) {
			if (errno != EINTR)
				return -errno;
			rc = bench_check();
			if (rc < 0)
				return rc;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void
bench_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* The pattern byte at offset off of message seq: differs between
 * neighbouring messages and between the pages of one message, so stale,
 * reordered or misplaced data shows. */
static unsigned char
pattern(uint64_t seq, size_t off)
{
	return (unsigned char)(seq * 131u + (off >> 12) * 7u + 1u);
}

/* Stamp the sequence number and one pattern byte per 4 KiB page plus the
 * last byte: checking every byte would measure our loop, not the
 * mechanism, yet any torn or stale page is still caught. */
static void
stamp(unsigned char *buf, size_t len, uint64_t seq)
{
	size_t off;

	memcpy(buf, &seq, sizeof(seq));
	for (off = 8; off < len; off += 4096)
		buf[off] = pattern(seq, off);
	if (len > 8)
		buf[len - 1] = pattern(seq, len - 1);
}

void
bench_copy_stamped(void *dst, const void *src, size_t len)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	size_t off;

	/* The offsets of stamp() and verify(), kept next to them. */
	memcpy(d, s, len < 8 ? len : 8);
	for (off = 8; off < len; off += 4096)
		d[off] = s[off];
	if (len > 8)
		d[len - 1] = s[len - 1];
}

static int
check_byte(const unsigned char *buf, size_t off, uint64_t seq, char *why,
	   size_t whylen)
{
	if (buf[off] == pattern(seq, off))
		return 0;
	snprintf(why, whylen,
		 "data check failed: message %llu byte %zu is 0x%02x, "
		 "expected 0x%02x",
		 (unsigned long long)seq, off, buf[off], pattern(seq, off));
	return -1;
}

static int
verify(const unsigned char *buf, size_t len, uint64_t seq, char *why,
       size_t whylen)
{
	uint64_t got;
	size_t off;

	memcpy(&got, buf, sizeof(got));
	if (got != seq) {
		snprintf(why, whylen,
			 "data check failed: message %llu arrived as %llu",
			 (unsigned long long)seq, (unsigned long long)got);
		return -1;
	}
	for (off = 8; off < len; off += 4096)
		if (check_byte(buf, off, seq, why, whylen) < 0)
			return -1;
	if (len > 8 && check_byte(buf, len - 1, seq, why, whylen) < 0)
		return -1;
	return 0;
}

static size_t
carry(const struct bench_mech *m, size_t size)
{
	switch (m->kind) {
	case BENCH_TOKEN:
		return TOKEN_CARRY;
	case BENCH_FLOOR:
		return FLOOR_CARRY;
	case BENCH_PAYLOAD:
	case BENCH_ZEROCOPY:
	case BENCH_LOCAL:
	case BENCH_SYNC:
		break;
	}
	return size;
}

static void
set_timer(void)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	it.it_interval.tv_sec = 1;
	it.it_value.tv_sec = 1;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void
clear_timer(void)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
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

static const char *
errtext(int rc)
{
	switch (rc) {
	case -ECHILD:
		return "the peer process exited";
	case -ETIMEDOUT:
		return "the peer stopped answering (timed out)";
	case -ECANCELED:
		return "interrupted";
	case -ECONNRESET:
		return "the peer closed its end";
	default:
		return shmkit_strerror(rc);
	}
}

/* The child: echo pings, then swallow the stream and acknowledge it. */
static void __attribute__((noreturn))
child_main(struct bench_ctx *c, struct ctl *ctl, size_t len,
	   unsigned char *rbuf, unsigned char *sbuf)
{
	const struct bench_ops *ops = c->mech->ops;
	uint64_t in = 0, out = 0, total, last;
	int rc;

	for (;;) {
		rc = ops->recv(c, rbuf, len);
		if (rc < 0)
			goto fail;
		if (verify(rbuf, len, ++in, ctl->why, sizeof(ctl->why)) < 0)
			_exit(1);
		stamp(sbuf, len, ++out);
		rc = ops->send(c, sbuf, len);
		if (rc < 0)
			goto fail;
		/* Acquire: pairs with the parent's release store made before
		 * it sent this ping. */
		total = atomic_load_explicit(&ctl->lat_total,
					     memory_order_acquire);
		if (total != 0 && in == total)
			break;
	}
	for (;;) {
		rc = ops->recv(c, rbuf, len);
		if (rc < 0)
			goto fail;
		if (verify(rbuf, len, ++in, ctl->why, sizeof(ctl->why)) < 0)
			_exit(1);
		/* Acquire: pairs with the release store before the last send. */
		last = atomic_load_explicit(&ctl->tput_last,
					    memory_order_acquire);
		if (last != 0 && in == last)
			break;
	}
	stamp(sbuf, len, ++out);
	rc = ops->send(c, sbuf, len);
	if (rc < 0)
		goto fail;
	/* The parent kills us once it has the acknowledgement; wait so a
	 * SIGCHLD cannot race with its last receive. */
	for (;;)
		pause();
fail:
	snprintf(ctl->why, sizeof(ctl->why), "peer: %s", errtext(rc));
	_exit(1);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentiles of n sorted samples. */
static void
percentiles(uint64_t *s, unsigned long n, struct bench_result *r)
{
	static const double q[BENCH_NLAT] = { 0.50, 0.90, 0.99, 0.999, 1.0 };
	unsigned long k;
	int i;

	qsort(s, n, sizeof(*s), cmp_u64);
	for (i = 0; i < BENCH_NLAT; i++) {
		k = (unsigned long)(q[i] * (double)n + 0.999999);
		if (k < 1)
			k = 1;
		if (k > n)
			k = n;
		r->lat[i] = (double)s[k - 1];
		/* A round trip below the clock's resolution still took time. */
		if (r->lat[i] < 1)
			r->lat[i] = 1;
	}
	r->samples = n;
}

static uint64_t
ns_between(const struct timespec *a, const struct timespec *b)
{
	return (uint64_t)(b->tv_sec - a->tv_sec) * 1000000000u +
	       (uint64_t)b->tv_nsec - (uint64_t)a->tv_nsec;
}

/* The ceiling: memcpy in this process, same sizes. */
static void
measure_memcpy(size_t size, const struct bench_opts *o, uint64_t *samples,
	       struct bench_result *r)
{
	unsigned char *src, *dst;
	struct timespec a, b;
	unsigned long i, n = 0;
	double t0, t;

	src = malloc(size);
	dst = malloc(size);
	if (src == NULL || dst == NULL) {
		r->status = BENCH_FAILED;
		snprintf(r->why, sizeof(r->why), "%s", shmkit_strerror(-ENOMEM));
		goto out;
	}
	memset(src, 0xa5, size);
	memset(dst, 0x5a, size);
	for (i = 0; i < o->warmup; i++)
		memcpy(dst, src, size);
	t0 = now();
	for (i = 0; i < o->iterations; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		memcpy(dst, src, size);
		/* Keep the copy: the compiler may not drop it. */
		__asm__ __volatile__("" : : "r"(dst) : "memory");
		clock_gettime(CLOCK_MONOTONIC, &b);
		samples[n++] = ns_between(&a, &b);
		if (n >= MIN_SAMPLES && now() - t0 > o->duration)
			break;
	}
	percentiles(samples, n, r);
	n = 0;
	t0 = now();
	do {
		for (i = 0; i < 8; i++, n++) {
			memcpy(dst, src, size);
			__asm__ __volatile__("" : : "r"(dst) : "memory");
		}
		t = now() - t0;
	} while (t < o->duration);
	if (memcmp(dst, src, size) != 0) {
		r->status = BENCH_FAILED;
		snprintf(r->why, sizeof(r->why), "memcpy result differs");
		goto out;
	}
	r->msgs = (double)n / t;
	r->bytes = r->msgs * (double)size;
	r->status = BENCH_OK;
out:
	free(src);
	free(dst);
}

/* The parent's side of one measurement: 0, or a negative errno with the
 * reason in r->why when it is more than errtext() says. */
static int
parent_main(struct bench_ctx *c, struct ctl *ctl, size_t len,
	    const struct bench_opts *o, uint64_t *samples,
	    unsigned char *rbuf, unsigned char *sbuf, struct bench_result *r)
{
	const struct bench_ops *ops = c->mech->ops;
	unsigned long total = o->warmup + o->iterations, n = 0, i, w;
	uint64_t out = 0, in = 0, first;
	struct timespec a, b;
	double t0, t1;
	int rc, last;

	t0 = now();
	for (i = 1; i <= total; i++) {
		last = i == total ||
		       (n >= MIN_SAMPLES && now() - t0 > o->duration);
		if (last) {
			/* Release: the child reads it (acquire) after
			 * receiving the ping sent below. */
			atomic_store_explicit(&ctl->lat_total, i,
					      memory_order_release);
		}
		stamp(sbuf, len, ++out);
		clock_gettime(CLOCK_MONOTONIC, &a);
		rc = ops->send(c, sbuf, len);
		if (rc < 0)
			return rc;
		rc = ops->recv(c, rbuf, len);
		if (rc < 0)
			return rc;
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (verify(rbuf, len, ++in, r->why, sizeof(r->why)) < 0)
			return -EBADMSG;
		if (i > o->warmup)
			samples[n++] = ns_between(&a, &b);
		if (last)
			break;
	}
	percentiles(samples, n, r);

	/* A short warm-up fills the pipeline before the clock starts. */
	w = o->warmup < 64 ? o->warmup : 64;
	for (i = 0; i < w; i++) {
		stamp(sbuf, len, ++out);
		rc = ops->send(c, sbuf, len);
		if (rc < 0)
			return rc;
	}
	first = out;
	t0 = now();
	for (last = 0; !last;) {
		++out;
		if ((out & 7) == 0 && now() - t0 >= o->duration) {
			last = 1;
			/* Release: pairs with the child's acquire load after
			 * it receives this message. */
			atomic_store_explicit(&ctl->tput_last, out,
					      memory_order_release);
		}
		stamp(sbuf, len, out);
		c->more = !last;
		rc = ops->send(c, sbuf, len);
		if (rc < 0)
			return rc;
	}
	c->more = 0;
	rc = ops->recv(c, rbuf, len);
	if (rc < 0)
		return rc;
	t1 = now();
	if (verify(rbuf, len, ++in, r->why, sizeof(r->why)) < 0)
		return -EBADMSG;
	r->msgs = (double)(out - first) / (t1 - t0);
	/* Bytes only where they were copied: a zero-copy row's would be
	 * message sizes handed over, not comparable with memcpy's. */
	r->bytes = c->mech->kind == BENCH_PAYLOAD ? r->msgs * (double)c->size
						  : 0;
	return 0;
}

/* Mark r failed, the reason being prefix then what. */
static void
fail(struct bench_result *r, const char *prefix, const char *what)
{
	r->status = BENCH_FAILED;
	snprintf(r->why, sizeof(r->why), "%s%s", prefix, what);
}

void
bench_measure(const struct bench_mech *m, size_t size,
	      const struct bench_opts *o, const struct bench_machine *mc,
	      struct bench_result *r)
{
	struct bench_ctx c;
	struct ctl *ctl = MAP_FAILED;
	unsigned char *rbuf = NULL, *sbuf = NULL;
	uint64_t *samples;
	size_t len = carry(m, size);
	pid_t pid;
	int rc, i;

	memset(r, 0, sizeof(*r));
	r->mech = m;
	r->size = size;
	samples = calloc(o->warmup + o->iterations + 1, sizeof(*samples));
	if (samples == NULL) {
		fail(r, "", shmkit_strerror(-ENOMEM));
		return;
	}
	if (m->kind == BENCH_LOCAL) {
		measure_memcpy(size, o, samples, r);
		free(samples);
		return;
	}

	memset(&c, 0, sizeof(c));
	c.mech = m;
	c.size = size;
	for (i = 0; i < 4; i++)
		c.fd[i] = -1;
	c.mq[0] = c.mq[1] = (mqd_t)-1;
	c.msqid = -1;
	c.map = MAP_FAILED;
	c.expect = 1;

	rbuf = malloc(len);
	sbuf = malloc(len);
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rbuf == NULL || sbuf == NULL || ctl == MAP_FAILED) {
		fail(r, "", shmkit_strerror(-ENOMEM));
		goto out_free;
	}
	memset(rbuf, 0, len);
	memset(sbuf, 0xa5, len);

	child_gone = 0;
	deadline = now() + DEADLINE_S + 4 * o->duration;
	rc = m->ops->setup(&c);
	if (rc == -EMSGSIZE) {
		r->status = BENCH_NA;
		snprintf(r->why, sizeof(r->why), "%s", c.why);
		goto out_free;
	}
	if (rc < 0) {
		r->status = BENCH_FAILED;
		if (c.why[0] != '\0')
			snprintf(r->why, sizeof(r->why), "%s: %s", c.why,
				 shmkit_strerror(rc));
		else
			snprintf(r->why, sizeof(r->why), "setup: %s",
				 shmkit_strerror(rc));
		goto out_free;
	}

	fflush(NULL); /* the child must not flush our buffers twice */
	c.peer = getpid();
	pid = fork();
	if (pid < 0) {
		fail(r, "fork: ", shmkit_strerror(-errno));
		c.side = BENCH_PARENT;
		m->ops->fini(&c);
		goto out_free;
	}
	if (pid == 0) {
		/* A parent killed outright must not leave us spinning. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != c.peer)
			_exit(1);
		c.side = BENCH_CHILD;
		if (mc->pinned)
			pin(mc->cpu_b);
		set_timer();
		if (m->ops->attach != NULL)
			m->ops->attach(&c);
		child_main(&c, ctl, len, rbuf, sbuf);
	}
	c.side = BENCH_PARENT;
	c.peer = pid;
	if (m->ops->attach != NULL)
		m->ops->attach(&c);
	set_timer();
	rc = parent_main(&c, ctl, len, o, samples, rbuf, sbuf, r);
	clear_timer();
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	m->ops->fini(&c);
	if (rc == 0) {
		r->status = BENCH_OK;
	} else if (rc != -EBADMSG) {
		/* The child's own account of a failure is the better one. */
		if (ctl->why[0] != '\0')
			fail(r, "", ctl->why);
		else
			fail(r, "", errtext(rc));
	} else {
		r->status = BENCH_FAILED;
	}
out_free:
	if (ctl != MAP_FAILED)
		munmap(ctl, sizeof(*ctl));
	free(rbuf);
	free(sbuf);
	free(samples);
	child_gone = 0;
}

static void
cpu_model(char *buf, size_t len)
{
	static const char *const keys[] = { "model name", "Model",
					    "Processor", "cpu model",
					    "cpu" };
	char line[512], *v, *e;
	FILE *f;
	size_t k;

	snprintf(buf, len, "unknown CPU");
	f = fopen("/proc/cpuinfo", "re");
	if (f == NULL)
		return;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		rewind(f);
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, keys[k], strlen(keys[k])) != 0)
				continue;
			v = strchr(line, ':');
			if (v == NULL)
				continue;
			for (v++; *v == ' ' || *v == '\t'; v++)
				;
			e = v + strlen(v);
			while (e > v && (e[-1] == '\n' || e[-1] == ' '))
				*--e = '\0';
			if (*v == '\0')
				continue;
			snprintf(buf, len, "%s", v);
			fclose(f);
			return;
		}
	}
	fclose(f);
}

void
bench_machine_probe(struct bench_machine *mc, int want_pin)
{
	struct utsname u;
	cpu_set_t set;
	int i, n = 0;

	memset(mc, 0, sizeof(*mc));
	cpu_model(mc->cpu, sizeof(mc->cpu));
	mc->cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (uname(&u) == 0)
		snprintf(mc->kernel, sizeof(mc->kernel), "%s %s %s",
			 u.sysname, u.release, u.machine);
	else
		snprintf(mc->kernel, sizeof(mc->kernel), "unknown");
	mc->cpu_a = mc->cpu_b = -1;
	if (!want_pin || sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	for (i = 0; i < CPU_SETSIZE && n < 2; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (n++ == 0)
			mc->cpu_a = i;
		else
			mc->cpu_b = i;
	}
	if (n < 2) {
		mc->cpu_a = mc->cpu_b = -1;
		return;
	}
	mc->pinned = 1;
	pin(mc->cpu_a);
}
