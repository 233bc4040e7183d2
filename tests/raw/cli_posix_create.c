/*
 * Test helper using shm_open/mmap only: create POSIX object argv[1] of size
 * argv[2], mode 0600, and copy argv[3] into it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	size_t size;
	char *p;
	int fd;

	if (argc != 4)
		return 2;
	size = strtoul(argv[2], NULL, 0);
	fd = shm_open(argv[1], O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		perror("cli_posix_create");
		return 1;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memcpy(p, argv[3], strlen(argv[3]) < size ? strlen(argv[3]) : size);
	munmap(p, size);
	close(fd);
	return 0;
}
