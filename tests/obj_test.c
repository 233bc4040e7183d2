/*
 * The structured-object header probe: every way a header can be wrong is
 * told apart, and random bytes never crash it.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <shmkit/obj.h>

#include "obj/obj_impl.h"
#include "shmkit_test.h"

static uint64_t mem[512]; /* 4 KiB, 8-aligned */

static shmkit_obj_hdr_t *
fresh(void)
{
	shmkit_obj_hdr_t *h = (shmkit_obj_hdr_t *)mem;

	memset(mem, 0, sizeof(mem));
	shmkit__obj_hdr_init(h, SHMKIT_OBJ_CHAN, 2, sizeof(mem));
	shmkit__obj_hdr_ready(h);
	return h;
}

static void
test_sound_header_is_recognised(void)
{
	shmkit_obj_info_t info;

	fresh();
	SHMKIT_ASSERT_OK(shmkit_obj_probe(mem, sizeof(mem), &info));
	SHMKIT_ASSERT_EQ(info.kind, SHMKIT_OBJ_CHAN);
	SHMKIT_ASSERT_EQ(info.state, SHMKIT_OBJ_STATE_READY);
	SHMKIT_ASSERT_EQ(info.size, sizeof(mem));
	SHMKIT_ASSERT_EQ(info.creator_pid, getpid());
	SHMKIT_ASSERT_EQ(info.creator_alive, 1);
	SHMKIT_ASSERT_STREQ(shmkit_obj_kind_name(info.kind), "chan");
	SHMKIT_ASSERT_STREQ(shmkit_obj_state_name(info.state), "ready");
}

static void
test_plain_data_is_not_an_object(void)
{
	shmkit_obj_info_t info;

	memset(mem, 'x', sizeof(mem));
	SHMKIT_ASSERT_ERR(shmkit_obj_probe(mem, sizeof(mem), &info),
			  SHMKIT_ENOTOBJ);
	fresh();
	SHMKIT_ASSERT_ERR(shmkit_obj_probe(mem, 63, &info), SHMKIT_ENOTOBJ);
	SHMKIT_ASSERT_ERR(shmkit_obj_probe(NULL, 64, &info), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_obj_probe(mem, 64, NULL), -EINVAL);
}

static void
test_each_bad_field_is_reported(void)
{
	shmkit_obj_info_t info;
	shmkit_obj_hdr_t *h;

	h = fresh();
	h->kind = 77;
	SHMKIT_ASSERT_ERR(shmkit_obj_probe(mem, sizeof(mem), &info),
			  SHMKIT_ECORRUPT);
	h = fresh();
	h->state = 9;
	SHMKIT_ASSERT_ERR(shmkit_obj_probe(mem, sizeof(mem), &info),
			  SHMKIT_ECORRUPT);
	h = fresh();
	h->size = sizeof(mem) + 1; /* claims more than is mapped */
	SHMKIT_ASSERT_ERR(shmkit_obj_probe(mem, sizeof(mem), &info),
			  SHMKIT_ECORRUPT);
	h = fresh();
	h->size = 8;
	SHMKIT_ASSERT_ERR(shmkit_obj_probe(mem, sizeof(mem), &info),
			  SHMKIT_ECORRUPT);
	h = fresh();
	h->fingerprint ^= 0x01000000u; /* a build with other pointer size */
	SHMKIT_ASSERT_ERR(shmkit_obj_probe(mem, sizeof(mem), &info),
			  SHMKIT_EABI);
	h = fresh();
	h->version = 99;
	SHMKIT_ASSERT_ERR(shmkit_obj_probe(mem, sizeof(mem), &info),
			  SHMKIT_EVERSION);
	SHMKIT_ASSERT_EQ(info.version, 99); /* filled for tools to show */
	/* Older too, for a channel: its peers publish batches otherwise. */
	h = fresh();
	h->version = 1;
	SHMKIT_ASSERT_ERR(shmkit_obj_probe(mem, sizeof(mem), &info),
			  SHMKIT_EVERSION);
	h->kind = SHMKIT_OBJ_TABLE;
	SHMKIT_ASSERT_OK(shmkit_obj_probe(mem, sizeof(mem), &info));
}

static void
make_header(void *arg)
{
	(void)arg;
	shmkit__obj_hdr_init((shmkit_obj_hdr_t *)mem, SHMKIT_OBJ_TABLE, 1,
			     sizeof(mem));
}

static void
test_dead_creator_is_detected(void)
{
	shmkit_obj_info_t info;
	uint64_t *shared;
	pid_t pid;

	/* The header must be written by the child into memory we see. */
	shared = mmap(NULL, sizeof(mem), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	SHMKIT_ASSERT(shared != MAP_FAILED);
	pid = fork();
	SHMKIT_ASSERT(pid >= 0);
	if (pid == 0) {
		make_header(NULL);
		memcpy(shared, mem, sizeof(mem));
		_exit(0);
	}
	SHMKIT_ASSERT_CHILD_OK(pid);
	SHMKIT_ASSERT_OK(shmkit_obj_probe(shared, sizeof(mem), &info));
	SHMKIT_ASSERT_EQ(info.creator_pid, pid);
	SHMKIT_ASSERT_EQ(info.creator_alive, 0);
	SHMKIT_ASSERT_EQ(info.state, SHMKIT_OBJ_STATE_INIT);
	munmap(shared, sizeof(mem));
}

static void
test_random_headers_never_crash(void)
{
	shmkit_obj_info_t info;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int i, j, rc;

	/* Each probe reads /proc for the creator: 20000 rounds is ample. */
	for (i = 0; i < 20000; i++) {
		fresh();
		/* Keep the magic most of the time so the deep checks run. */
		for (j = 0; j < 8; j++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			mem[x % 8] ^= x >> 11 & (i % 3 ? ~0xffffffffull : ~0ull);
		}
		rc = shmkit_obj_probe(mem, (size_t)(x % sizeof(mem)), &info);
		SHMKIT_ASSERT(rc == 0 || rc == SHMKIT_ENOTOBJ ||
			      rc == SHMKIT_ECORRUPT || rc == SHMKIT_EABI ||
			      rc == SHMKIT_EVERSION);
		if (rc == 0)
			SHMKIT_ASSERT(info.size <= x % sizeof(mem));
	}
}

SHMKIT_TESTS = {
	{ "sound_header_is_recognised", test_sound_header_is_recognised },
	{ "plain_data_is_not_an_object", test_plain_data_is_not_an_object },
	{ "each_bad_field_is_reported", test_each_bad_field_is_reported },
	{ "dead_creator_is_detected", test_dead_creator_is_detected },
	{ "random_headers_never_crash", test_random_headers_never_crash },
	{ NULL, NULL },
};
