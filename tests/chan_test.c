/*
 * Channels in one process: creation, opening and inspection with every
 * bad input, the three patterns with copying and zero-copy calls, wrap
 * around with every message size, full and empty rings, timeouts and
 * policies, losses on overwriting broadcast, giving back held messages,
 * the same rings driven by threads (the "threads" cases run under TSan),
 * dead peers found by their successors, and a channel scribbled on by a
 * hostile peer, which must give errors, never a crash or a hang.
 * Cross-process and kill tests live in chan_proc_test.c.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>

#include <shmkit/chan.h>
#include <shmkit/seg.h>

#include "chan/chan_impl.h"
#include "shmkit_test.h"
#include "sync/futex.h"

/* Never expires in a passing run; turns a hang into a failure. */
static const struct timespec tmo = {.tv_sec = 10};
static const struct timespec ms0 = {.tv_nsec = 0};
static const struct timespec ms20 = {.tv_nsec = 20000000};

#define PROD SHMKIT_CHAN_PRODUCER
#define CONS SHMKIT_CHAN_CONSUMER
#define NB   SHMKIT_CHAN_NONBLOCK

static char *
new_chan(const char *backend, unsigned pattern, unsigned policy, size_t msg_max,
	 size_t slots, unsigned peers)
{
	shmkit_chan_opts_t o = {.pattern = pattern,
				.policy = policy,
				.msg_max = msg_max,
				.slots = slots,
				.peers = peers};
	char *name = strdup(shmkit_test_name(backend));

	SHMKIT_ASSERT(name != NULL);
	SHMKIT_ASSERT_OK(shmkit_chan_create(name, &o));
	return name;
}

static void
drop_chan(char *name)
{
	SHMKIT_ASSERT_OK(shmkit_seg_unlink_address(name));
	free(name);
}

static shmkit_chan_t *
open_ok(const char *name, unsigned flags)
{
	shmkit_chan_t *ch = NULL;

	SHMKIT_ASSERT_OK(shmkit_chan_open(&ch, name, flags));
	SHMKIT_ASSERT(ch != NULL);
	return ch;
}

/* An SPSC channel (POSIX) with a producer in *p and a consumer in *c;
 * returns its name, for close_pair(). */
static char *
open_pair(size_t msg_max, size_t slots, shmkit_chan_t **p, shmkit_chan_t **c)
{
	char *name = new_chan("posix", SHMKIT_CHAN_SPSC, 0, msg_max, slots, 0);

	*p = open_ok(name, PROD);
	*c = open_ok(name, CONS);
	return name;
}

/* Close a producer and a consumer, then remove their channel. */
static void
close_pair(char *name, shmkit_chan_t *p, shmkit_chan_t *c)
{
	shmkit_chan_close(p);
	shmkit_chan_close(c);
	drop_chan(name);
}

static void
send_u64(shmkit_chan_t *ch, uint64_t v)
{
	SHMKIT_ASSERT_OK(shmkit_chan_send(ch, &v, sizeof(v), &tmo, 0));
}

static uint64_t
recv_u64(shmkit_chan_t *ch, int *lost)
{
	uint64_t v = 0;
	size_t len = 0;
	int rc = shmkit_chan_recv(ch, &v, sizeof(v), &len, &tmo, 0);

	SHMKIT_ASSERT_OK(rc);
	SHMKIT_ASSERT_EQ(len, sizeof(v));
	if (lost != NULL)
		*lost = rc;
	else
		SHMKIT_ASSERT_EQ(rc, 0);
	return v;
}

/* A raw read-write mapping of the channel's segment, for scribbling. */
static unsigned char *
raw_map(const char *name, shmkit_seg_t **seg)
{
	void *mem;

	SHMKIT_ASSERT_OK(shmkit_seg_open(seg, name, NULL));
	SHMKIT_ASSERT_OK(shmkit_seg_attach(*seg, &mem, 0, NULL));
	return mem;
}

static void
test_size_and_names(void)
{
	shmkit_chan_opts_t o = {0};

	SHMKIT_ASSERT(shmkit_chan_size(NULL) > 0);
	SHMKIT_ASSERT_EQ(shmkit_chan_size(&o), shmkit_chan_size(NULL));
	/* 512 of header and counters, 2 peers, 64 slots of 16 + 4096. */
	SHMKIT_ASSERT_EQ(shmkit_chan_size(NULL), 512 + 2 * 64 + 64 * 4160);
	o.slots = 3; /* rounds up to 4 */
	o.msg_max = 48;
	SHMKIT_ASSERT_EQ(shmkit_chan_size(&o), 512 + 2 * 64 + 4 * 64);
	o.slots = 1; /* at least 2 */
	SHMKIT_ASSERT_EQ(shmkit_chan_size(&o), 512 + 2 * 64 + 2 * 64);
	o = (shmkit_chan_opts_t){.pattern = 4};
	SHMKIT_ASSERT_EQ(shmkit_chan_size(&o), 0);
	o = (shmkit_chan_opts_t){.policy = 3};
	SHMKIT_ASSERT_EQ(shmkit_chan_size(&o), 0);
	o = (shmkit_chan_opts_t){.policy = SHMKIT_CHAN_FULL_OVERWRITE};
	SHMKIT_ASSERT_EQ(shmkit_chan_size(&o), 0);
	o.pattern = SHMKIT_CHAN_MPMC;
	SHMKIT_ASSERT_EQ(shmkit_chan_size(&o), 0);
	o.pattern = SHMKIT_CHAN_BROADCAST;
	SHMKIT_ASSERT(shmkit_chan_size(&o) > 0);
	o = (shmkit_chan_opts_t){.msg_max = SHMKIT_CHAN_MSG_MAX + 1};
	SHMKIT_ASSERT_EQ(shmkit_chan_size(&o), 0);
	o = (shmkit_chan_opts_t){.slots = SHMKIT_CHAN_SLOTS_MAX + 1};
	SHMKIT_ASSERT_EQ(shmkit_chan_size(&o), 0);
	o = (shmkit_chan_opts_t){.peers = 1};
	SHMKIT_ASSERT_EQ(shmkit_chan_size(&o), 0);
	o = (shmkit_chan_opts_t){.peers = SHMKIT_CHAN_PEERS_MAX + 1};
	SHMKIT_ASSERT_EQ(shmkit_chan_size(&o), 0);
	o = (shmkit_chan_opts_t){.mode = 010000};
	SHMKIT_ASSERT_EQ(shmkit_chan_size(&o), 0);
	o = (shmkit_chan_opts_t){.pattern = SHMKIT_CHAN_MPMC};
	SHMKIT_ASSERT_EQ(shmkit_chan_size(&o), 512 + 64 * 64 + 64 * 4160);

	SHMKIT_ASSERT_STREQ(shmkit_chan_pattern_name(SHMKIT_CHAN_SPSC), "spsc");
	SHMKIT_ASSERT_STREQ(shmkit_chan_pattern_name(SHMKIT_CHAN_MPMC), "mpmc");
	SHMKIT_ASSERT_STREQ(shmkit_chan_pattern_name(SHMKIT_CHAN_BROADCAST),
			    "broadcast");
	SHMKIT_ASSERT_STREQ(shmkit_chan_pattern_name(0), "?");
	SHMKIT_ASSERT_STREQ(shmkit_chan_policy_name(0), "block");
	SHMKIT_ASSERT_STREQ(shmkit_chan_policy_name(1), "fail");
	SHMKIT_ASSERT_STREQ(shmkit_chan_policy_name(2), "overwrite");
	SHMKIT_ASSERT_STREQ(shmkit_chan_policy_name(9), "?");
}

static void
test_create_open_inspect(void)
{
	shmkit_chan_peer_info_t pi[4];
	shmkit_chan_info_t info;
	shmkit_seg_stat_t st;
	shmkit_chan_t *p, *c;
	char *name = new_chan("posix", SHMKIT_CHAN_SPSC, 0, 100, 5, 0);

	SHMKIT_ASSERT_OK(shmkit_seg_stat_address(name, &st));
	SHMKIT_ASSERT_EQ(st.mode, 0600);
	SHMKIT_ASSERT_EQ(st.size, 512 + 2 * 64 + 8 * 128);
	SHMKIT_ASSERT_EQ(shmkit_chan_inspect(name, &info, NULL, 0), 0);
	SHMKIT_ASSERT_EQ(info.pattern, SHMKIT_CHAN_SPSC);
	SHMKIT_ASSERT_EQ(info.policy, SHMKIT_CHAN_FULL_BLOCK);
	SHMKIT_ASSERT_EQ(info.msg_max, 100);
	SHMKIT_ASSERT_EQ(info.slots, 8);
	SHMKIT_ASSERT_EQ(info.peers_max, 2);
	SHMKIT_ASSERT_EQ(info.peers, 0);

	p = open_ok(name, PROD);
	c = open_ok(name, CONS | SHMKIT_CHAN_WAIT_BUSY);
	send_u64(p, 1);
	send_u64(p, 2);
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 1);
	SHMKIT_ASSERT_EQ(shmkit_chan_inspect(name, &info, pi, 1), 2);
	SHMKIT_ASSERT_EQ(info.peers, 2);
	SHMKIT_ASSERT_EQ(info.sent, 2);
	SHMKIT_ASSERT_EQ(info.received, 1);
	SHMKIT_ASSERT_EQ(info.pending, 1);
	SHMKIT_ASSERT_EQ(pi[0].index, 0);
	SHMKIT_ASSERT_EQ(pi[0].role, PROD);
	SHMKIT_ASSERT_EQ(pi[0].pid, getpid());
	SHMKIT_ASSERT_EQ(pi[0].alive, 1);
	SHMKIT_ASSERT_EQ(pi[0].messages, 2);
	SHMKIT_ASSERT_EQ(shmkit_chan_inspect(name, &info, pi, 4), 2);
	SHMKIT_ASSERT_EQ(pi[1].role, CONS);
	SHMKIT_ASSERT_EQ(pi[1].messages, 1);
	memset(&info, 0, sizeof(info));
	SHMKIT_ASSERT_OK(shmkit_chan_info(c, &info));
	SHMKIT_ASSERT_EQ(info.sent, 2);
	SHMKIT_ASSERT_EQ(info.pending, 1);
	SHMKIT_ASSERT_EQ(shmkit_chan_recover(c), 0);
	SHMKIT_ASSERT_OK(shmkit_chan_close(p));
	SHMKIT_ASSERT_OK(shmkit_chan_close(c));
	SHMKIT_ASSERT_OK(shmkit_chan_close(NULL));
	SHMKIT_ASSERT_EQ(shmkit_chan_inspect(name, &info, NULL, 0), 0);
	SHMKIT_ASSERT_EQ(info.pending, 1);

	/* A restarted consumer starts at the oldest unconsumed message. */
	c = open_ok(name, CONS);
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 2);
	shmkit_chan_close(c);
	drop_chan(name);
}

static void
test_create_errors(void)
{
	shmkit_chan_opts_t o = {.mode = 0640};
	shmkit_seg_stat_t st;
	char *name = strdup(shmkit_test_name("posix"));

	SHMKIT_ASSERT_ERR(shmkit_chan_create(NULL, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_create("nonsense:x", NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_create(shmkit_test_name("memfd"), NULL),
			  -EINVAL);
	o.pattern = 7;
	SHMKIT_ASSERT_ERR(shmkit_chan_create(name, &o), -EINVAL);
	o.pattern = 0;
	SHMKIT_ASSERT_OK(shmkit_chan_create(name, &o));
	SHMKIT_ASSERT_OK(shmkit_seg_stat_address(name, &st));
	SHMKIT_ASSERT_EQ(st.mode, 0640);
	SHMKIT_ASSERT_ERR(shmkit_chan_create(name, &o), -EEXIST);
	SHMKIT_ASSERT_ERR(shmkit_chan_format(NULL, NULL), -EINVAL);
	drop_chan(name);
}

static void
test_open_errors(void)
{
	shmkit_seg_opts_t so = {.size = 4096};
	shmkit_chan_info_t info;
	shmkit_chan_t *ch = NULL, *a, *b;
	shmkit_seg_t *seg;
	unsigned char *raw;
	char *plain, *name;
	shmkit_obj_hdr_t *h;

	name = new_chan("posix", SHMKIT_CHAN_SPSC, 0, 64, 4, 0);
	SHMKIT_ASSERT_ERR(shmkit_chan_open(NULL, name, PROD), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, NULL, PROD), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, PROD | CONS), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name,
					   PROD | SHMKIT_CHAN_WAIT_BUSY |
						   SHMKIT_CHAN_WAIT_BLOCK),
			  -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, PROD | 0x1000), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, PROD | NB), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, "nonsense:x", PROD), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_open_seg(&ch, NULL, PROD), -EINVAL);
	SHMKIT_ASSERT(ch == NULL);

	/* One producer and one consumer per SPSC channel. */
	a = open_ok(name, PROD);
	b = open_ok(name, CONS);
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, PROD), -EBUSY);
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, CONS), -EBUSY);
	shmkit_chan_close(a);
	a = open_ok(name, PROD);
	shmkit_chan_close(a);
	shmkit_chan_close(b);

	/* Header checks, through a raw mapping. */
	raw = raw_map(name, &seg);
	h = (shmkit_obj_hdr_t *)(void *)raw;
	h->state = SHMKIT_OBJ_STATE_INIT;
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, PROD), -EBUSY);
	SHMKIT_ASSERT(shmkit_chan_inspect(name, &info, NULL, 0) < 0);
	h->state = SHMKIT_OBJ_STATE_BROKEN;
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, PROD), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_chan_inspect(name, &info, NULL, 0),
			  SHMKIT_ECORRUPT);
	h->state = SHMKIT_OBJ_STATE_READY;
	h->version = 3; /* newer */
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, PROD), SHMKIT_EVERSION);
	h->version = 1; /* older: a peer that publishes batches otherwise */
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, PROD), SHMKIT_EVERSION);
	SHMKIT_ASSERT_ERR(shmkit_chan_inspect(name, &info, NULL, 0),
			  SHMKIT_EVERSION);
	h->version = 2;
	h->fingerprint ^= 1;
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, PROD), SHMKIT_EABI);
	h->fingerprint ^= 1;
	h->kind = SHMKIT_OBJ_TABLE;
	h->version = 1; /* a sound table header */
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, PROD), SHMKIT_ENOTOBJ);
	h->kind = SHMKIT_OBJ_CHAN;
	h->version = 2;
	((struct shmkit__chan_shm *)(void *)raw)->ctl.slots = 8;
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, PROD), SHMKIT_ECORRUPT);
	SHMKIT_ASSERT_ERR(shmkit_chan_inspect(name, &info, NULL, 0),
			  SHMKIT_ECORRUPT);
	((struct shmkit__chan_shm *)(void *)raw)->ctl.slots = 4;
	/* Still a consistent layout (same stride), but not what was made. */
	((struct shmkit__chan_shm *)(void *)raw)->ctl.msg_max = 65;
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, PROD), SHMKIT_ECORRUPT);
	((struct shmkit__chan_shm *)(void *)raw)->ctl.msg_max = 64;
	((struct shmkit__chan_shm *)(void *)raw)->ctl.slots_off += 64;
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, PROD), SHMKIT_ECORRUPT);
	((struct shmkit__chan_shm *)(void *)raw)->ctl.slots_off -= 64;
	a = open_ok(name, PROD);
	shmkit_chan_close(a);
	shmkit_seg_close(seg);
	drop_chan(name);

	/* Not a channel at all. */
	plain = strdup(shmkit_test_name("posix"));
	SHMKIT_ASSERT_OK(shmkit_seg_create(&seg, plain, &so));
	shmkit_seg_close(seg);
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, plain, CONS), SHMKIT_ENOTOBJ);
	SHMKIT_ASSERT_ERR(shmkit_chan_inspect(plain, &info, NULL, 0),
			  SHMKIT_ENOTOBJ);
	drop_chan(plain);
	SHMKIT_ASSERT_ERR(
		shmkit_chan_open(&ch, plain = strdup(shmkit_test_name("posix")),
				 CONS),
		-ENOENT);
	SHMKIT_ASSERT_ERR(shmkit_chan_inspect(plain, &info, NULL, 0), -ENOENT);
	SHMKIT_ASSERT_ERR(shmkit_chan_inspect(NULL, &info, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_inspect(plain, NULL, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_inspect(plain, &info, NULL, 1), -EINVAL);
	free(plain);
	SHMKIT_ASSERT(ch == NULL);
}

static void
test_roles_and_peers(void)
{
	shmkit_chan_t *hs[4], *ch = NULL;
	char *name;
	int i;

	/* One publisher per broadcast channel. */
	name = new_chan("posix", SHMKIT_CHAN_BROADCAST, 0, 64, 4, 3);
	hs[0] = open_ok(name, PROD);
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, PROD), -EBUSY);
	hs[1] = open_ok(name, CONS);
	hs[2] = open_ok(name, CONS);
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, CONS), -EUSERS);
	for (i = 0; i < 3; i++)
		shmkit_chan_close(hs[i]);
	drop_chan(name);

	/* MPMC: any mix until the table is full. */
	name = new_chan("posix", SHMKIT_CHAN_MPMC, 0, 64, 4, 4);
	hs[0] = open_ok(name, PROD);
	hs[1] = open_ok(name, PROD);
	hs[2] = open_ok(name, CONS);
	hs[3] = open_ok(name, CONS);
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&ch, name, CONS), -EUSERS);
	shmkit_chan_close(hs[1]);
	hs[1] = open_ok(name, CONS);
	for (i = 0; i < 4; i++)
		shmkit_chan_close(hs[i]);
	drop_chan(name);
	SHMKIT_ASSERT(ch == NULL);
}

static void
test_call_errors(void)
{
	struct timespec bad = {.tv_sec = 0, .tv_nsec = 1000000000L};
	struct timespec neg = {.tv_sec = -1};
	shmkit_chan_t *p, *c;
	char *name = open_pair(64, 4, &p, &c);
	shmkit_chan_info_t info;
	const void *m;
	void *buf;
	size_t len;
	char x[64];

	SHMKIT_ASSERT_ERR(shmkit_chan_reserve(NULL, 1, &buf, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_reserve(p, 1, NULL, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_reserve(c, 1, &buf, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_reserve(p, 65, &buf, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_reserve(p, 1, &buf, &bad, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_reserve(p, 1, &buf, &neg, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_reserve(p, 1, &buf, NULL, 0x8000),
			  -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_commit(p, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_commit(NULL, 0), -EINVAL);
	SHMKIT_ASSERT_OK(shmkit_chan_reserve(p, 8, &buf, NULL, 0));
	SHMKIT_ASSERT_ERR(shmkit_chan_reserve(p, 8, &buf, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_send(p, "x", 1, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_commit(p, 9), -EINVAL);
	memcpy(buf, "abcdefgh", 8);
	SHMKIT_ASSERT_OK(shmkit_chan_commit(p, 4));
	SHMKIT_ASSERT_ERR(shmkit_chan_commit(p, 4), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_send(p, NULL, 1, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_send(c, "x", 1, NULL, 0), -EINVAL);

	SHMKIT_ASSERT_ERR(shmkit_chan_peek(NULL, &m, &len, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_peek(c, NULL, &len, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_peek(c, &m, NULL, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_peek(p, &m, &len, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_peek(c, &m, &len, &bad, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_peek(c, &m, &len, NULL, 0x40), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_release(c), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_release(NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, x, sizeof(x), NULL, NULL, 0),
			  -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, NULL, 1, &len, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_recv(NULL, x, 1, &len, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_recv(p, x, 1, &len, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_OK(shmkit_chan_peek(c, &m, &len, NULL, 0));
	SHMKIT_ASSERT_EQ(len, 4);
	SHMKIT_ASSERT_MEMEQ(m, "abcd", 4);
	SHMKIT_ASSERT_ERR(shmkit_chan_peek(c, &m, &len, NULL, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, x, sizeof(x), &len, NULL, 0),
			  -EINVAL);
	SHMKIT_ASSERT_OK(shmkit_chan_release(c));
	SHMKIT_ASSERT_ERR(shmkit_chan_release(c), -EINVAL);

	SHMKIT_ASSERT_ERR(shmkit_chan_info(NULL, &info), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_info(c, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_recover(NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_fd(NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_fd_ack(NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_fd_ack(c), -EINVAL);
	close_pair(name, p, c);
}

/* Is p inside a shared mapping of the POSIX object named like name? */
static int
in_mapping(const void *p, const char *name)
{
	const char *obj = strchr(name, '/');
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long lo, hi;
	int found = 0;

	SHMKIT_ASSERT(f != NULL && obj != NULL);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if ((uintptr_t)p >= lo && (uintptr_t)p < hi &&
		    strstr(line, obj) != NULL && strstr(line, " rw-s ") != NULL)
			found = 1;
	}
	fclose(f);
	return found;
}

static void
zero_copy(unsigned pattern)
{
	char *name = new_chan("posix", pattern, 0, 200, 4, 0);
	shmkit_chan_t *c = open_ok(name, CONS), *p = open_ok(name, PROD);
	const void *m, *first = NULL;
	void *buf;
	size_t len;
	int i;

	for (i = 0; i < 9; i++) {
		SHMKIT_ASSERT_OK(shmkit_chan_reserve(p, 200, &buf, &tmo, 0));
		SHMKIT_ASSERT(in_mapping(buf, name));
		SHMKIT_ASSERT_EQ((uintptr_t)buf % 16, 0);
		memset(buf, 'a' + i, 200);
		SHMKIT_ASSERT_OK(shmkit_chan_commit(p, (size_t)(10 + i)));
		SHMKIT_ASSERT_OK(shmkit_chan_peek(c, &m, &len, &tmo, 0));
		SHMKIT_ASSERT(in_mapping(m, name));
		SHMKIT_ASSERT_EQ(len, 10 + i);
		SHMKIT_ASSERT_EQ(((const char *)m)[len - 1], 'a' + i);
		/* The same slot comes round every 4 messages. */
		if (i == 0)
			first = m;
		SHMKIT_ASSERT_EQ(m == first, i % 4 == 0);
		SHMKIT_ASSERT_OK(shmkit_chan_release(c));
	}
	close_pair(name, p, c);
}

static void
test_zero_copy(void)
{
	zero_copy(SHMKIT_CHAN_SPSC);
	zero_copy(SHMKIT_CHAN_MPMC);
	zero_copy(SHMKIT_CHAN_BROADCAST);
}

/* Every size from 0 to msg_max through a 4-slot ring, twice round for
 * each size so every slot sees every size. */
static void
wrap_sizes(const char *backend, unsigned pattern)
{
	char *name = new_chan(backend, pattern, 0, 200, 4, 0);
	shmkit_chan_t *c = open_ok(name, CONS), *p = open_ok(name, PROD);
	unsigned char out[200], in[256];
	size_t len, n, k, j;

	for (n = 0; n <= 200; n++) {
		for (k = 0; k < 3; k++) {
			for (j = 0; j < n; j++)
				out[j] = (unsigned char)(n * 7 + k + j);
			SHMKIT_ASSERT_OK(shmkit_chan_send(p, out, n, &tmo, 0));
		}
		for (k = 0; k < 3; k++) {
			memset(in, 0xee, sizeof(in));
			SHMKIT_ASSERT_EQ(shmkit_chan_recv(c, in, sizeof(in),
							  &len, &tmo, 0),
					 0);
			SHMKIT_ASSERT_EQ(len, n);
			for (j = 0; j < n; j++)
				out[j] = (unsigned char)(n * 7 + k + j);
			SHMKIT_ASSERT_MEMEQ(in, out, n);
			SHMKIT_ASSERT_EQ(in[n], 0xee);
		}
	}
	SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, in, sizeof(in), &len, NULL, NB),
			  -EAGAIN);
	close_pair(name, p, c);
}

static void
test_wrap_every_size(void)
{
	wrap_sizes("posix", SHMKIT_CHAN_SPSC);
	wrap_sizes("file", SHMKIT_CHAN_MPMC);
	wrap_sizes("sysv", SHMKIT_CHAN_BROADCAST);
}

static void
fill_drain(unsigned pattern, unsigned policy)
{
	char *name = new_chan("posix", pattern, policy, 32, 8, 0);
	shmkit_chan_t *c = open_ok(name, CONS), *p = open_ok(name, PROD);
	shmkit_chan_info_t info;
	uint64_t i, v;
	size_t len;
	int round;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < 8; i++)
			SHMKIT_ASSERT_OK(
				shmkit_chan_send(p, &i, sizeof(i), NULL, NB));
		SHMKIT_ASSERT_ERR(shmkit_chan_send(p, &i, sizeof(i), NULL, NB),
				  -EAGAIN);
		SHMKIT_ASSERT_ERR(shmkit_chan_send(p, &i, sizeof(i), &ms0, 0),
				  policy == SHMKIT_CHAN_FULL_FAIL ? -EAGAIN
								  : -ETIMEDOUT);
		if (policy == SHMKIT_CHAN_FULL_FAIL)
			SHMKIT_ASSERT_ERR(
				shmkit_chan_send(p, &i, sizeof(i), NULL, 0),
				-EAGAIN);
		SHMKIT_ASSERT_OK(shmkit_chan_info(p, &info));
		if (pattern != SHMKIT_CHAN_BROADCAST)
			SHMKIT_ASSERT_EQ(info.pending, 8);
		for (i = 0; i < 8; i++) {
			SHMKIT_ASSERT_EQ(shmkit_chan_recv(c, &v, sizeof(v),
							  &len, NULL, NB),
					 0);
			SHMKIT_ASSERT_EQ(v, i);
		}
		SHMKIT_ASSERT_ERR(
			shmkit_chan_recv(c, &v, sizeof(v), &len, NULL, NB),
			-EAGAIN);
		SHMKIT_ASSERT_ERR(
			shmkit_chan_recv(c, &v, sizeof(v), &len, &ms0, 0),
			-ETIMEDOUT);
	}
	SHMKIT_ASSERT_OK(shmkit_chan_info(p, &info));
	SHMKIT_ASSERT_EQ(info.sent, 24);
	if (pattern != SHMKIT_CHAN_BROADCAST) {
		SHMKIT_ASSERT_EQ(info.received, 24);
		SHMKIT_ASSERT_EQ(info.pending, 0);
	}
	close_pair(name, p, c);
}

static void
test_fill_and_drain(void)
{
	fill_drain(SHMKIT_CHAN_SPSC, 0);
	fill_drain(SHMKIT_CHAN_MPMC, 0);
	fill_drain(SHMKIT_CHAN_BROADCAST, 0);
}

static void
test_full_fail_policy(void)
{
	fill_drain(SHMKIT_CHAN_SPSC, SHMKIT_CHAN_FULL_FAIL);
	fill_drain(SHMKIT_CHAN_MPMC, SHMKIT_CHAN_FULL_FAIL);
	fill_drain(SHMKIT_CHAN_BROADCAST, SHMKIT_CHAN_FULL_FAIL);
}

static void
test_timeouts(void)
{
	char *name = new_chan("posix", SHMKIT_CHAN_SPSC, 0, 32, 2, 0);
	shmkit_chan_t *c = open_ok(name, CONS);
	shmkit_chan_t *p = open_ok(name, PROD | SHMKIT_CHAN_WAIT_BLOCK);
	struct timespec abs;
	uint64_t v = 0;
	size_t len;

	SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, &v, 8, &len, &ms20, 0),
			  -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec = 0;
	SHMKIT_ASSERT_ERR(
		shmkit_chan_recv(c, &v, 8, &len, &abs, SHMKIT_WAIT_ABSTIME),
		-ETIMEDOUT);
	clock_gettime(CLOCK_REALTIME, &abs);
	abs.tv_sec -= 1;
	SHMKIT_ASSERT_ERR(
		shmkit_chan_recv(c, &v, 8, &len, &abs,
				 SHMKIT_WAIT_ABSTIME | SHMKIT_WAIT_REALTIME),
		-ETIMEDOUT);
	send_u64(p, 1);
	send_u64(p, 2);
	SHMKIT_ASSERT_ERR(shmkit_chan_send(p, &v, 8, &ms20, 0), -ETIMEDOUT);
	SHMKIT_ASSERT_ERR(shmkit_chan_send(p, &v, 8, &ms20, SHMKIT_WAIT_INTR),
			  -ETIMEDOUT);
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 1);
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 2);
	close_pair(name, p, c);
}

static void
test_overwrite_counts_losses(void)
{
	char *name = new_chan("posix", SHMKIT_CHAN_BROADCAST,
			      SHMKIT_CHAN_FULL_OVERWRITE, 32, 4, 0);
	shmkit_chan_t *p = open_ok(name, PROD);
	shmkit_chan_t *s1 = open_ok(name, CONS), *s2, *late;
	shmkit_chan_peer_info_t pi[4];
	shmkit_chan_info_t info;
	const void *m;
	uint64_t i;
	size_t len;
	int lost;

	s2 = open_ok(name, CONS);
	for (i = 0; i < 10; i++)
		SHMKIT_ASSERT_OK(shmkit_chan_send(p, &i, 8, NULL, NB));
	/* s1 lost 0..5: the ring holds 6..9. */
	SHMKIT_ASSERT_EQ(recv_u64(s1, &lost), 6);
	SHMKIT_ASSERT_EQ(lost, 6);
	SHMKIT_ASSERT_EQ(recv_u64(s1, NULL), 7);
	SHMKIT_ASSERT_EQ(recv_u64(s1, NULL), 8);
	SHMKIT_ASSERT_EQ(recv_u64(s1, NULL), 9);
	SHMKIT_ASSERT_ERR(shmkit_chan_recv(s1, &i, 8, &len, NULL, NB), -EAGAIN);
	/* A late joiner sees only what comes after it. */
	late = open_ok(name, CONS);
	SHMKIT_ASSERT_ERR(shmkit_chan_recv(late, &i, 8, &len, NULL, NB),
			  -EAGAIN);
	i = 10;
	SHMKIT_ASSERT_OK(shmkit_chan_send(p, &i, 8, NULL, NB));
	SHMKIT_ASSERT_EQ(recv_u64(late, NULL), 10);
	SHMKIT_ASSERT_EQ(recv_u64(s1, NULL), 10);

	/* Overwritten while peeked: release says so and counts it. */
	SHMKIT_ASSERT_EQ(shmkit_chan_peek(s2, &m, &len, NULL, NB), 7);
	SHMKIT_ASSERT_EQ(*(const uint64_t *)m, 7);
	for (i = 11; i < 16; i++)
		SHMKIT_ASSERT_OK(shmkit_chan_send(p, &i, 8, NULL, NB));
	SHMKIT_ASSERT_ERR(shmkit_chan_release(s2), -ESTALE);
	/* s2 was at 8; the ring now holds 12..15. */
	SHMKIT_ASSERT_EQ(recv_u64(s2, &lost), 12);
	SHMKIT_ASSERT_EQ(lost, 4);
	SHMKIT_ASSERT_EQ(shmkit_chan_inspect(name, &info, pi, 4), 4);
	SHMKIT_ASSERT_EQ(pi[2].index, 2);
	SHMKIT_ASSERT_EQ(pi[2].lost, 7 + 1 + 4);
	SHMKIT_ASSERT_EQ(pi[1].lost, 6);
	SHMKIT_ASSERT_EQ(info.sent, 16);
	shmkit_chan_close(late);
	shmkit_chan_close(s2);
	shmkit_chan_close(s1);
	shmkit_chan_close(p);
	drop_chan(name);
}

static void
emsgsize(unsigned pattern)
{
	char *name = new_chan("posix", pattern, 0, 64, 4, 0);
	shmkit_chan_t *c = open_ok(name, CONS), *p = open_ok(name, PROD);
	char big[64], small[8];
	size_t len = 0;

	memset(big, 'q', sizeof(big));
	SHMKIT_ASSERT_OK(shmkit_chan_send(p, big, 20, &tmo, 0));
	SHMKIT_ASSERT_OK(shmkit_chan_send(p, "ok", 2, &tmo, 0));
	SHMKIT_ASSERT_ERR(
		shmkit_chan_recv(c, small, sizeof(small), &len, &tmo, 0),
		-EMSGSIZE);
	SHMKIT_ASSERT_EQ(len, 20);
	SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, NULL, 0, &len, &tmo, 0),
			  -EMSGSIZE);
	memset(big, 0, sizeof(big));
	SHMKIT_ASSERT_EQ(shmkit_chan_recv(c, big, sizeof(big), &len, &tmo, 0),
			 0);
	SHMKIT_ASSERT_EQ(len, 20);
	SHMKIT_ASSERT_EQ(big[19], 'q');
	SHMKIT_ASSERT_EQ(shmkit_chan_recv(c, small, 2, &len, &tmo, 0), 0);
	SHMKIT_ASSERT_MEMEQ(small, "ok", 2);
	SHMKIT_ASSERT_OK(shmkit_chan_send(p, "", 0, &tmo, 0));
	SHMKIT_ASSERT_EQ(shmkit_chan_recv(c, NULL, 0, &len, &tmo, 0), 0);
	SHMKIT_ASSERT_EQ(len, 0);
	close_pair(name, p, c);
}

static void
test_emsgsize_leaves_message(void)
{
	emsgsize(SHMKIT_CHAN_SPSC);
	emsgsize(SHMKIT_CHAN_MPMC);
	emsgsize(SHMKIT_CHAN_BROADCAST);
}

static void
test_close_gives_back(void)
{
	shmkit_chan_t *p, *c, *c2;
	const void *m;
	void *buf;
	size_t len;
	uint64_t v;
	char *name;
	unsigned pat;

	for (pat = SHMKIT_CHAN_SPSC; pat <= SHMKIT_CHAN_MPMC; pat++) {
		name = new_chan("posix", pat, 0, 32, 4, 0);
		c = open_ok(name, CONS);
		p = open_ok(name, PROD);
		/* A dropped reservation publishes nothing and blocks
		 * nothing. */
		SHMKIT_ASSERT_OK(shmkit_chan_reserve(p, 8, &buf, &tmo, 0));
		memset(buf, 0x55, 8);
		shmkit_chan_close(p);
		SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, &v, 8, &len, NULL, NB),
				  -EAGAIN);
		p = open_ok(name, PROD);
		send_u64(p, 41);
		send_u64(p, 42);
		/* A peeked message goes to the next consumer. */
		SHMKIT_ASSERT_OK(shmkit_chan_peek(c, &m, &len, &tmo, 0));
		SHMKIT_ASSERT_EQ(*(const uint64_t *)m, 41);
		shmkit_chan_close(c);
		c2 = open_ok(name, CONS);
		SHMKIT_ASSERT_EQ(recv_u64(c2, NULL), 41);
		SHMKIT_ASSERT_EQ(recv_u64(c2, NULL), 42);
		SHMKIT_ASSERT_ERR(shmkit_chan_recv(c2, &v, 8, &len, NULL, NB),
				  -EAGAIN);
		send_u64(p, 43);
		SHMKIT_ASSERT_EQ(recv_u64(c2, NULL), 43);
		shmkit_chan_close(c2);
		shmkit_chan_close(p);
		drop_chan(name);
	}
	/* Broadcast: a held reservation or peek is simply dropped. */
	name = new_chan("posix", SHMKIT_CHAN_BROADCAST, 0, 32, 4, 0);
	c = open_ok(name, CONS);
	p = open_ok(name, PROD);
	SHMKIT_ASSERT_OK(shmkit_chan_reserve(p, 8, &buf, &tmo, 0));
	shmkit_chan_close(p);
	p = open_ok(name, PROD);
	send_u64(p, 7);
	SHMKIT_ASSERT_OK(shmkit_chan_peek(c, &m, &len, &tmo, 0));
	shmkit_chan_close(c);
	shmkit_chan_close(p);
	drop_chan(name);
}

static void
test_memfd_and_sysv(void)
{
	shmkit_seg_opts_t so = {0};
	shmkit_chan_opts_t o = {.pattern = SHMKIT_CHAN_MPMC, .msg_max = 16};
	shmkit_chan_t *p, *c;
	shmkit_seg_t *seg;
	char *name;

	so.size = shmkit_chan_size(&o);
	SHMKIT_ASSERT_OK(
		shmkit_seg_create(&seg, shmkit_test_name("memfd"), &so));
	o.msg_max = 49; /* a bigger channel does not fit */
	SHMKIT_ASSERT_ERR(shmkit_chan_format(seg, &o), SHMKIT_ESIZE);
	o.msg_max = 16;
	SHMKIT_ASSERT_OK(shmkit_chan_format(seg, &o));
	SHMKIT_ASSERT(shmkit_seg_addr(seg) == NULL);
	p = NULL;
	SHMKIT_ASSERT_ERR(shmkit_chan_open_seg(&p, seg, 0), -EINVAL);
	SHMKIT_ASSERT_OK(shmkit_chan_open_seg(&p, seg, PROD));
	SHMKIT_ASSERT_OK(shmkit_chan_open_seg(&c, seg, CONS));
	send_u64(p, 5);
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 5);
	shmkit_chan_close(p);
	shmkit_chan_close(c);
	shmkit_seg_close(seg);

	name = new_chan("sysv", SHMKIT_CHAN_SPSC, 0, 16, 2, 0);
	SHMKIT_ASSERT_OK(shmkit_seg_open(&seg, name, NULL));
	SHMKIT_ASSERT_OK(shmkit_chan_open_seg(&p, seg, PROD));
	c = open_ok(name, CONS);
	send_u64(p, 6);
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 6);
	shmkit_chan_close(p);
	shmkit_chan_close(c);
	shmkit_seg_close(seg);
	drop_chan(name);
}

static void
test_fd_polls(void)
{
	char *name = new_chan("posix", SHMKIT_CHAN_SPSC, 0, 16, 2, 0);
	shmkit_chan_t *c = open_ok(name, CONS), *p = open_ok(name, PROD);
	struct pollfd pfd = {.events = POLLIN};
	uint64_t v;
	size_t len;
	int fd, pfd_prod;

	fd = shmkit_chan_fd(c);
	SHMKIT_ASSERT(fd >= 0);
	SHMKIT_ASSERT_EQ(shmkit_chan_fd(c), fd);
	pfd.fd = fd;
	/* Readable at first: messages may be waiting. */
	SHMKIT_ASSERT_EQ(poll(&pfd, 1, 5000), 1);
	SHMKIT_ASSERT_OK(shmkit_chan_fd_ack(c));
	SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, &v, 8, &len, NULL, NB), -EAGAIN);
	SHMKIT_ASSERT_EQ(poll(&pfd, 1, 50), 0);
	send_u64(p, 9);
	SHMKIT_ASSERT_EQ(poll(&pfd, 1, 5000), 1);
	SHMKIT_ASSERT_OK(shmkit_chan_fd_ack(c));
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 9);

	/* A producer's fd: room after a full ring drains. */
	send_u64(p, 1);
	send_u64(p, 2);
	pfd_prod = shmkit_chan_fd(p);
	SHMKIT_ASSERT(pfd_prod >= 0);
	pfd.fd = pfd_prod;
	SHMKIT_ASSERT_EQ(poll(&pfd, 1, 5000), 1);
	SHMKIT_ASSERT_OK(shmkit_chan_fd_ack(p));
	SHMKIT_ASSERT_ERR(shmkit_chan_send(p, &v, 8, NULL, NB), -EAGAIN);
	SHMKIT_ASSERT_EQ(poll(&pfd, 1, 50), 0);
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 1);
	SHMKIT_ASSERT_EQ(poll(&pfd, 1, 5000), 1);
	SHMKIT_ASSERT_OK(shmkit_chan_send(p, &v, 8, NULL, NB));
	close_pair(name, p, c);
}

static void
test_idle_adaptive_wait_is_cheap(void)
{
	char *name = new_chan("posix", SHMKIT_CHAN_SPSC, 0, 16, 2, 0);
	shmkit_chan_t *c = open_ok(name, CONS);
	struct timespec t300 = {.tv_nsec = 300000000}, a, b;
	uint64_t v;
	size_t len;
	long long used;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, &v, 8, &len, &t300, 0),
			  -ETIMEDOUT);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	used = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
	if (used >= 50000000LL)
		SHMKIT_FAIL("idle wait used %lld ns of CPU", used);
	shmkit_chan_close(c);
	drop_chan(name);
}

/* ---- threads ---- */

#define THREAD_MSGS 20000

struct tctx {
	const char *name;
	unsigned flags;
	unsigned send_flags; /* for most messages (see producer_thread) */
	unsigned id;
	uint64_t n;
	int errors;
};

static void *
producer_thread(void *arg)
{
	struct tctx *t = arg;
	shmkit_chan_t *p = NULL;
	unsigned char buf[48];
	uint64_t i, v;

	if (shmkit_chan_open(&p, t->name, PROD | t->flags) < 0) {
		t->errors++;
		return NULL;
	}
	for (i = 0; i < t->n; i++) {
		v = (uint64_t)t->id << 32 | i;
		memset(buf, (int)(i & 0xff), sizeof(buf));
		memcpy(buf, &v, sizeof(v));
		/* With MORE, batches end at the batch bound, at every
		 * seventh message, and (the last three) at close. */
		if (shmkit_chan_send(p, buf, 8 + (i % 40), &tmo,
				     i % 7 == 3 ? 0 : t->send_flags) < 0) {
			t->errors++;
			break;
		}
	}
	shmkit_chan_close(p);
	return NULL;
}

struct cons_ctx {
	shmkit_chan_t *c;
	uint64_t want;	       /* messages to take */
	unsigned producers;    /* id range */
	uint64_t per_producer; /* messages per producer */
	unsigned char *seen;   /* [producers * per_producer], shared */
	pthread_mutex_t *lock;
	int check_all_order; /* broadcast/spsc: strictly consecutive */
	int errors;
};

static void *
cons_main(void *arg)
{
	struct cons_ctx *k = arg;
	uint64_t next[4] = {0}, i, v, seq;
	unsigned char buf[64];
	unsigned prod;
	size_t len, j;
	int rc;

	for (i = 0; i < k->want; i++) {
		rc = shmkit_chan_recv(k->c, buf, sizeof(buf), &len, &tmo, 0);
		if (rc != 0 || len < 8) {
			k->errors++;
			break;
		}
		memcpy(&v, buf, 8);
		prod = (unsigned)(v >> 32);
		seq = v & 0xffffffffu;
		if (prod >= k->producers || seq >= k->per_producer ||
		    len != 8 + (seq % 40)) {
			k->errors++;
			break;
		}
		for (j = 8; j < len; j++)
			if (buf[j] != (unsigned char)(seq & 0xff))
				k->errors++;
		/* From one producer, ids arrive in increasing order. */
		if (seq < next[prod] ||
		    (k->check_all_order && seq != next[prod]))
			k->errors++;
		next[prod] = seq + 1;
		if (k->seen != NULL) {
			pthread_mutex_lock(k->lock);
			k->seen[prod * k->per_producer + seq]++;
			pthread_mutex_unlock(k->lock);
		}
	}
	return NULL;
}

static void
run_threads_flags(unsigned pattern, unsigned nprod, unsigned ncons,
		  unsigned wait, size_t slots, unsigned send_flags)
{
	char *name = new_chan("posix", pattern, 0, 64, slots, 16);
	uint64_t per = THREAD_MSGS / nprod, total = per * nprod, i;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct cons_ctx kc[4];
	struct tctx tp[4];
	pthread_t thp[4], thc[4];
	unsigned char *seen = calloc(total, 1);
	int bcast = pattern == SHMKIT_CHAN_BROADCAST;
	unsigned k;

	SHMKIT_ASSERT(seen != NULL);
	/* Subscribers join before anything is published. */
	for (k = 0; k < ncons; k++) {
		memset(&kc[k], 0, sizeof(kc[k]));
		kc[k].c = open_ok(name, CONS | wait);
		kc[k].want = bcast ? total : total / ncons;
		kc[k].producers = nprod;
		kc[k].per_producer = per;
		kc[k].seen = bcast ? NULL : seen;
		kc[k].lock = &lock;
		kc[k].check_all_order = pattern != SHMKIT_CHAN_MPMC;
	}
	for (k = 0; k < ncons; k++)
		SHMKIT_ASSERT_EQ(
			pthread_create(&thc[k], NULL, cons_main, &kc[k]), 0);
	for (k = 0; k < nprod; k++) {
		memset(&tp[k], 0, sizeof(tp[k]));
		tp[k].name = name;
		tp[k].flags = wait;
		tp[k].send_flags = send_flags;
		tp[k].id = k;
		tp[k].n = per;
		SHMKIT_ASSERT_EQ(
			pthread_create(&thp[k], NULL, producer_thread, &tp[k]),
			0);
	}
	for (k = 0; k < nprod; k++) {
		pthread_join(thp[k], NULL);
		SHMKIT_ASSERT_EQ(tp[k].errors, 0);
	}
	for (k = 0; k < ncons; k++) {
		pthread_join(thc[k], NULL);
		SHMKIT_ASSERT_EQ(kc[k].errors, 0);
	}
	if (!bcast)
		for (i = 0; i < total; i++)
			if (seen[i] != 1)
				SHMKIT_FAIL("message %llu seen %d times",
					    (unsigned long long)i, seen[i]);
	for (k = 0; k < ncons; k++)
		shmkit_chan_close(kc[k].c);
	free(seen);
	drop_chan(name);
}

static void
run_threads(unsigned pattern, unsigned nprod, unsigned ncons, unsigned wait,
	    size_t slots)
{
	run_threads_flags(pattern, nprod, ncons, wait, slots, 0);
}

static void
test_spsc_more_threads(void)
{
	run_threads_flags(SHMKIT_CHAN_SPSC, 1, 1, SHMKIT_CHAN_WAIT_ADAPTIVE, 64,
			  SHMKIT_CHAN_MORE);
}

static void
test_spsc_more_block_threads(void)
{
	run_threads_flags(SHMKIT_CHAN_SPSC, 1, 1, SHMKIT_CHAN_WAIT_BLOCK, 8,
			  SHMKIT_CHAN_MORE);
}

static void
test_spsc_threads(void)
{
	run_threads(SHMKIT_CHAN_SPSC, 1, 1, SHMKIT_CHAN_WAIT_ADAPTIVE, 16);
}

static void
test_spsc_block_threads(void)
{
	run_threads(SHMKIT_CHAN_SPSC, 1, 1, SHMKIT_CHAN_WAIT_BLOCK, 2);
}

static void
test_mpmc_threads(void)
{
	run_threads(SHMKIT_CHAN_MPMC, 2, 2, SHMKIT_CHAN_WAIT_ADAPTIVE, 8);
}

static void
test_mpmc_block_threads(void)
{
	run_threads(SHMKIT_CHAN_MPMC, 3, 2, SHMKIT_CHAN_WAIT_BLOCK, 4);
}

static void
test_bcast_threads(void)
{
	run_threads(SHMKIT_CHAN_BROADCAST, 1, 3, SHMKIT_CHAN_WAIT_ADAPTIVE, 8);
}

static void
test_bcast_busy_threads(void)
{
	run_threads(SHMKIT_CHAN_BROADCAST, 1, 2, SHMKIT_CHAN_WAIT_BUSY, 4);
}

/* ---- dead peers (forked children that exit without closing) ---- */

static void
child_reserve_and_die(void *arg)
{
	shmkit_chan_t *p;
	void *buf;

	if (shmkit_chan_open(&p, arg, PROD) < 0 ||
	    shmkit_chan_send(p, "first", 5, &tmo, 0) < 0 ||
	    shmkit_chan_reserve(p, 8, &buf, &tmo, 0) < 0)
		_exit(1);
	memset(buf, 'x', 8);
	_exit(0);
}

static void
child_peek_and_die(void *arg)
{
	shmkit_chan_t *c;
	const void *m;
	size_t len;

	if (shmkit_chan_open(&c, arg, CONS) < 0 ||
	    shmkit_chan_peek(c, &m, &len, &tmo, 0) < 0)
		_exit(1);
	_exit(0);
}

static void
child_subscribe_and_die(void *arg)
{
	shmkit_chan_t *c;

	if (shmkit_chan_open(&c, arg, CONS) < 0)
		_exit(1);
	_exit(0);
}

static void
test_dead_peers_recovered(void)
{
	shmkit_chan_t *p, *c;
	char buf[16];
	size_t len;
	uint64_t i;
	char *name;

	/* SPSC: a dead producer's place is taken; its uncommitted
	 * reservation is gone, its committed message stays. */
	name = new_chan("posix", SHMKIT_CHAN_SPSC, 0, 16, 4, 0);
	c = open_ok(name, CONS);
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(child_reserve_and_die, name));
	p = open_ok(name, PROD);
	SHMKIT_ASSERT_EQ(shmkit_chan_recv(c, buf, sizeof(buf), &len, &tmo, 0),
			 0);
	SHMKIT_ASSERT_EQ(len, 5);
	send_u64(p, 3);
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 3);
	close_pair(name, p, c);

	/* MPMC: a consumer waiting behind a dead writer's slot skips it
	 * (found by the waiter itself, not by an open). */
	name = new_chan("posix", SHMKIT_CHAN_MPMC, 0, 16, 4, 0);
	c = open_ok(name, CONS);
	p = open_ok(name, PROD);
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(child_reserve_and_die, name));
	send_u64(p, 4);
	SHMKIT_ASSERT_EQ(shmkit_chan_recv(c, buf, sizeof(buf), &len, &tmo, 0),
			 0);
	SHMKIT_ASSERT_EQ(len, 5);
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 4);

	/* MPMC: a message peeked by a consumer that died is delivered
	 * again, to whoever asks next. */
	send_u64(p, 5);
	send_u64(p, 6);
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(child_peek_and_die, name));
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 6);
	SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, buf, sizeof(buf), &len, NULL, NB),
			  -EAGAIN);
	SHMKIT_ASSERT_EQ(shmkit_chan_recover(c), 1);
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 5);
	SHMKIT_ASSERT_EQ(shmkit_chan_recover(c), 0);
	close_pair(name, p, c);

	/* Broadcast: a dead subscriber does not hold a blocking publisher
	 * back for ever. */
	name = new_chan("posix", SHMKIT_CHAN_BROADCAST, 0, 16, 4, 0);
	p = open_ok(name, PROD);
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(child_subscribe_and_die, name));
	for (i = 0; i < 12; i++)
		send_u64(p, i);
	shmkit_chan_close(p);
	drop_chan(name);
}

/* The SPSC slot of position pos in a raw mapping of a 4-slot channel. */
static struct shmkit__chan_slot *
raw_slot(unsigned char *raw, uint64_t pos)
{
	struct shmkit__chan_shm *sh = (struct shmkit__chan_shm *)(void *)raw;

	return (struct shmkit__chan_slot *)(void *)(raw + sh->ctl.slots_off +
						    (pos & 3) * sh->ctl.stride);
}

/*
 * SPSC: a consumer killed between its two release stores (the slot's
 * sequence, then the head) and a producer killed between its two commit
 * stores (the sequence, then the tail), written into the channel by
 * hand since no kill lands there reliably. The released message is not
 * delivered again, the committed one is, and the producer may have
 * reused the released slot meanwhile (positions n + 1 apart).
 */
static void
test_spsc_half_stores_recovered(void)
{
	struct shmkit__chan_shm *sh;
	shmkit_chan_info_t info;
	shmkit_chan_t *p, *c;
	unsigned char *raw;
	shmkit_seg_t *seg;
	uint64_t v = 0, i;
	size_t len;
	char *name;

	name = new_chan("posix", SHMKIT_CHAN_SPSC, 0, 16, 4, 0);
	raw = raw_map(name, &seg);
	sh = (struct shmkit__chan_shm *)(void *)raw;
	p = open_ok(name, PROD);
	c = open_ok(name, CONS);
	for (i = 1; i <= 3; i++)
		send_u64(p, i); /* positions 0, 1, 2 */
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 1);
	shmkit_chan_close(c);
	/* Message 2 (position 1) released, the head not moved. */
	SHMKIT_ASSERT_EQ(raw_slot(raw, 1)->seq, 2);
	SHMKIT_ASSERT_EQ(sh->head.pos, 1);
	raw_slot(raw, 1)->seq = 1 + 4;
	/* The producer sees the freed slots: 4, 5 and 6 fit (6 in the
	 * slot of message 2), 7 does not. */
	for (i = 4; i <= 6; i++)
		send_u64(p, i);
	SHMKIT_ASSERT_ERR(shmkit_chan_send(p, &v, 8, NULL, NB), -EAGAIN);
	SHMKIT_ASSERT_EQ(raw_slot(raw, 1)->seq, 5 + 1);
	shmkit_chan_close(p);
	/* Message 6 committed, the tail not moved. */
	SHMKIT_ASSERT_EQ(sh->tail.pos, 6);
	sh->tail.pos = 5;
	/* A new producer finds its place, then sees the ring full. */
	p = open_ok(name, PROD);
	SHMKIT_ASSERT_EQ(sh->tail.pos, 6);
	SHMKIT_ASSERT_ERR(shmkit_chan_send(p, &v, 8, NULL, NB), -EAGAIN);
	/* A new consumer starts after message 2, every other message once. */
	c = open_ok(name, CONS);
	SHMKIT_ASSERT_EQ(sh->head.pos, 2);
	for (i = 3; i <= 6; i++)
		SHMKIT_ASSERT_EQ(recv_u64(c, NULL), i);
	SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, &v, 8, &len, NULL, NB), -EAGAIN);
	send_u64(p, 7);
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 7);
	SHMKIT_ASSERT_OK(shmkit_chan_info(c, &info));
	SHMKIT_ASSERT_EQ(info.sent, 7);
	SHMKIT_ASSERT_EQ(info.received, 7);
	SHMKIT_ASSERT_EQ(info.pending, 0);
	shmkit_chan_close(c);
	shmkit_chan_close(p);

	/* Positions further apart than a half store explains: corrupt. */
	sh->tail.pos = 7 + 5;
	SHMKIT_ASSERT_ERR(shmkit_chan_open(&c, name, CONS), SHMKIT_ECORRUPT);
	shmkit_seg_close(seg);
	drop_chan(name);
}

/* ---- batches (SHMKIT_CHAN_MORE) ---- */

/* Can c take a message now? Asked without taking it: a message longer
 * than the buffer stays in the channel. */
static int
visible(shmkit_chan_t *c)
{
	size_t len;
	int rc = shmkit_chan_recv(c, NULL, 0, &len, NULL, NB);

	if (rc == -EAGAIN)
		return 0;
	SHMKIT_ASSERT_ERR(rc, -EMSGSIZE);
	return 1;
}

static void
send_more(shmkit_chan_t *p, uint64_t v)
{
	SHMKIT_ASSERT_OK(
		shmkit_chan_send(p, &v, sizeof(v), &tmo, SHMKIT_CHAN_MORE));
}

static void
expect_run(shmkit_chan_t *c, uint64_t first, uint64_t last)
{
	uint64_t v;
	size_t len;

	for (v = first; v <= last; v++)
		SHMKIT_ASSERT_EQ(recv_u64(c, NULL), v);
	SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, &v, 8, &len, NULL, NB), -EAGAIN);
}

static void
test_more_batches(void)
{
	shmkit_chan_t *p, *c;
	char *name = open_pair(64, 64, &p, &c);
	shmkit_chan_info_t info;
	const void *m;
	uint64_t i;
	size_t len;
	void *buf;

	/* Unpublished until flushed; counted as sent only then. */
	for (i = 1; i <= 5; i++)
		send_more(p, i);
	SHMKIT_ASSERT(!visible(c));
	SHMKIT_ASSERT_OK(shmkit_chan_info(c, &info));
	SHMKIT_ASSERT_EQ(info.sent, 0);
	SHMKIT_ASSERT_OK(shmkit_chan_flush(p));
	SHMKIT_ASSERT_OK(shmkit_chan_flush(p)); /* nothing left: no-op */
	expect_run(c, 1, 5);
	SHMKIT_ASSERT_OK(shmkit_chan_info(c, &info));
	SHMKIT_ASSERT_EQ(info.sent, 5);

	/* A commit without the flag publishes those before it too, also
	 * through reserve/commit. */
	send_more(p, 6);
	SHMKIT_ASSERT_OK(
		shmkit_chan_reserve(p, 8, &buf, &tmo, SHMKIT_CHAN_MORE));
	i = 7;
	memcpy(buf, &i, 8);
	SHMKIT_ASSERT_OK(shmkit_chan_commit(p, 8));
	SHMKIT_ASSERT(!visible(c));
	send_u64(p, 8);
	expect_run(c, 6, 8);

	/* A batch publishes itself at its bound: 64 slots give 32. */
	for (i = 9; i < 9 + 31; i++)
		send_more(p, i);
	SHMKIT_ASSERT(!visible(c));
	send_more(p, 9 + 31);
	expect_run(c, 9, 9 + 31);

	/* Close publishes what is left. */
	send_more(p, 41);
	SHMKIT_ASSERT(!visible(c));
	shmkit_chan_close(p);
	expect_run(c, 41, 41);

	/* Bad uses: a consumer or nothing to flush with, the flag on the
	 * consumer's side. */
	SHMKIT_ASSERT_ERR(shmkit_chan_flush(NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_chan_flush(c), -EINVAL);
	SHMKIT_ASSERT_ERR(
		shmkit_chan_peek(c, &m, &len, NULL, NB | SHMKIT_CHAN_MORE),
		-EINVAL);
	SHMKIT_ASSERT_ERR(
		shmkit_chan_recv(c, &i, 8, &len, NULL, NB | SHMKIT_CHAN_MORE),
		-EINVAL);
	shmkit_chan_close(c);
	drop_chan(name);
}

/* A full ring publishes what it holds back before failing or waiting:
 * otherwise a consumer waiting for it and a producer waiting for room
 * would wait for each other. */
static void
test_more_full_publishes(void)
{
	shmkit_chan_t *p, *c;
	char *name = open_pair(64, 8, &p, &c);
	uint64_t i, v = 0;

	for (i = 1; i <= 8; i++)
		send_u64(p, i);
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 1);
	send_more(p, 9); /* into the one free slot, unpublished */
	SHMKIT_ASSERT_ERR(
		shmkit_chan_send(p, &v, 8, NULL, NB | SHMKIT_CHAN_MORE),
		-EAGAIN);
	expect_run(c, 2, 9);
	close_pair(name, p, c);
}

/* Never more than half the slots held back: on 8 slots a batch is 4, so
 * the producer never reaches a slot of its own unpublished batch. */
static void
test_more_half_the_slots(void)
{
	shmkit_chan_t *p, *c;
	char *name = open_pair(64, 8, &p, &c);
	uint64_t i;

	for (i = 1; i <= 3; i++)
		send_more(p, i);
	SHMKIT_ASSERT(!visible(c));
	send_more(p, 4);
	expect_run(c, 1, 4);
	close_pair(name, p, c);
}

/*
 * A full ring of batches: the messages after a batch's first are
 * published by the tail alone, so their slots' sequences still say what
 * they said when the slots became free (0 on the first lap). The
 * producer must take them for "full", not for a scribble, lap after lap.
 * On 4 slots a batch is 2; each round sends 5 messages (value = position
 * + 1), so that the producer then stands on a slot whose message was the
 * second of a batch: position 1, 6, 11.
 */
static void
test_more_full_of_batches(void)
{
	shmkit_chan_t *p, *c;
	char *name = open_pair(64, 4, &p, &c);
	uint64_t v = 0, first, round;

	for (round = 0; round < 3; round++) {
		first = 5 * round + 1;
		for (v = first; v < first + 4; v++)
			send_more(p, v); /* published two by two */
		SHMKIT_ASSERT_EQ(recv_u64(c, NULL), first);
		send_u64(p, first + 4);
		SHMKIT_ASSERT_ERR(shmkit_chan_send(p, &v, 8, NULL, NB),
				  -EAGAIN);
		SHMKIT_ASSERT_ERR(
			shmkit_chan_send(p, &v, 8, NULL, NB | SHMKIT_CHAN_MORE),
			-EAGAIN);
		expect_run(c, first + 1, first + 4);
	}
	close_pair(name, p, c);
}

/*
 * What the consumer reads of a batch published by the tail is bounded
 * like the rest: a length out of bounds in such a slot, or a tail no
 * producer could have stored, is SHMKIT_ECORRUPT, not a message.
 */
static void
test_more_tail_scribbled(void)
{
	struct shmkit__chan_shm *sh;
	shmkit_chan_t *p, *c;
	unsigned char *raw;
	shmkit_seg_t *seg;
	uint64_t v;
	size_t len;
	char *name;
	int k;

	for (k = 0; k < 2; k++) {
		name = new_chan("posix", SHMKIT_CHAN_SPSC, 0, 64, 4, 0);
		p = open_ok(name, PROD);
		c = open_ok(name, CONS);
		raw = raw_map(name, &seg);
		sh = (struct shmkit__chan_shm *)(void *)raw;
		send_more(p, 1);
		send_more(p, 2);
		SHMKIT_ASSERT_OK(shmkit_chan_flush(p));
		SHMKIT_ASSERT_EQ(raw_slot(raw, 1)->seq, 0); /* by the tail */
		SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 1);
		if (k == 0)
			raw_slot(raw, 1)->len = 65;
		else
			sh->tail.pos = 1 + 4 + 1; /* past a whole lap */
		SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, &v, 8, &len, NULL, NB),
				  SHMKIT_ECORRUPT);
		shmkit_chan_close(p);
		shmkit_chan_close(c);
		shmkit_seg_close(seg);
		drop_chan(name);
	}
}

/* A consumer that took the first message of a batch and left: its
 * successor must find the rest, which only the tail publishes. */
static void
test_more_consumer_replaced_mid_batch(void)
{
	shmkit_chan_t *p, *c;
	char *name = open_pair(64, 64, &p, &c);

	send_more(p, 1);
	send_more(p, 2);
	send_more(p, 3);
	SHMKIT_ASSERT_OK(shmkit_chan_flush(p));
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 1);
	shmkit_chan_close(c);
	c = open_ok(name, CONS);
	expect_run(c, 2, 3);
	close_pair(name, p, c);
}

/* The consumer reads the tail's line only while a batch is in flight:
 * polled on every wait, it costs a ping-pong a line transfer per message
 * (chan_queue.c, "Batches"). White box: the handle's read_tail. */
static void
test_more_tail_read_only_for_batches(void)
{
	shmkit_chan_t *p, *c;
	char *name = open_pair(64, 64, &p, &c);
	uint64_t v;
	size_t len;

	SHMKIT_ASSERT_EQ(c->read_tail, 1); /* a predecessor's batch? */
	SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, &v, 8, &len, NULL, NB), -EAGAIN);
	SHMKIT_ASSERT_EQ(c->read_tail, 0); /* no: tail == our position */
	send_u64(p, 1);
	expect_run(c, 1, 1);
	SHMKIT_ASSERT_EQ(c->read_tail, 0);
	send_more(p, 2);
	send_more(p, 3);
	SHMKIT_ASSERT_OK(shmkit_chan_flush(p));
	SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 2);
	SHMKIT_ASSERT_EQ(c->read_tail, 1); /* the flag of a batch's first */
	expect_run(c, 3, 3);
	SHMKIT_ASSERT_EQ(c->read_tail, 0);
	close_pair(name, p, c);
}

/*
 * The order of a batch's publication: the first message's flag and
 * sequence, then the tail. Were the tail first, a producer killed
 * between the two would leave a batch the consumer, polling the first
 * sequence, never sees. x86 keeps the order of stores, so no race shows
 * it; instead the page of the tail is made read-only in the producer's
 * mapping, and the fault of the tail's store reads the first slot's
 * sequence: published already.
 */
static struct {
	unsigned char *page;
	size_t size;
	const uint64_t *seq;
	uint64_t seen;
	int faults;
} publish_probe;

static void
on_publish_fault(int sig, siginfo_t *si, void *ctx)
{
	unsigned char *a = si->si_addr;

	(void)sig;
	(void)ctx;
	if (a < publish_probe.page ||
	    a >= publish_probe.page + publish_probe.size)
		_exit(99); /* a real fault */
	publish_probe.faults++;
	publish_probe.seen =
		__atomic_load_n(publish_probe.seq, __ATOMIC_RELAXED);
	mprotect(publish_probe.page, publish_probe.size,
		 PROT_READ | PROT_WRITE);
}

static void
test_more_tail_after_first_sequence(void)
{
	/* Slots of 4160 bytes: slot 1's header is on the segment's second
	 * page, the tail on its first. 8 slots: batches of 4. */
	shmkit_chan_t *p, *c;
	char *name = open_pair(4096, 8, &p, &c);
	struct sigaction sa, old;
	uintptr_t tail;

	publish_probe.size = (size_t)sysconf(_SC_PAGESIZE);
	send_u64(p, 1);
	expect_run(c, 1, 1);
	send_more(p, 2); /* positions 1 and 2: held back */
	send_more(p, 3);
	SHMKIT_ASSERT_EQ(p->pub_pos, 1);
	tail = (uintptr_t)(void *)&p->shm->tail.pos;
	publish_probe.page =
		(unsigned char *)(tail & ~(publish_probe.size - 1));
	publish_probe.seq = &shmkit__chan_slot(p, 1)->seq;
	SHMKIT_ASSERT((uintptr_t)(void *)publish_probe.seq >=
		      (uintptr_t)publish_probe.page + publish_probe.size);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_publish_fault;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	SHMKIT_ASSERT_OK(sigaction(SIGSEGV, &sa, &old));
	SHMKIT_ASSERT_OK(
		mprotect(publish_probe.page, publish_probe.size, PROT_READ));
	SHMKIT_ASSERT_OK(shmkit_chan_flush(p));
	SHMKIT_ASSERT_OK(sigaction(SIGSEGV, &old, NULL));
	SHMKIT_ASSERT_EQ(publish_probe.faults, 1);
	SHMKIT_ASSERT_EQ(publish_probe.seen, 2); /* position 1 published */
	SHMKIT_ASSERT_EQ(p->shm->tail.pos, 3);
	expect_run(c, 2, 3);
	close_pair(name, p, c);
}

/* A forked child's copy of the handle is not its own: closing it must
 * not publish what the parent holds back. */
static void
child_close_copy(void *arg)
{
	shmkit_chan_close(arg);
}

static void
test_more_fork_close_publishes_nothing(void)
{
	shmkit_chan_t *p, *c;
	char *name = open_pair(64, 64, &p, &c);

	send_more(p, 1);
	send_more(p, 2);
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(child_close_copy, p));
	SHMKIT_ASSERT(!visible(c));
	SHMKIT_ASSERT_OK(shmkit_chan_flush(p));
	expect_run(c, 1, 2);
	close_pair(name, p, c);
}

/* The streaming copy of large sends copies exactly, for every alignment
 * of the destination, several of the source, and lengths around a line,
 * and writes nothing outside the destination. Driven directly: where
 * send starts streaming depends on the machine's L2 cache. */
static void
test_copy_stream_exact(void)
{
	static const size_t lens[] = {0,   1,	15,  16,  17,  63,   64,  65,
				      127, 128, 129, 191, 200, 1000, 4096};
	static const size_t soffs[] = {0, 1, 5, 15, 16, 31};
	enum { PAD = 64, CAP = 4096 + 3 * 64 };
	unsigned char *src = malloc(CAP), *dst = aligned_alloc(64, CAP);
	size_t l, so, doff, i, bad = 0;

	SHMKIT_ASSERT(src != NULL && dst != NULL);
	for (i = 0; i < CAP; i++)
		src[i] = (unsigned char)(i * 7 + (i >> 8));
	for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
		for (so = 0; so < sizeof(soffs) / sizeof(soffs[0]); so++)
			for (doff = 0; doff < 64; doff++) {
				unsigned char *d = dst + PAD + doff;
				const unsigned char *sp = src + soffs[so];

				memset(dst, 0xee, CAP);
				shmkit__chan_copy_stream(d, sp, lens[l]);
				for (i = 0; i < CAP; i++) {
					int in = dst + i >= d &&
						 dst + i < d + lens[l];
					unsigned want =
						in ? sp[dst + i - d] : 0xee;

					if (dst[i] != want && bad++ < 5)
						fprintf(stderr,
							"len %zu src+%zu "
							"dst+%zu: byte %zu\n",
							lens[l], soffs[so],
							doff, i);
				}
			}
	SHMKIT_ASSERT_EQ(bad, 0);
	free(src);
	free(dst);
}

/*
 * A batch is published by the sequence of its first message and the tail
 * (spsc_publish()): no sequence says "committed" for a message past the
 * tail stored before it, so an observer that sees message q committed by
 * its sequence then reads a tail of q or more: a producer killed between
 * its two stores has published one message, which its successor finds
 * (spsc_open()). A sequence store per message of a batch, which costs
 * throughput, fails it. (The order of the two stores is checked by
 * more_tail_after_first_sequence.) Producer,
 * consumer and observer are threads; the observer reads the slot
 * sequences and the tail from a mapping of its own.
 */
#define ORDER_SLOTS 64
/* Enough for the check to fail in every run when every message of a
 * batch is published by its sequence; fewer under TSan, which slows every
 * access many times over. */
#if defined(__SANITIZE_THREAD__)
#define ORDER_MSGS 100000
#else
#define ORDER_MSGS 1000000
#endif

struct order_obs {
	unsigned char *raw;
	_Atomic int done;
	uint64_t checked, wrong;
};

static _Atomic uint64_t *
order_seq(const struct order_obs *o, uint64_t i)
{
	const struct shmkit__chan_shm *sh = (const void *)o->raw;

	return (_Atomic uint64_t *)(void *)(o->raw + sh->ctl.slots_off +
					    (i % ORDER_SLOTS) * sh->ctl.stride);
}

static void *
order_observer(void *arg)
{
	struct order_obs *o = arg;
	const uint64_t n = ORDER_SLOTS;
	const struct shmkit__chan_shm *sh = (const void *)o->raw;
	uint64_t i, s, q, t;

	while (!atomic_load(&o->done))
		for (i = 0; i < n; i++) {
			/* Acquire: pairs with the producer's release store
			 * of this sequence: the stores before it, among them
			 * the tails of the batches before q's, are seen. */
			s = atomic_load_explicit(order_seq(o, i),
						 memory_order_acquire);
			q = s - 1;
			if (s == 0 || q % n != i)
				continue; /* not "q committed" */
			/* Acquire: as above; the tail only grows. */
			t = __atomic_load_n(&sh->tail.pos, __ATOMIC_ACQUIRE);
			o->checked++;
			if (t < q)
				o->wrong++;
		}
	return NULL;
}

static void *
order_producer(void *arg)
{
	shmkit_chan_t *p = open_ok(arg, PROD);
	uint64_t v;

	for (v = 1; v <= ORDER_MSGS; v++)
		send_more(p, v);
	shmkit_chan_close(p);
	return NULL;
}

static void
test_spsc_more_order_threads(void)
{
	char *name = new_chan("posix", SHMKIT_CHAN_SPSC, 0, 16, ORDER_SLOTS, 0);
	shmkit_chan_t *c = open_ok(name, CONS);
	struct order_obs o = {0};
	pthread_t tp, to;
	shmkit_seg_t *seg;
	uint64_t v;

	o.raw = raw_map(name, &seg);
	SHMKIT_ASSERT_EQ(pthread_create(&to, NULL, order_observer, &o), 0);
	SHMKIT_ASSERT_EQ(pthread_create(&tp, NULL, order_producer, name), 0);
	for (v = 1; v <= ORDER_MSGS; v++)
		SHMKIT_ASSERT_EQ(recv_u64(c, NULL), v);
	pthread_join(tp, NULL);
	atomic_store(&o.done, 1);
	pthread_join(to, NULL);
	fprintf(stderr,
		"%llu committed sequences checked, %llu past the tail\n",
		(unsigned long long)o.checked, (unsigned long long)o.wrong);
	SHMKIT_ASSERT(o.checked > 0);
	SHMKIT_ASSERT_EQ(o.wrong, 0);
	shmkit_chan_close(c);
	shmkit_seg_close(seg);
	drop_chan(name);
}

/* The other patterns take the flag and publish at once. */
static void
test_more_other_patterns(void)
{
	static const unsigned pats[] = {SHMKIT_CHAN_MPMC,
					SHMKIT_CHAN_BROADCAST};
	unsigned k;

	for (k = 0; k < 2; k++) {
		char *name = new_chan("posix", pats[k], 0, 64, 8, 4);
		shmkit_chan_t *c = open_ok(name, CONS),
			      *p = open_ok(name, PROD);

		send_more(p, 1);
		SHMKIT_ASSERT_EQ(recv_u64(c, NULL), 1);
		SHMKIT_ASSERT_OK(shmkit_chan_flush(p));
		shmkit_chan_close(p);
		shmkit_chan_close(c);
		drop_chan(name);
	}
}

/* A producer that died half-way through publishing a batch stored the
 * sequence of its first message, flagged, and not the tail: what it
 * published is delivered, the rest never shows, and the next producer
 * carries on after the published one. */
static void
child_publish_half_and_die(void *arg)
{
	const char *name = arg;
	shmkit_chan_t *p = open_ok(name, PROD);
	unsigned char *raw;
	shmkit_seg_t *seg;
	uint64_t i;

	for (i = 1; i <= 3; i++)
		send_more(p, i);
	raw = raw_map(name, &seg);
	SHMKIT_ASSERT_EQ(raw_slot(raw, 0)->seq, 0);
	/* What spsc_publish() stores first. */
	raw_slot(raw, 0)->flags = CHAN_SLOT_BATCH;
	raw_slot(raw, 0)->seq = 1;
	_exit(0);		   /* no close: nothing else is published */
}

static void
test_spsc_half_batch_recovered(void)
{
	char *name = new_chan("posix", SHMKIT_CHAN_SPSC, 0, 16, 8, 0);
	shmkit_chan_t *p, *c = open_ok(name, CONS);

	SHMKIT_ASSERT_CHILD_OK(
		shmkit_test_fork(child_publish_half_and_die, name));
	expect_run(c, 1, 1);
	p = open_ok(name, PROD);
	send_u64(p, 20);
	send_u64(p, 21);
	expect_run(c, 20, 21);
	close_pair(name, p, c);
}

struct sleeper {
	const char *name;
	uint64_t got;
	int rc;
};

static void *
sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	shmkit_chan_t *c;
	size_t len;

	s->rc = shmkit_chan_open(&c, s->name, CONS | SHMKIT_CHAN_WAIT_BLOCK);
	if (s->rc < 0)
		return NULL;
	s->rc = shmkit_chan_recv(c, &s->got, sizeof(s->got), &len, &tmo, 0);
	shmkit_chan_close(c);
	return NULL;
}

/*
 * Wake-ups are coalesced: nobody asleep, no FUTEX_WAKE; a sleep episode,
 * one FUTEX_WAKE however many messages follow it.
 */
static void
test_wake_coalesced(void)
{
	struct shmkit__chan_shm *sh;
	struct timespec tick = {.tv_nsec = 1000000};
	struct sleeper s = {0};
	shmkit_chan_t *p, *c;
	unsigned char *raw;
	shmkit_seg_t *seg;
	uint64_t before, i;
	uint32_t w;
	pthread_t th;
	char *name;
	int k;

	name = new_chan("posix", SHMKIT_CHAN_SPSC, 0, 16, 64, 0);
	raw = raw_map(name, &seg);
	sh = (struct shmkit__chan_shm *)(void *)raw;
	p = open_ok(name, PROD);
	before = shmkit__futex_wake_calls();
	for (i = 0; i < 10; i++)
		send_u64(p, i);
	SHMKIT_ASSERT_EQ(shmkit__futex_wake_calls(), before);

	/* A waiter that set the bit and left (a timeout, a kill) costs
	 * the next message one needless wake, and only that one. */
	c = open_ok(name, CONS);
	for (i = 0; i < 10; i++)
		SHMKIT_ASSERT_EQ(recv_u64(c, NULL), i);
	shmkit_chan_close(c);
	w = __atomic_load_n(&sh->data.word, __ATOMIC_SEQ_CST);
	SHMKIT_ASSERT_EQ(w & WAKE_ASLEEP, 0);
	__atomic_store_n(&sh->data.word, w | WAKE_ASLEEP, __ATOMIC_SEQ_CST);
	for (i = 0; i < 5; i++)
		send_u64(p, i);
	SHMKIT_ASSERT_EQ(shmkit__futex_wake_calls(), before + 1);
	SHMKIT_ASSERT_EQ(__atomic_load_n(&sh->data.word, __ATOMIC_SEQ_CST),
			 w + 2);

	/* A real sleeper: a blocking consumer in another thread. */
	c = open_ok(name, CONS);
	for (i = 0; i < 5; i++)
		SHMKIT_ASSERT_EQ(recv_u64(c, NULL), i);
	shmkit_chan_close(c);
	s.name = name;
	SHMKIT_ASSERT_EQ(pthread_create(&th, NULL, sleeper_main, &s), 0);
	for (k = 0; k < 5000; k++) {
		if (__atomic_load_n(&sh->data.word, __ATOMIC_SEQ_CST) &
		    WAKE_ASLEEP)
			break;
		nanosleep(&tick, NULL);
	}
	SHMKIT_ASSERT(k < 5000);
	before = shmkit__futex_wake_calls();
	for (i = 100; i < 140; i++)
		send_u64(p, i);
	SHMKIT_ASSERT_EQ(pthread_join(th, NULL), 0);
	SHMKIT_ASSERT_OK(s.rc);
	SHMKIT_ASSERT_EQ(s.got, 100);
	/* One, or two if the first landed between the sleeper's announce
	 * and its FUTEX_WAIT: it then announces once more before it finds
	 * the message. Never one per message. */
	SHMKIT_ASSERT(shmkit__futex_wake_calls() >= before + 1 &&
		      shmkit__futex_wake_calls() <= before + 2);

	c = open_ok(name, CONS);
	for (i = 101; i < 140; i++)
		SHMKIT_ASSERT_EQ(recv_u64(c, NULL), i);
	shmkit_chan_close(c);

	/* The same with the fallback barrier (no membarrier). */
	sh->data.nomb = 1;
	sh->room.nomb = 1;
	s.got = 0;
	SHMKIT_ASSERT_EQ(pthread_create(&th, NULL, sleeper_main, &s), 0);
	for (k = 0; k < 5000; k++) {
		if (__atomic_load_n(&sh->data.word, __ATOMIC_SEQ_CST) &
		    WAKE_ASLEEP)
			break;
		nanosleep(&tick, NULL);
	}
	SHMKIT_ASSERT(k < 5000);
	before = shmkit__futex_wake_calls();
	for (i = 200; i < 240; i++)
		send_u64(p, i);
	SHMKIT_ASSERT_EQ(pthread_join(th, NULL), 0);
	SHMKIT_ASSERT_OK(s.rc);
	SHMKIT_ASSERT_EQ(s.got, 200);
	SHMKIT_ASSERT(shmkit__futex_wake_calls() >= before + 1 &&
		      shmkit__futex_wake_calls() <= before + 2);
	shmkit_chan_close(p);
	shmkit_seg_close(seg);
	drop_chan(name);
}

/* ---- scribbling ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A hostile value for a word that held v. */
static uint64_t
evil(uint64_t v, uint64_t slots)
{
	switch (rnd() % 8) {
	case 0:
		return rnd();
	case 1:
		return v + 1;
	case 2:
		return v - 1;
	case 3:
		return v + slots;
	case 4:
		return v - slots;
	case 5:
		return 0;
	case 6:
		return ~0ull;
	default:
		return v ^ (1ull << (rnd() % 64));
	}
}

static void
exercise(const char *name, shmkit_chan_t *p, shmkit_chan_t *c)
{
	static const struct timespec ms5 = {.tv_nsec = 5000000};
	shmkit_chan_peer_info_t pi[4];
	shmkit_chan_info_t info;
	shmkit_chan_t *x = NULL;
	unsigned char buf[256];
	const void *m;
	size_t len;
	int rc, i;

	for (i = 0; i < 3; i++) {
		rc = shmkit_chan_send(p, buf, 16, &ms5, 0);
		SHMKIT_ASSERT(rc == 0 || rc == -ETIMEDOUT ||
			      rc == SHMKIT_ECORRUPT);
		rc = shmkit_chan_recv(c, buf, sizeof(buf), &len, &ms5, 0);
		SHMKIT_ASSERT(rc >= 0 || rc == -ETIMEDOUT ||
			      rc == SHMKIT_ECORRUPT || rc == -EMSGSIZE);
		rc = shmkit_chan_peek(c, &m, &len, NULL, NB);
		if (rc >= 0) {
			SHMKIT_ASSERT(len <= 200);
			memcpy(buf, m, len); /* ASan: within the mapping */
			shmkit_chan_release(c);
		}
	}
	shmkit_chan_info(c, &info);
	shmkit_chan_recover(c);
	rc = shmkit_chan_inspect(name, &info, pi, 4);
	if (rc >= 0)
		SHMKIT_ASSERT(info.slots == 4 && info.msg_max == 200);
	if (shmkit_chan_open(&x, name, CONS) == 0)
		shmkit_chan_close(x);
}

static void
scribble(unsigned pattern)
{
	struct shmkit__chan_shm *sh;
	shmkit_chan_t *p, *c, *x;
	shmkit_seg_t *seg;
	unsigned char *raw;
	uint64_t *w, words;
	size_t size;
	char *name;
	int round, n;

	for (round = 0; round < 60; round++) {
		name = new_chan("posix", pattern, 0, 200, 4, 4);
		c = open_ok(name, CONS);
		p = open_ok(name, PROD);
		send_u64(p, 1);
		send_u64(p, 2);
		raw = raw_map(name, &seg);
		sh = (struct shmkit__chan_shm *)(void *)raw;
		size = shmkit_seg_size(seg);
		words = size / 8;
		for (n = 0; n < 1 + (int)(rnd() % 3); n++) {
			switch (rnd() % 4) {
			case 0: /* header and control block */
				w = (uint64_t *)(void *)raw + rnd() % 16;
				break;
			case 1: /* positions and counters */
				w = (uint64_t *)(void *)raw + 16 + rnd() % 48;
				break;
			case 2: /* peer table */
				w = (uint64_t *)(void *)(raw + 512) +
				    rnd() % 32;
				break;
			default: /* slot headers */
				w = (uint64_t *)(void *)(raw +
							 sh->ctl.slots_off +
							 (rnd() % 4) * 256) +
				    rnd() % 2;
				break;
			}
			SHMKIT_ASSERT((uint64_t)(w - (uint64_t *)(void *)raw) <
				      words);
			*w = evil(*w, 4);
		}
		exercise(name, p, c);
		shmkit_chan_close(p);
		shmkit_chan_close(c);
		/* Scribbled deterministically: these must be caught. */
		if (round == 0) {
			sh->hdr.state = 77;
			x = NULL;
			SHMKIT_ASSERT_ERR(shmkit_chan_open(&x, name, PROD),
					  SHMKIT_ECORRUPT);
		}
		shmkit_seg_close(seg);
		drop_chan(name);
	}
}

static void
test_scribble_never_hangs(void)
{
	scribble(SHMKIT_CHAN_SPSC);
	scribble(SHMKIT_CHAN_MPMC);
	scribble(SHMKIT_CHAN_BROADCAST);
}

static void
test_corrupt_slot_detected(void)
{
	struct shmkit__chan_slot *sl;
	shmkit_chan_t *p, *c, *c2;
	unsigned char *raw;
	shmkit_seg_t *seg;
	uint64_t v;
	size_t len;
	char *name;
	unsigned pat;

	for (pat = SHMKIT_CHAN_SPSC; pat <= SHMKIT_CHAN_BROADCAST; pat++) {
		name = new_chan("posix", pat, 0, 200, 4, 4);
		c = open_ok(name, CONS);
		p = open_ok(name, PROD);
		send_u64(p, 1);
		raw = raw_map(name, &seg);
		sl = (struct shmkit__chan_slot
			      *)(void *)(raw +
					 ((struct shmkit__chan_shm *)(void *)
						  raw)
						 ->ctl.slots_off);
		sl->len = 201;
		SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, &v, 8, &len, &tmo, 0),
				  SHMKIT_ECORRUPT);
		/* Every peer then fails at once. */
		SHMKIT_ASSERT_ERR(shmkit_chan_send(p, &v, 8, &tmo, 0),
				  SHMKIT_ECORRUPT);
		SHMKIT_ASSERT_ERR(shmkit_chan_open(&c2, name, CONS),
				  SHMKIT_ECORRUPT);
		shmkit_chan_close(p);
		shmkit_chan_close(c);
		shmkit_seg_close(seg);
		drop_chan(name);

		/* A slot word from nowhere. */
		name = new_chan("posix", pat, 0, 200, 4, 4);
		c = open_ok(name, CONS);
		raw = raw_map(name, &seg);
		sl = (struct shmkit__chan_slot
			      *)(void *)(raw +
					 ((struct shmkit__chan_shm *)(void *)
						  raw)
						 ->ctl.slots_off);
		sl->seq = pat == SHMKIT_CHAN_BROADCAST ? 2 * 4 + 1 : 1234567;
		/* Broadcast: a stamp ahead of the tail is only seen once
		 * the tail moves; until then the subscriber waits. */
		SHMKIT_ASSERT_ERR(shmkit_chan_recv(c, &v, 8, &len, &ms20, 0),
				  pat == SHMKIT_CHAN_BROADCAST
					  ? -ETIMEDOUT
					  : SHMKIT_ECORRUPT);
		shmkit_chan_close(c);
		shmkit_seg_close(seg);
		drop_chan(name);
	}
}

SHMKIT_TESTS = {
	{"size_and_names", test_size_and_names},
	{"create_open_inspect", test_create_open_inspect},
	{"create_errors", test_create_errors},
	{"open_errors", test_open_errors},
	{"roles_and_peers", test_roles_and_peers},
	{"call_errors", test_call_errors},
	{"zero_copy", test_zero_copy},
	{"wrap_every_size", test_wrap_every_size},
	{"fill_and_drain", test_fill_and_drain},
	{"full_fail_policy", test_full_fail_policy},
	{"timeouts", test_timeouts},
	{"overwrite_counts_losses", test_overwrite_counts_losses},
	{"emsgsize_leaves_message", test_emsgsize_leaves_message},
	{"close_gives_back", test_close_gives_back},
	{"memfd_and_sysv", test_memfd_and_sysv},
	{"fd_polls", test_fd_polls},
	{"idle_adaptive_wait_is_cheap", test_idle_adaptive_wait_is_cheap},
	{"spsc_threads", test_spsc_threads},
	{"spsc_block_threads", test_spsc_block_threads},
	{"mpmc_threads", test_mpmc_threads},
	{"mpmc_block_threads", test_mpmc_block_threads},
	{"bcast_threads", test_bcast_threads},
	{"bcast_busy_threads", test_bcast_busy_threads},
	{"dead_peers_recovered", test_dead_peers_recovered},
	{"spsc_half_stores_recovered", test_spsc_half_stores_recovered},
	{"more_batches", test_more_batches},
	{"more_full_publishes", test_more_full_publishes},
	{"more_other_patterns", test_more_other_patterns},
	{"more_half_the_slots", test_more_half_the_slots},
	{"more_fork_close_publishes_nothing",
	 test_more_fork_close_publishes_nothing},
	{"copy_stream_exact", test_copy_stream_exact},
	{"spsc_more_order_threads", test_spsc_more_order_threads},
	{"more_full_of_batches", test_more_full_of_batches},
	{"more_tail_scribbled", test_more_tail_scribbled},
	{"more_consumer_replaced_mid_batch",
	 test_more_consumer_replaced_mid_batch},
	{"more_tail_read_only_for_batches",
	 test_more_tail_read_only_for_batches},
	{"more_tail_after_first_sequence", test_more_tail_after_first_sequence},
	{"spsc_half_batch_recovered", test_spsc_half_batch_recovered},
	{"spsc_more_threads", test_spsc_more_threads},
	{"spsc_more_block_threads", test_spsc_more_block_threads},
	{"wake_coalesced", test_wake_coalesced},
	{"scribble_never_hangs", test_scribble_never_hangs},
	{"corrupt_slot_detected", test_corrupt_slot_detected},
	{NULL, NULL},
};
