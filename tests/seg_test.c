/*
 * Segments: every operation on every back end (System V, POSIX, file,
 * memfd), exercised across real processes where the feature is about
 * processes: a forked child and an exec'd helper open what the case
 * made. memfd sealing and fd passing are in seg_memfd_test.c, interop
 * with programs that do not use shmkit in seg_interop_test.c;
 * permissions, ENOSPC, bad input and close-on-exec in
 * seg_security_test.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmkit/seg.h>

#include "seg_util.h"
#include "shmkit_test.h"

/* A second handle on the same segment: by address, or for memfd (which
 * has no name) through its fd. */
static shmkit_seg_t *
reopen(shmkit_seg_t *s, const char *addr, unsigned flags)
{
	shmkit_seg_opts_t o = { .flags = flags };
	shmkit_seg_t *t = NULL;

	if (shmkit_seg_backend(s) == SHMKIT_BACKEND_MEMFD)
		SHMKIT_ASSERT_OK(shmkit_seg_open_fd(&t, shmkit_seg_fd(s), &o));
	else
		SHMKIT_ASSERT_OK(shmkit_seg_open(&t, addr, &o));
	return t;
}

static size_t
page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- create, open, open_or_create ---------------------------------- */

static void
create_exclusive(const char *b)
{
	char addr[NAMELEN];
	shmkit_seg_opts_t o = { .size = 5000 };
	shmkit_seg_t *s, *t = NULL;
	void *p;

	seg_name(addr, b);
	s = seg_make(addr, 5000);
	SHMKIT_ASSERT_EQ(shmkit_seg_size(s), 5000);
	SHMKIT_ASSERT_STREQ(shmkit_backend_name(shmkit_seg_backend(s)), b);
	SHMKIT_ASSERT_ERR(shmkit_seg_create(&t, addr, &o), -EEXIST);
	SHMKIT_ASSERT(t == NULL); /* out written only on success */
	/* New segments read as zeroes. */
	p = seg_map(s, 0);
	SHMKIT_ASSERT(bytes_all_zero(p, 5000));
	seg_destroy(s);
	/* Once unlinked the name is free again. */
	s = seg_make(addr, 100);
	seg_destroy(s);
}

static void
open_absent(const char *b)
{
	char addr[NAMELEN];
	shmkit_seg_t *s = NULL;

	seg_name(addr, b);
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&s, addr, NULL), -ENOENT);
	SHMKIT_ASSERT(s == NULL);
	SHMKIT_ASSERT_ERR(shmkit_seg_unlink_address(addr), -ENOENT);
}

static void
open_or_create(const char *b)
{
	char addr[NAMELEN];
	shmkit_seg_opts_t o = { .size = 4096 }, big = { .size = 8192 };
	shmkit_seg_t *a = NULL, *c = NULL, *d = NULL;
	char *pa, *pc;

	seg_name(addr, b);
	SHMKIT_ASSERT_EQ(shmkit_seg_open_or_create(&a, addr, &o),
			 SHMKIT_SEG_CREATED);
	SHMKIT_ASSERT_EQ(shmkit_seg_open_or_create(&c, addr, &o),
			 SHMKIT_SEG_OPENED);
	SHMKIT_ASSERT_EQ(shmkit_seg_size(c), 4096);
	/* The opened one needs more than there is. */
	SHMKIT_ASSERT_ERR(shmkit_seg_open_or_create(&d, addr, &big),
			  SHMKIT_ESIZE);
	SHMKIT_ASSERT(d == NULL);
	pa = seg_map(a, 0);
	pc = seg_map(c, 0);
	SHMKIT_ASSERT(pa != pc);
	strcpy(pa, "one segment");
	SHMKIT_ASSERT_STREQ(pc, "one segment");
	SHMKIT_ASSERT_OK(shmkit_seg_close(c));
	seg_destroy(a);
}

#define RACERS 6
#define RACE_ROUNDS 12

struct race {
	volatile int go;
	int ready;
	int result[RACERS];
	size_t size[RACERS];
};

struct racer_arg {
	struct race *r;
	const char *addr;
	int i;
};

static void
racer(void *arg)
{
	struct racer_arg *ra = arg;
	shmkit_seg_opts_t o = { .size = 65536 };
	shmkit_seg_t *s = NULL;
	int rc;

	__atomic_fetch_add(&ra->r->ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&ra->r->go, __ATOMIC_ACQUIRE))
		sched_yield();
	rc = shmkit_seg_open_or_create(&s, ra->addr, &o);
	ra->r->result[ra->i] = rc;
	if (rc >= 0) {
		ra->r->size[ra->i] = shmkit_seg_size(s);
		shmkit_seg_close(s);
	}
}

/* Several processes race to open_or_create one name: exactly one of them
 * creates it, every other one opens the finished segment. */
static void
open_or_create_race(const char *b)
{
	struct race *r;
	int round;

	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	SHMKIT_ASSERT(r != MAP_FAILED);
	for (round = 0; round < RACE_ROUNDS; round++) {
		char addr[NAMELEN];
		struct racer_arg args[RACERS];
		pid_t pids[RACERS];
		int i, created = 0, opened = 0;

		seg_name(addr, b);
		memset(r, 0, sizeof(*r));
		for (i = 0; i < RACERS; i++) {
			args[i] = (struct racer_arg){ r, addr, i };
			r->result[i] = -9999;
			pids[i] = shmkit_test_fork(racer, &args[i]);
		}
		while (__atomic_load_n(&r->ready, __ATOMIC_SEQ_CST) < RACERS)
			sched_yield();
		__atomic_store_n(&r->go, 1, __ATOMIC_RELEASE);
		for (i = 0; i < RACERS; i++)
			SHMKIT_ASSERT_CHILD_OK(pids[i]);
		SHMKIT_ASSERT_OK(shmkit_seg_unlink_address(addr));
		for (i = 0; i < RACERS; i++) {
			if (r->result[i] == SHMKIT_SEG_CREATED)
				created++;
			else if (r->result[i] == SHMKIT_SEG_OPENED)
				opened++;
			else
				SHMKIT_FAIL("round %d racer %d: %d (%s)",
					    round, i, r->result[i],
					    shmkit_strerror(r->result[i]));
			SHMKIT_ASSERT_EQ(r->size[i], 65536);
		}
		SHMKIT_ASSERT_EQ(created, 1);
		SHMKIT_ASSERT_EQ(opened, RACERS - 1);
	}
	munmap(r, sizeof(*r));
}

/* ---- attach, detach --------------------------------------------------- */

static void
attach_rw_ro(const char *b)
{
	char addr[NAMELEN];
	shmkit_seg_t *s, *t;
	unsigned char *p, *q;
	void *again = NULL;

	seg_name(addr, b);
	s = seg_make(addr, 10000);
	p = seg_map(s, 0);
	SHMKIT_ASSERT(shmkit_seg_addr(s) == p);
	pattern_fill(p, 10000, 7);
	t = reopen(s, addr, 0);
	q = seg_map(t, SHMKIT_ATTACH_RDONLY);
	SHMKIT_ASSERT(q != p);
	SHMKIT_ASSERT_EQ(pattern_check(q, 10000, 7), -1);
	/* One mapping per handle. */
	SHMKIT_ASSERT_ERR(shmkit_seg_attach(t, &again, 0, NULL), -EBUSY);
	SHMKIT_ASSERT_ERR(shmkit_seg_attach(s, &again, 0, NULL), -EBUSY);
	SHMKIT_ASSERT(again == NULL);
	/* A write through one mapping is seen through the other at once. */
	p[9999] = 0xab;
	SHMKIT_ASSERT_EQ(q[9999], 0xab);
	SHMKIT_ASSERT_OK(shmkit_seg_detach(t));
	SHMKIT_ASSERT(shmkit_seg_addr(t) == NULL);
	SHMKIT_ASSERT_ERR(shmkit_seg_detach(t), -EINVAL);
	/* Detached handles attach again, read-write this time. */
	q = seg_map(t, 0);
	SHMKIT_ASSERT_EQ(pattern_check(q, 100, 7), -1);
	q[0] = 0x55;
	SHMKIT_ASSERT_EQ(p[0], 0x55);
	SHMKIT_ASSERT_OK(shmkit_seg_close(t));
	SHMKIT_ASSERT_EQ(p[0], 0x55); /* closing t left s mapped */
	SHMKIT_ASSERT_OK(shmkit_seg_detach(s));
	seg_destroy(s);
}

/* A free address range: map and unmap anonymous memory, so the range is
 * one the allocator (or ASan) does not hold. */
static uintptr_t
free_range(size_t len, size_t align)
{
	size_t span = len + 2 * align;
	void *r = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);

	SHMKIT_ASSERT(r != MAP_FAILED);
	SHMKIT_ASSERT_OK(munmap(r, span));
	return ((uintptr_t)r + align - 1) & ~(uintptr_t)(align - 1);
}

static void
attach_hint(const char *b)
{
	char addr[NAMELEN];
	size_t size = 3 * page() + 100;
	size_t align = strcmp(b, "sysv") == 0 ? (size_t)SHMLBA : page();
	uintptr_t base;
	shmkit_seg_t *s;
	void *p = NULL, *blocker;
	int rc;

	seg_name(addr, b);
	s = seg_make(addr, size);
	base = free_range(size, align);
	/* An unaligned hint is rounded down (SHM_RND for System V). */
	SHMKIT_ASSERT_OK(shmkit_seg_attach(s, &p, 0, (void *)(base + 123)));
	SHMKIT_ASSERT_EQ((uintptr_t)p, base);
	SHMKIT_ASSERT(shmkit_seg_addr(s) == p);
	memset(p, 0x5a, size);
	SHMKIT_ASSERT_OK(shmkit_seg_detach(s));

	/* A busy range is refused, never replaced or moved. */
	blocker = mmap((void *)(base + page()), page(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
		       0);
	SHMKIT_ASSERT(blocker == (void *)(base + page()));
	*(volatile char *)blocker = 'b';
	p = NULL;
	rc = shmkit_seg_attach(s, &p, 0, (void *)base);
	SHMKIT_ASSERT(rc == -EINVAL || rc == -EEXIST);
	SHMKIT_ASSERT(p == NULL);
	SHMKIT_ASSERT(shmkit_seg_addr(s) == NULL);
	SHMKIT_ASSERT_EQ(*(volatile char *)blocker, 'b');
	SHMKIT_ASSERT_OK(munmap(blocker, page()));
	/* And the mapping still holds what was written at the hint. */
	p = seg_map(s, SHMKIT_ATTACH_RDONLY);
	SHMKIT_ASSERT_EQ(((unsigned char *)p)[size - 1], 0x5a);
	seg_destroy(s);
}

/* ---- stat ------------------------------------------------------------- */

static void
stat_fields(const char *b)
{
	char addr[NAMELEN];
	shmkit_seg_opts_t o = { .size = 5000, .mode = 0640 };
	shmkit_seg_stat_t st, sa;
	int sysv = strcmp(b, "sysv") == 0, memfd = strcmp(b, "memfd") == 0;
	shmkit_seg_t *s = NULL;
	shmkit_addr_t pa;

	seg_name(addr, b);
	SHMKIT_ASSERT_OK(shmkit_addr_parse(&pa, addr));
	SHMKIT_ASSERT_OK(shmkit_seg_create(&s, addr, &o));
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	SHMKIT_ASSERT_EQ(st.backend, shmkit_seg_backend(s));
	SHMKIT_ASSERT_STREQ(shmkit_backend_name(st.backend), b);
	SHMKIT_ASSERT_STREQ(st.address, addr);
	SHMKIT_ASSERT_EQ(st.size, 5000);
	SHMKIT_ASSERT_EQ(st.rounded_size,
			 (5000 + page() - 1) / page() * page());
	SHMKIT_ASSERT_EQ(st.mode, 0640);
	SHMKIT_ASSERT_EQ(st.uid, geteuid());
	SHMKIT_ASSERT_EQ(st.gid, getegid());
	SHMKIT_ASSERT_EQ(st.marked_for_destruction, 0);
	if (sysv) {
		SHMKIT_ASSERT_EQ(st.key, pa.key);
		SHMKIT_ASSERT(st.shmid >= 0);
		SHMKIT_ASSERT_EQ(st.cuid, geteuid());
		SHMKIT_ASSERT_EQ(st.cgid, getegid());
		SHMKIT_ASSERT_EQ(st.cpid, getpid());
		SHMKIT_ASSERT_EQ(st.nattch, 0);
		SHMKIT_ASSERT_EQ(st.seals, -1);
		SHMKIT_ASSERT(st.ctime.tv_sec > 0);
	} else {
		SHMKIT_ASSERT_EQ(st.key, -1);
		SHMKIT_ASSERT_EQ(st.shmid, -1);
		SHMKIT_ASSERT_EQ(st.nattch, -1);
		SHMKIT_ASSERT_EQ(st.cpid, -1);
		SHMKIT_ASSERT_EQ(st.seals, memfd ? 0 : -1);
		SHMKIT_ASSERT(st.mtime.tv_sec > 0);
	}
	seg_map(s, 0);
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	if (sysv) {
		SHMKIT_ASSERT_EQ(st.nattch, 1);
		SHMKIT_ASSERT_EQ(st.lpid, getpid());
		SHMKIT_ASSERT(st.atime.tv_sec > 0);
	}
	if (!memfd) {
		/* By address, without mapping: the same segment. */
		SHMKIT_ASSERT_OK(shmkit_seg_stat_address(addr, &sa));
		SHMKIT_ASSERT_STREQ(sa.address, addr);
		SHMKIT_ASSERT_EQ(sa.size, 5000);
		SHMKIT_ASSERT_EQ(sa.mode, 0640);
		SHMKIT_ASSERT_EQ(sa.shmid, st.shmid);
	}
	seg_destroy(s);
	if (!memfd) {
		SHMKIT_ASSERT_ERR(shmkit_seg_stat_address(addr, &sa), -ENOENT);
	}
}

/* ---- resize ----------------------------------------------------------- */

static void
resize(const char *b)
{
	char addr[NAMELEN];
	size_t pg = page();
	shmkit_seg_stat_t st;
	shmkit_seg_t *s, *t;
	unsigned char *p;

	seg_name(addr, b);
	s = seg_make(addr, pg);
	if (strcmp(b, "sysv") == 0) {
		SHMKIT_ASSERT_ERR(shmkit_seg_resize(s, 2 * pg), -ENOTSUP);
		seg_map(s, 0);
		SHMKIT_ASSERT_ERR(shmkit_seg_resize(s, 2 * pg), -ENOTSUP);
		SHMKIT_ASSERT_EQ(shmkit_seg_size(s), pg);
		seg_destroy(s);
		return;
	}
	p = seg_map(s, 0);
	pattern_fill(p, pg, 11);
	SHMKIT_ASSERT_ERR(shmkit_seg_resize(s, 2 * pg), -EBUSY);
	SHMKIT_ASSERT_OK(shmkit_seg_detach(s));

	/* Grow: old bytes kept, new bytes zero, all of it mappable. */
	SHMKIT_ASSERT_OK(shmkit_seg_resize(s, 3 * pg));
	SHMKIT_ASSERT_EQ(shmkit_seg_size(s), 3 * pg);
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	SHMKIT_ASSERT_EQ(st.size, 3 * pg);
	p = seg_map(s, 0);
	SHMKIT_ASSERT_EQ(pattern_check(p, pg, 11), -1);
	SHMKIT_ASSERT(bytes_all_zero(p + pg, 2 * pg));
	p[3 * pg - 1] = 0x77;
	SHMKIT_ASSERT_OK(shmkit_seg_detach(s));

	/* Another handle opened now sees the new size. */
	t = reopen(s, addr, 0);
	SHMKIT_ASSERT_EQ(shmkit_seg_size(t), 3 * pg);
	SHMKIT_ASSERT_OK(shmkit_seg_close(t));

	/* Shrink to a size that is not a page multiple. */
	SHMKIT_ASSERT_OK(shmkit_seg_resize(s, 100));
	SHMKIT_ASSERT_EQ(shmkit_seg_size(s), 100);
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	SHMKIT_ASSERT_EQ(st.size, 100);
	SHMKIT_ASSERT_EQ(st.rounded_size, pg);
	p = seg_map(s, 0);
	SHMKIT_ASSERT_EQ(pattern_check(p, 100, 11), -1);
	seg_destroy(s);
}

/* ---- unlink ----------------------------------------------------------- */

static void
unlink_keeps_mapping(const char *b)
{
	char addr[NAMELEN];
	shmkit_seg_t *s, *t = NULL;
	unsigned char *p;

	seg_name(addr, b);
	s = seg_make(addr, 8192);
	p = seg_map(s, 0);
	pattern_fill(p, 8192, 13);
	SHMKIT_ASSERT_OK(shmkit_seg_unlink(s));
	/* The name is gone at once (System V: the key is dropped)... */
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&t, addr, NULL), -ENOENT);
	SHMKIT_ASSERT_ERR(shmkit_seg_unlink_address(addr), -ENOENT);
	/* ...but the memory stays usable while mapped. */
	SHMKIT_ASSERT_EQ(pattern_check(p, 8192, 13), -1);
	p[0] = 1;
	SHMKIT_ASSERT_EQ(p[0], 1);
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));

	/* unlink by address removes a segment without a handle on it. */
	s = seg_make(addr, 4096);
	SHMKIT_ASSERT_OK(shmkit_seg_unlink_address(addr));
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&t, addr, NULL), -ENOENT);
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
}

/* ---- across processes ------------------------------------------------- */

#define XPROC_SIZE 20000
#define XPROC_SEED 5u

static void
child_opens_and_answers(void *arg)
{
	const char *addr = arg;
	shmkit_seg_opts_t o = { .size = XPROC_SIZE };
	shmkit_seg_t *s = NULL;
	char *p;

	/* A fresh handle by address, not the one inherited from fork. */
	SHMKIT_ASSERT_OK(shmkit_seg_open(&s, addr, &o));
	SHMKIT_ASSERT_EQ(shmkit_seg_size(s), XPROC_SIZE);
	p = seg_map(s, 0);
	SHMKIT_ASSERT_EQ(pattern_check(p, XPROC_SIZE, XPROC_SEED), -1);
	memcpy(p, "child answer", 12);
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
}

static void
fork_child_reads(const char *b)
{
	char addr[NAMELEN];
	shmkit_seg_t *s;
	char *p;

	seg_name(addr, b);
	s = seg_make(addr, XPROC_SIZE);
	p = seg_map(s, 0);
	pattern_fill(p, XPROC_SIZE, XPROC_SEED);
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(child_opens_and_answers, addr));
	SHMKIT_ASSERT_MEMEQ(p, "child answer", 12);
	seg_destroy(s);
}

/* Helper run by exec: argv = name ADDRESS SIZE SEED. Opens the segment,
 * checks the pattern and writes an answer at the start. */
static int
helper_check_and_answer(int argc, char **argv)
{
	shmkit_seg_opts_t o = { 0 };
	shmkit_seg_t *s = NULL;
	unsigned seed;
	void *p = NULL;
	int rc;

	if (argc != 4)
		return 2;
	o.size = (size_t)strtoul(argv[2], NULL, 0);
	seed = (unsigned)strtoul(argv[3], NULL, 0);
	rc = shmkit_seg_open(&s, argv[1], &o);
	if (rc < 0) {
		fprintf(stderr, "helper: open %s: %s\n", argv[1],
			shmkit_strerror(rc));
		return 3;
	}
	rc = shmkit_seg_attach(s, &p, 0, NULL);
	if (rc < 0) {
		fprintf(stderr, "helper: attach: %s\n", shmkit_strerror(rc));
		return 4;
	}
	if (pattern_check(p, o.size, seed) != -1) {
		fprintf(stderr, "helper: pattern differs at %ld\n",
			pattern_check(p, o.size, seed));
		return 5;
	}
	memcpy(p, "exec answer", 11);
	return shmkit_seg_close(s) < 0 ? 6 : 0;
}

static void
exec_helper_reads(const char *b)
{
	char addr[NAMELEN], size[32], seed[32];
	shmkit_seg_t *s;
	char *p;

	seg_name(addr, b);
	s = seg_make(addr, XPROC_SIZE);
	p = seg_map(s, 0);
	pattern_fill(p, XPROC_SIZE, XPROC_SEED);
	snprintf(size, sizeof(size), "%d", XPROC_SIZE);
	snprintf(seed, sizeof(seed), "%u", XPROC_SEED);
	SHMKIT_ASSERT_CHILD_OK(
		shmkit_test_spawn("check_and_answer", addr, size, seed, NULL));
	SHMKIT_ASSERT_MEMEQ(p, "exec answer", 11);
	seg_destroy(s);
}

struct fault_arg {
	shmkit_seg_t *s;
	const char *addr;
};

static void
child_writes_through_rdonly(void *arg)
{
	struct fault_arg *fa = arg;
	shmkit_seg_t *t = reopen(fa->s, fa->addr, 0);
	volatile unsigned char *q = seg_map(t, SHMKIT_ATTACH_RDONLY);

	/* Sanitizers catch SIGSEGV to report it; we want the plain death. */
	signal(SIGSEGV, SIG_DFL);
	SHMKIT_ASSERT_EQ(q[10], (unsigned char)(17 + 10 * 31u));
	q[10] = 0;
	_exit(0); /* reached only if the write did not fault */
}

static void
rdonly_write_faults(const char *b)
{
	char addr[NAMELEN];
	struct fault_arg fa;
	shmkit_seg_t *s, *r;
	unsigned char *p;
	void *v = NULL;

	seg_name(addr, b);
	s = seg_make(addr, 4096);
	p = seg_map(s, 0);
	pattern_fill(p, 4096, 17);
	fa.s = s;
	fa.addr = addr;
	SHMKIT_ASSERT_CHILD_SIGNAL(
		shmkit_test_fork(child_writes_through_rdonly, &fa), SIGSEGV);
	SHMKIT_ASSERT_EQ(pattern_check(p, 4096, 17), -1);
	/* A handle opened read-only refuses a read-write attach. */
	r = reopen(s, addr, SHMKIT_SEG_RDONLY);
	SHMKIT_ASSERT_ERR(shmkit_seg_attach(r, &v, 0, NULL), -EACCES);
	SHMKIT_ASSERT(v == NULL);
	SHMKIT_ASSERT_OK(shmkit_seg_attach(r, &v, SHMKIT_ATTACH_RDONLY, NULL));
	SHMKIT_ASSERT_EQ(pattern_check(v, 4096, 17), -1);
	SHMKIT_ASSERT_OK(shmkit_seg_close(r));
	seg_destroy(s);
}

static void
open_esize(const char *b)
{
	char addr[NAMELEN];
	shmkit_seg_opts_t more = { .size = 5001 }, same = { .size = 5000 };
	shmkit_seg_t *s, *t = NULL;

	seg_name(addr, b);
	s = seg_make(addr, 5000);
	if (strcmp(b, "memfd") == 0) {
		int fd = shmkit_seg_fd(s);

		SHMKIT_ASSERT_ERR(shmkit_seg_open_fd(&t, fd, &more),
				  SHMKIT_ESIZE);
		SHMKIT_ASSERT(t == NULL);
		SHMKIT_ASSERT_OK(shmkit_seg_open_fd(&t, fd, &same));
	} else {
		SHMKIT_ASSERT_ERR(shmkit_seg_open(&t, addr, &more),
				  SHMKIT_ESIZE);
		SHMKIT_ASSERT(t == NULL);
		SHMKIT_ASSERT_OK(shmkit_seg_open(&t, addr, &same));
	}
	SHMKIT_ASSERT_EQ(shmkit_seg_size(t), 5000);
	SHMKIT_ASSERT_OK(shmkit_seg_close(t));
	seg_destroy(s);
}

/* ---- fd back ends: open_fd, sync -------------------------------------- */

static void
open_fd(const char *b)
{
	char addr[NAMELEN];
	shmkit_seg_opts_t more = { .size = 6001 };
	shmkit_seg_stat_t st;
	shmkit_seg_t *s, *t = NULL;
	shmkit_addr_t a;
	char *p, *q;
	int fd, pipefd[2];

	seg_name(addr, b);
	SHMKIT_ASSERT_OK(shmkit_addr_parse(&a, addr));
	s = seg_make(addr, 6000);
	p = seg_map(s, 0);
	strcpy(p + 5000, "via fd");
	if (strcmp(b, "posix") == 0)
		fd = shm_open(a.path, O_RDWR | O_CLOEXEC, 0);
	else if (strcmp(b, "file") == 0)
		fd = open(a.path, O_RDWR | O_CLOEXEC);
	else
		fd = fcntl(shmkit_seg_fd(s), F_DUPFD_CLOEXEC, 0);
	SHMKIT_ASSERT(fd >= 0);

	SHMKIT_ASSERT_ERR(shmkit_seg_open_fd(&t, fd, &more), SHMKIT_ESIZE);
	SHMKIT_ASSERT(fcntl(fd, F_GETFD) >= 0); /* the caller's fd stays */
	SHMKIT_ASSERT_OK(shmkit_seg_open_fd(&t, fd, NULL));
	SHMKIT_ASSERT(shmkit_seg_fd(t) != fd);
	SHMKIT_ASSERT_OK(close(fd)); /* the handle holds its own */
	SHMKIT_ASSERT_STREQ(shmkit_backend_name(shmkit_seg_backend(t)), b);
	SHMKIT_ASSERT_EQ(shmkit_seg_size(t), 6000);
	SHMKIT_ASSERT_OK(shmkit_seg_stat(t, &st));
	SHMKIT_ASSERT_STREQ(st.address, addr);
	q = seg_map(t, 0);
	SHMKIT_ASSERT_STREQ(q + 5000, "via fd");
	SHMKIT_ASSERT_OK(shmkit_seg_close(t));

	/* An fd that is not a segment. */
	SHMKIT_ASSERT_OK(pipe(pipefd));
	SHMKIT_ASSERT_ERR(shmkit_seg_open_fd(&t, pipefd[0], NULL), -EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);
	SHMKIT_ASSERT_ERR(shmkit_seg_open_fd(&t, 1000000, NULL), -EBADF);
	SHMKIT_ASSERT_ERR(shmkit_seg_open_fd(&t, -1, NULL), -EBADF);
	seg_destroy(s);
}

static void
test_sync_file_visible_via_read(void)
{
	char addr[NAMELEN], buf[32];
	size_t pg = page();
	shmkit_addr_t a;
	shmkit_seg_t *s;
	char *p;
	int fd;

	seg_name(addr, "file");
	SHMKIT_ASSERT_OK(shmkit_addr_parse(&a, addr));
	s = seg_make(addr, 3 * pg);
	SHMKIT_ASSERT_ERR(shmkit_seg_sync(s, 0, 0, 0), -EINVAL); /* unmapped */
	p = seg_map(s, 0);
	memcpy(p + pg + 10, "synced data", 11);
	memcpy(p + 2 * pg, "tail", 4);
	SHMKIT_ASSERT_OK(shmkit_seg_sync(s, pg + 10, 11, 0));
	SHMKIT_ASSERT_OK(shmkit_seg_sync(s, 0, 0, SHMKIT_SYNC_ASYNC));
	SHMKIT_ASSERT_OK(shmkit_seg_sync(s, 2 * pg, 1000000,
					 SHMKIT_SYNC_INVALIDATE));
	SHMKIT_ASSERT_ERR(shmkit_seg_sync(s, 3 * pg, 0, 0), -EINVAL);
	fd = open(a.path, O_RDONLY | O_CLOEXEC);
	SHMKIT_ASSERT(fd >= 0);
	SHMKIT_ASSERT_EQ(pread(fd, buf, 11, (off_t)(pg + 10)), 11);
	SHMKIT_ASSERT_MEMEQ(buf, "synced data", 11);
	SHMKIT_ASSERT_EQ(pread(fd, buf, 4, (off_t)(2 * pg)), 4);
	SHMKIT_ASSERT_MEMEQ(buf, "tail", 4);
	close(fd);
	seg_destroy(s);
	SHMKIT_ASSERT_ERR(access(a.path, F_OK), -1);
}

/* Backends without a backing store accept sync as a no-op once mapped. */
static void
sync_noop(const char *b)
{
	char addr[NAMELEN];
	shmkit_seg_t *s;

	seg_name(addr, b);
	s = seg_make(addr, 4096);
	SHMKIT_ASSERT_ERR(shmkit_seg_sync(s, 0, 0, 0), -EINVAL);
	seg_map(s, 0);
	SHMKIT_ASSERT_OK(shmkit_seg_sync(s, 0, 0, 0));
	SHMKIT_ASSERT_ERR(shmkit_seg_sync(s, 4096, 0, 0), -EINVAL);
	seg_destroy(s);
}

#define SYSV_POSIX_FILE(X, fn) X(fn, sysv) X(fn, posix) X(fn, file)
#define ALL4(X, fn) SYSV_POSIX_FILE(X, fn) X(fn, memfd)
#define FD3(X, fn) X(fn, posix) X(fn, file) X(fn, memfd)

#define DEFINE_CASE(fn, b)                                                     \
	static void fn##_##b(void) { fn(#b); }
#define CASE_ENTRY(fn, b) { #fn "_" #b, fn##_##b },

SYSV_POSIX_FILE(DEFINE_CASE, create_exclusive)
SYSV_POSIX_FILE(DEFINE_CASE, open_absent)
SYSV_POSIX_FILE(DEFINE_CASE, open_or_create)
SYSV_POSIX_FILE(DEFINE_CASE, open_or_create_race)
SYSV_POSIX_FILE(DEFINE_CASE, unlink_keeps_mapping)
SYSV_POSIX_FILE(DEFINE_CASE, fork_child_reads)
SYSV_POSIX_FILE(DEFINE_CASE, exec_helper_reads)
ALL4(DEFINE_CASE, attach_rw_ro)
ALL4(DEFINE_CASE, attach_hint)
ALL4(DEFINE_CASE, stat_fields)
ALL4(DEFINE_CASE, resize)
ALL4(DEFINE_CASE, rdonly_write_faults)
ALL4(DEFINE_CASE, open_esize)
FD3(DEFINE_CASE, open_fd)
DEFINE_CASE(sync_noop, sysv)
DEFINE_CASE(sync_noop, posix)
DEFINE_CASE(sync_noop, memfd)

SHMKIT_TESTS = {
	SYSV_POSIX_FILE(CASE_ENTRY, create_exclusive)
	SYSV_POSIX_FILE(CASE_ENTRY, open_absent)
	SYSV_POSIX_FILE(CASE_ENTRY, open_or_create)
	SYSV_POSIX_FILE(CASE_ENTRY, open_or_create_race)
	SYSV_POSIX_FILE(CASE_ENTRY, unlink_keeps_mapping)
	SYSV_POSIX_FILE(CASE_ENTRY, fork_child_reads)
	SYSV_POSIX_FILE(CASE_ENTRY, exec_helper_reads)
	ALL4(CASE_ENTRY, attach_rw_ro)
	ALL4(CASE_ENTRY, attach_hint)
	ALL4(CASE_ENTRY, stat_fields)
	ALL4(CASE_ENTRY, resize)
	ALL4(CASE_ENTRY, rdonly_write_faults)
	ALL4(CASE_ENTRY, open_esize)
	FD3(CASE_ENTRY, open_fd)
	CASE_ENTRY(sync_noop, sysv)
	CASE_ENTRY(sync_noop, posix)
	CASE_ENTRY(sync_noop, memfd)
	{ "sync_file_visible_via_read", test_sync_file_visible_via_read },
	{ NULL, NULL },
};

SHMKIT_HELPERS = {
	{ "check_and_answer", helper_check_and_answer },
	{ NULL, NULL },
};
