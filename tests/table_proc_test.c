/*
 * The shared hash table across processes: writers and readers in separate
 * processes at once; writers SIGKILLed at random moments in the middle of
 * puts and deletes, round after round, after which every record is whole,
 * the count matches the records, secure tables hold no stale secret, and
 * the table still works; and another user kept out by the permissions.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include <shmkit/table.h>

#include "shmkit_test.h"
#include "table/table_layout.h"

#define NAMELEN 4200

struct rec {
	uint64_t w[8]; /* 8 copies of one word: (key << 32) | counter */
};

struct shared {
	char addr[NAMELEN];
	_Atomic int stop;
};

/* What one child gets: fork copies it, so each child keeps its own. */
struct arg {
	struct shared *s;
	unsigned id;
};

static struct shared *
shared_new(const char *backend)
{
	struct shared *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (s == MAP_FAILED)
		SHMKIT_FAIL("mmap: %s", strerror(errno));
	snprintf(s->addr, sizeof(s->addr), "%s", shmkit_test_name(backend));
	return s;
}

static void
rec_of(struct rec *r, uint64_t key, uint64_t n)
{
	int i;

	for (i = 0; i < 8; i++)
		r->w[i] = key << 32 | (n & 0xffffffffu);
}

/* The record is whole and belongs to key. */
static int
rec_ok(const struct rec *r, uint64_t key)
{
	int i;

	for (i = 1; i < 8; i++)
		if (r->w[i] != r->w[0])
			return 0;
	return r->w[0] >> 32 == key;
}

/* Iterate: every record whole; returns how many. */
static long
check_all(shmkit_table_t *t)
{
	struct rec v;
	uint64_t k;
	size_t cur = 0;
	long n = 0;
	int rc;

	while ((rc = shmkit_table_next(t, &cur, &k, &v)) == 0) {
		if (!rec_ok(&v, k))
			SHMKIT_FAIL("torn record for key %llu: %llx %llx",
				    (unsigned long long)k,
				    (unsigned long long)v.w[0],
				    (unsigned long long)v.w[7]);
		n++;
	}
	SHMKIT_ASSERT_ERR(rc, -ENOENT);
	return n;
}

#define WRITERS	   3
#define READERS	   3
#define PER_WRITER 100

static void
writer_proc(void *arg)
{
	struct arg *a = arg;
	struct shared *s = a->s;
	shmkit_table_t *t;
	unsigned seed = a->id;
	struct rec v;
	uint64_t k, n;

	SHMKIT_ASSERT_OK(shmkit_table_open(&t, s->addr, 0));
	for (n = 0; n < 200000; n++) {
		k = a->id * 1000 + (uint64_t)rand_r(&seed) % PER_WRITER;
		if (n % 5 == 4) {
			int rc = shmkit_table_del(t, &k);

			SHMKIT_ASSERT(rc == 0 || rc == -ENOENT);
		} else {
			rec_of(&v, k, n);
			SHMKIT_ASSERT_OK(shmkit_table_put(t, &k, &v));
		}
	}
	for (k = a->id * 1000; k < a->id * 1000 + PER_WRITER; k++) {
		rec_of(&v, k, 0xffffffffu);
		SHMKIT_ASSERT_OK(shmkit_table_put(t, &k, &v));
	}
	SHMKIT_ASSERT_OK(shmkit_table_close(t));
}

static void
reader_proc(void *arg)
{
	struct arg *a = arg;
	struct shared *s = a->s;
	shmkit_table_t *t;
	unsigned seed = a->id;
	struct rec v;
	uint64_t k;
	long found = 0, rounds = 0;
	int rc;

	SHMKIT_ASSERT_OK(shmkit_table_open(&t, s->addr, SHMKIT_TABLE_RDONLY));
	while (!atomic_load(&s->stop) || rounds < 10) {
		k = (uint64_t)(rand_r(&seed) % WRITERS) * 1000 +
		    (uint64_t)rand_r(&seed) % PER_WRITER;
		rc = shmkit_table_get(t, &k, &v);
		if (rc == 0) {
			if (!rec_ok(&v, k))
				SHMKIT_FAIL("torn get of %llu",
					    (unsigned long long)k);
			found++;
		} else {
			SHMKIT_ASSERT_ERR(rc, -ENOENT);
		}
		if (++rounds % 500 == 0)
			check_all(t);
	}
	SHMKIT_ASSERT(found > 0);
	SHMKIT_ASSERT_OK(shmkit_table_close(t));
}

static void
test_writers_and_readers_processes(void)
{
	struct shared *s = shared_new("posix");
	shmkit_table_opts_t o = {WRITERS * PER_WRITER, 8, sizeof(struct rec), 0,
				 0};
	pid_t w[WRITERS], r[READERS];
	struct arg a = {s, 0};
	shmkit_table_t *t;
	struct rec v;
	uint64_t k;
	int i;

	SHMKIT_ASSERT_OK(shmkit_table_create(&t, s->addr, &o));
	for (i = 0; i < READERS; i++) {
		a.id = (unsigned)i + 100;
		r[i] = shmkit_test_fork(reader_proc, &a);
	}
	for (i = 0; i < WRITERS; i++) {
		a.id = (unsigned)i;
		w[i] = shmkit_test_fork(writer_proc, &a);
	}
	for (i = 0; i < WRITERS; i++)
		SHMKIT_ASSERT_CHILD_OK(w[i]);
	atomic_store(&s->stop, 1);
	for (i = 0; i < READERS; i++)
		SHMKIT_ASSERT_CHILD_OK(r[i]);
	SHMKIT_ASSERT_EQ(shmkit_table_count(t), WRITERS * PER_WRITER);
	SHMKIT_ASSERT_EQ(check_all(t), WRITERS * PER_WRITER);
	for (i = 0; i < WRITERS; i++)
		for (k = (uint64_t)i * 1000;
		     k < (uint64_t)i * 1000 + PER_WRITER; k++) {
			SHMKIT_ASSERT_OK(shmkit_table_get(t, &k, &v));
			SHMKIT_ASSERT(rec_ok(&v, k));
			SHMKIT_ASSERT_EQ(v.w[0] & 0xffffffffu, 0xffffffffu);
		}
	SHMKIT_ASSERT_OK(shmkit_table_close(t));
	SHMKIT_ASSERT_OK(shmkit_seg_unlink_address(s->addr));
}

#define CRASH_KEYS 96
#define CRASH_CAP  64

/* Puts and deletes at random until killed. */
static void
crash_writer(void *arg)
{
	struct arg *a = arg;
	struct shared *s = a->s;
	shmkit_table_t *t;
	unsigned seed = a->id;
	struct rec v;
	uint64_t k, n;
	int rc;

	SHMKIT_ASSERT_OK(
		shmkit_table_open(&t, s->addr, SHMKIT_TABLE_NOLOCK_OK));
	for (n = 0;; n++) {
		k = (uint64_t)rand_r(&seed) % CRASH_KEYS;
		if (rand_r(&seed) % 3 == 0) {
			rc = shmkit_table_del(t, &k);
			SHMKIT_ASSERT(rc == 0 || rc == -ENOENT);
		} else {
			rec_of(&v, k, n);
			rc = shmkit_table_put(t, &k, &v);
			SHMKIT_ASSERT(rc >= 0 || rc == -ENOSPC);
		}
	}
}

/* Readers run through all the rounds and must never see a torn record. */
static void
crash_reader(void *arg)
{
	struct arg *a = arg;
	struct shared *s = a->s;
	shmkit_table_t *t;
	unsigned seed = a->id;
	struct rec v;
	uint64_t k;
	long n = 0;
	int rc;

	SHMKIT_ASSERT_OK(shmkit_table_open(
		&t, s->addr, SHMKIT_TABLE_RDONLY | SHMKIT_TABLE_NOLOCK_OK));
	while (!atomic_load(&s->stop)) {
		k = (uint64_t)rand_r(&seed) % CRASH_KEYS;
		rc = shmkit_table_get(t, &k, &v);
		if (rc == 0 && !rec_ok(&v, k))
			SHMKIT_FAIL("torn get of %llu", (unsigned long long)k);
		if (rc != 0)
			SHMKIT_ASSERT_ERR(rc, -ENOENT);
		if (++n % 64 == 0)
			check_all(t);
	}
	SHMKIT_ASSERT_OK(shmkit_table_close(t));
}

static int
words_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0)
		if (*b++ != 0)
			return 0;
	return 1;
}

/* Secure: after recovery, no key or value bytes outside live records. */
static void
check_no_stale_secrets(shmkit_table_t *t)
{
	size_t i, kb = 8 * t->key_words, vb = 8 * t->val_words;
	uint64_t c;

	for (i = 0; i < t->nslots; i++) {
		c = atomic_load(table_ctl(t, i));
		if (SLOT_STATE(c) == SLOT_FULL) {
			if (!words_zero(table_val(t, i, !SLOT_SEL(c)), vb))
				SHMKIT_FAIL("slot %zu: dead copy not wiped", i);
		} else if (!words_zero(table_key(t, i), kb) ||
			   !words_zero(table_val(t, i, 0), 2 * vb)) {
			SHMKIT_FAIL("slot %zu (state %u): not wiped", i,
				    SLOT_STATE(c));
		}
	}
}

static void
crash_rounds(unsigned flags)
{
	struct shared *s = shared_new("posix");
	shmkit_table_opts_t o = {CRASH_CAP, 8, sizeof(struct rec),
				 flags | SHMKIT_TABLE_NOLOCK_OK, 0};
	struct arg a = {s, 1};
	shmkit_table_t *t;
	struct timespec ts;
	unsigned seed = (unsigned)getpid();
	pid_t w, r;
	struct rec v;
	uint64_t k;
	long n;
	int round, st;

	SHMKIT_ASSERT_OK(shmkit_table_create(&t, s->addr, &o));
	r = shmkit_test_fork(crash_reader, &a);
	for (round = 0; round < 200; round++) {
		a.id = (unsigned)round * 7 + 3;
		w = shmkit_test_fork(crash_writer, &a);
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(rand_r(&seed) % 3000) * 1000;
		nanosleep(&ts, NULL);
		kill(w, SIGKILL);
		st = shmkit_test_wait(w);
		SHMKIT_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		/* Whole records even before anyone repaired. */
		SHMKIT_ASSERT(check_all(t) <= CRASH_CAP);
		/* A write makes the dead writer's change whole, then the
		 * count is exact. */
		k = 1000;
		rec_of(&v, k, 1);
		if (round % 2 == 0)
			SHMKIT_ASSERT(shmkit_table_put(t, &k, &v) >= 0 ||
				      shmkit_table_count(t) == CRASH_CAP);
		else
			(void)shmkit_table_del(t, &k);
		n = check_all(t);
		SHMKIT_ASSERT_EQ(shmkit_table_count(t), n);
		if (flags & SHMKIT_TABLE_SECURE)
			check_no_stale_secrets(t);
	}
	atomic_store(&s->stop, 1);
	SHMKIT_ASSERT_CHILD_OK(r);
	/* Still a working table. */
	for (k = 0; k < CRASH_KEYS + 2000; k++)
		(void)shmkit_table_del(t, &k);
	SHMKIT_ASSERT_EQ(shmkit_table_count(t), 0);
	for (k = 0; k < CRASH_CAP; k++) {
		rec_of(&v, k, 5);
		SHMKIT_ASSERT_EQ(shmkit_table_put(t, &k, &v), 0);
	}
	SHMKIT_ASSERT_ERR(shmkit_table_put(t, &k, &v), -ENOSPC);
	for (k = 0; k < CRASH_CAP; k++) {
		SHMKIT_ASSERT_OK(shmkit_table_get(t, &k, &v));
		SHMKIT_ASSERT(rec_ok(&v, k));
	}
	SHMKIT_ASSERT_EQ(check_all(t), CRASH_CAP);
	SHMKIT_ASSERT_OK(shmkit_table_close(t));
	SHMKIT_ASSERT_OK(shmkit_seg_unlink_address(s->addr));
}

static void
test_crash_rounds_writers_killed(void)
{
	crash_rounds(0);
}

static void
test_crash_rounds_secure_wiped(void)
{
	crash_rounds(SHMKIT_TABLE_SECURE);
}

static void
nobody_child(void *arg)
{
	const char *addr = arg;
	shmkit_table_t *t = NULL;

	if (setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		SHMKIT_FAIL("setresuid: %s", strerror(errno));
	SHMKIT_ASSERT_ERR(shmkit_table_open(&t, addr, 0), -EACCES);
	SHMKIT_ASSERT_ERR(shmkit_table_open(&t, addr, SHMKIT_TABLE_RDONLY),
			  -EACCES);
	SHMKIT_ASSERT(t == NULL);
}

static void
test_other_user_denied(void)
{
	shmkit_table_opts_t o = {8, 8, 8, 0, 0};
	const char *backends[] = {"posix", "sysv"};
	char addr[NAMELEN];
	shmkit_table_t *t;
	int i;

	if (geteuid() != 0)
		SHMKIT_SKIP("needs root to become another user");
	for (i = 0; i < 2; i++) {
		snprintf(addr, sizeof(addr), "%s",
			 shmkit_test_name(backends[i]));
		SHMKIT_ASSERT_OK(shmkit_table_create(&t, addr, &o));
		SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(nobody_child, addr));
		SHMKIT_ASSERT_OK(shmkit_table_close(t));
		SHMKIT_ASSERT_OK(shmkit_seg_unlink_address(addr));
	}
}

SHMKIT_TESTS = {
	{"writers_and_readers_processes", test_writers_and_readers_processes},
	{"crash_rounds_writers_killed", test_crash_rounds_writers_killed},
	{"crash_rounds_secure_wiped", test_crash_rounds_secure_wiped},
	{"other_user_denied", test_other_user_denied},
	{NULL, NULL},
};
