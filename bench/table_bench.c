/*
 * table_bench: what the shared hash table costs. In one run on one core:
 *   - get rate with 1k records and with 1M records (16-byte keys and
 *     values, random present keys), and their ratio: how much of the
 *     O(1) survives a table far larger than the caches; the same for
 *     shmkit_table_get_many(), 32 keys a call;
 *   - put rate: inserts into an empty table, and replaces; the inserts
 *     also into a System V table, which create does not prefault, to
 *     show what the page faults of a fresh table cost;
 *   - as baselines for that ratio, random line reads of as many bytes,
 *     independent (the memory's throughput) and each waiting for the one
 *     before (its latency);
 *   - at 10k records of the classic 160-byte key-store record
 *     {int status; char clientId[12]; char serverId[12]; int seckeyid;
 *     unsigned char seckey[128];}, a get against the linear scan with two
 *     strcmp() that such stores traditionally do, and their ratio; and
 *     the get rate that 1000 times the scan would take, beside the rate
 *     of gets on the 1k table, whose records are in the caches.
 * Tables live in POSIX segments named /table-bench-<pid>-N, removed at the
 * end. --quick runs a tenth of the iterations. Each target of issue #6 is
 * printed last with PASS or MISS.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <shmkit/error.h>
#include <shmkit/seg.h>
#include <shmkit/table.h>

#include "bench_verdict.h"

#define ROUNDS 3

struct classic {
	int status;
	char clientId[12];
	char serverId[12];
	int seckeyid;
	unsigned char seckey[128];
};

/* The two ids, back to back as in the record: the table's key. */
struct ids {
	char cid[12];
	char sid[12];
};

#define LOOKUPS 4096

static char addr[64];
static struct ids ids[LOOKUPS];
static int seq;

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void
die(const char *what, int rc)
{
	fprintf(stderr, "%s: %s\n", what, shmkit_strerror(rc));
	if (addr[0] != '\0')
		shmkit_seg_unlink_address(addr);
	exit(1);
}

/* A new table in a POSIX segment, or with sysv set in a System V one,
 * which create does not prefault (shmkit_table_create(3)). */
static shmkit_table_t *
table_new_in(size_t cap, size_t ks, size_t vs, int sysv)
{
	shmkit_table_opts_t o = {cap, ks, vs, 0, 0};
	shmkit_table_t *t;
	int rc;

	if (sysv)
		snprintf(addr, sizeof(addr), "sysv:0x7b%06x",
			 (unsigned)(getpid() * 16 + seq++) & 0xffffffu);
	else
		snprintf(addr, sizeof(addr), "posix:/table-bench-%d-%d",
			 (int)getpid(), seq++);
	rc = shmkit_table_create(&t, addr, &o);
	if (rc < 0)
		die("shmkit_table_create", rc);
	return t;
}

static shmkit_table_t *
table_new(size_t cap, size_t ks, size_t vs)
{
	return table_new_in(cap, ks, vs, 0);
}

static size_t
table_bytes(size_t cap)
{
	shmkit_table_opts_t o = {cap, 16, 16, 0, 0};

	return shmkit_table_size(&o);
}

static void
table_free(shmkit_table_t *t)
{
	shmkit_table_close(t);
	shmkit_seg_unlink_address(addr);
	addr[0] = '\0';
}

/* Key number i, 16 bytes, spread so that keys do not look sequential. */
static void
key16(uint64_t k[2], uint64_t i)
{
	k[0] = i * 0x9e3779b97f4a7c15ull;
	k[1] = i;
}

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double
fill(shmkit_table_t *t, uint64_t n)
{
	uint64_t k[2], v[2], i;
	double t0 = now_ns();
	int rc;

	for (i = 0; i < n; i++) {
		key16(k, i);
		v[0] = v[1] = i;
		rc = shmkit_table_put(t, k, v);
		if (rc != 0)
			die("put", rc);
	}
	return (double)n / ((now_ns() - t0) / 1e9);
}

/* Gets of random present keys per second. */
static double
get_rate(shmkit_table_t *t, uint64_t n, long iters)
{
	uint64_t k[2], v[2], s = 88172645463325252ull, sum = 0;
	double t0 = now_ns();
	long i;
	int rc;

	for (i = 0; i < iters; i++) {
		key16(k, xorshift(&s) % n);
		rc = shmkit_table_get(t, k, v);
		if (rc != 0)
			die("get", rc);
		sum += v[0];
	}
	if (sum == 42)
		printf(" ");
	return (double)iters / ((now_ns() - t0) / 1e9);
}

/* The same through shmkit_table_get_many(), CALL_KEYS keys a call. */
#define CALL_KEYS 32

static double
get_many_rate(shmkit_table_t *t, uint64_t n, long iters)
{
	uint64_t k[CALL_KEYS][2], v[CALL_KEYS][2];
	uint64_t s = 88172645463325252ull, sum = 0;
	int res[CALL_KEYS];
	double t0 = now_ns();
	long i;
	int j, rc;

	for (i = 0; i < iters; i += CALL_KEYS) {
		for (j = 0; j < CALL_KEYS; j++)
			key16(k[j], xorshift(&s) % n);
		rc = shmkit_table_get_many(t, CALL_KEYS, k, v, res);
		if (rc != CALL_KEYS)
			die("get_many", rc < 0 ? rc : -2);
		sum += v[0][0];
	}
	if (sum == 42)
		printf(" ");
	return (double)iters / ((now_ns() - t0) / 1e9);
}

static double
replace_rate(shmkit_table_t *t, uint64_t n, long iters)
{
	uint64_t k[2], v[2], s = 2463534242ull;
	double t0 = now_ns();
	long i;
	int rc;

	for (i = 0; i < iters; i++) {
		key16(k, xorshift(&s) % n);
		v[0] = v[1] = (uint64_t)i;
		rc = shmkit_table_put(t, k, v);
		if (rc != 1)
			die("put (replace)", rc);
	}
	return (double)iters / ((now_ns() - t0) / 1e9);
}

/*
 * The memory's own limit: random 8-byte reads, each from another cache
 * line, of a buffer as large as the table, issued as independently as
 * the table's gets are.
 */
static double
mem_rate(size_t len, long iters)
{
	unsigned char *p = malloc(len);
	uint64_t s = 88172645463325252ull, sum = 0;
	size_t lines = len / 64;
	double t0;
	long i;

	if (p == NULL)
		die("malloc", -12);
	memset(p, 1, len);
	t0 = now_ns();
	for (i = 0; i < iters; i++)
		sum += *(volatile uint64_t *)(void *)(p + xorshift(&s) % lines *
								  64);
	t0 = now_ns() - t0;
	free(p);
	if (sum == 42)
		printf(" ");
	return (double)iters / (t0 / 1e9);
}

/*
 * The memory's latency: reads each of which needs the one before it (a
 * walk round a random cycle through every line of a buffer as large as
 * the table), so that no two overlap. A single get whose slot is not in
 * the caches waits for one such read; this is the rate it cannot beat
 * unless the processor overlaps consecutive gets.
 */
static double
chase_rate(size_t len, long iters)
{
	size_t lines = len / 64, i, j, tmp;
	uint64_t *p = malloc(lines * 64), s = 2463534242ull;
	size_t at = 0;
	double t0;
	long k;

	if (p == NULL)
		die("malloc", -12);
	/* Sattolo's shuffle: one cycle through all the lines. */
	for (i = 0; i < lines; i++)
		p[i * 8] = i;
	for (i = lines - 1; i > 0; i--) {
		j = xorshift(&s) % i;
		tmp = p[i * 8];
		p[i * 8] = p[j * 8];
		p[j * 8] = tmp;
	}
	t0 = now_ns();
	for (k = 0; k < iters; k++)
		at = *(volatile uint64_t *)(void *)&p[at * 8];
	t0 = now_ns() - t0;
	free(p);
	if (at == lines)
		printf(" ");
	return (double)iters / (t0 / 1e9);
}

static double
best(double a, double b)
{
	return a > b ? a : b;
}

/* The classic lookup: scan until both ids match. */
static const struct classic *
scan(const struct classic *recs, size_t n, const char *cid, const char *sid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(recs[i].clientId, cid) == 0 &&
		    strcmp(recs[i].serverId, sid) == 0)
			return &recs[i];
	return NULL;
}

/* Ids as C strings, zero-padded: table keys compare all their bytes. */
static void
classic_ids(char cid[12], char sid[12], unsigned i)
{
	memset(cid, 0, 12);
	memset(sid, 0, 12);
	snprintf(cid, 12, "client%05u", i % 100000);
	snprintf(sid, 12, "srv%04u", i / 100000 + 1);
}

int
main(int argc, char **argv)
{
	long iters = 10000000, classic_iters = 20000;
	double g1k = 0, g1m = 0, ins = 0, ins_fault = 0, rep = 0, rep1k = 0,
	       gc = 0, sc = 0;
	double b1k = 0, b1m = 0, bc = 0;
	double m1k = 0, m1m = 0, c1k = 0, c1m = 0, t0;
	size_t len1k, len1m;
	struct classic *recs, rec;
	shmkit_table_t *t;
	uint64_t s = 1;
	size_t n;
	unsigned i, r;
	char key[24];
	int rc;

	for (i = 1; i < (unsigned)argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			iters /= 10;
			classic_iters /= 10;
		} else {
			fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
			return 2;
		}
	}

	t = table_new(1000, 16, 16);
	fill(t, 1000);
	get_rate(t, 1000, iters / 10);
	for (r = 0; r < ROUNDS; r++) {
		g1k = best(g1k, get_rate(t, 1000, iters));
		b1k = best(b1k, get_many_rate(t, 1000, iters));
		rep1k = best(rep1k, replace_rate(t, 1000, iters / 4));
	}
	len1k = table_bytes(1000);
	table_free(t);

	t = table_new(1000000, 16, 16);
	ins = fill(t, 1000000);
	get_rate(t, 1000000, iters / 10);
	for (r = 0; r < ROUNDS; r++) {
		g1m = best(g1m, get_rate(t, 1000000, iters));
		b1m = best(b1m, get_many_rate(t, 1000000, iters));
		rep = best(rep, replace_rate(t, 1000000, iters / 4));
	}
	len1m = table_bytes(1000000);
	table_free(t);
	/* The same inserts where every page still faults on first touch. */
	t = table_new_in(1000000, 16, 16, 1);
	ins_fault = fill(t, 1000000);
	table_free(t);
	for (r = 0; r < ROUNDS; r++) {
		m1k = best(m1k, mem_rate(len1k, iters));
		m1m = best(m1m, mem_rate(len1m, iters));
		c1k = best(c1k, chase_rate(len1k, iters / 4));
		c1m = best(c1m, chase_rate(len1m, iters / 4));
	}

	/* The classic record store at 10k records: the same records in an
	 * array and in a table keyed by clientId + serverId. */
	n = 10000;
	recs = calloc(n, sizeof(*recs));
	if (recs == NULL)
		die("calloc", -12);
	t = table_new(n, 24, sizeof(struct classic));
	for (i = 0; i < n; i++) {
		memset(&rec, 0, sizeof(rec));
		classic_ids(rec.clientId, rec.serverId, i);
		rec.status = 1;
		rec.seckeyid = (int)i;
		memset(rec.seckey, (int)i, sizeof(rec.seckey));
		recs[i] = rec;
		memcpy(key, rec.clientId, 12);
		memcpy(key + 12, rec.serverId, 12);
		rc = shmkit_table_put(t, key, &rec);
		if (rc != 0)
			die("put classic", rc);
	}
	/* What callers look up: the ids of a random record, made before
	 * the clock starts. */
	for (i = 0; i < LOOKUPS; i++) {
		unsigned x = (unsigned)(xorshift(&s) % n);

		memcpy(ids[i].cid, recs[x].clientId, 12);
		memcpy(ids[i].sid, recs[x].serverId, 12);
	}
	for (r = 0; r < ROUNDS; r++) {
		long found = 0;
		long li;

		t0 = now_ns();
		for (li = 0; li < classic_iters; li++) {
			const struct ids *id = &ids[li % LOOKUPS];

			found += scan(recs, n, id->cid, id->sid) != NULL;
		}
		sc = best(sc, (double)classic_iters / ((now_ns() - t0) / 1e9));
		t0 = now_ns();
		for (li = 0; li < classic_iters * 100; li++)
			found += shmkit_table_get(t, &ids[li % LOOKUPS],
						  &rec) == 0;
		gc = best(gc, (double)(classic_iters * 100) /
				      ((now_ns() - t0) / 1e9));
		t0 = now_ns();
		for (li = 0; li < classic_iters * 100; li += CALL_KEYS) {
			static struct classic out[CALL_KEYS];
			int res[CALL_KEYS];

			rc = shmkit_table_get_many(
				t, CALL_KEYS, &ids[li % LOOKUPS], out, res);
			found += rc;
		}
		bc = best(bc, (double)(classic_iters * 100) /
				      ((now_ns() - t0) / 1e9));
		if (found != classic_iters * 201)
			die("classic lookups missed", -2);
	}
	table_free(t);
	free(recs);

	printf("shmkit table, one core, best of %d rounds\n", ROUNDS);
	printf("  16-byte keys and values     get        get_many (%d keys a "
	       "call)\n",
	       CALL_KEYS);
	printf("  1k records             %8.2f M/s  %8.2f M/s\n", g1k / 1e6,
	       b1k / 1e6);
	printf("  1M records             %8.2f M/s  %8.2f M/s\n", g1m / 1e6,
	       b1m / 1e6);
	printf("  ratio 1M/1k            %8.2f      %8.2f\n", g1m / g1k,
	       b1m / b1k);
	printf("  memory alone, random line reads over as many bytes: %zu MB "
	       "%.2f M/s,\n  %zu kB %.2f M/s, ratio %.2f\n",
	       len1m >> 20, m1m / 1e6, len1k >> 10, m1k / 1e6, m1m / m1k);
	printf("  memory latency, one dependent read at a time: %zu MB "
	       "%.2f M/s,\n  %zu kB %.2f M/s; get at 1M records: %.2fx the "
	       "%zu MB rate\n",
	       len1m >> 20, c1m / 1e6, len1k >> 10, c1k / 1e6, g1m / c1m,
	       len1m >> 20);
	printf("  put: insert into 1M table %.2f M/s, replace in 1M table "
	       "%.2f M/s,\n  replace in 1k table %.2f M/s; insert into a 1M "
	       "table whose pages\n  fault on first touch (System V) %.2f "
	       "M/s: prefaulted %.2fx\n",
	       ins / 1e6, rep / 1e6, rep1k / 1e6, ins_fault / 1e6,
	       ins / ins_fault);
	printf("classic 160-byte records, 10k records: linear scan with two "
	       "strcmp %.0f/s,\n  get %.2f M/s (%.0fx), get_many %.2f M/s "
	       "(%.0fx)\n",
	       sc, gc / 1e6, gc / sc, bc / 1e6, bc / sc);
	/* What 1000x the scan asks of a get, next to this run's get on the
	 * 1k table of 16-byte records, which sits in the caches: a get of a
	 * 160-byte record from a 6 MB table hashes a longer key, copies ten
	 * times the bytes and misses more, so it is not expected to beat
	 * that rate. */
	printf("  1000x the scan takes %.2f M gets/s; get on the 1k table of "
	       "16-byte records,\n  in the caches, did %.2f M/s (%.2fx of "
	       "that)\n",
	       sc * 1000 / 1e6, g1k / 1e6, g1k / (sc * 1000));
	printf("targets (issue #6):\n");
	bench_verdict("get, 1M records, M/s", g1m / 1e6, 0, 10);
	bench_verdict("get_many, 1M records, M/s", b1m / 1e6, 0, 10);
	bench_verdict("get, rate 1M / rate 1k", g1m / g1k, 0, 0.7);
	bench_verdict("get_many, rate 1M / rate 1k", b1m / b1k, 0, 0.7);
	bench_verdict("put, insert into 1M table, M/s", ins / 1e6, 0, 2);
	bench_verdict("put, replace in 1M table, M/s", rep / 1e6, 0, 2);
	bench_verdict("get / scan, 10k classic records", gc / sc, 0, 1000);
	bench_verdict("get_many / scan, 10k classic records", bc / sc, 0, 1000);
	printf("%d target%s missed\n", bench_misses,
	       bench_misses == 1 ? "" : "s");
	return 0;
}
