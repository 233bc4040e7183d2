/*
 * The seqlock: readers in other processes and threads never see a torn
 * record while a writer updates it, readers get an error (not an endless
 * spin) when the writer dies or stops mid-write, the next writer repairs,
 * and garbage in the object gives errors. The record is checkable: every
 * word of it holds the same value, and every byte of a second, unaligned
 * record holds the same byte.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include <shmkit/seqlock.h>

#include "shmkit_test.h"

#define WORDS 8
#define BYTES 83 /* odd length at an odd offset: byte head and tail paths */

struct shared {
	shmkit_seqlock_t sl;
	uint64_t rec[WORDS];
	unsigned char pad[5];
	unsigned char bytes[BYTES];
	_Atomic int readers_done;
	_Atomic int flag;
	_Atomic int go;
	_Atomic int errors;
	_Atomic long reads;
	_Atomic long writes;
};

static struct shared *
shared_new(void)
{
	struct shared *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (s == MAP_FAILED)
		SHMKIT_FAIL("mmap: %s", strerror(errno));
	SHMKIT_ASSERT_OK(shmkit_seqlock_init(&s->sl));
	return s;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void
wait_for(_Atomic int *v, int want)
{
	int i;

	for (i = 0; i < 10000; i++) {
		if (atomic_load(v) >= want)
			return;
		sleep_ms(1);
	}
	SHMKIT_FAIL("timed out waiting for a flag to reach %d", want);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Write value v into both records as one update. */
static int
write_value(struct shared *s, uint64_t v)
{
	uint64_t rec[WORDS];
	unsigned char bytes[BYTES];
	int i, rc;

	for (i = 0; i < WORDS; i++)
		rec[i] = v;
	memset(bytes, (int)(v & 0xff), sizeof(bytes));
	rc = shmkit_seqlock_write_begin(&s->sl);
	if (rc < 0 && rc != -EOWNERDEAD)
		return rc;
	shmkit_seqlock_store(s->rec, rec, sizeof(rec));
	shmkit_seqlock_store(s->bytes, bytes, sizeof(bytes));
	return shmkit_seqlock_write_end(&s->sl);
}

/* Returns 0 if consistent; *v gets the value. Alternates the convenience
 * read (words only) and begin/load/retry (both records). */
static int
read_check(struct shared *s, int manual, uint64_t *v)
{
	uint64_t rec[WORDS];
	unsigned char bytes[BYTES];
	uint32_t seq;
	int i, rc;

	if (!manual) {
		rc = shmkit_seqlock_read(&s->sl, rec, s->rec, sizeof(rec));
		if (rc < 0)
			return rc;
		memset(bytes, (int)(rec[0] & 0xff), sizeof(bytes));
	} else {
		do {
			rc = shmkit_seqlock_read_begin(&s->sl, &seq);
			if (rc < 0)
				return rc;
			shmkit_seqlock_load(rec, s->rec, sizeof(rec));
			shmkit_seqlock_load(bytes, s->bytes, sizeof(bytes));
		} while (shmkit_seqlock_read_retry(&s->sl, seq));
	}
	for (i = 1; i < WORDS; i++) {
		if (rec[i] != rec[0])
			return 1;
	}
	for (i = 0; i < BYTES; i++) {
		if (bytes[i] != (unsigned char)(rec[0] & 0xff))
			return 1;
	}
	*v = rec[0];
	return 0;
}

/* Readers: a fixed number of reads, each checked; values never go back. */
static void
reader(struct shared *s, long nreads, int manual)
{
	uint64_t v, last = 0;
	long i;

	/* Start once the writer is writing, so that reads and writes
	 * overlap (bounded: the writer starts within milliseconds). */
	for (i = 0; i < 10000 && atomic_load(&s->writes) == 0; i++)
		sleep_ms(1);
	for (i = 0; i < nreads; i++) {
		if (read_check(s, manual, &v) != 0 || v < last) {
			atomic_fetch_add(&s->errors, 1);
			break;
		}
		last = v;
		atomic_fetch_add(&s->reads, 1);
	}
	atomic_fetch_add(&s->readers_done, 1);
}

/* Writer: until the readers are done (bounded), with a breather now and
 * then so readers are not starved on a two-core machine. */
static void
writer(struct shared *s, int nreaders)
{
	uint64_t v;

	for (v = 1; v < 50000000; v++) {
		if (atomic_load(&s->readers_done) >= nreaders)
			break;
		if (write_value(s, v) != 0) {
			atomic_fetch_add(&s->errors, 1);
			break;
		}
		atomic_fetch_add(&s->writes, 1);
		if ((v & 63) == 0)
			sched_yield();
	}
}

#define PROC_READS 20000

static void
reader_proc(void *arg)
{
	reader(arg, PROC_READS, (int)(getpid() & 1));
}

static void
writer_proc(void *arg)
{
	writer(arg, 2);
}

static void
test_consistent_reads_processes(void)
{
	struct shared *s = shared_new();
	pid_t w, r1, r2;

	w = shmkit_test_fork(writer_proc, s);
	r1 = shmkit_test_fork(reader_proc, s);
	r2 = shmkit_test_fork(reader_proc, s);
	SHMKIT_ASSERT_CHILD_OK(r1);
	SHMKIT_ASSERT_CHILD_OK(r2);
	SHMKIT_ASSERT_CHILD_OK(w);
	SHMKIT_ASSERT_EQ(atomic_load(&s->errors), 0);
	SHMKIT_ASSERT_EQ(atomic_load(&s->reads), 2 * PROC_READS);
	SHMKIT_ASSERT(atomic_load(&s->writes) > 0);
	SHMKIT_ASSERT_OK(shmkit_seqlock_fini(&s->sl));
}

#define THREAD_READS 5000

static void *
reader_thread(void *arg)
{
	static _Atomic int n;

	reader(arg, THREAD_READS, atomic_fetch_add(&n, 1) & 1);
	return NULL;
}

static void *
writer_thread(void *arg)
{
	writer(arg, 2);
	return NULL;
}

static void
test_consistent_reads_threads(void)
{
	struct shared *s = shared_new();
	pthread_t w, r1, r2;

	SHMKIT_ASSERT_EQ(pthread_create(&w, NULL, writer_thread, s), 0);
	SHMKIT_ASSERT_EQ(pthread_create(&r1, NULL, reader_thread, s), 0);
	SHMKIT_ASSERT_EQ(pthread_create(&r2, NULL, reader_thread, s), 0);
	SHMKIT_ASSERT_EQ(pthread_join(r1, NULL), 0);
	SHMKIT_ASSERT_EQ(pthread_join(r2, NULL), 0);
	SHMKIT_ASSERT_EQ(pthread_join(w, NULL), 0);
	SHMKIT_ASSERT_EQ(atomic_load(&s->errors), 0);
	SHMKIT_ASSERT_EQ(atomic_load(&s->reads), 2 * THREAD_READS);
	SHMKIT_ASSERT(atomic_load(&s->writes) > 0);
}

static void
test_retry_sees_overlapping_write(void)
{
	struct shared *s = shared_new();
	uint64_t v = 5;
	uint32_t seq, seq2;

	SHMKIT_ASSERT_OK(shmkit_seqlock_read_begin(&s->sl, &seq));
	SHMKIT_ASSERT_EQ(shmkit_seqlock_read_retry(&s->sl, seq), 0);
	SHMKIT_ASSERT_EQ(
		shmkit_seqlock_write(&s->sl, &s->rec[0], &v, sizeof(v)), 0);
	SHMKIT_ASSERT_EQ(shmkit_seqlock_read_retry(&s->sl, seq), 1);
	SHMKIT_ASSERT_OK(shmkit_seqlock_read_begin(&s->sl, &seq2));
	SHMKIT_ASSERT_NE(seq, seq2);
	v = 0;
	SHMKIT_ASSERT_OK(
		shmkit_seqlock_read(&s->sl, &v, &s->rec[0], sizeof(v)));
	SHMKIT_ASSERT_EQ(v, 5);
}

static void
test_writer_errors(void)
{
	struct shared *s = shared_new();

	SHMKIT_ASSERT_ERR(shmkit_seqlock_write_end(&s->sl), -EPERM);
	SHMKIT_ASSERT_OK(shmkit_seqlock_write_begin(&s->sl));
	SHMKIT_ASSERT_ERR(shmkit_seqlock_write_begin(&s->sl), -EDEADLK);
	SHMKIT_ASSERT_ERR(shmkit_seqlock_fini(&s->sl), -EBUSY);
	SHMKIT_ASSERT_OK(shmkit_seqlock_write_end(&s->sl));
	SHMKIT_ASSERT_ERR(shmkit_seqlock_write_end(&s->sl), -EPERM);
	SHMKIT_ASSERT_ERR(shmkit_seqlock_init(NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seqlock_read(&s->sl, NULL, s->rec, 8),
			  -EINVAL);
	SHMKIT_ASSERT_EQ(sizeof(shmkit_seqlock_t), 128);
	SHMKIT_ASSERT_EQ(_Alignof(shmkit_seqlock_t), 8);
	SHMKIT_ASSERT_OK(shmkit_seqlock_fini(&s->sl));
	SHMKIT_ASSERT_ERR(shmkit_seqlock_write_begin(&s->sl), SHMKIT_ECORRUPT);
}

/* Begin a write, tear the record, die. */
static void
die_mid_write(void *arg)
{
	struct shared *s = arg;
	uint64_t v = 99;

	SHMKIT_ASSERT_OK(write_value(s, 1));
	SHMKIT_ASSERT_EQ(shmkit_seqlock_write_begin(&s->sl), 0);
	shmkit_seqlock_store(&s->rec[0], &v, sizeof(v));
	raise(SIGKILL);
}

static void
expect_broken(void *arg)
{
	struct shared *s = arg;
	uint64_t v;

	alarm(10);
	SHMKIT_ASSERT_ERR(read_check(s, 0, &v), SHMKIT_EBROKEN);
	SHMKIT_ASSERT_ERR(read_check(s, 1, &v), SHMKIT_EBROKEN);
}

static void
test_writer_killed_mid_write(void)
{
	struct shared *s = shared_new();
	uint64_t start, v;
	uint32_t seq;

	SHMKIT_ASSERT_CHILD_SIGNAL(shmkit_test_fork(die_mid_write, s), SIGKILL);
	start = now_ms();
	SHMKIT_ASSERT_ERR(shmkit_seqlock_read_begin(&s->sl, &seq),
			  SHMKIT_EBROKEN);
	/* Within the bound (generous: never assert on speed). */
	SHMKIT_ASSERT(now_ms() - start < 10 * SHMKIT_SEQLOCK_READ_TIMEOUT_MS);
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(expect_broken, s));
	/* The next writer is told and rewrites; readers recover. */
	SHMKIT_ASSERT_ERR(shmkit_seqlock_write_begin(&s->sl), -EOWNERDEAD);
	SHMKIT_ASSERT_OK(shmkit_seqlock_write_end(&s->sl));
	SHMKIT_ASSERT_EQ(read_check(s, 1, &v), 1); /* published, still torn */
	SHMKIT_ASSERT_OK(write_value(s, 7));
	SHMKIT_ASSERT_EQ(read_check(s, 0, &v), 0);
	SHMKIT_ASSERT_EQ(v, 7);
	SHMKIT_ASSERT_EQ(read_check(s, 1, &v), 0);
	SHMKIT_ASSERT_EQ(v, 7);
}

static void
test_recovering_write_helper(void)
{
	struct shared *s = shared_new();
	uint64_t rec[WORDS] = {3, 3, 3, 3, 3, 3, 3, 3}, out[WORDS];

	SHMKIT_ASSERT_CHILD_SIGNAL(shmkit_test_fork(die_mid_write, s), SIGKILL);
	SHMKIT_ASSERT_EQ(shmkit_seqlock_write(&s->sl, s->rec, rec, sizeof(rec)),
			 SHMKIT_SEQLOCK_RECOVERED);
	SHMKIT_ASSERT_EQ(shmkit_seqlock_write(&s->sl, s->rec, rec, sizeof(rec)),
			 0);
	SHMKIT_ASSERT_OK(shmkit_seqlock_read(&s->sl, out, s->rec, sizeof(out)));
	SHMKIT_ASSERT_MEMEQ(out, rec, sizeof(rec));
}

/* Begin a write and stay alive in it until told. */
static void
stall_mid_write(void *arg)
{
	struct shared *s = arg;

	SHMKIT_ASSERT_EQ(shmkit_seqlock_write_begin(&s->sl), 0);
	atomic_store(&s->flag, 1);
	wait_for(&s->go, 1);
	SHMKIT_ASSERT_OK(shmkit_seqlock_write_end(&s->sl));
}

static void
test_stalled_writer_times_out(void)
{
	struct shared *s = shared_new();
	uint64_t v;
	uint32_t seq;
	pid_t pid;

	pid = shmkit_test_fork(stall_mid_write, s);
	wait_for(&s->flag, 1);
	alarm(30);
	SHMKIT_ASSERT_ERR(shmkit_seqlock_read_begin(&s->sl, &seq), -ETIMEDOUT);
	SHMKIT_ASSERT_ERR(shmkit_seqlock_read(&s->sl, &v, s->rec, sizeof(v)),
			  -ETIMEDOUT);
	atomic_store(&s->go, 1);
	SHMKIT_ASSERT_CHILD_OK(pid);
	SHMKIT_ASSERT_OK(shmkit_seqlock_read(&s->sl, &v, s->rec, sizeof(v)));
}

/*
 * The sequence number made odd behind the library's back (a peer writing
 * garbage; no writer holds the lock): a timeout, not a spin. The sequence
 * is the fourth 32-bit word of the object.
 */
static void
test_odd_sequence_times_out(void)
{
	struct shared *s = shared_new();
	uint32_t *seqword = (uint32_t *)(void *)((char *)&s->sl + 12);
	uint32_t seq;

	alarm(30);
	__atomic_store_n(seqword, 41u, __ATOMIC_RELAXED);
	SHMKIT_ASSERT_ERR(shmkit_seqlock_read_begin(&s->sl, &seq), -ETIMEDOUT);
	/* A writer puts it right. */
	SHMKIT_ASSERT_OK(shmkit_seqlock_write_begin(&s->sl));
	SHMKIT_ASSERT_OK(shmkit_seqlock_write_end(&s->sl));
	SHMKIT_ASSERT_OK(shmkit_seqlock_read_begin(&s->sl, &seq));
	SHMKIT_ASSERT_EQ(seq, 42);
}

static void
poke_all(void *arg)
{
	struct shared *s = arg;
	uint64_t v;
	uint32_t seq;

	alarm(10);
	SHMKIT_ASSERT(shmkit_seqlock_read_begin(&s->sl, &seq) < 0);
	SHMKIT_ASSERT(shmkit_seqlock_read(&s->sl, &v, s->rec, sizeof(v)) < 0);
	SHMKIT_ASSERT(shmkit_seqlock_write_begin(&s->sl) < 0);
	SHMKIT_ASSERT(shmkit_seqlock_write_end(&s->sl) < 0);
	SHMKIT_ASSERT(shmkit_seqlock_write(&s->sl, s->rec, &v, sizeof(v)) < 0);
	SHMKIT_ASSERT(shmkit_seqlock_fini(&s->sl) < 0);
}

static void
poke_writer(void *arg)
{
	struct shared *s = arg;
	uint64_t v = 1;

	alarm(10);
	SHMKIT_ASSERT(shmkit_seqlock_write_begin(&s->sl) < 0);
	SHMKIT_ASSERT(shmkit_seqlock_write(&s->sl, s->rec, &v, sizeof(v)) < 0);
	SHMKIT_ASSERT(shmkit_seqlock_write_end(&s->sl) < 0);
}

static void
test_garbage_gives_error(void)
{
	struct shared *s = shared_new();
	unsigned char *p = (unsigned char *)&s->sl;
	unsigned seed = 11;
	uint64_t v;
	int round;
	size_t i;

	for (round = 0; round < 20; round++) {
		for (i = 0; i < sizeof(s->sl); i++)
			p[i] = (unsigned char)rand_r(&seed);
		SHMKIT_ASSERT_ERR(
			shmkit_seqlock_read(&s->sl, &v, s->rec, sizeof(v)),
			SHMKIT_ECORRUPT);
		SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(poke_all, s));
	}
	/* A valid header over a garbage writer mutex (bytes 64..): writers
	 * fail; readers of an even sequence carry on. */
	for (round = 0; round < 20; round++) {
		SHMKIT_ASSERT_OK(shmkit_seqlock_init(&s->sl));
		for (i = 64; i < sizeof(s->sl); i++)
			p[i] = (unsigned char)rand_r(&seed);
		SHMKIT_ASSERT_OK(
			shmkit_seqlock_read(&s->sl, &v, s->rec, sizeof(v)));
		SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(poke_writer, s));
	}
	memset(p, 0, sizeof(s->sl));
	SHMKIT_ASSERT_ERR(shmkit_seqlock_read(&s->sl, &v, s->rec, sizeof(v)),
			  SHMKIT_ECORRUPT);
}

/* Readers need only read access: read through a read-only mapping. */
static void
test_reader_through_readonly_mapping(void)
{
	int fd = memfd_create("sk-seqlock", MFD_CLOEXEC);
	struct shared *rw;
	const struct shared *ro;
	uint64_t v = 0;
	uint32_t seq;

	SHMKIT_ASSERT(fd >= 0);
	SHMKIT_ASSERT_EQ(ftruncate(fd, sizeof(struct shared)), 0);
	rw = mmap(NULL, sizeof(*rw), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ro = mmap(NULL, sizeof(*ro), PROT_READ, MAP_SHARED, fd, 0);
	SHMKIT_ASSERT(rw != MAP_FAILED && ro != MAP_FAILED);
	close(fd);
	SHMKIT_ASSERT_OK(shmkit_seqlock_init(&rw->sl));
	v = 17;
	SHMKIT_ASSERT_OK(shmkit_seqlock_write(&rw->sl, rw->rec, &v, sizeof(v)));
	v = 0;
	SHMKIT_ASSERT_OK(shmkit_seqlock_read(&ro->sl, &v, ro->rec, sizeof(v)));
	SHMKIT_ASSERT_EQ(v, 17);
	SHMKIT_ASSERT_OK(shmkit_seqlock_read_begin(&ro->sl, &seq));
	SHMKIT_ASSERT_EQ(shmkit_seqlock_read_retry(&ro->sl, seq), 0);
}

SHMKIT_TESTS = {
	{"consistent_reads_processes", test_consistent_reads_processes},
	{"consistent_reads_threads", test_consistent_reads_threads},
	{"retry_sees_overlapping_write", test_retry_sees_overlapping_write},
	{"writer_errors", test_writer_errors},
	{"writer_killed_mid_write", test_writer_killed_mid_write},
	{"recovering_write_helper", test_recovering_write_helper},
	{"stalled_writer_times_out", test_stalled_writer_times_out},
	{"odd_sequence_times_out", test_odd_sequence_times_out},
	{"garbage_gives_error", test_garbage_gives_error},
	{"reader_through_readonly_mapping",
	 test_reader_through_readonly_mapping},
	{NULL, NULL},
};
