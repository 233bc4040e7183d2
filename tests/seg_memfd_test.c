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

#include "shmkit_test.h"

#define NAMELEN 4200

static void
mkname(char *buf, const char *backend)
{
	snprintf(buf, NAMELEN, "%s", shmkit_test_name(backend));
}

/* A recognisable byte pattern: a reader can tell it from zeroes and from
 * another seed's pattern. */
static void
fill(void *p, size_t n, unsigned seed)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		c[i] = (unsigned char)(seed + i * 31u);
}

/* Index of the first byte that differs from fill()'s pattern, or -1. */
static long
check(const void *p, size_t n, unsigned seed)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (c[i] != (unsigned char)(seed + i * 31u))
			return (long)i;
	}
	return -1;
}

static int
all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (c[i] != 0)
			return 0;
	}
	return 1;
}

static shmkit_seg_t *
make(const char *addr, size_t size)
{
	shmkit_seg_opts_t o = { .size = size };
	shmkit_seg_t *s = NULL;
	int rc = shmkit_seg_create(&s, addr, &o);

	/* A build without memfd support is legitimate; memfd_available
	 * fails if the kernel has memfd and the build lacks it. */
	if (rc == -ENOTSUP && strncmp(addr, "memfd:", 6) == 0)
		SHMKIT_SKIP("memfd not built in");
	SHMKIT_ASSERT_OK(rc);
	SHMKIT_ASSERT(s != NULL);
	return s;
}

static void *
map(shmkit_seg_t *s, unsigned flags)
{
	void *p = NULL;

	SHMKIT_ASSERT_OK(shmkit_seg_attach(s, &p, flags, NULL));
	SHMKIT_ASSERT(p != NULL);
	return p;
}

static void
destroy(shmkit_seg_t *s)
{
	SHMKIT_ASSERT_OK(shmkit_seg_unlink(s));
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
}

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
	mkname(addr, "memfd");
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

	mkname(addr, "memfd");
	/* The name is a label: two creates make two segments. */
	a = make(addr, 4096);
	b = make(addr, 4096);
	pa = map(a, 0);
	pb = map(b, 0);
	strcpy(pa, "a");
	SHMKIT_ASSERT(all_zero(pb, 4096));
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

	mkname(addr, "memfd");
	s = make(addr, 4 * pg);
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

	mkname(addr, "memfd");
	s = make(addr, 4096);
	map(s, 0);
	/* A writable mapping exists: the kernel refuses the write seal. */
	SHMKIT_ASSERT_ERR(shmkit_seg_seal(s, SHMKIT_SEAL_WRITE), -EBUSY);
	SHMKIT_ASSERT_OK(shmkit_seg_detach(s));
	SHMKIT_ASSERT_OK(shmkit_seg_seal(s, SHMKIT_SEAL_WRITE));
	SHMKIT_ASSERT_ERR(shmkit_seg_attach(s, &p, 0, NULL), -EPERM);
	SHMKIT_ASSERT_OK(shmkit_seg_attach(s, &p, SHMKIT_ATTACH_RDONLY, NULL));
	SHMKIT_ASSERT(all_zero(p, 4096));
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
	p = map(s, 0);
	SHMKIT_ASSERT_EQ(check(p, 3 * page(), 21), -1);
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
	mkname(addr, "memfd");
	s = make(addr, 3 * page());
	p = map(s, 0);
	fill(p, 3 * page(), 21);
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
	mkname(addr, "posix");
	s = make(addr, 4096);
	p = map(s, 0);
	strcpy(p, "posix over a socket");
	SHMKIT_ASSERT_OK(shmkit_seg_send(sv[0], s));
	SHMKIT_ASSERT_OK(shmkit_seg_recv(&r, sv[1], NULL));
	SHMKIT_ASSERT_EQ(shmkit_seg_backend(r), SHMKIT_BACKEND_POSIX);
	q = map(r, 0);
	SHMKIT_ASSERT_STREQ(q, "posix over a socket");
	SHMKIT_ASSERT_OK(shmkit_seg_close(r));
	close(sv[0]);
	close(sv[1]);
	destroy(s);
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
