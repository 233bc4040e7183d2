/*
 * Test helper for the command's tests, using the raw System V calls only:
 * attach the segment with key argv[1] (hex), print "attached", and stay
 * attached until standard input reaches end of file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	char buf[64];
	void *p;
	int id;

	if (argc != 2)
		return 2;
	id = shmget((key_t)strtoul(argv[1], NULL, 0), 0, 0);
	if (id < 0 || (p = shmat(id, NULL, 0)) == (void *)-1) {
		perror("cli_hold");
		return 1;
	}
	printf("attached\n");
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	shmdt(p);
	return 0;
}
