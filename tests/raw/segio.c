/*
 * raw_segio: writes or checks a segment with the plain system calls, and
 * deliberately does not link shmkit. The interop tests use it to show
 * that shmkit reads what any program writes and writes what any program
 * reads, for each back end that has a system-wide name.
 *
 *   raw_segio write BACKEND NAME SIZE SEED   create NAME (0600, exclusive),
 *                                            fill it with SEED's pattern
 *   raw_segio check BACKEND NAME SIZE SEED   open NAME, compare the pattern
 *
 * BACKEND is sysv (NAME a key, 0x hex or decimal), posix (NAME "/name")
 * or file (NAME a path). Exit status: 0 done, 1 pattern differs or the
 * segment is smaller than SIZE, 2 usage, 3 a system call failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

/* The same pattern as the tests' fill(): seed + i * 31, mod 256. */
static unsigned char
pattern(unsigned seed, size_t i)
{
	return (unsigned char)(seed + i * 31u);
}

static int
fail(const char *what)
{
	fprintf(stderr, "raw_segio: %s: %s\n", what, strerror(errno));
	return 3;
}

static int
use(unsigned char *p, size_t size, unsigned seed, int writing)
{
	size_t i;

	for (i = 0; i < size; i++) {
		if (writing) {
			p[i] = pattern(seed, i);
		} else if (p[i] != pattern(seed, i)) {
			fprintf(stderr, "raw_segio: byte %zu is %u, not %u\n",
				i, p[i], pattern(seed, i));
			return 1;
		}
	}
	return 0;
}

static int
do_sysv(const char *name, size_t size, unsigned seed, int writing)
{
	key_t key = (key_t)strtoul(name, NULL, 0);
	struct shmid_ds ds;
	unsigned char *p;
	int id, rc;

	if (writing)
		id = shmget(key, size, IPC_CREAT | IPC_EXCL | 0600);
	else
		id = shmget(key, 0, 0);
	if (id < 0)
		return fail("shmget");
	if (shmctl(id, IPC_STAT, &ds) < 0)
		return fail("shmctl");
	if (ds.shm_segsz < size) {
		fprintf(stderr, "raw_segio: segment has %zu bytes\n",
			(size_t)ds.shm_segsz);
		return 1;
	}
	p = shmat(id, NULL, writing ? 0 : SHM_RDONLY);
	if (p == (void *)-1)
		return fail("shmat");
	rc = use(p, size, seed, writing);
	if (shmdt(p) < 0)
		return fail("shmdt");
	return rc;
}

/* POSIX and file segments differ only in how the fd is opened. */
static int
do_fd(int fd, size_t size, unsigned seed, int writing)
{
	unsigned char *p;
	struct stat st;
	int rc;

	if (writing && ftruncate(fd, (off_t)size) < 0)
		return fail("ftruncate");
	if (fstat(fd, &st) < 0)
		return fail("fstat");
	if ((size_t)st.st_size < size) {
		fprintf(stderr, "raw_segio: object has %lld bytes\n",
			(long long)st.st_size);
		return 1;
	}
	p = mmap(NULL, size, writing ? PROT_READ | PROT_WRITE : PROT_READ,
		 MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("mmap");
	rc = use(p, size, seed, writing);
	if (munmap(p, size) < 0)
		return fail("munmap");
	close(fd);
	return rc;
}

int
main(int argc, char **argv)
{
	int writing, fd, oflag;
	unsigned seed;
	size_t size;

	if (argc != 6 || (strcmp(argv[1], "write") != 0 &&
			  strcmp(argv[1], "check") != 0)) {
		fprintf(stderr,
			"usage: raw_segio write|check sysv|posix|file NAME "
			"SIZE SEED\n");
		return 2;
	}
	writing = strcmp(argv[1], "write") == 0;
	size = (size_t)strtoull(argv[4], NULL, 0);
	seed = (unsigned)strtoul(argv[5], NULL, 0);
	oflag = writing ? O_RDWR | O_CREAT | O_EXCL : O_RDONLY;
	/* umask 0 so the new object is exactly 0600, as shmkit's are. */
	umask(0);
	if (strcmp(argv[2], "sysv") == 0)
		return do_sysv(argv[3], size, seed, writing);
	if (strcmp(argv[2], "posix") == 0) {
		fd = shm_open(argv[3], oflag, 0600);
		if (fd < 0)
			return fail("shm_open");
		return do_fd(fd, size, seed, writing);
	}
	if (strcmp(argv[2], "file") == 0) {
		fd = open(argv[3], oflag | O_NOFOLLOW, 0600);
		if (fd < 0)
			return fail("open");
		return do_fd(fd, size, seed, writing);
	}
	fprintf(stderr, "raw_segio: unknown backend %s\n", argv[2]);
	return 2;
}
