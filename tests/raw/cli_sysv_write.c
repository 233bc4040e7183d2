/*
 * Test helper using the raw System V calls only: create the segment with
 * key argv[1] (hex) and size argv[2], mode 0600, and copy argv[3] into it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

int
main(int argc, char **argv)
{
	size_t size;
	char *p;
	int id;

	if (argc != 4)
		return 2;
	size = strtoul(argv[2], NULL, 0);
	id = shmget((key_t)strtoul(argv[1], NULL, 0), size,
		    IPC_CREAT | IPC_EXCL | 0600);
	if (id < 0 || (p = shmat(id, NULL, 0)) == (void *)-1) {
		perror("cli_sysv_write");
		return 1;
	}
	memcpy(p, argv[3], strlen(argv[3]) < size ? strlen(argv[3]) : size);
	shmdt(p);
	return 0;
}
