/*
 * The shared hash table in one process: argument checks of every entry
 * point, put/get/del/count/next/stat semantics, the capacity limit,
 * tombstone reuse, colliding keys (also with a degenerate hash), secure
 * mode (zeroised values seen through a second mapping, locked pages, no
 * core dump), corrupt fields giving SHMKIT_ECORRUPT without a crash or a
 * hang, recovery of a writer that died with a journal open, and readers
 * in threads never seeing a torn value. Several processes at once are in
 * table_proc_test.c.
 */
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include <shmkit/mutex.h>
#include <shmkit/seg.h>
#include <shmkit/table.h>

#include "obj/obj_impl.h"
#include "shmkit_test.h"
#include "table/table_hash.h"
#include "table/table_impl.h"
#include "table/table_layout.h"

#define NAMELEN 4200

struct rec {
	uint64_t w[8]; /* 8 copies of one counter: whole or torn */
};

static char name[NAMELEN];

static const char *
fresh(const char *backend)
{
	snprintf(name, sizeof(name), "%s", shmkit_test_name(backend));
	return name;
}

static shmkit_table_t *
make(const char *addr, size_t cap, size_t ks, size_t vs, unsigned flags)
{
	shmkit_table_opts_t o = {cap, ks, vs, flags, 0};
	shmkit_table_t *t = NULL;

	SHMKIT_ASSERT_OK(shmkit_table_create(&t, addr, &o));
	SHMKIT_ASSERT(t != NULL);
	return t;
}

static void
destroy(shmkit_table_t *t, const char *addr)
{
	SHMKIT_ASSERT_OK(shmkit_table_close(t));
	SHMKIT_ASSERT_OK(shmkit_seg_unlink_address(addr));
}

/* A key of ks bytes made from n (the rest zero). */
static void
key_of(unsigned char *k, size_t ks, uint64_t n)
{
	memset(k, 0, ks);
	memcpy(k, &n, ks < 8 ? ks : 8);
}

static void
rec_of(struct rec *r, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		r->w[i] = v;
}

static int
bytes_zero(const unsigned char *p, size_t n)
{
	while (n-- > 0)
		if (*p++ != 0)
			return 0;
	return 1;
}

static int
rec_whole(const struct rec *r)
{
	int i;

	for (i = 1; i < 8; i++)
		if (r->w[i] != r->w[0])
			return 0;
	return 1;
}

/* A raw read-write mapping of the segment at addr, for corrupting it. */
struct raw {
	shmkit_seg_t *seg;
	unsigned char *mem;
	size_t len;
};

static struct raw
raw_open(const char *addr)
{
	struct raw r;
	void *mem;

	SHMKIT_ASSERT_OK(shmkit_seg_open(&r.seg, addr, NULL));
	SHMKIT_ASSERT_OK(shmkit_seg_attach(r.seg, &mem, 0, NULL));
	r.mem = mem;
	r.len = shmkit_seg_size(r.seg);
	return r;
}

static void
raw_close(struct raw *r)
{
	SHMKIT_ASSERT_OK(shmkit_seg_close(r->seg));
}

static void
test_siphash_reference_vector(void)
{
	/* The SipHash paper's appendix: key 00..0f, message 00..0e. */
	unsigned char msg[15];
	uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
	int i;

	for (i = 0; i < 15; i++)
		msg[i] = (unsigned char)i;
	SHMKIT_ASSERT(shmkit__siphash(k0, k1, msg, 15, 2, 4) ==
		      0xa129ca6149be45e5ull);
	/* 1-3 differs from 2-4 and depends on every input. */
	SHMKIT_ASSERT(shmkit__siphash(k0, k1, msg, 15, 1, 3) !=
		      shmkit__siphash(k0, k1, msg, 15, 2, 4));
	SHMKIT_ASSERT(shmkit__siphash(k0, k1, msg, 15, 1, 3) !=
		      shmkit__siphash(k0, k1 ^ 1, msg, 15, 1, 3));
	SHMKIT_ASSERT(shmkit__siphash(k0, k1, msg, 15, 1, 3) !=
		      shmkit__siphash(k0, k1, msg, 14, 1, 3));
}

static void
test_key_hash_is_siphash13(void)
{
	/* The lookup's word-wise hash is SipHash-1-3 of the key bytes, for
	 * every length modulo 8, and pads the key with zeroes. */
	shmkit_table_t t;
	unsigned char key[SHMKIT_TABLE_KEY_MAX];
	uint64_t kw[SHMKIT_TABLE_KEY_MAX / 8];
	size_t len, i;

	memset(&t, 0, sizeof(t));
	t.k0 = 0x0123456789abcdefull;
	t.k1 = 0xfedcba9876543210ull;
	t.hash_mask = ~0ull;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 37 + 1);
	for (len = 1; len <= SHMKIT_TABLE_KEY_MAX; len++) {
		t.key_size = len;
		memset(kw, 0xff, sizeof(kw));
		SHMKIT_ASSERT(table_key_words(&t, key, kw) ==
			      shmkit__siphash(t.k0, t.k1, key, len, 1, 3));
		SHMKIT_ASSERT_MEMEQ(kw, key, len);
		if (len % 8)
			SHMKIT_ASSERT(bytes_zero((unsigned char *)kw + len,
						 8 - len % 8));
	}
}

static void
test_bad_arguments(void)
{
	shmkit_table_opts_t o = {16, 8, 8, 0, 0}, b;
	shmkit_table_t *t, *u = NULL;
	shmkit_table_stat_t st;
	unsigned char k[8] = {1}, v[8] = {2};
	size_t cur = 0;
	const char *addr = fresh("posix");

	SHMKIT_ASSERT_EQ(shmkit_table_size(NULL), 0);
	SHMKIT_ASSERT(shmkit_table_size(&o) > 0);
	b = o, b.capacity = 0;
	SHMKIT_ASSERT_EQ(shmkit_table_size(&b), 0);
	b = o, b.capacity = SHMKIT_TABLE_CAPACITY_MAX + 1;
	SHMKIT_ASSERT_EQ(shmkit_table_size(&b), 0);
	b = o, b.key_size = 0;
	SHMKIT_ASSERT_EQ(shmkit_table_size(&b), 0);
	b = o, b.key_size = SHMKIT_TABLE_KEY_MAX + 1;
	SHMKIT_ASSERT_EQ(shmkit_table_size(&b), 0);
	b = o, b.value_size = SHMKIT_TABLE_VALUE_MAX + 1;
	SHMKIT_ASSERT_EQ(shmkit_table_size(&b), 0);
	b = o, b.flags = SHMKIT_TABLE_RDONLY;
	SHMKIT_ASSERT_EQ(shmkit_table_size(&b), 0);
	b = o, b.mode = 010000;
	SHMKIT_ASSERT_EQ(shmkit_table_size(&b), 0);
	b = o, b.key_size = SHMKIT_TABLE_KEY_MAX,
	b.value_size = SHMKIT_TABLE_VALUE_MAX, b.capacity = 1;
	SHMKIT_ASSERT(shmkit_table_size(&b) > 2 * SHMKIT_TABLE_VALUE_MAX);

	SHMKIT_ASSERT_ERR(shmkit_table_create(NULL, addr, &o), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_table_create(&u, NULL, &o), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_table_create(&u, addr, NULL), -EINVAL);
	b = o, b.capacity = 0;
	SHMKIT_ASSERT_ERR(shmkit_table_create(&u, addr, &b), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_table_create(&u, "bogus:x", &o), -EINVAL);
	SHMKIT_ASSERT(u == NULL);
	SHMKIT_ASSERT_ERR(shmkit_table_open(&u, addr, 0), -ENOENT);
	SHMKIT_ASSERT_ERR(shmkit_table_open(NULL, addr, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_table_open(&u, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_table_open(&u, addr, 0x100), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit__table_open_kind(
				  &u, addr, 0, (shmkit_obj_kind_t)9, 1, NULL),
			  -EINVAL);
	SHMKIT_ASSERT(u == NULL);

	t = make(addr, 16, 8, 8, 0);
	SHMKIT_ASSERT_ERR(shmkit_table_create(&u, addr, &o), -EEXIST);
	SHMKIT_ASSERT_ERR(shmkit_table_put(NULL, k, v), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_table_put(t, NULL, v), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_table_put(t, k, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_table_get(NULL, k, v), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_table_get(t, NULL, v), -EINVAL);
	{
		int res[1] = {7};

		SHMKIT_ASSERT_ERR(shmkit_table_get_many(NULL, 1, k, v, res),
				  -EINVAL);
		SHMKIT_ASSERT_ERR(shmkit_table_get_many(t, 1, NULL, v, res),
				  -EINVAL);
		SHMKIT_ASSERT_ERR(shmkit_table_get_many(t, 1, k, v, NULL),
				  -EINVAL);
		SHMKIT_ASSERT_ERR(shmkit_table_get_many(t, (size_t)INT_MAX + 1,
							k, v, res),
				  -EINVAL);
		SHMKIT_ASSERT_EQ(res[0], 7);
		SHMKIT_ASSERT_EQ(shmkit_table_get_many(t, 0, NULL, NULL, NULL),
				 0);
	}
	SHMKIT_ASSERT_ERR(shmkit_table_del(NULL, k), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_table_del(t, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_table_count(NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_table_stat(NULL, &st), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_table_stat(t, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_table_next(NULL, &cur, k, v), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_table_next(t, NULL, k, v), -EINVAL);
	SHMKIT_ASSERT_OK(shmkit_table_stat(t, &st));
	cur = st.slots + 1;
	SHMKIT_ASSERT_ERR(shmkit_table_next(t, &cur, k, v), -EINVAL);
	cur = st.slots;
	SHMKIT_ASSERT_ERR(shmkit_table_next(t, &cur, k, v), -ENOENT);
	SHMKIT_ASSERT_ERR(
		shmkit__table_format_seg(NULL, &o, SHMKIT_OBJ_TABLE, 1),
		-EINVAL);
	SHMKIT_ASSERT_ERR(
		shmkit__table_open_seg(&u, NULL, 0, SHMKIT_OBJ_TABLE, 1, NULL),
		-EINVAL);
	SHMKIT_ASSERT_EQ(shmkit_table_close(NULL), 0);
	destroy(t, addr);
}

static void
test_put_get_del_semantics(void)
{
	const char *addr = fresh("posix");
	shmkit_table_t *t = make(addr, 100, 12, 20, 0);
	unsigned char k[12], v[20], out[20], kk[12], seen[100] = {0};
	shmkit_table_stat_t st;
	size_t cur = 0;
	uint64_t n;
	int i, rc;

	key_of(k, 12, 7);
	memset(v, 'a', sizeof(v));
	SHMKIT_ASSERT_ERR(shmkit_table_get(t, k, out), -ENOENT);
	SHMKIT_ASSERT_ERR(shmkit_table_del(t, k), -ENOENT);
	SHMKIT_ASSERT_EQ(shmkit_table_put(t, k, v), 0);
	SHMKIT_ASSERT_EQ(shmkit_table_count(t), 1);
	SHMKIT_ASSERT_OK(shmkit_table_get(t, k, out));
	SHMKIT_ASSERT_MEMEQ(out, v, sizeof(v));
	SHMKIT_ASSERT_OK(shmkit_table_get(t, k, NULL));
	memset(v, 'b', sizeof(v));
	SHMKIT_ASSERT_EQ(shmkit_table_put(t, k, v), 1);
	SHMKIT_ASSERT_EQ(shmkit_table_count(t), 1);
	SHMKIT_ASSERT_OK(shmkit_table_get(t, k, out));
	SHMKIT_ASSERT_MEMEQ(out, v, sizeof(v));
	/* Keys differ in their last byte only. */
	k[11] = 1;
	SHMKIT_ASSERT_ERR(shmkit_table_get(t, k, out), -ENOENT);
	k[11] = 0;
	SHMKIT_ASSERT_OK(shmkit_table_del(t, k));
	SHMKIT_ASSERT_ERR(shmkit_table_get(t, k, out), -ENOENT);
	SHMKIT_ASSERT_ERR(shmkit_table_del(t, k), -ENOENT);
	SHMKIT_ASSERT_EQ(shmkit_table_count(t), 0);

	for (i = 0; i < 100; i++) {
		key_of(k, 12, (uint64_t)i);
		memset(v, i, sizeof(v));
		SHMKIT_ASSERT_EQ(shmkit_table_put(t, k, v), 0);
	}
	SHMKIT_ASSERT_EQ(shmkit_table_count(t), 100);
	SHMKIT_ASSERT_OK(shmkit_table_stat(t, &st));
	SHMKIT_ASSERT_EQ(st.capacity, 100);
	SHMKIT_ASSERT_EQ(st.key_size, 12);
	SHMKIT_ASSERT_EQ(st.value_size, 20);
	SHMKIT_ASSERT_EQ(st.count, 100);
	SHMKIT_ASSERT_EQ(st.slots & (st.slots - 1), 0);
	SHMKIT_ASSERT(st.slots * 7 / 8 >= 100);
	SHMKIT_ASSERT(st.max_probe >= 1 && st.max_probe <= st.slots);
	SHMKIT_ASSERT_EQ(st.flags, 0);
	SHMKIT_ASSERT_EQ(st.locked, 0);
	/* Every record once, whole. */
	for (i = 0; (rc = shmkit_table_next(t, &cur, kk, out)) == 0; i++) {
		memcpy(&n, kk, 8);
		SHMKIT_ASSERT(n < 100 && !seen[n]);
		seen[n] = 1;
		SHMKIT_ASSERT_EQ(out[0], (unsigned char)n);
		SHMKIT_ASSERT_EQ(out[19], (unsigned char)n);
	}
	SHMKIT_ASSERT_ERR(rc, -ENOENT);
	SHMKIT_ASSERT_EQ(i, 100);
	cur = 0;
	SHMKIT_ASSERT_OK(shmkit_table_next(t, &cur, NULL, NULL));
	destroy(t, addr);
}

static void
test_capacity_enospc(void)
{
	const char *addr = fresh("posix");
	shmkit_table_t *t = make(addr, 10, 8, 8, 0);
	uint64_t k, v;

	for (k = 0; k < 10; k++)
		SHMKIT_ASSERT_EQ(shmkit_table_put(t, &k, &k), 0);
	k = 10;
	SHMKIT_ASSERT_ERR(shmkit_table_put(t, &k, &k), -ENOSPC);
	SHMKIT_ASSERT_ERR(shmkit_table_get(t, &k, &v), -ENOENT);
	k = 3, v = 33;
	SHMKIT_ASSERT_EQ(shmkit_table_put(t, &k, &v), 1); /* replace: fine */
	SHMKIT_ASSERT_OK(shmkit_table_del(t, &k));
	k = 10;
	SHMKIT_ASSERT_EQ(shmkit_table_put(t, &k, &k), 0);
	SHMKIT_ASSERT_EQ(shmkit_table_count(t), 10);
	k = 11;
	SHMKIT_ASSERT_ERR(shmkit_table_put(t, &k, &k), -ENOSPC);
	destroy(t, addr);

	/* The smallest table. */
	t = make(addr, 1, 1, 0, 0);
	SHMKIT_ASSERT_EQ(shmkit_table_put(t, "a", NULL), 0);
	SHMKIT_ASSERT_ERR(shmkit_table_put(t, "b", NULL), -ENOSPC);
	SHMKIT_ASSERT_EQ(shmkit_table_put(t, "a", NULL), 1);
	SHMKIT_ASSERT_OK(shmkit_table_get(t, "a", NULL));
	SHMKIT_ASSERT_OK(shmkit_table_del(t, "a"));
	SHMKIT_ASSERT_EQ(shmkit_table_put(t, "b", NULL), 0);
	SHMKIT_ASSERT_ERR(shmkit_table_get(t, "a", NULL), -ENOENT);
	destroy(t, addr);
}

static void
test_rdonly_and_second_handle(void)
{
	const char *addr = fresh("sysv");
	shmkit_table_t *t = make(addr, 8, 8, 8, 0), *r, *w;
	uint64_t k = 1, v = 2, out = 0;

	SHMKIT_ASSERT_EQ(shmkit_table_put(t, &k, &v), 0);
	SHMKIT_ASSERT_OK(shmkit_table_open(&r, addr, SHMKIT_TABLE_RDONLY));
	SHMKIT_ASSERT_OK(shmkit_table_get(r, &k, &out));
	SHMKIT_ASSERT_EQ(out, 2);
	SHMKIT_ASSERT_ERR(shmkit_table_put(r, &k, &v), -EROFS);
	SHMKIT_ASSERT_ERR(shmkit_table_del(r, &k), -EROFS);
	SHMKIT_ASSERT_OK(shmkit_table_open(&w, addr, 0));
	v = 5;
	SHMKIT_ASSERT_EQ(shmkit_table_put(w, &k, &v), 1);
	SHMKIT_ASSERT_OK(shmkit_table_get(r, &k, &out));
	SHMKIT_ASSERT_EQ(out, 5);
	SHMKIT_ASSERT_EQ(shmkit_table_count(r), 1);
	SHMKIT_ASSERT_OK(shmkit_table_close(r));
	SHMKIT_ASSERT_OK(shmkit_table_close(w));
	destroy(t, addr);
}

static void
test_kinds_versions_and_segments(void)
{
	shmkit_table_opts_t o = {8, 8, 8, 0, 0};
	/* A key store's table is always secure. */
	shmkit_table_opts_t ok = {
		8, 8, 8, SHMKIT_TABLE_SECURE | SHMKIT_TABLE_NOLOCK_OK, 0};
	char addr[NAMELEN], faddr[NAMELEN];
	shmkit_table_t *t, *u = NULL;
	shmkit_seg_opts_t so = {0};
	shmkit_seg_t *seg;
	uint64_t k = 1, v = 9, out = 0;
	void *mem;

	snprintf(addr, sizeof(addr), "%s", shmkit_test_name("posix"));
	SHMKIT_ASSERT_ERR(
		shmkit__table_create_kind(&t, addr, &o, SHMKIT_OBJ_KEYS, 1),
		-EINVAL);
	SHMKIT_ASSERT_OK(
		shmkit__table_create_kind(&t, addr, &ok, SHMKIT_OBJ_KEYS, 1));
	SHMKIT_ASSERT_ERR(shmkit_table_open(&u, addr, 0), SHMKIT_ENOTOBJ);
	SHMKIT_ASSERT_ERR(
		shmkit__table_open_kind(&u, addr, 0, SHMKIT_OBJ_KEYS, 2, NULL),
		SHMKIT_EVERSION);
	SHMKIT_ASSERT(u == NULL);
	SHMKIT_ASSERT_OK(shmkit__table_open_kind(
		&u, addr, SHMKIT_TABLE_NOLOCK_OK, SHMKIT_OBJ_KEYS, 1, NULL));
	SHMKIT_ASSERT_OK(shmkit_table_close(u));
	destroy(t, addr);

	/* Not an object at all. */
	so.size = 4096;
	SHMKIT_ASSERT_OK(shmkit_seg_create(&seg, addr, &so));
	SHMKIT_ASSERT_ERR(shmkit_table_open(&u, addr, 0), SHMKIT_ENOTOBJ);
	SHMKIT_ASSERT_OK(shmkit_seg_unlink(seg));
	SHMKIT_ASSERT_OK(shmkit_seg_close(seg));

	/* format_seg + open_seg, on System V (by id) and a file (by fd),
	 * with the caller's segment attached or not. */
	snprintf(addr, sizeof(addr), "%s", shmkit_test_name("sysv"));
	snprintf(faddr, sizeof(faddr), "%s", shmkit_test_name("file"));
	so.size = shmkit_table_size(&o) - 1;
	SHMKIT_ASSERT_OK(shmkit_seg_create(&seg, addr, &so));
	SHMKIT_ASSERT_ERR(
		shmkit__table_format_seg(seg, &o, SHMKIT_OBJ_TABLE, 1),
		SHMKIT_ESIZE);
	SHMKIT_ASSERT_OK(shmkit_seg_unlink(seg));
	SHMKIT_ASSERT_OK(shmkit_seg_close(seg));
	so.size = shmkit_table_size(&o);
	SHMKIT_ASSERT_OK(shmkit_seg_create(&seg, addr, &so));
	SHMKIT_ASSERT_ERR(shmkit__table_format_seg(seg, &o, SHMKIT_OBJ_KEYS, 1),
			  -EINVAL);
	SHMKIT_ASSERT_OK(
		shmkit__table_format_seg(seg, &ok, SHMKIT_OBJ_KEYS, 1));
	SHMKIT_ASSERT(shmkit_seg_addr(seg) == NULL);
	SHMKIT_ASSERT_ERR(
		shmkit__table_open_seg(&u, seg, 0, SHMKIT_OBJ_TABLE, 1, NULL),
		SHMKIT_ENOTOBJ);
	SHMKIT_ASSERT_OK(shmkit__table_open_seg(&t, seg, SHMKIT_TABLE_NOLOCK_OK,
						SHMKIT_OBJ_KEYS, 1, NULL));
	SHMKIT_ASSERT_OK(shmkit_seg_attach(seg, &mem, 0, NULL));
	SHMKIT_ASSERT_OK(shmkit__table_open_seg(
		&u, seg, SHMKIT_TABLE_RDONLY | SHMKIT_TABLE_NOLOCK_OK,
		SHMKIT_OBJ_KEYS, 1, NULL));
	SHMKIT_ASSERT_OK(shmkit_seg_unlink(seg));
	SHMKIT_ASSERT_OK(shmkit_seg_close(seg)); /* the handles keep theirs */
	SHMKIT_ASSERT_EQ(shmkit_table_put(t, &k, &v), 0);
	SHMKIT_ASSERT_OK(shmkit_table_get(u, &k, &out));
	SHMKIT_ASSERT_EQ(out, 9);
	SHMKIT_ASSERT_ERR(shmkit_table_put(u, &k, &v), -EROFS);
	SHMKIT_ASSERT_OK(shmkit_table_close(u));
	SHMKIT_ASSERT_OK(shmkit_table_close(t));

	SHMKIT_ASSERT_OK(shmkit_seg_create(&seg, faddr, &so));
	SHMKIT_ASSERT_OK(shmkit_seg_attach(seg, &mem, 0, NULL));
	SHMKIT_ASSERT_OK(
		shmkit__table_format_seg(seg, &o, SHMKIT_OBJ_TABLE, 1));
	SHMKIT_ASSERT_OK(
		shmkit__table_open_seg(&t, seg, 0, SHMKIT_OBJ_TABLE, 1, NULL));
	SHMKIT_ASSERT_EQ(shmkit_table_put(t, &k, &v), 0);
	SHMKIT_ASSERT_OK(shmkit_table_close(t));
	SHMKIT_ASSERT_OK(shmkit_table_open(&t, faddr, 0));
	SHMKIT_ASSERT_OK(shmkit_table_get(t, &k, &out));
	SHMKIT_ASSERT_OK(shmkit_table_close(t));
	SHMKIT_ASSERT_OK(shmkit_seg_unlink(seg));
	SHMKIT_ASSERT_OK(shmkit_seg_close(seg));

	/* memfd: create works, the table lives while the handle does. */
	snprintf(addr, sizeof(addr), "%s", shmkit_test_name("memfd"));
	if (shmkit_table_create(&t, addr, &o) == 0) {
		SHMKIT_ASSERT_EQ(shmkit_table_put(t, &k, &v), 0);
		SHMKIT_ASSERT_OK(shmkit_table_get(t, &k, &out));
		SHMKIT_ASSERT_OK(shmkit_table_close(t));
	}
}

/*
 * Put and delete keys (ks bytes) at random many times over, starting from
 * an empty table; check everything against a model.
 */
static void
churn(shmkit_table_t *t, size_t cap, size_t ks, unsigned rounds, unsigned seed)
{
	unsigned char *in = calloc(4 * cap, 1), kb[SHMKIT_TABLE_KEY_MAX];
	shmkit_table_stat_t st;
	uint64_t k, v;
	size_t count = 0;
	unsigned i;
	int rc;

	SHMKIT_ASSERT(in != NULL);
	SHMKIT_ASSERT_EQ(shmkit_table_count(t), 0);
	srand(seed);
	for (i = 0; i < rounds; i++) {
		k = (uint64_t)rand() % (4 * cap);
		key_of(kb, ks, k * 0x9e3779b97f4a7c15ull);
		if (in[k]) {
			SHMKIT_ASSERT_OK(shmkit_table_del(t, kb));
			in[k] = 0;
			count--;
		} else {
			v = k * 3;
			rc = shmkit_table_put(t, kb, &v);
			if (count == cap) {
				SHMKIT_ASSERT_ERR(rc, -ENOSPC);
				continue;
			}
			SHMKIT_ASSERT_EQ(rc, 0);
			in[k] = 1;
			count++;
		}
	}
	SHMKIT_ASSERT_EQ(shmkit_table_count(t), (long)count);
	for (k = 0; k < 4 * cap; k++) {
		key_of(kb, ks, k * 0x9e3779b97f4a7c15ull);
		rc = shmkit_table_get(t, kb, &v);
		if (in[k]) {
			SHMKIT_ASSERT_EQ(rc, 0);
			SHMKIT_ASSERT_EQ(v, k * 3);
		} else {
			SHMKIT_ASSERT_ERR(rc, -ENOENT);
		}
	}
	SHMKIT_ASSERT_OK(shmkit_table_stat(t, &st));
	SHMKIT_ASSERT(st.max_probe <= st.slots);
	/* Empty it again: every record deletable once. */
	for (k = 0; k < 4 * cap; k++) {
		key_of(kb, ks, k * 0x9e3779b97f4a7c15ull);
		SHMKIT_ASSERT_EQ(shmkit_table_del(t, kb), in[k] ? 0 : -ENOENT);
	}
	SHMKIT_ASSERT_EQ(shmkit_table_count(t), 0);
	free(in);
}

static void
test_tombstone_reuse_stays_bounded(void)
{
	const char *addr = fresh("posix");
	shmkit_table_t *t = make(addr, 1000, 8, 8, 0);
	shmkit_table_stat_t st;
	uint64_t k, v;

	/* Fill to the limit, then churn at the limit: every insert must
	 * find a tombstone, and probing must not grow without bound. */
	for (k = 0; k < 1000; k++)
		SHMKIT_ASSERT_EQ(shmkit_table_put(t, &k, &k), 0);
	for (v = 0; v < 50000; v++) {
		k = v % 1000;
		SHMKIT_ASSERT_OK(shmkit_table_del(t, &k));
		k += 1000 * (1 + v / 1000 % 7);
		SHMKIT_ASSERT_EQ(shmkit_table_put(t, &k, &v), 0);
		k = v % 1000 + 1000 * (1 + v / 1000 % 7);
		SHMKIT_ASSERT_OK(shmkit_table_del(t, &k));
		k = v % 1000;
		SHMKIT_ASSERT_EQ(shmkit_table_put(t, &k, &k), 0);
	}
	SHMKIT_ASSERT_EQ(shmkit_table_count(t), 1000);
	SHMKIT_ASSERT_OK(shmkit_table_stat(t, &st));
	/* Linear probing at 7/8 fill: a few dozen slots, far from all. */
	SHMKIT_ASSERT(st.max_probe < st.slots / 4);
	for (k = 0; k < 1000; k++) {
		SHMKIT_ASSERT_OK(shmkit_table_get(t, &k, &v));
		SHMKIT_ASSERT_EQ(v, k);
	}
	for (k = 0; k < 1000; k++)
		SHMKIT_ASSERT_OK(shmkit_table_del(t, &k));
	churn(t, 1000, 8, 100000, 7);
	destroy(t, addr);
}

static void
test_many_colliding_keys(void)
{
	const char *addr = fresh("posix");
	shmkit_table_t *t = make(addr, 20000, 24, 8, 0);

	churn(t, 20000, 24, 60000, 1);
	destroy(t, addr);
}

static void
test_degenerate_hash_stays_correct(void)
{
	const char *addr = fresh("posix");
	shmkit_table_t *t = make(addr, 200, 8, 8, 0);
	shmkit_table_stat_t st;
	uint64_t k, v;

	/* Every key hashes to slot 0: one cluster of the whole table. */
	shmkit__table_test_hash_mask(t, 0);
	churn(t, 200, 8, 20000, 3);
	SHMKIT_ASSERT_OK(shmkit_table_stat(t, &st));
	SHMKIT_ASSERT(st.max_probe > 100);
	SHMKIT_ASSERT(st.max_probe <= st.slots);
	for (k = 0; k < 200; k++)
		SHMKIT_ASSERT_EQ(shmkit_table_put(t, &k, &k), 0);
	k = 999;
	SHMKIT_ASSERT_ERR(shmkit_table_put(t, &k, &k), -ENOSPC);
	SHMKIT_ASSERT_ERR(shmkit_table_get(t, &k, &v), -ENOENT);
	destroy(t, addr);
}

/*
 * get_many gives each key what get gives it, for batches shorter and
 * longer than its window, keys of odd sizes, records longer than a
 * cache line (whose values it prefetches), no value at all, presence
 * tests, and a degenerate hash whose probes run far past the slots it
 * prefetched.
 */
static void
get_many_matches_get(size_t ks, size_t vs, int degenerate)
{
	static const size_t counts[] = {0, 1, 7, 8, 9, 16, 17, 40, 301};
	const char *addr = fresh("posix");
	shmkit_table_t *t = make(addr, 300, ks, vs, 0);
	size_t c, i, n;
	unsigned char *keys, *vals, *one;
	int *res, rc, found;
	uint64_t x;

	if (degenerate)
		shmkit__table_test_hash_mask(t, 0);
	keys = calloc(301, ks);
	vals = calloc(301 * vs + 1, 1);
	one = calloc(1, vs + 1);
	res = calloc(302, sizeof(*res));
	SHMKIT_ASSERT(keys && vals && one && res);
	/* Even numbers present, with a value made of the key's number. */
	for (x = 0; x < 300; x += 2) {
		key_of(keys, ks, x);
		memset(vals, (int)(x & 0xff), vs);
		SHMKIT_ASSERT_EQ(shmkit_table_put(t, keys, vs ? vals : NULL),
				 0);
	}
	for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		n = counts[c];
		for (i = 0; i < n; i++)
			key_of(keys + i * ks, ks, (i * 7 + c) % 300);
		/* Guards past the n-th entries: nothing may write there. */
		memset(vals, 0xee, 301 * vs + 1);
		memset(res, 0x55, 302 * sizeof(*res));
		found = shmkit_table_get_many(t, n, keys, vals, res);
		SHMKIT_ASSERT(found >= 0);
		for (i = 0; i < n; i++) {
			rc = shmkit_table_get(t, keys + i * ks, one);
			SHMKIT_ASSERT_EQ(res[i], rc);
			found -= rc == 0;
			if (rc == 0 && vs > 0)
				SHMKIT_ASSERT(memcmp(vals + i * vs, one, vs) ==
					      0);
		}
		SHMKIT_ASSERT_EQ(found, 0);
		SHMKIT_ASSERT_EQ(res[n], 0x55555555);
		SHMKIT_ASSERT_EQ(vals[n * vs], 0xee);
		/* Presence only: the same verdict per key. */
		memset(res, 0x55, 302 * sizeof(*res));
		found = shmkit_table_get_many(t, n, keys, NULL, res);
		for (i = 0; i < n; i++) {
			rc = shmkit_table_get(t, keys + i * ks, NULL);
			SHMKIT_ASSERT_EQ(res[i], rc);
			found -= rc == 0;
		}
		SHMKIT_ASSERT_EQ(found, 0);
		SHMKIT_ASSERT_EQ(res[n], 0x55555555);
	}
	free(keys);
	free(vals);
	free(one);
	free(res);
	destroy(t, addr);
}

static void
test_get_many_matches_get(void)
{
	get_many_matches_get(8, 8, 0);
	get_many_matches_get(5, 0, 0);
	get_many_matches_get(24, 160, 0);  /* slots of 6 lines */
	get_many_matches_get(17, 1000, 0); /* a value over many lines */
	get_many_matches_get(SHMKIT_TABLE_KEY_MAX, 3, 0);
	get_many_matches_get(8, 8, 1);
	get_many_matches_get(24, 160, 1);
}

/* Is the 8-byte pattern p (repeated n times) anywhere in mem? */
static int
contains(const unsigned char *mem, size_t len, unsigned char c, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < len; i++) {
		run = mem[i] == c ? run + 1 : 0;
		if (run >= n)
			return 1;
	}
	return 0;
}

/* VmFlags of the mapping that contains addr, from /proc/self/smaps. */
static void
vmflags(const void *addr, char *out, size_t outlen)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	unsigned long lo, hi;
	int in = 0;

	SHMKIT_ASSERT(f != NULL);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(out, outlen, "%s", line + 8);
			break;
		}
	}
	fclose(f);
}

static int
has_flag(const char *flags, const char *f)
{
	char pat[8];

	snprintf(pat, sizeof(pat), " %s", f);
	return strstr(flags, pat) != NULL;
}

static void
secure_zeroise(unsigned flags, int expect_zero)
{
	const char *addr = fresh("posix");
	shmkit_table_t *t = make(addr, 64, 16, 64, flags);
	unsigned char k[16] = "secret-key-0001", v[64];
	shmkit_table_stat_t st;
	struct raw r;
	char fl[512];

	SHMKIT_ASSERT_OK(shmkit_table_stat(t, &st));
	SHMKIT_ASSERT_EQ(st.flags, flags & SHMKIT_TABLE_SECURE);
	SHMKIT_ASSERT_EQ(st.locked, expect_zero);
	vmflags(t->base, fl, sizeof(fl));
	SHMKIT_ASSERT_EQ(has_flag(fl, "dd"), expect_zero);
	SHMKIT_ASSERT_EQ(has_flag(fl, "lo"), expect_zero);

	r = raw_open(addr);
	memset(v, 0xab, sizeof(v));
	SHMKIT_ASSERT_EQ(shmkit_table_put(t, k, v), 0);
	SHMKIT_ASSERT(contains(r.mem, r.len, 0xab, 64));
	memset(v, 0xcd, sizeof(v));
	SHMKIT_ASSERT_EQ(shmkit_table_put(t, k, v), 1);
	SHMKIT_ASSERT(contains(r.mem, r.len, 0xcd, 64));
	/* The replaced value is gone from the segment. */
	SHMKIT_ASSERT_EQ(contains(r.mem, r.len, 0xab, 8), !expect_zero);
	SHMKIT_ASSERT_OK(shmkit_table_del(t, k));
	SHMKIT_ASSERT_EQ(contains(r.mem, r.len, 0xcd, 8), !expect_zero);
	SHMKIT_ASSERT_EQ(memmem(r.mem, r.len, "secret-key", 10) != NULL,
			 !expect_zero);
	raw_close(&r);
	destroy(t, addr);
}

static void
test_secure_zeroises_and_locks(void)
{
	shmkit_table_t *t, *u;
	const char *addr;
	char fl[512];
	shmkit_table_stat_t st;

	secure_zeroise(SHMKIT_TABLE_SECURE, 1);
	/* Every opener locks and hides its own mapping too. */
	addr = fresh("sysv");
	t = make(addr, 64, 16, 64, SHMKIT_TABLE_SECURE);
	SHMKIT_ASSERT_OK(shmkit_table_open(&u, addr, SHMKIT_TABLE_RDONLY));
	SHMKIT_ASSERT_OK(shmkit_table_stat(u, &st));
	SHMKIT_ASSERT_EQ(st.locked, 1);
	vmflags(u->base, fl, sizeof(fl));
	SHMKIT_ASSERT(has_flag(fl, "dd") && has_flag(fl, "lo"));
	SHMKIT_ASSERT_OK(shmkit_table_close(u));
	destroy(t, addr);
}

static void
test_plain_mode_keeps_old_bytes(void)
{
	/* The control for the secure case: without SECURE the old bytes
	 * stay, so that case's checks can see them. */
	secure_zeroise(0, 0);
}

/* Drop CAP_IPC_LOCK and the memlock limit, so mlock must fail. */
static int
forbid_mlock(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	struct rlimit rl = {0, 0};

	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
	if (syscall(SYS_capset, &h, d) < 0)
		return -1;
	return setrlimit(RLIMIT_MEMLOCK, &rl);
}

static void
nolock_child(void *arg)
{
	const char *addr = arg;
	shmkit_table_opts_t o = {64, 16, 64, SHMKIT_TABLE_SECURE, 0};
	shmkit_table_t *t = NULL, *u = NULL;
	shmkit_table_stat_t st;
	int rc;

	if (forbid_mlock() < 0)
		_exit(SHMKIT_TEST_SKIP_CODE);
	rc = shmkit_table_create(&t, addr, &o);
	SHMKIT_ASSERT(rc == -EPERM || rc == -ENOMEM || rc == -EAGAIN);
	SHMKIT_ASSERT(t == NULL);
	/* Nothing left behind. */
	SHMKIT_ASSERT_ERR(shmkit_seg_unlink_address(addr), -ENOENT);
	o.flags |= SHMKIT_TABLE_NOLOCK_OK;
	SHMKIT_ASSERT_OK(shmkit_table_create(&t, addr, &o));
	SHMKIT_ASSERT_OK(shmkit_table_stat(t, &st));
	SHMKIT_ASSERT_EQ(st.locked, 0);
	SHMKIT_ASSERT_EQ(st.flags, SHMKIT_TABLE_SECURE);
	rc = shmkit_table_open(&u, addr, 0);
	SHMKIT_ASSERT(rc == -EPERM || rc == -ENOMEM || rc == -EAGAIN);
	SHMKIT_ASSERT_OK(shmkit_table_open(&u, addr, SHMKIT_TABLE_NOLOCK_OK));
	SHMKIT_ASSERT_OK(shmkit_table_close(u));
	destroy(t, addr);
}

static void
test_secure_mlock_failure(void)
{
	char addr[NAMELEN];
	pid_t pid;
	int st;

	snprintf(addr, sizeof(addr), "%s", shmkit_test_name("posix"));
	pid = shmkit_test_fork(nolock_child, addr);
	st = shmkit_test_wait(pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == SHMKIT_TEST_SKIP_CODE)
		SHMKIT_SKIP("cannot drop CAP_IPC_LOCK");
	SHMKIT_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Corrupt one spot; expect the open or an operation to say so. */
static void
test_corrupt_fields_give_ecorrupt(void)
{
	const char *addr = fresh("posix");
	shmkit_table_t *t = make(addr, 100, 8, 8, 0), *u = NULL;
	shmkit_obj_hdr_t *h;
	struct table_params *p, save;
	struct table_counts *c;
	struct table_journal *j;
	struct raw r;
	unsigned char hsave[64], *slots;
	uint64_t k, v, mp;
	size_t i, cur;

	for (k = 0; k < 50; k++)
		SHMKIT_ASSERT_EQ(shmkit_table_put(t, &k, &k), 0);
	SHMKIT_ASSERT_OK(shmkit_table_close(t));
	r = raw_open(addr);
	h = (shmkit_obj_hdr_t *)(void *)r.mem;
	p = (struct table_params *)(void *)(r.mem + TABLE_PARAMS_OFF);
	c = (struct table_counts *)(void *)(r.mem + TABLE_COUNTS_OFF);
	j = (struct table_journal *)(void *)(r.mem + TABLE_JOURNAL_OFF);
	slots = r.mem + TABLE_SLOTS_OFF;
	memcpy(hsave, h, 64);
	save = *p;

#define OPEN_GIVES(err)                                                        \
	do {                                                                   \
		SHMKIT_ASSERT_ERR(shmkit_table_open(&u, addr, 0), (err));      \
		SHMKIT_ASSERT(u == NULL);                                      \
	} while (0)

	h->magic = 0;
	OPEN_GIVES(SHMKIT_ENOTOBJ);
	memcpy(h, hsave, 64), h->kind = SHMKIT_OBJ_CHAN, h->version = 2;
	OPEN_GIVES(SHMKIT_ENOTOBJ);
	memcpy(h, hsave, 64), h->kind = 77;
	OPEN_GIVES(SHMKIT_ECORRUPT);
	memcpy(h, hsave, 64), h->size -= 8;
	OPEN_GIVES(SHMKIT_ECORRUPT);
	memcpy(h, hsave, 64), h->size = r.len + 1;
	OPEN_GIVES(SHMKIT_ECORRUPT);
	memcpy(h, hsave, 64), h->state = 99;
	OPEN_GIVES(SHMKIT_ECORRUPT);
	memcpy(h, hsave, 64), h->state = SHMKIT_OBJ_STATE_BROKEN;
	OPEN_GIVES(SHMKIT_ECORRUPT);
	memcpy(h, hsave, 64), h->state = SHMKIT_OBJ_STATE_INIT;
	h->creator_pid = (int32_t)getpid();
	h->creator_start = shmkit__proc_start_time((int)getpid());
	OPEN_GIVES(-EBUSY);
	h->creator_start += 1; /* "our pid, recycled": creator is dead */
	OPEN_GIVES(SHMKIT_ECORRUPT);
	memcpy(h, hsave, 64);

	p->capacity = 0;
	OPEN_GIVES(SHMKIT_ECORRUPT);
	*p = save, p->capacity = 1000;
	OPEN_GIVES(SHMKIT_ECORRUPT);
	*p = save, p->capacity = ~0ull;
	OPEN_GIVES(SHMKIT_ECORRUPT);
	*p = save, p->key_size = 0;
	OPEN_GIVES(SHMKIT_ECORRUPT);
	*p = save, p->key_size = 9;
	OPEN_GIVES(SHMKIT_ECORRUPT);
	*p = save, p->value_size = 1u << 30;
	OPEN_GIVES(SHMKIT_ECORRUPT);
	*p = save, p->slots *= 2;
	OPEN_GIVES(SHMKIT_ECORRUPT);
	*p = save, p->slots = 0;
	OPEN_GIVES(SHMKIT_ECORRUPT);
	*p = save, p->stride = 1;
	OPEN_GIVES(SHMKIT_ECORRUPT);
	*p = save, p->flags = 0x80;
	OPEN_GIVES(SHMKIT_ECORRUPT);
	*p = save;
	memset(r.mem + TABLE_LOCK_OFF, 0x5a, 64);
	OPEN_GIVES(SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_OK(shmkit_mutex_init(
		(shmkit_mutex_t *)(void *)(r.mem + TABLE_LOCK_OFF)));

	/* Fields read on every operation. */
	SHMKIT_ASSERT_OK(shmkit_table_open(&t, addr, 0));
	k = 3;
	mp = p->max_probe;
	p->max_probe = p->slots + 1;
	SHMKIT_ASSERT_ERR(shmkit_table_get(t, &k, &v), SHMKIT_ECORRUPT);
	{
		int res = 1;

		SHMKIT_ASSERT_ERR(shmkit_table_get_many(t, 1, &k, &v, &res),
				  SHMKIT_ECORRUPT);
	}
	SHMKIT_ASSERT_ERR(shmkit_table_put(t, &k, &v), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_table_del(t, &k), SHMKIT_ECORRUPT);
	{
		shmkit_table_stat_t st;

		SHMKIT_ASSERT_ERR(shmkit_table_stat(t, &st), SHMKIT_ECORRUPT);
	}
	p->max_probe = mp;
	c->count = 101;
	SHMKIT_ASSERT_ERR(shmkit_table_count(t), SHMKIT_ECORRUPT);
	k = 500;
	SHMKIT_ASSERT_ERR(shmkit_table_put(t, &k, &v), SHMKIT_ECORRUPT);
	c->count = 50;

	/* A slot state that does not exist. */
	for (i = 0; i < save.slots; i++) {
		uint64_t *w = (uint64_t *)(void *)(slots + i * save.stride);

		*w |= 3;
	}
	k = 3;
	SHMKIT_ASSERT_ERR(shmkit_table_get(t, &k, &v), SHMKIT_ECORRUPT);
	{
		uint64_t ks[2] = {3, 4}, vs[2];
		int res[2] = {0, 0};

		/* Each key gets its own verdict; the call still counts. */
		SHMKIT_ASSERT_EQ(shmkit_table_get_many(t, 2, ks, vs, res), 0);
		SHMKIT_ASSERT_ERR(res[0], SHMKIT_ECORRUPT);
		SHMKIT_ASSERT_ERR(res[1], SHMKIT_ECORRUPT);
	}
	SHMKIT_ASSERT_ERR(shmkit_table_put(t, &k, &v), SHMKIT_ECORRUPT);
	cur = 0;
	SHMKIT_ASSERT_ERR(shmkit_table_next(t, &cur, &k, &v), SHMKIT_ECORRUPT);
	/* Every slot full: lookups still end, inserts find no room. */
	for (i = 0; i < save.slots; i++) {
		uint64_t *w = (uint64_t *)(void *)(slots + i * save.stride);

		*w = (*w & ~3ull) | SLOT_FULL;
	}
	p->max_probe = save.slots;
	k = 12345;
	SHMKIT_ASSERT_ERR(shmkit_table_get(t, &k, &v), -ENOENT);
	SHMKIT_ASSERT_ERR(shmkit_table_put(t, &k, &v), SHMKIT_ECORRUPT);
	/* The journal: garbage, and a slot index out of range. */
	j->active = 1;
	SHMKIT_ASSERT_ERR(shmkit_table_put(t, &k, &v), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_table_del(t, &k), SHMKIT_ECORRUPT);
	j->active = JOURNAL_ACTIVE;
	j->op = JOP_INSERT;
	j->slot = ~0ull;
	SHMKIT_ASSERT_ERR(shmkit_table_put(t, &k, &v), SHMKIT_ECORRUPT);
	j->slot = 1;
	j->old_ctl = 5;
	j->new_ctl = 6; /* neither is the slot's word */
	SHMKIT_ASSERT_ERR(shmkit_table_put(t, &k, &v), SHMKIT_ECORRUPT);
	j->active = 0;
	SHMKIT_ASSERT_OK(shmkit_table_close(t));
#undef OPEN_GIVES
	raw_close(&r);
	SHMKIT_ASSERT_OK(shmkit_seg_unlink_address(addr));
}

/*
 * A writer that dies with a write half done, made by hand: a child takes
 * the writer mutex, opens the journal for an insert, scribbles a secret
 * into the slot it was going to fill, and dies. The next put must roll it
 * back (secure: wipe the scribble) and go on.
 */
struct dead_writer {
	const char *addr;
	int publish; /* 1: die after the control word store */
};

static void
dead_writer_child(void *arg)
{
	struct dead_writer *dw = arg;
	shmkit_table_t *t;
	struct table_journal *j;
	uint64_t c, n, cnt, d, kw[SHMKIT_TABLE_KEY_MAX / 8];
	size_t i;

	SHMKIT_ASSERT_OK(shmkit_table_open(&t, dw->addr, 0));
	SHMKIT_ASSERT_OK(shmkit_mutex_lock(t->lock));
	j = t->journal;
	/* The slot an insert of the key would take. */
	i = (size_t)table_key_words(t, "DEADBEEFDEADBEEF", kw) &
	    (t->nslots - 1);
	for (d = 1; SLOT_STATE(*(uint64_t *)table_ctl(t, i)) == SLOT_FULL; d++)
		i = (i + 1) & (t->nslots - 1);
	c = *(uint64_t *)table_ctl(t, i);
	n = SLOT_NEXT(c, SLOT_FULL, 0);
	cnt = t->counts->count;
	j->op = JOP_INSERT;
	j->slot = i;
	j->old_ctl = c;
	j->new_ctl = n;
	j->old_count = cnt;
	j->new_count = cnt + 1;
	j->old_tomb = j->new_tomb = 0;
	j->clean = 0;
	j->active = JOURNAL_ACTIVE;
	memcpy(table_key(t, i), "DEADBEEFDEADBEEF", 16);
	memset(table_val(t, i, 0), 0xee, 32);
	if (dw->publish) {
		*(uint64_t *)table_ctl(t, i) = n;
		if (t->params->max_probe < d)
			t->params->max_probe = d;
	}
	_exit(0); /* holding the mutex */
}

static void
test_dead_writer_journal_recovered(void)
{
	struct dead_writer dw;
	shmkit_table_t *t;
	unsigned char k[16] = "live", v[32], out[32];
	uint64_t *raw;
	struct raw r;
	size_t cur = 0;
	int publish;

	for (publish = 0; publish < 2; publish++) {
		dw.addr = fresh("posix");
		dw.publish = publish;
		t = make(dw.addr, 8, 16, 32, SHMKIT_TABLE_SECURE);
		memset(v, 1, sizeof(v));
		SHMKIT_ASSERT_EQ(shmkit_table_put(t, k, v), 0);
		SHMKIT_ASSERT_CHILD_OK(
			shmkit_test_fork(dead_writer_child, &dw));
		r = raw_open(dw.addr);
		/* Readers are not held up by the dead writer. */
		SHMKIT_ASSERT_OK(shmkit_table_get(t, k, out));
		SHMKIT_ASSERT_EQ(shmkit_table_count(t), 1);
		/* The next writer repairs. */
		memset(v, 2, sizeof(v));
		SHMKIT_ASSERT_EQ(shmkit_table_put(t, k, v), 1);
		SHMKIT_ASSERT_EQ(shmkit_table_count(t), 1 + publish);
		SHMKIT_ASSERT_EQ(memmem(r.mem, r.len, "DEADBEEF", 8) != NULL,
				 publish);
		SHMKIT_ASSERT_EQ(contains(r.mem, r.len, 0xee, 32), publish);
		raw = (uint64_t *)(void *)(r.mem + TABLE_JOURNAL_OFF);
		SHMKIT_ASSERT_EQ(raw[0], 0);
		if (publish) {
			SHMKIT_ASSERT_OK(
				shmkit_table_get(t, "DEADBEEFDEADBEEF", out));
			SHMKIT_ASSERT_OK(
				shmkit_table_del(t, "DEADBEEFDEADBEEF"));
			SHMKIT_ASSERT(memmem(r.mem, r.len, "DEADBEEF", 8) ==
				      NULL);
		}
		SHMKIT_ASSERT_OK(shmkit_table_get(t, k, out));
		SHMKIT_ASSERT_MEMEQ(out, v, sizeof(v));
		SHMKIT_ASSERT_OK(shmkit_table_next(t, &cur, NULL, NULL));
		cur = 0;
		raw_close(&r);
		destroy(t, dw.addr);
	}
}

/* Threads: one writer replaces, inserts and deletes; readers check. */
struct tctx {
	shmkit_table_t *t;
	uint64_t deadline_ms;
	_Atomic int stop;
	_Atomic long found;
	_Atomic int bad;
};

#define TKEYS 32

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *
writer_thread(void *arg)
{
	struct tctx *c = arg;
	struct rec v;
	uint64_t n, k;
	int rc;

	/* Until the readers have found many records while we write, so that
	 * reads and writes overlap even when the machine is slow to schedule
	 * the readers (bounded by the deadline). */
	for (n = 1; n < 20000 || atomic_load(&c->found) < 20000; n++) {
		if (n % 1024 == 0 && now_ms() > c->deadline_ms)
			break;
		k = n % TKEYS;
		rec_of(&v, n);
		if (k >= TKEYS / 2 && n % 3 == 0)
			rc = shmkit_table_del(c->t, &k);
		else
			rc = shmkit_table_put(c->t, &k, &v);
		if (rc < 0 && rc != -ENOENT)
			atomic_store(&c->bad, rc);
	}
	atomic_store(&c->stop, 1);
	return NULL;
}

static void *
reader_thread(void *arg)
{
	struct tctx *c = arg;
	struct rec v;
	uint64_t k = 0, kk;
	size_t cur;
	int rc;

	while (!atomic_load(&c->stop)) {
		k = (k + 1) % TKEYS;
		if (k % 2 == 0) {
			rc = shmkit_table_get(c->t, &k, &v);
		} else {
			/* Batched: 40 keys, more than the lookup's window,
			 * with k at both ends and one key never put; a
			 * writer may change k between the lookups. */
			uint64_t ks[40];
			struct rec vs[40];
			int res[40], j, want = 0;

			for (j = 0; j < 40; j++)
				ks[j] = (k + (uint64_t)j) % TKEYS;
			ks[39] = k;
			ks[20] = TKEYS + 1;
			rc = shmkit_table_get_many(c->t, 40, ks, vs, res);
			for (j = 0; j < 40; j++) {
				if (res[j] == 0 &&
				    (!rec_whole(&vs[j]) ||
				     vs[j].w[0] % TKEYS != ks[j]))
					atomic_store(&c->bad, 4);
				if (res[j] != 0 && res[j] != -ENOENT)
					atomic_store(&c->bad, res[j]);
				want += res[j] == 0;
			}
			if (rc != want || res[20] != -ENOENT)
				atomic_store(&c->bad, 3);
			rc = res[0];
			v = vs[0];
		}
		if (rc == 0) {
			if (!rec_whole(&v) || v.w[0] % TKEYS != k)
				atomic_store(&c->bad, 1);
			atomic_fetch_add(&c->found, 1);
		} else if (rc != -ENOENT) {
			atomic_store(&c->bad, rc);
		}
		if (k == 0) {
			cur = 0;
			while ((rc = shmkit_table_next(c->t, &cur, &kk, &v)) ==
			       0)
				if (!rec_whole(&v) || v.w[0] % TKEYS != kk)
					atomic_store(&c->bad, 2);
			if (rc != -ENOENT)
				atomic_store(&c->bad, rc);
		}
	}
	return NULL;
}

static void
readers_threads(unsigned flags)
{
	const char *addr = fresh("posix");
	struct tctx c = {0};
	pthread_t w, r[3];
	int i;

	c.t = make(addr, 64, 8, sizeof(struct rec), flags);
	c.deadline_ms = now_ms() + 2000;
	for (i = 0; i < 3; i++)
		SHMKIT_ASSERT_EQ(pthread_create(&r[i], NULL, reader_thread, &c),
				 0);
	SHMKIT_ASSERT_EQ(pthread_create(&w, NULL, writer_thread, &c), 0);
	pthread_join(w, NULL);
	for (i = 0; i < 3; i++)
		pthread_join(r[i], NULL);
	SHMKIT_ASSERT_EQ(atomic_load(&c.bad), 0);
	SHMKIT_ASSERT(atomic_load(&c.found) > 0);
	destroy(c.t, addr);
}

static void
test_readers_threads_never_torn(void)
{
	readers_threads(0);
}

static void
test_readers_threads_secure_never_torn(void)
{
	readers_threads(SHMKIT_TABLE_SECURE | SHMKIT_TABLE_NOLOCK_OK);
}

/*
 * The handle copies the geometry and the secure flag at open and never
 * reads them again: a peer that rewrites the params (here to sizes of the
 * same stride, which a new open accepts) and clears the secure flag
 * changes nothing for a handle already open. get and next copy the sizes
 * it opened with and not a byte more, and it still zeroises.
 */
static void
test_handle_keeps_geometry_and_flags(void)
{
	const char *addr = fresh("posix");
	shmkit_table_t *t = make(addr, 8, 16, 16,
				 SHMKIT_TABLE_SECURE | SHMKIT_TABLE_NOLOCK_OK),
		       *u = NULL;
	struct {
		unsigned char b[16];
		unsigned char canary[48];
	} kb, vb;
	unsigned char key[16], val[16], val2[16], *kp, *vp;
	struct table_params *p;
	shmkit_table_stat_t st;
	struct raw r;
	size_t cur = 0, i;

	memset(key, 'k', sizeof(key));
	memcpy(val, "secret-value-one", 16);
	memcpy(val2, "secret-value-two", 16);
	SHMKIT_ASSERT_EQ(shmkit_table_put(t, key, val), 0);
	r = raw_open(addr);
	p = (struct table_params *)(void *)(r.mem + TABLE_PARAMS_OFF);
	SHMKIT_ASSERT_EQ(p->stride, 64);
	p->key_size = 24; /* 8 + 24 + 2 * 16: the same 64-byte stride */
	p->value_size = 12;
	p->flags = 0;

	memset(&kb, 0x5a, sizeof(kb));
	memset(&vb, 0x5a, sizeof(vb));
	SHMKIT_ASSERT_OK(shmkit_table_get(t, key, vb.b));
	SHMKIT_ASSERT_MEMEQ(vb.b, val, 16);
	memset(&vb, 0x5a, sizeof(vb));
	SHMKIT_ASSERT_OK(shmkit_table_next(t, &cur, kb.b, vb.b));
	SHMKIT_ASSERT_MEMEQ(kb.b, key, 16);
	SHMKIT_ASSERT_MEMEQ(vb.b, val, 16);
	for (i = 0; i < sizeof(kb.canary); i++) {
		SHMKIT_ASSERT_EQ(kb.canary[i], 0x5a);
		SHMKIT_ASSERT_EQ(vb.canary[i], 0x5a);
	}
	/* Buffers of exactly the sizes opened with (AddressSanitizer sees
	 * a copy past them). */
	kp = malloc(16);
	vp = malloc(16);
	SHMKIT_ASSERT(kp != NULL && vp != NULL);
	SHMKIT_ASSERT_OK(shmkit_table_get(t, key, vp));
	cur = 0;
	SHMKIT_ASSERT_OK(shmkit_table_next(t, &cur, kp, vp));
	free(kp);
	free(vp);
	SHMKIT_ASSERT_OK(shmkit_table_stat(t, &st));
	SHMKIT_ASSERT_EQ(st.key_size, 16);
	SHMKIT_ASSERT_EQ(st.value_size, 16);
	SHMKIT_ASSERT_EQ(st.flags, SHMKIT_TABLE_SECURE);

	/* A new handle takes what the params say now (a consistent
	 * geometry; the checks are those of an open). */
	SHMKIT_ASSERT_OK(shmkit_table_open(&u, addr, 0));
	SHMKIT_ASSERT_OK(shmkit_table_stat(u, &st));
	SHMKIT_ASSERT_EQ(st.key_size, 24);
	SHMKIT_ASSERT_EQ(st.flags, 0);
	SHMKIT_ASSERT_OK(shmkit_table_close(u));

	/* The first handle still zeroises what it replaces and deletes. */
	SHMKIT_ASSERT_EQ(shmkit_table_put(t, key, val2), 1);
	SHMKIT_ASSERT(memmem(r.mem, r.len, val, 16) == NULL);
	SHMKIT_ASSERT(memmem(r.mem, r.len, val2, 16) != NULL);
	SHMKIT_ASSERT_OK(shmkit_table_del(t, key));
	SHMKIT_ASSERT(memmem(r.mem, r.len, val2, 16) == NULL);
	raw_close(&r);
	destroy(t, addr);
}

/* What the update callback saw, and what it does. */
struct upd {
	int calls;
	int found;
	uint64_t seen;
	uint64_t set;
	int ret;
	shmkit_table_t *t;
	atomic_int del_done;
	int del_rc;
	pthread_t del;
	int block; /* start a del while the update holds the mutex */
};

static void *
upd_del_thread(void *arg)
{
	struct upd *u = arg;
	uint64_t k = 1;

	u->del_rc = shmkit_table_del(u->t, &k);
	atomic_store(&u->del_done, 1);
	return NULL;
}

static int
upd_fn(void *value, int found, void *arg)
{
	struct upd *u = arg;
	struct timespec ts = {0, 100000000};

	u->calls++;
	u->found = found;
	memcpy(&u->seen, value, 8);
	if (u->block) {
		/* A del now must wait for the update to finish. */
		SHMKIT_ASSERT_EQ(
			pthread_create(&u->del, NULL, upd_del_thread, u), 0);
		nanosleep(&ts, NULL);
		SHMKIT_ASSERT_EQ(atomic_load(&u->del_done), 0);
	}
	if (u->ret == 0)
		memcpy(value, &u->set, 8);
	return u->ret;
}

static void
test_update_under_writer_lock(void)
{
	const char *addr = fresh("posix");
	shmkit_table_t *t = make(addr, 8, 8, 8, 0), *ro;
	struct upd u = {0};
	uint64_t k = 1, v = 0;

	u.t = t;
	SHMKIT_ASSERT_ERR(shmkit__table_update(NULL, &k, upd_fn, &u, 0),
			  -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit__table_update(t, NULL, upd_fn, &u, 0),
			  -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit__table_update(t, &k, NULL, &u, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit__table_update(t, &k, upd_fn, &u, 0x10),
			  -EINVAL);
	/* Absent: -ENOENT, fn not called; with INSERT, fn sees zeroes. */
	SHMKIT_ASSERT_ERR(shmkit__table_update(t, &k, upd_fn, &u, 0), -ENOENT);
	SHMKIT_ASSERT_EQ(u.calls, 0);
	u.seen = 99;
	u.set = 5;
	SHMKIT_ASSERT_EQ(
		shmkit__table_update(t, &k, upd_fn, &u, SHMKIT__TABLE_INSERT),
		0);
	SHMKIT_ASSERT_EQ(u.calls, 1);
	SHMKIT_ASSERT_EQ(u.found, 0);
	SHMKIT_ASSERT_EQ(u.seen, 0);
	SHMKIT_ASSERT_OK(shmkit_table_get(t, &k, &v));
	SHMKIT_ASSERT_EQ(v, 5);
	/* Present: fn sees the value, its change is stored. */
	u.set = 6;
	SHMKIT_ASSERT_EQ(shmkit__table_update(t, &k, upd_fn, &u, 0), 1);
	SHMKIT_ASSERT_EQ(u.found, 1);
	SHMKIT_ASSERT_EQ(u.seen, 5);
	SHMKIT_ASSERT_OK(shmkit_table_get(t, &k, &v));
	SHMKIT_ASSERT_EQ(v, 6);
	/* fn refusing leaves the record as it was. */
	u.set = 7;
	u.ret = -EPERM;
	SHMKIT_ASSERT_ERR(shmkit__table_update(t, &k, upd_fn, &u, 0), -EPERM);
	u.ret = 42;
	SHMKIT_ASSERT_EQ(shmkit__table_update(t, &k, upd_fn, &u, 0), 42);
	SHMKIT_ASSERT_OK(shmkit_table_get(t, &k, &v));
	SHMKIT_ASSERT_EQ(v, 6);
	SHMKIT_ASSERT_EQ(shmkit_table_count(t), 1);
	SHMKIT_ASSERT_OK(shmkit_table_open(&ro, addr, SHMKIT_TABLE_RDONLY));
	SHMKIT_ASSERT_ERR(shmkit__table_update(ro, &k, upd_fn, &u, 0), -EROFS);
	SHMKIT_ASSERT_OK(shmkit_table_close(ro));

	/* A del started while fn runs lands after the write, never between
	 * the read and the write (it would be undone). */
	u.ret = 0;
	u.set = 8;
	u.block = 1;
	SHMKIT_ASSERT_EQ(shmkit__table_update(t, &k, upd_fn, &u, 0), 1);
	SHMKIT_ASSERT_EQ(pthread_join(u.del, NULL), 0);
	SHMKIT_ASSERT_EQ(u.del_rc, 0);
	SHMKIT_ASSERT_ERR(shmkit_table_get(t, &k, &v), -ENOENT);
	SHMKIT_ASSERT_EQ(shmkit_table_count(t), 0);
	destroy(t, addr);
}

SHMKIT_TESTS = {
	{"siphash_reference_vector", test_siphash_reference_vector},
	{"key_hash_is_siphash13", test_key_hash_is_siphash13},
	{"bad_arguments", test_bad_arguments},
	{"put_get_del_semantics", test_put_get_del_semantics},
	{"capacity_enospc", test_capacity_enospc},
	{"rdonly_and_second_handle", test_rdonly_and_second_handle},
	{"kinds_versions_and_segments", test_kinds_versions_and_segments},
	{"tombstone_reuse_stays_bounded", test_tombstone_reuse_stays_bounded},
	{"many_colliding_keys", test_many_colliding_keys},
	{"get_many_matches_get", test_get_many_matches_get},
	{"degenerate_hash_stays_correct", test_degenerate_hash_stays_correct},
	{"secure_zeroises_and_locks", test_secure_zeroises_and_locks},
	{"plain_mode_keeps_old_bytes", test_plain_mode_keeps_old_bytes},
	{"secure_mlock_failure", test_secure_mlock_failure},
	{"corrupt_fields_give_ecorrupt", test_corrupt_fields_give_ecorrupt},
	{"dead_writer_journal_recovered", test_dead_writer_journal_recovered},
	{"readers_threads_never_torn", test_readers_threads_never_torn},
	{"readers_threads_secure_never_torn",
	 test_readers_threads_secure_never_torn},
	{"handle_keeps_geometry_and_flags",
	 test_handle_keeps_geometry_and_flags},
	{"update_under_writer_lock", test_update_under_writer_lock},
	{NULL, NULL},
};
