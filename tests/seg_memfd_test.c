/*
 * memfd segments and fd passing: a memfd has no name, so it is shared by
 * fork or by sending its fd over a unix socket (here to a forked child
 * that exists before the segment does); seals are permanent and seen by
 * every holder of the fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <shmkit/seg.h>

#include "seg_util.h"
#include "shmkit_test.h"

static size_t
page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* The build probe must find memfd_create when the kernel and libc have
 * it: otherwise every memfd case would skip unnoticed. */
static void
test_memfd_available(void)
{
	char addr[NAMELEN];
	shmkit_seg_opts_t o = { .size = 4096 };
	shmkit_seg_t *s = NULL;
	int fd = memfd_create("sk-test-probe", MFD_CLOEXEC);

	if (fd < 0)
		SHMKIT_SKIP("no memfd_create: %s", strerror(errno));
	close(fd);
	seg_name(addr, "memfd");
	SHMKIT_ASSERT_OK(shmkit_seg_create(&s, addr, &o));
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
}

static void
test_memfd_has_no_name(void)
{
	char addr[NAMELEN];
	shmkit_seg_opts_t o = { .size = 4096 };
	shmkit_seg_t *a, *b, *c = NULL;
	shmkit_seg_stat_t st;
	char *pa, *pb;

	seg_name(addr, "memfd");
	/* The name is a label: two creates make two segments. */
	a = seg_make(addr, 4096);
	b = seg_make(addr, 4096);
	pa = seg_map(a, 0);
	pb = seg_map(b, 0);
	strcpy(pa, "a");
	SHMKIT_ASSERT(bytes_all_zero(pb, 4096));
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&c, addr, &o), -ENOTSUP);
	SHMKIT_ASSERT_ERR(shmkit_seg_stat_address(addr, &st), -ENOTSUP);
	SHMKIT_ASSERT_ERR(shmkit_seg_unlink_address(addr), -ENOTSUP);
	SHMKIT_ASSERT_EQ(shmkit_seg_open_or_create(&c, addr, &o),
			 SHMKIT_SEG_CREATED);
	SHMKIT_ASSERT_OK(shmkit_seg_unlink(a)); /* nothing to remove */
	SHMKIT_ASSERT_STREQ(pa, "a");
	SHMKIT_ASSERT_OK(shmkit_seg_close(a));
	SHMKIT_ASSERT_OK(shmkit_seg_close(b));
	SHMKIT_ASSERT_OK(shmkit_seg_close(c));
}

static void
test_memfd_seals(void)
{
	char addr[NAMELEN];
	shmkit_seg_stat_t st;
	const int three =
		SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW | SHMKIT_SEAL_SEAL;
	shmkit_seg_t *s, *other;
	size_t pg = page();

	seg_name(addr, "memfd");
	s = seg_make(addr, 4 * pg);
	SHMKIT_ASSERT_EQ(shmkit_seg_seals(s), 0);
	SHMKIT_ASSERT_OK(shmkit_seg_seal(s, SHMKIT_SEAL_SHRINK));
	SHMKIT_ASSERT_EQ(shmkit_seg_seals(s), SHMKIT_SEAL_SHRINK);
	SHMKIT_ASSERT_ERR(shmkit_seg_resize(s, 2 * pg), -EPERM);
	SHMKIT_ASSERT_EQ(shmkit_seg_size(s), 4 * pg);
	SHMKIT_ASSERT_OK(shmkit_seg_resize(s, 8 * pg)); /* growing is fine */
	SHMKIT_ASSERT_EQ(shmkit_seg_size(s), 8 * pg);
	SHMKIT_ASSERT_OK(shmkit_seg_seal(s, SHMKIT_SEAL_GROW));
	SHMKIT_ASSERT_ERR(shmkit_seg_resize(s, 16 * pg), -EPERM);
	SHMKIT_ASSERT_EQ(shmkit_seg_size(s), 8 * pg);
	SHMKIT_ASSERT_OK(shmkit_seg_seal(s, SHMKIT_SEAL_SEAL));
	SHMKIT_ASSERT_ERR(shmkit_seg_seal(s, SHMKIT_SEAL_WRITE), -EPERM);
	SHMKIT_ASSERT_EQ(shmkit_seg_seals(s), three);
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	SHMKIT_ASSERT_EQ(st.seals, three);
	/* Seals belong to the memory: every holder of the fd sees them. */
	SHMKIT_ASSERT_OK(shmkit_seg_open_fd(&other, shmkit_seg_fd(s), NULL));
	SHMKIT_ASSERT_EQ(shmkit_seg_seals(other), shmkit_seg_seals(s));
	SHMKIT_ASSERT_ERR(shmkit_seg_resize(other, pg), -EPERM);
	SHMKIT_ASSERT_OK(shmkit_seg_close(other));
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
}

static void
test_memfd_seal_write_blocks_writers(void)
{
	char addr[NAMELEN];
	shmkit_seg_t *s;
	void *p = NULL;

	seg_name(addr, "memfd");
	s = seg_make(addr, 4096);
	seg_map(s, 0);
	/* A writable mapping exists: the kernel refuses the write seal. */
	SHMKIT_ASSERT_ERR(shmkit_seg_seal(s, SHMKIT_SEAL_WRITE), -EBUSY);
	SHMKIT_ASSERT_OK(shmkit_seg_detach(s));
	SHMKIT_ASSERT_OK(shmkit_seg_seal(s, SHMKIT_SEAL_WRITE));
	SHMKIT_ASSERT_ERR(shmkit_seg_attach(s, &p, 0, NULL), -EPERM);
	SHMKIT_ASSERT_OK(shmkit_seg_attach(s, &p, SHMKIT_ATTACH_RDONLY, NULL));
	SHMKIT_ASSERT(bytes_all_zero(p, 4096));
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
}

static void
memfd_receiver(void *arg)
{
	int sock = *(int *)arg;
	shmkit_seg_stat_t st;
	shmkit_seg_t *s = NULL;
	char *p, done = 'd';

	SHMKIT_ASSERT_OK(shmkit_seg_recv(&s, sock, NULL));
	SHMKIT_ASSERT_EQ(shmkit_seg_backend(s), SHMKIT_BACKEND_MEMFD);
	SHMKIT_ASSERT_EQ(shmkit_seg_size(s), 3 * page());
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	SHMKIT_ASSERT(strncmp(st.address, "memfd:sk-test-", 14) == 0);
	p = seg_map(s, 0);
	SHMKIT_ASSERT_EQ(pattern_check(p, 3 * page(), 21), -1);
	strcpy(p + page(), "written by the child");
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
	SHMKIT_ASSERT_EQ(write(sock, &done, 1), 1);
}

static void
test_memfd_send_recv_child_writes(void)
{
	char addr[NAMELEN], done = 0;
	shmkit_seg_t *s;
	int sv[2];
	pid_t pid;
	char *p;

	SHMKIT_ASSERT_OK(
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	/* Fork before the segment exists: the child can reach it only
	 * through the fd it receives. */
	pid = shmkit_test_fork(memfd_receiver, &sv[1]);
	close(sv[1]);
	seg_name(addr, "memfd");
	s = seg_make(addr, 3 * page());
	p = seg_map(s, 0);
	pattern_fill(p, 3 * page(), 21);
	SHMKIT_ASSERT_OK(shmkit_seg_send(sv[0], s));
	SHMKIT_ASSERT_EQ(read(sv[0], &done, 1), 1);
	SHMKIT_ASSERT_EQ(done, 'd');
	SHMKIT_ASSERT_CHILD_OK(pid);
	SHMKIT_ASSERT_STREQ(p + page(), "written by the child");
	close(sv[0]);
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
}

static void
test_posix_send_recv(void)
{
	char addr[NAMELEN];
	shmkit_seg_t *s, *r = NULL;
	char *p, *q;
	int sv[2];

	SHMKIT_ASSERT_OK(
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	seg_name(addr, "posix");
	s = seg_make(addr, 4096);
	p = seg_map(s, 0);
	strcpy(p, "posix over a socket");
	SHMKIT_ASSERT_OK(shmkit_seg_send(sv[0], s));
	SHMKIT_ASSERT_OK(shmkit_seg_recv(&r, sv[1], NULL));
	SHMKIT_ASSERT_EQ(shmkit_seg_backend(r), SHMKIT_BACKEND_POSIX);
	q = seg_map(r, 0);
	SHMKIT_ASSERT_STREQ(q, "posix over a socket");
	SHMKIT_ASSERT_OK(shmkit_seg_close(r));
	close(sv[0]);
	close(sv[1]);
	seg_destroy(s);
}

SHMKIT_TESTS = {
	{ "memfd_available", test_memfd_available },
	{ "memfd_has_no_name", test_memfd_has_no_name },
	{ "memfd_seals", test_memfd_seals },
	{ "memfd_seal_write_blocks_writers",
	  test_memfd_seal_write_blocks_writers },
	{ "memfd_send_recv_child_writes", test_memfd_send_recv_child_writes },
	{ "posix_send_recv", test_posix_send_recv },
	{ NULL, NULL },
};
