/*
 * Segments under hostile or hard conditions: exact permissions whatever
 * the umask, other users kept out, a full tmpfs (a real 1 MiB tmpfs in a
 * private mount namespace, and posix_fallocate failing through the
 * syscall table), bad input to every public function, symbolic links and
 * non-files at file: addresses, and close-on-exec on every fd shmkit
 * opens.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmkit/seg.h>

#include "common/internal.h"
#include "seg_util.h"
#include "shmkit_test.h"

#define NOBODY 65534

static shmkit_seg_t *
make_mode(const char *addr, size_t size, mode_t mode)
{
	shmkit_seg_opts_t o = { .size = size, .mode = mode };
	shmkit_seg_t *s = NULL;
	int rc = shmkit_seg_create(&s, addr, &o);

	if (rc == -ENOTSUP && strncmp(addr, "memfd:", 6) == 0)
		SHMKIT_SKIP("memfd not built in");
	SHMKIT_ASSERT_OK(rc);
	return s;
}

static shmkit_seg_t *
make(const char *addr, size_t size)
{
	return make_mode(addr, size, 0);
}

/* The permission bits as the kernel has them, asked without shmkit. */
static mode_t
kernel_mode(shmkit_seg_t *s, const char *addr)
{
	shmkit_addr_t a;
	struct shmid_ds ds;
	struct stat st;
	char path[NAMELEN + 16];

	SHMKIT_ASSERT_OK(shmkit_addr_parse(&a, addr));
	switch (a.kind) {
	case SHMKIT_ADDR_SYSV_KEY:
		SHMKIT_ASSERT_OK(shmctl(shmget(a.key, 0, 0), IPC_STAT, &ds));
		return ds.shm_perm.mode & 0777;
	case SHMKIT_ADDR_POSIX:
		snprintf(path, sizeof(path), "/dev/shm%s", a.path);
		SHMKIT_ASSERT_OK(stat(path, &st));
		return st.st_mode & 07777;
	case SHMKIT_ADDR_FILE:
		SHMKIT_ASSERT_OK(lstat(a.path, &st));
		SHMKIT_ASSERT(S_ISREG(st.st_mode));
		return st.st_mode & 07777;
	default:
		SHMKIT_ASSERT_OK(fstat(shmkit_seg_fd(s), &st));
		return st.st_mode & 07777;
	}
}

/* Does the named object exist (POSIX, file)? */
static int
exists(const char *addr)
{
	char path[NAMELEN + 16];
	shmkit_addr_t a;

	SHMKIT_ASSERT_OK(shmkit_addr_parse(&a, addr));
	if (a.kind == SHMKIT_ADDR_POSIX)
		snprintf(path, sizeof(path), "/dev/shm%s", a.path);
	else
		snprintf(path, sizeof(path), "%s", a.path);
	return access(path, F_OK) == 0;
}

static int
count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	SHMKIT_ASSERT(d != NULL);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---- permissions ------------------------------------------------------ */

static void
default_mode_umask0(const char *b)
{
	char addr[NAMELEN];
	shmkit_seg_stat_t st;
	shmkit_seg_t *s;

	seg_name(addr, b);
	umask(0);
	s = make(addr, 4096);
	SHMKIT_ASSERT_EQ(kernel_mode(s, addr), 0600);
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	SHMKIT_ASSERT_EQ(st.mode, 0600);
	seg_destroy(s);
}

static void
mode_0666_umask077(const char *b)
{
	char addr[NAMELEN];
	shmkit_seg_stat_t st;
	shmkit_seg_t *s;

	seg_name(addr, b);
	umask(077);
	s = make_mode(addr, 4096, 0666);
	SHMKIT_ASSERT_EQ(kernel_mode(s, addr), 0666);
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	SHMKIT_ASSERT_EQ(st.mode, 0666);
	seg_destroy(s);
}

struct denied_arg {
	const char *secret; /* 0600 */
	const char *shared; /* 0644 */
};

static void
become_nobody(void)
{
	SHMKIT_ASSERT_OK(setgroups(0, NULL));
	SHMKIT_ASSERT_OK(setresgid(NOBODY, NOBODY, NOBODY));
	SHMKIT_ASSERT_OK(setresuid(NOBODY, NOBODY, NOBODY));
	SHMKIT_ASSERT_EQ(geteuid(), NOBODY);
}

static void
nobody_opens(void *arg)
{
	const shmkit_seg_opts_t ro = { .flags = SHMKIT_SEG_RDONLY };
	struct denied_arg *d = arg;
	shmkit_seg_stat_t st;
	shmkit_seg_t *s = NULL;
	void *p = NULL;
	int rc;

	become_nobody();
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&s, d->secret, &ro), -EACCES);
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&s, d->secret, NULL), -EACCES);
	SHMKIT_ASSERT_ERR(shmkit_seg_open_or_create(&s, d->secret,
		&(shmkit_seg_opts_t){ .size = 4096 }), -EACCES);
	SHMKIT_ASSERT_ERR(shmkit_seg_stat_address(d->secret, &st), -EACCES);
	SHMKIT_ASSERT(s == NULL);
	/* Control: the same user reads a 0644 segment but cannot write
	 * it. System V checks write access only at attach. */
	rc = shmkit_seg_open(&s, d->shared, NULL);
	if (rc == 0) {
		SHMKIT_ASSERT_EQ(shmkit_seg_backend(s), SHMKIT_BACKEND_SYSV);
		SHMKIT_ASSERT_ERR(shmkit_seg_attach(s, &p, 0, NULL), -EACCES);
		SHMKIT_ASSERT_OK(shmkit_seg_close(s));
	} else {
		SHMKIT_ASSERT_ERR(rc, -EACCES);
	}
	SHMKIT_ASSERT_OK(shmkit_seg_open(&s, d->shared, &ro));
	SHMKIT_ASSERT_OK(shmkit_seg_attach(s, &p, SHMKIT_ATTACH_RDONLY, NULL));
	SHMKIT_ASSERT_STREQ(p, "readable");
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
}

static void
other_user_denied(const char *b)
{
	char secret[NAMELEN], shared[NAMELEN];
	struct denied_arg d = { secret, shared };
	shmkit_seg_t *s1, *s2;
	void *p = NULL;

	if (geteuid() != 0)
		SHMKIT_SKIP("needs root to switch to uid %d", NOBODY);
	/* Let nobody reach files in the case's directory, not list it. */
	SHMKIT_ASSERT_OK(chmod(shmkit_test_tmpdir(), 0711));
	seg_name(secret, b);
	seg_name(shared, b);
	s1 = make(secret, 4096);
	s2 = make_mode(shared, 4096, 0644);
	SHMKIT_ASSERT_OK(shmkit_seg_attach(s2, &p, 0, NULL));
	strcpy(p, "readable");
	SHMKIT_ASSERT_CHILD_OK(shmkit_test_fork(nobody_opens, &d));
	seg_destroy(s1);
	seg_destroy(s2);
}

/* ---- ENOSPC ----------------------------------------------------------- */

static int
dir_is_empty(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int n = 0;

	SHMKIT_ASSERT(d != NULL);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			fprintf(stderr, "found %s/%s\n", path, de->d_name);
			n++;
		}
	}
	closedir(d);
	return n == 0;
}

/* Mounts a 1 MiB tmpfs at dir in a private mount namespace; exits 77
 * (skip) where that is not permitted. */
static void
small_tmpfs(const char *dir)
{
	if (unshare(CLONE_NEWNS) < 0) {
		fprintf(stderr, "unshare: %s\n", strerror(errno));
		_exit(SHMKIT_TEST_SKIP_CODE);
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("sk-test", dir, "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=1m,mode=1777") < 0) {
		fprintf(stderr, "mount: %s\n", strerror(errno));
		_exit(SHMKIT_TEST_SKIP_CODE);
	}
}

static void
enospc_child(void *arg)
{
	const char *b = arg;
	char addr[NAMELEN + 16], dir[NAMELEN];
	shmkit_seg_opts_t big = { .size = 2 << 20 };
	shmkit_seg_t *s = NULL;

	if (strcmp(b, "posix") == 0) {
		snprintf(dir, sizeof(dir), "/dev/shm");
		seg_name(addr, "posix");
	} else {
		snprintf(dir, sizeof(dir), "%s/small", shmkit_test_tmpdir());
		SHMKIT_ASSERT_OK(mkdir(dir, 0700));
		snprintf(addr, sizeof(addr), "file:%s/seg", dir);
	}
	small_tmpfs(dir);
	SHMKIT_ASSERT(dir_is_empty(dir));
	/* Sparse creation would succeed here and SIGBUS later. */
	SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, addr, &big), -ENOSPC);
	SHMKIT_ASSERT(s == NULL);
	SHMKIT_ASSERT(dir_is_empty(dir));
	SHMKIT_ASSERT_ERR(shmkit_seg_open_or_create(&s, addr, &big), -ENOSPC);
	SHMKIT_ASSERT(dir_is_empty(dir));

	/* Control: what fits is made; growing past the space fails and
	 * keeps the old size. */
	s = make(addr, 512 << 10);
	SHMKIT_ASSERT_ERR(shmkit_seg_resize(s, 2 << 20), -ENOSPC);
	SHMKIT_ASSERT_EQ(shmkit_seg_size(s), 512 << 10);
	seg_destroy(s);
	SHMKIT_ASSERT(dir_is_empty(dir));
}

static void
enospc_tmpfs(const char *b)
{
	int st = shmkit_test_wait(shmkit_test_fork(enospc_child, (void *)b));

	if (WIFEXITED(st) && WEXITSTATUS(st) == SHMKIT_TEST_SKIP_CODE)
		SHMKIT_SKIP("cannot mount a tmpfs in a mount namespace here");
	SHMKIT_ASSERT(WIFEXITED(st));
	SHMKIT_ASSERT_EQ(WEXITSTATUS(st), 0);
}

static int
fallocate_enospc(int fd, off_t offset, off_t len)
{
	(void)fd;
	(void)offset;
	(void)len;
	return ENOSPC;
}

static int
fallocate_unsupported(int fd, off_t offset, off_t len)
{
	(void)fd;
	(void)offset;
	(void)len;
	return EOPNOTSUPP;
}

static int
ftruncate_eio(int fd, off_t len)
{
	(void)fd;
	(void)len;
	errno = EIO;
	return -1;
}

static void
enospc_injected(const char *b)
{
	char addr[NAMELEN];
	shmkit_seg_opts_t o = { .size = 8192 };
	shmkit_seg_stat_t st;
	shmkit_seg_t *s = NULL;
	int fds = count_fds();
	int named = strcmp(b, "memfd") != 0;

	seg_name(addr, b);
	shmkit__sys.posix_fallocate = fallocate_enospc;
	SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, addr, &o), -ENOSPC);
	SHMKIT_ASSERT_ERR(shmkit_seg_open_or_create(&s, addr, &o), -ENOSPC);
	shmkit__sys_reset();
	SHMKIT_ASSERT(s == NULL);
	SHMKIT_ASSERT_EQ(count_fds(), fds);
	if (named)
		SHMKIT_ASSERT(!exists(addr));

	/* A failing ftruncate in the fallback path is undone as well. */
	shmkit__sys.posix_fallocate = fallocate_unsupported;
	shmkit__sys.ftruncate = ftruncate_eio;
	SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, addr, &o), -EIO);
	shmkit__sys_reset();
	SHMKIT_ASSERT_EQ(count_fds(), fds);
	if (named)
		SHMKIT_ASSERT(!exists(addr));

	/* File systems without fallocate still get a sized segment. */
	shmkit__sys.posix_fallocate = fallocate_unsupported;
	SHMKIT_ASSERT_OK(shmkit_seg_create(&s, addr, &o));
	shmkit__sys_reset();
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	SHMKIT_ASSERT_EQ(st.size, 8192);

	/* Growing fails cleanly too. */
	shmkit__sys.posix_fallocate = fallocate_enospc;
	SHMKIT_ASSERT_ERR(shmkit_seg_resize(s, 1 << 20), -ENOSPC);
	shmkit__sys_reset();
	SHMKIT_ASSERT_EQ(shmkit_seg_size(s), 8192);
	SHMKIT_ASSERT_OK(shmkit_seg_stat(s, &st));
	SHMKIT_ASSERT_EQ(st.size, 8192);
	seg_destroy(s);
	SHMKIT_ASSERT_EQ(count_fds(), fds);
}

/* ---- bad input -------------------------------------------------------- */

static const char *const backends[] = { "sysv", "posix", "file", "memfd" };
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

static void
test_bad_input_create(void)
{
	shmkit_seg_opts_t o = { .size = 4096 };
	shmkit_seg_t *s = NULL;
	size_t i;

	for (i = 0; i < NBACKENDS; i++) {
		char addr[NAMELEN];
		shmkit_seg_opts_t bad;
		int rc;

		seg_name(addr, backends[i]);
		SHMKIT_ASSERT_ERR(shmkit_seg_create(NULL, addr, &o), -EINVAL);
		SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, addr, NULL), -EINVAL);
		bad = o;
		bad.size = 0;
		SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, addr, &bad), -EINVAL);
		bad.size = SIZE_MAX;
		SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, addr, &bad), -EFBIG);
		bad.size = (size_t)PTRDIFF_MAX + 1;
		SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, addr, &bad), -EFBIG);
		bad = o;
		bad.flags = 0x80;
		SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, addr, &bad), -EINVAL);
		bad.flags = 0x80000000u;
		SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, addr, &bad), -EINVAL);
		bad.flags = SHMKIT_SEG_RDONLY; /* nothing to create read-only */
		SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, addr, &bad), -EINVAL);
		bad = o;
		bad.mode = 010000;
		SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, addr, &bad), -EINVAL);
		bad.mode = S_IFREG | 0600;
		SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, addr, &bad), -EINVAL);
		SHMKIT_ASSERT(s == NULL);
		/* None of that made anything: the name is still free. */
		rc = shmkit_seg_create(&s, addr, &o);
		if (rc == -ENOTSUP && i == NBACKENDS - 1)
			break; /* no memfd in this build */
		SHMKIT_ASSERT_OK(rc);
		seg_destroy(s);
		s = NULL;
	}
	SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, NULL, &o), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, "", &o), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, "nope:x", &o), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, "sysv:0", &o), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, "posix:/a/b", &o), -EINVAL);
	/* System V ids are chosen by the kernel, never by the caller. */
	SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, "sysv-id:5", &o), -EINVAL);
	SHMKIT_ASSERT(s == NULL);
}

static void
test_bad_input_open(void)
{
	char addr[NAMELEN];
	shmkit_seg_opts_t bad = { .flags = 0x2 };
	shmkit_seg_t *s = NULL, *t = NULL;

	seg_name(addr, "posix");
	s = make(addr, 4096);
	SHMKIT_ASSERT_ERR(shmkit_seg_open(NULL, addr, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&t, NULL, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&t, addr, &bad), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&t, "posix:", NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&t, "memfd:sk-test-x", NULL),
			  -ENOTSUP);
	SHMKIT_ASSERT_ERR(shmkit_seg_open_or_create(NULL, addr, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_open_or_create(&t, NULL, NULL), -EINVAL);
	/* open_or_create may create, so it needs a size even when the
	 * segment exists. */
	SHMKIT_ASSERT_ERR(shmkit_seg_open_or_create(&t, addr, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_open_or_create(&t, addr, &bad), -EINVAL);
	SHMKIT_ASSERT(t == NULL);
	seg_destroy(s);
}

static void
test_bad_input_open_fd(void)
{
	shmkit_seg_opts_t bad = { .flags = 0x100 };
	shmkit_seg_t *t = NULL;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int fds = count_fds();

	SHMKIT_ASSERT_ERR(shmkit_seg_open_fd(NULL, 0, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_open_fd(&t, -1, NULL), -EBADF);
	SHMKIT_ASSERT_ERR(shmkit_seg_open_fd(&t, 999999, NULL), -EBADF);
	SHMKIT_ASSERT_ERR(shmkit_seg_open_fd(&t, fd, &bad), -EINVAL);
	/* A character device is not a segment. */
	SHMKIT_ASSERT_ERR(shmkit_seg_open_fd(&t, fd, NULL), -EINVAL);
	SHMKIT_ASSERT(t == NULL);
	SHMKIT_ASSERT_EQ(count_fds(), fds); /* no dup leaked */
	SHMKIT_ASSERT(fcntl(fd, F_GETFD) >= 0);
	close(fd);
}

static void
test_bad_input_handle_calls(void)
{
	char addr[NAMELEN], sysv[NAMELEN];
	shmkit_seg_stat_t st;
	shmkit_seg_t *s, *v, *r = NULL;
	void *p = NULL;

	seg_name(addr, "posix");
	seg_name(sysv, "sysv");
	s = make(addr, 4096);
	v = make(sysv, 4096);

	SHMKIT_ASSERT_ERR(shmkit_seg_attach(NULL, &p, 0, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_attach(s, NULL, 0, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_attach(s, &p, 0x2, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_attach(v, &p, 0x80000000u, NULL), -EINVAL);
	SHMKIT_ASSERT(p == NULL);
	SHMKIT_ASSERT(shmkit_seg_addr(s) == NULL);

	SHMKIT_ASSERT_ERR(shmkit_seg_detach(NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_detach(s), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_detach(v), -EINVAL);

	SHMKIT_ASSERT(shmkit_seg_addr(NULL) == NULL);
	SHMKIT_ASSERT_EQ(shmkit_seg_size(NULL), 0);
	SHMKIT_ASSERT_EQ(shmkit_seg_backend(NULL), 0);
	SHMKIT_ASSERT_ERR(shmkit_seg_fd(NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_fd(v), -ENOTSUP);
	SHMKIT_ASSERT(shmkit_seg_fd(s) >= 0);
	SHMKIT_ASSERT_EQ(shmkit_seg_close(NULL), 0);

	SHMKIT_ASSERT_ERR(shmkit_seg_stat(NULL, &st), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_stat(s, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_stat_address(NULL, &st), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_stat_address(addr, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_stat_address("bogus", &st), -EINVAL);

	SHMKIT_ASSERT_ERR(shmkit_seg_resize(NULL, 4096), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_resize(s, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_resize(s, SIZE_MAX), -EFBIG);
	SHMKIT_ASSERT_ERR(shmkit_seg_resize(v, 8192), -ENOTSUP);
	SHMKIT_ASSERT_OK(shmkit_seg_open(&r, addr,
		&(shmkit_seg_opts_t){ .flags = SHMKIT_SEG_RDONLY }));
	SHMKIT_ASSERT_ERR(shmkit_seg_resize(r, 8192), -EBADF);
	SHMKIT_ASSERT_OK(shmkit_seg_close(r));
	SHMKIT_ASSERT_EQ(shmkit_seg_size(s), 4096);

	SHMKIT_ASSERT_ERR(shmkit_seg_sync(NULL, 0, 0, 0), -EINVAL);
	SHMKIT_ASSERT_OK(shmkit_seg_attach(s, &p, 0, NULL));
	SHMKIT_ASSERT_ERR(shmkit_seg_sync(s, 0, 0, 0x4), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_sync(s, 0, 0, 0x80000000u), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_sync(s, SIZE_MAX, 0, 0), -EINVAL);
	SHMKIT_ASSERT_OK(shmkit_seg_sync(s, 0, SIZE_MAX, 0));

	SHMKIT_ASSERT_ERR(shmkit_seg_seal(NULL, SHMKIT_SEAL_SHRINK), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_seal(s, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_seal(s, 0x20), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_seal(s, SHMKIT_SEAL_SHRINK), -ENOTSUP);
	SHMKIT_ASSERT_ERR(shmkit_seg_seal(v, SHMKIT_SEAL_SHRINK), -ENOTSUP);
	SHMKIT_ASSERT_ERR(shmkit_seg_seals(NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_seals(s), -ENOTSUP);
	SHMKIT_ASSERT_ERR(shmkit_seg_seals(v), -ENOTSUP);

	SHMKIT_ASSERT_ERR(shmkit_seg_unlink(NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_unlink_address(NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_unlink_address(""), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_unlink_address("memfd:sk-test-x"),
			  -ENOTSUP);
	seg_destroy(s);
	seg_destroy(v);
}

static void
test_bad_input_memfd_seals(void)
{
	char addr[NAMELEN];
	shmkit_seg_t *s;

	seg_name(addr, "memfd");
	s = make(addr, 4096);
	SHMKIT_ASSERT_ERR(shmkit_seg_seal(s, 0), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_seal(s, 0x20), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_seal(s, SHMKIT_SEAL_SHRINK | 0x100),
			  -EINVAL);
	/* Rejected seal requests added nothing. */
	SHMKIT_ASSERT_EQ(shmkit_seg_seals(s), 0);
	SHMKIT_ASSERT_OK(shmkit_seg_close(s));
}

/* sendmsg by hand: fd with tag as its one byte of payload. */
static void
send_fd_tagged(int sock, int fd, char tag)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = &tag, .iov_len = 1 };
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;

	memset(&control, 0, sizeof(control));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	SHMKIT_ASSERT_EQ(sendmsg(sock, &msg, 0), 1);
}

static void
test_bad_input_send_recv(void)
{
	char addr[NAMELEN], sysv[NAMELEN], c = 'x';
	shmkit_seg_t *s, *v, *r = NULL;
	int sv[2], fds;

	seg_name(addr, "posix");
	seg_name(sysv, "sysv");
	s = make(addr, 4096);
	v = make(sysv, 4096);
	SHMKIT_ASSERT_OK(
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));

	SHMKIT_ASSERT_ERR(shmkit_seg_send(sv[0], NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_send(-1, s), -EINVAL);
	/* System V has no fd to pass. */
	SHMKIT_ASSERT_ERR(shmkit_seg_send(sv[0], v), -ENOTSUP);
	SHMKIT_ASSERT_ERR(shmkit_seg_send(shmkit_seg_fd(s), s), -ENOTSOCK);
	SHMKIT_ASSERT_ERR(shmkit_seg_recv(NULL, sv[1], NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_recv(&r, -1, NULL), -EINVAL);
	fds = count_fds();
	/* Bad flags are refused before the message is read. */
	SHMKIT_ASSERT_OK(shmkit_seg_send(sv[0], s));
	SHMKIT_ASSERT_ERR(shmkit_seg_recv(&r, sv[1],
		&(shmkit_seg_opts_t){ .flags = 0x40 }), -EINVAL);
	SHMKIT_ASSERT_OK(shmkit_seg_recv(&r, sv[1], NULL));
	SHMKIT_ASSERT_OK(shmkit_seg_close(r));
	r = NULL;

	/* A message that carries no fd. */
	SHMKIT_ASSERT_EQ(write(sv[0], &c, 1), 1);
	SHMKIT_ASSERT_ERR(shmkit_seg_recv(&r, sv[1], NULL), -EPROTO);
	/* An fd that comes with another tag byte is refused and closed. */
	send_fd_tagged(sv[0], shmkit_seg_fd(s), 'Z');
	SHMKIT_ASSERT_ERR(shmkit_seg_recv(&r, sv[1], NULL), -EPROTO);
	SHMKIT_ASSERT_EQ(count_fds(), fds);
	/* Options are checked once the fd has arrived, and it is closed. */
	SHMKIT_ASSERT_OK(shmkit_seg_send(sv[0], s));
	SHMKIT_ASSERT_ERR(shmkit_seg_recv(&r, sv[1],
		&(shmkit_seg_opts_t){ .size = 8192 }), SHMKIT_ESIZE);
	SHMKIT_ASSERT_EQ(count_fds(), fds);
	/* The peer went away. */
	close(sv[0]);
	SHMKIT_ASSERT_ERR(shmkit_seg_recv(&r, sv[1], NULL), -ECONNRESET);
	SHMKIT_ASSERT(r == NULL);
	close(sv[1]);
	seg_destroy(s);
	seg_destroy(v);
}

/* ---- file: addresses that are not plain files ------------------------- */

static void
test_file_symlink_rejected(void)
{
	char target[NAMELEN], link[NAMELEN], dangling[NAMELEN];
	char addr[NAMELEN + 8], daddr[NAMELEN + 8];
	shmkit_seg_opts_t o = { .size = 4096 };
	shmkit_seg_t *s = NULL;
	struct stat st;
	int fd;

	snprintf(target, sizeof(target), "%s/target", shmkit_test_tmpdir());
	snprintf(link, sizeof(link), "%s/link", shmkit_test_tmpdir());
	snprintf(dangling, sizeof(dangling), "%s/dangling",
		 shmkit_test_tmpdir());
	fd = open(target, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	SHMKIT_ASSERT(fd >= 0);
	SHMKIT_ASSERT_OK(ftruncate(fd, 4096));
	close(fd);
	SHMKIT_ASSERT_OK(symlink(target, link));
	SHMKIT_ASSERT_OK(symlink("nowhere", dangling));
	snprintf(addr, sizeof(addr), "file:%s", link);
	snprintf(daddr, sizeof(daddr), "file:%s", dangling);

	SHMKIT_ASSERT_ERR(shmkit_seg_open(&s, addr, NULL), -ELOOP);
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&s, addr,
		&(shmkit_seg_opts_t){ .flags = SHMKIT_SEG_RDONLY }), -ELOOP);
	SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, addr, &o), -EEXIST);
	SHMKIT_ASSERT_ERR(shmkit_seg_open_or_create(&s, addr, &o), -ELOOP);
	/* A dangling link must not make us create its target. */
	SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, daddr, &o), -EEXIST);
	SHMKIT_ASSERT_ERR(shmkit_seg_open_or_create(&s, daddr, &o), -ELOOP);
	SHMKIT_ASSERT(s == NULL);
	{
		char nowhere[NAMELEN];

		snprintf(nowhere, sizeof(nowhere), "%s/nowhere",
			 shmkit_test_tmpdir());
		SHMKIT_ASSERT_ERR(access(nowhere, F_OK), -1);
	}
	/* unlink removes neither the link's target nor the link. */
	SHMKIT_ASSERT_ERR(shmkit_seg_unlink_address(addr), -EINVAL);
	SHMKIT_ASSERT_OK(lstat(link, &st));
	SHMKIT_ASSERT_OK(stat(target, &st));
	SHMKIT_ASSERT_EQ(st.st_size, 4096);
}

static void
test_file_not_regular_rejected(void)
{
	char addr[NAMELEN + 8], fifo[NAMELEN];
	const shmkit_seg_opts_t ro = { .flags = SHMKIT_SEG_RDONLY };
	shmkit_seg_opts_t o = { .size = 4096 };
	shmkit_seg_stat_t st;
	shmkit_seg_t *s = NULL;
	struct stat sb;

	/* A directory. */
	snprintf(addr, sizeof(addr), "file:%s", shmkit_test_tmpdir());
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&s, addr, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&s, addr, &ro), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_stat_address(addr, &st), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_create(&s, addr, &o), -EEXIST);
	SHMKIT_ASSERT_ERR(shmkit_seg_unlink_address(addr), -EINVAL);
	SHMKIT_ASSERT_OK(stat(shmkit_test_tmpdir(), &sb));

	/* A FIFO: refused at once, never waiting for a writer. */
	snprintf(fifo, sizeof(fifo), "%s/fifo", shmkit_test_tmpdir());
	SHMKIT_ASSERT_OK(mkfifo(fifo, 0600));
	snprintf(addr, sizeof(addr), "file:%s", fifo);
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&s, addr, &ro), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&s, addr, NULL), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_unlink_address(addr), -EINVAL);

	/* A device. */
	SHMKIT_ASSERT_ERR(shmkit_seg_open(&s, "file:/dev/null", &ro), -EINVAL);
	SHMKIT_ASSERT_ERR(shmkit_seg_unlink_address("file:/dev/null"), -EINVAL);
	SHMKIT_ASSERT(s == NULL);
	SHMKIT_ASSERT_OK(stat("/dev/null", &sb));
}

/* ---- close-on-exec ---------------------------------------------------- */

static void
assert_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	SHMKIT_ASSERT(fd >= 0);
	SHMKIT_ASSERT(fl >= 0);
	SHMKIT_ASSERT(fl & FD_CLOEXEC);
}

/* Helper run by exec: argv = name FD... Succeeds if none of the fds is
 * open after exec. */
static int
helper_fds_closed(int argc, char **argv)
{
	int i, bad = 0;

	for (i = 1; i < argc; i++) {
		int fd = atoi(argv[i]);

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) {
			fprintf(stderr, "fd %d survived exec\n", fd);
			bad++;
		}
	}
	return bad ? 1 : 0;
}

static void
cloexec(const char *b)
{
	char addr[NAMELEN], f1[16], f2[16], f3[16], f4[16];
	shmkit_seg_t *s, *t = NULL, *d = NULL, *r = NULL;
	int raw, sv[2];

	seg_name(addr, b);
	s = make(addr, 4096);
	assert_cloexec(shmkit_seg_fd(s));
	if (strcmp(b, "memfd") != 0) {
		SHMKIT_ASSERT_OK(shmkit_seg_open(&t, addr, NULL));
	} else {
		SHMKIT_ASSERT_OK(
			shmkit_seg_open_fd(&t, shmkit_seg_fd(s), NULL));
	}
	assert_cloexec(shmkit_seg_fd(t));

	/* open_fd's copy is close-on-exec even when the caller's is not. */
	raw = dup(shmkit_seg_fd(s));
	SHMKIT_ASSERT(raw >= 0);
	SHMKIT_ASSERT_EQ(fcntl(raw, F_GETFD) & FD_CLOEXEC, 0);
	SHMKIT_ASSERT_OK(shmkit_seg_open_fd(&d, raw, NULL));
	assert_cloexec(shmkit_seg_fd(d));
	close(raw);

	/* And so is a received one. */
	SHMKIT_ASSERT_OK(
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	SHMKIT_ASSERT_OK(shmkit_seg_send(sv[0], s));
	SHMKIT_ASSERT_OK(shmkit_seg_recv(&r, sv[1], NULL));
	assert_cloexec(shmkit_seg_fd(r));
	close(sv[0]);
	close(sv[1]);

	/* A real exec drops them all. */
	snprintf(f1, sizeof(f1), "%d", shmkit_seg_fd(s));
	snprintf(f2, sizeof(f2), "%d", shmkit_seg_fd(t));
	snprintf(f3, sizeof(f3), "%d", shmkit_seg_fd(d));
	snprintf(f4, sizeof(f4), "%d", shmkit_seg_fd(r));
	SHMKIT_ASSERT_CHILD_OK(
		shmkit_test_spawn("fds_closed", f1, f2, f3, f4, NULL));
	SHMKIT_ASSERT_OK(shmkit_seg_close(r));
	SHMKIT_ASSERT_OK(shmkit_seg_close(d));
	SHMKIT_ASSERT_OK(shmkit_seg_close(t));
	seg_destroy(s);
}

#define DEFINE_CASE(fn, b)                                                     \
	static void fn##_##b(void) { fn(#b); }
#define CASE_ENTRY(fn, b) { #fn "_" #b, fn##_##b },
#define ALL4(X, fn) X(fn, sysv) X(fn, posix) X(fn, file) X(fn, memfd)
#define NAMED3(X, fn) X(fn, sysv) X(fn, posix) X(fn, file)
#define FD3(X, fn) X(fn, posix) X(fn, file) X(fn, memfd)

ALL4(DEFINE_CASE, default_mode_umask0)
ALL4(DEFINE_CASE, mode_0666_umask077)
NAMED3(DEFINE_CASE, other_user_denied)
DEFINE_CASE(enospc_tmpfs, posix)
DEFINE_CASE(enospc_tmpfs, file)
FD3(DEFINE_CASE, enospc_injected)
FD3(DEFINE_CASE, cloexec)

SHMKIT_TESTS = {
	ALL4(CASE_ENTRY, default_mode_umask0)
	ALL4(CASE_ENTRY, mode_0666_umask077)
	NAMED3(CASE_ENTRY, other_user_denied)
	CASE_ENTRY(enospc_tmpfs, posix)
	CASE_ENTRY(enospc_tmpfs, file)
	FD3(CASE_ENTRY, enospc_injected)
	FD3(CASE_ENTRY, cloexec)
	{ "bad_input_create", test_bad_input_create },
	{ "bad_input_open", test_bad_input_open },
	{ "bad_input_open_fd", test_bad_input_open_fd },
	{ "bad_input_handle_calls", test_bad_input_handle_calls },
	{ "bad_input_memfd_seals", test_bad_input_memfd_seals },
	{ "bad_input_send_recv", test_bad_input_send_recv },
	{ "file_symlink_rejected", test_file_symlink_rejected },
	{ "file_not_regular_rejected", test_file_not_regular_rejected },
	{ NULL, NULL },
};

SHMKIT_HELPERS = {
	{ "fds_closed", helper_fds_closed },
	{ NULL, NULL },
};
