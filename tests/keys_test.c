/*
 * The key store: records round-trip with their times, bad input is
 * refused before anything is touched, the store is 0600 and other users
 * are kept out, key bytes are gone from the segment once replaced or
 * deleted, another process reads what one wrote, threads share a handle,
 * and a corrupt header or record gives SHMKIT_ECORRUPT, never a crash.
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/keys.h>
#include <shmkit/obj.h>
#include <shmkit/seg.h>
#include <shmkit/table.h>

#include "keys/keys_impl.h"
#include "seg_util.h"
#include "shmkit_test.h"
#include "table/table_impl.h"
#include "table/table_layout.h"

#define NOBODY 65534
#define FL SHMKIT_KEYS_NOLOCK_OK /* tests must not depend on ulimit -l */

/* A key no other data in the segment looks like. */
static void
secret_fill(unsigned char *k, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		k[i] = (unsigned char)(0xa5 ^ (seed * 37 + i * 11 + (i >> 3)));
}

static shmkit_keys_t *
make_store(char *addr, const char *backend, size_t capacity)
{
	shmkit_keys_t *ks = NULL;

	seg_name(addr, backend);
	SHMKIT_ASSERT_OK(shmkit_keys_create(&ks, addr, capacity, 0, FL));
	return ks;
}

static void
drop_store(shmkit_keys_t *ks, const char *addr)
{
	SHMKIT_ASSERT_OK(shmkit_keys_close(ks));
	SHMKIT_ASSERT_OK(shmkit_seg_unlink_address(addr));
}

static void
round_trip(const char *backend)
{
	unsigned char k1[32], k2[16];
	shmkit_keys_record_t r, r2;
	char addr[NAMELEN];
	shmkit_keys_t *ks = make_store(addr, backend, 16);
	struct timespec now;
	int64_t created;
	size_t cursor = 0;
	int seen = 0;

	secret_fill(k1, sizeof(k1), 1);
	secret_fill(k2, sizeof(k2), 2);
	clock_gettime(CLOCK_REALTIME, &now);
	SHMKIT_ASSERT_EQ(shmkit_keys_count(ks), 0);
	SHMKIT_ASSERT_ERR(shmkit_keys_get(ks, "alice", "srv1", &r), -ENOENT);
	SHMKIT_ASSERT_EQ(shmkit_keys_put(ks, "alice", "srv1", 7, k1, 32), 0);
	SHMKIT_ASSERT_EQ(shmkit_keys_put(ks, "abcdefghijkl", "s", 8, k2, 16),
			 0);
	SHMKIT_ASSERT_EQ(shmkit_keys_count(ks), 2);

	SHMKIT_ASSERT_OK(shmkit_keys_get(ks, "alice", "srv1", &r));
	SHMKIT_ASSERT_STREQ(r.client, "alice");
	SHMKIT_ASSERT_STREQ(r.server, "srv1");
	SHMKIT_ASSERT_EQ(r.status, SHMKIT_KEYS_VALID);
	SHMKIT_ASSERT_EQ(r.key_id, 7);
	SHMKIT_ASSERT_EQ(r.key_len, 32);
	SHMKIT_ASSERT_MEMEQ(r.key, k1, 32);
	SHMKIT_ASSERT(bytes_all_zero(r.key + 32, sizeof(r.key) - 32));
	SHMKIT_ASSERT(r.created_ns / 1000000000 >= now.tv_sec - 1);
	SHMKIT_ASSERT(r.created_ns / 1000000000 <= now.tv_sec + 60);
	SHMKIT_ASSERT_EQ(r.updated_ns, r.created_ns);
	created = r.created_ns;

	/* A 12-byte id is whole, and (a, b) is not (b, a). */
	SHMKIT_ASSERT_OK(shmkit_keys_get(ks, "abcdefghijkl", "s", &r2));
	SHMKIT_ASSERT_STREQ(r2.client, "abcdefghijkl");
	SHMKIT_ASSERT_MEMEQ(r2.key, k2, 16);
	SHMKIT_ASSERT_ERR(shmkit_keys_get(ks, "srv1", "alice", &r2), -ENOENT);
	SHMKIT_ASSERT_ERR(shmkit_keys_get(ks, "alic", "srv1", &r2), -ENOENT);

	/* Replace: new key and id, created kept, updated moves. */
	{
		struct timespec d = { 0, 2000000 };

		nanosleep(&d, NULL);
	}
	SHMKIT_ASSERT_EQ(shmkit_keys_put(ks, "alice", "srv1", 9, k2, 16), 1);
	SHMKIT_ASSERT_OK(shmkit_keys_get(ks, "alice", "srv1", &r));
	SHMKIT_ASSERT_EQ(r.key_id, 9);
	SHMKIT_ASSERT_EQ(r.key_len, 16);
	SHMKIT_ASSERT_MEMEQ(r.key, k2, 16);
	SHMKIT_ASSERT(bytes_all_zero(r.key + 16, sizeof(r.key) - 16));
	SHMKIT_ASSERT_EQ(r.created_ns, created);
	SHMKIT_ASSERT(r.updated_ns > created);
	SHMKIT_ASSERT_EQ(shmkit_keys_count(ks), 2);

	/* Revoke keeps the record and the key, and says when repeated. */
	SHMKIT_ASSERT_EQ(shmkit_keys_revoke(ks, "alice", "srv1"), 0);
	SHMKIT_ASSERT_EQ(shmkit_keys_revoke(ks, "alice", "srv1"), 1);
	SHMKIT_ASSERT_OK(shmkit_keys_get(ks, "alice", "srv1", &r));
	SHMKIT_ASSERT_EQ(r.status, SHMKIT_KEYS_REVOKED);
	SHMKIT_ASSERT_EQ(r.key_id, 9);
	SHMKIT_ASSERT_EQ(r.created_ns, created);
	SHMKIT_ASSERT_ERR(shmkit_keys_revoke(ks, "bob", "srv1"), -ENOENT);
	/* A new put makes it valid again. */
	SHMKIT_ASSERT_EQ(shmkit_keys_put(ks, "alice", "srv1", 10, k1, 32), 1);
	SHMKIT_ASSERT_OK(shmkit_keys_get(ks, "alice", "srv1", &r));
	SHMKIT_ASSERT_EQ(r.status, SHMKIT_KEYS_VALID);

	/* Zero-length keys are allowed. */
	SHMKIT_ASSERT_EQ(shmkit_keys_put(ks, "z", "z", 0, NULL, 0), 0);
	SHMKIT_ASSERT_OK(shmkit_keys_get(ks, "z", "z", &r));
	SHMKIT_ASSERT_EQ(r.key_len, 0);

	while (shmkit_keys_next(ks, &cursor, &r) == 0) {
		SHMKIT_ASSERT(strcmp(r.client, "alice") == 0 ||
			      strcmp(r.client, "abcdefghijkl") == 0 ||
			      strcmp(r.client, "z") == 0);
		seen++;
	}
	SHMKIT_ASSERT_EQ(seen, 3);
	SHMKIT_ASSERT_ERR(shmkit_keys_next(ks, &cursor, &r), -ENOENT);

	SHMKIT_ASSERT_OK(shmkit_keys_del(ks, "alice", "srv1"));
	SHMKIT_ASSERT_ERR(shmkit_keys_del(ks, "alice", "srv1"), -ENOENT);
	SHMKIT_ASSERT_ERR(shmkit_keys_get(ks, "alice", "srv1", &r), -ENOENT);
	SHMKIT_ASSERT_EQ(shmkit_keys_count(ks), 2);

	shmkit_keys_record_zero(&r);
	SHMKIT_ASSERT(bytes_all_zero(&r, sizeof(r)));
	shmkit_keys_record_zero(NULL);
	drop_store(ks, addr);
}

static void
round_trip_posix(void)
{
	round_trip("posix");
}

static void
round_trip_sysv(void)
{
	round_trip("sysv");
}

static void
round_trip_file(void)
{
	round_trip("file");
}

static void
bad_input(void)
{
	unsigned char key[SHMKIT_KEYS_KEY_MAX + 1] = { 1 };
	shmkit_keys_record_t r;
	char addr[NAMELEN];
	shmkit_keys_t *ks = make_store(addr, "posix", 4), *k2 = NULL;
	size_t cursor = 0;

	memset(&r, 0x5c, sizeof(r));
	/* Ids: empty, 13 bytes, NULL. */
	SHMKIT_ASSERT_ERR(shmkit_keys_put(ks, "", "s", 1, key, 1), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_put(ks, "c", "", 1, key, 1), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_put(ks, "abcdefghijklm", "s", 1, key, 1),
			  -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_put(ks, "c", "abcdefghijklm", 1, key, 1),
			  -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_put(ks, NULL, "s", 1, key, 1), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_put(ks, "c", NULL, 1, key, 1), -EINVAL);
	/* Keys: too long, NULL with a length. */
	SHMKIT_ASSERT_ERR(shmkit_keys_put(ks, "c", "s", 1, key,
					  SHMKIT_KEYS_KEY_MAX + 1),
			  -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_put(ks, "c", "s", 1, NULL, 4), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_put(NULL, "c", "s", 1, key, 1), -EINVAL);
	/* Nothing was stored by any of them. */
	SHMKIT_ASSERT_EQ(shmkit_keys_count(ks), 0);
	/* The longest key is fine. */
	SHMKIT_ASSERT_OK(shmkit_keys_put(ks, "c", "s", 1, key,
					 SHMKIT_KEYS_KEY_MAX));

	SHMKIT_ASSERT_ERR(shmkit_keys_get(ks, "abcdefghijklm", "s", &r),
			  -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_get(ks, "", "s", &r), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_get(ks, "c", "s", NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_del(ks, "c", "abcdefghijklm"), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_revoke(ks, "", "s"), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_next(ks, NULL, &r), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_next(ks, &cursor, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_count(NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_stat(ks, NULL), -EINVAL);
	/* Out-params untouched by failures. */
	{
		shmkit_keys_record_t fill;

		memset(&fill, 0x5c, sizeof(fill));
		SHMKIT_ASSERT_MEMEQ(&r, &fill, sizeof(r));
	}

	/* Create and open. */
	SHMKIT_ASSERT_EQ(shmkit_keys_size(0), 0);
	SHMKIT_ASSERT_EQ(shmkit_keys_size(SHMKIT_KEYS_CAPACITY_MAX + 1), 0);
	SHMKIT_ASSERT(shmkit_keys_size(1) > 0);
	SHMKIT_ASSERT_ERR(shmkit_keys_create(&k2, addr, 0, 0, FL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_create(&k2, addr, 4, 0, 0x80), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_create(NULL, addr, 4, 0, FL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_create(&k2, "nonsense", 4, 0, FL),
			  -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_create(&k2, addr, 4, 0, FL), -EEXIST);
	SHMKIT_ASSERT_ERR(shmkit_keys_open(&k2, addr, 0x80), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_keys_open(&k2, NULL, FL), -EINVAL);
	SHMKIT_ASSERT(k2 == NULL);
	SHMKIT_ASSERT_OK(shmkit_keys_close(NULL));
	drop_store(ks, addr);
	SHMKIT_ASSERT_ERR(shmkit_keys_open(&k2, addr, FL), -ENOENT);
}

static void
full_store(void)
{
	unsigned char key[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	char addr[NAMELEN], id[8];
	shmkit_keys_t *ks = make_store(addr, "posix", 3);
	shmkit_keys_stat_t st;
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		SHMKIT_ASSERT_EQ(shmkit_keys_put(ks, id, "s", (uint32_t)i, key,
						 sizeof(key)),
				 0);
	}
	SHMKIT_ASSERT_ERR(shmkit_keys_put(ks, "c3", "s", 3, key, 8), -ENOSPC);
	/* Replacing needs no room; deleting makes some. */
	SHMKIT_ASSERT_EQ(shmkit_keys_put(ks, "c1", "s", 11, key, 8), 1);
	SHMKIT_ASSERT_OK(shmkit_keys_stat(ks, &st));
	SHMKIT_ASSERT_EQ(st.capacity, 3);
	SHMKIT_ASSERT_EQ(st.count, 3);
	SHMKIT_ASSERT_OK(shmkit_keys_del(ks, "c0", "s"));
	SHMKIT_ASSERT_EQ(shmkit_keys_put(ks, "c3", "s", 3, key, 8), 0);
	drop_store(ks, addr);
}

static void
mode_0600_by_default(void)
{
	char addr[NAMELEN];
	shmkit_seg_stat_t st;
	shmkit_keys_t *ks;

	umask(0);
	ks = make_store(addr, "posix", 4);
	SHMKIT_ASSERT_OK(shmkit_seg_stat_address(addr, &st));
	SHMKIT_ASSERT_EQ(st.mode, 0600);
	drop_store(ks, addr);

	/* Asked for, another mode is honoured. */
	seg_name(addr, "sysv");
	SHMKIT_ASSERT_OK(shmkit_keys_create(&ks, addr, 4, 0640, FL));
	SHMKIT_ASSERT_OK(shmkit_seg_stat_address(addr, &st));
	SHMKIT_ASSERT_EQ(st.mode, 0640);
	drop_store(ks, addr);
}

static void
nobody_opens(void *arg)
{
	const char *addr = arg;
	shmkit_keys_t *ks = NULL;

	SHMKIT_ASSERT_OK(setgroups(0, NULL));
	SHMKIT_ASSERT_OK(setresgid(NOBODY, NOBODY, NOBODY));
	SHMKIT_ASSERT_OK(setresuid(NOBODY, NOBODY, NOBODY));
	SHMKIT_ASSERT_ERR(shmkit_keys_open(&ks, addr, FL), -EACCES);
	SHMKIT_ASSERT_ERR(shmkit_keys_open(&ks, addr, FL | SHMKIT_KEYS_RDONLY),
			  -EACCES);
	SHMKIT_ASSERT(ks == NULL);
}

static void
other_user_denied(void)
{
	char posix[NAMELEN], sysv[NAMELEN];
	unsigned char key[16];
	shmkit_keys_t *a, *b;

	if (geteuid() != 0)
		SHMKIT_SKIP("needs root to become uid %d", NOBODY);
	secret_fill(key, sizeof(key), 3);
	a = make_store(posix, "posix", 4);
	b = make_store(sysv, "sysv", 4);
	SHMKIT_ASSERT_OK(shmkit_keys_put(a, "c", "s", 1, key, sizeof(key)));
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(nobody_opens, posix));
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(nobody_opens, sysv));
	drop_store(a, posix);
	drop_store(b, sysv);
}

/* Where the key pattern occurs in a read-only view of the segment. */
static int
segment_holds(const char *addr, const void *needle, size_t n)
{
	const shmkit_seg_opts_t ro = { .flags = SHMKIT_SEG_RDONLY };
	shmkit_seg_t *s;
	void *p = NULL;
	int found;

	SHMKIT_ASSERT_OK(shmkit_seg_open(&s, addr, &ro));
	SHMKIT_ASSERT_OK(shmkit_seg_attach(s, &p, SHMKIT_ATTACH_RDONLY, NULL));
	found = memmem(p, shmkit_seg_size(s), needle, n) != NULL;
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
	return found;
}

static void
zeroised_in_segment(const char *backend)
{
	unsigned char k1[48], k2[48], k3[48];
	char addr[NAMELEN];
	shmkit_keys_t *ks = make_store(addr, backend, 8);

	secret_fill(k1, sizeof(k1), 11);
	secret_fill(k2, sizeof(k2), 12);
	secret_fill(k3, sizeof(k3), 13);
	SHMKIT_ASSERT(!segment_holds(addr, k1, sizeof(k1)));
	SHMKIT_ASSERT_OK(shmkit_keys_put(ks, "alice", "srv", 1, k1, 48));
	SHMKIT_ASSERT_OK(shmkit_keys_put(ks, "bob", "srv", 2, k3, 48));
	SHMKIT_ASSERT(segment_holds(addr, k1, sizeof(k1)));
	/* Replaced: the old key is nowhere in the segment. */
	SHMKIT_ASSERT_EQ(shmkit_keys_put(ks, "alice", "srv", 1, k2, 48), 1);
	SHMKIT_ASSERT(!segment_holds(addr, k1, sizeof(k1)));
	SHMKIT_ASSERT(segment_holds(addr, k2, sizeof(k2)));
	/* Revoked and then deleted: gone too; the other record stays. */
	SHMKIT_ASSERT_OK(shmkit_keys_revoke(ks, "alice", "srv"));
	SHMKIT_ASSERT_OK(shmkit_keys_del(ks, "alice", "srv"));
	SHMKIT_ASSERT(!segment_holds(addr, k2, sizeof(k2)));
	/* Nor half of it. */
	SHMKIT_ASSERT(!segment_holds(addr, k2 + 24, 24));
	SHMKIT_ASSERT(segment_holds(addr, k3, sizeof(k3)));
	SHMKIT_ASSERT_OK(shmkit_keys_del(ks, "bob", "srv"));
	SHMKIT_ASSERT(!segment_holds(addr, k3, sizeof(k3)));
	drop_store(ks, addr);
}

static void
zeroised_posix(void)
{
	zeroised_in_segment("posix");
}

static void
zeroised_sysv(void)
{
	zeroised_in_segment("sysv");
}

static void
readonly_handle(void)
{
	unsigned char key[4] = { 9, 9, 9, 9 };
	shmkit_keys_record_t r;
	char addr[NAMELEN];
	shmkit_keys_t *ks = make_store(addr, "posix", 4), *ro;

	SHMKIT_ASSERT_OK(shmkit_keys_put(ks, "c", "s", 5, key, 4));
	SHMKIT_ASSERT_OK(shmkit_keys_open(&ro, addr, FL | SHMKIT_KEYS_RDONLY));
	SHMKIT_ASSERT_OK(shmkit_keys_get(ro, "c", "s", &r));
	SHMKIT_ASSERT_EQ(r.key_id, 5);
	SHMKIT_ASSERT_ERR(shmkit_keys_put(ro, "c", "s", 6, key, 4), -EROFS);
	SHMKIT_ASSERT_ERR(shmkit_keys_del(ro, "c", "s"), -EROFS);
	SHMKIT_ASSERT_ERR(shmkit_keys_revoke(ro, "c", "s"), -EROFS);
	SHMKIT_ASSERT_OK(shmkit_keys_close(ro));
	drop_store(ks, addr);
}

static void
not_a_key_store(void)
{
	shmkit_table_opts_t o = { .capacity = 4, .key_size = 24,
				  .value_size = 160 };
	char addr[NAMELEN];
	shmkit_table_t *t;
	shmkit_keys_t *ks = NULL;
	shmkit_seg_t *s;

	/* A plain table with the same sizes is not a key store. */
	seg_name(addr, "posix");
	SHMKIT_ASSERT_OK(shmkit_table_create(&t, addr, &o));
	SHMKIT_ASSERT_ERR(shmkit_keys_open(&ks, addr, FL), SHMKIT_ENOTOBJ);
	SHMKIT_ASSERT_OK(shmkit_table_close(t));
	SHMKIT_ASSERT_OK(shmkit_seg_unlink_address(addr));
	/* Nor is a segment of zeroes. */
	seg_name(addr, "sysv");
	s = seg_make(addr, 65536);
	SHMKIT_ASSERT_ERR(shmkit_keys_open(&ks, addr, FL), SHMKIT_ENOTOBJ);
	seg_destroy(s);
	SHMKIT_ASSERT(ks == NULL);
}

/* Every operation on a damaged store returns; none crashes or spins. */
static void
poke_everything(const char *addr)
{
	unsigned char key[8] = { 0 };
	shmkit_keys_record_t r;
	shmkit_keys_t *ks;
	size_t cursor = 0;
	int rc, i;

	rc = shmkit_keys_open(&ks, addr, FL);
	if (rc < 0) {
		SHMKIT_ASSERT(rc == SHMKIT_ECORRUPT || rc == SHMKIT_ENOTOBJ ||
			      rc == SHMKIT_EVERSION || rc == SHMKIT_EABI ||
			      rc == SHMKIT_EBROKEN);
		return;
	}
	(void)shmkit_keys_get(ks, "c", "s", &r);
	(void)shmkit_keys_put(ks, "n", "s", 1, key, sizeof(key));
	(void)shmkit_keys_revoke(ks, "c", "s");
	(void)shmkit_keys_del(ks, "c", "s");
	(void)shmkit_keys_count(ks);
	for (i = 0; i < 100000; i++) {
		size_t before = cursor;

		rc = shmkit_keys_next(ks, &cursor, &r);
		if (rc == -ENOENT || (rc < 0 && cursor == before))
			break;
	}
	SHMKIT_ASSERT(i < 100000);
	SHMKIT_ASSERT_OK(shmkit_keys_close(ks));
}

static void
corrupt_header(void)
{
	unsigned char key[16];
	shmkit_obj_hdr_t saved;
	char addr[NAMELEN];
	shmkit_keys_t *ks = make_store(addr, "posix", 8), *k2 = NULL;
	shmkit_seg_t *s;
	uint8_t *p;
	size_t size, i;

	secret_fill(key, sizeof(key), 4);
	SHMKIT_ASSERT_OK(shmkit_keys_put(ks, "c", "s", 1, key, sizeof(key)));
	SHMKIT_ASSERT_OK(shmkit_keys_close(ks));
	SHMKIT_ASSERT_OK(shmkit_seg_open(&s, addr, NULL));
	p = seg_map(s, 0);
	size = shmkit_seg_size(s);
	memcpy(&saved, p, sizeof(saved));

	/* An unknown kind; a size past the segment. */
	((shmkit_obj_hdr_t *)p)->kind = 99;
	SHMKIT_ASSERT_ERR(shmkit_keys_open(&k2, addr, FL), SHMKIT_ECORRUPT);
	memcpy(p, &saved, sizeof(saved));
	((shmkit_obj_hdr_t *)p)->size = (uint64_t)size * 4;
	SHMKIT_ASSERT_ERR(shmkit_keys_open(&k2, addr, FL), SHMKIT_ECORRUPT);
	memcpy(p, &saved, sizeof(saved));
	/* Its own kind's other layout version. */
	((shmkit_obj_hdr_t *)p)->version = SHMKIT__KEYS_VERSION + 1;
	SHMKIT_ASSERT_ERR(shmkit_keys_open(&k2, addr, FL), SHMKIT_EVERSION);
	memcpy(p, &saved, sizeof(saved));
	SHMKIT_ASSERT(k2 == NULL);
	SHMKIT_ASSERT_OK(shmkit_keys_open(&k2, addr, FL));
	SHMKIT_ASSERT_OK(shmkit_keys_close(k2));

	/* Garbage after the header: errors, no crash, no endless loop. */
	for (i = SHMKIT_OBJ_HDR_SIZE; i < size; i++)
		p[i] = (uint8_t)(0xff ^ (i * 7));
	poke_everything(addr);
	memset(p + SHMKIT_OBJ_HDR_SIZE, 0xff, size - SHMKIT_OBJ_HDR_SIZE);
	poke_everything(addr);
	seg_destroy(s);
}

/*
 * Records the key store did not write, put through the table under it
 * (as a hostile or buggy peer could): an id with a NUL inside, an id of
 * NULs, a bad status, a key length past the key.
 */
static void
corrupt_records(void)
{
	unsigned char tkey[24], val[160];
	shmkit_keys_record_t r;
	char addr[NAMELEN];
	shmkit_keys_t *ks = make_store(addr, "posix", 8);
	shmkit_table_t *t;
	size_t cursor = 0;
	uint32_t u;
	int rc, good = 0, bad = 0, i;

	SHMKIT_ASSERT_OK(shmkit_keys_put(ks, "good", "s", 1, "k", 1));
	SHMKIT_ASSERT_OK(shmkit__table_open_kind(&t, addr,
						 SHMKIT_TABLE_NOLOCK_OK,
						 SHMKIT_OBJ_KEYS,
						 SHMKIT__KEYS_VERSION, NULL));
	memset(val, 0, sizeof(val));
	/* 1: "ab\0cd" as client id. */
	memset(tkey, 0, sizeof(tkey));
	memcpy(tkey, "ab\0cd", 5);
	memcpy(tkey + 12, "s", 1);
	SHMKIT_ASSERT_OK(shmkit_table_put(t, tkey, val));
	/* No caller's id can name it, so only the lister meets it. */
	SHMKIT_ASSERT_ERR(shmkit_keys_get(ks, "ab", "s", &r), -ENOENT);
	/* 2: empty server id. */
	memset(tkey, 0, sizeof(tkey));
	memcpy(tkey, "x", 1);
	SHMKIT_ASSERT_OK(shmkit_table_put(t, tkey, val));
	/* 3: status 7. */
	memcpy(tkey + 12, "s", 1);
	u = 7;
	memcpy(val, &u, 4);
	SHMKIT_ASSERT_OK(shmkit_table_put(t, tkey, val));
	SHMKIT_ASSERT_ERR(shmkit_keys_get(ks, "x", "s", &r), SHMKIT_ECORRUPT);
	/* 4: key length 129. */
	memset(tkey, 0, sizeof(tkey));
	memcpy(tkey, "y", 1);
	memcpy(tkey + 12, "s", 1);
	u = 0;
	memcpy(val, &u, 4);
	u = SHMKIT_KEYS_KEY_MAX + 1;
	memcpy(val + 8, &u, 4);
	SHMKIT_ASSERT_OK(shmkit_table_put(t, tkey, val));
	SHMKIT_ASSERT_ERR(shmkit_keys_get(ks, "y", "s", &r), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_keys_revoke(ks, "y", "s"), SHMKIT_ECORRUPT);

	/* The lister sees each bad record as corrupt and carries on. */
	for (i = 0; i < 100; i++) {
		rc = shmkit_keys_next(ks, &cursor, &r);
		if (rc == -ENOENT)
			break;
		if (rc == SHMKIT_ECORRUPT)
			bad++;
		else if (rc == 0 && strcmp(r.client, "good") == 0)
			good++;
		else
			SHMKIT_FAIL("next: %d, client '%s'", rc, r.client);
	}
	SHMKIT_ASSERT_EQ(good, 1);
	SHMKIT_ASSERT_EQ(bad, 4);
	SHMKIT_ASSERT_OK(shmkit_table_close(t));
	drop_store(ks, addr);
}

/* Another process (exec'd) reads what this one wrote, and writes back. */
static int
helper_reader(int argc, char **argv)
{
	unsigned char want[32];
	shmkit_keys_record_t r;
	shmkit_keys_t *ks;

	if (argc != 2)
		return 2;
	secret_fill(want, sizeof(want), 21);
	SHMKIT_ASSERT_OK(shmkit_keys_open(&ks, argv[1], FL));
	SHMKIT_ASSERT_OK(shmkit_keys_get(ks, "client1", "server1", &r));
	SHMKIT_ASSERT_EQ(r.key_id, 42);
	SHMKIT_ASSERT_EQ(r.key_len, 32);
	SHMKIT_ASSERT_MEMEQ(r.key, want, 32);
	SHMKIT_ASSERT_OK(shmkit_keys_revoke(ks, "client1", "server1"));
	SHMKIT_ASSERT_OK(shmkit_keys_put(ks, "client2", "server1", 43, want,
					 16));
	shmkit_keys_record_zero(&r);
	SHMKIT_ASSERT_OK(shmkit_keys_close(ks));
	return 0;
}

static void
two_processes(void)
{
	unsigned char key[32];
	shmkit_keys_record_t r;
	char addr[NAMELEN];
	shmkit_keys_t *ks = make_store(addr, "sysv", 8);

	secret_fill(key, sizeof(key), 21);
	SHMKIT_ASSERT_OK(shmkit_keys_put(ks, "client1", "server1", 42, key,
					 32));
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_spawn("reader", addr, NULL));
	SHMKIT_ASSERT_OK(shmkit_keys_get(ks, "client1", "server1", &r));
	SHMKIT_ASSERT_EQ(r.status, SHMKIT_KEYS_REVOKED);
	SHMKIT_ASSERT_OK(shmkit_keys_get(ks, "client2", "server1", &r));
	SHMKIT_ASSERT_EQ(r.key_id, 43);
	SHMKIT_ASSERT_MEMEQ(r.key, key, 16);
	drop_store(ks, addr);
}

/* Puts (c, s) over and over, each key derived from its key id (counting
 * from argv[2]), revoking and deleting it now and then, until killed. */
static int
helper_writer_loop(int argc, char **argv)
{
	unsigned char key[SHMKIT_KEYS_KEY_MAX];
	shmkit_keys_t *ks;
	uint32_t i;

	if (argc != 3)
		return 2;
	SHMKIT_ASSERT_OK(shmkit_keys_open(&ks, argv[1], FL));
	for (i = (uint32_t)atol(argv[2]);; i++) {
		secret_fill(key, sizeof(key), i);
		SHMKIT_ASSERT_OK(shmkit_keys_put(ks, "c", "s", i, key,
						 1 + i % sizeof(key)));
		if (i % 3 == 0)
			SHMKIT_ASSERT_OK(shmkit_keys_revoke(ks, "c", "s"));
		if (i % 5 == 0)
			SHMKIT_ASSERT_OK(shmkit_keys_del(ks, "c", "s"));
	}
}

/* A writer killed at any moment leaves a whole record (or none), and
 * the next writer carries on. */
static void
killed_writer(void)
{
	unsigned char key[SHMKIT_KEYS_KEY_MAX];
	struct timespec d = { 0, 1000000 };
	shmkit_keys_record_t r;
	char addr[NAMELEN];
	shmkit_keys_t *ks = make_store(addr, "posix", 4);
	int round, rc, checked = 0;

	for (round = 0; round < 20; round++) {
		struct timespec poll = { 0, 100000 };
		uint32_t base = (uint32_t)(round + 1) * 1000000u;
		char arg[16];
		pid_t pid;
		int i;

		snprintf(arg, sizeof(arg), "%u", (unsigned)base);
		pid = shmkit_test_spawn("writer_loop", addr, arg, NULL);
		/* Kill it only once it is writing: a key id of this round. */
		for (i = 0; i < 50000; i++) {
			if (shmkit_keys_get(ks, "c", "s", &r) == 0 &&
			    r.key_id >= base)
				break;
			nanosleep(&poll, NULL);
		}
		SHMKIT_ASSERT(i < 50000);
		d.tv_nsec = 100000 + (round % 7) * 300000;
		nanosleep(&d, NULL);
		kill(pid, SIGKILL);
		SHMKIT_ASSERT_CHILD_SIGNAL(pid, SIGKILL);
		rc = shmkit_keys_get(ks, "c", "s", &r);
		if (rc == -ENOENT)
			continue;
		SHMKIT_ASSERT_OK(rc);
		secret_fill(key, sizeof(key), r.key_id);
		SHMKIT_ASSERT_EQ(r.key_len, 1 + r.key_id % sizeof(key));
		SHMKIT_ASSERT_MEMEQ(r.key, key, r.key_len);
		checked++;
	}
	/* Still writable, whatever state the last kill left. */
	SHMKIT_ASSERT_OK(shmkit_keys_put(ks, "c", "s", 1, key, 8));
	SHMKIT_ASSERT_OK(shmkit_keys_put(ks, "d", "s", 1, key, 8));
	SHMKIT_ASSERT(shmkit_keys_count(ks) == 2);
	SHMKIT_ASSERT(checked > 0);
	drop_store(ks, addr);
}

#define NTHREADS 4
#define NROUNDS 2000

struct thread_arg {
	shmkit_keys_t *ks;
	int n;
};

/* Each thread owns one pair and writes it; all read everyone's pairs:
 * each record read is whole (the key matches its key id). */
static void *
thread_main(void *p)
{
	struct thread_arg *a = p;
	unsigned char key[64];
	shmkit_keys_record_t r;
	char mine[8], other[8];
	int i, j, rc;

	snprintf(mine, sizeof(mine), "t%d", a->n);
	for (i = 0; i < NROUNDS; i++) {
		secret_fill(key, sizeof(key), (unsigned)i);
		if (shmkit_keys_put(a->ks, mine, "s", (uint32_t)i, key,
				    sizeof(key)) < 0)
			return (void *)1;
		for (j = 0; j < NTHREADS; j++) {
			snprintf(other, sizeof(other), "t%d", j);
			rc = shmkit_keys_get(a->ks, other, "s", &r);
			if (rc == -ENOENT)
				continue;
			if (rc < 0)
				return (void *)2;
			secret_fill(key, sizeof(key), r.key_id);
			if (r.key_len != sizeof(key) ||
			    memcmp(r.key, key, sizeof(key)) != 0)
				return (void *)3;
		}
	}
	return NULL;
}

static void
threads_share_a_handle(void)
{
	struct thread_arg args[NTHREADS];
	pthread_t th[NTHREADS];
	char addr[NAMELEN];
	shmkit_keys_t *ks = make_store(addr, "posix", 16);
	void *ret;
	int i;

	for (i = 0; i < NTHREADS; i++) {
		args[i].ks = ks;
		args[i].n = i;
		SHMKIT_ASSERT_EQ(pthread_create(&th[i], NULL, thread_main,
						&args[i]),
				 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		SHMKIT_ASSERT_EQ(pthread_join(th[i], &ret), 0);
		SHMKIT_ASSERT_EQ((long)(intptr_t)ret, 0);
	}
	SHMKIT_ASSERT_EQ(shmkit_keys_count(ks), NTHREADS);
	drop_store(ks, addr);
}

static void
locked_in_memory(void)
{
	char addr[NAMELEN];
	shmkit_keys_stat_t st;
	shmkit_keys_t *ks;

	if (geteuid() != 0)
		SHMKIT_SKIP("mlock limits of unprivileged users vary");
	seg_name(addr, "posix");
	SHMKIT_ASSERT_OK(shmkit_keys_create(&ks, addr, 64, 0, 0));
	SHMKIT_ASSERT_OK(shmkit_keys_stat(ks, &st));
	SHMKIT_ASSERT_EQ(st.locked, 1);
	SHMKIT_ASSERT_EQ(st.capacity, 64);
	drop_store(ks, addr);
}

/* The table's params of the store at addr, through a writable mapping
 * (closed by seg_destroy() or shmkit_seg_close()). */
static struct table_params *
params_of(const char *addr, shmkit_seg_t **s)
{
	SHMKIT_ASSERT_OK(shmkit_seg_open(s, addr, NULL));
	return (struct table_params *)(void *)((uint8_t *)seg_map(*s, 0) +
					       TABLE_PARAMS_OFF);
}

/* Open through both entry points (by address, and on a segment as the
 * compat layer does); both must give want. */
static void
open_both_give(const char *addr, int want)
{
	shmkit_keys_t *ks = NULL;
	shmkit_seg_t *s;

	SHMKIT_ASSERT_ERR(shmkit_keys_open(&ks, addr, FL), want);
	SHMKIT_ASSERT_OK(shmkit_seg_open(&s, addr, NULL));
	SHMKIT_ASSERT_ERR(shmkit__keys_open_seg(&ks, s, FL), want);
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
	SHMKIT_ASSERT(ks == NULL);
}

/*
 * A peer rewrites the key and value sizes to others of the same slot
 * stride (the table alone would accept them): the store's buffers are
 * sized for its own record, so it must refuse the store rather than copy
 * past them.
 */
static void
hostile_sizes(void)
{
	unsigned char key[16];
	shmkit_keys_record_t r;
	struct table_params *p, save;
	char addr[NAMELEN];
	shmkit_keys_t *ks = make_store(addr, "posix", 8);
	shmkit_table_t *t;
	shmkit_seg_t *s;

	secret_fill(key, sizeof(key), 5);
	SHMKIT_ASSERT_OK(shmkit_keys_put(ks, "c", "s", 1, key, sizeof(key)));
	p = params_of(addr, &s);
	save = *p;
	SHMKIT_ASSERT_EQ(p->key_size, 24);
	SHMKIT_ASSERT_EQ(p->value_size, 160);
	p->key_size = 32; /* 8 + 32 + 2 * 168 = 376: stride 384 still */
	p->value_size = 168;
	/* The table takes it (so only the key store can refuse it). */
	SHMKIT_ASSERT_OK(shmkit__table_open_kind(&t, addr,
						 SHMKIT_TABLE_NOLOCK_OK,
						 SHMKIT_OBJ_KEYS,
						 SHMKIT__KEYS_VERSION, NULL));
	SHMKIT_ASSERT_OK(shmkit_table_close(t));
	open_both_give(addr, SHMKIT_ECORRUPT);
	*p = save, p->key_size = 16; /* 8 + 16 + 2 * 160: the same stride */
	open_both_give(addr, SHMKIT_ECORRUPT);
	*p = save, p->value_size = 152;
	open_both_give(addr, SHMKIT_ECORRUPT);
	/* The handle opened before keeps the sizes it checked. */
	SHMKIT_ASSERT_OK(shmkit_keys_get(ks, "c", "s", &r));
	SHMKIT_ASSERT_MEMEQ(r.key, key, sizeof(key));
	*p = save;
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
	drop_store(ks, addr);
}

/*
 * A peer clears the secure flag: the store must not open without its
 * mlock, MADV_DONTDUMP and zeroising, and a handle already open keeps
 * zeroising.
 */
static void
must_be_secure(void)
{
	unsigned char k1[48], k2[48];
	char addr[NAMELEN];
	shmkit_keys_t *ks = make_store(addr, "posix", 8);
	struct table_params *p;
	shmkit_table_t *t = NULL;
	shmkit_seg_t *s;

	secret_fill(k1, sizeof(k1), 6);
	secret_fill(k2, sizeof(k2), 7);
	SHMKIT_ASSERT_OK(shmkit_keys_put(ks, "c", "s", 1, k1, sizeof(k1)));
	p = params_of(addr, &s);
	SHMKIT_ASSERT_EQ(p->flags, SHMKIT_TABLE_SECURE);
	p->flags = 0;
	open_both_give(addr, SHMKIT_ECORRUPT);
	/* Whoever opens a key store's table, with no other expectation. */
	SHMKIT_ASSERT_ERR(shmkit__table_open_kind(&t, addr,
						  SHMKIT_TABLE_NOLOCK_OK,
						  SHMKIT_OBJ_KEYS,
						  SHMKIT__KEYS_VERSION, NULL),
			  SHMKIT_ECORRUPT);
	SHMKIT_ASSERT(t == NULL);
	SHMKIT_ASSERT_EQ(shmkit_keys_put(ks, "c", "s", 2, k2, sizeof(k2)), 1);
	SHMKIT_ASSERT(!segment_holds(addr, k1, sizeof(k1)));
	SHMKIT_ASSERT_OK(shmkit_keys_del(ks, "c", "s"));
	SHMKIT_ASSERT(!segment_holds(addr, k2, sizeof(k2)));
	p->flags = SHMKIT_TABLE_SECURE;
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
	drop_store(ks, addr);
}

/* Revoking a deleted record finds nothing and brings no key back. */
static void
revoke_after_del(void)
{
	unsigned char key[40];
	shmkit_keys_record_t r;
	char addr[NAMELEN];
	shmkit_keys_t *ks = make_store(addr, "posix", 8);

	secret_fill(key, sizeof(key), 8);
	SHMKIT_ASSERT_OK(shmkit_keys_put(ks, "c", "s", 1, key, sizeof(key)));
	SHMKIT_ASSERT_OK(shmkit_keys_del(ks, "c", "s"));
	SHMKIT_ASSERT_ERR(shmkit_keys_revoke(ks, "c", "s"), -ENOENT);
	SHMKIT_ASSERT_ERR(shmkit_keys_get(ks, "c", "s", &r), -ENOENT);
	SHMKIT_ASSERT_EQ(shmkit_keys_count(ks), 0);
	SHMKIT_ASSERT(!segment_holds(addr, key, sizeof(key)));
	drop_store(ks, addr);
}

struct race {
	shmkit_keys_t *ks;
	atomic_int stop;
	int bad;
};

/* Revokes (c, s) until told to stop. */
static void *
revoker_main(void *p)
{
	struct race *a = p;
	int rc;

	while (!atomic_load(&a->stop)) {
		rc = shmkit_keys_revoke(a->ks, "c", "s");
		if (rc != 0 && rc != 1 && rc != -ENOENT)
			a->bad = rc;
	}
	return NULL;
}

/*
 * Only this thread puts (c, s), so once its del returned, nothing may
 * bring the record back: a revoke that read the record before the del
 * and wrote it back after it would.
 */
static void
revoke_races_del_threads(void)
{
	unsigned char key[32];
	shmkit_keys_record_t r;
	char addr[NAMELEN];
	struct race a = { 0 };
	pthread_t th;
	uint32_t i;
	int rc;

	a.ks = make_store(addr, "posix", 4);
	SHMKIT_ASSERT_EQ(pthread_create(&th, NULL, revoker_main, &a), 0);
	for (i = 0; i < 20000; i++) {
		secret_fill(key, sizeof(key), i);
		SHMKIT_ASSERT_OK(shmkit_keys_put(a.ks, "c", "s", i, key,
						 sizeof(key)));
		SHMKIT_ASSERT_OK(shmkit_keys_del(a.ks, "c", "s"));
		rc = shmkit_keys_get(a.ks, "c", "s", &r);
		if (rc != -ENOENT)
			break;
	}
	atomic_store(&a.stop, 1);
	SHMKIT_ASSERT_EQ(pthread_join(th, NULL), 0);
	if (rc != -ENOENT)
		SHMKIT_FAIL("round %u: a deleted record came back (get %d, "
			    "key id %u)",
			    (unsigned)i, rc, rc == 0 ? (unsigned)r.key_id : 0u);
	SHMKIT_ASSERT_EQ(a.bad, 0);
	SHMKIT_ASSERT(!segment_holds(addr, key, sizeof(key)));
	drop_store(a.ks, addr);
}

SHMKIT_HELPERS = {
	{ "reader", helper_reader },
	{ "writer_loop", helper_writer_loop },
	{ NULL, NULL },
};

SHMKIT_TESTS = {
	{ "round_trip_posix", round_trip_posix },
	{ "round_trip_sysv", round_trip_sysv },
	{ "round_trip_file", round_trip_file },
	{ "bad_input", bad_input },
	{ "full_store", full_store },
	{ "mode_0600_by_default", mode_0600_by_default },
	{ "other_user_denied", other_user_denied },
	{ "zeroised_posix", zeroised_posix },
	{ "zeroised_sysv", zeroised_sysv },
	{ "readonly_handle", readonly_handle },
	{ "not_a_key_store", not_a_key_store },
	{ "corrupt_header", corrupt_header },
	{ "corrupt_records", corrupt_records },
	{ "two_processes", two_processes },
	{ "killed_writer", killed_writer },
	{ "threads_share_a_handle", threads_share_a_handle },
	{ "locked_in_memory", locked_in_memory },
	{ "hostile_sizes", hostile_sizes },
	{ "must_be_secure", must_be_secure },
	{ "revoke_after_del", revoke_after_del },
	{ "revoke_races_del_threads", revoke_races_del_threads },
	{ NULL, NULL },
};
